"""Parameters of the care-pathway model: typed, frozen, validated.

Every parameter is declared once, here, with its default, its allowed range,
its unit and where the value comes from (a comment). The same dataclasses are
the Hydra structured-config schemas (registered by the entry points in
``experiments/``; this package never imports Hydra), so a typo in a key or a
wrong type fails when the config is composed, and :func:`validate` checks the
ranges before any work starts.

Sources: "lit." = set from the literature named in ``TARGETS.md``;
"calib." = tuned so the defaults reproduce the targets C1–C5;
"judgement" = a plausible value chosen by the authors, open to refit.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any

ROLES: tuple[str, ...] = ("gp", "specialist", "psychologist", "physiotherapist", "coordinator")
"""Clinician roles, in the order used by every per-role array and column."""

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


# --- field helpers: one line per parameter, bounds declared with the default ---


def _param(default: Any, lo: float | None, hi: float | None, kind: str) -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "kind": kind})


def prob(default: float) -> Any:
    """A probability or share in [0, 1]."""
    return _param(default, 0.0, 1.0, "a probability in [0, 1]")


def unit(default: float) -> Any:
    """A psychological state or trait level in [0, 1]."""
    return _param(default, 0.0, 1.0, "a level in [0, 1]")


def nonneg(default: float) -> Any:
    """A non-negative real number (rate, effect size, cost)."""
    return _param(default, 0.0, None, "a number >= 0")


def positive(default: float) -> Any:
    """A strictly positive real number."""
    return _param(default, 1e-12, None, "a number > 0")


def count(default: int, lo: int = 0) -> Any:
    """A whole number >= lo."""
    return _param(default, lo, None, f"a whole number >= {lo}")


def real(default: float) -> Any:
    """Any finite real number (a log-odds shift, a centred effect)."""
    return _param(default, None, None, "a finite number")


def points(default: float) -> Any:
    """A PHQ-15 score or change, in points on 0–30."""
    return _param(default, 0.0, 30.0, "PHQ-15 points in [0, 30]")


def choice(default: str, *allowed: str) -> Any:
    """One of a fixed set of strings."""
    return field(default=default, metadata={"choices": allowed})


def shares(default: dict[str, float], allowed: tuple[str, ...] | None = None) -> Any:
    """Shares over named categories, each in [0, 1], summing to 1."""
    return field(default_factory=lambda: dict(default), metadata={"shares": allowed})


def by_key(default: dict[str, float], allowed: tuple[str, ...]) -> Any:
    """A number for some of the named categories (others get 0)."""
    return field(default_factory=lambda: dict(default), metadata={"keys": allowed})


# --- the parameter groups ---------------------------------------------------


@dataclass(frozen=True)
class RunParams:
    """Horizon, replication and randomness of a run."""

    weeks: int = count(104, lo=1)  # horizon, weeks (one step = one week)
    replicates: int = count(10, lo=1)  # independent replicates; arms share each replicate's seed
    seed: int = count(20261125)  # base seed; replicate seeds derive from it (see sim.core.streams)
    reference_arm: str = "fragmented"  # arm the others are compared with (first arm if absent)
    trajectories: bool = False  # also write one row per patient x week (large!)
    figures: bool = True  # draw the standard figures (turn off for large sweeps: ~1 s a run)
    dyad_slots: int = count(8, lo=2)  # dyads kept per patient; least recent one is recycled


@dataclass(frozen=True)
class PopulationParams:
    """Who the patients are: cohort, case mix and traits (drawn once per replicate, common to all arms)."""

    n_patients: int = count(2000, lo=1)  # patients at week 0 (closed cohort: all of them)
    cohort: str = choice("closed", "closed", "open")  # closed: fixed cohort; open: new referrals
    arrivals_per_week: float = nonneg(20.0)  # open cohort: mean new patients per week (Poisson)
    warmup_weeks: int = count(0)  # open cohort: weeks dropped from results (steady state)

    condition_shares: dict[str, float] = shares(
        {
            "ibs": 0.25,
            "fibromyalgia": 0.2,
            "chronic_fatigue": 0.15,
            "fnd": 0.1,
            "chronic_headache": 0.15,
            "chest_pain": 0.15,
        },
        CONDITIONS,
    )
    # PHQ-15 baseline shift by condition, points (judgement: FND and fibromyalgia
    # present with more somatic symptoms, chest pain with fewer).
    condition_severity_shift: dict[str, float] = by_key(
        {"fibromyalgia": 2.0, "fnd": 1.5, "chronic_fatigue": 1.0, "chest_pain": -1.5}, CONDITIONS
    )
    severity_mean: float = points(13.0)  # baseline PHQ-15 mean in referred patients (lit.: medium)
    severity_sd: float = positive(4.0)  # baseline PHQ-15 SD, points (lit.)
    attachment_security_mean: float = unit(0.6)  # secure attachment eases bond (judgement)
    stress_reactivity_mean: float = unit(0.45)  # early adversity -> flare proneness (judgement)
    catastrophising_mean: float = unit(0.45)  # illness beliefs / catastrophising (judgement)
    health_literacy_mean: float = unit(0.6)  # scales what explanations achieve (judgement)
    stigma_mean: float = unit(0.3)  # history of feeling dismissed at entry (judgement)
    trait_concentration: float = positive(5.0)  # Beta concentration of [0,1] traits (higher = tighter)
    cultural_group_shares: dict[str, float] = shares({"majority": 0.8, "minority": 0.2})
    help_seeking_delay_mean_weeks: float = nonneg(8.0)  # mean weeks before first presenting
    share_physio_pathway: float = prob(0.4)  # therapy step led by physio rather than psychologist


@dataclass(frozen=True)
class ClinicianGroupParams:
    """Clinicians of one role: how many, how much time, and their traits (means)."""

    per_1000_patients: float = nonneg(5.0)  # head count per 1,000 patients served (at least 1 if > 0);
    # an open cohort is served at its mean size over the run
    capacity_per_week: int = count(15)  # appointment slots per clinician per week for this group
    warmth: float = unit(0.6)  # empathy / warmth (M1)
    validation: float = unit(0.6)  # propensity to validate rather than dismiss (M2)
    clarity: float = unit(0.55)  # explanation clarity, plain language (M3)
    cultural_humility: float = unit(0.4)  # compensates cultural mismatch (M4)
    biopsychosocial: float = unit(0.5)  # explanatory stance: 0 biomedical only .. 1 biopsychosocial
    reflective_practice: float = unit(0.5)  # speed of learning from feedback (M16)
    pacing_advice: float = unit(0.5)  # skill at pacing / graded-activity advice (M10)
    repair_skill: float = unit(0.5)  # skill at repairing ruptures (M12)


def _group(**kw: float) -> Any:
    return field(default_factory=lambda: ClinicianGroupParams(**kw))


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
    trait_concentration: float = positive(6.0)  # Beta concentration of clinician traits
    team_size: int = count(6, lo=1)  # clinicians of a role in one practice / department: whoever is
    # free comes from the patient's own team, so continuity does not fall as a service grows
    cultural_group_shares: dict[str, float] = shares({"majority": 0.9, "minority": 0.1})

    def group(self, role: str) -> ClinicianGroupParams:
        """The parameters of one role, by name (see ``ROLES``)."""
        return getattr(self, role)


@dataclass(frozen=True)
class ServiceParams:
    """A care model (M15, M17, M18 service side): every difference between arms lives here.

    Coordinated and fragmented care are two points in this space, not branches
    in the code; any mix between them is a valid service.
    """

    continuity: float = prob(0.5)  # share of visits with the named lead clinician of the role
    message_coherence: float = prob(0.5)  # chance a new clinician's explanation fits the plan
    alliance_transfer: float = prob(0.2)  # share of the lead alliance a new team member inherits
    followup_interval_weeks: float = positive(6.0)  # scheduled GP review interval, weeks
    therapy_interval_weeks: float = positive(2.0)  # session interval at therapy / MDT steps, weeks
    followup_reliability: float = prob(0.6)  # chance a scheduled follow-up is booked and kept
    p_referral_per_visit: float = prob(0.1)  # specialist referral tendency per GP encounter
    p_investigation_per_visit: float = prob(0.15)  # test-ordering tendency per medical encounter
    p_results_explained: float = prob(0.4)  # a normal result comes with an explanation (M14)
    p_referral_lost: float = prob(0.1)  # navigation barrier: referral lost in the system
    referral_delay_weeks: float = nonneg(6.0)  # mean wait from referral to first specialist visit
    specialist_visits_per_episode: float = positive(3.0)  # mean visits per specialist referral
    specialist_interval_weeks: float = positive(3.0)  # weeks between specialist visits
    case_review_interval_weeks: int = count(0)  # joint case review every N weeks; 0 = none
    pacing_guidance: bool = True  # clinicians give pacing advice in encounters (M10)
    feedback: bool = False  # routine outcome monitoring + supervision (M16)
    stepping: bool = False  # outcome-based stepping up (M17)
    training_warmth: float = real(0.0)  # clinician training: shift of every clinician's warmth
    training_validation: float = real(0.0)  # ... of validation propensity
    training_clarity: float = real(0.0)  # ... of explanation clarity
    training_humility: float = real(0.0)  # ... of cultural humility
    campaign_delay_reduction: float = prob(0.0)  # anti-stigma campaign: share cut from help-seeking delay
    campaign_stigma_reduction: float = prob(0.0)  # ... and from felt stigma at entry
    review_interval_weeks: int = count(12, lo=1)  # outcome review (step up / down / discharge)
    step_up_threshold_points: float = points(3.0)  # reported improvement below this -> step up
    discharge_below_points: float = points(6.0)  # reported PHQ-15 at or below -> step down/discharge


@dataclass(frozen=True)
class MechanismParams:
    """Coefficients of the patient, dyad and clinician mechanisms M1–M18.

    Setting an effect coefficient to 0 switches that pathway off, which is how
    the unit tests isolate each mechanism's direction of effect.
    """

    # M1 encounter builds bond
    bond_initial: float = unit(0.3)  # bond at a first encounter with no transfer
    attachment_bond: float = nonneg(1.0)  # first-encounter bond per unit attachment security above 0.5
    trust_bond: float = nonneg(0.8)  # first-encounter bond per unit trust above 0.5
    bond_gain: float = nonneg(0.2)  # share of the gap to 1 closed per warm encounter
    early_rapport_boost: float = nonneg(1.5)  # extra gain at the first encounters (x)
    early_rapport_weeks: float = positive(3.0)  # encounters over which the early boost fades
    goals_initial: float = unit(0.25)  # agreement on goals before any explanation
    tasks_initial: float = unit(0.2)  # agreement on tasks before any plan

    # M2 validation versus dismissal
    validation_stance_logodds: float = nonneg(1.5)  # log-odds per unit biopsychosocial stance
    validation_stigma_logodds: float = nonneg(1.0)  # log-odds lost per unit stigma above 0.3
    validated_distress_drop: float = prob(0.12)  # share of distress relieved by validation
    validated_trust_gain: float = prob(0.12)  # share of trust gap closed by validation
    dismissed_distress_rise: float = prob(0.15)  # share of distress gap added by dismissal
    dismissed_trust_drop: float = prob(0.12)  # share of trust lost by dismissal
    dismissed_bond_drop: float = prob(0.1)  # share of bond lost by dismissal
    dismissed_stigma_rise: float = prob(0.15)  # share of stigma gap added by dismissal

    # M3 explanation and shared goals
    goals_gain: float = nonneg(0.3)  # share of goals gap closed per clear explanation
    tasks_gain: float = nonneg(0.25)  # share of tasks gap closed per clear explanation
    uncertainty_drop: float = nonneg(0.12)  # share of uncertainty removed per clear explanation
    literacy_floor: float = unit(0.4)  # explanation effect at zero health literacy (x)

    # M4 cultural humility
    mismatch_penalty: float = unit(0.4)  # loss of M1–M3 effect across cultures at zero humility

    # M5 trust (validation and dismissal effects are under M2)
    kept_followup_trust_gain: float = prob(0.04)  # predictability: appointment kept as promised
    missed_followup_trust_drop: float = prob(0.03)  # follow-up missed, cancelled or slipped
    contradiction_trust_drop: float = prob(0.08)  # contradictory explanation
    contradiction_uncertainty_rise: float = prob(0.2)  # share of uncertainty gap added
    normal_result_trust_drop: float = prob(0.0217)  # unexplained normal test result [calib.]
    lost_referral_trust_drop: float = prob(0.1)  # navigation barrier hit

    # M6 honest reporting
    amplify_points: float = points(4.0)  # over-report to be believed at full stigma, no safety
    underreport_share: float = unit(0.6)  # share of fluctuations hidden with no safety

    # M7 adherence
    adherence_intercept: float = real(-2.1)  # log-odds of adherence with nothing going for it
    adherence_tasks: float = nonneg(1.5)  # task agreement
    adherence_bond: float = nonneg(2.71)  # bond with the current clinician [calib.]
    adherence_trust: float = nonneg(0.5)
    adherence_self_efficacy: float = nonneg(1.3)
    adherence_expectation: float = nonneg(1.0)
    adherence_distress: float = nonneg(1.0)
    adherence_uncertainty: float = nonneg(1.0)
    adherence_rate: float = prob(0.25)  # share of the gap to target adherence closed per week

    # M8 self-management drives recovery
    recovery_per_week: float = nonneg(0.0115)  # share of (S - floor) removed per week at full adherence [calib.]
    natural_recovery_per_week: float = prob(0.00134)  # share removed per week whatever the care [calib.]
    contact_recovery_per_week: float = nonneg(0.002)  # same, from a clinician contact alone
    symptom_floor_share: float = unit(0.25)  # residual share of baseline severity
    distress_worsening_per_week: float = nonneg(0.561)  # PHQ-15 points/week per unit distress above ref [calib.]
    distress_reference: float = unit(0.45)  # distress level that neither worsens nor eases symptoms
    function_per_symptom_point: float = nonneg(1.8)  # F lost per PHQ-15 point
    function_activity: float = nonneg(30.0)  # F lost at zero activity
    function_distress: float = nonneg(15.0)  # F lost at full distress
    function_rate: float = prob(0.2)  # share of the gap to target functioning closed per week

    # M9 fluctuation, flares, relapse
    fluctuation_sd: float = nonneg(2.0)  # SD of week-to-week symptom fluctuation, points
    fluctuation_autocorr: float = prob(0.6)  # AR(1) autocorrelation of fluctuation
    flare_per_week: float = nonneg(0.04)  # flare hazard at average reactivity/distress, no pacing
    flare_stress: float = nonneg(1.5)  # log-hazard per unit stress reactivity
    flare_distress: float = nonneg(1.5)  # log-hazard per unit distress
    flare_pacing: float = nonneg(1.0)  # log-hazard lost per unit pacing skill
    flare_points: float = points(4.0)  # symptom jump of a flare, points
    flare_half_life_weeks: float = positive(2.0)
    flare_relapse_points: float = points(1.0)  # lasting worsening of a flare at zero pacing
    flare_self_efficacy_drop: float = prob(0.15)  # at zero tolerance of uncertainty
    flare_expectation_drop: float = prob(0.15)
    flare_distress_rise: float = prob(0.15)

    # M10 overexertion (boom–bust)
    activity_rate: float = prob(0.15)  # share of gap to target activity closed per week
    boom_per_week: float = nonneg(0.08)  # extra activity on a good week with no pacing
    safe_activity_step: float = nonneg(0.03)  # weekly rise in activity that pacing allows
    flare_overexertion: float = nonneg(15.0)  # log-hazard per unit activity rise beyond safe step
    pacing_gain: float = prob(0.15)  # share of pacing gap closed per encounter with advice
    bust_activity_drop: float = unit(0.3)  # share of activity dropped in a flare

    # M11 the feedback loop
    progress_scale_points: float = positive(2.0)  # slow-minus-fast symptom gap that is full progress
    progress_self_efficacy: float = prob(0.05)  # weekly gain of self-efficacy per unit progress
    progress_expectation: float = prob(0.06)  # weekly gain of expectation per unit progress
    distress_rate: float = prob(0.15)  # share of gap to target distress closed per week
    distress_base: float = unit(0.15)  # target distress with no symptoms or worries
    distress_symptoms: float = nonneg(0.5)  # target distress added at PHQ-15 of 30
    distress_catastrophising: float = nonneg(0.25)  # x catastrophising x uncertainty (M3 lowers it)
    distress_self_efficacy: float = nonneg(0.2)  # target distress lost per unit self-efficacy above 0.5

    # M12 ruptures and repair
    p_rupture_base: float = prob(0.03)  # per encounter with nothing straining the alliance
    rupture_dismissal: float = nonneg(0.25)  # added probability after a dismissal
    rupture_flare: float = nonneg(0.08)  # added probability in a flare
    rupture_stall: float = nonneg(0.06)  # added probability with no perceived progress
    rupture_contradiction: float = nonneg(0.1)  # added probability after a contradiction
    rupture_bond_drop: float = unit(0.2)  # share of bond lost when a rupture opens
    p_repair: float = prob(0.6)  # repair chance per encounter at skill 1 (x skill)
    repair_bond_bonus: float = unit(0.3)  # share of the bond gap closed by a repair
    rupture_unrepaired_weeks: int = count(8, lo=1)  # an open rupture lapses unrepaired after this
    unrepaired_bond_drop: float = unit(0.3)  # share of bond lost when a rupture lapses
    case_review_repair: float = prob(0.3)  # repair chance of an open rupture at a case review

    # M13 disengagement and doctor shopping
    dropout_per_week: float = nonneg(0.00224)  # weekly dropout hazard at reference alliance/trust [calib.]
    dropout_alliance: float = nonneg(1.5)  # log-hazard lost per unit alliance
    dropout_trust: float = nonneg(1.5)  # log-hazard lost per unit trust
    dropout_progress: float = nonneg(1.0)  # log-hazard lost per unit perceived progress
    dropout_rupture: float = nonneg(1.2)  # log-hazard added by an open rupture
    dropout_dismissal: float = nonneg(0.8)  # log-hazard added in the week of a dismissal
    represent_per_week: float = nonneg(0.03)  # disengaged: weekly hazard of presenting elsewhere

    # M14 investigations
    investigation_biomedical: float = nonneg(1.5)  # log-odds per unit biomedical stance
    investigation_uncertainty: float = nonneg(1.0)  # patient demand for tests, log-odds
    repeat_test_uncertainty: float = prob(0.0295)  # share of uncertainty gap added per prior test (up to 5) [calib.]
    reassurance_distress_drop: float = prob(0.05)  # brief relief from an explained normal result

    # M13/M18 patient-initiated demand and emergency attendances
    demand_per_week: float = nonneg(0.04)  # on-demand GP contact hazard at reference distress
    demand_distress: float = nonneg(2.0)  # log-hazard per unit distress
    demand_flare: float = nonneg(1.5)  # log-hazard in a flare
    emergency_per_week: float = nonneg(0.0191)  # emergency attendance hazard, reference patient [calib.]
    emergency_flare: float = nonneg(1.5)  # log-hazard in a flare
    emergency_distress: float = nonneg(1.5)
    emergency_uncertainty: float = nonneg(1.5)
    emergency_outside_care: float = nonneg(1.5)  # hazard multiplier when not in care
    p_emergency_investigation: float = prob(0.5)  # emergency visit orders a test (unexplained)
    referral_severity: float = nonneg(0.3)  # referral log-odds per reported point above 12
    referral_uncertainty: float = nonneg(1.0)  # referral log-odds per unit uncertainty

    # M16 clinician reflection and feedback
    learning_per_week: float = nonneg(0.02)  # skill gap closed per week at reflective practice 1
    feedback_repair_boost: float = nonneg(0.5)  # relative rise in repair chance with feedback
    feedback_validation_logodds: float = nonneg(0.4)  # validation log-odds for off-track patients

    # M18 capacity and waiting
    waiting_trust_drop: float = prob(0.02)  # trust lost per week waiting for a first visit


@dataclass(frozen=True)
class CostParams:
    """Unit costs per event type, abstract currency units (set by the planner)."""

    visit: dict[str, float] = by_key(
        {"gp": 40.0, "specialist": 150.0, "psychologist": 90.0, "physiotherapist": 60.0, "coordinator": 35.0},
        ROLES,
    )
    investigation: float = nonneg(120.0)
    emergency: float = nonneg(250.0)
    referral: float = nonneg(20.0)  # administration of one referral
    case_review: float = nonneg(15.0)  # share of a team meeting, per patient reviewed


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


# --- validation --------------------------------------------------------------


def _fail(path: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"config error: {path} = {value!r} is not allowed; expected {allowed}")


def _check_number(path: str, value: Any, meta: dict[str, Any], annotation: Any) -> None:
    want_int = annotation in (int, "int")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(path, value, meta["kind"])
    if want_int and not float(value).is_integer():
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
        if "keys" in meta and v < 0 and not path.endswith("_shift"):
            _fail(f"{path}.{key}", v, "a number >= 0")
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
        if obj.run.reference_arm not in obj.arms and obj.run.reference_arm != "fragmented":
            _fail("run.reference_arm", obj.run.reference_arm, f"one of the arms: {', '.join(obj.arms)}")
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
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            kwargs[name] = from_dict(hint, value, key)
        elif name == "arms" and cls is Config:
            kwargs[name] = {a: from_dict(ServiceParams, s, f"{key}.{a}") for a, s in value.items()}
        else:
            kwargs[name] = value
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """The plain-mapping form of a parameter dataclass tree (inverse of from_dict)."""
    return dataclasses.asdict(obj)
