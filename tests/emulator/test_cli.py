"""The command line and RunningEmulator's start-up contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from glm.emulator.testing import EmulatorStartError, RunningEmulator


def test_custom_api_key_is_the_only_key_accepted():
    with RunningEmulator(api_key="custom-id.custom-secret") as emulator:
        body = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}]}
        url = f"{emulator.base_url}/chat/completions"
        assert httpx.post(url, json=body, headers={"Authorization": "Bearer custom-id.custom-secret"}).status_code == 200
        default = "Bearer emulator-id.emulator-secret"
        assert httpx.post(url, json=body, headers={"Authorization": default}).status_code == 401


def test_malformed_api_key_stops_start_up_with_an_error():
    with pytest.raises(EmulatorStartError):
        RunningEmulator(api_key="no-dot-here").start()


def test_unknown_tier_is_refused_by_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "glm.emulator", "--tier", "gold"],
        capture_output=True, text=True, timeout=30, cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 2
    assert "--tier" in result.stderr


def test_urls_are_unavailable_before_start():
    with pytest.raises(RuntimeError):
        RunningEmulator().base_url
