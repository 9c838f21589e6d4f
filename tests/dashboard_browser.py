"""Driving the dashboard in Debian's chromium: shared by the browser test and the step benchmark.

Never a downloaded browser: Playwright launches the system's ``chromium``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1500, "height": 2150}  # tall enough for every chart without scrolling


def require_chromium() -> None:
    """Skip the calling test module without Debian's chromium; in CI, fail instead (.ci/run installs it)."""
    import pytest

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs Debian's chromium for the browser test (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@contextmanager
def dashboard_server(start_timeout_s: float = 90.0) -> Iterator[str]:
    """Serve ``experiments/dashboard.py`` on a free localhost port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    solara = Path(sys.executable).with_name("solara")
    proc = subprocess.Popen(
        [str(solara), "run", "experiments/dashboard.py", "--host", "127.0.0.1", "--port", str(port), "--production"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's sim/, even where another is installed
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + start_timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError(f"dashboard did not start: {proc.stdout.read().decode()[-2000:]}")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def launch_chromium(playwright):
    """Headless Debian chromium."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_for_week(page, week: int, timeout_ms: float = 30_000) -> None:
    """Wait until the page says it is at ``week``."""
    page.wait_for_function(
        f"document.querySelector('[data-testid=week]')?.innerText.trim() === 'Week {week}'", timeout=timeout_ms
    )


def open_dashboard(browser, url: str):
    """A new page on the dashboard at week 0, with lists that collect requests leaving localhost and failures."""
    page = browser.new_page(viewport=VIEWPORT)
    outside, failed = [], []
    local = (url, f"blob:{url}", "data:")
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(local) else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(url)
    page.locator("[data-testid=readout]").wait_for(timeout=60_000)
    wait_for_week(page, 0)
    return page, outside, failed
