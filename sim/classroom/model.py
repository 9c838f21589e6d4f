"""Two care models side by side, stepping together: the teaching model behind the dashboard.

:class:`ClassroomModel` is an ordinary Mesa model holding one
:class:`~sim.engine.model.CareModel` per arm, built on the same seed so both
arms have the same patients and the same care-independent draws. Which care
each arm gets is the chosen lesson's (:mod:`sim.classroom.lessons`); the arms
are named by their colour on screen, blue and orange. Its data collector
records each arm's weekly aggregates and this week's event counts, and a
:class:`~sim.classroom.network.DyadSample` per arm keeps the alliances of a
sample of patients with each clinician they see, week by week.

Teaching levers are plain keyword arguments, so dashboard sliders map onto
them; defaults come from the same :class:`~sim.core.params.Config` the command
line uses.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from mesa import DataCollector, Model

from ..core.params import Config, ConfigError, ServiceParams
from ..core.streams import replicate_seed
from ..engine.model import CareModel
from .lessons import ARMS, COUNTERS, LESSONS, SETTING_LABELS, Lesson
from .network import DyadSample

TRACKED_COLUMNS = (
    "function_mean",
    "symptoms_mean",
    "alliance_mean",
    "trust_mean",
    *(f"n_{s}" for s in ("not_presented", "waiting", "in_care", "disengaged", "discharged")),
    "ruptures",
    "repairs",
    "flares",
    "emergency",
)
TRAINING = ("training_warmth", "training_validation", "training_clarity", "training_humility")
MAX_PATIENTS = 5000
"""Largest classroom cohort (the dashboard slider's maximum): both arms step live in the page."""


class ClassroomModel(Model):
    """The two arms of a lesson for the same patients, stepping together.

    Args:
        config: Defaults (care models, population, workforce, mechanisms).
        n_patients: Patients in each arm.
        seed: Seed shared by both arms.
        warmth, validation, clarity, cultural_humility: Mean GP level of each
            trait; every clinician in both arms shifts by the difference from
            the config's GP mean (``None`` keeps the config).
        continuity, message_coherence, followup_interval_weeks: The blue arm's
            service levers (``None`` keeps its care model's).
        feedback: Routine outcome feedback and supervision in both arms (M16).
        lesson: A key of ``LESSONS``; its changes apply on top of the sliders.
        tracked: How many patients' alliances to follow (the network sample).
    """

    def __init__(
        self,
        config: Config,
        n_patients: int = 1000,
        seed: int = 1,
        warmth: float | None = None,
        validation: float | None = None,
        clarity: float | None = None,
        cultural_humility: float | None = None,
        continuity: float | None = None,
        message_coherence: float | None = None,
        followup_interval_weeks: float | None = None,
        feedback: bool = False,
        lesson: str = "free_play",
        tracked: int = 30,
    ) -> None:
        super().__init__(rng=seed)
        self.levers = {  # as given, so a page can tell whether its sliders still match this model
            "n_patients": n_patients,
            "seed": seed,
            "warmth": warmth,
            "validation": validation,
            "clarity": clarity,
            "cultural_humility": cultural_humility,
            "continuity": continuity,
            "message_coherence": message_coherence,
            "followup_interval_weeks": followup_interval_weeks,
            "feedback": feedback,
            "lesson": lesson,
        }
        whole = isinstance(n_patients, (int, float)) and not isinstance(n_patients, bool)
        if not whole or not float(n_patients).is_integer() or not 1 <= n_patients <= MAX_PATIENTS:
            # A shared classroom server must stay responsive: two arms step together on every click.
            raise ConfigError(
                f"config error: n_patients = {n_patients!r} is not allowed; expected a whole number in "
                f"[1, {MAX_PATIENTS:,}] (the classroom model runs both arms live; use experiments.run for more)"
            )
        if lesson not in LESSONS:
            raise ValueError(f"lesson {lesson!r} is not allowed; expected one of {', '.join(LESSONS)}")
        self.lesson_key = lesson
        self.lesson: Lesson = LESSONS[lesson]
        self.gp = config.workforce.gp
        training = {
            "training_warmth": 0.0 if warmth is None else warmth - self.gp.warmth,
            "training_validation": 0.0 if validation is None else validation - self.gp.validation,
            "training_clarity": 0.0 if clarity is None else clarity - self.gp.clarity,
            "training_humility": 0.0 if cultural_humility is None else cultural_humility - self.gp.cultural_humility,
        }
        levers = {
            k: v
            for k, v in {
                "continuity": continuity,
                "message_coherence": message_coherence,
                "followup_interval_weeks": followup_interval_weeks,
            }.items()
            if v is not None
        }
        self.services = {
            arm: self._service(config, arm, training, feedback, levers if arm == "blue" else {}) for arm in ARMS
        }
        self.mechanisms = dataclasses.replace(config.mechanisms, **self.lesson.mechanisms)
        population = dataclasses.replace(config.population, n_patients=int(n_patients), cohort="closed")
        arm_seed = replicate_seed(int(seed), 0)
        self.arms = {
            arm: CareModel(
                self.services[arm],
                run=config.run,
                population=population,
                workforce=config.workforce,
                mechanisms=self.mechanisms,
                costs=config.costs,
                seed=arm_seed,
            )
            for arm in ARMS
        }
        self.n_patients = int(n_patients)
        self.seed = int(seed)
        self.horizon = config.run.weeks
        self.week = 0
        self.tracked = np.arange(min(tracked, self.n_patients))
        self.dyads = {arm: DyadSample(self.arms[arm], self.tracked) for arm in ARMS}
        self._dismissals = {arm: 0 for arm in ARMS}
        self.counts = {arm: self._count(arm) for arm in ARMS}
        reporters = {
            f"{column}_{arm}": (lambda m, arm=arm, column=column: m.arms[arm].summary[column])
            for arm in ARMS
            for column in TRACKED_COLUMNS
        }
        reporters.update(
            {f"dismissals_{arm}": (lambda m, arm=arm: m.counts[arm]["dismissals"]) for arm in ARMS},
        )
        self.datacollector = DataCollector(model_reporters={"week": lambda m: m.week, **reporters})
        self.datacollector.collect(self)

    def _service(self, config: Config, arm: str, training: dict, feedback: bool, levers: dict) -> ServiceParams:
        """The arm's service: its care model, then the sliders, then the lesson's changes (which win).

        A lesson's training shifts add to the sliders' rather than replace them, so
        "dismissive clinicians" stay 0.35 below whatever validation the class chose.
        """
        setup = self.lesson.arm(arm)
        service = dataclasses.replace(config.arms[setup.care], **training, feedback=bool(feedback), **levers)
        changes = dict(setup.changes)
        for key in TRAINING:
            if key in changes:
                changes[key] += getattr(service, key)
        return dataclasses.replace(service, **changes)

    def _count(self, arm: str) -> dict[str, int]:
        """This week's events in one arm (the engine counts all but dismissals)."""
        model = self.arms[arm]
        dismissals = int(model.patients.dismissals.sum())
        counts = {key: int(model.summary[key]) for key in COUNTERS if key != "dismissals"}
        counts["dismissals"] = dismissals - self._dismissals[arm]
        self._dismissals[arm] = dismissals
        return counts

    def settings(self) -> list[tuple[str, dict[str, str], bool]]:
        """What each arm runs with, for the page: (label, value per arm, changed by the lesson)."""
        changed = {k for arm in ARMS for k in self.lesson.arm(arm).changes} | set(self.lesson.mechanisms)
        traits = (
            ("training_warmth", "GP warmth (0–1)", self.gp.warmth),
            ("training_validation", "GP validation (0–1)", self.gp.validation),
            ("training_clarity", "GP clarity (0–1)", self.gp.clarity),
            ("training_humility", "GP cultural humility (0–1)", self.gp.cultural_humility),
        )
        rows = [("care model", {arm: self.lesson.arm(arm).care for arm in ARMS}, False)]
        for key, label, mean in traits:
            values = {arm: f"{np.clip(mean + getattr(self.services[arm], key), 0, 1):.2f}" for arm in ARMS}
            rows.append((label, values, key in changed))
        for key in ("continuity", "message_coherence", "followup_interval_weeks", "followup_reliability"):
            values = {arm: f"{getattr(self.services[arm], key):g}" for arm in ARMS}
            rows.append((SETTING_LABELS[key], values, key in changed))
        for key in ("pacing_guidance", "feedback"):
            values = {arm: "on" if getattr(self.services[arm], key) else "off" for arm in ARMS}
            rows.append((SETTING_LABELS[key], values, key in changed))
        for key in self.lesson.mechanisms:
            value = f"{getattr(self.mechanisms, key):g}"
            rows.append((SETTING_LABELS[key], dict.fromkeys(ARMS, value), True))
        return rows

    def step(self) -> None:
        """One week in both arms."""
        self.week += 1
        for arm in ARMS:
            self.dyads[arm].before_step()
            self.arms[arm].step()
            self.dyads[arm].after_step()
            self.counts[arm] = self._count(arm)
        self.datacollector.collect(self)
        if self.week >= self.horizon:
            self.running = False

    def first_to_present(self) -> int:
        """Row in the sample of the patient who seeks help first: the one to follow when nobody is chosen."""
        return int(np.argmin(self.arms[ARMS[0]].patients.presentation_week[self.tracked]))

    def series(self, column: str, arm: str) -> np.ndarray:
        """One recorded column of one arm, week 0 onwards."""
        return np.asarray(self.datacollector.model_vars[f"{column}_{arm}"], dtype=float)
