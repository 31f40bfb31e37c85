"""The image and the compose file: a slim Python base, a non-root user, static files collected
at build time, Daphne as the command, a HEALTHCHECK that really probes /healthz, nothing secret
copied in, and Redis kept on disk.

No Docker daemon is needed: the HEALTHCHECK's own command is run against a live server.
"""
import json
import re
import subprocess
import sys

import pytest

from tests.ops.processes import BASE_DIR

DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()
COMPOSE = (BASE_DIR / "docker-compose.yml").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of every NAME instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]]


def test_the_image_is_slim_python_311_and_runs_daphne_as_a_non_root_user():
    assert instructions("FROM") == ["python:3.11-slim"]
    [user] = instructions("USER")
    assert user not in ("root", "0")
    assert re.search(rf"useradd .*\b{user}\b", DOCKERFILE)
    [command] = instructions("CMD")
    assert json.loads(command)[:1] == ["daphne"] and "glmweb.asgi:application" in command


def test_dependencies_come_from_the_pinned_requirements_and_static_files_are_collected_at_build():
    runs = instructions("RUN")
    assert any(run.startswith("pip install -r requirements.txt") for run in runs)
    assert any("manage.py collectstatic --noinput" in run for run in runs)
    environment = " ".join(instructions("ENV"))
    assert "DJANGO_ENV=production" in environment


def test_nothing_local_or_secret_is_copied_into_the_image():
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    for path in (".env", ".venv", "var", ".git", "media"):
        assert path in ignored


def healthcheck_command() -> list[str]:
    [healthcheck] = instructions("HEALTHCHECK")
    options, command = healthcheck.split(" CMD ", 1)
    assert "--timeout=" in options and "--interval=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"], "slim images have no curl"
    return [sys.executable, *argv[1:]]


def run_healthcheck(url: str, allowed_hosts: str) -> subprocess.CompletedProcess:
    env = {"ALLOWED_HOSTS": allowed_hosts, "HEALTHCHECK_URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(healthcheck_command(), env=env, capture_output=True, text=True, timeout=30)


@pytest.fixture
def site(live_server, settings):
    settings.ZHIPUAI_API_KEY = "probe-id.probe-secret"
    settings.ALLOWED_HOSTS = ["chat.example.com", ".example.org"]
    return live_server


def test_the_healthcheck_passes_on_a_healthy_site(site):
    result = run_healthcheck(f"{site.url}/healthz", "chat.example.com,other.example.com")
    assert result.returncode == 0, result.stderr


def test_the_healthcheck_sends_a_wildcard_hosts_domain_as_host(site):
    result = run_healthcheck(f"{site.url}/healthz", ".example.org")
    assert result.returncode == 0, result.stderr


def test_the_healthcheck_fails_when_the_site_is_unavailable(site, settings):
    settings.ZHIPUAI_API_KEY = ""
    result = run_healthcheck(f"{site.url}/healthz", "chat.example.com")
    assert result.returncode != 0 and "503" in result.stderr


def test_the_healthcheck_fails_when_nothing_answers():
    from tests.ops.processes import closed_port

    result = run_healthcheck(f"http://127.0.0.1:{closed_port()}/healthz", "chat.example.com")
    assert result.returncode != 0


def test_compose_keeps_redis_on_disk_and_shares_media_between_web_and_workers():
    assert "--appendonly yes" in COMPOSE and "--appendfsync everysec" in COMPOSE
    assert "--maxmemory-policy noeviction" in COMPOSE
    assert "redis:/data" in COMPOSE and "media:/app/media" in COMPOSE
    assert "daphne --proxy-headers" in COMPOSE
    assert '"127.0.0.1:8000:8000"' in COMPOSE, "only the proxy on this machine reaches Daphne"
    assert "${POSTGRES_PASSWORD:?" in COMPOSE, "no default database password"
