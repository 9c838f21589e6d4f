"""Named random streams: common random numbers across arms.

Every random decision in the model draws from its own stream, derived from the
run's seed and the stream's name, and every stream draws one number per
patient (or per clinician) per week whether or not the number is used. So two
arms that share a seed see the same draw for the same patient, week and
purpose; they differ only where care differs (common random numbers), and a
change in one mechanism never shifts the draws of another.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

import numpy as np


class Stream(StrEnum):
    """The name of every random stream, declared once; each draw in the model names one.

    Members are strings, so ``Stream.DROPOUT == "dropout"`` and a stream's
    seed depends only on its name.
    """

    # Drawn once, at week 0 (whole generators, any number of draws).
    COHORT = "cohort"  # patients' traits and initial state (sim.core.state)
    WORKFORCE = "workforce"  # clinicians' traits (sim.core.state)
    ARRIVALS = "arrivals"  # open cohort: new referrals per week (sim.core.state)

    # Drawn every week, one uniform number per patient (M id, and the module that uses it).
    REPRESENT = "represent"  # M13 doctor shopping (engagement)
    FOLLOWUP_KEPT = "followup_kept"  # M5 a scheduled follow-up is booked and kept (pathways)
    ON_DEMAND = "on_demand"  # M18 patient-initiated contact (pathways)
    EPISODE_LENGTH = "episode_length"  # M15 visits in a specialist episode (pathways)
    ROUTE_LEAD = "route_lead"  # M15 continuity: the lead clinician is seen (pathways)
    ROUTE_PICK = "route_pick"  # M15 whoever is free in the team (pathways)
    SLOT_TIEBREAK = "slot_tiebreak"  # M18 ties in a clinician's queue (pathways)
    COHERENCE = "coherence"  # M15/M5 a new clinician's explanation fits the plan (alliance)
    VALIDATION = "validation"  # M2 validated or dismissed (alliance)
    RUPTURE = "rupture"  # M12 a rupture opens (alliance)
    REPAIR = "repair"  # M12 an open rupture is repaired (alliance)
    INVESTIGATION = "investigation"  # M14 a test is ordered (alliance)
    RESULT_EXPLAINED = "result_explained"  # M14 a normal result is explained (alliance)
    REFERRAL = "referral"  # M15 a GP refers to a specialist (pathways)
    REFERRAL_LOST = "referral_lost"  # M15 navigation barrier (pathways)
    REFERRAL_DELAY = "referral_delay"  # M15 wait for the specialist (pathways)
    CASE_REVIEW_REPAIR = "case_review_repair"  # M15/M12 repair at a case review (pathways)
    PSYCHOSOCIAL_OFFER = "psychosocial_offer"  # M15 a GP offers a brief course (pathways)
    PSYCHOSOCIAL_UPTAKE = "psychosocial_uptake"  # M15/M5/M3 the patient takes it up (pathways)
    COURSE_LENGTH = "course_length"  # M15 sessions in the course (pathways)
    STEP_UPTAKE = "step_uptake"  # M17/M5/M3 a stepped-up patient takes up psychosocial care (pathways)
    FLARE = "flare"  # M9 a flare starts (recovery)
    FLARE_SIZE = "flare_size"  # M9 how big it is (recovery)
    EMERGENCY = "emergency"  # M13/M18 emergency attendance (engagement)
    EMERGENCY_TEST = "emergency_test"  # M14 the emergency department tests (engagement)
    DROPOUT = "dropout"  # M13 disengagement (engagement)

    # Drawn every week, one standard normal number per patient.
    FLUCTUATION = "fluctuation"  # M9 week-to-week symptom fluctuation (recovery)


INITIAL_STREAMS: tuple[Stream, ...] = (Stream.COHORT, Stream.WORKFORCE, Stream.ARRIVALS)
"""Streams used once, to draw the cohort and the team."""

WEEKLY_NORMAL_STREAMS: tuple[Stream, ...] = (Stream.FLUCTUATION,)
"""Standard normal streams drawn once a week, one number per patient."""

WEEKLY_UNIFORM_STREAMS: tuple[Stream, ...] = tuple(
    s for s in Stream if s not in INITIAL_STREAMS and s not in WEEKLY_NORMAL_STREAMS
)
"""Uniform streams drawn once a week, one number per patient (all the others)."""

CARE_INDEPENDENT_STREAMS: frozenset[Stream] = frozenset(
    {Stream.COHORT, Stream.WORKFORCE, Stream.ARRIVALS, Stream.FLUCTUATION, Stream.FLARE, Stream.FLARE_SIZE}
)
"""Streams whose draws cannot depend on the care model: traits, life events."""


def replicate_seed(seed: int, replicate: int) -> int:
    """The seed of one replicate, derived from the experiment's base seed.

    Args:
        seed: Base seed of the experiment.
        replicate: Replicate index, from 0.

    Returns:
        A 63-bit seed, the same for every arm of that replicate.
    """
    state = np.random.SeedSequence([seed, replicate]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


BLOCK_DRAWS = 1 << 14
"""Numbers a weekly stream draws from its generator at a time when a week needs fewer (128 KiB a stream).

