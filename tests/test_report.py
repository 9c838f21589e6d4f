"""The decision report, checked by parsing its HTML against the numbers it summarises."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pytest

from sim.analysis.experiment import run_experiment
from sim.outputs.report import cost_by_event, economics, utility
from sim.outputs.writer import write_results


class Tables(HTMLParser):
    """Collect every table (by data-testid) as rows of cell texts, and every img src."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self.text: list[str] = []
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("data-testid", f"table{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
            self.tables[self._table].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)


@pytest.fixture(scope="module")
def report(small_config, tmp_path_factory):
    result = run_experiment(small_config)
    folder = write_results(result, tmp_path_factory.mktemp("report") / "run")
    parser = Tables()
    parser.feed((folder / "report.html").read_text())
    return result, parser


def row(table: list[list[str]], label: str) -> list[str]:
    return next(r for r in table if r and r[0].startswith(label))


def test_report_is_self_contained(report):
    _, page = report
    assert len(page.images) >= 6
    assert all(src.startswith("data:image/png;base64,") for src in page.images)


def test_headline_table_shows_the_summary_numbers(report):
    result, page = report
    headline = page.tables["headline"]
    header = headline[0]
    s = result.summary
    level = s[(s.outcome == "function_final") & (s.arm == "coordinated") & (s.contrast == "level")].iloc[0]
    cells = dict(zip(header, row(headline, "Functioning at the horizon"), strict=False))
    assert cells["coordinated"].startswith(f"{level['mean']:.1f}")
    diff = s[(s.outcome == "dropout") & (s.contrast == "vs fragmented")].iloc[0]
    cells = dict(zip(header, row(headline, "Share who ever disengaged"), strict=False))
    assert cells["coordinated − fragmented"].startswith(f"{diff['mean']:.3f}")
    for label in (
        "Share improved",
        "Share deteriorated",
        "Visits to a gp",
        "Investigations",
        "Emergency",
        "Weeks waiting",
        "Bice-Boxerman",
        "Usual provider",
        "Sequential",
        "Cost per patient",
        "Cost per improved patient",
    ):
        assert row(headline, label)


def test_costs_by_event_add_up_to_the_total(report):
    result, page = report
    by_event = cost_by_event(result)
    total = result.patients.groupby("arm")["cost"].mean()
    for arm in ("coordinated", "fragmented"):
        assert by_event[arm].sum() == pytest.approx(total[arm], abs=1.0)
    assert row(page.tables["costs"], "visits: gp") and row(page.tables["costs"], "investigations")


def test_economics_qalys_and_icers(report):
    result, page = report
    econ = economics(result)
    weeks = result.config.run.weeks
    # QALYs lie between the utilities of the worst and best functioning over the horizon.
    assert ((econ["qalys"] > utility(0.0) * weeks / 52) & (econ["qalys"] < utility(100.0) * weeks / 52)).all()
    ref = econ[econ["arm"] == "fragmented"]
    assert np.allclose(ref["d_cost"], 0.0) and np.allclose(ref["d_qalys"], 0.0)
    economics_table = page.tables["economics"]
    assert "cost per QALY gained" in economics_table[0]
    coordinated = dict(zip(economics_table[0], row(economics_table, "coordinated"), strict=False))
    assert coordinated["cost per QALY gained"]  # a number, or dominant / dominated


def test_equity_table_has_every_cultural_group_in_every_arm(report):
    result, page = report
    equity = page.tables["equity"]
    groups = set(result.patients["cultural_group"])
    text = " ".join(" ".join(r) for r in equity)
    assert all(g in text for g in groups) and "coordinated" in text and "fragmented" in text


def test_plain_language_paragraph_states_the_difference_and_the_limits(report):
    result, page = report
    text = " ".join(page.text)
    s = result.summary
    diff = s[(s.outcome == "function_final") & (s.contrast == "vs fragmented")].iloc[0]["mean"]
    assert f"{abs(diff):.1f} points" in text
    assert "What these numbers cannot say" in text


def test_not_on_track_patients_are_reported_separately(report):
    result, page = report
    table = page.tables["not_on_track"]
    assert row(table, "Functioning at the horizon") and "coordinated − fragmented" in table[0]
    base = result.patients[result.patients["arm"] == "fragmented"]
    share = float((base["symptoms_week12"] >= base["symptoms_baseline"]).mean())
    assert row(table, "Functioning at the horizon")[-1] == f"{share:.2f}"
