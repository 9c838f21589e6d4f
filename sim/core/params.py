"""Parameters of the care-pathway model: typed, frozen, validated.

Every parameter is declared once, here, with its default, its allowed range,
its unit and where the value comes from (field metadata ``lo``, ``hi``,
``unit``, ``source``; see the field helpers below). The same dataclasses are
the Hydra structured-config schemas (registered by the entry points in
``experiments/``; this package never imports Hydra), so a typo in a key or a
wrong type fails when the config is composed, and :func:`validate` checks the
ranges before any work starts.

Sources: "literature: <citation>" = set from a published figure;
"calibrated" = fitted to the usual-care targets (C1–C3, C5–C8 in fragmented
care; ``docs/targets.md``, ``docs/calibration.md``); "judgement: <reason>" = a
plausible value chosen by the authors, open to refit with local data.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any

ROLES: tuple[str, ...] = ("gp", "specialist", "psychologist", "physiotherapist", "coordinator")
"""Clinician roles, in the order used by every per-role array and column."""

ROLE_LABELS: dict[str, str] = {
    "gp": "GP",
    "specialist": "specialist",
    "psychologist": "psychologist",
    "physiotherapist": "physiotherapist",
    "coordinator": "care coordinator",
}
"""Each role as a report names it."""

CONDITIONS: tuple[str, ...] = (
    "ibs",
    "fibromyalgia",
    "chronic_fatigue",
    "fnd",
    "chronic_headache",
    "chest_pain",
)
"""Condition labels (transdiagnostic: they shift baselines, not rules)."""

STATUSES: tuple[str, ...] = ("not_presented", "waiting", "in_care", "discharged", "disengaged")
"""Engagement statuses, in the order of their integer codes."""


class ConfigError(ValueError):
    """A configuration value is outside what the model allows."""


# --- field helpers: one line per parameter, with its range, unit and source ---
#
# Every helper records, in the field's metadata, the allowed range ("lo", "hi";
# inclusive), a phrase for error messages ("kind"), the unit ("unit") and where
# the value comes from ("source"), one of:
#   "literature: <citation>"  set from a published figure;
#   "calibrated"              fitted to the usual-care targets (docs/calibration.md);
#   "judgement: <reason>"     a plausible value chosen by the authors, open to refit.

SOURCE_PREFIXES: tuple[str, ...] = ("literature: ", "calibrated", "judgement: ")
"""How a parameter's ``source`` must begin (a test checks every parameter)."""

LIT_PHQ15 = "literature: Kroenke, Spitzer & Williams 2002 (PHQ-15 scale and cut-points)"
CALIBRATED = "calibrated"


PRIOR_FAMILIES: tuple[str, ...] = ("beta", "uniform", "lognormal", "normal")
"""Distribution families a prior may use (each truncated to its parameter's range when sampled)."""


@dataclass(frozen=True)
class Prior:
    """What is known about a parameter before the targets are fitted, for the probabilistic sensitivity analysis.

    A prior is centred on its parameter's default, so a recalibrated default
    moves its prior along: beta has mean = default and SD = ``spread`` x
    default; lognormal has median = default and SD of the log = ``spread``;
    normal has mean = default and SD = ``spread`` (in the parameter's unit);
    uniform spans default ± ``spread``. A draw is truncated to the parameter's
    declared range. A prior on a service parameter describes how far every
    arm's value may lie from its preset: a draw shifts each arm's value by
    (draw - default).

    Attributes:
        family: One of ``PRIOR_FAMILIES``.
        spread: The family's spread, as above.
        group: The parameter group it belongs to (value of information is reported per group).
        why: One line: the source or the judgement behind the spread.
    """

    family: str
    spread: float
    group: str
    why: str

    def parameters(self, default: float) -> tuple[float, float]:
        """The family's own two parameters for this default: beta (alpha, beta), uniform (low, high),
        lognormal (mu, sigma of the log), normal (mean, SD)."""
        if self.family == "beta":
            sd = self.spread * default
            n = default * (1.0 - default) / sd**2 - 1.0
            return default * n, (1.0 - default) * n
        if self.family == "lognormal":
            return math.log(default), self.spread
        if self.family == "normal":
            return default, self.spread
        if self.family == "uniform":
            return default - self.spread, default + self.spread
        raise ConfigError(f"config error: prior family {self.family!r}; allowed: {', '.join(PRIOR_FAMILIES)}")


def _param(
    default: Any, lo: float | None, hi: float | None, kind: str, unit: str, source: str, prior: Prior | None = None
) -> Any:
    meta = {"lo": lo, "hi": hi, "kind": kind, "unit": unit, "source": source}
    if prior is not None:
        meta["prior"] = prior
    return field(default=default, metadata=meta)


def prob(default: float, source: str, unit: str = "probability", prior: Prior | None = None) -> Any:
    """A probability or share in [0, 1]."""
    return _param(default, 0.0, 1.0, "a probability in [0, 1]", unit, source, prior)


def level(default: float, source: str, unit: str = "level on [0, 1]", prior: Prior | None = None) -> Any:
    """A psychological state or trait level in [0, 1]."""
    return _param(default, 0.0, 1.0, "a level in [0, 1]", unit, source, prior)


def nonneg(default: float, hi: float, unit: str, source: str, prior: Prior | None = None) -> Any:
    """A non-negative real number up to ``hi`` (rate, effect size, cost)."""
    return _param(default, 0.0, hi, f"a number in [0, {hi:g}]", unit, source, prior)


def positive(default: float, hi: float, unit: str, source: str, prior: Prior | None = None) -> Any:
    """A strictly positive real number up to ``hi``."""
    return _param(default, 1e-12, hi, f"a number > 0 and <= {hi:g}", unit, source, prior)


def count(default: int, hi: int, unit: str, source: str, lo: int = 0) -> Any:
    """A whole number in [lo, hi]."""
    return _param(default, lo, hi, f"a whole number in [{lo}, {hi}]", unit, source)


def real(default: float, lo: float, hi: float, unit: str, source: str, prior: Prior | None = None) -> Any:
    """A real number in [lo, hi] that may be negative (a log-odds shift, a centred effect)."""
    return _param(default, lo, hi, f"a number in [{lo:g}, {hi:g}]", unit, source, prior)


def points(default: float, source: str, unit: str = "PHQ-15 points") -> Any:
    """A PHQ-15 score or change, in points on 0–30."""
    return _param(default, 0.0, 30.0, "PHQ-15 points in [0, 30]", unit, source)


def switch(default: bool, source: str) -> Any:
    """On or off."""
    return field(default=default, metadata={"kind": "true or false", "unit": "on/off", "source": source})


def choice(default: str, *allowed: str, source: str) -> Any:
    """One of a fixed set of strings."""
    return field(default=default, metadata={"choices": allowed, "unit": "category", "source": source})


def name(default: str, source: str) -> Any:
    """A name that refers to something else in the config (checked by :func:`validate`)."""
    return field(default=default, metadata={"unit": "name", "source": source})


def shares(default: dict[str, float], source: str, allowed: tuple[str, ...] | None = None) -> Any:
    """Shares over named categories, each in [0, 1], summing to 1."""
    meta = {"shares": allowed, "lo": 0.0, "hi": 1.0, "unit": "share of patients", "source": source}
    return field(default_factory=lambda: dict(default), metadata=meta)


def by_key(default: dict[str, float], allowed: tuple[str, ...], lo: float, hi: float, unit: str, source: str) -> Any:
    """A number in [lo, hi] for some of the named categories (others get 0)."""
    meta = {"keys": allowed, "lo": lo, "hi": hi, "unit": unit, "source": source}
    return field(default_factory=lambda: dict(default), metadata=meta)


# --- the parameter groups ---------------------------------------------------

_J_RUN = "judgement: a run setting, not a property of care"
_J_TRAIT = "judgement: a plausible population mean, open to refit with local data"
_J_ROLE = "judgement: typical of the role in services for functional symptoms"
_J_START = "judgement: a plausible starting point; the first weeks of care move it"
_J_EFFECT = "judgement: sets the size of this effect relative to the others; open to refit"
_J_SHARE = "judgement: a modest share per event, so that no single event dominates"
_J_HAZARD = "judgement: log-hazard of about 1.5 per unit, a strong but not overwhelming effect"
_J_PRESET = "judgement: a middle value; the care-model presets set their own"
_J_C1 = "judgement: tuned by hand to C1 (alliance partly the patient's own)"
_J_C34 = "judgement: tuned by hand to C3 and C4"
_J_C8CD = "judgement: tuned by hand to C8c and C8d (baseline spread of functioning, its link with symptoms)"
_J_FIRST_FIT = "judgement: the first round's fit (partly to C4, no longer a fitting target); kept, not refitted"
_J_RETURN = "judgement: a half-life of 26 weeks for gains that are not renewed (see comment)"
_J_M19 = "judgement: fear-avoidance model (Vlaeyen & Linton 2000); a modest share per week or event"
_J_M15 = "judgement: no arm fitted to usual care offers brief courses; open to refit with service data"
_J_TARIFF = "judgement: abstract currency units; a planner replaces them with local tariffs"

