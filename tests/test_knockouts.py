"""Knock-out table: every mechanism M1–M19, on and off (issue 13; docs/model.md, "Knock-out table").

Each row names a mechanism, the parameters that switch it off (its
coefficients at 0, or a service switch off), and a probe: the difference the
mechanism's direction test measures, signed so that the documented direction
is positive. Two assertions per row:

- with the defaults the effect is there, in its direction and at least
  ``minimum`` (in the probe's unit, stated in the row);
- with the row's parameters off the effect is gone: exactly zero, because the
  two sides of each probe share their seed (common random numbers) and differ
  only in what the mechanism reads.

Probes act on one mechanism function at a time (``tests/probes.py``), so a
row fails when, and only when, its own mechanism stops working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import pytest
from probes import (
    ADHERENCE_DRIVERS,
    HIGH,
    LOW,
    MID,
    across_cultures,
    activity_rise,
    activity_target_contrast,
    adherence_contrast,
    after_normal_result,
    alliance_at,
    avoidance_week,
    booked_trust,
    case_review_repairs,
    coordination_due,
    course_finished,
    dismissed_in_week,
    distress_after,
    dropout_contrast,
    encounter_contrast,
    everyone_flares,
    faded,
    feedback_repair,
    feedback_validation,
    flare_contrast,
    function_spread,
    function_target_contrast,
    lapse_cost,
    latent_after,
    loop_after,
    lost_referral_trust,
    pacing_gained,
    patient_contrast,
    reflection,
    repair_gain,
    repairs_at_meeting,
    reported_excess,
    returning_share,
    review_share,
    rupture_open,
    rupture_share,
    set_all,
    setpoint_rise,
    share_of_gap_closed_falls,
    share_tested,
    slipped_trust_loss,
    step_uptake,
    tolerance_buffers,
    uncertainty_after_test,
    uptake,
    validated_share,
    waiting_trust_loss,
    with_lead,
)

from sim.core.encounters import FOLLOWUP, ON_DEMAND
from sim.core.params import MechanismParams, PopulationParams, ServiceParams
from sim.core.state import NEVER


class Knockout(NamedTuple):
    mechanism: str  # M id in docs/model.md
    effect: str  # what the probe measures, and its unit
    off: dict[str, object]  # the parameters that switch the mechanism off
    probe: Callable[..., float]  # parameter changes -> the signed effect
    minimum: float  # the smallest effect, with the defaults, that counts as present
    tolerance: float = 0.0  # off: |effect| at most this (0 unless rounding alone can leave a residue)


# fmt: off
TABLE = [  # M id, what the probe measures, parameters off, probe(**changes) -> effect, minimum
    # M1 encounter builds bond
    Knockout("M1", "bond, warm minus cool clinician", {"bond_gain": 0.0},
             lambda **k: encounter_contrast("dyad.bond", "warmth", 0.2, 0.9, **k), 0.02),
    Knockout("M1", "share of bond gap closed, 1st minus 6th encounter", {"early_rapport_boost": 0.0},
             share_of_gap_closed_falls, 0.05, tolerance=1e-12),
    # M2 validation versus dismissal
    Knockout("M2", "trust, validated minus dismissed", {"validated_trust_gain": 0.0, "dismissed_trust_drop": 0.0},
             lambda **k: encounter_contrast("trust", "validation", 0.0, 1.0, **k), 0.03),
    Knockout("M2", "distress, dismissed minus validated",
             {"validated_distress_drop": 0.0, "dismissed_distress_rise": 0.0},
             lambda **k: -encounter_contrast("distress", "validation", 0.0, 1.0, **k), 0.03),
    Knockout("M2", "stigma, dismissed minus validated", {"dismissed_stigma_rise": 0.0},
             lambda **k: -encounter_contrast("stigma", "validation", 0.0, 1.0, **k), 0.03),
    Knockout("M2", "validated share, stigma 0.1 minus 0.7", {"validation_stigma_logodds": 0.0},
             lambda **k: -validated_share("stigma", 0.1, 0.7, True, **k), 0.05),
    Knockout("M2", "validated share, biopsychosocial minus biomedical stance", {"validation_stance_logodds": 0.0},
             lambda **k: validated_share("stance", LOW, HIGH, False, **k), 0.1),
    # M3 explanation and shared goals
    Knockout("M3", "goal agreement, clear minus vague", {"goals_gain": 0.0},
             lambda **k: encounter_contrast("dyad.goals", "clarity", 0.0, 1.0, **k), 0.05),
    Knockout("M3", "task agreement, clear minus vague", {"tasks_gain": 0.0},
             lambda **k: encounter_contrast("dyad.tasks", "clarity", 0.0, 1.0, **k), 0.05),
    Knockout("M3", "uncertainty, vague minus clear", {"uncertainty_drop": 0.0},
             lambda **k: -encounter_contrast("uncertainty", "clarity", 0.0, 1.0, **k), 0.02),
    Knockout("M3", "uncertainty regained in a week, 0.1 below an own level of 0.6 (worry returns)",
             {"uncertainty_return_per_week": 0.0}, lambda **k: faded("uncertainty", **k), 0.01),
    Knockout("M3", "goal agreement, health literacy 0.9 minus 0.1", {"literacy_floor": 1.0},
             lambda **k: patient_contrast("dyad.goals", "health_literacy", LOW, HIGH, **k), 0.02),
    # M4 cultural humility
    Knockout("M4", "bond across a cultural mismatch, humble minus not", {"mismatch_penalty": 0.0},
             lambda **k: across_cultures(HIGH, **k) - across_cultures(LOW, **k), 0.01),
    # M5 trust
    Knockout("M5", "trust, booked appointment kept minus on-demand contact", {"kept_followup_trust_gain": 0.0},
             lambda **k: booked_trust(FOLLOWUP, **k) - booked_trust(ON_DEMAND, **k), 0.01),
    Knockout("M5", "trust, coherent minus contradicting new clinician", {"contradiction_trust_drop": 0.0},
             lambda **k: with_lead(1.0, "trust", **k) - with_lead(0.0, "trust", **k), 0.02),
    Knockout("M5", "uncertainty, contradicting minus coherent new clinician", {"contradiction_uncertainty_rise": 0.0},
             lambda **k: with_lead(0.0, "uncertainty", **k) - with_lead(1.0, "uncertainty", **k), 0.02),
    # M6 honest reporting
    Knockout("M6", "reported minus true PHQ-15 (points), stigma 0.8, no safety", {"amplify_points": 0.0},
             lambda **k: reported_excess(12.0, 12.0, 0.8, **k), 1.0),
    Knockout("M6", "a bad week's points hidden, no safety", {"underreport_share": 0.0},
             lambda **k: -reported_excess(18.0, 12.0, 0.0, **k), 1.0),
    # M7 adherence: each driver alone (0.9 minus 0.1, others 0.5); distress and uncertainty lower it
    *(
        Knockout("M7", f"adherence, {driver} 0.9 minus 0.1" + (" (negated)" if sign < 0 else ""),
                 {f"adherence_{driver}": 0.0},
                 lambda driver=driver, sign=sign, **k: sign * adherence_contrast(driver, **k), 0.01)
        for driver, sign in zip(ADHERENCE_DRIVERS, (1, 1, 1, 1, 1, -1, -1), strict=True)
    ),
    # M8 bounded recovery
    Knockout("M8", "latent PHQ-15 points after a year, no self-management minus adherence 0.8",
             {"recovery_per_week": 0.0},
             lambda **k: latent_after(52, 0.0, False, **k) - latent_after(52, 0.8, False, **k), 1.0),
    Knockout("M8", "latent PHQ-15 points after a year, unseen minus seen weekly", {"contact_recovery_per_week": 0.0},
             lambda **k: latent_after(52, 0.0, False, **k) - latent_after(52, 0.0, True, **k), 0.1),
    *(
        Knockout("M8", f"set point (points), {trait} +0.2", {f"setpoint_{trait}": 0.0},
                 lambda trait=trait, **k: setpoint_rise(trait, **k), 0.1)
        for trait in ("distress", "catastrophising", "avoidance", "stress_reactivity")
    ),
    Knockout("M8", "latent points lost in 10 weeks from 30 toward the set point", {"setpoint_rate": 0.0},
             lambda **k: 30.0 - latent_after(10, 0.0, False, start=30.0, **k), 1.0),
    # M9 flares
    Knockout("M9", "flare share, stress reactivity 0.9 minus 0.1", {"flare_stress": 0.0},
             lambda **k: flare_contrast("flare", "stress_reactivity", LOW, HIGH, **k), 0.05),
    Knockout("M9", "flare share, distress 0.9 minus 0.1", {"flare_distress": 0.0},
             lambda **k: flare_contrast("flare", "distress", LOW, HIGH, **k), 0.05),
    Knockout("M9", "flare share, no pacing minus full pacing", {"flare_pacing": 0.0},
             lambda **k: -flare_contrast("flare", "pacing", 0.0, 1.0, **k), 0.05),
    Knockout("M9", "self-efficacy lost in a flare, intolerant minus tolerant of uncertainty",
             {"flare_self_efficacy_drop": 0.0},
             lambda **k: tolerance_buffers("self_efficacy", **k), 0.03),
    Knockout("M9", "expectation lost in a flare, intolerant minus tolerant of uncertainty",
             {"flare_expectation_drop": 0.0},
             lambda **k: tolerance_buffers("expectation", **k), 0.03),
    Knockout("M9", "distress added by a flare", {"flare_distress_rise": 0.0},
             lambda **k: everyone_flares("distress", set_all(distress=MID), **k), 0.03),
    Knockout("M9", "latent points added by a flare without pacing", {"flare_relapse_points": 0.0},
             lambda **k: everyone_flares("latent", set_all(pacing=0.0, latent=12.0), **k), 0.5),
    # M10 boom–bust
    Knockout("M10", "activity rise after a good week, no pacing minus full pacing", {"boom_per_week": 0.0},
             lambda **k: activity_rise(0.0, **k) - activity_rise(1.0, **k), 0.02),
    Knockout("M10", "flare share, overexertion (rise 0.2) minus none", {"flare_overexertion": 0.0},
             lambda **k: flare_contrast("flare", "activity_rise", 0.0, 0.2, **k), 0.05),
    Knockout("M10", "activity lost in a flare (bust)", {"bust_activity_drop": 0.0},
             lambda **k: -everyone_flares("activity", set_all(activity=MID), **k), 0.05),
    Knockout("M10", "pacing skill gained from an encounter with pacing advice", {"pacing_gain": 0.0},
             lambda **k: pacing_gained(**{"pacing_guidance": True, **k}), 0.005),
    Knockout("M10", "pacing skill gained from an encounter, guidance switched on", {"pacing_guidance": False},
             lambda **k: pacing_gained(**{"pacing_guidance": True, **k}), 0.005),
    # M11 the progress loop
    Knockout("M11", "self-efficacy, an improving minus a worsening week", {"progress_self_efficacy": 0.0},
             lambda **k: loop_after("self_efficacy", 10.0, **k) - loop_after("self_efficacy", 18.0, **k), 0.02),
    Knockout("M11", "expectation, an improving minus a worsening week", {"progress_expectation": 0.0},
             lambda **k: loop_after("expectation", 10.0, **k) - loop_after("expectation", 18.0, **k), 0.02),
    Knockout("M11", "distress after a week at PHQ-15 25 minus 5", {"distress_symptoms": 0.0},
             lambda **k: distress_after(25.0, **k) - distress_after(5.0, **k), 0.02),
    # M12 ruptures and repair
    Knockout("M12", "rupture share, dismissed minus validated", {"rupture_dismissal": 0.0},
             lambda **k: rupture_share(0.0, **k) - rupture_share(1.0, **k), 0.1),
    Knockout("M12", "share of open ruptures repaired at the next encounter", {"p_repair": 0.0},
             repairs_at_meeting, 0.1),
    Knockout("M12", "bond after a repair minus before the rupture", {"repair_bond_bonus": 0.0},
             repair_gain, 0.05),
    Knockout("M12", "bond lost when a rupture lapses unrepaired", {"unrepaired_bond_drop": 0.0},
             lapse_cost, 0.05),
    # M13 disengagement and doctor shopping
    Knockout("M13", "dropout share in a week, alliance 0.1 minus 0.9", {"dropout_alliance": 0.0},
             lambda **k: dropout_contrast(alliance_at(LOW), alliance_at(HIGH), **k), 0.05),
    Knockout("M13", "dropout share in a week, trust 0.1 minus 0.9", {"dropout_trust": 0.0},
             lambda **k: dropout_contrast(set_all(trust=LOW), set_all(trust=HIGH), **k), 0.05),
    Knockout("M13", "dropout share in a week, no progress minus progress", {"dropout_progress": 0.0},
             lambda **k: dropout_contrast(set_all(progress=0.0), set_all(progress=1.0), **k), 0.05),
    Knockout("M13", "dropout share in a week, open rupture minus none", {"dropout_rupture": 0.0},
             lambda **k: dropout_contrast(rupture_open(False), rupture_open(True), **k) * -1, 0.05),
    Knockout("M13", "dropout share in a week, dismissed this week minus not", {"dropout_dismissal": 0.0},
             lambda **k: -dropout_contrast(dismissed_in_week(NEVER), dismissed_in_week(5), **k), 0.05),
    Knockout("M13", "share of the disengaged presenting again in a week", {"represent_per_week": 0.0},
             returning_share, 0.05),
    # M14 investigations
    Knockout("M14", "uncertainty after a test, 3 earlier tests minus none", {"repeat_test_uncertainty": 0.0},
             lambda **k: uncertainty_after_test(3, **k) - uncertainty_after_test(0, **k), 0.02),
    Knockout("M14", "trust after a normal result, explained minus not", {"normal_result_trust_drop": 0.0},
             lambda **k: after_normal_result(1.0, "trust", **k) - after_normal_result(0.0, "trust", **k), 0.005),
    Knockout("M14", "distress after a normal result, unexplained minus explained (reassurance)",
             {"reassurance_distress_drop": 0.0},
             lambda **k: after_normal_result(0.0, "distress", **k) - after_normal_result(1.0, "distress", **k), 0.005),
    Knockout("M14", "share tested, uncertainty 0.9 minus 0.1", {"investigation_uncertainty": 0.0},
             lambda **k: share_tested("uncertainty", LOW, HIGH, **k), 0.05),
    Knockout("M14", "share tested, biomedical minus biopsychosocial clinician", {"investigation_biomedical": 0.0},
             lambda **k: -share_tested("stance", LOW, HIGH, **k), 0.05),
    # M15 care coordination
    Knockout("M15", "goal agreement with a new team member, lead's alliance 0.9 minus 0.2", {"alliance_transfer": 0.0},
             lambda **k: with_lead(1.0, "dyad.goals", lead=HIGH, **k) - with_lead(1.0, "dyad.goals", lead=0.2, **k),
             0.02),
    Knockout("M15", "uptake of a course, trust 0.8 minus 0.2", {"uptake_trust": 0.0},
             lambda **k: uptake(0.8, MID, **k) - uptake(0.2, MID, **k), 0.2),
    Knockout("M15", "uptake of a course, explanation 0.9 minus 0.1", {"uptake_explanation": 0.0},
             lambda **k: uptake(MID, HIGH, **k) - uptake(MID, LOW, **k), 0.2),
    Knockout("M15", "trust, referrals kept minus lost", {"lost_referral_trust_drop": 0.0},
             lambda **k: lost_referral_trust(0.0, **k) - lost_referral_trust(1.0, **k), 0.02),
    Knockout("M15", "share of open ruptures repaired at a case review", {"case_review_repair": 0.0},
             case_review_repairs, 0.1),
    Knockout("M15", "share due a coordinator contact, 16 minus 64 weeks into care", {"coordination_weeks": 0},
             lambda **k: coordination_due(16, **k) - coordination_due(64, **k), 0.9),
    # M16 reflection and feedback
    Knockout("M16", "validation propensity gained in a week of feedback", {"learning_per_week": 0.0},
             lambda **k: reflection("validation", True, **k), 0.001),
    Knockout("M16", "cultural humility gained in a week of feedback", {"reflection_humility": 0.0},
             lambda **k: reflection("cultural_humility", True, **k), 0.0005),
    Knockout("M16", "repair skill gained in a week, feedback switched on", {"feedback": False},
             lambda **k: reflection("repair_skill", True, **k), 0.001),
    Knockout("M16", "validated share of off-track patients, feedback on minus off",
             {"feedback_validation_logodds": 0.0},
             feedback_validation, 0.03),
    Knockout("M16", "repaired share, feedback on minus off", {"feedback_repair_boost": 0.0},
             feedback_repair, 0.05),
    # M17 stepped care
    Knockout("M17", "share stepped up at a review without improvement", {"stepping": False},
             lambda **k: review_share(14.0, 0.0, **{"stepping": True, **k})[1], 0.9),
    Knockout("M17", "share discharged at a review reporting PHQ-15 4", {"discharge_below_points": 0.0},
             lambda **k: review_share(4.0, 0.0, **k)[0], 0.9),
    Knockout("M17", "share taking up a proposed step, trust 0.8 minus 0.2", {"uptake_trust": 0.0},
             lambda **k: step_uptake(0.8, **k) - step_uptake(0.2, **k), 0.1),
    Knockout("M17", "share back in GP-led care after a full course at the therapy step", {"step_course_contacts": 0},
             course_finished, 0.9),
    Knockout("M17", "share stepped up without improvement, reporting PHQ-15 14 minus 8", {"step_up_min_points": 0.0},
             lambda **k: review_share(14.0, 0.0, **{"stepping": True, **k})[1]
             - review_share(8.0, 0.0, **{"stepping": True, **k})[1], 0.9),
    # M18 capacity and waiting
    Knockout("M18", "trust lost in a week on the waiting list", {"waiting_trust_drop": 0.0},
             waiting_trust_loss, 0.005),
    Knockout("M18", "trust lost when a booked follow-up finds no slot", {"missed_followup_trust_drop": 0.0},
             slipped_trust_loss, 0.005),
    # M19 fear-avoidance and functioning
    Knockout("M19", "avoidance, dismissed minus validated",
             {"validated_avoidance_drop": 0.0, "dismissed_avoidance_rise": 0.0},
             lambda **k: -encounter_contrast("avoidance", "validation", 0.0, 1.0, **k), 0.02),
    Knockout("M19", "avoidance, vague minus clear explanation", {"explanation_avoidance_drop": 0.0},
             lambda **k: -encounter_contrast("avoidance", "clarity", 0.0, 1.0, **k), 0.01),
    Knockout("M19", "avoidance added by a flare", {"flare_avoidance_rise": 0.0},
             lambda **k: everyone_flares("avoidance", set_all(avoidance=0.4), **k), 0.03),
    Knockout("M19", "avoidance gained in a week of fear (catastrophising, uncertainty 0.8)",
             {"avoidance_fear_per_week": 0.0},
             lambda **k: avoidance_week(adherence=0.0, pacing=0.0, catastrophising=0.8, uncertainty=0.8, **k), 0.005),
    Knockout("M19", "avoidance lost in a week of graded exposure (adherence, pacing 0.9)",
             {"avoidance_exposure_per_week": 0.0},
             lambda **k: -avoidance_week(adherence=0.9, pacing=0.9, catastrophising=0.0, uncertainty=0.0, **k), 0.005),
    Knockout("M19", "avoidance regained in a week, 0.1 below an own level of 0.6 (return of fear)",
             {"avoidance_return_per_week": 0.0}, lambda **k: faded("avoidance", **k), 0.01),
    Knockout("M19", "functioning target, avoidance 0.1 minus 0.9", {"function_avoidance": 0.0},
             lambda **k: -function_target_contrast("avoidance", LOW, HIGH, **k), 5.0),
    Knockout("M19", "functioning target, pacing 0.9 minus 0.1", {"function_pacing": 0.0},
             lambda **k: function_target_contrast("pacing", LOW, HIGH, **k), 2.0),
    Knockout("M19", "functioning target, self-efficacy 0.9 minus 0.1", {"function_self_efficacy": 0.0},
             lambda **k: function_target_contrast("self_efficacy", LOW, HIGH, **k), 2.0),
    Knockout("M19", "range of the functioning target across patients in the same modelled state (F points)",
             {"function_offset_sd": 0.0}, function_spread, 20.0),
    Knockout("M19", "activity, avoidance 0.1 minus 0.9", {"activity_avoidance": 0.0},
             activity_target_contrast, 0.01),
]
# fmt: on


def row_id(row: Knockout) -> str:
    return f"{row.mechanism}:{'+'.join(row.off)}"


@pytest.mark.parametrize("row", TABLE, ids=row_id)
def test_with_the_mechanism_on_its_effect_is_there(row: Knockout):
    assert row.probe() >= row.minimum, row.effect


@pytest.mark.parametrize("row", TABLE, ids=row_id)
def test_with_its_parameters_off_the_effect_is_gone(row: Knockout):
    assert abs(row.probe(**row.off)) <= row.tolerance, row.effect


def test_the_table_covers_every_mechanism_once_per_parameter():
    assert {row.mechanism for row in TABLE} == {f"M{i}" for i in range(1, 20)}
    ids = [row_id(row) for row in TABLE]
    assert len(ids) == len(set(ids))
    known = {f.name for cls in (MechanismParams, PopulationParams, ServiceParams) for f in dataclasses.fields(cls)}
    assert {name for row in TABLE for name in row.off} <= known
