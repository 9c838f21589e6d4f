"""Helpers every command-line tool shares: the one config-error exit, the progress bar, output folders.

Every entry point (run, validate, calibrate, sensitivity, collect) refuses bad
input the same way: one line on stderr naming the key, the value and what is
allowed, exit status 2, no traceback, and nothing written.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm

from sim.core.params import ConfigError

ROOT = Path(__file__).resolve().parents[1]

BAD_INPUT = 2
"""Exit status of every refused input (and of a write that ran out of space)."""


def config_error(message: str | BaseException) -> int:
    """Print one line on stderr and return exit status 2: the one way every tool refuses input.

    Args:
        message: The error (its text is used) or the line itself. Anything
            after the first line is dropped, so a library's long message can
            never bury the key; a line without a prefix gets ``config error:``.

    Returns:
        2, for ``main`` to return (or :func:`exit_config_error` to exit with).
    """
    text = str(message).strip().splitlines()[0].strip() if str(message).strip() else "config error"
    if not text.startswith(("config error:", "error:")):
        text = f"config error: {text}"
    print(text, file=sys.stderr)
    return BAD_INPUT


def exit_config_error(message: str | BaseException) -> NoReturn:
    """:func:`config_error`, then exit with status 2 (where there is no ``main`` to return from)."""
    sys.exit(config_error(message))


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are the one-line config errors of every other check."""

    def error(self, message: str) -> NoReturn:
        """Refuse a bad option in one line (argparse would print the usage, then the error)."""
        match = re.match(r"argument (\S+?)(?:/\S+)?: (.*)", message)
        exit_config_error(f"{match.group(1)} {match.group(2)}" if match else message)


def whole(lo: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``lo`` (``--trials 0`` is refused before any work)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < lo:
            raise argparse.ArgumentTypeError(f"= {text!r} is not allowed; expected a whole number >= {lo}")
        return value

    return parse


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
    parser.add_argument(
        "--replicates", type=whole(1), default=replicates, help=f"replicates per arm (default {replicates})"
    )
    parser.add_argument("--patients", type=whole(1), default=patients, help=f"patients per run (default {patients})")
    parser.add_argument("--out", type=Path, help=f"results folder (default {out})")
    parser.add_argument("overrides", nargs="*", help="model config overrides, e.g. arms.fragmented.continuity=0.4")


def size_overrides(args: argparse.Namespace) -> list[str]:
    """The overrides that size the runs, then the user's own (which win)."""
    return [f"run.replicates={args.replicates}", f"population.n_patients={args.patients}", *args.overrides]


def progress(total: int, desc: str, unit: str = "run") -> tuple[tqdm, Callable[[str, int], None]]:
    """A progress bar and the callback ``run_experiment`` calls after each run (every tool's one bar)."""
    tqdm.monitor_interval = 0  # no monitor thread: parallel runs fork worker processes from this one
    bar = tqdm(total=total, desc=desc, unit=unit, disable=None)

    def step(arm: str, replicate: int) -> None:
        bar.set_postfix_str(f"{arm} r{replicate}")
        bar.update()

    return bar, step


def existing_ancestor(path: Path) -> Path:
    """The nearest folder above (or at) ``path`` that exists: what a run may create lies below it."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(folder: Path, key: str = "output folder") -> None:
    """Refuse an output folder that cannot be created or written, before any work.

    The nearest existing folder above it must be a folder (not a file) in which
    a file can really be created (a test file is made and removed: permission
    bits alone do not tell, e.g. for root or a read-only mount).

    Raises:
        ConfigError: naming the folder and why it cannot be used.
    """
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"config error: {key} = {str(folder)!r} is not allowed; expected a folder, not a file")
    probe_in = existing_ancestor(folder)
    if not probe_in.is_dir():
        raise ConfigError(
            f"config error: {key} = {str(folder)!r} is not allowed; {str(probe_in)!r} is a file, not a folder"
        )
    try:
        with tempfile.NamedTemporaryFile(dir=probe_in, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ConfigError(
            f"config error: {key} = {str(folder)!r} is not allowed; expected a writable folder "
            f"({str(probe_in)!r}: {err.strerror or err})"
        ) from err


def remove_created(folder: Path, kept: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``kept``, those that are empty."""
    folder, kept = Path(folder).absolute(), Path(kept).absolute()
    while folder != kept and kept in folder.parents:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        elif folder.exists():
            return
        folder = folder.parent


@contextlib.contextmanager
def writing(folder: Path, kept: Path | None = None) -> Iterator[None]:
    """Write results into ``folder``; if the disk fills up, leave nothing and exit in one line.

    The writer removes its own unfinished files; this removes the folders the
    run created on the way (``folder`` and missing parents, if empty) and never
    anything at or above ``kept``, the nearest folder that existed before the
    run (by default, before this write).
    """
    kept = existing_ancestor(folder) if kept is None else Path(kept)
    try:
        yield
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise
        remove_created(folder, kept)
        exit_config_error(f"error: could not write {str(folder)!r}: {err.strerror or err}; nothing was kept")
