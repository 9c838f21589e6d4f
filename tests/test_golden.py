"""A small fixed run compared whole against stored output (regenerate only on purpose)."""

from __future__ import annotations

import pandas as pd
from golden.regenerate import HERE, golden_weekly


def test_golden_run_is_unchanged():
    expected = pd.read_csv(HERE / "weekly_small.csv")
    actual = golden_weekly().reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-8)
