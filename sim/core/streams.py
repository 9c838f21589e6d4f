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

import numpy as np

CARE_INDEPENDENT_STREAMS: frozenset[str] = frozenset(
    {"cohort", "workforce", "arrivals", "fluctuation", "flare", "flare_size"}
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


def _stream_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "little")


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
        self._digests: dict[str, hashlib._Hash] | None = {} if audit else None

    def get(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (created on first use)."""
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

    def uniform(self, name: str, n: int) -> np.ndarray:
        """``n`` uniform draws on [0, 1) from stream ``name``."""
        return self._record(name, self.get(name).random(n))

    def normal(self, name: str, n: int) -> np.ndarray:
        """``n`` standard normal draws from stream ``name``."""
        return self._record(name, self.get(name).standard_normal(n))

    def digest(self, name: str) -> str:
        """Hex digest of everything stream ``name`` has drawn (needs ``audit=True``)."""
        if self._digests is None:
            raise RuntimeError("Streams was created without audit=True")
        h = self._digests.get(name)
        return h.hexdigest() if h is not None else ""

    def names(self) -> list[str]:
        """Names of the streams drawn from so far."""
        return sorted(self._generators)
