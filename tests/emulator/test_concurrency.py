"""One emulator process serves a thousand concurrent streams, with no thread per stream."""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from glm.emulator.testing import RunningEmulator

STREAMS = 1000
# Each stream lasts about a second, so all of them are open at the same time.
CHUNKS, CHUNK_DELAY_MS = 10, 100


@pytest.fixture(scope="module")
def paced_emulator():
    with RunningEmulator(chunk_delay_ms=CHUNK_DELAY_MS) as running:
        yield running


async def _stream_once(session: aiohttp.ClientSession, url: str, number: int) -> tuple[int, bool]:
    body = {
        "model": "glm-4-flash",
        "stream": True,
        "messages": [{"role": "user", "content": f"n{number} [[glm-len:{CHUNKS}]]"}],
    }
    chunks, done = 0, False
    async with session.post(url, json=body) as response:
        assert response.status == 200
        async for raw_line in response.content:
            line = raw_line.decode().strip()
            if line == "data: [DONE]":
                done = True
            elif line.startswith("data: "):
                json.loads(line[len("data: "):])
                chunks += 1
    return chunks, done


async def test_a_thousand_concurrent_streams_all_complete(paced_emulator):
    paced_emulator.reset()
    url = f"{paced_emulator.base_url}/chat/completions"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Authorization": f"Bearer {paced_emulator.api_key}"}
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        results = await asyncio.gather(*(_stream_once(session, url, n) for n in range(STREAMS)))
    elapsed = time.monotonic() - started

    assert results == [(CHUNKS + 1, True)] * STREAMS
    log = await asyncio.to_thread(paced_emulator.requests)
    assert len(log) == STREAMS and all(entry["finished"] and entry["status"] == 200 for entry in log)
    assert _peak_overlap(log) >= STREAMS * 0.9
    assert elapsed < 20, f"{STREAMS} streams took {elapsed:.1f}s"


def _peak_overlap(log: list[dict]) -> int:
    edges = sorted([(entry["started_at"], 1) for entry in log] + [(entry["ended_at"], -1) for entry in log])
    open_now = peak = 0
    for _, change in edges:
        open_now += change
        peak = max(peak, open_now)
    return peak