A generator's numbers come out in the same order however many are asked for
at once, so drawing several weeks ahead changes no number; it saves most of
the calls to the generator in small and mid-sized runs (8 weeks a call at
2,000 patients). From this many patients up, each week is drawn on its own and
nothing is kept."""


def _stream_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "little")


_NOTHING = np.zeros(0)


class Streams:
    """One ``numpy.random.Generator`` per named purpose, all from one seed.

    Args:
        seed: The replicate seed.
        audit: Keep a running digest of every stream's draws (tests use it to
            show that arms see identical care-independent draws).
    """

    def __init__(self, seed: int, audit: bool = False) -> None:
        self.seed = seed
        self._generators: dict[str, np.random.Generator] = {}
        self._ahead: dict[str, tuple[np.ndarray, int]] = {}  # per weekly stream: numbers drawn ahead, next unused
        self._digests: dict[str, hashlib._Hash] | None = {} if audit else None

    def get(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (created on first use).

        For the week-0 streams only: a weekly stream is read through
        :meth:`uniform` or :meth:`normal`, which draw ahead of what they return.
        """
        gen = self._generators.get(name)
        if gen is None:
            seq = np.random.SeedSequence(self.seed, spawn_key=(_stream_key(name),))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._generators[name] = gen
        return gen

    def _record(self, name: str, values: np.ndarray) -> np.ndarray:
        if self._digests is not None:
            self._digests.setdefault(name, hashlib.sha256()).update(values.tobytes())
        return values

    def _next(self, name: str, n: int, normal: bool) -> np.ndarray:
        # The next n numbers of the stream, from numbers drawn ahead (see BLOCK_DRAWS).
        ahead, used = self._ahead.get(name, (_NOTHING, 0))
        if used + n > ahead.size:
            gen = self.get(name)
            if used == ahead.size and n >= BLOCK_DRAWS:  # nothing left over, and a week is a block already
                return self._record(name, gen.standard_normal(n) if normal else gen.random(n))
            size = max(n, BLOCK_DRAWS)
            fresh = gen.standard_normal(size) if normal else gen.random(size)
            ahead, used = np.concatenate([ahead[used:], fresh]), 0
        self._ahead[name] = (ahead, used + n)
        return self._record(name, ahead[used : used + n])

    def uniform(self, name: str, n: int) -> np.ndarray:
        """The next ``n`` uniform draws on [0, 1) from stream ``name`` (a weekly stream: see ``get``)."""
        return self._next(name, n, normal=False)

    def normal(self, name: str, n: int) -> np.ndarray:
        """The next ``n`` standard normal draws from stream ``name`` (a weekly stream: see ``get``)."""
        return self._next(name, n, normal=True)

    def digest(self, name: str) -> str:
        """Hex digest of everything stream ``name`` has drawn (needs ``audit=True``)."""
        if self._digests is None:
            raise RuntimeError("Streams was created without audit=True")
        h = self._digests.get(name)
        return h.hexdigest() if h is not None else ""

    def names(self) -> list[str]:
        """Names of the streams drawn from so far."""
        return sorted(self._generators)


class ReplicateStreams:
    """The weekly streams of several replicates side by side, for a stack of replicates (``sim.engine.stack``).

    A stack holds the patients of replicate 0, then those of replicate 1, and so
    on, ``per_replicate`` each. Its draw of ``n = replicates x per_replicate``
    numbers from a stream is each replicate's next ``per_replicate`` numbers
    of that stream, from that replicate's own generator, end to end: every
    patient gets the number it gets when its replicate runs alone.

    Args:
        parts: Each replicate's streams (their week-0 streams already drawn).
        per_replicate: Patients in each replicate.
    """

    def __init__(self, parts: list[Streams], per_replicate: int) -> None:
        self.parts = parts
        self.per_replicate = per_replicate
        # Weeks drawn at once: as for one replicate (BLOCK_DRAWS), so a generator is called every few weeks.
        self._weeks_ahead = max(1, BLOCK_DRAWS // max(per_replicate, 1))
        self._ahead: dict[str, tuple[np.ndarray, int]] = {}  # per stream: (weeks x stack) drawn ahead, next week

    def _next(self, name: str, n: int, normal: bool) -> np.ndarray:
        size, weeks = self.per_replicate, self._weeks_ahead
        if n != len(self.parts) * size:
            raise ValueError(f"a stack of {len(self.parts)} x {size} patients draws {n} numbers from {name!r}")
        ahead, week = self._ahead.get(name, (_NOTHING.reshape(0, n), 0))
        if week == ahead.shape[0]:
            # Each replicate's next weeks, laid out week by week: one copy here, none per week.
            gens = [part.get(name) for part in self.parts]
            drawn = [(g.standard_normal if normal else g.random)(weeks * size).reshape(weeks, size) for g in gens]
            ahead, week = np.stack(drawn, axis=1).reshape(weeks, n), 0
        self._ahead[name] = (ahead, week + 1)
        return ahead[week]

    def uniform(self, name: str, n: int) -> np.ndarray:
        """The next ``n`` uniform draws on [0, 1) of stream ``name``: each replicate's own, end to end."""
        return self._next(name, n, normal=False)

    def normal(self, name: str, n: int) -> np.ndarray:
        """The next ``n`` standard normal draws of stream ``name``: each replicate's own, end to end."""
        return self._next(name, n, normal=True)
