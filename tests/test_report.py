"""The decision report, checked by parsing its HTML against the numbers it summarises."""

from __future__ import annotations

import dataclasses
import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pytest

from sim.analysis.experiment import decimals, number, run_experiment, with_interval
from sim.core.params import LABELS, ServiceParams
from sim.outputs.plots import themed
from sim.outputs.report import (
    JOURNEY_MARKERS,
    MIN_QALYS_GAINED,
    build_report,
    cost_by_event,
    economics,
    icer,
    journeys_figure,
    utility,
)
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


def test_a_report_without_a_mediation_table_has_no_mediation_section(report):
    _, page = report
    assert "mediation" not in page.tables
    assert "What carries the effect" not in "".join(page.text)


def test_headline_table_shows_the_summary_numbers(report):
    result, page = report
    headline = page.tables["headline"]
    header = headline[0]
    s = result.summary
    level = s[(s.outcome == "function_final") & (s.arm == "coordinated") & (s.contrast == "level")].iloc[0]
    cells = dict(zip(header, row(headline, "Functioning at the horizon"), strict=False))
    assert cells["coordinated"] == with_interval(level["mean"], level["ci_low"], level["ci_high"])
    diff = s[(s.outcome == "disengaged_ever") & (s.arm == "coordinated") & (s.contrast == "vs fragmented")].iloc[0]
    cells = dict(zip(header, row(headline, "Disengaged at least once"), strict=False))
    assert cells["coordinated − fragmented"] == with_interval(
        diff["mean"], diff["ci_low"], diff["ci_high"], signed=True
    )
    for label in (
        "Share improved",
        "Share deteriorated",
        "Disengaged in the first year after entry",
        "Visits to a GP",
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
    assert row(page.tables["costs"], "Visits to a GP") and row(page.tables["costs"], "Tests (investigations)")


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
    diff = s[(s.outcome == "function_final") & (s.contrast == "vs fragmented")].iloc[0]
    assert f"{number(abs(diff['mean']), decimals(diff['mean'], diff['ci_low'], diff['ci_high']))} points" in text
    assert "What these numbers cannot say" in text


def test_not_on_track_patients_are_reported_separately(report):
    result, page = report
    table = page.tables["not_on_track"]
    assert row(table, "Functioning at the horizon") and "coordinated − fragmented" in table[0]
    base = result.patients[result.patients["arm"] == "fragmented"]
    share = float((base["symptoms_week12"] >= base["symptoms_baseline"]).mean())
    assert row(table, "Functioning at the horizon")[-1] == number(share)


# --- ratios that cannot mislead ---

NO_INTERVAL = (float("nan"), float("nan"))


@pytest.mark.parametrize(
    ("d_cost", "d_effect", "expected"),
    [
        ((-100.0, -150.0, -50.0), (0.02, 0.01, 0.03), "dominant"),
        ((100.0, 50.0, 150.0), (-0.02, -0.03, -0.01), "dominated"),
        ((0.0, -1.0, 1.0), (0.02, 0.01, 0.03), "dominant"),
        ((100.0, 50.0, 150.0), (0.02, 0.01, 0.03), "5,000 per QALY gained"),
        ((-100.0, -150.0, -50.0), (-0.02, -0.03, -0.01), "5,000 saved per QALY lost"),
        # The effect's interval includes 0: a ratio over it is noise.
        ((100.0, 50.0, 150.0), (0.02, -0.01, 0.05), "not defined: effect too small to divide by (its interval"),
        ((-100.0, -150.0, -50.0), (0.02, -0.01, 0.05), "not defined: effect too small to divide by (its interval"),
        # Below the smallest difference worth dividing by (run.weeks=1 gave 424,203,025 per QALY).
        ((8.5, 8.0, 9.0), (2e-8, 1e-8, 3e-8), "not defined: effect too small to divide by (+2e-08 per patient"),
        # One replicate, no difference in effect (gave -inf).
        ((-30.0, *NO_INTERVAL), (0.0, *NO_INTERVAL), "not defined: effect too small to divide by"),
        ((30.0, *NO_INTERVAL), (0.0, *NO_INTERVAL), "not defined: effect too small to divide by"),
        ((float("nan"), *NO_INTERVAL), (0.02, *NO_INTERVAL), "not defined: no difference computed"),
    ],
)
def test_icer_follows_the_health_economics_conventions(d_cost, d_effect, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = icer(d_cost, d_effect, MIN_QALYS_GAINED, "QALY")
    assert text.startswith(expected)
    assert not re.search(r"\b(inf|nan)\b", text, flags=re.IGNORECASE)


def economics_cells(result) -> dict[str, dict[str, str]]:
    """The economics table of the built report, by arm then column, parsed from the HTML."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from NumPy or pandas reaches the console
        page = build_report(result)
    parser = Tables()
    parser.feed(page)
    table = parser.tables["economics"]
    header = table[0]
    cells = {r[0]: dict(zip(header, r, strict=False)) for r in table[1:] if r and r[0] in result.config.arms}
    assert not re.search(r"\b(inf|nan)\b", page, flags=re.IGNORECASE)
    return cells


def test_one_week_horizon_gives_no_absurd_cost_per_qaly(small_config):
    result = run_experiment(dataclasses.replace(small_config, run=dataclasses.replace(small_config.run, weeks=1)))
    cells = economics_cells(result)
    for arm in ("coordinated", "stepped"):
        assert cells[arm]["cost per QALY gained"].startswith("not defined: effect too small to divide by")


def test_one_replicate_gives_no_infinite_ratio_and_says_there_is_no_interval(small_config):
    run = dataclasses.replace(small_config.run, replicates=1)
    result = run_experiment(dataclasses.replace(small_config, run=run))
    cells = economics_cells(result)
    for arm in ("coordinated", "stepped"):
        for column in ("cost per QALY gained", "cost per extra improved patient"):
            assert re.match(r"(not defined: .+|dominant|dominated|[\d,.]+ (per|saved per) )", cells[arm][column])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "one replicate: no interval" in build_report(result)


def test_economics_take_cost_and_improvement_differences_from_the_summary(report):
    result, _ = report
    summary = result.summary.copy()
    row = (summary.outcome == "cost") & (summary.arm == "coordinated") & (summary.contrast == "vs fragmented")
    summary.loc[row, ["mean", "ci_low", "ci_high"]] = [-1234.5, -1300.0, -1200.0]
    cells = economics_cells(dataclasses.replace(result, summary=summary))
    assert cells["coordinated"]["extra cost vs fragmented"] == "-1,234 [-1,300, -1,200]"


# --- a report for a board (issue 14): labels, one precision rule, a summary that answers ---


def test_scenarios_are_labelled_settings_with_units_and_none_for_switched_off(report):
    result, page = report
    scenarios = page.tables["scenarios"]
    assert scenarios[0] == ["service setting", "coordinated", "fragmented", "stepped"]
    fields = {f.name for f in dataclasses.fields(ServiceParams)}
    assert not fields & {r[0] for r in scenarios}
    review = row(scenarios, "Interval between joint case reviews (weeks)")
    assert result.config.arms["fragmented"].case_review_interval_weeks == 0 and review[2] == "none"
    referral = row(scenarios, "Chance a GP visit leads to a specialist referral")
    assert (
        referral[2]
        == f"{number(100 * result.config.arms['fragmented'].p_referral_per_visit).rstrip('0').rstrip('.')} %"
    )


def test_every_service_setting_has_a_declared_label():
    """The scenarios table shows a label for every setting a care model can change (add new ones to LABELS)."""
    missing = [f.name for f in dataclasses.fields(ServiceParams) if f"ServiceParams.{f.name}" not in LABELS]
    assert not missing


def test_every_table_has_one_header_row_and_no_raw_column_names(report):
    _, page = report
    raw = {"function_change", "alliance_final", "improved", "disengaged_ever", "arm", "cultural_group", "description"}
    for name, table in page.tables.items():
        header = table[0]
        assert all(header) and not raw & set(header), (name, header)
        assert all(len(r) == len(header) for r in table), name  # no header row left over above or below


def test_both_dropout_figures_are_shown_each_labelled(report):
    result, page = report
    headline = page.tables["headline"]
    first_year, ever = row(headline, "Disengaged in the first year"), row(headline, "Disengaged at least once")
    s = result.summary
    for cells, outcome in ((first_year, "disengaged_first_year"), (ever, "disengaged_ever")):
        level = s[(s.outcome == outcome) & (s.arm == "fragmented") & (s.contrast == "level")].iloc[0]
        assert cells[2] == with_interval(level["mean"], level["ci_low"], level["ci_high"])


def test_the_report_links_to_nothing_outside_itself(report):
    _, page = report
    text = " ".join(page.text)
    assert "docs/" not in text and ".md" not in text
    html = build_report(report[0])
    assert not re.search(r"""(href|src)=["'](?!data:|#)""", html)


def test_summary_states_the_answer_how_sure_and_the_main_caveat(report):
    result, _ = report
    page = build_report(result)
    summary = page[page.index("In short") : page.index("The question and the scenarios")]
    assert "The answer." in summary and "How sure." in summary and "Main caveat." in summary
    levels = result.summary[(result.summary.outcome == "function_final") & (result.summary.contrast == "level")]
    best = levels.loc[levels["mean"].idxmax(), "arm"]
    assert f"<b>{best}</b> does best" in summary
    assert f"across {result.config.run.replicates} simulated replicates" in summary


def test_capacity_warnings_become_the_main_caveat(report):
    result, _ = report
    warning = "GP: above 90% utilisation in 60% of weeks; median wait to a first appointment 7 weeks"
    page = build_report(result, warnings=[warning])
    summary = page[page.index("In short") : page.index("The question and the scenarios")]
    assert "Main caveat: capacity." in summary and warning in summary


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.5, "12.5"), (8.728, "8.73"), (0.3264, "0.326"), (0.0191, "0.0191"), (1500.4, "1,500"), (0.0, "0")],
)
def test_one_precision_rule_three_significant_digits(value, text):
    assert number(value) == text


def test_an_interval_shares_the_decimals_of_its_largest_number():
    assert with_interval(12.5, 8.728, 13.06) == "12.5 [8.7, 13.1]"
    assert with_interval(-0.004, -0.05, 0.042, signed=True) == "-0.0040 [-0.0500, +0.0420]"


def test_the_journeys_key_says_in_words_what_each_marker_means(report):
    result, _ = report
    with themed() as new_figure:
        fig = journeys_figure(result.journeys, new_figure)
    (legend,) = fig.legends
    assert [text.get_text() for text in legend.get_texts()] == [w for _, w in JOURNEY_MARKERS.values()]
    assert fig.get_suptitle() == ""  # the old key was marker codes in the title ("o waiting ..., s discharged")
