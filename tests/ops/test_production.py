"""Production mode: `check --deploy` passes with a realistic .env, refuses what must be refused,
and the site then answers with HTTPS-only headers and cookies and JSON logs."""
import json
import secrets

import pytest

from tests.ops.processes import env_example, manage, run_python

REALISTIC_SECRETS = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://glmweb:db-pass-9f3k@db:5432/glmweb",
    "REDIS_URL": "redis://redis:6379/0",
    "ZHIPUAI_API_KEY": "prod0000id.prod0000secret",
}


def production_env(tmp_path, **overrides):
    """.env.example as shipped, with what an operator must fill in, in production mode."""
    from tests.ops.processes import clean_env

    values = {**env_example(), **REALISTIC_SECRETS, "DJANGO_ENV": "production", **overrides}
    return clean_env(tmp_path, **values)


def test_check_deploy_passes_with_a_realistic_production_env(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_on_each_setting_unfit_for_production(tmp_path):
    # One run with four faults: each must be reported by its own check.
    unfit = {"DEBUG": "True", "SECURE_SSL_REDIRECT": "False", "REDIS_URL": "", "ZHIPUAI_API_KEY": ""}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path, **unfit))
    assert result.returncode != 0
    reported = result.stderr + result.stdout
    for check_id in ("security.W018", "security.W008", "glmweb.W001", "glmweb.W002", "glmweb.W003"):
        assert check_id in reported


@pytest.mark.parametrize("hosts", ["*", "chat.example.com,*", ""])
def test_production_refuses_to_start_with_a_wildcard_or_empty_allowed_hosts(tmp_path, hosts):
    result = run_python("-c", "import glmweb.settings", env=production_env(tmp_path, ALLOWED_HOSTS=hosts))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list real host names in production, never '*'" in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run_python("-c", "import glmweb.settings", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_env_example_copied_as_is_gives_a_working_development_site(tmp_path):
    from tests.ops.processes import clean_env

    result = manage("check", env=clean_env(tmp_path, **env_example()))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def production_answers(tmp_path_factory):
    """Static files collected as the Dockerfile does, then a few requests in production mode."""
    tmp_path = tmp_path_factory.mktemp("production")
    env = production_env(
        tmp_path,
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:9/0",  # nothing listens on the discard port
    )
    collected = manage("collectstatic", "--noinput", env=env)
    assert collected.returncode == 0, collected.stderr
    probe = run_python("tests/ops/production_probe.py", env=env)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout), probe.stderr


def test_plain_http_is_redirected_to_https_except_the_health_check(production_answers):
    answers, _ = production_answers
    login = answers["login_over_http"]
    assert login["status"] == 301 and login["location"] == "https://chat.example.com/accounts/login/"
    health = answers["healthz_over_http"]
    assert health["status"] in (200, 503) and json.loads(health["body"])["checks"]


def test_https_answers_carry_hsts_secure_cookies_and_the_security_headers(production_answers):
    answers, _ = production_answers
    page = answers["login_over_https"]
    assert page["status"] == 200
    headers = page["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "script-src 'self';" in headers["Content-Security-Policy"]
    assert "wss://chat.example.com" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert page["cookies"]["csrftoken"]["secure"] is True


def test_a_host_outside_allowed_hosts_is_refused(production_answers):
    answers, _ = production_answers
    assert answers["wrong_host"]["status"] == 400


def test_production_logs_are_one_json_object_per_line(production_answers):
    _, stderr = production_answers
    lines = [line for line in stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    requests = [e for e in entries if e["logger"] == "glmweb.request"]
    assert {e["http"]["path"] for e in requests} >= {"/accounts/login/"}
    for entry in requests:
        assert len(entry["request_id"]) == 32 and entry["time"].endswith("+00:00")
    assert not any(REALISTIC_SECRETS["ZHIPUAI_API_KEY"] in line or REALISTIC_SECRETS["SECRET_KEY"] in line
                   or "db-pass-9f3k" in line for line in lines)
