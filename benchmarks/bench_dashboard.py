"""How long one step of the classroom dashboard takes to show, in Chromium and on the server.

    .venv/bin/python benchmarks/bench_dashboard.py              # 40 steps of the 1,000-patient model
    .venv/bin/python benchmarks/bench_dashboard.py --steps 60

In the browser (Debian's chromium, headless, driven by Playwright): from the
click on Step until the page shows the next week and every chart has been
replaced by its new picture and loaded. On the server, in this process: one
step of the same classroom model plus drawing its four charts, which is the
part the dashboard's code controls. Reports median and range of each, and
the machine's load (``uptime``), since the machine is shared. Target: a
browser median of 0.3 s or less.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dashboard_browser import dashboard_server, launch_chromium, open_dashboard, wait_for_week  # noqa: E402

WARMUP_STEPS = 3  # the first steps pay for imports and caches, not for a week's redraw
# True once the page shows `week`, the two charts that grow every week (outcomes, statuses) have new
# pictures, and every chart picture has loaded. (The network and one-patient pictures come in the same
# update but may be unchanged, byte for byte, in a quiet week.)
REDRAWN = """([week, before]) => {
    const shown = document.querySelector('[data-testid=week]')?.innerText.trim() === `Week ${week}`;
    const images = [...document.querySelectorAll('img')];
    const grown = images.slice(0, 2).every((im, i) => im.src !== before[i]);
    return shown && images.length >= 4 && grown && images.every(im => im.complete);
}"""


def browser_steps(steps: int) -> list[float]:
    """Seconds from each Step click to the redrawn page."""
    from playwright.sync_api import sync_playwright

    with dashboard_server() as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page, outside, _ = open_dashboard(browser, url)
        button = page.get_by_role("button", name="Step")
        for week in range(1, WARMUP_STEPS + 1):
            button.click()
            wait_for_week(page, week)
        times = []
        for week in range(WARMUP_STEPS + 1, WARMUP_STEPS + steps + 1):
            before = page.eval_on_selector_all("img", "images => images.map(im => im.src)")
            start = time.perf_counter()
            button.click()
            page.wait_for_function(REDRAWN, arg=[week, before], polling="raf", timeout=30_000)
            times.append(time.perf_counter() - start)
        browser.close()
        if outside:
            raise RuntimeError(f"requests left localhost: {outside[:3]}")
    return times


def server_steps(steps: int) -> list[float]:
    """Seconds for one step of the classroom model and its four charts, in this process."""
    from experiments.schema import compose_config
    from sim.classroom.charts import NetworkChart, OutcomeChart, PatientChart, StatusChart
    from sim.classroom.model import ClassroomModel

    config = compose_config()
    model = ClassroomModel(config)
    charts = (OutcomeChart(model), StatusChart(model))
    per_patient = (NetworkChart(model, config.workforce.team_size), PatientChart(model))
    times = []
    for week in range(WARMUP_STEPS + steps):
        start = time.perf_counter()
        model.step()
        for chart in charts:
            chart.png(model)
        for chart in per_patient:
            chart.png(model, 0)
        if week >= WARMUP_STEPS:
            times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Median and range, in seconds."""
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps (at least 30)")
    args = parser.parse_args()
    if args.steps < 30:
        print(f"--steps {args.steps} is not allowed; need at least 30 for a stable median", file=sys.stderr)
        sys.exit(2)
    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    server = summary(server_steps(args.steps))
    browser = summary(browser_steps(args.steps))
    load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load before: {load_before}")
    print(f"load after:  {load_after}")
    for name, s in (("server step + charts", server), ("browser step to redrawn page", browser)):
        print(f"{name:30s} median {s['median_s']:.3f} s  range {s['min_s']:.3f}–{s['max_s']:.3f} s  ({s['n']} steps)")
    target = "met" if browser["median_s"] <= 0.3 else "NOT met"
    print(f"target: browser median <= 0.3 s: {target}")
    print(json.dumps({"server": server, "browser": browser, "load_before": load_before, "load_after": load_after}))


if __name__ == "__main__":
    main()
