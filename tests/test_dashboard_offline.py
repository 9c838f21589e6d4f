"""`make dashboard` serves offline by default: Solara's usage tracking and version check are off unless asked for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dashboard_command(*switches: str) -> str:
    """The command `make dashboard` would run (make -n prints it without running it)."""
    out = subprocess.run(
        ["make", "-n", "dashboard", f"VENV={sys.prefix}", *switches],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out[out.index("SOLARA_TELEMETRY_MIXPANEL_ENABLE") :]


def solara_telemetry(value: str) -> str:
    """What Solara's own settings read from the environment variable the Makefile sets."""
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": value}
    code = "from solara.server import settings; print(settings.telemetry.mixpanel_enable)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_tracking_and_version_check_are_off_by_default():
    command = dashboard_command()
    assert "SOLARA_TELEMETRY_MIXPANEL_ENABLE=False" in command
    assert "--no-check-version" in command
    assert solara_telemetry("False").strip() == "False"


def test_documented_switches_turn_them_on():
    command = dashboard_command("TELEMETRY=on", "CHECK_VERSION=on")
    assert "SOLARA_TELEMETRY_MIXPANEL_ENABLE=True" in command
    assert "--check-version" in command and "--no-check-version" not in command
    assert solara_telemetry("True").strip() == "True"
