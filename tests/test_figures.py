"""Figures: bands are the summary's t-interval, drawn in seaborn's theme without seaborn."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from sim.analysis.experiment import t_interval, weekly_intervals
from sim.outputs.plots import FIGURES, THEME, standard_figures


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    """Two arms x three replicates x four weeks, with a NaN week (no one seen yet) and a constant column."""
    rng = np.random.default_rng(3)
    rows = [
        {"arm": arm, "replicate": r, "week": w, "x": rng.normal(w, 1.0), "y": np.nan if w == 0 else rng.random()}
        for r in range(3)
        for arm in ("b_arm", "a_arm")
        for w in range(4)
    ]
    return pd.DataFrame(rows).assign(z=1.0)


def test_weekly_bands_are_the_t_interval_of_the_summary(weekly):
    bands = weekly_intervals(weekly, ["x", "y", "z"])
    assert list(bands["arm"]) == ["b_arm"] * 4 + ["a_arm"] * 4  # order of appearance, weeks ascending
    for row in bands.itertuples():
        for column in ("x", "y", "z"):
            values = weekly.loc[(weekly.arm == row.arm) & (weekly.week == row.week), column].to_numpy()
            expected = t_interval(values)
            got = (getattr(row, column), getattr(row, f"{column}_low"), getattr(row, f"{column}_high"))
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert bands.loc[bands.week == 0, "y"].isna().all()  # NaN weeks stay NaN, not zero


def test_one_replicate_gives_a_line_without_a_band(weekly):
    bands = weekly_intervals(weekly[weekly.replicate == 0], ["x"])
    assert bands["x"].notna().all() and bands["x_low"].isna().all() and bands["x_high"].isna().all()


def test_theme_is_seaborns_whitegrid_notebook_deep():
    sns = pytest.importorskip("seaborn")
    with matplotlib.rc_context():
        sns.set_theme(style="whitegrid", context="notebook")
        seaborn_rc = dict(matplotlib.rcParams)
    with matplotlib.rc_context(THEME):
        ours = dict(matplotlib.rcParams)
    for key, value in seaborn_rc.items():
        if key == "axes.prop_cycle":
            np.testing.assert_allclose(
                [to_rgb(c) for c in ours[key].by_key()["color"]], [to_rgb(c) for c in value.by_key()["color"]]
            )
        elif key != "image.cmap":  # a seaborn colormap; no figure here draws an image
            assert ours[key] == value, key


def test_standard_figures_write_every_figure(tmp_path):
    weekly = pd.DataFrame(
        [
            {
                "arm": arm,
                "replicate": r,
                "week": w,
                **{column: float(w + r) for column, _ in FIGURES.values() if column != "share_disengaged"},
                "n_disengaged": r,
                "n_patients": 10,
            }
            for arm in ("coordinated", "fragmented")
            for r in range(2)
            for w in range(5)
        ]
    )
    paths = standard_figures(weekly, tmp_path)
    assert [p.name for p in paths] == [f"{name}.png" for name in FIGURES]
    assert all(p.stat().st_size > 10_000 for p in paths)
