"""The dashboard in a real browser: Debian's chromium, driven headless by Playwright, offline.

Starts the Solara server on a free localhost port, loads the page, moves a
slider, steps the model, and checks that the plotted quantities moved the way
the slider says. Saves a screenshot to test-artifacts/dashboard.png.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser test (.ci/run installs it)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    solara = Path(sys.executable).with_name("solara")
    proc = subprocess.Popen(
        [str(solara), "run", "experiments/dashboard.py", "--host", "127.0.0.1", "--port", str(port), "--production"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError(f"dashboard did not start: {proc.stdout.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def readout(page) -> dict[str, list[float]]:
    rows = page.locator("[data-testid=readout] tbody tr")
    values = {}
    for i in range(rows.count()):
        label, *cells = rows.nth(i).locator("td").all_inner_texts()
        values[label] = [float(c) if c not in ("–", "") else float("nan") for c in cells]
    return values


def wait_for_week(page, week: int) -> None:
    page.wait_for_function(
        f"document.querySelector('[data-testid=week]')?.innerText.trim() === 'Week {week}'", timeout=30_000
    )


def step(page, times: int) -> None:
    button = page.get_by_role("button", name="Step")
    for i in range(1, times + 1):
        button.click()
        wait_for_week(page, i)


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    outside = []
    local = (url, f"blob:{url}", "data:")
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(local) else None)
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(url)
    page.locator("[data-testid=readout]").wait_for(timeout=60_000)
    wait_for_week(page, 0)
    return page, outside, failed


def test_slider_step_and_plots_in_a_real_browser(server, browser):
    page, outside, failed = open_page(browser, server)
    step(page, 6)
    default = readout(page)
    assert default["In care"][0] > 0

    # Lower clinicians' validation, rebuild the model, step again: trust and alliance fall in both arms.
    slider = page.locator(".v-input").filter(has=page.locator("label", has_text=re.compile("^Validation$")))
    slider.locator(".v-slider__thumb-container").focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=settings]')?.innerText.includes('validation 0.3')", timeout=30_000
    )
    wait_for_week(page, 0)
    step(page, 6)
    lowered = readout(page)
    for arm in (0, 1):
        assert lowered["Trust (0-1)"][arm] < default["Trust (0-1)"][arm]
        assert lowered["Alliance (0-1)"][arm] < default["Alliance (0-1)"][arm]
    assert page.locator("canvas, img, svg").count() > 0  # the plots are drawn

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert not outside, f"requests left localhost: {outside[:5]}"
    assert not failed, f"requests failed (offline assets missing?): {failed[:5]}"
    page.close()


def test_each_browser_session_has_its_own_model(server, browser):
    first, _, _ = open_page(browser, server)
    step(first, 3)
    context = browser.new_context()
    second = context.new_page()
    second.goto(server)
    second.locator("[data-testid=readout]").wait_for(timeout=60_000)
    wait_for_week(second, 0)  # a new session starts at week 0 ...
    wait_for_week(first, 3)  # ... and does not move the first one's model
    first.close()
    context.close()
