"""Crash-safe files and folders: complete results, or nothing any tool mistakes for them.

A folder of results is written into a private hidden sibling,
``.<name>.tmp-<pid>-<random>``, and appears under its final name by one atomic
rename, after every file in it is written and flushed to disk. At any moment
(an exception, SIGKILL, a power cut) a folder under a final name is therefore
complete, and anything else is a hidden temporary folder that
:func:`complete_folders` never returns. The final name is claimed at that
rename: an absent name or an empty folder is taken, a non-empty one is never
written into (``<name>_1``, ``<name>_2`` … are tried instead), so two processes
aiming at the same name both finish, in different folders. Single files are
replaced the same way (:func:`atomic_path`). Nothing here deletes anything it
did not create.

Domain-free on purpose: every command that writes results (runs, sweeps,
calibration, sensitivity, collect, validation) uses these primitives.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

TEMP_MARKER = ".tmp-"
"""Part of every temporary name: such a file or folder is never complete."""

PAUSE_VARIABLE = "ALLIANCE_SIM_PAUSE_AT"
"""Test-only hook: ``<phase>`` or ``<phase>@<k>`` stops the writer at that phase (see :func:`pause_point`)."""

PAUSE_SECONDS = 600.0
"""How long a paused writer waits for the test to kill it (it carries on afterwards)."""

# Errors of rename(2) meaning "that name is taken": a non-empty folder or a file is there.
_TAKEN = {errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR}

_reached: Counter[str] = Counter()


def temporary_name(name: str) -> str:
    """A hidden name, unique to this process and call, for the temporary twin of ``name``.

    The suffix is kept (``.figure.tmp-<pid>-<random>.png``) so writers that
    infer a format from it still do.
    """
    path = Path(name)
    return f".{path.stem}{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}"


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary name: hidden, carrying the temp marker, or a legacy ``.partial``."""
    name = Path(path).name
    return name.startswith(".") or TEMP_MARKER in name or name.endswith(".partial")


def complete_folders(parent: Path, marker: str) -> list[Path]:
    """Complete folders directly under ``parent``, sorted by name.

    Args:
        parent: The folder to look in (absent: no folders).
        marker: A file every complete folder holds, written last (e.g. ``manifest.json``).

    Returns:
        Folders with a final (non-temporary) name that hold ``marker``; empty
        folders made by a launcher and a killed writer's leftovers are not among them.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir() and not is_temporary(p) and (p / marker).is_file())


def remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if it is an empty folder (rmdir cannot remove anything else)."""
    try:
        Path(folder).rmdir()
    except OSError:
        pass


def pause_point(phase: str) -> None:
    """Stop here if ``ALLIANCE_SIM_PAUSE_AT`` names this phase (test-only fault injection).

    ``ALLIANCE_SIM_PAUSE_AT=<phase>@<k>`` stops the k-th time this process
    reaches the phase (default the first). The writer prints ``paused at
    <phase>`` to stderr and sleeps, so a test can kill it at a known moment.
    """
    wanted = os.environ.get(PAUSE_VARIABLE)
    if not wanted:
        return
    name, _, nth = wanted.partition("@")
    if name != phase:
        return
    _reached[phase] += 1
    if _reached[phase] == int(nth or 1):
        print(f"paused at {phase}", file=sys.stderr, flush=True)
        time.sleep(PAUSE_SECONDS)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    # Files first, then their folders, so the rename publishes data already on disk.
    for root, _dirs, files in os.walk(folder):
        for name in files:
            _fsync(Path(root) / name)
        _fsync(Path(root))


def claim(source: Path, target: Path) -> Path:
    """Rename ``source`` to ``target``, or to the first free ``target_N``; returns the name taken.

    A name is free if nothing is there or an empty folder is (rename(2)
    replaces an empty folder atomically and fails on a non-empty one), so
    the claim is exclusive even between processes racing for the same name.
    """
    candidate, n = Path(target), 0
    while True:
        try:
            os.rename(source, candidate)
            return candidate
        except OSError as err:
            if err.errno not in _TAKEN:
                raise
        n += 1
        candidate = candidate.with_name(f"{Path(target).name}_{n}")


class StagedFolder:
    """A private temporary folder that becomes ``target`` (or a free ``target_N``) by one rename.

    Write every file into :attr:`path`, then call :meth:`commit`. Used as a
    context manager, an exception (or Ctrl-C) before the commit removes the
    temporary folder, which this object created; a SIGKILL leaves it hidden.

        with StagedFolder(results / "run") as stage:
            (stage.path / "table.csv").write_text(...)
            final = stage.commit()
    """

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.path = self.target.with_name(temporary_name(self.target.name))
        self.path.mkdir()  # exclusive: the name is unique to this process and call
        self.final: Path | None = None

    def commit(self) -> Path:
        """Flush every file to disk and publish the folder under its final name; returns that name."""
        _fsync_tree(self.path)
        self.final = claim(self.path, self.target)
        _fsync(self.final.parent)
        return self.final

    def discard(self) -> None:
        """Remove the temporary folder (never anything else), if it was not committed."""
        if self.final is None:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> StagedFolder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.discard()


def replace_folder(stage: StagedFolder, marker: str) -> Path:
    """Commit ``stage`` in place of an earlier complete folder of the same kind at its target.

    The earlier folder (recognised by ``marker``, so only a folder this kind
    of writer made is ever replaced) is first moved aside to a hidden name,
    then the new one is renamed in and the old one removed: a reader sees the
    old folder, no folder, or the new one, never a mixture.

    Returns:
        The final folder (``stage.target``, or ``target_N`` if the name holds something else).
    """
    old = stage.target
    aside = None
    if old.is_dir() and (old / marker).is_file():
        aside = old.with_name(temporary_name(old.name))
        os.rename(old, aside)
    final = stage.commit()
    if aside is not None:
        shutil.rmtree(aside)
    return final


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to; it replaces ``path`` in one rename on success.

    The temporary file sits next to ``path`` under a hidden unique name; it is
    flushed to disk before the rename and removed if writing fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(temporary_name(path.name))
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent)


def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` so that readers see the old file or the whole new one."""
    with atomic_path(path) as tmp:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content)
    return Path(path)
