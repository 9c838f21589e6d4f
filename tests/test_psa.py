"""Priors next to the declarations, the PSA's draws, and a tiny run of ``python -m experiments.psa``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments import psa as psa_cli
from experiments.cluster import DEFAULT_CLUSTER, load_cluster_settings, slurm_cluster
from experiments.schema import compose_config
from sim.analysis.psa import (
    apply_draw,
    check_posterior,
    distribution,
    draw_config,
    sample_priors,
    uncertain_parameters,
)
from sim.core.params import CALIBRATED, MechanismParams
from sim.outputs.report import economics

TINY = ["--patients", "60", "run.weeks=8"]


@pytest.fixture(scope="module")
def config():
    return compose_config()


def test_every_calibrated_parameter_and_the_top_ranked_levers_have_a_prior(config) -> None:
    paths = {p.path for p in uncertain_parameters(config)}
    calibrated = {
        f"mechanisms.{f.name}" for f in dataclasses.fields(MechanismParams) if f.metadata["source"] == CALIBRATED
    }
    assert len(calibrated) >= 8
    assert not calibrated - paths, f"calibrated without a prior: {sorted(calibrated - paths)}"
    assert {"arms.training_validation", "arms.specialist_visits_per_episode", "arms.p_referral_per_visit"} <= paths


def test_every_prior_lies_within_its_range_and_is_centred_on_the_default(config) -> None:
    for p in uncertain_parameters(config):
        dist = distribution(p)
        inside = dist.cdf(p.hi) - dist.cdf(p.lo)
        assert inside > 0.99, f"{p.path}: only {inside:.3f} of the prior within [{p.lo}, {p.hi}]"
        centre = dist.median() if p.prior.family == "lognormal" else dist.mean()
        assert centre == pytest.approx(p.default, rel=1e-9, abs=1e-12), p.path
        assert p.prior.why.startswith(("judgement: ", "literature: ")), p.path
        assert p.prior.group


def test_draws_are_in_range_reproducible_and_centred(config) -> None:
    params = uncertain_parameters(config)
    draws = sample_priors(params, 4000, seed=3)
    pd.testing.assert_frame_equal(draws, sample_priors(params, 4000, seed=3))
    assert not draws.equals(sample_priors(params, 4000, seed=4))
    for p in params:
        values = draws[p.path]
        assert values.between(p.lo, p.hi).all(), p.path
        centre = values.median() if p.prior.family == "lognormal" else values.mean()
        sd = distribution(p).std()
        assert abs(centre - p.default) < 4 * sd / np.sqrt(len(values)) * 1.3, p.path


def test_a_draw_sets_mechanisms_and_shifts_every_arm_keeping_their_differences(config) -> None:
    params = uncertain_parameters(config)
    values = {p.path: p.default for p in params}
    values["mechanisms.dropout_per_week"] = 0.004
    values["arms.specialist_visits_per_episode"] = 3.5  # default 3.0: every arm +0.5
    drawn = apply_draw(config, params, values)
    assert drawn.mechanisms.dropout_per_week == 0.004
    for arm, service in config.arms.items():
        assert drawn.arms[arm].specialist_visits_per_episode == pytest.approx(
            service.specialist_visits_per_episode + 0.5
        )
        assert drawn.arms[arm].continuity == service.continuity
    same = apply_draw(config, params, {p.path: p.default for p in params})
    assert same == config


def test_every_arm_of_a_draw_runs_on_one_seed_and_draws_differ(config) -> None:
    params = uncertain_parameters(config)
    values = {p.path: p.default for p in params}
    a, b = draw_config(config, params, values, 0), draw_config(config, params, values, 1)
    assert a.run.replicates == 1 and a.run.seed != b.run.seed


def test_tiny_psa_writes_the_table_and_report_with_the_report_economics(tmp_path, capsys) -> None:
    out = tmp_path / "psa"
    assert psa_cli.main(["--draws", "3", "--jobs", "1", "--out", str(out), *TINY]) == 0
    table = pd.read_parquet(out / "psa.parquet")
    arms = list(compose_config().arms)
    assert len(table) == 3 * len(arms)
    assert table.groupby("draw")["seed"].nunique().eq(1).all()
    assert table.groupby("draw")["mechanisms.adherence_bond"].nunique().eq(1).all()
    for name in ("curves.csv", "voi.csv", "best.csv", "report.html", "manifest.json", "config.yaml"):
        assert (out / name).is_file(), name
    html = (out / "report.html").read_text()
    # The decision section of issue 15: CE plane with the cloud, CEAC and frontier, EVPI per patient and for
    # the population, EVPPI per parameter group, the probability that each arm is best on functioning.
    for section in (
        "Cost-effectiveness plane",
        "cost-effectiveness plane with one point per draw",
        "Acceptability curves and frontier",
        "Value of information",
        "<td>all parameters (EVPI)</td>",
        "<td>coordinated</td>",  # the arms name the rows of "which arm is best"
        "per patient</th>",
        "population</th>",
        "P(best functioning at the horizon)",
        "psa_voi",
        "psa_best",
        "data:image/png",
        "as the priors state it",
    ):
        assert section in html, section
    for group in {p.group for p in uncertain_parameters(compose_config())}:
        assert f"<td>{group}</td>" in html, group  # an EVPPI row per group
    # Costs and QALYs are the decision report's: rerun draw 1 as an experiment and compare.
    from sim.analysis.experiment import run_experiment

    base = compose_config("population.n_patients=60", "run.weeks=8", "run.seed=0", "run.jobs=1")
    params = uncertain_parameters(base)
    row = table[table["draw"] == 1].iloc[0]
    cfg = draw_config(base, params, {p.path: float(row[p.path]) for p in params}, 1)
    econ = economics(run_experiment(cfg)).set_index("arm")
    got = table[table["draw"] == 1].set_index("arm")
    assert got["cost"].to_dict() == pytest.approx(econ["cost"].to_dict(), rel=1e-12)
    assert got["qalys"].to_dict() == pytest.approx(econ["qalys"].to_dict(), rel=1e-12)


def test_psa_is_the_same_serial_and_parallel(tmp_path) -> None:
    psa_cli.main(["--draws", "2", "--jobs", "1", "--out", str(tmp_path / "a"), *TINY])
    psa_cli.main(["--draws", "2", "--jobs", "2", "--out", str(tmp_path / "b"), *TINY])
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a/psa.parquet"), pd.read_parquet(tmp_path / "b/psa.parquet")
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--draws", "1"], "--draws"),
        (["--wtp", "-5"], "--wtp"),
        (["--posterior", "nowhere.parquet"], "--posterior"),
        (["mechanisms.dropout_per_week=99"], "dropout_per_week"),
    ],
)
def test_bad_input_is_refused_in_one_line_before_any_work(tmp_path, capsys, args, needle) -> None:
    out = tmp_path / "psa"
    assert exit_code([*args, "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("columns", "needle"),
    [
        ({"weight": [0.5, 0.5]}, "has no column of a parameter with a prior"),
        ({"mechanisms.adherence_bond": [2.5, 2.9], "mechanisms.no_such_thing": [1.0, 2.0]}, "no_such_thing"),
        ({"mechanisms.adherence_bond": [2.5, 2.9], "weight": [0.0, 0.0]}, "weight"),
    ],
)
def test_a_posterior_without_a_prior_parameter_or_with_a_stranger_is_refused(tmp_path, capsys, columns, needle):
    pd.DataFrame(columns).to_parquet(tmp_path / "post.parquet")
    code = psa_cli.main(["--posterior", str(tmp_path / "post.parquet"), "--out", str(tmp_path / "psa"), *TINY])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "psa").exists()


def test_a_weighted_posterior_of_some_parameters_is_resampled_and_the_rest_come_from_the_priors(config) -> None:
    params = uncertain_parameters(config)
    sample = pd.DataFrame(
        {"mechanisms.adherence_bond": [2.5, 2.9, 3.1], "weight": [0.0, 0.75, 0.25], "distance": [1.0, 2.0, 3.0]}
    )
    draws, fitted = check_posterior(sample, params, "test", 400, seed=5)
    assert fitted == ["mechanisms.adherence_bond"]
    assert list(draws.columns) == ["draw", *(p.path for p in params)]
    bond = draws["mechanisms.adherence_bond"]
    assert set(bond) == {2.9, 3.1}  # never the particle of weight 0
    assert (bond == 2.9).mean() == pytest.approx(0.75, abs=0.07)
    for p in params:
        if p.path != "mechanisms.adherence_bond":
            assert draws[p.path].between(p.lo, p.hi).all() and draws[p.path].nunique() > 300, p.path
    again, _ = check_posterior(sample, params, "test", 400, seed=5)
    pd.testing.assert_frame_equal(draws, again)


def test_a_posterior_sample_replaces_the_priors(tmp_path, config) -> None:
    params = uncertain_parameters(config)
    sample = sample_priors(params, 2, seed=9).drop(columns="draw")
    sample["mechanisms.dropout_per_week"] = [0.001, 0.003]
    sample.to_parquet(tmp_path / "post.parquet")
    out = tmp_path / "psa"
    assert psa_cli.main(["--posterior", str(tmp_path / "post.parquet"), "--out", str(out), "--jobs", "1", *TINY]) == 0
    table = pd.read_parquet(out / "psa.parquet")
    assert sorted(table["mechanisms.dropout_per_week"].unique()) == [0.001, 0.003]
    assert "as the posterior sample" in (out / "report.html").read_text()


def exit_code(argv: list[str]) -> int:
    """The command's exit status, whether ``main`` returns it or argparse exits with it."""
    try:
        return psa_cli.main(argv)
    except SystemExit as stop:
        return int(stop.code)


