"""Two care models side by side, stepping together: the teaching model behind the dashboard.

:class:`ClassroomModel` is an ordinary Mesa model holding one
:class:`~sim.engine.model.CareModel` per arm (coordinated and fragmented care), built
on the same seed so both arms have the same patients and the same
care-independent draws. Its data collector records each arm's weekly
aggregates, and it keeps the story of a few patients (whom they saw,
validation or dismissal, ruptures and repairs, flares, dropout) so a class can
follow one journey.

Teaching levers are plain keyword arguments, so SolaraViz sliders map onto
them; defaults come from the same :class:`~sim.core.params.Config` the command line
uses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from mesa import DataCollector, Model

from ..core.params import ROLES, STATUSES, Config, ServiceParams
from ..core.streams import replicate_seed
from ..engine.model import CareModel

ARMS = ("coordinated", "fragmented")
TRACKED_COLUMNS = (
    "function_mean",
    "symptoms_mean",
    "alliance_mean",
    "trust_mean",
    "n_waiting",
    "n_in_care",
    "n_disengaged",
    "n_discharged",
    "ruptures",
    "repairs",
    "flares",
    "emergency",
)


@dataclass(frozen=True)
class Lesson:
    """A ready scenario: what changes, and two sentences on what to watch for."""

    title: str
    watch: str
    coordinated: dict = field(default_factory=dict)  # service changes in the coordinated arm
    fragmented: dict = field(default_factory=dict)  # service changes in the fragmented arm
    both: dict = field(default_factory=dict)  # service changes in both arms
    mechanisms: dict = field(default_factory=dict)  # mechanism changes in both arms


LESSONS: dict[str, Lesson] = {
    "free_play": Lesson(
        "Free play",
        "Move the sliders, press reset, and step. Both panels share the same patients, so every difference "
        "you see comes from how care is organised.",
    ),
    "rupture_and_repair": Lesson(
        "A rupture and its repair",
        "Ruptures happen in both arms, but only a clinician the patient sees again can repair them. Watch the "
        "repairs counter and the journeys: a repaired rupture leaves the bond stronger than before.",
        mechanisms={"p_rupture_base": 0.1, "p_repair": 0.8},
    ),
    "one_vs_many": Lesson(
        "One clinician vs many",
        "On the left each patient keeps one named clinician; on the right whoever is free. Watch the alliance "
        "curves part, and the journeys fill with new faces on the right.",
        coordinated={"continuity": 0.95},
        fragmented={"continuity": 0.0},
    ),
    "dismissal_and_shopping": Lesson(
        "Dismissal and doctor shopping",
        "Clinicians here often dismiss symptoms as 'nothing wrong'. Watch trust fall, patients disengage and "
        "come back through another door, adding visits and emergency attendances.",
        both={"training_validation": -0.35},
    ),
    "pacing_vs_boom_bust": Lesson(
        "Pacing vs boom-bust",
        "Left: clinicians teach pacing; right: no pacing advice, so good weeks lead to overdoing it. Watch the "
        "flares counter and the functioning curves.",
        coordinated={"pacing_guidance": True},
        fragmented={"pacing_guidance": False},
        both={"followup_reliability": 0.8},
    ),
}


class ClassroomModel(Model):
    """Coordinated and fragmented care for the same patients, stepping together.

    Args:
        config: Defaults (arms ``coordinated`` and ``fragmented``, population, workforce...).
        n_patients: Patients in each arm.
        seed: Seed shared by both arms.
        warmth, validation, clarity, cultural_humility: Mean GP level of each
            trait; every clinician in both arms shifts by the difference from
            the config's GP mean (``None`` keeps the config).
        continuity, message_coherence, followup_interval_weeks: The coordinated
            arm's service levers (``None`` keeps the config).
        feedback: Routine outcome feedback and supervision in both arms (M16).
        lesson: A key of ``LESSONS``; its changes apply on top of the sliders.
        tracked: How many patients' journeys to keep.
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
        tracked: int = 5,
    ) -> None:
        super().__init__(rng=seed)
        if lesson not in LESSONS:
            raise ValueError(f"lesson {lesson!r} is not allowed; expected one of {', '.join(LESSONS)}")
        self.lesson = LESSONS[lesson]
        gp = config.workforce.gp
        training = {
            "training_warmth": 0.0 if warmth is None else warmth - gp.warmth,
            "training_validation": 0.0 if validation is None else validation - gp.validation,
            "training_clarity": 0.0 if clarity is None else clarity - gp.clarity,
            "training_humility": 0.0 if cultural_humility is None else cultural_humility - gp.cultural_humility,
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
        services = {
            "coordinated": self._service("coordinated", config.arms["coordinated"], training, feedback, levers),
            "fragmented": self._service("fragmented", config.arms["fragmented"], training, feedback, {}),
        }
        mech = dataclasses.replace(config.mechanisms, **self.lesson.mechanisms)
        population = dataclasses.replace(config.population, n_patients=int(n_patients), cohort="closed")
        arm_seed = replicate_seed(int(seed), 0)
        self.arms = {
            arm: CareModel(
                services[arm],
                run=config.run,
                population=population,
                workforce=config.workforce,
                mechanisms=mech,
                costs=config.costs,
                seed=arm_seed,
            )
            for arm in ARMS
        }
        coordinated = services["coordinated"]
        self.settings = {  # what the sliders are set to, for the page to show
            "patients": int(n_patients),
            "seed": int(seed),
            "warmth": round(gp.warmth + training["training_warmth"], 2),
            "validation": round(gp.validation + training["training_validation"], 2),
            "clarity": round(gp.clarity + training["training_clarity"], 2),
            "cultural humility": round(gp.cultural_humility + training["training_humility"], 2),
            "continuity": coordinated.continuity,
            "coherence": coordinated.message_coherence,
            "follow-up weeks": coordinated.followup_interval_weeks,
            "feedback": bool(feedback),
        }
        self.week = 0
        self.tracked = np.arange(min(tracked, int(n_patients)))
        self.journeys: dict[str, list[dict]] = {arm: [] for arm in ARMS}
        self._last = {arm: self._snapshot(arm) for arm in ARMS}
        reporters = {
            f"{column}_{arm}": (lambda m, arm=arm, column=column: m.arms[arm].summary[column])
            for arm in ARMS
            for column in TRACKED_COLUMNS
        }
        self.datacollector = DataCollector(model_reporters={"week": lambda m: m.week, **reporters})
        self.datacollector.collect(self)

    def _service(self, arm: str, base: ServiceParams, training: dict, feedback: bool, levers: dict) -> ServiceParams:
        """The arm's service: config, then the sliders, then the lesson's changes (which win)."""
        service = dataclasses.replace(base, **training, feedback=bool(feedback), **levers)
        lesson = {**self.lesson.both, **getattr(self.lesson, arm)}
        for key in ("training_warmth", "training_validation", "training_clarity", "training_humility"):
            if key in lesson:
                lesson[key] += getattr(service, key)
        return dataclasses.replace(service, **lesson)

    def _snapshot(self, arm: str) -> dict[str, np.ndarray]:
        p = self.arms[arm].patients
        i = self.tracked
        return {
            "visits": p.encounters[i].copy(),
            "validations": p.validations[i].copy(),
            "dismissals": p.dismissals[i].copy(),
            "ruptures": p.ruptures[i].copy(),
            "repairs": p.repairs[i].copy(),
            "flares": p.flares[i].copy(),
            "emergency": p.emergency[i].copy(),
            "status": p.status[i].copy(),
        }

    def _record_journeys(self) -> None:
        for arm in ARMS:
            now, before = self._snapshot(arm), self._last[arm]
            model = self.arms[arm]
            for k, patient in enumerate(self.tracked):
                events = []
                if now["visits"][k] > before["visits"][k]:
                    clinician = int(model.patients.last_clinician[patient])
                    role = ROLES[model.clinicians.role[clinician]]
                    events.append(f"saw {role} #{clinician}")
                    if now["validations"][k] > before["validations"][k]:
                        events.append("validated")
                    if now["dismissals"][k] > before["dismissals"][k]:
                        events.append("dismissed")
                for key, word in (
                    ("ruptures", "rupture"),
                    ("repairs", "repair"),
                    ("flares", "flare"),
                    ("emergency", "emergency visit"),
                ):
                    if now[key][k] > before[key][k]:
                        events.append(word)
                if now["status"][k] != before["status"][k]:
                    events.append(STATUSES[now["status"][k]].replace("_", " "))
                if events:
                    self.journeys[arm].append({"week": self.week, "patient": int(patient), "events": events})
            self._last[arm] = now

    def step(self) -> None:
        """One week in both arms."""
        self.week += 1
        for model in self.arms.values():
            model.step()
        self._record_journeys()
        self.datacollector.collect(self)
