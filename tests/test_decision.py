"""Decision analysis against cases computable by hand (sim.analysis.decision)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from sim.analysis.decision import ceac, evpi, evppi, frontier, net_benefit, population_evpi

N = 200_000


def evpi_two_normal(mu: float, sigma: float) -> float:
    """EVPI of two strategies whose incremental net benefit is N(mu, sigma^2).

    EVPI = E[max(NB_A, NB_B)] - max(E NB_A, E NB_B) = E[max(0, INB)] - max(0, mu)
         = mu Phi(mu/sigma) + sigma phi(mu/sigma) - max(0, mu)
         = sigma phi(mu/sigma) - |mu| Phi(-|mu|/sigma).
    """
    return sigma * norm.pdf(mu / sigma) - abs(mu) * norm.cdf(-abs(mu) / sigma)


def costlier_and_better(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Costs and QALYs of A (0, 0) and B: 2,000 (SD 500) more and 0.1 (SD 0.05) QALY more.

    The mean incremental net benefit of B is 0 at 20,000 per QALY.
    """
    rng = np.random.default_rng(seed)
    d_qaly = rng.normal(0.1, 0.05, N)
    d_cost = rng.normal(2000.0, 500.0, N)
    return np.column_stack([np.zeros(N), d_cost]), np.column_stack([np.zeros(N), d_qaly])


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 100.0), (50.0, 100.0), (-120.0, 80.0), (300.0, 100.0)])
def test_evpi_matches_the_closed_form_for_normal_net_benefits(mu: float, sigma: float) -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(1000.0, 30.0, N)  # shared part: cancels in the difference
    inb = rng.normal(mu, sigma, N)
    values = np.column_stack([base, base + inb])
    exact = evpi_two_normal(mu, sigma)
    # Monte Carlo error of the mean of max(0, INB) (the max of the means is known to within sigma/sqrt(N)).
    se = np.std(np.maximum(inb, 0.0)) / np.sqrt(N) + sigma / np.sqrt(N)
    assert abs(evpi(values) - exact) < 4 * se
    assert evpi(values) >= 0.0


def test_closed_form_is_the_integral_it_claims() -> None:
    # The hand derivation itself, checked by quadrature: E[max(0, X)] - max(0, mu) for X ~ N(mu, sigma^2).
    mu, sigma = 40.0, 90.0
    x = np.linspace(mu - 12 * sigma, mu + 12 * sigma, 400_001)
    integral = np.trapezoid(np.maximum(x, 0.0) * norm.pdf(x, mu, sigma), x) - max(0.0, mu)
    assert evpi_two_normal(mu, sigma) == pytest.approx(integral, rel=1e-6)


def test_ceac_is_one_half_where_the_mean_incremental_net_benefit_is_zero() -> None:
    costs, effects = costlier_and_better(seed=2)
    curve = ceac(costs, effects, np.array([0.0, 20_000.0, 200_000.0]))
    assert curve.sum(axis=1) == pytest.approx(1.0)
    se = np.sqrt(0.25 / N)
    assert abs(curve[1, 1] - 0.5) < 4 * se
    assert curve[0, 1] < 0.01  # at lambda = 0 only cost counts, and B almost always costs more
    # At 200,000 per QALY: INB ~ N(18,000, sqrt((200,000 x 0.05)^2 + 500^2)) -> P(INB > 0) by hand.
    p = norm.cdf(18_000.0 / np.hypot(200_000 * 0.05, 500.0))
    assert abs(curve[2, 1] - p) < 4 * np.sqrt(p * (1 - p) / N)


def test_frontier_follows_the_highest_expected_net_benefit() -> None:
    costs, effects = costlier_and_better(seed=3)
    optimal, prob = frontier(costs, effects, np.array([10_000.0, 30_000.0]))
    assert list(optimal) == [0, 1]  # below 20,000 per QALY keep A, above switch to B
    expected = ceac(costs, effects, np.array([10_000.0, 30_000.0]))
    assert prob == pytest.approx([expected[0, 0], expected[1, 1]])


def test_net_benefit_formula() -> None:
    assert net_benefit(np.array([[100.0, 300.0]]), np.array([[1.0, 1.1]]), 5000.0).tolist() == [[4900.0, 5200.0]]


def test_evppi_of_the_group_holding_all_uncertainty_is_the_evpi_and_of_an_irrelevant_group_zero() -> None:
    n = 4000
    rng = np.random.default_rng(4)
    theta = rng.normal(0.0, 1.0, n)  # drives the incremental net benefit, non-linearly
    noise = rng.normal(0.0, 1.0, n)  # a parameter that nothing depends on
    inb = 100.0 * theta + 40.0 * theta**2 - 40.0
    values = np.column_stack([np.zeros(n), inb])
    total = evpi(values)
    assert total > 20.0
    assert evppi(values, theta[:, None]) == pytest.approx(total, rel=0.05)
    assert evppi(values, noise[:, None]) < 0.05 * total
    both = evppi(values, np.column_stack([theta, noise]))
    assert both == pytest.approx(total, rel=0.05)


def test_population_evpi_discounts_each_year() -> None:
    assert population_evpi(10.0, 1000.0, 1.0, 0.035) == pytest.approx(10_000.0)
    assert population_evpi(10.0, 1000.0, 3.0, 0.0) == pytest.approx(30_000.0)
    assert population_evpi(10.0, 1000.0, 2.0, 0.05) == pytest.approx(10_000.0 * (1 + 1 / 1.05))