# Priors (issue #15), centred on each default (see Prior): what the probabilistic sensitivity analysis draws.
# A calibrated value is known only as well as the usual-care targets, with their wide bands, pin it down; the
# spreads are judgement until a posterior from the targets replaces them.
_WHY_FIT = "judgement: the bands of the usual-care targets allow about ±30% around the fitted value"
_P_ALLIANCE = Prior("lognormal", 0.3, "alliance", _WHY_FIT)
_P_ALLIANCE_LEVEL = Prior("beta", 0.3, "alliance", _WHY_FIT)
_P_ENGAGE = Prior("lognormal", 0.3, "engagement", _WHY_FIT)
_P_ENGAGE_LOGODDS = Prior("normal", 0.5, "engagement", "judgement: the fit allows about ±0.5 on the log-odds scale")
_P_COURSE = Prior("lognormal", 0.3, "natural course", _WHY_FIT)
_P_SELF_CARE = Prior("lognormal", 0.3, "self-management", _WHY_FIT)
_P_TESTS = Prior("lognormal", 0.3, "tests", _WHY_FIT)
_P_TESTS_SHARE = Prior("beta", 0.3, "tests", "judgement: a first-round fit, kept; about ±30%")
_P_TRAINING = Prior("normal", 0.1, "clinician training", "judgement: validation achieved may miss the preset by ±0.1")
_P_REFERRAL = Prior("normal", 0.03, "care process", "judgement: referral tendency may miss the preset by ±0.03")
_P_SPECIALIST = Prior("normal", 0.75, "care process", "judgement: visits per referral may miss the preset by ±0.75")


@dataclass(frozen=True)
class RunParams:
    """Horizon, replication and randomness of a run."""

    weeks: int = count(104, 5200, "weeks", "judgement: two years, the span of the follow-ups behind C3", lo=1)
    replicates: int = count(10, 1000, "replicates", _J_RUN, lo=1)  # arms share each replicate's seed
    seed: int = count(20261125, 2**63 - 1, "seed", _J_RUN)  # base seed; replicate seeds derive from it
    reference_arm: str = name("fragmented", "judgement: usual care is what the others are compared with")
    trajectories: bool = switch(False, _J_RUN)  # also write one row per patient x week (large!)
    figures: bool = switch(True, _J_RUN)  # draw the standard figures (turn off for large sweeps: ~1 s a run)
    dyad_slots: int = count(8, 64, "dyads per patient", "judgement: few patients see more than 8 clinicians", lo=2)
    jobs: int = count(0, 1024, "worker processes", _J_RUN)  # 0 = one per core, 1 = serial (same results)


@dataclass(frozen=True)
class PopulationParams:
    """Who the patients are: cohort, case mix, traits and initial state (drawn once per replicate, common to arms)."""

    n_patients: int = count(2000, 10_000_000, "patients", _J_RUN, lo=1)  # at week 0 (closed cohort: all)
    cohort: str = choice("closed", "closed", "open", source=_J_RUN)  # closed: fixed cohort; open: new referrals
    arrivals_per_week: float = nonneg(20.0, 100_000.0, "patients per week", _J_RUN)  # open cohort, Poisson mean
    warmup_weeks: int = count(0, 5200, "weeks", _J_RUN)  # open cohort: weeks dropped from results

    condition_shares: dict[str, float] = shares(
        {
            "ibs": 0.25,
            "fibromyalgia": 0.2,
            "chronic_fatigue": 0.15,
            "fnd": 0.1,
            "chronic_headache": 0.15,
            "chest_pain": 0.15,
        },
        "judgement: a broad referred case mix; labels shift baselines only",
        CONDITIONS,
    )
    # PHQ-15 baseline shift by condition: FND and fibromyalgia present with
    # more somatic symptoms, chest pain with fewer.
    condition_severity_shift: dict[str, float] = by_key(
        {"fibromyalgia": 2.0, "fnd": 1.5, "chronic_fatigue": 1.0, "chest_pain": -1.5},
        CONDITIONS,
        -30.0,
        30.0,
        "PHQ-15 points",
        "judgement: more somatic symptoms in FND and fibromyalgia, fewer in chest pain",
    )
    severity_mean: float = points(13.0, LIT_PHQ15 + ": referred patients at medium severity (10–14)")
    severity_sd: float = positive(4.0, 15.0, "PHQ-15 points", LIT_PHQ15 + ": spread of referred samples")
    severity_min_points: float = points(2.0, "judgement: a referred patient reports at least some symptoms")
    attachment_security_mean: float = level(0.6, _J_TRAIT)  # secure attachment eases bond
    stress_reactivity_mean: float = level(0.45, _J_TRAIT)  # early adversity -> flare proneness
    catastrophising_mean: float = level(0.45, _J_TRAIT)  # illness beliefs / catastrophising
    health_literacy_mean: float = level(0.6, _J_TRAIT)  # scales what explanations achieve
    stigma_mean: float = level(0.3, _J_TRAIT)  # history of feeling dismissed at entry
    trait_concentration: float = positive(5.0, 1000.0, "Beta concentration", _J_C1)
    cultural_group_shares: dict[str, float] = shares({"majority": 0.8, "minority": 0.2}, _J_TRAIT)
    help_seeking_delay_mean_weeks: float = nonneg(8.0, 520.0, "weeks", _J_TRAIT)  # before first presenting
    share_physio_pathway: float = prob(0.4, _J_TRAIT, "share of patients")  # therapy step led by physio

    # Initial psychological state: level + effects of traits and severity + individual noise,
    # clipped to [initial_state_min, initial_state_max]. Severity enters as
    # (baseline - severity_reference_points) / severity_scale_points.
    severity_reference_points: float = points(13.0, "judgement: the referred mean (see severity_mean)")
    severity_scale_points: float = positive(8.0, 30.0, "PHQ-15 points per unit", "judgement: two baseline SDs")
    initial_state_sd: float = nonneg(0.1, 1.0, "level on [0, 1]", _J_START)  # individual noise of the states
    initial_state_min: float = level(0.05, "judgement: nobody starts at an extreme")
    initial_state_max: float = level(0.95, "judgement: nobody starts at an extreme")
    initial_trust: float = level(0.55, _J_START)  # trust in clinicians at zero stigma
    initial_trust_stigma: float = nonneg(0.3, 1.0, "level per unit stigma", _J_START)
    initial_self_efficacy: float = level(0.5, _J_START)
    initial_self_efficacy_catastrophising: float = nonneg(0.2, 1.0, "level per unit catastrophising", _J_START)
    initial_self_efficacy_severity: float = nonneg(0.1, 1.0, "level per unit severity", _J_START)
    initial_expectation: float = level(0.5, _J_START)  # outcome expectation at zero stigma
    initial_expectation_stigma: float = nonneg(0.15, 1.0, "level per unit stigma", _J_START)
    initial_distress: float = level(0.3, _J_START)
    initial_distress_catastrophising: float = nonneg(0.3, 1.0, "level per unit catastrophising", _J_START)
    initial_distress_severity: float = nonneg(0.15, 1.0, "level per unit severity", _J_START)
    initial_uncertainty: float = level(0.45, _J_START)
    initial_uncertainty_catastrophising: float = nonneg(0.3, 1.0, "level per unit catastrophising", _J_START)
    initial_activity: float = level(0.65, _J_START)  # activity at zero symptoms
    initial_activity_severity: float = nonneg(0.6, 1.0, "level per share of the PHQ-15 maximum", _J_START)
    initial_activity_sd: float = nonneg(0.08, 1.0, "level on [0, 1]", _J_START)
    initial_adherence: float = level(
        0.0, "judgement: no self-management before presenting, with no plan", "share per week"
    )
    initial_pacing: float = level(0.1, "judgement: little pacing skill before any advice")
    # M19 avoidance at entry: fear of symptoms (catastrophising) and severity drive it (Vlaeyen & Linton 2000).
    initial_avoidance: float = level(0.2, _J_START)  # at zero catastrophising, referred mean severity
    initial_avoidance_catastrophising: float = nonneg(0.5, 1.0, "level per unit catastrophising", _J_START)
    initial_avoidance_severity: float = nonneg(0.15, 1.0, "level per unit severity", _J_START)
    # M19: the part of functioning set by what the model leaves out (other illnesses, physical
    # conditioning, the demands of work and home): a constant per patient, normal with mean 0, on the
    # log-odds scale of functioning. Without it functioning would be a near-copy of symptoms at
    # baseline (r = -0.84, WSAS SD 4).
    function_offset_sd: float = nonneg(0.8, 5.0, "log-odds of functioning", _J_C8CD)


