from __future__ import annotations

import random

import pytest

from glm.retry import RetryPolicy
from glm.stream import AsyncChatClient
from glm.sync_client import SyncClient
from tests.gateway.sample_server import SampleServer

# Looks like a real key (<id>.<secret>) so that a leak into a message or log line is detectable.
TEST_API_KEY = "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f.SeCrEtPaRt0123456789"


def fast_retry(max_attempts: int = 3) -> RetryPolicy:
    """Real backoff shape, millisecond pauses, seeded jitter: the suite stays fast and repeatable."""
    return RetryPolicy(max_attempts=max_attempts, base_delay=0.001, max_delay=0.01, rng=random.Random(7))


@pytest.fixture
async def sample_server():
    server = SampleServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def contract_client(sample_server: SampleServer):
    client = AsyncChatClient(api_key=TEST_API_KEY, base_url=sample_server.base_url, retry=fast_retry(), read_timeout=5.0)
    yield client
    await client.aclose()


@pytest.fixture
def contract_sync_client(sample_server: SampleServer):
    client = SyncClient(api_key=TEST_API_KEY, base_url=sample_server.base_url, retry=fast_retry(), read_timeout=5.0)
    yield client
    client.close()


EMULATOR_API_KEY = "gateway-test.c2VjcmV0LWZvci10ZXN0cw"


@pytest.fixture(scope="session")
def glm_emulator():
    """One emulator subprocess for the gateway's integration tests, answering at full speed."""
    # Imported here so that unit and contract tests run even where the emulator cannot.
    from glm.emulator.testing import RunningEmulator

    with RunningEmulator(api_key=EMULATOR_API_KEY, first_token_ms=0, chunk_delay_ms=0) as running:
        yield running


@pytest.fixture
def clean_emulator(glm_emulator):
    """The shared emulator with an empty request log."""
    glm_emulator.reset()
    return glm_emulator


@pytest.fixture
async def chat_client(clean_emulator):
    client = AsyncChatClient(api_key=clean_emulator.api_key, base_url=clean_emulator.base_url, retry=fast_retry(), read_timeout=5.0)
    yield client
    await client.aclose()


@pytest.fixture
def sync_client(clean_emulator):
    client = SyncClient(api_key=clean_emulator.api_key, base_url=clean_emulator.base_url, retry=fast_retry(), read_timeout=5.0)
    yield client
    client.close()
