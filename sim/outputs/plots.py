"""Standard figures of an experiment, from per-week intervals across replicates.

Each line is an arm's weekly mean over replicates and its band the 95%
t-interval across replicates (:func:`sim.analysis.experiment.weekly_intervals`,
the interval ``summary.csv`` uses), computed once for all figures.

Figures are matplotlib ``Figure`` objects drawn straight to PNG: no pyplot, no
backend switch, and nothing plotting-related loaded until a figure is drawn,
so importing this module is cheap and drawing works headless and inside a
notebook alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..analysis.experiment import weekly_intervals

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGURES: dict[str, tuple[str, str]] = {
    "function": ("function_mean", "Functioning (0-100, higher better)"),
    "symptoms": ("symptoms_mean", "Symptoms (PHQ-15, 0-30)"),
    "alliance": ("alliance_mean", "Alliance with latest clinician (0-1)"),
    "trust": ("trust_mean", "Trust (0-1)"),
    "disengaged": ("share_disengaged", "Share disengaged (out of care) that week"),
}

THEME: dict[str, Any] = {
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.grid": True,
    "axes.labelcolor": ".15",
    "axes.labelsize": 12.0,
    "axes.linewidth": 1.25,
    "axes.prop_cycle": "cycler('color', ['#4c72b0', '#dd8452', '#55a868', '#c44e52', '#8172b3', "
    "'#937860', '#da8bc3', '#8c8c8c', '#ccb974', '#64b5cd'])",
    "axes.titlesize": 12.0,
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 12.0,
    "grid.color": ".8",
    "grid.linewidth": 1.0,
    "legend.fontsize": 11.0,
    "legend.title_fontsize": 12.0,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "text.color": ".15",
    "xtick.bottom": False,
    "xtick.color": ".15",
    "xtick.labelsize": 11.0,
    "xtick.major.size": 6.0,
    "xtick.major.width": 1.25,
    "xtick.minor.size": 4.0,
    "xtick.minor.width": 1.0,
    "ytick.color": ".15",
    "ytick.labelsize": 11.0,
    "ytick.left": False,
    "ytick.major.size": 6.0,
    "ytick.major.width": 1.25,
    "ytick.minor.size": 4.0,
    "ytick.minor.width": 1.0,
}
"""Seaborn's ``whitegrid`` style, ``notebook`` context and ``deep`` palette, written out:
importing seaborn loads scipy.stats (~0.7 s) just to set these (tests check they match)."""

BAND_ALPHA = 0.2  # opacity of an interval band (seaborn's)


@contextmanager
def themed() -> Iterator[type[Figure]]:
    """Draw in the project's theme (for this block only): yields ``matplotlib.figure.Figure`` to build figures with."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(THEME):
        yield Figure


def standard_figures(weekly: pd.DataFrame, folder: Path) -> list[Path]:
    """Draw each standard figure (one line per arm, band across replicates) as a PNG.

    Args:
        weekly: The weekly table (``arm``, ``replicate``, ``week`` and aggregates).
        folder: Where to write the PNG files (created).

    Returns:
        The paths written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = weekly.assign(share_disengaged=weekly["n_disengaged"] / weekly["n_patients"])
    bands = weekly_intervals(data, [column for column, _ in FIGURES.values()])
    paths = []
    with themed() as new_figure:
        for name, (column, label) in FIGURES.items():
            fig = new_figure(figsize=(7, 4))
            ax = fig.subplots()
            for arm, part in bands.groupby("arm", sort=False):
                week = part["week"].to_numpy()
                (line,) = ax.plot(week, part[column].to_numpy(), label=arm.replace("_", " "))
                low, high = part[f"{column}_low"].to_numpy(), part[f"{column}_high"].to_numpy()
                ax.fill_between(week, low, high, color=line.get_color(), alpha=BAND_ALPHA, linewidth=0)
            ax.legend(title="care model")
            ax.set(xlabel="Week", ylabel=label, title=f"{label} by care model")
            fig.tight_layout()
            path = folder / f"{name}.png"
            fig.savefig(path, dpi=110)
            paths.append(path)
    return paths