@dataclass(frozen=True)
class ClinicianGroupParams:
    """Clinicians of one role: how many, how much time, and their traits (means)."""

    per_1000_patients: float = nonneg(5.0, 1000.0, "clinicians per 1,000 patients", _J_ROLE)  # at least 1 if > 0;
    # an open cohort is served at its mean size over the run
    capacity_per_week: int = count(15, 1000, "slots per clinician per week", _J_ROLE)
    warmth: float = level(0.6, _J_ROLE)  # empathy / warmth (M1)
    validation: float = level(0.6, _J_ROLE)  # propensity to validate rather than dismiss (M2)
    clarity: float = level(0.55, _J_ROLE)  # explanation clarity, plain language (M3)
    cultural_humility: float = level(0.4, _J_ROLE)  # compensates cultural mismatch (M4)
    biopsychosocial: float = level(0.5, _J_ROLE)  # explanatory stance: 0 biomedical only .. 1 biopsychosocial
    reflective_practice: float = level(0.5, _J_ROLE)  # speed of learning from feedback (M16)
    pacing_advice: float = level(0.5, _J_ROLE)  # skill at pacing / graded-activity advice (M10)
    repair_skill: float = level(0.5, _J_ROLE)  # skill at repairing ruptures (M12)


def _group(**kw: float) -> Any:
    return field(
        default_factory=lambda: ClinicianGroupParams(**kw),
        metadata={"unit": "clinician group", "source": _J_ROLE},
    )


@dataclass(frozen=True)
class WorkforceParams:
    """The team: one group per role. Traits are Beta-distributed around the means."""

    gp: ClinicianGroupParams = _group(per_1000_patients=12, capacity_per_week=15, validation=0.7, clarity=0.5)
    specialist: ClinicianGroupParams = _group(
        per_1000_patients=8,
        capacity_per_week=25,
        warmth=0.5,
        validation=0.55,
        biopsychosocial=0.25,
        pacing_advice=0.3,
    )
    psychologist: ClinicianGroupParams = _group(
        per_1000_patients=4,
        capacity_per_week=20,
        warmth=0.75,
        validation=0.8,
        clarity=0.65,
        biopsychosocial=0.9,
        reflective_practice=0.7,
        repair_skill=0.7,
    )
    physiotherapist: ClinicianGroupParams = _group(
        per_1000_patients=4,
        capacity_per_week=20,
        warmth=0.7,
        validation=0.7,
        clarity=0.6,
        biopsychosocial=0.7,
        pacing_advice=0.8,
    )
    coordinator: ClinicianGroupParams = _group(
        per_1000_patients=2,
        capacity_per_week=30,
        warmth=0.7,
        validation=0.75,
        clarity=0.6,
        biopsychosocial=0.8,
        reflective_practice=0.6,
    )
    trait_concentration: float = positive(6.0, 1000.0, "Beta concentration", _J_C1)  # of clinician traits
    team_size: int = count(6, 1000, "clinicians of a role per team", _J_ROLE, lo=1)  # whoever is free comes
    # from the patient's own team, so continuity does not fall as a service grows
    cultural_group_shares: dict[str, float] = shares({"majority": 0.9, "minority": 0.1}, _J_ROLE)

    def group(self, role: str) -> ClinicianGroupParams:
        """The parameters of one role, by name (see ``ROLES``)."""
        return getattr(self, role)


@dataclass(frozen=True)
class ServiceParams:
    """A care model (M15, M17, M18 service side): every difference between arms lives here.

    Coordinated and fragmented care are two points in this space, not branches
    in the code; any mix between them is a valid service. The presets in
    ``conf/care_model/`` set their own values (docs/calibration.md says how).
    """

    continuity: float = prob(0.5, _J_PRESET, "share of visits")  # visits with the named lead clinician of the role
    message_coherence: float = prob(0.5, _J_PRESET)  # chance a new clinician's explanation fits the plan
    alliance_transfer: float = prob(0.2, _J_PRESET, "share of alliance")  # lead alliance a new member inherits
    followup_interval_weeks: float = positive(6.0, 104.0, "weeks", _J_PRESET)  # scheduled GP review interval
    therapy_interval_weeks: float = positive(2.0, 104.0, "weeks", _J_PRESET)  # at therapy / MDT steps
    followup_reliability: float = prob(0.6, _J_PRESET)  # chance a scheduled follow-up is booked and kept
    p_referral_per_visit: float = prob(
        0.1, _J_PRESET, prior=_P_REFERRAL
    )  # specialist referral tendency per GP encounter
    p_investigation_per_visit: float = prob(0.15, _J_PRESET)  # test-ordering tendency per medical encounter
    p_results_explained: float = prob(0.4, _J_PRESET)  # a normal result comes with an explanation (M14)
    p_referral_lost: float = prob(0.1, _J_PRESET)  # navigation barrier: referral lost in the system
    referral_delay_weeks: float = nonneg(6.0, 104.0, "weeks", _J_PRESET)  # mean wait for a first specialist visit
    specialist_visits_per_episode: float = positive(
        3.0, 52.0, "visits", _J_PRESET, prior=_P_SPECIALIST
    )  # mean per referral
    specialist_interval_weeks: float = positive(3.0, 52.0, "weeks", _J_PRESET)  # between specialist visits
    case_review_interval_weeks: int = count(0, 104, "weeks", _J_PRESET)  # joint case review every N weeks; 0 = none
    # M15 content: once per patient, a GP encounter may offer a brief course with a psychologist (or a
    # physiotherapist on the physio pathway); 0 = never. The coordinated preset says where its value comes from.
    p_psychosocial_offer_per_visit: float = prob(0.0, _J_PRESET)
    therapy_course_sessions: float = positive(
        6.0,
        52.0,
        "sessions",
        "literature: brief CBT for MUS runs 6-12 sessions (Kroenke 2007, Psychosom Med 69:881); "
        "Physio4FMD 5 sessions (Nielsen et al. 2017, JNNP 88:484)",
    )  # mean sessions in a brief course (at least one)
    coordinator_contact_interval_weeks: int = count(0, 104, "weeks", _J_PRESET)  # coordinator check-in; 0 = none
    # ... for the first this-many weeks of care (0 = as long as care lasts): care management is a programme.
    coordination_weeks: int = count(
        52,
        520,
        "weeks",
        "literature: care management for up to 12 months in IMPACT (Unützer et al. 2002, JAMA 288:2836)",
    )
    # M17 content: a stepped-up level (therapy, then the multidisciplinary team) is a course of this many
    # follow-up contacts, after which the patient returns to GP-led care; 0 = open-ended.
    step_course_contacts: int = count(
        12,
        104,
        "contacts",
        "literature: a course, not open-ended care: 12 sessions in PISO (Sattel et al. 2012, "
        "Br J Psychiatry 200:60); brief CBT for MUS 6-12 (Kroenke 2007, Psychosom Med 69:881)",
    )
    pacing_guidance: bool = switch(True, _J_PRESET)  # clinicians give pacing advice in encounters (M10)
    feedback: bool = switch(False, _J_PRESET)  # routine outcome monitoring + supervision (M16)
    stepping: bool = switch(False, _J_PRESET)  # outcome-based stepping up (M17)
    training_warmth: float = real(0.0, -1.0, 1.0, "level on [0, 1]", _J_PRESET)  # shift of every clinician's warmth
    training_validation: float = real(
        0.0, -1.0, 1.0, "level on [0, 1]", _J_PRESET, prior=_P_TRAINING
    )  # ... of validation propensity
    training_clarity: float = real(0.0, -1.0, 1.0, "level on [0, 1]", _J_PRESET)  # ... of explanation clarity
    training_humility: float = real(0.0, -1.0, 1.0, "level on [0, 1]", _J_PRESET)  # ... of cultural humility
    campaign_delay_reduction: float = prob(0.0, _J_PRESET, "share")  # anti-stigma campaign: cut in help-seeking delay
    campaign_stigma_reduction: float = prob(0.0, _J_PRESET, "share")  # ... and in felt stigma at entry
    review_interval_weeks: int = count(12, 104, "weeks", _J_PRESET, lo=1)  # outcome review (step up / down / discharge)
    # Reported improvement below this at a review -> step up.
    step_up_threshold_points: float = points(3.0, LIT_PHQ15 + ": 3 points is a meaningful change")
    # ... and only if the reported PHQ-15 is still at least this: mild symptoms stay at the step they are at.
    step_up_min_points: float = points(10.0, LIT_PHQ15 + ": the medium-severity cut-point 10")
    # Reported PHQ-15 at or below this at a review -> step down / discharge.
    discharge_below_points: float = points(6.0, LIT_PHQ15 + ": just above the low-severity cut-point 5")


