"""Running the project in a fresh interpreter, with an environment the test chooses.

Settings are read once, at import, so production mode, a dead database or a broken
ALLOWED_HOSTS are tried in a subprocess. The environment starts almost empty: nothing of the
test run's own DATABASE_URL or REDIS_URL leaks in unless a test passes it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def clean_env(tmp_path: Path, **values: str) -> dict:
    env = {name: os.environ[name] for name in _KEPT if name in os.environ}
    env.update(
        PYTHONPATH=str(BASE_DIR),
        PYTHONDONTWRITEBYTECODE="1",
        DJANGO_SETTINGS_MODULE="glmweb.settings",
        GLMWEB_VAR_DIR=str(tmp_path / "var"),
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    env.update(values)
    return env


def run_python(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def manage(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return run_python("manage.py", *args, env=env, timeout=timeout)


def env_example() -> dict:
    """The KEY=VALUE lines of .env.example, as an operator who copies it gets them."""
    values = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def closed_port() -> int:
    """A local port nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
