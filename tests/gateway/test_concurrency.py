"""Design decision 1: hundreds of streams share one event loop and no thread is made per stream."""
from __future__ import annotations

import asyncio
import threading

from glm.events import Finish, TextDelta
from glm.stream import AsyncChatClient
from tests.gateway.conftest import fast_retry

STREAMS = 200
REPLY_TOKENS = 12


async def test_two_hundred_streams_run_at_once_without_a_thread_each(clean_emulator):
    client = AsyncChatClient(api_key=clean_emulator.api_key, base_url=clean_emulator.base_url, retry=fast_retry(), read_timeout=30.0)
    started = 0
    all_started = asyncio.Event()
    release = asyncio.Event()

    async def one_stream(number: int) -> tuple[str, Finish]:
        nonlocal started
        text, finish, counted = [], None, False
        prompt = f"[[glm-slow:15]] [[glm-len:{REPLY_TOKENS}]] stream {number}"
        async for event in client.stream_chat(model="glm-4-flash", messages=[{"role": "user", "content": prompt}]):
            if isinstance(event, TextDelta):
                text.append(event.text)
                if not counted:
                    counted, started = True, started + 1
                    if started == STREAMS:
                        all_started.set()
                    # Hold every stream open until the threads have been counted mid-flight.
                    await release.wait()
            elif isinstance(event, Finish):
                finish = event
        return "".join(text), finish

    try:
        # The OpenAI SDK looks up platform details for its headers once per client, in a worker
        # thread; one call first makes that one-off cost visible apart from the streams.
        async for _ in client.stream_chat(model="glm-4-flash", messages=[{"role": "user", "content": "warm up"}]):
            pass
        threads_before = threading.active_count()
        tasks = [asyncio.create_task(one_stream(number)) for number in range(STREAMS)]
        await asyncio.wait_for(all_started.wait(), timeout=30)
        threads_mid_flight = threading.active_count()
        release.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    finally:
        await client.aclose()

    assert threads_mid_flight <= threads_before, (threads_before, threads_mid_flight)
    assert len(results) == STREAMS
    for text, finish in results:
        assert finish is not None and finish.reason == "stop" and finish.usage.completion_tokens == REPLY_TOKENS
    records = clean_emulator.requests()
    assert len(records) == STREAMS + 1 and all(record["status"] == 200 for record in records)
