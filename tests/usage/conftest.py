"""Fixtures for the limiter tests: a Redis to count in (the configured one, or a private
redis-server when the run has none) and a key prefix no other run shares."""
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def limiter_redis_url(tmp_path_factory):
    """REDIS_URL of the run, or a throwaway redis-server of our own on a spare port."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    server = shutil.which("redis-server")
    assert server, "the limiter tests need redis-server (apt-get install redis-server) when REDIS_URL is unset"
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def rate_prefix(settings):
    """A key namespace of this test only: Redis is shared with other runs and other tests."""
    settings.USAGE_RATE_LIMIT_PREFIX = f"test-rate:{uuid.uuid4().hex}"
    return settings.USAGE_RATE_LIMIT_PREFIX


@pytest.fixture(params=["database", "redis"])
def limiter_backend(request, settings, rate_prefix):
    """Each limiter test runs on both stores: the database (no REDIS_URL) and Redis."""
    settings.REDIS_URL = request.getfixturevalue("limiter_redis_url") if request.param == "redis" else ""
    settings.USAGE_MODEL_LIMITS_ENABLED = True
    return request.param
