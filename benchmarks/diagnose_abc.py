"""Why do the importance weights of an ABC-SMC fit degenerate? Per generation, from its pyabc history.

    .venv/bin/python benchmarks/diagnose_abc.py results/calibration/<folder>

For each generation: the effective sample size (ESS) and the heaviest
particle's share of the weight; how much of the spread of the log weights
comes from the prior density and how much from the proposal density (the
kernel around the previous generation, refitted here as pyabc fits it); the
share of proposals that fall outside the prior's support (rejected and drawn
again); and, for the three heaviest particles, their log prior and log
proposal density and the parameters that sit in the prior's 5% tails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyabc
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.calibrate import usual_care_only  # noqa: E402
from experiments.validate import validation_config  # noqa: E402
from sim.analysis.abc_smc import (  # noqa: E402
    AbcSettings,
    SampledPrior,
    effective_sample_size,
    sampling_priors,
    transition,
)
from sim.analysis.psa import uncertain_parameters  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a calibration folder of experiments.calibrate --method abc")
    parser.add_argument("--heaviest", type=int, default=3)
    args = parser.parse_args()
    record = yaml.safe_load((args.folder / "calibration.yaml").read_text())
    settings = record["settings"]
    unbounded = bool(settings.get("unbounded", False))
    kernel_settings = AbcSettings(
        kernel=settings.get("kernel", "local"), kernel_scaling=float(settings.get("kernel_scaling", 1.0))
    )
    entries = record["free_parameters"]
    declared = {p.path: p for p in uncertain_parameters(usual_care_only(validation_config([])))}
    free = [declared[e["name"]] for e in entries]
    ranges = {e["name"]: (float(e["low"]), float(e["high"])) for e in entries}
    priors = sampling_priors(free, ranges, unbounded)
    names = list(priors)
    history = pyabc.History(f"sqlite:///{(args.folder / 'history.db').absolute()}")
    print(
        f"{len(names)} parameters, {'unbounded' if unbounded else 'natural'} scale, {kernel_settings.kernel} kernel, "
        f"scaling {kernel_settings.kernel_scaling:g}"
    )
    previous = None
    for t in range(history.max_t + 1):
        frame, w = history.get_distribution(m=0, t=t)
        w = np.asarray(w, dtype=float) / np.sum(w)
        x = frame[names].to_numpy(dtype=float)
        line = f"generation {t}: ESS {effective_sample_size(w):.1f} of {len(w)}, heaviest {w.max():.1%}"
        if previous is None:
            print(line + " (drawn from the prior: equal weights)")
            previous = (frame[names], w)
            continue
        kernel = transition(kernel_settings)
        kernel.fit(*previous)
        log_q = np.log(kernel.pdf(frame[names]))
        log_prior = np.array([sum(np.log(priors[n].pdf(v)) for n, v in zip(names, row, strict=True)) for row in x])
        log_w = np.log(w)
        proposals = kernel.rvs(size=4000)
        outside = np.mean(
            [any(priors[n].pdf(v) == 0.0 for n, v in zip(names, row, strict=True)) for row in proposals.to_numpy()]
        )
        print(
            line + f"; SD of log weight {log_w.std():.2f}: of log prior {log_prior.std():.2f}, of log proposal "
            f"{log_q.std():.2f}, their correlation {np.corrcoef(log_prior, log_q)[0, 1]:.2f}; "
            f"proposals outside the support {outside:.1%}"
        )
        for i in np.argsort(w)[::-1][: args.heaviest]:
            tails = []
            for n, v in zip(names, x[i], strict=True):
                prior = priors[n]
                q = prior.cdf(v)
                natural = float(prior.natural(v)) if isinstance(prior, SampledPrior) else v
                if q < 0.05 or q > 0.95:
                    tails.append(f"{n.split('.')[-1]}={natural:.4g} (q {q:.3f})")
            print(
                f"   weight {w[i]:.1%}: log prior {log_prior[i]:.2f} (median {np.median(log_prior):.2f}), "
                f"log proposal {log_q[i]:.2f} (median {np.median(log_q):.2f}); in the tails: "
                + (", ".join(tails) or "none")
            )
        previous = (frame[names], w)


if __name__ == "__main__":
    main()
