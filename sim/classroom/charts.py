"""The dashboard's charts, drawn with matplotlib fast enough to redraw every week.

Axes, ticks, labels and legends do not change from week to week (the ranges
are fixed: functioning 0–100, symptoms 0–30, states 0–1, weeks 0 to the
horizon), so each chart draws them once and keeps the picture; a week's
redraw pastes that picture back and draws only the data on top (matplotlib's
"blitting"), then encodes a PNG. That is several times faster than building
and drawing a figure each week, which is what keeps a step of the
1,000-patient classroom within the time a class will wait.

The blue arm is drawn solid and the orange arm dashed, so the arms differ by
style as well as colour.
"""

from __future__ import annotations

import functools
import io

import matplotlib.style
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image

from ..core.params import ROLES
from .lessons import ARMS
from .model import ClassroomModel
from .network import EVENTS, REPAIR_SHOWN_WEEKS, REPAIRED, RUPTURED, STEADY, layout

DPI = 90
FONT = 10  # points: readable from the back of a classroom at the page's size
ARM_COLOUR = {"blue": "#1f77b4", "orange": "#ff7f0e"}
ARM_STYLE = {"blue": "-", "orange": "--"}
FUNCTION_MAP = "RdYlGn"  # functioning: red (poor) to green (good)
LINK_COLOUR = {STEADY: "#8c8c8c", RUPTURED: "#d62728", REPAIRED: "#2ca02c"}
ROLE_COLOUR = ("#4d4d4d", "#9467bd", "#17becf", "#8c564b", "#e377c2")
ROLE_NAMES = {
    "gp": "GP",
    "specialist": "specialist",
    "psychologist": "psychologist",
    "physiotherapist": "physiotherapist",
    "coordinator": "coordinator",
}
LINK_WIDTH = (0.4, 5.0)  # points: a link's width at alliance 0, and what alliance 1 adds
FADED_AFTER_WEEKS = 13  # links to clinicians not seen for a quarter are drawn faint: past, not present care
# Statuses stacked bottom to top, with colour and hatching so they read in grey too.
STATUS_STYLE = {
    "in_care": ("in care", "#2ca02c", ""),
    "waiting": ("waiting", "#f2c14e", ".."),
    "not_presented": ("not presented", "#d9d9d9", ""),
    "discharged": ("discharged", "#9467bd", "xx"),
    "disengaged": ("disengaged", "#d62728", "//"),
}
OUTCOME_PANELS = (
    ("function_mean", "Functioning (0–100, higher better)", 100.0),
    ("symptoms_mean", "Symptoms, PHQ-15 (0–30, lower better)", 30.0),
    ("alliance_mean", "Alliance with latest clinician (0–1)", 1.0),
    ("trust_mean", "Trust in clinicians (0–1)", 1.0),
)


def _own_style(method):
    """Draw in matplotlib's default style, whatever style the process set (``sim.outputs`` sets a seaborn theme).

    Part of a chart is drawn once and part every week; both must be drawn with
    the same settings, and the charts should look the same in every process.
    """

    @functools.wraps(method)
    def in_own_style(*args, **kwargs):
        with matplotlib.style.context("default"):
            return method(*args, **kwargs)

    return in_own_style


