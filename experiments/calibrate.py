"""Fit free parameters to targets with Optuna: a fixed budget, common random numbers, a written record.

    python -m experiments.calibrate                                   # shipped targets, conf/calibration/free.yaml
    python -m experiments.calibrate --targets my_service.yaml --trials 80 --patients 2000
    python -m experiments.calibrate --params my_free.yaml population.n_patients=1500

Calibration protocol (docs/calibration.md): the free mechanism parameters are
fitted ONLY to targets measured in usual (fragmented) care, the reference arm:
C1, C2, C3, C5 and C6–C8 there. Every trial runs that arm alone, on the same
seeds each time (common random numbers), so the loss changes smoothly with the
parameters rather than with luck. Effects of the other care models (C4, C9, C2
elsewhere) are predictions, checked afterwards by ``experiments.validate``.
The loss is the sum over targets of the squared distance from the band's
centre in half-widths (1 at a band edge). The first trial is the current
defaults. Writes calibration.yaml (best values,
loss, the overrides to use them), trials.csv and fit.csv (the validation table
at the best values) to results/calibration/<timestamp>/.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import optuna
import pandas as pd
import yaml

from experiments.cli import (
    ROOT,
    Parser,
    add_model_arguments,
    config_error,
    results_folder,
    size_overrides,
    whole,
    writing,
)
from experiments.preflight import check_before_work
from experiments.validate import DEFAULT_TARGETS, validation_config
from sim.analysis.experiment import run_experiment
from sim.analysis.targets import check_arms, evaluate, fitted_targets, load_targets, loss, read_yaml
from sim.core.files import StagedFolder
from sim.core.params import Config, ConfigError

DEFAULT_PARAMS = ROOT / "conf" / "calibration" / "free.yaml"


def load_free_parameters(path: Path) -> list[dict]:
    """Free parameters: name, low, high, log (see conf/calibration/free.yaml), fully checked.

    Raises:
        ConfigError: for an unsafe or malformed file, naming the entry and what is allowed.
    """
    data = read_yaml(path, "parameters")
    entries = data.get("parameters") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"config error: {path}: parameters = {entries!r} is not allowed; expected a non-empty list")
    for i, e in enumerate(entries):
        where = f"config error: {path}: parameters[{i}]"
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) or set(e) - {"name", "low", "high", "log"}:
            raise ConfigError(f"{where} = {e!r} is not allowed; expected name, low, high and optional log")
        for key in ("low", "high"):
            value = e.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{where}.{key} = {value!r} is not allowed; expected a finite number")
        if not e["low"] < e["high"]:
            raise ConfigError(f"{where}.low = {e['low']!r} is not allowed; expected low < high ({e['high']!r})")
        if not isinstance(e.get("log", False), bool):
            raise ConfigError(f"{where}.log = {e['log']!r} is not allowed; expected true or false")
        if e.get("log") and e["low"] <= 0:
            raise ConfigError(f"{where}.low = {e['low']}; log scale needs low > 0")
    return entries


def current_value(name: str) -> float:
    """The default value of a parameter given by its dotted name (e.g. ``mechanisms.adherence_bond``)."""
    obj: object = Config()
    for part in name.split("."):
        obj = getattr(obj, part)
    return float(obj)


def usual_care_only(config: Config) -> Config:
    """The config with only its reference (usual-care) arm: the one calibration may fit."""
    return dataclasses.replace(config, arms={config.run.reference_arm: config.arms[config.run.reference_arm]})


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, replicates=2, patients=1000)
    parser.add_argument("--targets", default=DEFAULT_TARGETS, help="targets file (default: the published ones)")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="free parameters file")
    parser.add_argument("--trials", type=whole(1), default=40, help="optimiser budget, in trials (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the optimiser's sampler")
    args = parser.parse_args(argv)
    base = ["experiment=compare_care_models", *size_overrides(args)]
    folder = args.out or results_folder("calibration")
    try:
        published = load_targets(args.targets)
        free = load_free_parameters(args.params)
        for p in free:  # every name and range must compose before the budget is spent
            for value in (p["low"], p["high"]):
                config = validation_config([*base, f"{p['name']}={value}"])
        check_arms(published, list(config.arms))
        reference = config.run.reference_arm
        targets = fitted_targets(published, reference)  # the protocol: fit usual care only
        if not targets:
            raise ConfigError(
                f"config error: {args.targets}: no target is measured in the reference arm {reference!r} "
                "(arm: each or arm: " + reference + ", no versus); calibration fits only those"
            )
        check_before_work(config, folder)
    except ConfigError as err:
        return config_error(err)

    records: list[dict] = []

    def objective(trial: optuna.Trial) -> float:
        values = {
            p["name"]: trial.suggest_float(p["name"], float(p["low"]), float(p["high"]), log=bool(p.get("log")))
            for p in free
        }
        config = usual_care_only(validation_config([*base, *(f"{k}={v!r}" for k, v in values.items())]))
        table = evaluate(run_experiment(config), targets)
        score = loss(table)
        records.append(
            {
                "trial": trial.number,
                **values,
                "loss": score,
                **{f"{r.target}:{r.arm}": r.simulated for r in table.itertuples()},
            }
        )
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=args.seed))
    # The first trial is the current defaults (where they lie in the ranges), so "start" is where the fit began.
    defaults = {p["name"]: current_value(p["name"]) for p in free}
    if all(float(p["low"]) <= defaults[p["name"]] <= float(p["high"]) for p in free):
        study.enqueue_trial(defaults)
    study.optimize(objective, n_trials=args.trials, show_progress_bar=sys.stderr.isatty())
    best = study.best_params
    overrides = [f"{k}={v:.6g}" for k, v in best.items()]
    fit = evaluate(run_experiment(usual_care_only(validation_config([*base, *overrides]))), targets)

    record = {
        "targets": str(args.targets),
        "free_parameters": free,
        "trials": args.trials,
        "size": {"replicates": args.replicates, "patients": args.patients},
        "best": {k: float(f"{v:.6g}") for k, v in best.items()},
        "loss": float(study.best_value),
        "inside": f"{int(fit['inside'].sum())} of {len(fit)}",
        "overrides": overrides,
    }
    with writing(folder), StagedFolder(folder) as stage:
        pd.DataFrame(records).to_csv(stage.path / "trials.csv", index=False)
        fit.to_csv(stage.path / "fit.csv", index=False)
        (stage.path / "calibration.yaml").write_text(yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
        folder = stage.commit()

    print(f"best loss {study.best_value:.3f} after {args.trials} trials (start: {records[0]['loss']:.3f})")
    print(fit[["target", "arm", "band_low", "band_high", "simulated", "inside"]].round(3).to_string(index=False))
    print("\nto use the fitted values, add these overrides (or set them as defaults in sim/core/params.py):")
    print("  " + " ".join(overrides))
    print(f"results: {folder}")
    return 0 if math.isfinite(study.best_value) else 1


if __name__ == "__main__":
    sys.exit(main())