@dataclass(frozen=True)
class MechanismParams:
    """Coefficients of the patient, dyad and clinician mechanisms M1–M19.

    Setting an effect coefficient to 0 switches that pathway off, which is how
    the unit tests isolate each mechanism's direction of effect.
    """

    # M1 encounter builds bond
    bond_initial: float = level(
        0.608, CALIBRATED, prior=_P_ALLIANCE_LEVEL
    )  # bond at a first encounter with no transfer (C6a)
    # First-encounter bond per unit of attachment security, and of trust, above 0.5.
    attachment_bond: float = nonneg(4.28, 10.0, "bond per unit attachment", CALIBRATED, prior=_P_ALLIANCE)  # C6b
    trust_bond: float = nonneg(1.5, 5.0, "bond per unit trust", "judgement: set with bond_initial for C6 (2nd round)")
    # The gains below multiply warmth, clarity, literacy and reach, and the product is capped at the whole gap,
    # so values above 1 are meaningful (a stronger effect that saturates sooner).
    bond_gain: float = nonneg(0.2, 5.0, "share of the gap per encounter", _J_SHARE)  # closed per warm encounter
    bond_gain_attachment_floor: float = nonneg(
        0.5, 2.0, "multiplier", "judgement: insecure attachment halves the gain of secure attachment (0.5 vs 1.5)"
    )  # bond gain x (floor + attachment security)
    early_rapport_boost: float = nonneg(1.5, 10.0, "multiplier", _J_EFFECT)  # extra gain at the first encounters
    early_rapport_weeks: float = positive(3.0, 52.0, "encounters", _J_EFFECT)  # over which the early boost fades
    # Agreement on goals and tasks before any explanation or plan.
    goals_initial: float = level(0.5, "judgement: outpatients' first WAI-SR goal items sit mid-scale (C6)")
    tasks_initial: float = level(0.45, "judgement: a little below goals: no plan yet (C6)")

    # M2 validation versus dismissal
    validation_stance_logodds: float = nonneg(1.5, 10.0, "log-odds per unit stance", _J_HAZARD)  # biopsychosocial
    validation_stigma_logodds: float = nonneg(1.0, 10.0, "log-odds per unit stigma", _J_EFFECT)  # lost above ref.
    # Felt stigma at which the validation odds are neither raised nor lowered.
    stigma_reference: float = level(0.3, "judgement: the mean felt stigma at entry (population.stigma_mean)")
    validated_distress_drop: float = prob(0.12, _J_SHARE, "share of distress")  # relieved by validation
    validated_trust_gain: float = prob(0.12, _J_SHARE, "share of the trust gap")  # closed by validation
    dismissed_distress_rise: float = prob(0.15, _J_SHARE, "share of the distress gap")  # added by dismissal
    dismissed_trust_drop: float = prob(0.12, _J_SHARE, "share of trust")  # lost by dismissal
    dismissed_bond_drop: float = prob(0.1, _J_SHARE, "share of bond")  # lost by dismissal
    dismissed_stigma_rise: float = prob(0.15, _J_SHARE, "share of the stigma gap")  # added by dismissal

    # M3 explanation and shared goals
    goals_gain: float = nonneg(0.3, 5.0, "share of the gap per explanation", _J_SHARE)  # goals gap closed
    tasks_gain: float = nonneg(0.25, 5.0, "share of the gap per explanation", _J_SHARE)  # tasks gap closed
    uncertainty_drop: float = nonneg(0.12, 5.0, "share per explanation", _J_SHARE)  # uncertainty removed
    literacy_floor: float = level(0.4, _J_EFFECT, "multiplier")  # explanation effect at zero health literacy
    # Each week uncertainty moves this share of the way back to the patient's own level before care, so an
    # explanation holds only while it is renewed: 1 - 2^(-1/26), a half-life of 26 weeks (0 = understanding
    # once gained is kept). Lucock et al. 1997 (BMJ 315:572): worry fell after reassurance and, in health-anxious
    # patients, came back within a week and stayed; in others it held for a year. Six months is between.
    uncertainty_return_per_week: float = prob(0.0263, _J_RETURN, "share of the gap to the own level per week")

    # M4 cultural humility
    mismatch_penalty: float = level(0.4, _J_EFFECT, "share of effect")  # M1–M3 lost across cultures, no humility

    # M5 trust (validation and dismissal effects are under M2)
    kept_followup_trust_gain: float = prob(0.04, _J_SHARE, "share of the trust gap")  # appointment kept as promised
    missed_followup_trust_drop: float = prob(0.03, _J_SHARE, "share of trust")  # missed, cancelled or slipped
    contradiction_trust_drop: float = prob(0.08, _J_SHARE, "share of trust")  # contradictory explanation
    contradiction_uncertainty_rise: float = prob(0.2, _J_SHARE, "share of the uncertainty gap")  # added
    normal_result_trust_drop: float = prob(
        0.0217, _J_FIRST_FIT, "share of trust", prior=_P_TESTS_SHARE
    )  # unexplained normal test result
    lost_referral_trust_drop: float = prob(0.1, _J_SHARE, "share of trust")  # navigation barrier hit

    # M6 honest reporting
    amplify_points: float = points(4.0, _J_EFFECT)  # over-report to be believed at full stigma, no safety
    underreport_share: float = level(0.6, _J_EFFECT, "share of fluctuation")  # hidden with no safety

    # M7 adherence
    adherence_intercept: float = real(
        -3.47, -10.0, 10.0, "log-odds", CALIBRATED, prior=_P_ENGAGE_LOGODDS
    )  # with nothing going for it
    adherence_tasks: float = nonneg(1.5, 10.0, "log-odds per unit", _J_C34)
    adherence_bond: float = nonneg(
        2.28, 10.0, "log-odds per unit", CALIBRATED, prior=_P_ENGAGE
    )  # bond with the current clinician
    adherence_trust: float = nonneg(0.5, 10.0, "log-odds per unit", _J_C34)
    adherence_self_efficacy: float = nonneg(1.3, 10.0, "log-odds per unit", _J_EFFECT)
    adherence_expectation: float = nonneg(1.0, 10.0, "log-odds per unit", _J_EFFECT)
    adherence_distress: float = nonneg(1.0, 10.0, "log-odds per unit", _J_EFFECT)
    adherence_uncertainty: float = nonneg(1.0, 10.0, "log-odds per unit", _J_EFFECT)
    adherence_rate: float = prob(0.25, _J_SHARE, "share of the gap per week")  # to target adherence

    # M8 bounded recovery: latent severity relaxes toward a set point between the patient's floor and 30
    # (log-odds of the share of that room); self-management pulls it toward the floor, contact a little.
    symptom_floor_share: float = level(0.25, _J_EFFECT, "share of baseline severity")  # floor no care removes
    setpoint_share: float = nonneg(
        1.05, 3.0, "share of (baseline - floor)", CALIBRATED, prior=_P_COURSE
    )  # at reference drivers;
    # 1 = no natural change, below 1 natural improvement (C3). Allowed up to 3 so that its prior (log-normal, SD
    # 0.3 around the fitted 1.05) lies inside; above about 2 most set points sit at the top of their room anyway.
    setpoint_distress: float = nonneg(0.955, 10.0, "log-odds per unit distress", CALIBRATED, prior=_P_COURSE)
    setpoint_catastrophising: float = nonneg(
        2.05, 10.0, "log-odds per unit catastrophising", CALIBRATED, prior=_P_COURSE
    )
    setpoint_avoidance: float = nonneg(0.5, 10.0, "log-odds per unit avoidance", _J_M19)
    setpoint_stress_reactivity: float = nonneg(
        3.02, 10.0, "log-odds per unit stress reactivity", CALIBRATED, prior=_P_COURSE
    )
    distress_reference: float = level(0.45, "judgement: about the cohort's mean distress at entry")
    catastrophising_reference: float = level(0.45, "judgement: the population mean (catastrophising_mean)")
    avoidance_reference: float = level(0.45, "judgement: about the cohort's mean avoidance at entry")
    stress_reactivity_reference: float = level(0.45, "judgement: the population mean (stress_reactivity_mean)")
    setpoint_rate: float = prob(0.0491, CALIBRATED, "share of the gap per week", prior=_P_COURSE)  # to the set point
    recovery_per_week: float = prob(
        0.0738, CALIBRATED, "share of (S - floor) per week", prior=_P_SELF_CARE
    )  # at full adherence
    contact_recovery_per_week: float = prob(0.002, _J_EFFECT, "share of (S - floor) per week")  # contact alone

    # M19 fear-avoidance (avoidance in [0, 1]) and functioning (F, 0–100)
    avoidance_fear_per_week: float = prob(0.04, _J_M19, "share of the room to 1 per week")  # x catastr. x uncert.
    avoidance_exposure_per_week: float = prob(0.06, _J_M19, "share of avoidance per week")  # x adherence x pacing
    validated_avoidance_drop: float = prob(
        0.05, "judgement: the article: psychological safety 'reduces avoidance behaviors'", "share of avoidance"
    )  # per validating encounter
    dismissed_avoidance_rise: float = prob(0.05, _J_M19, "share of the room to 1")  # per dismissal
    explanation_avoidance_drop: float = prob(0.05, _J_M19, "share of avoidance")  # at full clarity x literacy
    flare_avoidance_rise: float = prob(0.1, _J_M19, "share of the room to 1")  # per flare
    # Each week avoidance moves this share of the way back to the patient's own level before care: the return of
    # fear after exposure unless practice continues (Rachman 1989; Vervliet, Craske & Hermans 2013): 1 - 2^(-1/26),
    # a half-life of 26 weeks (0 = what exposure removed stays removed).
    avoidance_return_per_week: float = prob(0.0263, _J_RETURN, "share of the gap to the own level per week")
    function_per_symptom_point: float = nonneg(
        0.672, 10.0, "F points per PHQ-15 point", CALIBRATED, prior=_P_SELF_CARE
    )  # latent
    function_activity: float = nonneg(30.0, 100.0, "F points", _J_EFFECT)  # F lost at zero activity
    function_distress: float = nonneg(10.0, 100.0, "F points", _J_EFFECT)  # F lost at full distress
    function_avoidance: float = nonneg(25.0, 100.0, "F points", _J_M19)  # F lost at full avoidance
    function_self_efficacy: float = nonneg(15.0, 100.0, "F points per unit", _J_EFFECT)  # above 0.5
    function_pacing: float = nonneg(10.0, 100.0, "F points", _J_EFFECT)  # at full pacing skill: steadier days
    function_rate: float = prob(0.1, _J_SHARE, "share of the gap per week")  # to target functioning
    # The functioning the modelled states allow stays this share of the scale from either end, before each
    # patient's own part (log-odds) spreads it: so no one sits at exactly 0 or 100.
    function_scale_margin: float = prob(0.02, "judgement: 2 points of 100, below the scale's resolution", "share")
    # Activity target: base + weight x self-efficacy x (1 - S/30) + weight x adherence - weight x avoidance.
    activity_base: float = level(0.15, "judgement: the first build's activity target")
    activity_self_efficacy: float = nonneg(0.6, 1.0, "activity per unit", "judgement: the first build's value")
    activity_adherence: float = nonneg(0.25, 1.0, "activity per unit", "judgement: the first build's value")
    activity_avoidance: float = nonneg(0.3, 1.0, "activity per unit", _J_M19)

    # M9 fluctuation, flares, relapse
    fluctuation_sd: float = nonneg(
        3.73, 10.0, "PHQ-15 points", CALIBRATED, prior=_P_COURSE
    )  # weekly, at the level below
    fluctuation_level_points: float = positive(
        13.0,
        30.0,
        "PHQ-15 points",
        "judgement: the cohort's mean at entry; SD grows with sqrt(level), as a count's",
    )
    fluctuation_autocorr: float = prob(0.6, _J_EFFECT, "autocorrelation")  # AR(1) of fluctuation
    flare_per_week: float = nonneg(0.04, 5.0, "hazard per week", _J_EFFECT)  # at average reactivity/distress
    flare_stress: float = nonneg(1.5, 10.0, "log-hazard per unit", _J_HAZARD)  # stress reactivity
    flare_distress: float = nonneg(1.5, 10.0, "log-hazard per unit", _J_HAZARD)  # distress
    flare_pacing: float = nonneg(1.0, 10.0, "log-hazard per unit", _J_EFFECT)  # lost per unit pacing skill
    flare_points: float = points(4.0, _J_EFFECT)  # mean symptom jump of a flare
    flare_size_spread: float = level(1.0, "judgement: the first build's spread (size 0.5-1.5 x mean)", "share of mean")
    flare_half_life_weeks: float = positive(2.0, 52.0, "weeks", _J_EFFECT)
    flare_relapse_points: float = points(1.0, _J_EFFECT)  # lasting worsening of a flare at zero pacing
    flare_self_efficacy_drop: float = prob(0.15, _J_SHARE, "share of self-efficacy")  # at zero tolerance
    flare_expectation_drop: float = prob(0.15, _J_SHARE, "share of expectation")
    flare_distress_rise: float = prob(0.15, _J_SHARE, "share of the distress gap")

    # M10 overexertion (boom–bust)
    activity_rate: float = prob(0.15, _J_SHARE, "share of the gap per week")  # to target activity
    boom_per_week: float = nonneg(0.08, 1.0, "activity per week", _J_EFFECT)  # extra on a good week, no pacing
    safe_activity_step: float = nonneg(0.03, 1.0, "activity per week", _J_EFFECT)  # weekly rise pacing allows
    flare_overexertion: float = nonneg(15.0, 100.0, "log-hazard per unit activity", _J_EFFECT)  # beyond safe step
    pacing_gain: float = prob(0.15, _J_SHARE, "share of the gap per encounter")  # with pacing advice
    bust_activity_drop: float = level(0.3, _J_SHARE, "share of activity")  # dropped in a flare

    # M11 the feedback loop
    progress_scale_points: float = positive(2.0, 30.0, "PHQ-15 points", _J_EFFECT)  # slow - fast gap = full progress
    # Weight of this week in the recent (about 2 weeks) and usual (about 20 weeks) symptom levels (EMAs).
    recent_level_weight: float = prob(0.5, "judgement: the first build's value", "weight")
    usual_level_weight: float = prob(0.05, "judgement: the first build's value", "weight")
    progress_self_efficacy: float = prob(0.05, _J_SHARE, "share per week per unit progress")
    progress_expectation: float = prob(0.06, _J_SHARE, "share per week per unit progress")
    distress_rate: float = prob(0.15, _J_SHARE, "share of the gap per week")  # to target distress
    distress_base: float = level(0.15, _J_EFFECT)  # target distress with no symptoms or worries
    distress_symptoms: float = nonneg(0.5, 1.0, "level at PHQ-15 of 30", _J_EFFECT)  # target distress added
    distress_catastrophising: float = nonneg(0.25, 1.0, "level", _J_EFFECT)  # x catastrophising x uncertainty
    distress_self_efficacy: float = nonneg(0.2, 1.0, "level per unit", _J_EFFECT)  # lost per self-efficacy > 0.5

    # M12 ruptures and repair
    p_rupture_base: float = prob(0.03, _J_EFFECT)  # per encounter with nothing straining the alliance
    rupture_dismissal: float = nonneg(0.25, 1.0, "probability", _J_EFFECT)  # added after a dismissal
    rupture_flare: float = nonneg(0.08, 1.0, "probability", _J_EFFECT)  # added in a flare
    rupture_stall: float = nonneg(0.06, 1.0, "probability", _J_EFFECT)  # added with no perceived progress
    rupture_contradiction: float = nonneg(0.1, 1.0, "probability", _J_EFFECT)  # added after a contradiction
    rupture_bond_drop: float = level(0.2, _J_SHARE, "share of bond")  # lost when a rupture opens
    p_repair: float = prob(0.6, _J_EFFECT)  # repair chance per encounter at skill 1 (x skill)
    repair_bond_bonus: float = level(0.3, _J_SHARE, "share of the bond gap")  # closed by a repair
    rupture_unrepaired_weeks: int = count(8, 104, "weeks", _J_EFFECT, lo=1)  # open rupture lapses after this
    unrepaired_bond_drop: float = level(0.3, _J_SHARE, "share of bond")  # lost when a rupture lapses
    case_review_repair: float = prob(0.3, _J_EFFECT)  # repair chance of an open rupture at a case review

    # M13 disengagement and doctor shopping
    dropout_per_week: float = nonneg(
        0.00227, 5.0, "hazard per week", CALIBRATED, prior=_P_ENGAGE
    )  # at reference alliance/trust
    dropout_alliance: float = nonneg(1.5, 10.0, "log-hazard per unit", _J_HAZARD)  # lost per unit alliance
    dropout_trust: float = nonneg(1.5, 10.0, "log-hazard per unit", _J_HAZARD)  # lost per unit trust
    dropout_progress: float = nonneg(1.0, 10.0, "log-hazard per unit", _J_EFFECT)  # lost per unit progress
    dropout_rupture: float = nonneg(1.2, 10.0, "log-hazard", _J_EFFECT)  # added by an open rupture
    dropout_dismissal: float = nonneg(0.8, 10.0, "log-hazard", _J_EFFECT)  # added in the week of a dismissal
    represent_per_week: float = nonneg(0.03, 5.0, "hazard per week", _J_EFFECT)  # disengaged: presenting elsewhere
    represent_distress_floor: float = nonneg(
        0.5, 5.0, "multiplier", "judgement: the calmest shop about half as often as a typical patient"
    )  # hazard x (floor + distress)

    # M14 investigations
    investigation_biomedical: float = nonneg(1.5, 10.0, "log-odds per unit stance", _J_HAZARD)  # biomedical stance
    investigation_uncertainty: float = nonneg(1.0, 10.0, "log-odds per unit", _J_EFFECT)  # patient demand for tests
    repeat_test_uncertainty: float = prob(
        0.0295, _J_FIRST_FIT, "share of the uncertainty gap per prior test", prior=_P_TESTS_SHARE
    )
    # Prior tests that count towards repeat_test_uncertainty.
    repeat_test_cap: int = count(5, 50, "tests", "judgement: beyond five, more tests add no new doubt")
    reassurance_distress_drop: float = prob(0.05, _J_SHARE, "share of distress")  # brief relief, explained result

    # M13/M18 patient-initiated demand and emergency attendances
    demand_per_week: float = nonneg(0.04, 5.0, "hazard per week", _J_EFFECT)  # on-demand GP contact, reference
    demand_distress: float = nonneg(2.0, 10.0, "log-hazard per unit", _J_EFFECT)
    demand_flare: float = nonneg(1.5, 10.0, "log-hazard", _J_HAZARD)  # in a flare
    emergency_per_week: float = nonneg(0.0186, 5.0, "hazard per week", CALIBRATED, prior=_P_TESTS)  # reference patient
    emergency_flare: float = nonneg(1.5, 10.0, "log-hazard", _J_HAZARD)  # in a flare
    emergency_distress: float = nonneg(1.5, 10.0, "log-hazard per unit", _J_HAZARD)
    emergency_uncertainty: float = nonneg(1.5, 10.0, "log-hazard per unit", _J_HAZARD)
    emergency_outside_care: float = nonneg(1.5, 20.0, "hazard multiplier", _J_EFFECT)  # when not in care
    p_emergency_investigation: float = prob(0.5, _J_EFFECT)  # emergency visit orders a test (unexplained)
    referral_severity: float = nonneg(0.3, 5.0, "log-odds per PHQ-15 point", _J_EFFECT)  # above the reference
    referral_reference_points: float = points(
        12.0, "judgement: just below the referred mean and the high cut-point 15"
    )  # reported PHQ-15 at which referral odds are the service's tendency
    referral_uncertainty: float = nonneg(1.0, 10.0, "log-odds per unit", _J_EFFECT)  # per unit uncertainty

    # M15 uptake of a brief course (M3, M5: "as trust grows, patients become more receptive to psychosocial
    # approaches"): log-odds at trust and clearest explanation 0.5, and per unit of each above 0.5.
    uptake_logodds: float = real(0.0, -10.0, 10.0, "log-odds", _J_M15)
    uptake_trust: float = nonneg(2.0, 10.0, "log-odds per unit trust", _J_M15)
    uptake_explanation: float = nonneg(2.0, 10.0, "log-odds per unit explanation", _J_M15)

    # M16 clinician reflection and feedback
    learning_per_week: float = nonneg(0.02, 1.0, "share of the skill gap per week", _J_SHARE)  # at reflective 1
    feedback_repair_boost: float = nonneg(0.5, 10.0, "relative rise", _J_EFFECT)  # in repair chance with feedback
    feedback_validation_logodds: float = nonneg(0.4, 10.0, "log-odds", _J_EFFECT)  # for off-track patients
    reflection_humility: float = nonneg(
        0.5, 5.0, "share of the learning rate", "judgement: the article: reflection helps 'notice hidden biases'"
    )  # cultural-humility learning

    # M18 capacity and waiting
    waiting_trust_drop: float = prob(0.02, _J_SHARE, "share of trust per week")  # waiting for a first visit


