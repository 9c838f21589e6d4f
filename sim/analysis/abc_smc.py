"""Bayesian calibration by ABC-SMC (pyabc): a posterior sample of the free parameters, fitted to usual care.

Approximate Bayesian computation by sequential Monte Carlo (Toni et al.
2009; Klinger, Rickert & Hasenauer 2018, pyabc). A candidate parameter set
is drawn (from the prior in the first generation, then from a proposal
fitted to the previous generation's particles: :class:`GlobalTransition`),
each parameter on the unbounded scale of its prior (:class:`SampledPrior`:
log for log-normal, logit for beta), and the model runs the usual-care
(reference) arm on the fit's fixed seeds (common random numbers), and the
candidate is accepted if its distance to the targets is within the
generation's tolerance epsilon. Epsilon is the median distance of the
previous generation (adaptive); accepted particles carry importance
weights (prior / proposal). The distance is the calibration loss of
:func:`sim.analysis.targets.loss`: squared distance from each band's centre
in half-widths, summed over the fitted targets (the one Optuna minimises).

The prior of each free parameter is its declared :class:`sim.core.params.Prior`
(centred on the default), truncated to the intersection of its declared
range and the search range of the free-parameter file.

Reproducible whatever the number of worker processes: candidate k of
generation t is drawn and simulated from a seed derived from (seed, t, k),
and candidates are accepted in index order (:class:`OrderedSampler`), so the
n accepted particles are the first n acceptable candidates, however the
work was spread. pyabc keeps every generation in its SQLite history, which
is what lets an interrupted fit resume.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyabc
from pyabc.random_variables import RVBase
from scipy import stats

from ..core.params import Config
from .experiment import in_workers, run_experiment
from .psa import UncertainParameter, apply_draw, distribution
from .targets import Target, evaluate, loss

BAND_COLUMNS = ("band_low", "band_high")


@dataclass(frozen=True)
class AbcSettings:
    """How an ABC-SMC fit runs and when it stops (all recorded with the posterior).

    Attributes:
        population: Accepted particles per generation.
        generations: Most generations (the first from the prior).
        min_epsilon: The tolerance never goes below this distance; the fit stops at the generation that reaches it.
        max_simulations: Stop once this many model runs have been spent in total.
        seed: Seeds every candidate (with the generation and the candidate's index).
        jobs: Worker processes (1 = in this process).
        unbounded: Sample each parameter on the unbounded scale of its prior (:class:`SampledPrior`);
            False samples on the natural scale (kept to measure the difference).
        kernel: ``global``: proposals from one multivariate Student-t fitted to the last generation
            (:class:`GlobalTransition`); ``local``: pyabc's Gaussian kernel density estimate around each particle.
        kernel_scaling: Multiplies the proposal's covariance by this. Twice the population's covariance
            (measured, docs/uncertainty.md) keeps the weights even: a proposal a little wider than the
            target costs some acceptance; one narrower in any direction gives the few candidates accepted
            out there huge weights.
    """

    population: int = 200
    generations: int = 8
    min_epsilon: float = 0.0
    max_simulations: int = 20_000
    seed: int = 0
    jobs: int = 1
    unbounded: bool = True
    kernel: str = "global"
    kernel_scaling: float = 2.0


class TruncatedPrior(RVBase):
    """A parameter's declared prior truncated to [lo, hi], as a pyabc random variable."""

    def __init__(self, parameter: UncertainParameter, lo: float, hi: float) -> None:
        self.parameter, self.lo, self.hi = parameter, lo, hi
        self.dist = distribution(parameter)
        self.cdf_lo, self.cdf_hi = float(self.dist.cdf(lo)), float(self.dist.cdf(hi))

    def copy(self) -> TruncatedPrior:
        """A copy (pyabc copies priors)."""
        return TruncatedPrior(self.parameter, self.lo, self.hi)

    def rvs(self, *args: object, **kwargs: object) -> float:
        """One draw by inverse CDF, from NumPy's global generator (seeded per candidate by the sampler)."""
        return float(self.dist.ppf(self.cdf_lo + (self.cdf_hi - self.cdf_lo) * np.random.random()))  # noqa: NPY002

    def pdf(self, x: float, *args: object, **kwargs: object) -> float:
        """Density of the truncated prior (0 outside [lo, hi])."""
        if not self.lo <= x <= self.hi:
            return 0.0
        return float(self.dist.pdf(x)) / (self.cdf_hi - self.cdf_lo)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the truncated prior."""
        return float(self.dist.ppf(self.cdf_lo + q * (self.cdf_hi - self.cdf_lo)))

    def pmf(self, x: float, *args: object, **kwargs: object) -> float:
        """A continuous variable has no mass at a point."""
        return 0.0

    def cdf(self, x: float, *args: object, **kwargs: object) -> float:
        """Cumulative probability of the truncated prior."""
        inside = (float(self.dist.cdf(np.clip(x, self.lo, self.hi))) - self.cdf_lo) / (self.cdf_hi - self.cdf_lo)
        return float(np.clip(inside, 0.0, 1.0))


SCALES = {"lognormal": "log", "beta": "logit", "normal": "identity", "uniform": "identity"}
"""The scale a prior family is sampled on: one on which it is unbounded and roughly normal."""


class SampledPrior(RVBase):
    """A truncated prior on the scale the sampler works on: log for log-normal, logit for beta, else natural.

    The proposal of ABC-SMC is symmetric and bell-shaped (a Gaussian kernel,
    or the Student-t of :class:`GlobalTransition`); on the natural scale a
    log-normal or beta prior is skewed and pressed against 0 (or 1), so the
    proposal puts mass where the prior has little or none, and the prior
    density of accepted particles, the numerator of their importance weights,
    spans orders of magnitude. On its unbounded scale the prior is close to
    normal. The density here is the
    transformed prior, p(x(y)) |dx/dy|, so the posterior, transformed back by
    :meth:`natural`, is the same distribution as one sampled on the natural scale.
    """

    def __init__(self, base: TruncatedPrior) -> None:
        self.base = base
        self.scale = SCALES[base.parameter.prior.family]

    def copy(self) -> SampledPrior:
        """A copy (pyabc copies priors)."""
        return SampledPrior(self.base.copy())

    def natural(self, y: float | np.ndarray) -> float | np.ndarray:
        """The parameter's value at ``y`` on the sampling scale."""
        if self.scale == "log":
            return np.exp(y)
        if self.scale == "logit":
            return 1.0 / (1.0 + np.exp(-y))
        return y

    def sampled(self, x: float | np.ndarray) -> float | np.ndarray:
        """The sampling-scale value of the parameter value ``x``."""
        with np.errstate(divide="ignore"):
            if self.scale == "log":
                return np.log(x)
            if self.scale == "logit":
                return np.log(x) - np.log1p(-x)
        return x

    def jacobian(self, y: float) -> float:
        """|dx/dy| at ``y``."""
        x = float(self.natural(y))
        if self.scale == "log":
            return x
        if self.scale == "logit":
            return x * (1.0 - x)
        return 1.0

    def rvs(self, *args: object, **kwargs: object) -> float:
        """One draw: the truncated prior's, transformed (the same global generator)."""
        return float(self.sampled(self.base.rvs()))

    def pdf(self, x: float, *args: object, **kwargs: object) -> float:
        """Density on the sampling scale: the natural density at x(y) times |dx/dy| (0 outside the range)."""
        if not np.isfinite(x):
            return 0.0
        return self.base.pdf(float(self.natural(x))) * self.jacobian(x)

    def pmf(self, x: float, *args: object, **kwargs: object) -> float:
        """A continuous variable has no mass at a point."""
        return 0.0

    def cdf(self, x: float, *args: object, **kwargs: object) -> float:
        """Cumulative probability (the transforms are increasing)."""
        return self.base.cdf(float(self.natural(x)))


def sampling_priors(
    free: list[UncertainParameter], ranges: dict[str, tuple[float, float]], unbounded: bool = True
) -> dict[str, TruncatedPrior | SampledPrior]:
    """Each free parameter's prior as the sampler sees it: truncated, on its unbounded scale (or natural)."""
    truncated = {p.path: TruncatedPrior(p, *clip_range(p, ranges[p.path])) for p in free}
    if not unbounded:
        return truncated
    return {name: SampledPrior(prior) for name, prior in truncated.items()}


def to_natural(frame: pd.DataFrame, priors: dict[str, TruncatedPrior | SampledPrior]) -> pd.DataFrame:
    """Sampling-scale parameter columns back on their natural scale (other columns as they are)."""
    out = frame.copy()
    for name, prior in priors.items():
        if name in out:
            out[name] = natural(prior, out[name].to_numpy(dtype=float))
    return out


def clip_range(parameter: UncertainParameter, search: tuple[float, float]) -> tuple[float, float]:
    """The prior's support: the declared range intersected with the search range."""
    return max(parameter.lo, search[0]), min(parameter.hi, search[1])


def target_key(target: str, arm: str) -> str:
    """The summary-statistic name of a target in one arm (``C2:fragmented``)."""
    return f"{target}:{arm}"


def bands(targets: list[Target], arm: str) -> pd.DataFrame:
    """The fitted bands as a table indexed by summary-statistic name (``band_low``, ``band_high``)."""
    return pd.DataFrame(
        [
            {"key": target_key(t.id, arm), "band_low": t.low, "band_high": t.high}
            for t in targets
            if t.arm in ("each", arm)
        ]
    ).set_index("key")


def simulated_targets(config: Config, targets: list[Target]) -> dict[str, float]:
    """Run ``config`` and return each target's simulated value, by summary-statistic name."""
    table = evaluate(run_experiment(config), targets)
    return {target_key(r.target, r.arm): float(r.simulated) for r in table.itertuples()}


def band_distance(table: pd.DataFrame) -> Callable[[dict, dict], float]:
    """The ABC distance: the calibration loss of the simulated values against the bands in ``table``."""

    def distance(simulated: dict, _observed: dict) -> float:
        values = pd.Series([simulated[k] for k in table.index], index=table.index, dtype=float)
        return loss(table.assign(simulated=values))

    return distance


# The candidate function of the generation being sampled. Set before the worker processes are
# forked, so they inherit it: pyabc's simulate-one closure cannot be pickled by the standard library.
_simulate_one: Callable[[], object] | None = None


def _candidate(seed: int) -> object:
    # pyabc draws proposals from NumPy's global generator (its own design); seeding it per
    # candidate makes each candidate depend only on its seed, not on which process ran it.
    np.random.seed(seed)  # noqa: NPY002
    assert _simulate_one is not None
    return _simulate_one()


def candidate_seed(seed: int, generation: int, index: int) -> int:
    """The seed of candidate ``index`` of ``generation`` (the calibration sample is generation -1)."""
    return int(np.random.SeedSequence([seed, generation + 1, index]).generate_state(1)[0])


class OrderedSampler(pyabc.sampler.Sampler):
    """Evaluate candidates in parallel batches, accept in index order: the same particles for any worker count."""

    def __init__(self, seed: int, jobs: int, pause: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.seed, self.jobs, self.pause = seed, jobs, pause

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable[[], object],
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: object = None,
    ) -> pyabc.Sample:
        """The first ``n`` accepted candidates of generation ``t`` in index order (``max_eval`` caps the count)."""
        global _simulate_one
        if self.pause is not None:
            self.pause(t)
        _simulate_one = simulate_one
        sample = self._create_empty_sample()
        accepted = evaluated = 0
        rate = 1.0
        while accepted < n and evaluated < max_eval:
            # Enough candidates for the acceptances still missing at the last batch's rate, at least
            # a few per worker; the extra candidates of the last batch are discarded, not counted.
            size = int(min(max(math.ceil((n - accepted) / max(rate, 0.01)), 4 * self.jobs), 20 * n))
            if math.isfinite(max_eval):
                size = int(min(size, max_eval - evaluated))
            seeds = [candidate_seed(self.seed, t, evaluated + i) for i in range(size)]
            results: list[object] = [None] * size
            for i, particle in in_workers(_candidate, [(s,) for s in seeds], min(self.jobs, size)):
                results[i] = particle
            batch_accepted = 0
            for particle in results:
                sample.append(particle)
                evaluated += 1
                if particle.accepted:
                    accepted += 1
                    batch_accepted += 1
                    if accepted == n:
                        break
            rate = batch_accepted / size
        self.nr_evaluations_ = evaluated
        if accepted < n:
            sample.ok = False
        return sample


class FlooredEpsilon(pyabc.QuantileEpsilon):
    """pyabc's adaptive tolerance (a quantile of the last generation's distances), never below ``floor``.

    The last generation then runs at exactly ``floor`` (the fit stops there, as
    ``minimum_epsilon``), rather than at a quantile that may already lie below
    it: a tolerance below the model's own noise would reject the true point.
    """

    def __init__(self, floor: float, alpha: float = 0.5) -> None:
        super().__init__(alpha=alpha)
        self.floor = floor

    def __call__(self, t: int) -> float:
        """The tolerance of generation ``t``."""
        return max(super().__call__(t), self.floor)


@dataclass(frozen=True)
class AbcFit:
    """The outcome of a fit: the last generation's weighted particles and the per-generation diagnostics.

    Attributes:
        posterior: One row per particle: one column per free parameter (dotted path), ``weight`` (sums to 1)
            and ``distance``.
        diagnostics: One row per generation: ``generation``, ``epsilon``, ``particles``, ``simulations``,
            ``acceptance_rate``, ``ess`` (effective sample size of the weights) and ``max_weight`` (the
            heaviest particle's share).
    """

    posterior: pd.DataFrame
    diagnostics: pd.DataFrame


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights: (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum())


def fit(
    config: Config,
    free: list[UncertainParameter],
    ranges: dict[str, tuple[float, float]],
    targets: list[Target],
    settings: AbcSettings,
    database: Path,
    pause: Callable[[int], None] | None = None,
) -> AbcFit:
    """Fit the free parameters to the targets by ABC-SMC, continuing the history in ``database`` if it has one.

    Args:
        config: The usual-care-only configuration the fit runs (its seed and size are the common random numbers).
        free: The free parameters, each with a declared prior.
        ranges: Search range per parameter path.
        targets: The fitted targets (measured in ``config``'s one arm).
        settings: Population, stopping rules, seed, workers.
        database: pyabc's SQLite history. If it holds a fit, the fit continues from its last complete
            generation (the same settings are the caller's to ensure).
        pause: Called with the generation index before each generation is sampled (a test hook).
    """
    logging.getLogger("ABC").setLevel(logging.WARNING)  # pyabc logs every generation at INFO
    arm = next(iter(config.arms))
    table = bands(targets, arm)
    serial = dataclasses.replace(
        config, run=dataclasses.replace(config.run, jobs=1)
    )  # candidates are the parallel unit

    def model(values: dict[str, float]) -> dict[str, float]:
        return simulated_targets(apply_draw(serial, free, values), targets)

    observed = {key: _centre(row.band_low, row.band_high) for key, row in table.iterrows()}
    priors = sampling_priors(free, ranges, settings.unbounded)
    return smc(model, priors, band_distance(table), observed, settings, database, pause)


def smc(
    model: Callable[[dict[str, float]], dict[str, float]],
    priors: dict[str, TruncatedPrior | SampledPrior],
    distance: Callable[[dict, dict], float],
    observed: dict[str, float],
    settings: AbcSettings,
    database: Path,
    pause: Callable[[int], None] | None = None,
) -> AbcFit:
    """ABC-SMC with any model: the sampler of :func:`fit`, continuing the history in ``database`` if it has one.

    Args:
        model: Natural-scale parameter values by name -> summary statistics by name.
        priors: The sampling priors (:func:`sampling_priors`); the sampler works on their scale, the model
            and the returned posterior on the natural one.
        distance: (simulated, observed) -> distance.
        observed: The observed summary statistics (a record for a distance that reads bands).
        settings: Population, stopping rules, seed, workers, kernel scaling.
        database: pyabc's SQLite history.
        pause: Called with the generation index before each generation is sampled (a test hook).
    """

    def sampled_model(parameters: dict) -> dict[str, float]:
        # The sampler works on each prior's unbounded scale; the model receives the natural value.
        return model({name: float(natural(prior, parameters[name])) for name, prior in priors.items()})

    abc = pyabc.ABCSMC(
        sampled_model,
        pyabc.Distribution(**priors),
        distance,
        population_size=settings.population,
        transitions=transition(settings),
        sampler=OrderedSampler(settings.seed, settings.jobs, pause),
        eps=FlooredEpsilon(settings.min_epsilon),
    )
    uri = f"sqlite:///{Path(database).absolute()}"
    done = 0
    if Path(database).is_file():
        history = abc.load(uri, 1)
        done = history.max_t + 1
    else:
        history = abc.new(uri, observed)
    if done < settings.generations and not _stopped(history, settings):
        history = abc.run(
            minimum_epsilon=settings.min_epsilon,
            max_nr_populations=settings.generations - done,
            max_total_nr_simulations=settings.max_simulations,
        )
    abc.sampler.stop()
    return read_fit(history, priors)


KERNELS = ("global", "local")


def transition(settings: AbcSettings) -> pyabc.transition.Transition:
    """The proposal kernel of ``settings`` (see :class:`AbcSettings`)."""
    if settings.kernel == "local":
        return pyabc.MultivariateNormalTransition(scaling=settings.kernel_scaling)
    return GlobalTransition(scaling=settings.kernel_scaling)


class GlobalTransition(pyabc.transition.Transition):
    """Proposals from one multivariate Student-t with the last generation's weighted mean and covariance.

    pyabc's default kernel is a Gaussian kernel density estimate: a bump
    around every particle. With 14 parameters and a few hundred particles the
    bumps barely overlap, the proposal density is spiky, and a candidate that
    lands between bumps and is accepted gets an importance weight (prior /
    proposal) many times the others': the weights degenerate. One smooth
    density over the whole population instead makes the weight a smooth
    function of the parameters; on the unbounded scale (:class:`SampledPrior`)
    the posterior is close to normal, so it fits well. The Student-t's heavier
    tails keep the weights bounded where the prior reaches beyond the proposal.

    Args:
        scaling: Multiplies the weighted covariance of the population.
        df: Degrees of freedom of the Student-t.
    """

    def __init__(self, scaling: float = 2.0, df: float = 7.0) -> None:
        self.scaling, self.df = scaling, df

    def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
        """Fit the mean and the shape matrix (covariance x (df - 2) / df x scaling) to the weighted particles."""
        values = X.to_numpy(dtype=float)
        weights = np.asarray(w, dtype=float) / np.sum(w)
        self.mean = weights @ values
        centred = values - self.mean
        covariance = (centred * weights[:, None]).T @ centred / (1.0 - np.sum(weights**2))
        # A covariance of d parameters estimated from n effective particles has eigenvalues spread far
        # beyond the truth's when d/n is not small (too narrow in some directions: the candidates
        # accepted there get huge weights). Shrink the correlations toward 0 by d / (n + d).
        shrink = len(self.mean) / (effective_sample_size(weights) + len(self.mean))
        covariance = (1.0 - shrink) * covariance + shrink * np.diag(np.diag(covariance))
        self.shape = covariance * self.scaling * (self.df - 2.0) / self.df
        self.density = stats.multivariate_t(loc=self.mean, shape=self.shape, df=self.df, allow_singular=True)

    def rvs_single(self) -> pyabc.Parameter:
        """One proposal, from NumPy's global generator (seeded per candidate by the sampler)."""
        normal = np.random.multivariate_normal(np.zeros(len(self.mean)), self.shape)  # noqa: NPY002
        scale = math.sqrt(self.df / np.random.chisquare(self.df))  # noqa: NPY002
        return pyabc.Parameter(dict(zip(self.X.columns, self.mean + normal * scale, strict=True)))

    def pdf(self, x: pyabc.Parameter | pd.Series | pd.DataFrame) -> float | np.ndarray:
        """The proposal density at ``x`` (one parameter set, or one per row)."""
        if isinstance(x, pd.DataFrame):
            return np.asarray(self.density.pdf(x[self.X.columns].to_numpy(dtype=float)), dtype=float)
        return float(self.density.pdf(np.array([x[k] for k in self.X.columns], dtype=float)))


def natural(prior: TruncatedPrior | SampledPrior, value: float | np.ndarray) -> float | np.ndarray:
    """A sampled value on its parameter's natural scale (a natural-scale prior's values are already)."""
    return prior.natural(value) if isinstance(prior, SampledPrior) else value


def _stopped(history: pyabc.History, settings: AbcSettings) -> bool:
    """Whether a resumed history already met a stopping rule other than the generation count."""
    if history.max_t < 0:
        return False
    populations = history.get_all_populations()
    last = populations[populations["t"] == history.max_t].iloc[0]
    return bool(last["epsilon"] <= settings.min_epsilon or history.total_nr_simulations >= settings.max_simulations)


def _centre(low: float, high: float) -> float:
    # pyabc stores "observed" statistics; the distance reads the bands, so this is only a record.
    if math.isfinite(low) and math.isfinite(high):
        return (low + high) / 2.0
    return low if math.isfinite(low) else high


def read_fit(history: pyabc.History, priors: dict[str, TruncatedPrior | SampledPrior]) -> AbcFit:
    """The last generation's particles (on the natural scale) and every generation's diagnostics from a history."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    distances = history.get_weighted_distances(t=history.max_t)
    posterior = to_natural(frame[list(priors)].reset_index(drop=True).astype(float), priors)
    posterior["weight"] = np.asarray(weights, dtype=float) / np.sum(weights)
    posterior["distance"] = distances["distance"].to_numpy(dtype=float)
    populations = history.get_all_populations()
    rows = []
    for t in range(history.max_t + 1):
        _, w = history.get_distribution(m=0, t=t)
        row = populations[populations["t"] == t].iloc[0]
        rows.append(
            {
                "generation": t,
                "epsilon": float(row["epsilon"]),
                "particles": int(row["particles"]),
                "simulations": int(row["samples"]),
                "acceptance_rate": float(row["particles"]) / float(row["samples"]),
                "ess": effective_sample_size(w),
                "max_weight": float(np.max(w) / np.sum(w)),
            }
        )
    return AbcFit(posterior, pd.DataFrame(rows))


def credible_interval(posterior: pd.DataFrame, name: str, mass: float = 0.9) -> tuple[float, float]:
    """The central ``mass`` interval of a weighted posterior sample for parameter ``name``."""
    order = np.argsort(posterior[name].to_numpy())
    values = posterior[name].to_numpy()[order]
    weights = posterior["weight"].to_numpy()[order]
    # Each particle sits at the middle of its own weight (the weighted form of the midpoint quantile
    # rule), so equal weights give the usual symmetric sample quantiles.
    middle = (np.cumsum(weights) - weights / 2.0) / weights.sum()
    tail = (1.0 - mass) / 2.0
    return float(np.interp(tail, middle, values)), float(np.interp(1.0 - tail, middle, values))


def weighted_mean(posterior: pd.DataFrame, name: str) -> float:
    """The posterior mean of parameter ``name``."""
    return float(np.average(posterior[name], weights=posterior["weight"]))


def synthetic_targets(
    config: Config, free: list[UncertainParameter], truth: dict[str, float], targets: list[Target], width: float
) -> list[Target]:
    """Targets the model itself generates at a known point, to check that a fit recovers it.

    ``config`` (its seed and size) runs at ``truth``; each two-sided target
    becomes a band centred on the simulated value, ``width`` times the
    published band's half-width either side. One-sided and zero-width bands
    are dropped (they have no centre to move).
    """
    simulated = simulated_targets(apply_draw(config, free, truth), targets)
    arm = next(iter(config.arms))
    made = []
    for t in targets:
        half = (t.high - t.low) / 2.0
        if not (math.isfinite(half) and half > 0):
            continue
        value = simulated[target_key(t.id, arm)]
        made.append(dataclasses.replace(t, low=value - width * half, high=value + width * half))
    return made


def with_seed(config: Config, seed: int) -> Config:
    """``config`` on another base seed (another draw of the same patients and events)."""
    return dataclasses.replace(config, run=dataclasses.replace(config.run, seed=seed))


def noise_floor(
    config: Config, free: list[UncertainParameter], targets: list[Target], width: float, pairs: int, quantile: float
) -> float:
    """The distance that chance alone puts between the model and its own synthetic targets, at the prior centre.

    For each of ``pairs`` seed pairs, synthetic targets made on one seed are
    scored against a run on the other, both at the parameters' defaults; the
    ``quantile`` of these distances is a tolerance below which a fit on one
    seed would start to reject the true point of data made on another.
    """
    centre = {p.path: p.default for p in free}
    distances = []
    for k in range(pairs):
        made = synthetic_targets(with_seed(config, 2 * k + 1), free, centre, targets, width)
        table = bands(made, next(iter(config.arms)))
        simulated = simulated_targets(apply_draw(with_seed(config, 2 * k + 2), free, centre), made)
        distances.append(band_distance(table)(simulated, {}))
    return float(np.quantile(distances, quantile))


def recovery(
    config: Config,
    free: list[UncertainParameter],
    ranges: dict[str, tuple[float, float]],
    targets: list[Target],
    truth: dict[str, float],
    settings: AbcSettings,
    width: float,
    data_seed: int,
    database: Path,
) -> pd.DataFrame:
    """Fit synthetic targets made at ``truth`` on another seed; is the truth inside the 90% credible interval?

    Args:
        config: The fit's usual-care configuration (its seed: the fit's common random numbers).
        free: The free parameters.
        ranges: Their search ranges.
        targets: The targets whose bands' widths the synthetic ones take (see :func:`synthetic_targets`).
        truth: The known point.
        settings: The fit's settings; ``min_epsilon`` should not be below the :func:`noise_floor`.
        width: Synthetic half-width as a multiple of the published one.
        data_seed: The seed the synthetic targets are made on (not the fit's).
        database: A fresh pyabc history file.

    Returns:
        One row per parameter: truth, posterior mean, 90% interval, ``inside``, and ``width_ratio``
        (the interval's width over the prior's central 90%).
    """
    made = synthetic_targets(with_seed(config, data_seed), free, truth, targets, width)
    fitted = fit(config, free, ranges, made, settings, database)
    rows = []
    for p in free:
        prior = TruncatedPrior(p, *clip_range(p, ranges[p.path]))
        p05, p95 = prior.quantile(0.05), prior.quantile(0.95)
        lo, hi = credible_interval(fitted.posterior, p.path)
        rows.append(
            {
                "parameter": p.path,
                "truth": truth[p.path],
                "posterior_mean": weighted_mean(fitted.posterior, p.path),
                "interval_5%": lo,
                "interval_95%": hi,
                "inside": bool(lo <= truth[p.path] <= hi),
                "width_ratio": (hi - lo) / (p95 - p05),
                "generations": len(fitted.diagnostics),
                "final_epsilon": float(fitted.diagnostics["epsilon"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)
