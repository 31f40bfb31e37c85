"""Fixtures shared by every test: a real emulator process, the app pointed at it, and
temporary media."""
import os

import pytest

from glm.emulator.testing import RunningEmulator

TEST_API_KEY = "test-id.test-secret"


@pytest.fixture(scope="session")
def emulator():
    """One GLM emulator subprocess for the whole run; tests reset its log as they need."""
    with RunningEmulator(api_key=TEST_API_KEY, first_token_ms=0, chunk_delay_ms=0) as running:
        yield running


@pytest.fixture(autouse=True)
def _site_points_at_emulator(request, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # The manual's free tier allows glm-4-flash 10 requests a minute, which the suite exceeds;
    # the limiter has tests of its own (tests/usage/test_limits.py) that set their values.
    settings.USAGE_MODEL_LIMITS_ENABLED = False
    settings.USAGE_USER_RPM = 0
    layer = settings.CHANNEL_LAYERS["default"]
    if layer["BACKEND"].startswith("channels_redis"):
        # Groups are named by conversation id, and ids repeat between test runs sharing a
        # Redis: a prefix of this run's own keeps their events apart.
        layer["CONFIG"] = {**layer["CONFIG"], "prefix": f"asgi-test-{os.getpid()}"}
    if "emulator" in request.fixturenames or request.node.get_closest_marker("glm"):
        running = request.getfixturevalue("emulator")
        settings.ZHIPUAI_API_KEY = running.api_key
        settings.ZHIPUAI_BASE_URL = running.base_url
        settings.GLM_MAX_RETRIES = 2
    from channels.layers import channel_layers

    from chat.glm_client import forget_clients

    # A channel layer (and a GLM client) belongs to one event loop; each test has its own loop.
    channel_layers.backends.clear()
    forget_clients()
    yield
    forget_clients()
    channel_layers.backends.clear()