@dataclass(frozen=True)
class CostParams:
    """Unit costs per event type and staff costs per whole-time equivalent, in one named currency.

    The defaults are abstract units; ``conf/costs/`` holds presets with
    published figures (``costs=uk_pssru``).
    """

    currency: str = name("currency units", "judgement: abstract units until a planner names a currency")

    visit: dict[str, float] = by_key(
        {"gp": 40.0, "specialist": 150.0, "psychologist": 90.0, "physiotherapist": 60.0, "coordinator": 35.0},
        ROLES,
        0.0,
        1e6,
        "currency units per visit",
        _J_TARIFF,
    )
    investigation: float = nonneg(120.0, 1e6, "currency units", _J_TARIFF)
    emergency: float = nonneg(250.0, 1e6, "currency units", _J_TARIFF)
    referral: float = nonneg(20.0, 1e6, "currency units", _J_TARIFF)  # administration of one referral
    case_review: float = nonneg(15.0, 1e6, "currency units", _J_TARIFF)  # share of a team meeting, per patient
    # What one whole-time equivalent of each role costs the service in a year (salary, on-costs, overheads);
    # used only with a service description (``service=...``), which says how many FTE there are.
    staff_per_fte_year: dict[str, float] = by_key(
        {
            "gp": 120_000.0,
            "specialist": 150_000.0,
            "psychologist": 80_000.0,
            "physiotherapist": 60_000.0,
            "coordinator": 45_000.0,
        },
        ROLES,
        0.0,
        1e8,
        "currency units per FTE-year",
        _J_TARIFF,
    )


