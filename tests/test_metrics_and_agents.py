"""Continuity indices against hand calculations; Mesa agents see and change their rows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import simulate

from sim.core.params import CONDITIONS, PopulationParams, RunParams, ServiceParams
from sim.core.state import DyadState, PatientState
from sim.engine.agents import Clinician, Patient
from sim.engine.metrics import WeeklyTotals, continuity_indices, wai, weekly_summary, wsas
from sim.engine.model import CareModel


def visits_to_state(histories: list[list[int]], slots: int = 3) -> tuple[PatientState, DyadState]:
    """Replay visit histories (clinician ids) through the continuity bookkeeping."""

    class P:  # only the fields continuity_indices reads
        pass

    p, n = P(), len(histories)
    p.encounters = np.array([len(h) for h in histories])
    p.same_clinician_pairs = np.array([sum(a == b for a, b in itertools.pairwise(h)) for h in histories])
    p.recycled_sumsq = np.zeros(n, np.int64)
    p.recycled_max = np.zeros(n, np.int32)
    d = DyadState(n, slots)
    for i, h in enumerate(histories):
        for week, c in enumerate(h):
            row = list(d.clinician[i])
            if c in row:
                s = row.index(c)
            else:
                s = int(np.argmin(np.where(d.clinician[i] < 0, -2, d.last_week[i])))
                if d.clinician[i, s] >= 0:
                    p.recycled_sumsq[i] += int(d.encounters[i, s]) ** 2
                    p.recycled_max[i] = max(p.recycled_max[i], d.encounters[i, s])
                d.clinician[i, s], d.encounters[i, s] = c, 0
            d.encounters[i, s] += 1
            d.last_week[i, s] = week
    return p, d


def test_continuity_indices_match_hand_calculation():
    p, d = visits_to_state([[1, 1, 1, 1], [1, 2, 3, 4], [1, 1, 2, 2], [1, 2, 1, 2, 1], [5], []])
    coc, upc, secon = continuity_indices(p, d)
    assert coc[0] == 1.0 and upc[0] == 1.0 and secon[0] == 1.0
    assert coc[1] == 0.0 and upc[1] == 0.25 and secon[1] == 0.0
    assert coc[2] == pytest.approx((4 + 4 - 4) / (4 * 3)) and upc[2] == 0.5 and secon[2] == pytest.approx(2 / 3)
    assert coc[3] == pytest.approx((9 + 4 - 5) / 20) and upc[3] == 0.6 and secon[3] == 0.0
    assert np.isnan(coc[4]) and upc[4] == 1.0 and np.isnan(secon[4])
    assert np.isnan(coc[5]) and np.isnan(upc[5])


def test_recycled_dyads_still_count_toward_continuity():
    # Five clinicians through three slots: the first two are recycled.
    p, d = visits_to_state([[1, 1, 1, 2, 3, 4, 5]], slots=3)
    coc, upc, _ = continuity_indices(p, d)
    assert upc[0] == pytest.approx(3 / 7)
    assert coc[0] == pytest.approx((9 + 1 + 1 + 1 + 1 - 7) / (7 * 6))


def test_indices_in_a_run_are_in_range_and_track_the_continuity_lever():
    low, high = simulate(continuity=0.1), simulate(continuity=0.95)
    c_low, _, s_low = continuity_indices(low.patients, low.dyads)
    c_high, _, s_high = continuity_indices(high.patients, high.dyads)
    for v in (c_low, c_high, s_low, s_high):
        v = v[~np.isnan(v)]
        assert v.min() >= 0.0 and v.max() <= 1.0
    assert np.nanmean(c_high) > np.nanmean(c_low) + 0.2
    assert np.nanmean(s_high) > np.nanmean(s_low)


def test_scale_mappings():
    assert wsas(100.0) == 0.0 and wsas(0.0) == 40.0 and wsas(50.0) == 20.0
    assert wai(0.0) == 1.0 and wai(1.0) == 5.0


def test_mesa_agents_read_and_write_their_rows():
    model = CareModel(ServiceParams(), run=RunParams(weeks=10), population=PopulationParams(n_patients=30), seed=1)
    patients = model.agents_by_type[Patient]
    clinicians = model.agents_by_type[Clinician]
    assert len(patients) == 30 and len(clinicians) == model.clinicians.n
    first = next(a for a in patients if a.row == 4)
    assert first.symptoms == model.patients.symptoms[4]
    assert first.avoidance == model.patients.avoidance[4]  # M19 state, as the Python API shows it
    first.trust = 0.99
    assert model.patients.trust[4] == 0.99
    assert first.status == "not_presented" and first.condition in CONDITIONS
    for _ in range(10):
        model.step()
    seen = [a for a in patients if a.dyads()]
    assert seen and all(0.0 <= a.alliance <= 1.0 for a in seen)
    assert {c.role for c in clinicians} == {
        "gp",
        "specialist",
        "psychologist",
        "physiotherapist",
        "coordinator",
    }
    # Mesa's own tools work on them.
    assert patients.agg("symptoms", np.mean) == pytest.approx(model.patients.symptoms.mean())
    assert len(model.datacollector.get_model_vars_dataframe()) == 11


def test_weekly_summary_reads_without_changing_the_week():
    model = simulate(weeks=6, n=200)
    first = weekly_summary(model)
    second = weekly_summary(model)
    # assert_equal counts NaN (a wait in a week nobody started therapy) as equal to NaN.
    np.testing.assert_equal(first, second)
    np.testing.assert_equal(first, model.summary)  # the step's own summary counts the same events
    assert first["visits"] > 0 and first["cost"] > 0  # this week's events, not zero on a second look


def test_weekly_totals_count_each_week_from_its_start():
    p = simulate(weeks=3, n=100).patients
    totals = WeeklyTotals(p)  # read at week 0
    p.flares[0] += 2  # events of weeks nobody summarised
    totals.start_week(p, 5)  # no read in week 4: the totals are summed afresh
    p.flares[0] += 1
    assert totals.increments(p, 5)["flares"] == 1
    assert totals.increments(p, 5)["flares"] == 1  # reading again changes nothing
    totals.start_week(p, 6)  # read in week 5 and nothing since: reused
    p.cost[0] += 10.0
    inc = totals.increments(p, 6)
    assert inc["flares"] == 0 and inc["cost"] == pytest.approx(10.0)
