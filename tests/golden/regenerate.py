"""Regenerate the golden run on purpose (after an intended change of model behaviour).

    .venv/bin/python tests/golden/regenerate.py

Then look at the diff of ``tests/golden/weekly_small.csv`` and say in the
commit message why the numbers moved.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import compose_config  # noqa: E402

from sim.analysis.experiment import run_experiment  # noqa: E402

GOLDEN_OVERRIDES = ("population.n_patients=150", "run.replicates=1", "run.weeks=26", "run.seed=7")
COLUMNS = [
    "arm",
    "replicate",
    "week",
    "function_mean",
    "symptoms_mean",
    "alliance_mean",
    "trust_mean",
    "adherence_mean",
    "n_in_care",
    "n_disengaged",
    "visits",
    "investigations",
    "emergency",
    "cost",
]


def golden_weekly():
    """The weekly table of the golden run (the default experiment, shrunk)."""
    return run_experiment(compose_config(*GOLDEN_OVERRIDES)).weekly[COLUMNS]


if __name__ == "__main__":
    golden_weekly().to_csv(HERE / "weekly_small.csv", index=False, float_format="%.10g")
    print(f"wrote {HERE / 'weekly_small.csv'}")