_J_LOCAL = "judgement: a planner's description of their own service (the example clinic's value)"


@dataclass(frozen=True)
class StaffParams:
    """One role in a service description: how many people, how much of their week, how long an appointment.

    ``sim.core.service.workforce_for`` turns these into the engine's clinicians
    per 1,000 patients and slots per clinician per week.
    """

    head_count: int = count(0, 100_000, "people", _J_LOCAL)  # clinicians in the role; 0 (and fte 0) = nobody
    fte: float = nonneg(0.0, 100_000.0, "whole-time equivalents", _J_LOCAL)  # 0 = head_count, all full time
    # Clinical sessions each whole-time equivalent gives this patient group in a week (a full-time week is
    # ``LocalServiceParams.sessions_per_fte_week``).
    sessions_per_week: float = nonneg(9.0, 20.0, "sessions per FTE per week", _J_LOCAL)
    appointment_minutes: float = positive(30.0, 600.0, "minutes", _J_LOCAL)  # one slot, notes included
    # Coordinators: patients one whole-time equivalent can hold; their slots are then caseload / contact
    # interval (the arms' ``coordinator_contact_interval_weeks``). 0 = slots from sessions, as other roles.
    caseload_per_fte: int = count(0, 100_000, "patients per FTE", _J_LOCAL)


def _staff() -> Any:
    return field(default_factory=StaffParams, metadata={"unit": "staff of one role", "source": _J_LOCAL})


