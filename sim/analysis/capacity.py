"""Capacity made visible (M18): each role's slots, use and waits per arm, and the warnings a planner needs.

Reads the capacity columns of the weekly table (``sim.engine.metrics.CAPACITY_COLUMNS``,
documented in ``docs/outputs.md``). Week 0, the state before any care, is left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.params import ROLE_LABELS, ROLES

UTILISATION_WARNING = 0.9
"""A role is stretched in a week when it uses more than this share of its slots."""
STRETCHED_SHARE_WARNING = 0.25
"""Warn when a role is stretched in more than this share of the weeks."""
WAIT_WARNING_WEEKS = 4.0
"""Warn when the median wait to a first appointment exceeds this many weeks."""


def _care_weeks(weekly: pd.DataFrame) -> pd.DataFrame:
    return weekly[weekly["week"] > 0]


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value below which half the total weight lies (NaN with no weight).

    Args:
        values: The values (NaN values are left out).
        weights: Non-negative weight of each value.
    """
    keep = np.isfinite(values) & (weights > 0)
    values, weights = values[keep], weights[keep]
    if not values.size:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def median_wait(weekly: pd.DataFrame, name: str = "first") -> float:
    """The median wait (weeks) over a table's weeks: the weekly medians' median, weighted by each week's count.

    Args:
        weekly: Weekly rows (one arm, any replicates).
        name: ``first`` (to a first appointment) or ``therapy`` (to the first therapy session).
    """
    count = "first_appointments" if name == "first" else "therapy_starts"
    w = _care_weeks(weekly)
    return weighted_median(w[f"wait_{name}_weeks_median"].to_numpy(float), w[count].to_numpy(float))


def capacity_table(weekly: pd.DataFrame) -> pd.DataFrame:
    """Per arm and role: weekly slots offered, used and turned away, utilisation and weeks above the warning level.

    Means over weeks and replicates; roles with no slots and no requests are left out.
    """
    w = _care_weeks(weekly)
    rows = []
    for arm, part in w.groupby("arm", sort=False):
        for role in ROLES:
            offered, used, unmet = (part[f"{k}_{role}"] for k in ("slots_offered", "slots_used", "unmet"))
            if offered.max() == 0 and unmet.max() == 0:
                continue
            utilisation = part[f"utilisation_{role}"]
            rows.append(
                {
                    "arm": arm,
                    "role": role,
                    "slots offered a week": float(offered.mean()),
                    "slots used a week": float(used.mean()),
                    "requests without a slot a week": float(unmet.mean()),
                    "utilisation": float(utilisation.mean()) if offered.max() > 0 else float("nan"),
                    "share of weeks above 90% use": float((utilisation > UTILISATION_WARNING).mean()),
                }
            )
    return pd.DataFrame(rows)


def waits_table(weekly: pd.DataFrame) -> pd.DataFrame:
    """Per arm: waiting lists (mean patients on them) and median waits to a first appointment and to therapy."""
    w = _care_weeks(weekly)
    rows = []
    for arm, part in w.groupby("arm", sort=False):
        rows.append(
            {
                "arm": arm,
                "waiting for a first appointment": float(part["n_waiting"].mean()),
                "waiting for a specialist": float(part["waiting_specialist"].mean()),
                "waiting for therapy": float(part["waiting_therapy"].mean()),
                "median wait to a first appointment (weeks)": median_wait(part, "first"),
                "median wait to therapy (weeks)": median_wait(part, "therapy"),
            }
        )
    return pd.DataFrame(rows).set_index("arm")


def capacity_warnings(weekly: pd.DataFrame) -> list[str]:
    """One sentence per arm and role that runs above 90% of its slots in more than a quarter of the weeks,
    and per arm whose median wait to a first appointment exceeds 4 weeks."""
    warnings = []
    for row in capacity_table(weekly).to_dict("records"):
        share = row["share of weeks above 90% use"]
        arm, role = row["arm"].replace("_", " "), ROLE_LABELS[row["role"]]
        if row["slots offered a week"] == 0:
            warnings.append(
                f"capacity: in {arm}, the {role} has no slots but "
                f"{row['requests without a slot a week']:.1f} requests a week ask for one"
            )
        elif share > STRETCHED_SHARE_WARNING:
            warnings.append(
                f"capacity: in {arm}, the {role} runs above {UTILISATION_WARNING:.0%} of its slots in "
                f"{share:.0%} of the weeks ({row['requests without a slot a week']:.1f} requests a week find no slot)"
            )
    for arm, part in _care_weeks(weekly).groupby("arm", sort=False):
        wait = median_wait(part, "first")
        if np.isfinite(wait) and wait > WAIT_WARNING_WEEKS:
            warnings.append(
                f"waiting: in {arm.replace('_', ' ')}, the median wait to a first appointment (with a GP) is "
                f"{wait:.0f} weeks, "
                f"more than {WAIT_WARNING_WEEKS:.0f}"
            )
    return warnings