class _Chart:
    """A figure whose fixed parts are drawn once; :meth:`_png` draws the given artists on top."""

    def __init__(self, width: float, height: float) -> None:
        self.figure = Figure(figsize=(width, height), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self._background = None

    def _freeze(self) -> None:
        """Draw everything not animated and keep the picture."""
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _png(self, artists: list) -> bytes:
        self.canvas.restore_region(self._background)
        for artist in artists:
            self.figure.draw_artist(artist)
        for ax in self.figure.axes:  # the frame goes over the data, as in a full draw
            for spine in ax.spines.values() if ax.axison else ():
                self.figure.draw_artist(spine)
        size = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", size, self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="PNG", compress_level=1)  # light compression: the page is local
        return out.getvalue()


def _week_axis(ax, horizon: int, ylabel: str, top: float) -> None:
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, top)
    ax.set_xlabel("week", fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    ax.grid(alpha=0.3)


def _arm_handles(model: ClassroomModel) -> list[Line2D]:
    return [
        Line2D(
            [], [], color=ARM_COLOUR[arm], linestyle=ARM_STYLE[arm], lw=2, label=f"{arm}: {model.lesson.arm(arm).label}"
        )
        for arm in ARMS
    ]


class OutcomeChart(_Chart):
    """Functioning, symptoms, alliance and trust over the weeks, both arms in each panel."""

    @_own_style
    def __init__(self, model: ClassroomModel) -> None:
        super().__init__(6.6, 5.4)
        self.figure.subplots_adjust(left=0.09, right=0.98, top=0.85, bottom=0.1, hspace=0.55, wspace=0.25)
        axes = self.figure.subplots(2, 2)
        self.lines = {}
        for ax, (column, title, top) in zip(axes.flat, OUTCOME_PANELS, strict=True):
            _week_axis(ax, model.horizon, "", top)
            ax.set_title(title, fontsize=FONT)
            for arm in ARMS:
                (self.lines[column, arm],) = ax.plot(
                    [], [], color=ARM_COLOUR[arm], linestyle=ARM_STYLE[arm], lw=2, animated=True
                )
        self.figure.legend(handles=_arm_handles(model), loc="upper center", ncol=2, fontsize=FONT, frameon=False)
        self._freeze()

    @_own_style
    def png(self, model: ClassroomModel) -> bytes:
        """This week's picture."""
        weeks = np.asarray(model.datacollector.model_vars["week"])
        for (column, arm), line in self.lines.items():
            line.set_data(weeks, model.series(column, arm))
        return self._png(list(self.lines.values()))


class StatusChart(_Chart):
    """Patients by status over the weeks, stacked so the bands add up to everyone; one panel per arm."""

    @_own_style
    def __init__(self, model: ClassroomModel) -> None:
        super().__init__(6.6, 3.4)
        self.figure.subplots_adjust(left=0.1, right=0.98, top=0.72, bottom=0.16, wspace=0.25)
        self.axes = dict(zip(ARMS, self.figure.subplots(1, 2), strict=True))
        for arm, ax in self.axes.items():
            _week_axis(ax, model.horizon, "patients" if arm == ARMS[0] else "", model.n_patients)
            ax.set_title(f"{arm}: {model.lesson.arm(arm).label}", fontsize=FONT, color=ARM_COLOUR[arm])
        handles = [Patch(facecolor=c, hatch=h, edgecolor="white", label=name) for name, c, h in STATUS_STYLE.values()]
        self.figure.legend(handles=handles, loc="upper center", ncol=5, fontsize=FONT - 1, frameon=False)
        self.figure.text(0.5, 0.8, "Patients by status", ha="center", fontsize=FONT)
        self._freeze()

    @_own_style
    def png(self, model: ClassroomModel) -> bytes:
        """This week's picture."""
        weeks = np.asarray(model.datacollector.model_vars["week"], dtype=float)
        bands = []
        for arm, ax in self.axes.items():
            low = np.zeros(weeks.size)
            for status, (_, colour, hatch) in STATUS_STYLE.items():
                high = low + model.series(f"n_{status}", arm)
                bands.append(
                    ax.fill_between(
                        weeks, low, high, facecolor=colour, hatch=hatch, edgecolor="white", lw=0, animated=True
                    )
                )
                low = high
        picture = self._png(bands)
        for band in bands:
            band.remove()
        return picture


class NetworkChart(_Chart):
    """Who sees whom: the sampled patients and their clinicians, one panel per arm.

    Link width is the dyad's alliance, link colour marks open ruptures (red)
    and repairs of the last weeks (green); a patient's colour is their
    functioning. The chosen patient is ringed.
    """

    @_own_style
    def __init__(self, model: ClassroomModel, team_size: int) -> None:
        super().__init__(6.6, 4.6)
        self.figure.subplots_adjust(left=0.01, right=0.86, top=0.76, bottom=0.02, wspace=0.05)
        blue = model.arms[ARMS[0]]
        self.patient_xy, self.clinician_xy = layout(blue, model.tracked, team_size)
        self.axes = dict(zip(ARMS, self.figure.subplots(1, 2), strict=True))
        self.norm = Normalize(0.0, 100.0)
        roles = blue.clinicians.role
        self.clinicians = {}  # drawn each week over the links, so links never hide them
        for arm, ax in self.axes.items():
            ax.set_xlim(-1.2, 1.2)
            ax.set_ylim(-1.2, 1.2)
            ax.set_aspect("equal")
            ax.axis("off")
            ax.set_title(f"{arm}: {model.lesson.arm(arm).label}", fontsize=FONT, color=ARM_COLOUR[arm])
            self.clinicians[arm] = ax.scatter(
                *self.clinician_xy.T, s=22, marker="s", c=[ROLE_COLOUR[r] for r in roles], zorder=3, animated=True
            )
            for row, (x, y) in enumerate(self.patient_xy):
                ax.text(1.13 * x, 1.13 * y, str(row), fontsize=FONT - 3, ha="center", va="center", color="#555555")
        links = [
            Line2D([], [], color=LINK_COLOUR[STEADY], lw=2, label="alliance (width)"),
            Line2D(
                [], [], color=LINK_COLOUR[STEADY], lw=2, alpha=0.25, label=f"not seen for {FADED_AFTER_WEEKS}+ weeks"
            ),
            Line2D([], [], color=LINK_COLOUR[RUPTURED], lw=2, label="open rupture"),
            Line2D([], [], color=LINK_COLOUR[REPAIRED], lw=2, label=f"repaired (last {REPAIR_SHOWN_WEEKS} weeks)"),
        ]
        roles = [
            Line2D([], [], marker="s", ls="", color=ROLE_COLOUR[r], label=ROLE_NAMES[name])
            for r, name in enumerate(ROLES)
        ]
        self.figure.legend(handles=links, loc="upper left", ncol=2, fontsize=FONT - 1, frameon=False)
        self.figure.legend(
            handles=roles, loc="upper left", bbox_to_anchor=(0, 0.88), ncol=5, fontsize=FONT - 2, frameon=False
        )
        bar = self.figure.add_axes((0.89, 0.1, 0.025, 0.6))
        self.figure.colorbar(
            ScalarMappable(norm=self.norm, cmap=FUNCTION_MAP), cax=bar, label="patient's functioning (0–100)"
        ).ax.tick_params(labelsize=FONT - 2)
        self._freeze()

    @_own_style
    def png(self, model: ClassroomModel, chosen: int) -> bytes:
        """This week's picture, with patient ``chosen`` (row in the sample) ringed."""
        artists, weekly = [], []
        for arm, ax in self.axes.items():
            sample = model.dyads[arm]
            now = sample.links()
            segments = np.stack([self.patient_xy[now.row], self.clinician_xy[now.clinician]], axis=1)
            colours = to_rgba_array([LINK_COLOUR[s] for s in now.state])
            colours[:, 3] = np.where(now.weeks_since_seen > FADED_AFTER_WEEKS, 0.25, 0.9)
            widths = LINK_WIDTH[0] + LINK_WIDTH[1] * now.alliance
            links = LineCollection(segments, linewidths=widths, colors=colours, animated=True)
            ax.add_collection(links, autolim=False)
            patients = ax.scatter(
                *self.patient_xy.T,
                s=40,
                c=sample.history["function"][-1],
                cmap=FUNCTION_MAP,
                norm=self.norm,
                edgecolors="k",
                linewidths=0.4,
                animated=True,
            )
            ring = ax.scatter(
                *self.patient_xy[chosen], s=160, facecolors="none", edgecolors="k", linewidths=1.8, animated=True
            )
            weekly += [links, patients, ring]
            artists += [links, self.clinicians[arm], patients, ring]  # in drawing order
        picture = self._png(artists)
        for artist in weekly:
            artist.remove()
        return picture


EVENT_STYLE = {  # event marked in One patient -> (marker, colour, height: the "floor" row, "mid" row or the bond)
    "encounter": ("|", "#7f7f7f", "floor"),
    "new_clinician": ("o", "k", "floor"),
    "validated": ("^", "#2ca02c", "mid"),
    "dismissed": ("v", "#d62728", "mid"),
    "rupture": ("x", "#d62728", "bond"),
    "repair": ("*", "#2ca02c", "bond"),
}
PART_STYLE = {"bond": "-", "goals": "--", "tasks": ":"}
FLOOR, MID = 0.04, 0.12  # heights of the event rows under the alliance lines


class PatientChart(_Chart):
    """One sampled patient in both arms: bond, goals and tasks with the clinician of the latest encounter."""

    @_own_style
    def __init__(self, model: ClassroomModel) -> None:
        super().__init__(6.6, 3.6)
        self.figure.subplots_adjust(left=0.1, right=0.98, top=0.7, bottom=0.15, wspace=0.12)
        self.axes = dict(zip(ARMS, self.figure.subplots(1, 2, sharey=True), strict=True))
        self.lines = {}
        for arm, ax in self.axes.items():
            _week_axis(ax, model.horizon, "with latest clinician (0–1)" if arm == ARMS[0] else "", 1.0)
            ax.set_title(f"{arm}: {model.lesson.arm(arm).label}", fontsize=FONT, color=ARM_COLOUR[arm])
            for part, style in PART_STYLE.items():
                (self.lines[arm, part],) = ax.plot([], [], color=ARM_COLOUR[arm], ls=style, lw=1.8, animated=True)
        parts = [Line2D([], [], color="#555555", ls=style, lw=1.8, label=part) for part, style in PART_STYLE.items()]
        events = [
            Line2D([], [], marker=marker, ls="", color=colour, label=EVENTS[event])
            for event, (marker, colour, _) in EVENT_STYLE.items()
        ]
        self.figure.legend(handles=parts + events, loc="upper center", ncol=5, fontsize=FONT - 1, frameon=False)
        self._freeze()

    @_own_style
    def png(self, model: ClassroomModel, chosen: int) -> bytes:
        """This week's picture of patient ``chosen`` (row in the sample)."""
        artists = []
        for arm, ax in self.axes.items():
            sample = model.dyads[arm]
            weeks = np.arange(len(sample.history["bond"]))
            bond = sample.series("bond", chosen)
            for part in PART_STYLE:
                line = self.lines[arm, part]
                line.set_data(weeks, sample.series(part, chosen))
                artists.append(line)
            for event, (marker, colour, where) in EVENT_STYLE.items():
                when = sample.series(event, chosen)
                if not when.any():
                    continue
                height = {"floor": np.full(when.sum(), FLOOR), "mid": np.full(when.sum(), MID), "bond": bond[when]}
                (marks,) = ax.plot(weeks[when], height[where], marker=marker, ls="", color=colour, animated=True)
                artists.append(marks)
        picture = self._png(artists)
        for artist in artists:
            if artist not in self.lines.values():
                artist.remove()
        return picture