@dataclass(frozen=True)
class TeamParams:
    """The staff of a described service, one entry per role (a role left out has nobody)."""

    gp: StaffParams = _staff()
    specialist: StaffParams = _staff()
    psychologist: StaffParams = _staff()
    physiotherapist: StaffParams = _staff()
    coordinator: StaffParams = _staff()

    def role(self, role: str) -> StaffParams:
        """The staff of one role, by name (see ``ROLES``)."""
        return getattr(self, role)


@dataclass(frozen=True)
class LocalServiceParams:
    """A planner's own service (``conf/service/<name>.yaml``): its staff, in head counts or FTE.

    Population size and case mix, unit costs and the currency are set by the
    same file in ``population`` and ``costs``; ``targets`` holds local figures
    to calibrate to, in the format of ``conf/targets``.
    """

    name: str = name("", _J_LOCAL)  # shown in the report
    session_minutes: float = positive(
        250.0, 720.0, "minutes", "literature: BMA model contract for salaried GPs: a session is 4 hours 10 minutes"
    )
    sessions_per_fte_week: float = positive(
        9.0,
        20.0,
        "sessions per week",
        "literature: BMA model salaried GP contract, 9 sessions a week; 37.5 hours, the NHS Agenda for Change week",
    )
    staff: TeamParams = field(default_factory=TeamParams, metadata={"unit": "staff by role", "source": _J_LOCAL})
    targets: list = field(
        default_factory=list, metadata={"unit": "targets", "source": "judgement: the planner's own figures"}
    )


def dataclass_of(hint: Any) -> type | None:
    """The parameter dataclass a field holds, for ``X`` and ``X | None`` hints (None for any other)."""
    if dataclasses.is_dataclass(hint):
        return hint
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if len(args) == 1 and dataclasses.is_dataclass(args[0]) and type(None) in typing.get_args(hint):
        return args[0]
    return None


@dataclass(frozen=True)
class Config:
    """Everything one experiment needs: the run, the people, and the arms compared."""

    experiment: str = "compare_care_models"
    run: RunParams = field(default_factory=RunParams)
    population: PopulationParams = field(default_factory=PopulationParams)
    workforce: WorkforceParams = field(default_factory=WorkforceParams)
    mechanisms: MechanismParams = field(default_factory=MechanismParams)
    costs: CostParams = field(default_factory=CostParams)
    arms: dict[str, ServiceParams] = field(default_factory=dict)
    service: LocalServiceParams | None = None  # a described local service (``service=<name>``); None: the ratios


# --- validation --------------------------------------------------------------


def _fail(path: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"config error: {path} = {value!r} is not allowed; expected {allowed}")


def _check_number(path: str, value: Any, meta: dict[str, Any], annotation: Any) -> None:
    want_int = annotation in (int, "int")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(path, value, meta["kind"])
    if want_int and not isinstance(value, int):
        _fail(path, value, meta["kind"])
    if not math.isfinite(value):
        _fail(path, value, meta["kind"])
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        _fail(path, value, meta["kind"])


