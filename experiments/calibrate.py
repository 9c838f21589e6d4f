"""Fit free parameters to targets with Optuna: a fixed budget, common random numbers, a written record.

    python -m experiments.calibrate                                   # shipped targets, conf/calibration/free.yaml
    python -m experiments.calibrate --trials 200 --seeds-optimiser 3 --patients 2000
    python -m experiments.calibrate --targets my_service.yaml --params my_free.yaml population.n_patients=1500
    python -m experiments.calibrate --resume results/calibration/<timestamp>   # an interrupted fit
    python -m experiments.calibrate --method abc --population 200 --generations 8   # a posterior (pyabc)
    python -m experiments.calibrate --targets my_service.yaml --apply my_service   # then: +fit=my_service

Calibration protocol (docs/calibration.md): the free mechanism parameters are
fitted ONLY to targets measured in usual (fragmented) care, the reference arm:
C1, C2, C3, C5 and C6–C8 there. Every trial runs that arm alone, on the same
seeds each time (common random numbers), so the loss changes smoothly with the
parameters rather than with luck. Effects of the other care models (C4, C9, C2
elsewhere) are predictions, checked afterwards by ``experiments.validate``.
The loss is the sum over targets of the squared distance from the band's
centre in half-widths (1 at a band edge).

A fit that tells the truth about itself:

1. The optimiser (TPE) runs once per optimiser seed (``--seeds-optimiser``,
   default 2), each from the current defaults (its first trial); the record
   shows each seed's best loss and values side by side, so a reader sees
   whether the fit converged to one answer.
2. For each free parameter, whether the best value lies within 5 % of the
   range's width of a bound (on the search scale: log for ``log: true``).
3. An identifiability profile: the loss along each free parameter over its
   range (``--profile-points`` points and the best value), the others held at
   the best point, on the same seeds: profile.csv and profile.png. A flat
   profile means the targets do not pin the parameter down.

The Optuna studies live in SQLite (``study.db``) in a hidden working folder
next to the results folder, ``.<name>.partial``, which no tool takes for a
result; ``--resume <results folder>`` continues an interrupted fit with the
settings it started with. Only when everything is done do calibration.yaml,
trials.csv, fit.csv, profile.csv and profile.png appear, together, under
results/calibration/<timestamp>/ (one rename); the working folder is then
removed. A resumed fit is as valid as an uninterrupted one but not
bit-identical to it (the sampler restarts its random state).

Only the parameters the targets may move are fitted (``moves:`` in the targets
file, else the default per metric, ``sim.analysis.targets.MOVES``), each with
its range from the free-parameters file; they are printed before the fit.
calibration.yaml carries a manifest: every override and every setting that
differs from the defaults (staffing included), the size used, the simulation
and optimiser seeds, the commit and package versions. ``--apply NAME`` also
writes the fit as the preset ``conf/fit/NAME.yaml`` (``+fit=NAME``).

``--method abc`` fits the same parameters to the same targets by ABC-SMC
(sim/analysis/abc_smc.py): the priors are those declared in sim/core/params.py,
the distance is the same loss, and the result is a weighted posterior sample
(posterior.parquet, read by ``experiments.psa --posterior``) with per-generation
diagnostics and a posterior-against-prior figure (sim/outputs/posterior.py).
pyabc keeps every generation in a SQLite history in the working folder;
``--resume`` continues it from its last complete generation.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
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
from sim.analysis.abc_smc import KERNELS, AbcSettings, TruncatedPrior, clip_range, weighted_mean
from sim.analysis.abc_smc import fit as fit_abc
from sim.analysis.experiment import number, run_experiment, worker_count
from sim.analysis.psa import UncertainParameter, apply_draw, uncertain_parameters
from sim.analysis.targets import Target, check_arms, evaluate, fitted_targets, load_targets, loss, read_yaml
from sim.core.files import StagedFolder, pause_point, write_atomic
from sim.core.params import Config, ConfigError, label, parameter_field, to_dict, unit
from sim.core.streams import replicate_seed
from sim.outputs.plots import themed
from sim.outputs.posterior import write_posterior
from sim.outputs.writer import versions

DEFAULT_PARAMS = ROOT / "conf" / "calibration" / "free.yaml"
DEFAULT_TRIALS = 100  # per optimiser seed: with 2 seeds and the profile, 6-9 minutes on 2 shared cores
DEFAULT_OPTIMISER_SEEDS = 2
DEFAULT_PROFILE_POINTS = 6
NEAR_BOUND = 0.05
"""A best value closer than this share of its range's width to a bound is flagged (issue 13)."""

