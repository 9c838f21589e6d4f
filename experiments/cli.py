"""Small helpers shared by the command-line tools (validate, calibrate, sensitivity)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]


def results_folder(kind: str) -> Path:
    """``results/<kind>/<YYYY-MM-DD_HH-MM-SS>`` under the repo root."""
    return ROOT / "results" / kind / dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def add_model_arguments(
    parser: argparse.ArgumentParser, replicates: int, patients: int, out: str = "results/<tool>/<timestamp>"
) -> None:
    """Options every tool shares: size of the runs and Hydra-style overrides of the model config.

    Args:
        parser: The tool's parser.
        replicates: Default replicates per arm.
        patients: Default patients per run.
        out: Where the tool writes when ``--out`` is not given, as ``--help`` shows it.
    """
    parser.add_argument("--replicates", type=int, default=replicates, help=f"replicates per arm (default {replicates})")
    parser.add_argument("--patients", type=int, default=patients, help=f"patients per run (default {patients})")
    parser.add_argument("--out", type=Path, help=f"results folder (default {out})")
    parser.add_argument("overrides", nargs="*", help="model config overrides, e.g. arms.fragmented.continuity=0.4")


def size_overrides(args: argparse.Namespace) -> list[str]:
    """The overrides that size the runs, then the user's own (which win)."""
    return [f"run.replicates={args.replicates}", f"population.n_patients={args.patients}", *args.overrides]


def progress(total: int, desc: str) -> tuple[tqdm, Callable[[str, int], None]]:
    """A progress bar and the callback ``run_experiment`` calls after each run."""
    bar = tqdm(total=total, desc=desc, unit="run", disable=None)

    def step(arm: str, replicate: int) -> None:
        bar.set_postfix_str(f"{arm} r{replicate}")
        bar.update()

    return bar, step