def _check_mapping(path: str, value: Any, meta: dict[str, Any]) -> None:
    if not isinstance(value, dict):
        _fail(path, value, "a mapping of names to numbers")
    allowed = meta.get("shares") or meta.get("keys")
    for key, v in value.items():
        if allowed is not None and key not in allowed:
            _fail(f"{path}.{key}", v, f"a key among {', '.join(allowed)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            _fail(f"{path}.{key}", v, "a finite number")
        if "shares" in meta and not 0.0 <= v <= 1.0:
            _fail(f"{path}.{key}", v, "a share in [0, 1]")
        if "keys" in meta and not meta["lo"] <= v <= meta["hi"]:
            _fail(f"{path}.{key}", v, f"a number in [{meta['lo']:g}, {meta['hi']:g}]")
    if "shares" in meta:
        if not value:
            _fail(path, value, "at least one category")
        if abs(sum(value.values()) - 1.0) > 1e-6:
            _fail(path, value, "shares summing to 1")


def validate(obj: Any, path: str = "") -> None:
    """Check every field of a parameter dataclass tree against its declared range.

    Args:
        obj: A parameter dataclass (``Config`` or any group in it).
        path: Dotted prefix naming ``obj`` in error messages.

    Raises:
        ConfigError: naming the key, the bad value and what is allowed.
    """
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{path}.{f.name}" if path else f.name
        meta = dict(f.metadata)
        if dataclasses.is_dataclass(value):
            validate(value, key)
        elif f.name == "arms":
            if not value:
                _fail(key, value, "at least one arm (a care model)")
            for arm, service in value.items():
                validate(service, f"{key}.{arm}")
        elif "choices" in meta:
            if value not in meta["choices"]:
                _fail(key, value, f"one of {', '.join(meta['choices'])}")
        elif "shares" in meta or "keys" in meta:
            _check_mapping(key, value, meta)
        elif "lo" in meta:
            _check_number(key, value, meta, f.type)
        elif f.type in (bool, "bool") and not isinstance(value, bool):
            _fail(key, value, "true or false")
    if isinstance(obj, Config):
        if obj.population.warmup_weeks >= obj.run.weeks:
            _fail(
                "population.warmup_weeks",
                obj.population.warmup_weeks,
                f"fewer weeks than run.weeks ({obj.run.weeks})",
            )
        if obj.run.reference_arm not in obj.arms:
            _fail("run.reference_arm", obj.run.reference_arm, f"one of the arms present: {', '.join(obj.arms)}")
        _check_reported_patients(obj)


def _check_reported_patients(config: Config) -> None:
    """Refuse an open cohort in which some replicate would report no patient at all.

    After a warm-up an open cohort reports only the patients who arrive from
    week ``warmup_weeks`` on; with no arrivals then (none at all, or a rate so
    low that a replicate draws none) there would be nothing to compare. The
    arrivals are drawn here exactly as the model will draw them, per replicate.
    """
    pop, run = config.population, config.run
    if pop.cohort != "open" or pop.warmup_weeks == 0:
        return  # the starting cohort is reported
    from .state import arrival_weeks  # state.py imports this module
    from .streams import Streams, replicate_seed

    for r in range(run.replicates):
        weeks = arrival_weeks(pop, run, Streams(replicate_seed(run.seed, r)))
        if pop.arrivals_per_week == 0 or not (weeks >= pop.warmup_weeks).any():
            _fail(
                "population.arrivals_per_week",
                pop.arrivals_per_week,
                f"arrivals after the warm-up: an open cohort reports only patients arriving from week "
                f"{pop.warmup_weeks} (population.warmup_weeks) and replicate {r} would have none; raise the "
                "arrivals, lower the warm-up or use population.cohort=closed",
            )


def from_dict(cls: type, data: dict[str, Any] | None, path: str = "") -> Any:
    """Build a parameter dataclass tree from plain mappings, rejecting unknown keys.

    Args:
        cls: The dataclass to build (``Config`` or any group in it).
        data: Field values; missing fields keep their defaults.
        path: Dotted prefix naming ``data`` in error messages.

    Raises:
        ConfigError: for a key the schema does not have.
    """
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else key
            _fail(where, data[key], f"a key of {cls.__name__}: {', '.join(sorted(names))}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        key = f"{path}.{name}" if path else name
        if dataclass_of(hint) is not None and isinstance(value, dict):
            kwargs[name] = from_dict(dataclass_of(hint), value, key)
        elif name == "arms" and cls is Config:
            kwargs[name] = {a: from_dict(ServiceParams, s, f"{key}.{a}") for a, s in value.items()}
        else:
            kwargs[name] = value
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """The plain-mapping form of a parameter dataclass tree (inverse of from_dict)."""
    return dataclasses.asdict(obj)


# --- labels for people: what a report or a terminal shows instead of a field name ---
#
# One entry per parameter a report or a calibration printout names, keyed by the dataclass and the field:
# the label says what the value means in words, the unit comes from the field's declaration above. A
# parameter with no entry here is shown by its words (a test keeps every service parameter in the table).

LABELS: dict[str, str] = {
    # ServiceParams: what differs between care models
    "ServiceParams.continuity": "Visits with the patient's named clinician",
    "ServiceParams.message_coherence": "Chance a new clinician's explanation fits the plan",
    "ServiceParams.alliance_transfer": "Alliance a new team member inherits from the lead",
    "ServiceParams.followup_interval_weeks": "Interval between scheduled GP reviews",
    "ServiceParams.therapy_interval_weeks": "Interval between sessions at therapy or team steps",
    "ServiceParams.followup_reliability": "Chance a scheduled follow-up is booked and kept",
    "ServiceParams.p_referral_per_visit": "Chance a GP visit leads to a specialist referral",
    "ServiceParams.p_investigation_per_visit": "Chance a medical visit orders a test",
    "ServiceParams.p_results_explained": "Chance a normal test result is explained",
    "ServiceParams.p_referral_lost": "Chance a referral is lost in the system",
    "ServiceParams.referral_delay_weeks": "Mean wait for a first specialist visit",
    "ServiceParams.specialist_visits_per_episode": "Specialist visits per referral (mean)",
    "ServiceParams.specialist_interval_weeks": "Interval between specialist visits",
    "ServiceParams.case_review_interval_weeks": "Interval between joint case reviews",
    "ServiceParams.p_psychosocial_offer_per_visit": "Chance a GP visit offers a brief psychological or physio course",
    "ServiceParams.therapy_course_sessions": "Sessions in a brief course (mean)",
    "ServiceParams.coordinator_contact_interval_weeks": "Interval between care-coordinator check-ins",
    "ServiceParams.step_course_contacts": "Contacts in a stepped-up course (therapy or team)",
    "ServiceParams.coordination_weeks": "Length of the care-coordination programme",
    "ServiceParams.step_up_min_points": "Symptom score below which nobody is stepped up",
    "ServiceParams.pacing_guidance": "Clinicians give pacing advice",
    "ServiceParams.feedback": "Routine outcome monitoring with supervision",
    "ServiceParams.stepping": "Stepping care up or down on outcomes",
    "ServiceParams.training_warmth": "Training: change in clinicians' warmth",
    "ServiceParams.training_validation": "Training: change in clinicians' validation of symptoms",
    "ServiceParams.training_clarity": "Training: change in clarity of explanations",
    "ServiceParams.training_humility": "Training: change in cultural humility",
    "ServiceParams.campaign_delay_reduction": "Anti-stigma campaign: cut in delay before seeking help",
    "ServiceParams.campaign_stigma_reduction": "Anti-stigma campaign: cut in felt stigma at entry",
    "ServiceParams.review_interval_weeks": "Interval between outcome reviews",
    "ServiceParams.step_up_threshold_points": "Improvement below which care steps up",
    "ServiceParams.discharge_below_points": "Symptom score at or below which care steps down",
    # ClinicianGroupParams: one role's staff
    "ClinicianGroupParams.per_1000_patients": "Clinicians per 1,000 patients",
    "ClinicianGroupParams.capacity_per_week": "Appointment slots per clinician per week",
    "ClinicianGroupParams.warmth": "Warmth and empathy",
    "ClinicianGroupParams.validation": "Validation of symptoms rather than dismissal",
    "ClinicianGroupParams.clarity": "Clarity of explanations",
    "ClinicianGroupParams.cultural_humility": "Cultural humility",
    "ClinicianGroupParams.biopsychosocial": "Biopsychosocial stance",
    "ClinicianGroupParams.reflective_practice": "Reflective practice",
    "ClinicianGroupParams.pacing_advice": "Skill at pacing advice",
    "ClinicianGroupParams.repair_skill": "Skill at repairing ruptures",
    # CostParams
    "CostParams.visit": "Cost of a visit",
    "CostParams.investigation": "Cost of a test",
    "CostParams.emergency": "Cost of an emergency attendance",
    "CostParams.referral": "Cost of administering a referral",
    "CostParams.case_review": "Cost of a case review per patient",
    # MechanismParams that calibration moves (conf/calibration/free.yaml, sim.analysis.targets.MOVES)
    "MechanismParams.dropout_per_week": "Dropout hazard of a typical patient",
    "MechanismParams.dropout_alliance": "Dropout: protection by alliance",
    "MechanismParams.dropout_trust": "Dropout: protection by trust",
    "MechanismParams.dropout_progress": "Dropout: protection by progress",
    "MechanismParams.adherence_intercept": "Self-management with nothing going for it",
    "MechanismParams.adherence_bond": "Self-management: effect of the bond with the clinician",
    "MechanismParams.recovery_per_week": "Recovery achieved by self-management",
    "MechanismParams.setpoint_share": "Natural course: where symptoms settle",
    "MechanismParams.setpoint_distress": "Natural course: effect of distress",
    "MechanismParams.setpoint_stress_reactivity": "Natural course: effect of stress reactivity",
    "MechanismParams.setpoint_catastrophising": "Natural course: effect of catastrophising",
    "MechanismParams.setpoint_rate": "Natural course: speed of settling",
    "MechanismParams.fluctuation_sd": "Week-to-week fluctuation of symptoms",
    "MechanismParams.demand_per_week": "Patient-initiated GP contacts of a typical patient",
    "MechanismParams.demand_distress": "Patient-initiated GP contacts: effect of distress",
    "MechanismParams.referral_severity": "Referral: effect of reported severity",
    "MechanismParams.referral_uncertainty": "Referral: effect of the patient's uncertainty",
    "MechanismParams.referral_reference_points": "Referral: severity at the service's usual tendency",
    "MechanismParams.emergency_per_week": "Emergency attendance hazard of a typical patient",
    "MechanismParams.emergency_flare": "Emergency attendances: effect of a flare",
    "MechanismParams.emergency_distress": "Emergency attendances: effect of distress",
    "MechanismParams.emergency_uncertainty": "Emergency attendances: effect of uncertainty",
    "MechanismParams.emergency_outside_care": "Emergency attendances when not in care (multiplier)",
    "MechanismParams.bond_initial": "Bond at a first encounter",
    "MechanismParams.trust_bond": "Bond at a first encounter: effect of trust",
    "MechanismParams.attachment_bond": "Bond at a first encounter: effect of attachment security",
    "MechanismParams.function_per_symptom_point": "Functioning lost per symptom point",
}
"""Human labels of parameters, keyed ``<dataclass>.<field>``; units come from the field declarations."""

NONE_AT_ZERO: frozenset[str] = frozenset(
    {
        "ServiceParams.case_review_interval_weeks",
        "ServiceParams.coordinator_contact_interval_weeks",
        "ServiceParams.p_psychosocial_offer_per_visit",
    }
)
"""Parameters whose value 0 switches the thing off: shown as "none", not as 0 weeks."""

_GROUPS: dict[str, type] = {
    "run": RunParams,
    "population": PopulationParams,
    "mechanisms": MechanismParams,
    "costs": CostParams,
}


def parameter_field(path: str) -> tuple[type, dataclasses.Field]:
    """The dataclass and field a dotted config name refers to.

    Understands ``mechanisms.<f>``, ``run.<f>``, ``population.<f>``, ``costs.<f>``,
    ``arms.<arm>.<f>`` (or ``service.<f>``) and ``workforce.<role>.<f>`` / ``workforce.<f>``.

    Raises:
        ConfigError: for a name that is not a parameter.
    """
    parts = path.split(".")
    if parts[0] in ("arms", "service"):
        cls, name = ServiceParams, parts[-1]
        ok = len(parts) == (3 if parts[0] == "arms" else 2)
    elif parts[0] == "workforce" and len(parts) == 3 and parts[1] in ROLES:
        cls, name, ok = ClinicianGroupParams, parts[2], True
    elif parts[0] == "workforce":
        cls, name, ok = WorkforceParams, parts[-1], len(parts) == 2
    else:
        cls, name, ok = _GROUPS.get(parts[0]), parts[-1], len(parts) == 2
    fields = {f.name: f for f in dataclasses.fields(cls)} if ok and cls is not None else {}
    if name not in fields:
        raise ConfigError(f"config error: {path!r} is not a parameter; expected e.g. mechanisms.dropout_per_week")
    return cls, fields[name]


def label(path: str) -> str:
    """The human label of a parameter given by its dotted config name (see :func:`parameter_field`)."""
    cls, f = parameter_field(path)
    return LABELS.get(f"{cls.__name__}.{f.name}") or f.name.removeprefix("p_").replace("_", " ").capitalize()


def unit(path: str) -> str:
    """The declared unit of a parameter given by its dotted config name."""
    return parameter_field(path)[1].metadata.get("unit", "")


def none_at_zero(path: str) -> bool:
    """Whether 0 switches this parameter's thing off (shown as "none")."""
    cls, f = parameter_field(path)
    return f"{cls.__name__}.{f.name}" in NONE_AT_ZERO
