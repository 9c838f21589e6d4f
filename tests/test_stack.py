"""The main job's speed-ups change no number: stacked replicates (sim.engine.stack), early-started runs, t quantiles."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import CONF, compose_config

from sim.analysis.experiment import (
    STACK_PATIENTS,
    T_975,
    ExperimentRuns,
    _half_width,
    replicate_groups,
    run_experiment,
    simulate_run,
    simulate_runs,
    system_params,
)
from sim.core.streams import ReplicateStreams, Stream, Streams, replicate_seed
from sim.engine.stack import ReplicateStack

PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
TINY = ("population=small", "population.n_patients=150", "run.weeks=26", "run.replicates=3", "run.trajectories=true")


def assert_same_runs(config, arm: str, replicates: list[int]) -> None:
    stacked = simulate_runs(config, arm, replicates)
    for r, tables in zip(replicates, stacked, strict=True):
        alone = simulate_run(config, arm, r)
        for name in ("weekly", "patients", "trajectories"):
            pd.testing.assert_frame_equal(getattr(alone, name), getattr(tables, name), check_exact=True)


@pytest.mark.parametrize("preset", PRESETS)
def test_a_stack_of_replicates_equals_its_replicates_run_alone(preset):
    # Every preset, so every care model (and feedback, training, campaigns, stepping, coordinators) is covered.
    config = compose_config(f"experiment={preset}", *TINY)
    for arm in config.arms:
        assert_same_runs(config, arm, [0, 1, 2])


def test_a_stack_equals_its_replicates_with_a_role_nobody_staffs_and_a_full_service():
    # No specialist at all (routing returns "no clinician"), and a stretched service that turns requests away.
    config = compose_config(*TINY, "workforce.specialist.per_1000_patients=0", "workforce.gp.capacity_per_week=3")
    for arm in config.arms:
        assert_same_runs(config, arm, [1, 2])


def test_patients_meet_only_their_own_replicates_clinicians():
    config = compose_config(*TINY)
    seeds = [replicate_seed(config.run.seed, r) for r in range(3)]
    stack = ReplicateStack(config.arms["fragmented"], **system_params(config), seeds=seeds)
    stack.run_model()
    n, c_n = stack.parts[0].patients.n, stack.parts[0].clinicians.n
    replicate = np.arange(stack.patients.n) // n
    for seen in (stack.dyads.clinician, stack.patients.lead):
        rows, _ = np.nonzero(seen >= 0)
        assert rows.size > 0
        assert np.array_equal(seen[seen >= 0] // c_n, replicate[rows])


def test_replicate_streams_give_each_replicate_its_own_numbers():
    seeds = [3, 4, 5]
    stacked = ReplicateStreams([Streams(s) for s in seeds], per_replicate=1000)
    alone = [Streams(s) for s in seeds]
    for _ in range(20):  # past the numbers drawn ahead (BLOCK_DRAWS)
        for name, draw in ((Stream.DROPOUT, "uniform"), (Stream.FLUCTUATION, "normal")):
            expected = np.concatenate([getattr(s, draw)(name, 1000) for s in alone])
            assert np.array_equal(getattr(stacked, draw)(name, 3000), expected)
    with pytest.raises(ValueError, match="draws 10 numbers"):
        stacked.uniform(Stream.DROPOUT, 10)


def test_replicates_are_grouped_to_fill_the_workers():
    config = compose_config("run.replicates=10")  # 3 arms x 10 replicates of 2,000 patients
    assert replicate_groups(config, 2) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]  # 6 tasks on 2 workers
    assert replicate_groups(config, 1) == [list(range(10))]  # 20,000 patients: one stack per arm
    big = compose_config("run.replicates=4", f"population.n_patients={STACK_PATIENTS}")
    assert replicate_groups(big, 1) == [[0], [1], [2], [3]]  # a stack never exceeds STACK_PATIENTS
    open_cohort = compose_config("population=open_cohort", "run.replicates=3")
    assert replicate_groups(open_cohort, 2) == [[0], [1], [2]]  # replicates of different sizes: one at a time


def test_the_t_quantiles_kept_are_scipys_bit_for_bit():
    from scipy.special import stdtrit

    df = np.arange(1, T_975.size)
    assert np.isnan(T_975[0])
    assert np.array_equal(T_975[1:], stdtrit(df.astype(float), 0.975))
    # Inside the table and past it, the half-width is the one scipy gives.
    n = np.array([1, 2, 10, 31, 32, 200])
    sd = np.linspace(0.5, 3.0, n.size)
    expected = stdtrit(np.where(n >= 2, n - 1, np.nan), 0.975) * sd / np.sqrt(n)
    for some in (n[:4], n):
        np.testing.assert_array_equal(_half_width(sd[: some.size], some), expected[: some.size])
    assert _half_width(2.0, 10) == stdtrit(9.0, 0.975) * 2.0 / np.sqrt(10)


def test_runs_started_early_give_the_same_experiment_and_a_stale_start_is_dropped():
    config = compose_config(*TINY[:-1], "run.jobs=2")
    expected = run_experiment(config)
    started = run_experiment(config, runs=ExperimentRuns(config))  # as the command line does, before Hydra's main
    other = dataclasses.replace(config, run=dataclasses.replace(config.run, seed=config.run.seed + 1))
    stale = run_experiment(config, runs=ExperimentRuns(other))  # started for another config: not used
    for result in (started, stale):
        for name in ("weekly", "patients", "summary", "journeys"):
            pd.testing.assert_frame_equal(getattr(expected, name), getattr(result, name), check_exact=True)


def test_the_weekly_median_wait_is_numpys():
    from sim.engine.metrics import _median

    rng = np.random.default_rng(5)
    assert np.isnan(_median(np.zeros(0, np.int64)))
    for size in range(1, 40):
        weeks = rng.integers(0, 200, size).astype(np.int64)
        assert _median(weeks) == float(np.median(weeks))