def test_a_failure_while_writing_leaves_no_results_folder(tmp_path, monkeypatch) -> None:
    import sim.outputs.uncertainty as uncertainty

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("disk trouble while drawing the report")

    monkeypatch.setattr(uncertainty, "build_psa_report", broken)
    out = tmp_path / "psa"
    with pytest.raises(RuntimeError):
        psa_cli.main(["--draws", "2", "--jobs", "1", "--out", str(out), *TINY])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no hidden half-written folder either


def test_psa_on_a_local_dask_cluster_is_the_same_as_serial(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert (
            exit_code(["--draws", "3", "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "c"), *TINY])
            == 0
        )
    assert psa_cli.main(["--draws", "3", "--jobs", "1", "--out", str(tmp_path / "s"), *TINY]) == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "c/psa.parquet"), pd.read_parquet(tmp_path / "s/psa.parquet")
    )


def test_an_unreachable_scheduler_is_refused_before_any_work(tmp_path, capsys, monkeypatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(psa_cli, "SCHEDULER_TIMEOUT_S", 1)  # nothing listens on port 9: no need to wait 10 s
    out = tmp_path / "psa"
    assert exit_code(["--scheduler", "tcp://127.0.0.1:9", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--scheduler" in err
    assert not out.exists()


def test_a_posterior_of_one_row_is_refused(tmp_path, capsys, config) -> None:
    sample_priors(uncertain_parameters(config), 1, seed=1).drop(columns="draw").to_parquet(tmp_path / "one.parquet")
    assert exit_code(["--posterior", str(tmp_path / "one.parquet"), "--out", str(tmp_path / "psa"), *TINY]) == 2
    assert "at least 2 draws" in capsys.readouterr().err
    assert not (tmp_path / "psa").exists()


def cluster_file(tmp_path, **changes: object) -> str:
    """The shipped cluster file with some settings changed, written to ``tmp_path``."""
    settings = {**load_cluster_settings(DEFAULT_CLUSTER), **changes}
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(settings))
    return str(path)


def test_psa_through_the_cluster_option_on_a_local_cluster_is_the_same_as_serial(tmp_path) -> None:
    """``--cluster local`` takes the code path of ``--cluster slurm`` (settings file, cluster, client), here."""
    config = cluster_file(tmp_path, jobs=1, processes=2, cores=2)
    argv = ["--draws", "3", "--cluster", "local", "--cluster-config", config, "--out", str(tmp_path / "c"), *TINY]
    assert exit_code(argv) == 0
    assert psa_cli.main(["--draws", "3", "--jobs", "1", "--out", str(tmp_path / "s"), *TINY]) == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "c/psa.parquet"), pd.read_parquet(tmp_path / "s/psa.parquet")
    )


def test_the_slurm_job_script_follows_the_cluster_file_and_nothing_is_submitted(tmp_path) -> None:
    settings = load_cluster_settings(
        cluster_file(
            tmp_path,
            queue="short",
            account="proj42",
            cores=8,
            processes=8,
            memory="16GB",
            walltime="02:30:00",
            job_extra_directives=["--qos=low"],
            job_script_prologue=["cd /scratch/alliance-sim", "source .venv/bin/activate"],
        )
    )
    cluster = slurm_cluster(settings)
    try:
        script = cluster.job_script()
        assert not cluster.workers and not cluster.worker_spec  # built, not scaled: no job submitted
    finally:
        cluster.close()
    lines = script.splitlines()
    for directive in ("-p short", "-A proj42", "--cpus-per-task=8", "-t 02:30:00", "--qos=low"):
        assert f"#SBATCH {directive}" in lines, script
    assert any(line.startswith("#SBATCH --mem=") for line in lines)
    worker = next(i for i, line in enumerate(lines) if "dask_worker" in line)
    assert lines.index("cd /scratch/alliance-sim") < lines.index("source .venv/bin/activate") < worker
    assert "--nworkers 8" in lines[worker] and "--nthreads 1" in lines[worker]  # 8 single-threaded workers per job


@pytest.mark.parametrize(
    ("changes", "args", "needle"),
    [
        ({"jobs": 0}, [], "jobs = 0"),
        ({"walltime": "an hour"}, [], "walltime"),
        ({"processes": 8, "cores": 4}, [], "processes = 8"),
        ({"partition": "normal"}, [], "partition is not a setting"),
        ({}, ["--scheduler", "tcp://127.0.0.1:9"], "--cluster"),
    ],
)
def test_a_bad_cluster_file_or_option_is_refused_in_one_line(tmp_path, capsys, changes, args, needle) -> None:
    config = cluster_file(tmp_path, **changes)
    out = tmp_path / "psa"
    assert exit_code(["--cluster", "slurm", "--cluster-config", config, *args, "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    assert not out.exists()