RECORD = "calibration.yaml"  # written last: a folder holding it is a finished fit
STUDY = "study.db"  # Optuna's SQLite storage, in the working folder
SETTINGS = "settings.yaml"  # what the fit was started with, for --resume
PROFILE_STUDY = "profile"
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


def calibration_manifest(config: Config, overrides: list[str], optimiser_seeds: list[int], argv: list[str]) -> dict:
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
            "optimiser_seeds": list(optimiser_seeds),
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
        f"{manifest['size']['weeks']} weeks; optimiser seeds {manifest['seeds']['optimiser_seeds']}; "
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


def search_position(value: float, p: dict) -> float:
    """Where ``value`` lies in its range: 0 at ``low``, 1 at ``high``, on the search scale (log for ``log: true``)."""
    lo, hi, v = float(p["low"]), float(p["high"]), float(value)
    if p.get("log"):
        lo, hi, v = math.log(lo), math.log(hi), math.log(v)
    return (v - lo) / (hi - lo)


def near_bound(value: float, p: dict) -> str:
    """``low`` or ``high`` if ``value`` is within ``NEAR_BOUND`` of the range's width of that bound, else ``no``."""
    x = search_position(value, p)
    return "low" if x < NEAR_BOUND else "high" if x > 1.0 - NEAR_BOUND else "no"


def profile_grid(p: dict, best: float, points: int) -> list[float]:
    """``points`` values evenly spaced over the range (on the search scale) and the best value, sorted."""
    lo, hi = float(p["low"]), float(p["high"])
    grid = np.geomspace(lo, hi, points) if p.get("log") else np.linspace(lo, hi, points)
    return sorted({min(max(float(f"{v:.6g}"), lo), hi) for v in grid} | {best})


def working_folder(folder: Path) -> Path:
    """The hidden sibling where a fit keeps its study until it is finished (never taken for a result)."""
    folder = Path(folder)
    return folder.with_name(f".{folder.name}.partial")


Score = Callable[[dict[str, float]], tuple[float, pd.DataFrame]]


def with_values(config: Config, values: dict[str, float]) -> Config:
    """``config`` with parameters given by dotted name set, as the same overrides would set them.

    Composing the config once and replacing values is what keeps a trial
    cheap (Hydra composition costs about as much as a small run); the names
    and both ends of every range were composed and validated before the fit.
    """

    def put(node: object, parts: list[str], value: float) -> object:
        head, *rest = parts
        if isinstance(node, dict):
            return {**node, head: put(node[head], rest, value) if rest else value}
        return dataclasses.replace(node, **{head: put(getattr(node, head), rest, value) if rest else value})

    for name, value in values.items():
        config = put(config, name.split("."), float(value))
    return config


def scorer(config: Config, targets: list) -> Score:
    """The objective: run usual care alone with these parameter values and score it against ``targets``."""
    usual_care = usual_care_only(config)

    def score(values: dict[str, float]) -> tuple[float, pd.DataFrame]:
        table = evaluate(run_experiment(with_values(usual_care, values)), targets)
        return loss(table), table

    return score


