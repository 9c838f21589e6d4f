"""Fit free parameters to targets with Optuna: a fixed budget, common random numbers, a written record.

    python -m experiments.calibrate                                   # shipped targets, conf/calibration/free.yaml
    python -m experiments.calibrate --targets my_service.yaml --trials 80 --patients 2000
    python -m experiments.calibrate --params my_free.yaml population.n_patients=1500
    python -m experiments.calibrate --targets my_service.yaml --apply my_service   # then: +fit=my_service

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

Only the parameters the targets may move are fitted (``moves:`` in the targets
file, else the default per metric, ``sim.analysis.targets.MOVES``), each with
its range from the free-parameters file; they are printed before the fit.
calibration.yaml carries a manifest: every override and every setting that
differs from the defaults (staffing included), the size used, the simulation
and optimiser seeds, the commit and package versions. ``--apply NAME`` also
writes the fit as the preset ``conf/fit/NAME.yaml`` (``+fit=NAME``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path

import optuna
import pandas as pd
import yaml

from experiments.cli import (
    ROOT,
    Parser,
    add_model_arguments,
    check_writable,
    config_error,
    results_folder,
    size_overrides,
    whole,
    writing,
)
from experiments.preflight import check_before_work
from experiments.validate import DEFAULT_TARGETS, validation_config
from sim.analysis.experiment import number, run_experiment
from sim.analysis.targets import Target, check_arms, evaluate, fitted_targets, load_targets, loss, read_yaml
from sim.core.files import StagedFolder, write_atomic
from sim.core.params import Config, ConfigError, label, parameter_field, to_dict, unit
from sim.core.streams import replicate_seed
from sim.outputs.writer import versions

DEFAULT_PARAMS = ROOT / "conf" / "calibration" / "free.yaml"
FIT_DIR = ROOT / "conf" / "fit"
"""Where ``--apply NAME`` writes the fit, as the preset ``+fit=NAME``."""
PRESET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


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


def parameters_to_move(targets: list[Target], free: list[dict], params_path: Path) -> tuple[list[dict], dict]:
    """The free parameters the targets may move, and which targets move each.

    A target moves its own ``moves:`` (or its file's), else the default for
    its metric (``sim.analysis.targets.MOVES``); of those, the parameters with
    a search range in the free-parameters file are fitted. A target whose
    parameters have no range there is still scored, moving nothing of its own.

    Returns:
        The entries of ``free`` to fit (in its order), and ``{parameter: [target ids]}``
        with ``None: [ids]`` for the targets that move nothing of their own.

    Raises:
        ConfigError: for an explicit ``moves`` entry with no search range, or nothing to move at all.
    """
    ranged = {p["name"]: p for p in free}
    movers: dict = {}
    for target in targets:
        if target.moves is not None:
            for name in target.moves:
                if name not in ranged:
                    raise ConfigError(
                        f"config error: target {target.id}.moves names {name}, which has no search range in "
                        f"{params_path}; expected one of {', '.join(ranged)} (or add {{name: {name}, low, high}} there)"
                    )
        own = [name for name in target.movable() if name in ranged]
        for name in own or [None]:
            movers.setdefault(name, []).append(target.id)
    if not [name for name in movers if name is not None]:
        raise ConfigError(
            f"config error: the targets ({', '.join(t.id for t in targets)}) move no parameter of {params_path}; "
            "expected a 'moves: [mechanisms.<name>, ...]' list naming parameters listed there"
        )
    return [p for p in free if p["name"] in movers], movers


def describe_moves(moved: list[dict], movers: dict, free: list[dict]) -> str:
    """What the fit will move, in words, for the terminal before any trial runs."""
    lines = [f"this fit moves {len(moved)} of the {len(free)} free parameters:"]
    for p in moved:
        scale = ", log scale" if p.get("log") else ""
        lines.append(
            f"  {label(p['name'])} ({p['name']}, {unit(p['name'])}): "
            f"{number(p['low'])} to {number(p['high'])}{scale}; for {', '.join(movers[p['name']])}"
        )
    kept = [p["name"] for p in free if p["name"] not in movers]
    if kept:
        lines.append(f"kept at their current values: {', '.join(label(n) for n in kept)}")
    if None in movers:
        lines.append(f"scored, moving nothing of their own: {', '.join(movers[None])}")
    return "\n".join(lines)


def flat(data: object, prefix: str = "") -> dict[str, object]:
    """A nested mapping as ``{dotted.key: value}``."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, object] = {}
    for key, value in data.items():
        out.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def calibration_manifest(config: Config, overrides: list[str], optimiser_seed: int, argv: list[str]) -> dict:
    """Everything needed to repeat the fit: the command, every override and every setting that differs
    from the defaults (staffing from a service preset included), the size used, every seed, the commit
    and the package versions."""
    reference = config.run.reference_arm
    defaults = usual_care_only(validation_config(["experiment=compare_care_models"]))
    used, default = flat(to_dict(usual_care_only(config))), flat(to_dict(defaults))
    return {
        "command": " ".join(["python -m experiments.calibrate", *argv]),
        "overrides": list(overrides),
        "changed_from_defaults": {k: v for k, v in used.items() if default.get(k) != v and k != "experiment"},
        "size": {
            "patients": config.population.n_patients,
            "replicates": config.run.replicates,
            "weeks": config.run.weeks,
            "cohort": config.population.cohort,
            "arm": reference,
        },
        "seeds": {
            "simulation_base_seed": config.run.seed,
            "replicate_seeds": {r: replicate_seed(config.run.seed, r) for r in range(config.run.replicates)},
            "optimiser_seed": optimiser_seed,
            "optimiser": "optuna TPESampler",
        },
        **versions(),
        "optuna": optuna.__version__,
    }


def fit_preset_path(name: str, force: bool) -> Path:
    """Where ``--apply NAME`` will write, checked before any work.

    Raises:
        ConfigError: for a name that is not a plain file name, or an existing preset without ``--force``.
    """
    if not PRESET_NAME.fullmatch(name):
        raise ConfigError(
            f"config error: --apply = {name!r} is not allowed; expected a name of letters, digits, - and _"
        )
    path = FIT_DIR / f"{name}.yaml"
    check_writable(FIT_DIR, "--apply folder")
    if path.exists() and not force:
        raise ConfigError(f"config error: --apply = {name!r} is not allowed; {path} exists (add --force to replace it)")
    return path


def write_fit_preset(path: Path, best: dict[str, float], record: dict, folder: Path) -> None:
    """The fit as a Hydra preset: ``python -m experiments.run +fit=<name>`` sets these values."""
    nested: dict = {}
    for key, value in best.items():
        *groups, leaf = key.split(".")
        node = nested
        for group in groups:
            node = node.setdefault(group, {})
        node[leaf] = value
    manifest = record["manifest"]
    header = [
        "# @package _global_",
        f"# A fit by experiments.calibrate: python -m experiments.run +fit={path.stem}",
        f"# targets {record['targets']}; loss {record['loss']:.4g}; fitted rows inside: {record['inside']}",
        f"# {manifest['size']['replicates']} replicates x {manifest['size']['patients']} patients x "
        f"{manifest['size']['weeks']} weeks; optimiser seed {manifest['seeds']['optimiser_seed']}; "
        f"commit {manifest['git']}",
        f"# record: {folder / 'calibration.yaml'}",
    ]
    changed = manifest["changed_from_defaults"]
    if changed:
        settings = " ".join(f"{key}={value}" for key, value in changed.items())
        header.append(f"# fitted under these settings (give them again with the preset): {settings}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "\n".join(header) + "\n" + yaml.safe_dump(nested, sort_keys=False))


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
    parser.add_argument("--apply", metavar="NAME", help="also write the fit as conf/fit/NAME.yaml (+fit=NAME)")
    parser.add_argument("--force", action="store_true", help="with --apply: replace an existing preset")
    args = parser.parse_args(argv)
    base = ["experiment=compare_care_models", *size_overrides(args)]
    folder = args.out or results_folder("calibration")
    try:
        published = load_targets(args.targets)
        all_free = load_free_parameters(args.params)
        preset = fit_preset_path(args.apply, args.force) if args.apply else None
        for p in all_free:  # a misspelt name is refused even where no target moves it
            parameter_field(p["name"])
        config = validation_config(base)  # as run, for the arms and the manifest
        check_arms(published, list(config.arms))
        reference = config.run.reference_arm
        targets = fitted_targets(published, reference)  # the protocol: fit usual care only
        if not targets:
            raise ConfigError(
                f"config error: {args.targets}: no target is measured in the reference arm {reference!r} "
                "(arm: each or arm: " + reference + ", no versus); calibration fits only those"
            )
        free, movers = parameters_to_move(targets, all_free, args.params)
        for p in free:  # every name and range moved must compose before the budget is spent
            for value in (p["low"], p["high"]):
                validation_config([*base, f"{p['name']}={value}"])
        check_before_work(config, folder)
    except ConfigError as err:
        return config_error(err)

    print(describe_moves(free, movers, all_free), flush=True)
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
        "moved": {p["name"]: movers[p["name"]] for p in free},
        "best": {k: float(f"{v:.6g}") for k, v in best.items()},
        "loss": float(study.best_value),
        "inside": f"{int(fit['inside'].sum())} of {len(fit)}",
        "overrides": overrides,
        "manifest": calibration_manifest(config, base, args.seed, list(sys.argv[1:] if argv is None else argv)),
    }
    with writing(folder), StagedFolder(folder) as stage:
        pd.DataFrame(records).to_csv(stage.path / "trials.csv", index=False)
        fit.to_csv(stage.path / "fit.csv", index=False)
        (stage.path / "calibration.yaml").write_text(yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
        folder = stage.commit()
        if preset is not None:
            write_fit_preset(preset, record["best"], record, folder)

    print(f"best loss {study.best_value:.3f} after {args.trials} trials (start: {records[0]['loss']:.3f})")
    print(fit[["target", "arm", "band_low", "band_high", "simulated", "inside"]].round(3).to_string(index=False))
    if preset is not None:
        print(f"\nthe fit is the preset {preset}: python -m experiments.run +fit={preset.stem}")
    else:
        print("\nto use the fitted values, add these overrides (or write them as a preset with --apply NAME):")
        print("  " + " ".join(overrides))
    print(f"results: {folder}")
    return 0 if math.isfinite(study.best_value) else 1


if __name__ == "__main__":
    sys.exit(main())
