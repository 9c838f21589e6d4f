"""Bayesian calibration (``python -m experiments.calibrate --method abc``): recovery, resumption, bad input.

The coverage over many synthetic fits is a benchmark (benchmarks/bench_abc_coverage.py);
here, one small fit must recover its known point, and an interrupted fit must resume to
the same posterior, bit for bit, as one never interrupted.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT
from scipy import integrate, stats
from test_crash_safety import kill_when_paused, start_paused

from experiments import calibrate
from experiments.validate import DEFAULT_TARGETS, validation_config
from sim.analysis.abc_smc import AbcSettings, credible_interval, noise_floor, recovery, sampling_priors, smc
from sim.analysis.psa import check_posterior, sample_priors, uncertain_parameters
from sim.analysis.targets import fitted_targets, load_targets
from sim.core.files import complete_folders

FREE = ["mechanisms.bond_initial"]
TINY_FIT = ["--population", "10", "--generations", "3", "--patients", "150", "--replicates", "1"]


@pytest.fixture()
def free_file(tmp_path):
    path = tmp_path / "free.yaml"
    path.write_text("parameters:\n  - {name: mechanisms.bond_initial, low: 0.1, high: 0.95}\n")
    return path


def test_a_small_fit_recovers_its_known_point_with_a_posterior_narrower_than_the_prior(tmp_path) -> None:
    """One free parameter, emergency attendances per week, which moves its own target (C5c, emergency visits)."""
    config = calibrate.usual_care_only(
        validation_config(["run.replicates=1", "population.n_patients=1000", "run.seed=1000"])
    )
    targets = fitted_targets(load_targets(DEFAULT_TARGETS), config.run.reference_arm)
    free = [p for p in uncertain_parameters(config) if p.path == "mechanisms.emergency_per_week"]
    ranges = {"mechanisms.emergency_per_week": (0.003, 0.1)}
    truth = {p.path: float(sample_priors(free, 1, seed=11)[p.path].iloc[0]) for p in free}
    floor = noise_floor(config, free, targets, width=1.0, pairs=3, quantile=0.9)
    settings = AbcSettings(population=30, generations=3, min_epsilon=floor, jobs=2, seed=0)
    table = recovery(config, free, ranges, targets, truth, settings, 1.0, 77, tmp_path / "fit.db")
    row = table.iloc[0]
    assert row["interval_5%"] <= row["truth"] <= row["interval_95%"], table.to_string()
    assert row["width_ratio"] < 0.8, table.to_string()  # the targets told the fit something


def test_an_interrupted_fit_resumes_to_the_posterior_of_an_uninterrupted_one(tmp_path, free_file) -> None:
    whole = tmp_path / "whole"
    argv = ["--method", "abc", "--params", str(free_file), *TINY_FIT]
    assert calibrate.main([*argv, "--jobs", "1", "--out", str(whole)]) == 0

    cut = tmp_path / "cut"
    cmd = [calibrate.sys.executable, "-m", "experiments.calibrate", *argv, "--jobs", "2", "--out", str(cut)]
    # The third generation hook: the calibration sample and generation 0 are in the history.
    proc = start_paused(cmd, "abc-generation@3")
    assert kill_when_paused(proc, "abc-generation") == 1
    assert not cut.exists() and complete_folders(tmp_path, "posterior.parquet") == [whole]
    assert (calibrate.working_folder(cut) / "history.db").is_file()

    assert calibrate.main(["--resume", str(cut)]) == 0  # with its own settings, --jobs 2 among them
    assert not calibrate.working_folder(cut).exists()
    posterior = pd.read_parquet(cut / "posterior.parquet")
    pd.testing.assert_frame_equal(posterior, pd.read_parquet(whole / "posterior.parquet"))
    diagnostics = pd.read_csv(cut / "diagnostics.csv")
    pd.testing.assert_frame_equal(diagnostics, pd.read_csv(whole / "diagnostics.csv"))
    assert list(diagnostics["generation"]) == [0, 1, 2]
    assert posterior["weight"].sum() == pytest.approx(1.0)

    # The column contract of experiments.psa --posterior.
    params = uncertain_parameters(validation_config([]))
    draws, fitted = check_posterior(posterior, params, "test", 20, seed=0)
    assert fitted == FREE and set(draws["mechanisms.bond_initial"]) <= set(posterior["mechanisms.bond_initial"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--method", "abc", "--params", "GOALS", "--targets", "MOVING_GOALS"], "goals_initial has no prior"),
        (["--resume", "nowhere"], "--resume"),
        (["--method", "bayes"], "--method"),
        (["--method", "abc", "--population", "1"], "--population"),
        (["--method", "abc", "--min-epsilon", "-1"], "--min-epsilon"),
        (["--method", "abc", "--kernel-scaling", "0"], "--kernel-scaling"),
        (["--method", "abc", "--kernel", "wide"], "--kernel"),
        (["--method", "abc", "--apply", "mine"], "--apply"),
    ],
)
def test_bad_input_is_refused_in_one_line_before_any_work(tmp_path, capsys, args, needle) -> None:
    goals = tmp_path / "goals.yaml"
    goals.write_text("parameters:\n  - {name: mechanisms.goals_initial, low: 0.1, high: 0.9}\n")
    # Published targets that may move the initial goals (a judgement parameter, declared without a prior).
    moving = yaml.safe_load((ROOT / DEFAULT_TARGETS).read_text()) | {"moves": ["mechanisms.goals_initial"]}
    (tmp_path / "moving.yaml").write_text(yaml.safe_dump(moving))
    names = {"GOALS": str(goals), "MOVING_GOALS": str(tmp_path / "moving.yaml"), "nowhere": str(tmp_path / "nowhere")}
    args = [names.get(a, a) for a in args]
    out = tmp_path / "out"
    try:
        code = calibrate.main([*args, "--out", str(out)])
    except SystemExit as stop:
        code = int(stop.code)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["goals.yaml", "moving.yaml"]


def test_the_shipped_free_parameters_all_have_priors() -> None:
    config = calibrate.usual_care_only(validation_config([]))
    entries = calibrate.load_free_parameters(calibrate.DEFAULT_PARAMS)
    assert [p.path for p in calibrate.free_with_priors(config, entries, calibrate.DEFAULT_PARAMS)] == [
        e["name"] for e in entries
    ]


def shipped_priors(names: list[str]) -> dict:
    config = calibrate.usual_care_only(validation_config([]))
    entries = {e["name"]: e for e in calibrate.load_free_parameters(calibrate.DEFAULT_PARAMS)}
    declared = {p.path: p for p in uncertain_parameters(config)}
    free = [declared[n] for n in names]
    ranges = {n: (float(entries[n]["low"]), float(entries[n]["high"])) for n in names}
    return sampling_priors(free, ranges)


def test_the_unbounded_scale_round_trips_and_carries_the_same_distribution() -> None:
    # One parameter of each scale: log (log-normal), logit (beta), natural (normal).
    names = ["mechanisms.dropout_per_week", "mechanisms.bond_initial", "mechanisms.adherence_intercept"]
    priors = shipped_priors(names)
    assert [priors[n].scale for n in names] == ["log", "logit", "identity"]
    for name in names:
        prior = priors[name]
        xs = np.array([prior.base.quantile(q) for q in (0.01, 0.2, 0.5, 0.8, 0.99)])
        np.testing.assert_allclose(prior.natural(prior.sampled(xs)), xs, rtol=1e-12)
        # The transformed density puts the natural prior's probability on each interval.
        for a, b in ((0.01, 0.2), (0.2, 0.8), (0.8, 0.99)):
            lo, hi = prior.base.quantile(a), prior.base.quantile(b)
            mass, _ = integrate.quad(prior.pdf, float(prior.sampled(lo)), float(prior.sampled(hi)))
            assert mass == pytest.approx(b - a, rel=1e-6), name
        # Draws on the sampling scale, taken back, follow the truncated natural prior.
        np.random.seed(3)  # noqa: NPY002  (the priors draw from NumPy's global generator, as pyabc does)
        draws = prior.natural(np.array([prior.rvs() for _ in range(2000)]))
        assert stats.kstest(draws, np.vectorize(prior.base.cdf)).pvalue > 0.01, name


def test_the_sampler_on_the_unbounded_scale_keeps_a_healthy_effective_sample_size(tmp_path) -> None:
    """Two parameters (a log-normal and a beta prior), each pinned by a synthetic statistic of its own."""
    names = ["mechanisms.dropout_per_week", "mechanisms.bond_initial"]
    priors = shipped_priors(names)
    truth = {n: priors[n].base.quantile(0.7) for n in names}

    def model(values: dict[str, float]) -> dict[str, float]:
        return {n: math.log(values[n]) for n in names}

    def distance(simulated: dict, observed: dict) -> float:
        return sum(((simulated[n] - observed[n]) / 0.05) ** 2 for n in names)

    observed = model(truth)
    settings = AbcSettings(population=200, generations=4, jobs=1, seed=0)
    fitted = smc(model, priors, distance, observed, settings, tmp_path / "toy.db")
    ess = fitted.diagnostics["ess"] / fitted.diagnostics["particles"]
    assert len(ess) == 4 and (ess > 0.25).all(), fitted.diagnostics.to_string()
    assert fitted.diagnostics["epsilon"].is_monotonic_decreasing
    for n in names:  # the posterior, on the natural scale, closes in on the truth
        lo, hi = credible_interval(fitted.posterior, n)
        p05, p95 = priors[n].base.quantile(0.05), priors[n].base.quantile(0.95)
        assert lo <= truth[n] <= hi and (hi - lo) < 0.5 * (p95 - p05), fitted.posterior.describe().to_string()


def test_in_twelve_dimensions_the_default_sampler_keeps_the_weights_even_where_pyabcs_own_collapses(tmp_path) -> None:
    """The calibration's shape without the model: 12 shipped priors, 6 pinned by a statistic each, 6 flat.

    pyabc's default (a Gaussian kernel around each particle, natural scale)
    lets the effective sample size collapse, as in the fit of 2026-11-27;
    the default sampler (unbounded scale, one shrunk Student-t) keeps it
    above a quarter of the particles in every generation.
    """
    names = [
        f"mechanisms.{n}"
        for n in (
            "dropout_per_week adherence_bond adherence_intercept recovery_per_week setpoint_share "
            "setpoint_stress_reactivity setpoint_catastrophising setpoint_rate fluctuation_sd emergency_per_week "
            "attachment_bond function_per_symptom_point"
        ).split()
    ]
    pinned = names[:6]

    def model(values: dict[str, float]) -> dict[str, float]:
        return dict(values)

    def distance(simulated: dict, observed: dict) -> float:
        return sum(((simulated[n] - observed[n]) / (0.3 * abs(observed[n]))) ** 2 for n in pinned)

    priors = shipped_priors(names)
    observed = {n: priors[n].base.quantile(0.6) for n in names}
    ess = {}
    for label, settings in {
        "default": AbcSettings(population=100, generations=3, jobs=1, seed=0),
        "pyabc": AbcSettings(
            population=100, generations=3, jobs=1, seed=0, unbounded=False, kernel="local", kernel_scaling=1.0
        ),
    }.items():
        sampled = priors if settings.unbounded else {n: p.base for n, p in priors.items()}
        fitted = smc(model, sampled, distance, observed, settings, tmp_path / f"{label}.db")
        assert len(fitted.diagnostics) == 3
        ess[label] = fitted.diagnostics["ess"] / fitted.diagnostics["particles"]
    assert (ess["default"] >= 0.25).all(), ess
    assert ess["pyabc"].iloc[1:].min() < 0.25, ess