def simulated(table: pd.DataFrame) -> dict[str, float]:
    """Each target's simulated value, keyed ``target:arm`` (stored with every trial)."""
    return {f"{r.target}:{r.arm}": float(r.simulated) for r in table.itertuples()}


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def optimise(
    storage: optuna.storages.BaseStorage, seed: int, free: list[dict], score: Score, trials: int, start: dict | None
) -> optuna.Study:
    """Run (or finish) the study of one optimiser seed until it has ``trials`` completed trials.

    A trial that was running when the process died is marked failed and run
    again; the first trial is ``start`` (the current defaults), if given.
    """
    name = f"seed-{seed}"
    names = {s.study_name for s in storage.get_all_studies()}
    done = len(completed(optuna.load_study(study_name=name, storage=storage))) if name in names else 0
    # A resumed study gets a sampler seed of its own: the original seed would propose its first points again.
    sampler_seed = seed if not done else int(np.random.SeedSequence([seed, done]).generate_state(1)[0])
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        direction="minimize",
        load_if_exists=True,
    )
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    if start is not None and not completed(study) and not waiting:
        study.enqueue_trial(start)

    def objective(trial: optuna.Trial) -> float:
        pause_point("calibration_trial")
        values = {
            p["name"]: trial.suggest_float(p["name"], float(p["low"]), float(p["high"]), log=bool(p.get("log")))
            for p in free
        }
        value, table = score(values)
        for key, sim in simulated(table).items():
            trial.set_user_attr(key, sim)
        return value

    remaining = trials - len(completed(study))
    if remaining > 0:
        study.optimize(objective, n_trials=remaining, show_progress_bar=sys.stderr.isatty())
    return study


def profile(
    storage: optuna.storages.BaseStorage, free: list[dict], best: dict[str, float], score: Score, points: int
) -> pd.DataFrame:
    """The loss along each free parameter over its range, the others at ``best``, on the same seeds.

    Each point is stored as a trial of the ``profile`` study as soon as it is
    scored, so an interrupted profile resumes where it stopped.
    """
    study = optuna.create_study(study_name=PROFILE_STUDY, storage=storage, direction="minimize", load_if_exists=True)
    done = {(t.user_attrs["profiled"], t.params[t.user_attrs["profiled"]]): t.value for t in completed(study)}
    distributions = {
        p["name"]: optuna.distributions.FloatDistribution(float(p["low"]), float(p["high"]), log=bool(p.get("log")))
        for p in free
    }
    rows = []
    for p in free:
        name = p["name"]
        for value in profile_grid(p, best[name], points):
            if (name, value) not in done:
                pause_point("calibration_profile")
                values = {**best, name: value}
                done[(name, value)], table = score(values)
                study.add_trial(
                    optuna.trial.create_trial(
                        params=values,
                        distributions=distributions,
                        value=done[(name, value)],
                        user_attrs={"profiled": name, **simulated(table)},
                    )
                )
            rows.append(
                {
                    "parameter": name,
                    "value": value,
                    "position": round(search_position(value, p), 6),
                    "at_best": value == best[name],
                    "loss": done[(name, value)],
                }
            )
    return pd.DataFrame(rows)


def profile_figure(table: pd.DataFrame, free: list[dict], path: Path) -> None:
    """One panel per free parameter: the loss over its range, the best value dashed."""
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    cols = min(4, len(free))
    rows = math.ceil(len(free) / cols)
    with themed() as new_figure:
        fig = new_figure(figsize=(3.3 * cols, 2.5 * rows))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, p in zip(axes, free, strict=False):
            part = table[table["parameter"] == p["name"]]
            ax.plot(part["value"], part["loss"], marker="o", markersize=3)
            ax.axvline(part.loc[part["at_best"], "value"].iloc[0], color=".3", linestyle="--", linewidth=1)
            if p.get("log"):
                ax.set_xscale("log")
            if (part["loss"] > 0).all() and part["loss"].max() > 10 * part["loss"].min():
                ax.set_yscale("log")  # a parameter pushed to the edge of its range can cost orders of magnitude
                ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
                ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_title(p["name"].split(".")[-1], fontsize=9)
            ax.tick_params(labelsize=8)
        for ax in axes[len(free) :]:
            ax.set_visible(False)
        fig.supylabel("loss (others at the best point)", fontsize=10)
        fig.tight_layout()
        fig.savefig(path, dpi=100)


