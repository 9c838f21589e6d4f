"""Direction of effect of every mechanism M1–M18 (docs/model.md), all else equal, same seed.

Each test changes one lever and checks that the outcome the mechanism names
moves the way docs/model.md says. Arms share the seed, so the comparison is paired
(common random numbers) and small differences are real.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from conftest import compose_config, simulate
from probes import (
    HIGH,
    LOW,
    MID,
    activity_rise,
    after_normal_result,
    alliance_at,
    dropout_contrast,
    flare_contrast,
    force_encounters,
    met,
    probe_model,
    seen_bond,
    seen_mean,
    set_all,
    tiny_model,
)

from sim.core.encounters import FOLLOWUP, INTAKE, Encounters, Requests
from sim.core.params import MechanismParams, PopulationParams, RunParams, ServiceParams, WorkforceParams
from sim.core.state import DISENGAGED, GP_LED, IN_CARE, NOT_PRESENTED, TEAM, THERAPY, WAITING
from sim.engine.metrics import patient_table
from sim.engine.model import CareModel
from sim.mechanisms import alliance, engagement, pathways, recovery


def test_m1_warmth_builds_bond():
    cold = simulate(training_warmth=-0.3)
    warm = simulate(training_warmth=+0.3)
    assert seen_bond(warm) > seen_bond(cold) + 0.02


def test_m1_bond_gain_is_largest_early_and_saturates():
    bonds = force_encounters(tiny_model(p_rupture_base=0.0, rupture_stall=0.0, rupture_flare=0.0), 8)
    gains = np.diff(bonds)
    assert np.all(gains > 0)
    assert bonds[-1] < 1.0
    # Early rapport: each encounter closes a smaller share of the gap to 1 than the one before. (Falling
    # gains alone would not show it: the shrinking gap makes them fall at a constant share.)
    before = np.array([MechanismParams().bond_initial, *bonds[:-1]])
    share = (np.array(bonds) - before) / (1.0 - before)
    assert np.all(np.diff(share) < -1e-3)


def test_m2_validation_raises_trust_lowers_distress_and_dropout():
    dismissive = simulate(training_validation=-0.3)
    validating = simulate(training_validation=+0.3)
    pd_, pv = dismissive.patients, validating.patients
    assert seen_mean(validating, pv.trust) > seen_mean(dismissive, pd_.trust) + 0.02
    assert seen_mean(validating, pv.distress) < seen_mean(dismissive, pd_.distress)
    assert pv.ever_disengaged.mean() < pd_.ever_disengaged.mean()
    assert pv.dismissals.sum() < pd_.dismissals.sum()


def test_m2_stigma_history_makes_dismissal_more_likely():
    low = simulate(population={"stigma_mean": 0.1})
    high = simulate(population={"stigma_mean": 0.7})
    rate = lambda m: m.patients.dismissals.sum() / m.patients.encounters.sum()  # noqa: E731
    assert rate(high) > rate(low)


def test_m3_clear_explanations_raise_agreement_and_lower_uncertainty():
    vague = simulate(training_clarity=-0.3)
    clear = simulate(training_clarity=+0.3)
    d_v, d_c = vague.dyads, clear.dyads
    assert d_c.goals[d_c.clinician >= 0].mean() > d_v.goals[d_v.clinician >= 0].mean()
    assert d_c.tasks[d_c.clinician >= 0].mean() > d_v.tasks[d_v.clinician >= 0].mean()
    assert seen_mean(clear, clear.patients.uncertainty) < seen_mean(vague, vague.patients.uncertainty)


def test_m3_health_literacy_scales_what_explanations_achieve():
    def goals(lit: float) -> float:
        m = simulate(population={"health_literacy_mean": lit}, weeks=30)
        return float(m.dyads.goals[m.dyads.clinician >= 0].mean())

    assert goals(0.9) > goals(0.2)


def test_m4_cultural_humility_narrows_the_gap_between_groups():
    def gap(humility_shift: float) -> float:
        m = simulate(
            population={"cultural_group_shares": {"majority": 0.5, "minority": 0.5}},
            training_humility=humility_shift,
            mech={"mismatch_penalty": 0.8},
        )
        t = patient_table(m)
        by = t.groupby("cultural_group")["alliance_final"].mean()
        return float(by["majority"] - by["minority"])

    low, high = gap(-0.4), gap(+0.6)
    assert low > 0.0  # the minority, mostly seen across cultures, has the weaker alliance
    assert high < low


def test_m5_reliable_followup_and_coherent_messages_build_trust():
    base = simulate(followup_reliability=0.3, message_coherence=0.2)
    reliable = simulate(followup_reliability=0.95, message_coherence=0.2)
    coherent = simulate(followup_reliability=0.3, message_coherence=0.95)
    t0 = seen_mean(base, base.patients.trust)
    assert seen_mean(reliable, reliable.patients.trust) > t0
    assert seen_mean(coherent, coherent.patients.trust) > t0
    assert coherent.patients.contradictions.sum() < base.patients.contradictions.sum()


def test_m6_low_safety_distorts_reports_and_decisions_use_them():
    m = tiny_model(amplify_points=6.0, underreport_share=0.6)
    p, d = m.patients, m.dyads
    p.symptoms[:] = p.symptoms_slow[:] = 12.0
    p.stigma[:] = 0.8
    p.trust[:] = 0.05  # no psychological safety
    assert np.all(alliance.reported_symptoms(p, d, m.mechanisms) > p.symptoms)  # amplified
    p.trust[:] = 1.0
    d.current[:] = -1
    p.stigma[:] = 0.0
    p.symptoms[:] = 18.0  # a bad week above the usual level, fully reported with safety
    safe = alliance.reported_symptoms(p, d, m.mechanisms)
    p.trust[:] = 0.0
    unsafe = alliance.reported_symptoms(p, d, m.mechanisms)
    assert np.all(unsafe < safe)  # fluctuation under-reported without safety
    # Reviews act on reports: amplifying patients are discharged less often.
    amplifying = simulate(mech={"amplify_points": 8.0}, population={"stigma_mean": 0.6}, weeks=60)
    honest = simulate(mech={"amplify_points": 0.0}, population={"stigma_mean": 0.6}, weeks=60)
    discharged = lambda m: (m.patients.discharge_week >= 0).mean()  # noqa: E731
    assert discharged(amplifying) < discharged(honest)


def test_m7_adherence_follows_tasks_bond_trust_self_efficacy_expectation_and_falls_with_distress_uncertainty():
    # Patient 0 has every driver at 0.5; each other patient has one driver at 0.9, so each comparison
    # isolates one coefficient (zero it and that patient's adherence equals patient 0's).
    drivers = ("tasks", "bond", "trust", "self_efficacy", "expectation", "distress", "uncertainty")
    m = probe_model(len(drivers) + 1)
    p, d = m.patients, m.dyads
    d.clinician[:, 0] = 0
    d.set_current(np.arange(p.n), np.zeros(p.n, np.int64))
    d.tasks[:, 0] = d.bond[:, 0] = MID
    for name in drivers[2:]:
        getattr(p, name)[:] = MID
    for k, name in enumerate(drivers, start=1):
        (getattr(d, name)[:, 0] if name in ("tasks", "bond") else getattr(p, name))[k] = HIGH
    p.adherence[:] = 0.3
    p.status[:] = IN_CARE  # only patients who have presented self-manage
    recovery.adherence(p, d, slice(None), m.mechanisms)
    a = p.adherence - p.adherence[0]
    assert np.all(a[1:6] > 0.005)  # tasks, bond, trust, self-efficacy, expectation raise it
    assert np.all(a[6:] < -0.005)  # distress and uncertainty lower it
    # Knock-out: with every slope at zero, these patients' adherence no longer differs.
    off = dataclasses.replace(m.mechanisms, **{f"adherence_{k}": 0.0 for k in drivers})
    p.adherence[:] = 0.3
    recovery.adherence(p, d, slice(None), off)
    assert np.all(p.adherence == p.adherence[0])


def test_m8_adherence_not_contact_drives_recovery():
    change = lambda m: float((m.patients.latent - m.patients.baseline_severity).mean())  # noqa: E731
    with_both = simulate(weeks=80)
    without_self_management = simulate(weeks=80, mech={"recovery_per_week": 0.0})
    without_contact = simulate(weeks=80, mech={"contact_recovery_per_week": 0.0})
    by_self_management = change(without_self_management) - change(with_both)
    by_contact = change(without_contact) - change(with_both)
    assert by_self_management > 0.5  # points of latent severity
    assert 0.0 < by_contact < by_self_management / 4  # contacts happen, but do little on their own


def test_m9_flares_follow_stress_reactivity_and_pacing_protects():
    calm = simulate(population={"stress_reactivity_mean": 0.2})
    reactive = simulate(population={"stress_reactivity_mean": 0.8})
    assert reactive.patients.flares.sum() > calm.patients.flares.sum()
    paced = simulate(mech={"flare_pacing": 3.0})
    unpaced = simulate(mech={"flare_pacing": 0.0})
    assert paced.patients.flares.sum() < unpaced.patients.flares.sum()
    # Distress and stress reactivity each raise the weekly hazard (one week, same draws, others at 0.5).
    assert flare_contrast("flare", "distress", LOW, HIGH) > 0.05
    assert flare_contrast("flare", "stress_reactivity", LOW, HIGH) > 0.05


def test_m9_tolerance_of_uncertainty_buffers_a_flare():
    m = tiny_model(flare_per_week=50.0)  # everyone flares
    p = m.patients
    p.uncertainty[:] = [0.05, 0.95, 0.05, 0.95, 0.5]
    p.self_efficacy[:] = 0.6
    recovery.flares(p, slice(None), m.mechanisms, m.streams)
    assert p.in_flare.all()
    assert p.self_efficacy[0] > p.self_efficacy[1]
    assert p.self_efficacy[2] > p.self_efficacy[3]


def test_m10_pacing_guidance_prevents_boom_bust():
    guided = simulate(pacing_guidance=True, weeks=80)
    unguided = simulate(pacing_guidance=False, weeks=80)
    assert guided.patients.pacing.mean() > unguided.patients.pacing.mean()
    assert guided.patients.flares.sum() < unguided.patients.flares.sum()
    # The boom–bust route on its own: without pacing a good week brings a burst of activity ...
    assert activity_rise(0.0) > activity_rise(1.0) + 0.02
    # ... and a rise beyond the safe step raises the flare hazard (one week, same draws).
    assert flare_contrast("flare", "activity_rise", 0.0, 0.2) > 0.05


def test_m11_feedback_loop_makes_patients_diverge():
    loop = simulate(weeks=80)
    no_loop = simulate(weeks=80, mech={"progress_self_efficacy": 0.0, "progress_expectation": 0.0})
    assert loop.patients.function.std() > no_loop.patients.function.std()
    assert loop.patients.self_efficacy.std() > no_loop.patients.self_efficacy.std()


def test_m12_repair_leaves_bond_stronger_and_unrepaired_ruptures_cost():
    m = tiny_model()
    d, p = m.dyads, m.patients
    d.clinician[0, 0] = 0
    d.bond[0, 0] = 0.6
    d.bond_before_rupture[0, 0] = 0.6
    d.bond[0, 0] *= 0.8
    d.rupture_week[0, 0] = 1
    alliance.repair(p, d, np.array([0]), np.array([0]), m.mechanisms)
    assert d.bond[0, 0] > 0.6 and d.rupture_week[0, 0] == -1 and p.repairs[0] == 1

    repairing = simulate(mech={"p_repair": 1.0})
    never = simulate(mech={"p_repair": 0.0, "case_review_repair": 0.0})
    assert repairing.patients.repairs.sum() > 0 and never.patients.repairs.sum() == 0
    assert seen_bond(repairing) > seen_bond(never)
    assert repairing.patients.ever_disengaged.mean() < never.patients.ever_disengaged.mean()


def test_m12_dismissal_raises_ruptures():
    calm = simulate(mech={"rupture_dismissal": 0.0})
    strained = simulate(mech={"rupture_dismissal": 0.5})
    assert strained.patients.ruptures.sum() > calm.patients.ruptures.sum()


def test_m13_alliance_and_trust_lower_dropout_and_shoppers_come_back():
    weak = simulate(training_warmth=-0.3, training_validation=-0.3, weeks=80)
    strong = simulate(training_warmth=+0.3, training_validation=+0.3, weeks=80)
    assert strong.patients.ever_disengaged.mean() < weak.patients.ever_disengaged.mean()
    # Each of alliance and trust lowers the weekly hazard on its own (one week, same draws, base hazard 0.3).
    assert dropout_contrast(alliance_at(LOW), alliance_at(HIGH)) > 0.05
    assert dropout_contrast(set_all(trust=LOW), set_all(trust=HIGH)) > 0.05
    stay_away = simulate(mech={"represent_per_week": 0.0}, weeks=80)
    shop = simulate(mech={"represent_per_week": 0.2}, weeks=80)
    assert (shop.patients.status == DISENGAGED).sum() < (stay_away.patients.status == DISENGAGED).sum()
    assert shop.patients.encounters.sum() > stay_away.patients.encounters.sum()


def test_m14_investigations_cost_and_feed_uncertainty_unless_explained():
    few = simulate(p_investigation_per_visit=0.02, p_results_explained=0.0)
    many = simulate(p_investigation_per_visit=0.5, p_results_explained=0.0)
    assert many.patients.investigations.sum() > 3 * few.patients.investigations.sum()
    assert many.patients.cost.sum() > few.patients.cost.sum()
    assert seen_mean(many, many.patients.uncertainty) > seen_mean(few, few.patients.uncertainty)
    assert seen_mean(many, many.patients.trust) < seen_mean(few, few.patients.trust)
    explained = simulate(p_investigation_per_visit=0.5, p_results_explained=1.0)
    assert seen_mean(explained, explained.patients.trust) > seen_mean(many, many.patients.trust)
    # An explained normal result reassures (less distress) and keeps trust (one encounter, everyone tested).
    assert after_normal_result(1.0, "distress") < after_normal_result(0.0, "distress") - 0.005
    assert after_normal_result(1.0, "trust") > after_normal_result(0.0, "trust") + 0.005


def test_m15_coordination_parameters_improve_continuity_alliance_and_function():
    fragmented = compose_config("experiment=compare_care_models").arms["fragmented"]
    coordinated = compose_config("experiment=compare_care_models").arms["coordinated"]
    f = simulate(fragmented, weeks=104, n=600)
    c = simulate(coordinated, weeks=104, n=600)
    tf, tc = patient_table(f), patient_table(c)
    # Continuity of the visit history (COC) counts every provider, so the
    # therapists and coordinator that coordinated care adds lower it: the
    # continuity levers are checked with that content switched off.
    plain = dataclasses.replace(coordinated, p_psychosocial_offer_per_visit=0.0, coordinator_contact_interval_weeks=0)
    assert patient_table(simulate(plain, weeks=104, n=600))["coc"].mean() > tf["coc"].mean() + 0.2
    assert tc["alliance_final"].mean() > tf["alliance_final"].mean()
    assert tc["function_final"].mean() > tf["function_final"].mean()
    assert tc["investigations"].mean() < tf["investigations"].mean()
    # One lever at a time: carrying the alliance across the team raises it.
    no_transfer = simulate(alliance_transfer=0.0, continuity=0.2)
    transfer = simulate(alliance_transfer=0.8, continuity=0.2)
    assert seen_bond(transfer) > seen_bond(no_transfer)
    # Joint case reviews repair ruptures that no single encounter did.
    reviews = simulate(case_review_interval_weeks=4, mech={"p_repair": 0.0})
    assert reviews.patients.repairs.sum() > 0


def test_m15_navigation_barriers_lose_referrals_and_trust():
    smooth = simulate(p_referral_per_visit=0.4, p_referral_lost=0.0)
    lossy = simulate(p_referral_per_visit=0.4, p_referral_lost=0.8)
    assert lossy.patients.visits[:, 1].sum() < smooth.patients.visits[:, 1].sum()
    assert seen_mean(lossy, lossy.patients.trust) < seen_mean(smooth, smooth.patients.trust)


def test_m16_feedback_makes_clinicians_learn():
    off = simulate(feedback=False, weeks=80)
    on = simulate(feedback=True, weeks=80)
    assert np.allclose(off.clinicians.validation, simulate(feedback=False, weeks=5).clinicians.validation)
    assert on.clinicians.validation.mean() > off.clinicians.validation.mean()
    assert on.clinicians.repair_skill.mean() > off.clinicians.repair_skill.mean()
    assert on.patients.repairs.sum() > off.patients.repairs.sum()


def test_m17_stepping_moves_non_improvers_to_therapy():
    flat = simulate(stepping=False, weeks=60)
    stepped = simulate(stepping=True, review_interval_weeks=8, weeks=60)
    therapy = lambda m: int(m.patients.visits[:, 2:].sum())  # noqa: E731
    assert therapy(flat) == 0
    assert therapy(stepped) > 0
    assert (stepped.patients.care_step > 0).sum() > 0


def test_m17_a_stepped_up_level_is_a_course_that_is_not_repeated():
    """After its course a patient is back in GP-led care; a later step-up goes above what was finished."""
    m = probe_model(stepping=True, review_interval_weeks=8, uptake_logodds=50.0)  # everyone takes a step up
    p = m.patients
    p.status[:], p.care_start_week[:], p.care_step[:] = IN_CARE, 0, THERAPY
    p.step_contacts[:] = m.service.step_course_contacts
    pathways.review(p, np.full(p.n, 14.0), 5, m.service, m.mechanisms, m.streams)  # no review due: the course just ends
    assert (p.care_step == GP_LED).all() and (p.step_completed == THERAPY).all() and (p.step_contacts == 0).all()
    pathways.review(
        p, np.full(p.n, 14.0), 8, m.service, m.mechanisms, m.streams
    )  # review, no improvement: the team, not therapy again
    assert (p.care_step == TEAM).all()
    p.care_step[:], p.step_completed[:] = GP_LED, TEAM
    pathways.review(p, np.full(p.n, 14.0), 16, m.service, m.mechanisms, m.streams)  # every course done: stays GP-led
    assert (p.care_step == GP_LED).all()
    open_ended = probe_model(stepping=True, review_interval_weeks=8, step_course_contacts=0)
    q = open_ended.patients
    q.status[:], q.care_start_week[:], q.care_step[:], q.step_contacts[:] = IN_CARE, 0, THERAPY, 50
    pathways.review(q, np.full(q.n, 14.0), 5, open_ended.service, open_ended.mechanisms, open_ended.streams)
    assert (q.care_step == THERAPY).all()


def test_m17_a_step_up_is_taken_up_more_with_trust_and_a_clear_explanation():
    """The step is psychosocial care: receptiveness grows with trust (M5) and explanation (M3)."""

    def share_up(trust: float, explanation: float) -> float:
        m = probe_model(stepping=True, review_interval_weeks=8)
        p = m.patients
        p.status[:], p.care_start_week[:], p.step_start_reported[:] = IN_CARE, 0, 14.0
        p.trust[:], p.explanation_received[:] = trust, explanation
        pathways.review(p, np.full(p.n, 14.0), 8, m.service, m.mechanisms, m.streams)
        return float((p.care_step > GP_LED).mean())

    assert share_up(0.8, 0.5) > share_up(0.2, 0.5) + 0.1
    assert share_up(0.5, 0.9) > share_up(0.5, 0.1) + 0.1
    assert 0.0 < share_up(0.2, 0.1) < share_up(0.8, 0.9) < 1.0


def test_m17_stepped_care_with_courses_uses_fewer_therapy_sessions_than_open_ended_steps():
    courses = simulate(stepping=True, review_interval_weeks=8, weeks=80)
    open_ended = simulate(stepping=True, review_interval_weeks=8, step_course_contacts=0, weeks=80)
    therapy = lambda m: int(m.patients.visits[:, 2:4].sum())  # noqa: E731
    assert 0 < therapy(courses) < therapy(open_ended)


def test_m19_functioning_has_a_part_of_its_own_so_baseline_symptoms_do_not_fix_it():
    """With the offset, baseline functioning is related to baseline symptoms but far from a copy of them."""

    def baseline_r(sd: float) -> float:
        m = probe_model(n=4000, function_offset_sd=sd)
        return float(np.corrcoef(m.patients.function, m.patients.symptoms)[0, 1])

    assert baseline_r(0.0) < -0.75  # symptoms, activity and distress alone: nearly a copy
    assert -0.65 < baseline_r(PopulationParams().function_offset_sd) < -0.3  # C8c's band


def test_m17_discharge_threshold_discharges_the_well():
    strict = simulate(discharge_below_points=2.0, weeks=60)
    lenient = simulate(discharge_below_points=10.0, weeks=60)
    assert (lenient.patients.discharge_week >= 0).sum() > (strict.patients.discharge_week >= 0).sum()


def test_m18_short_capacity_makes_waits_and_costs_trust():
    ample = simulate()
    short_gp = dataclasses.replace(WorkforceParams().gp, per_1000_patients=3.0)
    short = simulate(workforce=dataclasses.replace(WorkforceParams(), gp=short_gp))
    assert short.patients.waiting_weeks.mean() > ample.patients.waiting_weeks.mean() + 1.0
    # Fewer patients get into care at all, so compare slips per encounter held.
    slips = lambda m: m.patients.missed_followups.sum() / m.patients.encounters.sum()  # noqa: E731
    assert slips(short) > slips(ample)
    # Trust of everyone who has asked for care, waiting or seen.
    presented = lambda m: m.patients.trust[m.patients.status != NOT_PRESENTED].mean()  # noqa: E731
    assert presented(short) < presented(ample)


def test_anti_stigma_campaign_brings_patients_sooner_and_less_dismissed():
    none = simulate(weeks=30)
    campaign = simulate(weeks=30, campaign_delay_reduction=0.5, campaign_stigma_reduction=0.5)
    assert campaign.patients.presentation_week.mean() < none.patients.presentation_week.mean()
    assert np.array_equal(campaign.patients.baseline_severity, none.patients.baseline_severity)  # same cohort
    rate = lambda m: m.patients.dismissals.sum() / m.patients.encounters.sum()  # noqa: E731
    assert rate(campaign) < rate(none)


# --- second round: bounded recovery (M8), fear-avoidance (M19), care content (M15), M13, M16 ---
# Each mechanism has a direction test and a knock-out: its coefficients at 0 and the effect is gone.


def test_m8_latent_severity_stays_between_floor_and_30_and_never_drifts():
    # High distress used to push latent severity up without bound; now it only raises the set point.
    for distress in (0.0, 1.0):
        m = tiny_model()
        p = m.patients
        for _ in range(300):
            p.distress[:] = distress
            recovery.recovery(p, slice(None), np.zeros(p.n, bool), m.mechanisms)
            floor = recovery.symptom_floor(p, slice(None), m.mechanisms)
            assert np.all(p.latent >= floor - 1e-12) and np.all(p.latent <= 30.0)
        np.testing.assert_allclose(p.latent, recovery.setpoint(p, slice(None), m.mechanisms), rtol=1e-3)


def test_m8_improvement_decelerates():
    m = simulate(weeks=104, n=600)
    weekly = m.datacollector.get_model_vars_dataframe()["symptoms_mean"].to_numpy()
    first, second = weekly[0] - weekly[52], weekly[52] - weekly[104]
    assert first > 0 and first > 1.5 * second  # most of a two-year gain comes in the first year


def test_m8_self_management_is_the_main_route_down_and_contact_alone_a_small_one():
    def latent_after(adherence: float, seen: bool, **mech: float) -> float:
        m = tiny_model(**mech)
        p = m.patients
        p.adherence[:] = adherence
        for _ in range(52):
            recovery.recovery(p, slice(None), np.full(p.n, seen), m.mechanisms)
        return float(p.latent.mean())

    none, contact, managing = latent_after(0.0, False), latent_after(0.0, True), latent_after(0.8, False)
    assert managing < none - 1.0  # self-management lowers severity by points
    assert 0.0 < none - contact < (none - managing) / 4  # contact alone: a little
    # Knock-out: with its coefficients at zero, neither adherence nor contact moves severity.
    off = {"recovery_per_week": 0.0, "contact_recovery_per_week": 0.0}
    assert latent_after(0.8, True, **off) == latent_after(0.0, False, **off)


def test_m8_set_point_rises_with_distress_catastrophising_avoidance_and_stress_reactivity():
    m = tiny_model()
    p, mech = m.patients, m.mechanisms
    base = recovery.setpoint(p, slice(None), mech)
    for name in ("distress", "catastrophising", "avoidance", "stress_reactivity"):
        values = getattr(p, name).copy()
        getattr(p, name)[:] = values + 0.2
        assert np.all(recovery.setpoint(p, slice(None), mech) >= base) and np.any(
            recovery.setpoint(p, slice(None), mech) > base
        )
        getattr(p, name)[:] = values
    off = dataclasses.replace(
        mech,
        setpoint_distress=0.0,
        setpoint_catastrophising=0.0,
        setpoint_avoidance=0.0,
        setpoint_stress_reactivity=0.0,
    )
    p.distress[:] += 0.3
    p.avoidance[:] += 0.03
    np.testing.assert_allclose(
        recovery.setpoint(p, slice(None), off),
        recovery.symptom_floor(p, slice(None), off)
        + off.setpoint_share * p.baseline_severity * (1 - off.symptom_floor_share),
    )


def test_patients_who_have_not_presented_do_not_self_manage():
    m = simulate(weeks=20, population={"help_seeking_delay_mean_weeks": 30.0})
    p = m.patients
    waiting_to_present = p.status == NOT_PRESENTED
    assert waiting_to_present.sum() > 20
    assert np.all(p.adherence[waiting_to_present] == 0.0)
    assert np.all(p.adherence[~waiting_to_present] > 0.0)


def test_m19_validation_and_explanation_lower_avoidance_dismissal_raises_it():
    def avoidance_after(validation: float, clarity: float, **mech: float) -> float:
        m = tiny_model(**mech)
        m.patients.avoidance[0] = 0.5
        met(m, validation=validation, clarity=clarity)
        return float(m.patients.avoidance[0])

    assert avoidance_after(1.0, 0.0) < 0.5 < avoidance_after(0.0, 0.0)
    assert avoidance_after(1.0, 1.0) < avoidance_after(1.0, 0.0)
    off = {"validated_avoidance_drop": 0.0, "dismissed_avoidance_rise": 0.0, "explanation_avoidance_drop": 0.0}
    assert avoidance_after(1.0, 1.0, **off) == avoidance_after(0.0, 0.0, **off) == 0.5


def test_m3_m19_uncertainty_and_avoidance_return_toward_the_own_level_unless_renewed():
    m = tiny_model()
    p = m.patients
    p.uncertainty_own[:], p.avoidance_own[:] = 0.6, 0.6
    p.uncertainty[:] = [0.1, 0.3, 0.6, 0.8, 0.95]
    p.avoidance[:] = [0.95, 0.8, 0.6, 0.3, 0.1]
    gap_u, gap_a = np.abs(p.uncertainty - 0.6), np.abs(p.avoidance - 0.6)
    for _ in range(26):
        recovery.fading(p, slice(None), m.mechanisms)
    # both ways: gains not renewed fade, and so do setbacks (a contradiction, a dismissal)
    assert np.allclose(np.abs(p.uncertainty - 0.6), gap_u / 2, atol=1e-3)  # half-life of 26 weeks
    assert np.allclose(np.abs(p.avoidance - 0.6), gap_a / 2, atol=1e-3)
    assert np.all(np.sign(p.uncertainty - 0.6) == np.sign([-1, -1, 0, 1, 1]))

    off = tiny_model(uncertainty_return_per_week=0.0, avoidance_return_per_week=0.0)
    before = off.patients.uncertainty.copy(), off.patients.avoidance.copy()
    off.patients.uncertainty_own[:] = off.patients.avoidance_own[:] = 0.9
    recovery.fading(off.patients, slice(None), off.mechanisms)
    assert np.array_equal(off.patients.uncertainty, before[0])
    assert np.array_equal(off.patients.avoidance, before[1])


def test_m19_flares_and_fear_raise_avoidance_graded_exposure_lowers_it():
    m = tiny_model(flare_per_week=50.0)  # everyone flares
    p = m.patients
    p.avoidance[:] = 0.4
    recovery.flares(p, slice(None), m.mechanisms, m.streams)
    assert np.all(p.avoidance > 0.4)
    m = tiny_model(flare_per_week=50.0, flare_avoidance_rise=0.0)
    m.patients.avoidance[:] = 0.4
    recovery.flares(m.patients, slice(None), m.mechanisms, m.streams)
    assert np.all(m.patients.avoidance == 0.4)

    def weekly(adherence: float, pacing: float, **mech: float) -> np.ndarray:
        m = tiny_model(**mech)
        p = m.patients
        p.avoidance[:], p.adherence[:], p.pacing[:] = 0.5, adherence, pacing
        p.catastrophising[:], p.uncertainty[:] = 0.8, 0.8
        recovery.avoidance(p, slice(None), m.mechanisms)
        return p.avoidance

    assert np.all(weekly(0.0, 0.0) > 0.5)  # fear, no exposure: avoidance grows
    assert np.all(weekly(0.9, 0.9) < 0.5)  # graded exposure outweighs it
    off = {"avoidance_fear_per_week": 0.0, "avoidance_exposure_per_week": 0.0}
    assert np.all(weekly(0.9, 0.9, **off) == 0.5) and np.all(weekly(0.0, 0.0, **off) == 0.5)


def test_m19_functioning_can_improve_while_symptoms_persist():
    m = tiny_model()
    p, mech = m.patients, m.mechanisms
    before = recovery.function_target(p, slice(None), mech)
    p.avoidance[:] -= 0.3
    p.pacing[:] += 0.5
    p.self_efficacy[:] += 0.2
    after = recovery.function_target(p, slice(None), mech)  # same latent severity
    assert np.all(after > before + 5.0)
    off = dataclasses.replace(mech, function_avoidance=0.0, function_pacing=0.0, function_self_efficacy=0.0)
    np.testing.assert_allclose(
        recovery.function_target(p, slice(None), off), recovery.function_target(p, slice(None), off)
    )
    p.avoidance[:] += 0.3
    p.pacing[:] -= 0.5
    p.self_efficacy[:] -= 0.2
    again = recovery.function_target(p, slice(None), off)
    p.avoidance[:] -= 0.3
    p.pacing[:] += 0.5
    p.self_efficacy[:] += 0.2
    np.testing.assert_allclose(recovery.function_target(p, slice(None), off), again)  # knock-out: no effect
    # In a whole population, functioning and symptoms change together, but far from in lockstep.
    t = patient_table(simulate(weeks=104, n=600))
    r = t["function_change"].corr(t["symptoms_change"])
    assert -0.9 < r < -0.2


def test_m15_uptake_of_a_psychosocial_course_rises_with_trust_and_explanation():
    def uptake(trust: float, explained: float, **mech: float) -> float:
        m = CareModel(
            ServiceParams(p_psychosocial_offer_per_visit=1.0),
            run=RunParams(weeks=10),
            population=PopulationParams(n_patients=2000),
            mechanisms=dataclasses.replace(MechanismParams(), **mech),
            seed=3,
            agents=False,
        )
        p = m.patients
        p.status[:] = IN_CARE
        p.trust[:], p.explanation_received[:] = trust, explained
        everyone = np.arange(p.n)
        enc = Encounters(everyone, np.zeros(p.n, np.int64), np.zeros(p.n, np.int8), np.full(p.n, FOLLOWUP))
        pathways.offer_psychosocial(enc, p, 1, m.service, m.mechanisms, m.streams)
        assert p.psychosocial_offered.all()
        assert np.all(p.therapy_sessions_left[p.psychosocial_uptakes > 0] >= 1)
        return float(p.psychosocial_uptakes.mean())

    assert uptake(0.8, 0.5) > uptake(0.2, 0.5) + 0.2
    assert uptake(0.5, 0.9) > uptake(0.5, 0.1) + 0.2
    off = {"uptake_trust": 0.0, "uptake_explanation": 0.0}
    assert uptake(0.8, 0.9, **off) == uptake(0.2, 0.1, **off)


def test_m15_coordinated_care_has_therapists_and_a_coordinator_and_the_content_can_be_switched_off():
    coordinated = compose_config("experiment=compare_care_models").arms["coordinated"]
    with_content = simulate(coordinated, weeks=104, n=400)
    v = with_content.patients.visits
    assert v[:, 2:4].sum() > 0 and v[:, 4].sum() > 0  # psychologist / physio, coordinator
    assert with_content.patients.psychosocial_uptakes.sum() > 0
    off = dataclasses.replace(coordinated, p_psychosocial_offer_per_visit=0.0, coordinator_contact_interval_weeks=0)
    without = simulate(off, weeks=104, n=400)
    assert without.patients.visits[:, 2:].sum() == 0 and without.patients.psychosocial_uptakes.sum() == 0


def test_m13_doctor_shoppers_go_to_another_team_and_meet_new_clinicians():
    m = CareModel(  # 1,000 patients: two teams of GPs
        ServiceParams(),
        population=PopulationParams(n_patients=1000),
        mechanisms=dataclasses.replace(MechanismParams(), represent_per_week=1000.0),  # all come back now
        seed=3,
        agents=False,
    )
    p, d = m.patients, m.dyads
    p.status[:] = DISENGAGED
    d.clinician[:, 0], d.current[:] = 0, 0
    req = Requests(np.arange(p.n), np.zeros(p.n, np.int8), np.full(p.n, INTAKE))
    before = pathways.route(req, p, m.clinicians, m.service, m.streams, m.workforce.team_size)
    engagement.represent(p, d, 5, m.mechanisms, m.streams)
    after = pathways.route(req, p, m.clinicians, m.service, m.streams, m.workforce.team_size)
    assert np.all(p.status == WAITING) and np.all(d.current == -1)
    gps = m.clinicians.by_role[0]
    n_teams = max(gps.size // m.workforce.team_size, 1)
    assert n_teams > 1
    team_of = {int(c): k % n_teams for k, c in enumerate(gps)}
    assert all(team_of[int(a)] != team_of[int(b)] for a, b in zip(before, after, strict=True))
    # Knock-out: nobody comes back, so nobody changes team or forgets their clinician.
    p.status[:] = DISENGAGED
    d.current[:] = 0
    teams = p.team.copy()
    off = dataclasses.replace(m.mechanisms, represent_per_week=0.0)
    engagement.represent(p, d, 6, off, m.streams)
    assert np.all(p.team == teams) and np.all(d.current == 0) and np.all(p.status == DISENGAGED)


def test_m16_reflection_with_feedback_raises_cultural_humility():
    off = simulate(feedback=False, weeks=60)
    on = simulate(feedback=True, weeks=60)
    knocked = simulate(feedback=True, weeks=60, mech={"reflection_humility": 0.0})
    assert on.clinicians.cultural_humility.mean() > off.clinicians.cultural_humility.mean() + 0.01
    np.testing.assert_array_equal(knocked.clinicians.cultural_humility, off.clinicians.cultural_humility)
