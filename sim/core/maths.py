"""Small maths shared by the mechanisms: odds, the logistic curve, hazards."""

from __future__ import annotations

import functools

import numpy as np

LOGIT_CLIP = 1e-6
"""Probabilities are kept this far from 0 and 1 before taking log-odds (a numerical guard, not a model value)."""


def hazard_to_prob(hazard: np.ndarray) -> np.ndarray:
    """Weekly probability of an event with the given weekly hazard."""
    return -np.expm1(-hazard)


def logistic(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray | float) -> np.ndarray:
    """Log-odds of a probability (clipped ``LOGIT_CLIP`` away from 0 and 1)."""
    q = np.clip(p, LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(q / (1 - q))


@functools.cache
def logit_of(p: float) -> float:
    """:func:`logit` of one probability, remembered: a service's probabilities are the same every week."""
    return logit(p)
