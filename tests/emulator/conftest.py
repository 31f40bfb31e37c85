"""Fixtures: one fast emulator subprocess for the session, and real SDK clients pointed at it."""
from __future__ import annotations

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI
from zhipuai import ZhipuAI

from glm.emulator.testing import RunningEmulator


@pytest.fixture(scope="session")
def emulator():
    with RunningEmulator() as running:
        yield running


@pytest.fixture
def zhipu(emulator) -> ZhipuAI:
    client = ZhipuAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0, timeout=30)
    yield client
    client.close()


@pytest.fixture
def openai_client(emulator) -> OpenAI:
    client = OpenAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0, timeout=30)
    yield client
    client.close()


@pytest.fixture
async def async_openai(emulator) -> AsyncOpenAI:
    client = AsyncOpenAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0, timeout=30)
    yield client
    await client.close()


@pytest.fixture
def http(emulator) -> httpx.Client:
    """A plain HTTP client with the emulator's key, for checking bytes on the wire."""
    with httpx.Client(
        base_url=emulator.base_url, headers={"Authorization": f"Bearer {emulator.api_key}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture
def log_of(emulator):
    """Entries of the request log whose last user text is the given text."""

    def entries(text: str) -> list[dict]:
        return [entry for entry in emulator.requests() if entry["last_user_text"] == text]

    return entries