def _non_negative(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"= {text!r} is not allowed; expected a number >= 0")
    return value


def _positive(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"= {text!r} is not allowed; expected a number > 0")
    return value


def canonical_arguments(args: argparse.Namespace, folder: Path) -> list[str]:
    """The fit's settings as arguments, with absolute paths, for ``--resume`` (stored in the working folder)."""
    return [
        *("--targets", str(Path(args.targets).absolute()), "--params", str(Path(args.params).absolute())),
        *("--trials", str(args.trials), "--seed", str(args.seed), "--seeds-optimiser", str(args.seeds_optimiser)),
        *("--profile-points", str(args.profile_points), "--replicates", str(args.replicates)),
        *("--patients", str(args.patients), "--out", str(Path(folder).absolute())),
        *(("--apply", args.apply) if args.apply else ()),
        *(("--force",) if args.force else ()),
        *("--method", args.method, "--population", str(args.population), "--generations", str(args.generations)),
        *("--min-epsilon", repr(args.min_epsilon), "--max-simulations", str(args.max_simulations)),
        *("--jobs", str(args.jobs), "--scale", args.scale),
        *("--kernel", args.kernel, "--kernel-scaling", repr(args.kernel_scaling)),
        *args.overrides,
    ]


def resumed(parser: argparse.ArgumentParser, folder: Path, argv: list[str]) -> argparse.Namespace:
    """The settings of the interrupted fit whose results folder is ``folder``.

    Raises:
        ConfigError: other options were given, the fit is finished, or there is no interrupted fit there.
    """
    given = len(argv) - (1 if any(a.startswith("--resume=") for a in argv) else 2)
    if given:
        raise ConfigError(
            f"config error: --resume = {str(folder)!r} takes no other options; the fit continues with its own settings"
        )
    if (folder / RECORD).is_file():
        raise ConfigError(f"config error: --resume = {str(folder)!r} is not allowed; that fit is finished")
    settings = working_folder(folder) / SETTINGS
    if not settings.is_file():
        raise ConfigError(
            f"config error: --resume = {str(folder)!r} is not allowed; expected the results folder of an "
            f"interrupted fit (no {settings.parent.name}/{SETTINGS} next to it)"
        )
    stored = yaml.safe_load(settings.read_text())
    return parser.parse_args(stored["arguments"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = Parser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, replicates=2, patients=1000)
    parser.add_argument("--targets", default=DEFAULT_TARGETS, help="targets file (default: the published ones)")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="free parameters file")
    parser.add_argument(
        "--trials", type=whole(1), default=DEFAULT_TRIALS, help=f"trials per optimiser seed (default {DEFAULT_TRIALS})"
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed of the optimiser's sampler (default 0)")
    parser.add_argument(
        "--seeds-optimiser",
        type=whole(1),
        default=DEFAULT_OPTIMISER_SEEDS,
        help=f"independent optimiser runs, seeds --seed, --seed+1, ... (default {DEFAULT_OPTIMISER_SEEDS})",
    )
    parser.add_argument(
        "--profile-points",
        type=whole(2),
        default=DEFAULT_PROFILE_POINTS,
        help=f"grid points over each parameter's range in the profile (default {DEFAULT_PROFILE_POINTS})",
    )
    parser.add_argument(
        "--resume", type=Path, help="results folder of an interrupted fit: continue it, with its own settings"
    )
    parser.add_argument("--apply", metavar="NAME", help="also write the fit as conf/fit/NAME.yaml (+fit=NAME)")
    parser.add_argument("--force", action="store_true", help="with --apply: replace an existing preset")
    parser.add_argument("--method", choices=("optuna", "abc"), default="optuna", help="best point or posterior")
    parser.add_argument("--population", type=whole(2), default=200, help="abc: particles per generation (200)")
    parser.add_argument("--generations", type=whole(1), default=8, help="abc: most generations (default 8)")
    parser.add_argument(
        "--min-epsilon", type=_non_negative, default=0.0, help="abc: stop at this tolerance (loss) or below (0)"
    )
    parser.add_argument(
        "--max-simulations", type=whole(1), default=20_000, help="abc: stop after this many model runs (20000)"
    )
    parser.add_argument("--jobs", type=whole(0), default=0, help="abc: worker processes (0 = one per core)")
    parser.add_argument(
        "--scale",
        choices=("unbounded", "natural"),
        default="unbounded",
        help="abc: sample each parameter on its prior's unbounded scale (log, logit; default) or the natural one",
    )
    parser.add_argument(
        "--kernel",
        choices=KERNELS,
        default="global",
        help="abc: proposals from one Student-t fitted to the last generation (global; default) or pyabc's "
        "Gaussian kernel density estimate (local)",
    )
    parser.add_argument(
        "--kernel-scaling",
        type=_positive,
        default=2.0,
        help="abc: multiply the proposal's covariance by this (default 2; with --kernel local, 1 is pyabc's own)",
    )
    args = parser.parse_args(argv)
    resuming = args.resume is not None
    try:
        if resuming:
            folder = Path(args.resume)
            args = resumed(parser, folder, argv)
        else:
            folder = args.out or results_folder("calibration")
        base = ["experiment=compare_care_models", *size_overrides(args)]
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
        work = working_folder(folder)
        if not resuming and (work / SETTINGS).is_file():  # settings are written first: without them, no study
            raise ConfigError(
                f"config error: --out = {str(folder)!r} is not allowed; an interrupted fit is there "
                f"(continue it with --resume {folder})"
            )
        check_before_work(config, folder)
        if args.method == "abc":
            if args.apply:
                raise ConfigError(
                    f"config error: --apply = {args.apply!r} is not allowed with --method abc; a posterior is not "
                    "one point (experiments.psa --posterior takes it)"
                )
            abc_config = usual_care_only(config)
            with_prior = free_with_priors(abc_config, free, args.params)
    except ConfigError as err:
        return config_error(err)

    with writing(work):
        work.mkdir(parents=True, exist_ok=True)
        if not resuming:
            write_atomic(work / SETTINGS, yaml.safe_dump({"arguments": canonical_arguments(args, folder)}))
    print(describe_moves(free, movers, all_free), flush=True)
    print(f"working in {work}; if interrupted, continue with --resume {folder}", file=sys.stderr)
    if args.method == "abc":
        manifest = calibration_manifest(config, base, [args.seed], canonical_arguments(args, folder))
        return calibrate_abc(args, abc_config, with_prior, free, targets, folder, manifest)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{work.absolute() / STUDY}")
    score = scorer(config, targets)
    # The first trial of each seed is the current defaults (where they lie in the ranges): where the fit began.
    defaults = {p["name"]: current_value(p["name"]) for p in free}
    start = defaults if all(float(p["low"]) <= defaults[p["name"]] <= float(p["high"]) for p in free) else None
    seeds = [args.seed + k for k in range(args.seeds_optimiser)]
    studies = {seed: optimise(storage, seed, free, score, args.trials, start) for seed in seeds}

    runs = [
        {
            "seed": seed,
            "best_loss": float(study.best_value),
            "start_loss": float(completed(study)[0].value) if start is not None else None,
            "best": {k: float(f"{v:.6g}") for k, v in study.best_params.items()},
        }
        for seed, study in studies.items()
    ]
    best = min(runs, key=lambda r: r["best_loss"])["best"]  # rounded as the overrides are: what one would adopt
    fit_loss, fit = score(best)
    profiled = profile(storage, free, best, score, args.profile_points)
    rise = profiled.groupby("parameter", sort=False)["loss"].max() - fit_loss
    lowest = profiled.loc[profiled["loss"].idxmin()]
    overrides = [f"{k}={v:.6g}" for k, v in best.items()]
    record = {
        "targets": str(args.targets),
        "free_parameters": free,
        "trials_per_seed": args.trials,
        "moved": {p["name"]: movers[p["name"]] for p in free},
        "optimiser_seeds": runs,
        "best_loss_spread": max(r["best_loss"] for r in runs) - min(r["best_loss"] for r in runs),
        "best": dict(best),  # a copy: YAML would write the seed's entry as an alias
        "loss": float(fit_loss),
        "inside": f"{int(fit['inside'].sum())} of {len(fit)}",
        "bounds": {
            p["name"]: {
                "value": best[p["name"]],
                "low": p["low"],
                "high": p["high"],
                "position": round(search_position(best[p["name"]], p), 4),
                "near_bound": near_bound(best[p["name"]], p),
            }
            for p in free
        },
        "profile_loss_rise": {name: round(float(v), 4) for name, v in rise.items()},
        # A profile point below the best loss: the optimiser stopped short of a minimum along that parameter.
        "profile_lowest": {
            "parameter": str(lowest["parameter"]),
            "value": float(lowest["value"]),
            "loss": float(lowest["loss"]),
            "below_best": bool(lowest["loss"] < fit_loss),
        },
        "overrides": overrides,
        "manifest": calibration_manifest(config, base, seeds, canonical_arguments(args, folder)),
    }
    trials = pd.concat(
        [
            pd.DataFrame(
                [{"seed": seed, "trial": t.number, **t.params, "loss": t.value, **t.user_attrs} for t in completed(s)]
            )
            for seed, s in studies.items()
        ],
        ignore_index=True,
    )
    with writing(folder), StagedFolder(folder) as stage:
        trials.to_csv(stage.path / "trials.csv", index=False)
        fit.to_csv(stage.path / "fit.csv", index=False)
        profiled.to_csv(stage.path / "profile.csv", index=False)
        profile_figure(profiled, free, stage.path / "profile.png")
        (stage.path / RECORD).write_text(yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
        folder = stage.commit()
        if preset is not None:
            write_fit_preset(preset, record["best"], record, folder)
    shutil.rmtree(work)  # the study is finished and its results are published; a kill here leaves it hidden

    side = pd.DataFrame({f"seed {r['seed']}": r["best"] for r in runs})
    side["range"] = [f"{p['low']:g}-{p['high']:g}" + (" (log)" if p.get("log") else "") for p in free]
    side["near bound"] = [record["bounds"][p["name"]]["near_bound"] for p in free]
    side["profile rise"] = rise.round(3)
    side.index = [name.split(".")[-1] for name in side.index]
    print("best loss by optimiser seed: " + ", ".join(f"{r['best_loss']:.3f} (seed {r['seed']})" for r in runs))
    print(side.to_string())
    print(f"\nloss at the best values {fit_loss:.3f}; {record['inside']} fitted rows inside their band")
    if lowest["loss"] < fit_loss:
        print(
            f"not converged: the profile found a lower loss, {lowest['loss']:.3f}, "
            f"at {lowest['parameter']} = {lowest['value']:g} (the others at the best values)"
        )
    print(fit[["target", "arm", "band_low", "band_high", "simulated", "inside"]].round(3).to_string(index=False))
    if preset is not None:
        print(f"\nthe fit is the preset {preset}: python -m experiments.run +fit={preset.stem}")
    else:
        print("\nto use the fitted values, add these overrides (or write them as a preset with --apply NAME):")
        print("  " + " ".join(overrides))
    print(f"results: {folder}")
    return 0 if math.isfinite(fit_loss) else 1


def free_with_priors(config: Config, free: list[dict], path: Path) -> list[UncertainParameter]:
    """The free parameters as declared, with their priors (ABC needs one on each).

    Raises:
        ConfigError: naming a free parameter declared without a prior.
    """
    declared = {p.path: p for p in uncertain_parameters(config)}
    missing = [p["name"] for p in free if p["name"] not in declared]
    if missing:
        raise ConfigError(
            f"config error: {path}: {missing[0]} has no prior in sim/core/params.py; --method abc draws every "
            "free parameter from its declared prior (prior=Prior(...))"
        )
    return [declared[p["name"]] for p in free]


def calibrate_abc(
    args: argparse.Namespace,
    config: Config,
    free: list[UncertainParameter],
    entries: list[dict],
    targets: list[Target],
    folder: Path,
    manifest: dict,
) -> int:
    """Fit by ABC-SMC, resumably, and write the posterior folder (see sim/outputs/posterior.py)."""
    work = working_folder(folder)
    jobs = worker_count(dataclasses.replace(config, run=dataclasses.replace(config.run, jobs=args.jobs)), 10**6)
    settings = AbcSettings(
        population=args.population,
        generations=args.generations,
        min_epsilon=args.min_epsilon,
        max_simulations=args.max_simulations,
        seed=args.seed,
        jobs=jobs,
        unbounded=args.scale == "unbounded",
        kernel=args.kernel,
        kernel_scaling=args.kernel_scaling,
    )
    ranges = {e["name"]: (float(e["low"]), float(e["high"])) for e in entries}
    database = work / "history.db"
    print(
        f"ABC-SMC: {len(free)} parameters, {len(targets)} usual-care targets, {args.population} particles, "
        f"{jobs} workers",
        file=sys.stderr,
    )

    def generation(t: int) -> None:
        if t >= 0:
            print(f"abc: generation {t + 1} of at most {args.generations}", file=sys.stderr, flush=True)
        pause_point("abc-generation")

    fitted = fit_abc(config, free, ranges, targets, settings, database, pause=generation)
    means = {name: weighted_mean(fitted.posterior, name) for name in ranges}
    fit_table = evaluate(run_experiment(apply_draw(config, free, means)), targets)
    last = fitted.diagnostics.iloc[-1]
    overrides = [f"{k}={v:.6g}" for k, v in means.items()]
    record = {
        "method": "abc-smc (pyabc)",
        "targets": str(args.targets),
        "free_parameters": entries,
        "size": {"replicates": args.replicates, "patients": args.patients},
        "settings": {
            "population": args.population,
            "generations": args.generations,
            "min_epsilon": args.min_epsilon,
            "max_simulations": args.max_simulations,
            "seed": args.seed,
            "unbounded": args.scale == "unbounded",
            "kernel": args.kernel,
            "kernel_scaling": args.kernel_scaling,
        },
        "generations": len(fitted.diagnostics),
        "simulations": int(fitted.diagnostics["simulations"].sum()),
        "final_epsilon": float(last["epsilon"]),
        "loss_at_posterior_mean": loss(fit_table),
        "inside_at_posterior_mean": f"{int(fit_table['inside'].sum())} of {len(fit_table)}",
        "overrides": overrides,
        "manifest": manifest,
    }
    priors = {p.path: TruncatedPrior(p, *clip_range(p, ranges[p.path])) for p in free}
    with writing(folder):
        written = write_posterior(fitted, priors, fit_table, record, database, folder)
    shutil.rmtree(work)  # the history is finished and published (history.db); a kill here leaves it hidden
    print(fitted.diagnostics.round(4).to_string(index=False))
    print(pd.read_csv(written / "summary.csv").round(5).to_string(index=False))
    print(f"\nloss at the posterior mean {loss(fit_table):.3f}; results: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
