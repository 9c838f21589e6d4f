"""The decision report in a real browser: Debian's chromium, driven headless by Playwright, offline.

Writes a small experiment's results, opens its report.html from disk, and
reads it as a board member would: the summary comes first and answers, every
section is there, the text names no raw parameter or column, every figure
loads, and nothing is fetched from outside the page. Saves a screenshot to
test-artifacts/report.png.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import ROOT
from dashboard_browser import launch_chromium, require_chromium

from sim.analysis.experiment import OUTCOMES, run_experiment
from sim.core.params import ClinicianGroupParams, CostParams, MechanismParams, ServiceParams
from sim.outputs.writer import write_results

ARTIFACTS = ROOT / "test-artifacts"

require_chromium()

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

SECTIONS = (
    "In short",
    "The question and the scenarios",
    "Headline results",
    "Staffing and capacity",
    "Costs and cost-effectiveness",
    "Budget impact",
    "Patients not on track at 12 weeks",
    "Equity: outcomes by cultural group",
    "Over time",
    "A few patients' journeys",
    "What the numbers cannot say",
)
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
"""A raw field or column name (``p_referral_per_visit``, ``function_change``): never in the text a board reads."""


@pytest.fixture(scope="module")
def rendered(small_config, tmp_path_factory):
    """The report of a small run as the browser shows it: its text, headings, images and outside requests."""
    folder = write_results(run_experiment(small_config), tmp_path_factory.mktemp("report") / "run")
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file://", "data:")) else None)
        page.goto((folder / "report.html").as_uri())
        page.wait_for_load_state("load")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        text = page.inner_text("body")
        headings = page.locator("h2").all_inner_texts()
        images = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
        first = page.locator("h2").first.evaluate("h => h.getBoundingClientRect().top")
        browser.close()
    return {"text": text, "headings": headings, "images": images, "outside": outside, "summary_top": first}


def test_every_section_is_there_and_the_summary_comes_first(rendered):
    assert rendered["headings"] == list(SECTIONS)
    assert rendered["summary_top"] < 200  # above the fold: the first thing a reader sees
    summary = rendered["text"].split("In short", 1)[1].split("The question and the scenarios", 1)[0]
    assert "The answer." in summary and "How sure." in summary and "Main caveat" in summary


def test_no_raw_parameter_or_column_name_appears(rendered):
    text = rendered["text"]
    assert SNAKE_CASE.findall(text) == []
    names = {
        f.name
        for cls in (ServiceParams, MechanismParams, ClinicianGroupParams, CostParams)
        for f in dataclasses.fields(cls)
    }
    names |= set(OUTCOMES)
    words = set(re.findall(r"[A-Za-z0-9_]+", text))
    assert not {n for n in names if "_" in n} & words


def test_figures_load_and_nothing_is_fetched_from_outside(rendered):
    assert len(rendered["images"]) >= 6 and all(rendered["images"])
    assert rendered["outside"] == []


def test_every_number_follows_the_one_precision_rule(rendered):
    """Three significant digits (``sim.analysis.experiment.number``): 12.5, 8.73, 0.0191, never 8.7281 or 1,234.5."""
    decimals = re.findall(r"\d[\d,]*\.\d+", rendered["text"])
    assert decimals
    too_precise = [d for d in decimals if len(d.replace(",", "").replace(".", "").lstrip("0")) > 3]
    assert too_precise == []
