"""Lessons for the teaching dashboard: each one a goal, what to watch on screen, and what it sets.

A lesson names its two arms the way its text speaks of them ("one named
clinician" in blue, "whoever is free" in orange), starts each arm from a care
model of the configuration (``conf/care_model/``), and changes a few service
or mechanism parameters on top. Every counter a lesson's text names is one the
dashboard shows (:data:`COUNTERS`), and the tests hold the texts to that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ARMS = ("blue", "orange")  # arms are named by their colour on screen; the lesson says what each is

# This week's event counts shown per arm: key in the classroom model -> label on the page.
COUNTERS: dict[str, str] = {
    "ruptures": "ruptures",
    "repairs": "repairs",
    "flares": "flares",
    "emergency": "emergency visits",
    "dismissals": "dismissals",
}

# How the page names the parameters a lesson or slider may change, with units.
SETTING_LABELS: dict[str, str] = {
    "continuity": "continuity (visits with the named clinician, 0–1)",
    "message_coherence": "message coherence (0–1)",
    "followup_interval_weeks": "follow-up every (weeks)",
    "followup_reliability": "follow-up kept (0–1)",
    "pacing_guidance": "pacing advice",
    "feedback": "feedback and supervision",
    "training_warmth": "every clinician's warmth (0–1) shifted by",
    "training_validation": "every clinician's validation (0–1) shifted by",
    "training_clarity": "every clinician's clarity (0–1) shifted by",
    "training_humility": "every clinician's cultural humility (0–1) shifted by",
    "p_rupture_base": "rupture chance per encounter (0–1)",
    "p_repair": "repair chance per encounter with a skilled clinician (0–1)",
    "p_psychosocial_offer_per_visit": "brief psychological or physio course offered per GP visit (0–1)",
    "coordinator_contact_interval_weeks": "care-coordinator contact every (weeks; 0 = none)",
}


@dataclass(frozen=True)
class ArmSetup:
    """One arm of a lesson.

    Attributes:
        label: How the lesson's text names the arm ("one named clinician").
        care: The care model of the configuration it starts from.
        changes: Service parameters changed on top of that care model.
    """

    label: str
    care: str
    changes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lesson:
    """A ready scenario for a class.

    Attributes:
        title: Shown in the lesson menu and as the heading.
        goal: What the class should learn, one sentence.
        watch: What to watch, each point naming something on screen.
        blue: The arm drawn in blue (solid lines).
        orange: The arm drawn in orange (dashed lines).
        mechanisms: Mechanism parameters changed in both arms.
    """

    title: str
    goal: str
    watch: tuple[str, ...]
    blue: ArmSetup
    orange: ArmSetup
    mechanisms: dict = field(default_factory=dict)

    def arm(self, arm: str) -> ArmSetup:
        """The setup of arm ``"blue"`` or ``"orange"``."""
        return {"blue": self.blue, "orange": self.orange}[arm]

    def counters_named(self) -> list[str]:
        """Keys of the counters that the lesson's text tells the class to watch."""
        text = " ".join(self.watch).lower()
        return [key for key, label in COUNTERS.items() if re.search(rf"\b{label}\b", text)]

    def changes(self) -> list[str]:
        """What the lesson sets, one line each, in the page's words."""
        lines = []
        for arm in ARMS:
            setup = self.arm(arm)
            sets = ", ".join(f"{SETTING_LABELS[k]} {_shown(v, k)}" for k, v in setup.changes.items())
            lines.append(f"{arm} ({setup.label}): {setup.care} care" + (f", {sets}" if sets else ""))
        if self.mechanisms:
            sets = ", ".join(f"{SETTING_LABELS[k]} {_shown(v, k)}" for k, v in self.mechanisms.items())
            lines.append(f"both arms: {sets}")
        return lines


def _shown(value: object, key: str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if key.startswith("training_"):
        return f"{value:+g}".replace("-", "−")  # a shift: signed, with a true minus sign
    return f"{value:g}" if isinstance(value, float) else str(value)


COORDINATED = ArmSetup("coordinated care", "coordinated")
FRAGMENTED = ArmSetup("fragmented care", "fragmented")

_GP_ONLY = {"p_psychosocial_offer_per_visit": 0.0, "coordinator_contact_interval_weeks": 0}
"""Coordinated care without its brief courses and coordinator contacts."""

LESSONS: dict[str, Lesson] = {
    "free_play": Lesson(
        title="Coordinated vs fragmented care",
        goal="See how the way care is organised changes the course of the very same patients.",
        watch=(
            "The Functioning and Symptoms charts: both arms hold the same patients, so every gap between "
            "blue and orange comes from how care is organised.",
            "Who sees whom: blue patients keep a few clinicians, orange patients collect many thin links.",
            "Move a slider, press Reset, then Step or ▶ to run it again.",
        ),
        blue=COORDINATED,
        orange=FRAGMENTED,
    ),
    "rupture_and_repair": Lesson(
        title="A rupture and its repair",
        goal="Learn that a rupture need not end an alliance: a clinician the patient sees again can repair "
        "it, and a repaired bond ends stronger than before.",
        watch=(
            "The ruptures and repairs counters: both arms rupture often; blue, where patients see the same "
            "clinician again and teams review cases, repairs more.",
            "Who sees whom: red links are open ruptures; they turn green when repaired.",
            "One patient: the bond line dips at a rupture (red ×) and ends above its old level at a repair (green ★).",
        ),
        blue=COORDINATED,
        orange=FRAGMENTED,
        mechanisms={"p_rupture_base": 0.1, "p_repair": 0.8},
    ),
    "one_vs_many": Lesson(
        title="One clinician vs many",
        goal="See why seeing the same clinician matters: a bond grows only between people who meet again.",
        watch=(
            "Who sees whom: blue patients keep one clinician of each kind, with thick links; orange patients "
            "collect many thin ones.",
            "The Alliance chart: blue climbs higher and stays there.",
            "One patient: the orange bond, goals and tasks fall back each time a new clinician appears "
            "(grey ticks mark encounters).",
        ),
        # Only continuity differs; the brief courses and coordinator contacts of coordinated care (M15
        # content) are off in both arms, so the one named clinician is the GP.
        blue=ArmSetup("one named clinician", "coordinated", {"continuity": 0.95, **_GP_ONLY}),
        orange=ArmSetup("whoever is free", "coordinated", {"continuity": 0.0, **_GP_ONLY}),
    ),
    "dismissal_and_shopping": Lesson(
        title="Dismissal and doctor shopping",
        goal="See how being told 'there is nothing wrong' costs trust, and how patients who give up come "
        "back through another door.",
        watch=(
            "The dismissals counter: orange clinicians dismiss symptoms much more often than blue.",
            "The Trust chart: orange falls behind; Patients by status: its disengaged band grows.",
            "The emergency visits counter: patients without a clinician they trust turn up in emergency.",
        ),
        blue=ArmSetup("validating clinicians", "fragmented"),
        orange=ArmSetup("dismissive clinicians", "fragmented", {"training_validation": -0.35}),
    ),
    "pacing_vs_boom_bust": Lesson(
        title="Pacing vs boom–bust",
        goal="See how advice on pacing activity turns good weeks into lasting gains instead of flares.",
        watch=(
            "The flares counter: without pacing advice, good weeks lead to overdoing it, and orange flares more.",
            "The Functioning chart: blue climbs more steadily.",
        ),
        blue=ArmSetup("pacing taught", "coordinated", {"pacing_guidance": True}),
        orange=ArmSetup("no pacing advice", "coordinated", {"pacing_guidance": False}),
    ),
}
