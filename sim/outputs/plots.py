"""Standard figures of an experiment (seaborn), from the weekly table.

Bands are 95% intervals of the weekly mean across replicates.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

FIGURES: dict[str, tuple[str, str]] = {
    "function": ("function_mean", "Functioning (0-100, higher better)"),
    "symptoms": ("symptoms_mean", "Symptoms (PHQ-15, 0-30)"),
    "alliance": ("alliance_mean", "Alliance with latest clinician (0-1)"),
    "trust": ("trust_mean", "Trust (0-1)"),
    "disengaged": ("share_disengaged", "Share disengaged"),
}


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
    sns.set_theme(style="whitegrid", context="notebook")
    paths = []
    for name, (column, label) in FIGURES.items():
        fig, ax = plt.subplots(figsize=(7, 4))
        sns.lineplot(data=data, x="week", y=column, hue="arm", errorbar=("ci", 95), n_boot=500, seed=0, ax=ax)
        ax.set(xlabel="Week", ylabel=label, title=f"{label} by care model")
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
