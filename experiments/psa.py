"""Probabilistic sensitivity analysis: every arm for each draw of the uncertain parameters, and the decision.

    python -m experiments.psa                                    # 200 draws from the priors, default config
    python -m experiments.psa --draws 50 --patients 500 --jobs 2
    python -m experiments.psa --posterior posterior.parquet      # a posterior sample instead of the priors
    python -m experiments.psa --posterior results/calibration/<timestamp>   # the folder of calibrate --method abc
    python -m experiments.psa --wtp 30000 arms.coordinated.continuity=0.8   # any model override
    python -m experiments.psa --scheduler tcp://login1:8786      # draws on a running Dask cluster
    python -m experiments.psa --cluster slurm                    # workers as SLURM jobs (conf/cluster/slurm.yaml)

Each draw samples the parameters declared with a prior in sim/core/params.py
(or, for the parameters a ``--posterior`` sample holds, a row of it: resampled
by weight if it has a ``weight`` column) and runs every arm on one seed
(common random numbers within a draw). Writes psa.parquet (draw x arm: cost,
QALYs, functioning, symptoms, ever disengaged and the drawn values), curves.csv
(CEAC, frontier, EVPI over willingness to pay), voi.csv (EVPI and EVPPI per
parameter group), best.csv and a self-contained report.html to
results/psa/<timestamp>/, all at once or not at all.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from experiments.cli import Parser, config_error, progress, results_folder, whole, writing
from experiments.cluster import DEFAULT_CLUSTER, KINDS, load_cluster_settings, make_cluster
from experiments.preflight import check_before_work
from experiments.schema import compose_config
from sim.analysis.experiment import worker_count
from sim.analysis.psa import check_posterior, sample_priors, uncertain_parameters
from sim.core.params import ConfigError
from sim.outputs.uncertainty import DecisionSettings, run_psa, write_psa

if TYPE_CHECKING:
    from distributed import Client


def _positive(text: str) -> float:
    """An argparse type: a finite number > 0 (refused in one line otherwise)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"= {text!r} is not allowed; expected a number > 0")
    return value


SCHEDULER_TIMEOUT_S = 10
"""How long to wait for a Dask scheduler to answer before refusing ``--scheduler``."""


def connect(address: str) -> Client:
    """A client of the Dask scheduler at ``address``, or a one-line error if none answers in time."""
    from distributed import Client

    try:
        return Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, ValueError, TypeError) as err:
        raise ConfigError(
            f"config error: --scheduler = {address!r} is not allowed; no Dask scheduler answered there ({err})"
        ) from err


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=whole(2), default=200, help="parameter draws, at least 2 (default 200)")
    parser.add_argument("--seed", type=whole(0), default=0, help="seed of the draws and of the runs (default 0)")
    parser.add_argument("--jobs", type=whole(0), default=0, help="worker processes (0 = one per core, default)")
    parser.add_argument("--patients", type=whole(1), default=2000, help="patients per run (default 2000)")
    parser.add_argument(
        "--posterior", type=Path, help="posterior sample (Parquet, or the folder of calibrate --method abc)"
    )
    parser.add_argument("--wtp", type=_positive, default=20_000.0, help="willingness to pay per QALY (default 20000)")
    parser.add_argument("--wtp-max", type=_positive, default=100_000.0, help="top of the CEAC range (default 100000)")
    parser.add_argument("--population", type=_positive, default=10_000.0, help="patients a year (default 10000)")
    parser.add_argument("--years", type=_positive, default=5.0, help="years the decision stands (default 5)")
    parser.add_argument(
        "--scheduler", help="address of a Dask scheduler (e.g. tcp://host:8786): run the draws on its cluster"
    )
    parser.add_argument(
        "--cluster", choices=KINDS, help="start a Dask cluster for the draws: SLURM jobs, or the same workers here"
    )
    parser.add_argument(
        "--cluster-config",
        type=Path,
        default=DEFAULT_CLUSTER,
        help="cluster settings (default conf/cluster/slurm.yaml)",
    )
    parser.add_argument("--out", type=Path, help="results folder (default results/psa/<timestamp>)")
    parser.add_argument("overrides", nargs="*", help="model config overrides, e.g. arms.fragmented.continuity=0.4")
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after the options
    folder = args.out or results_folder("psa")
    overrides = [
        f"population.n_patients={args.patients}",
        f"run.seed={args.seed}",
        f"run.jobs={args.jobs}",
        *args.overrides,
    ]
    try:
        config = compose_config(*overrides)
        parameters = uncertain_parameters(config)
        if args.posterior is not None:
            path = args.posterior / "posterior.parquet" if args.posterior.is_dir() else args.posterior
            if not path.is_file():
                raise ConfigError(
                    f"config error: --posterior = {str(args.posterior)!r}; expected a Parquet file or a folder "
                    "holding posterior.parquet (experiments.calibrate --method abc)"
                )
            try:
                sample = pd.read_parquet(path)
            except (OSError, ValueError) as err:
                raise ConfigError(f"config error: --posterior = {str(path)!r} is not Parquet: {err}") from err
            draws, fitted = check_posterior(sample, parameters, f"--posterior {path}", args.draws, args.seed)
            source = f"the posterior sample {path.parent.name}/{path.name}" + (
                f" ({len(fitted)} fitted parameters; the other {len(parameters) - len(fitted)} from their priors)"
                if len(fitted) < len(parameters)
                else ""
            )
        else:
            draws = sample_priors(parameters, args.draws, args.seed)
            source = "the priors"
        if len(draws) < 2:
            raise ConfigError(f"config error: --posterior has {len(draws)} row; expected at least 2 draws")
        if args.wtp > args.wtp_max:
            raise ConfigError(f"config error: --wtp = {args.wtp:g} is not allowed; expected <= --wtp-max")
        if args.cluster and args.scheduler:
            raise ConfigError(f"config error: --cluster = {args.cluster!r} is not allowed with --scheduler; choose one")
        cluster_settings = load_cluster_settings(args.cluster_config) if args.cluster else None
        check_before_work(config, folder, parallel=worker_count(config, len(draws)))
        client = connect(args.scheduler) if args.scheduler else None
    except ConfigError as err:
        return config_error(err)
    cluster = None
    if cluster_settings is not None:
        from distributed import Client

        cluster = make_cluster(args.cluster, cluster_settings)
        client = Client(cluster)

    settings = DecisionSettings(wtp=args.wtp, wtp_max=args.wtp_max, patients_per_year=args.population, years=args.years)
    bar, _ = progress(len(draws), "psa", unit="draw")
    try:
        psa = run_psa(config, parameters, draws, progress=lambda i: bar.update(), client=client)
    finally:
        bar.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    with writing(folder):
        written = write_psa(psa, config, parameters, settings, folder, source, overrides=overrides)
    voi = pd.read_csv(written / "voi.csv")
    best = pd.read_csv(written / "best.csv")
    print(f"\n{len(draws)} draws x {len(config.arms)} arms x {config.population.n_patients} patients, from {source}")
    print(best.round(3).to_string(index=False))
    print(f"\nvalue of information at {args.wtp:,.0f} per QALY (currency units):")
    print(voi[["group", "per_patient", "population"]].round(2).to_string(index=False))
    print(f"\nresults: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
