"""The dashboard in a real browser: Debian's chromium, driven headless by Playwright, offline.

Starts the Solara server on a free localhost port, loads the page, moves a
slider, steps the model, and checks that the numbers moved the way the slider
says; opens every lesson, steps it, and checks that every counter its text
names is on the page. Saves a screenshot to test-artifacts/dashboard.png and
one per lesson to test-artifacts/lesson_<key>.png.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT
from dashboard_browser import dashboard_server, launch_chromium, open_dashboard, require_chromium, wait_for_week

from sim.classroom.lessons import COUNTERS, LESSONS

ARTIFACTS = ROOT / "test-artifacts"

require_chromium()

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server():
    with dashboard_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


def table(page, test_id: str) -> dict[str, list[float]]:
    """A table of the page by row label: the numbers of both arms (NaN for "–")."""
    rows = page.locator(f"[data-testid={test_id}] tbody tr")
    values = {}
    for i in range(rows.count()):
        label, *cells = rows.nth(i).locator("td").all_inner_texts()
        values[label] = [float(c) if c not in ("–", "") else float("nan") for c in cells]
    return values


def step(page, times: int, start: int = 0) -> None:
    button = page.get_by_role("button", name="Step")
    for i in range(start + 1, start + times + 1):
        button.click()
        wait_for_week(page, i)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select labelled ``label``."""
    page.locator(".v-select").filter(has=page.locator("label", has_text=label)).click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()


def test_slider_step_and_plots_in_a_real_browser(server, browser):
    page, outside, failed = open_dashboard(browser, server)
    step(page, 6)
    default = table(page, "readout")
    assert default["in care"][0] > 0

    # Lower clinicians' validation, rebuild the model, step again: trust and alliance fall in both arms.
    lever = page.locator(".lever", has_text=re.compile("^GP validation"))
    lever.locator(".v-slider__thumb-container").focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")
    lever.get_by_text("GP validation: 0.30 (0–1, both arms)").wait_for(timeout=10_000)  # its value and unit
    page.get_by_text("Settings changed: press Reset").wait_for(timeout=10_000)
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=settings]')?.innerText.includes('0.30')", timeout=30_000
    )
    wait_for_week(page, 0)
    step(page, 6)
    lowered = table(page, "readout")
    for arm in (0, 1):
        assert lowered["trust (0–1)"][arm] < default["trust (0–1)"][arm]
        assert lowered["alliance (0–1)"][arm] < default["alliance (0–1)"][arm]
    assert page.locator("img").count() >= 4  # the four charts are drawn

    # Only the controls a class needs: none of SolaraViz's generic ones.
    for generic in ("Play Interval", "Render Interval", "Use Threads", "Page 0"):
        assert page.get_by_text(generic).count() == 0, generic

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert not outside, f"requests left localhost: {outside[:5]}"
    assert not failed, f"requests failed (offline assets missing?): {failed[:5]}"
    page.close()


def test_every_lesson_shows_what_its_text_names(server, browser):
    page, outside, _ = open_dashboard(browser, server)
    step(page, 2)
    keys = list(LESSONS)
    for key in keys[1:] + keys[:1]:  # the page opens on the first; choosing it again would change nothing
        lesson = LESSONS[key]
        choose(page, "Lesson", lesson.title)
        page.locator("h2", has_text=lesson.title).wait_for(timeout=30_000)
        wait_for_week(page, 0)  # choosing a lesson starts both arms again
        step(page, 8)
        watch = page.locator("[data-testid=watch]").inner_text().lower()
        named = [label for label in COUNTERS.values() if re.search(rf"\b{label}\b", watch)]
        assert len(named) == len(lesson.counters_named())
        counters = table(page, "counters")
        for label in named:
            assert label in counters, f"{key}: the text names {label!r}, the page has no such counter"
            assert all(v >= 0 and v == int(v) for v in counters[label]), (key, label, counters[label])
        sets = page.locator("[data-testid=lesson-sets]").inner_text()
        for arm in ("blue", "orange"):
            assert lesson.arm(arm).label in sets
            assert page.locator("[data-testid=settings] th", has_text=lesson.arm(arm).label).count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"lesson_{key}.png"), full_page=True)
    assert not outside, f"requests left localhost: {outside[:5]}"
    page.close()


def test_each_browser_session_has_its_own_model(server, browser):
    first, _, _ = open_dashboard(browser, server)
    step(first, 3)
    context = browser.new_context()
    second = context.new_page()
    second.goto(server)
    second.locator("[data-testid=readout]").wait_for(timeout=60_000)
    wait_for_week(second, 0)  # a new session starts at week 0 ...
    wait_for_week(first, 3)  # ... and does not move the first one's model
    first.close()
    context.close()


def test_play_runs_weeks_until_paused(server, browser):
    page, _, _ = open_dashboard(browser, server)
    page.get_by_role("button", name="▶").click()
    page.wait_for_function(
        "parseInt(document.querySelector('[data-testid=week]')?.innerText.replace('Week ', '')) >= 3", timeout=30_000
    )
    page.get_by_role("button", name="❚❚").click()
    page.get_by_role("button", name="▶").wait_for(timeout=10_000)
    page.wait_for_timeout(1000)  # Mesa's play loop may finish the week it was waiting to run
    paused = page.locator("[data-testid=week]").inner_text()
    page.wait_for_timeout(1500)  # five play intervals: a running model would have moved on
    assert page.locator("[data-testid=week]").inner_text() == paused
    page.close()
