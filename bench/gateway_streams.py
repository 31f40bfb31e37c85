"""How many GLM streams one event loop holds: N concurrent stream_chat calls against the emulator.

    python bench/gateway_streams.py [--streams 200] [--tokens 40] [--first-token-ms 300] [--chunk-delay-ms 20]

Prints the wall time of N streams next to that of one stream (the ratio is near 1 when streams
really run side by side), and the thread count before and during the run (flat: no thread per
stream). Talks only to an emulator it starts on 127.0.0.1 and stops when done.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glm.emulator.testing import RunningEmulator  # noqa: E402
from glm.events import Finish, TextDelta  # noqa: E402
from glm.stream import AsyncChatClient  # noqa: E402


async def one_stream(client: AsyncChatClient, *, number: int, tokens: int) -> int:
    received = 0
    prompt = f"[[glm-len:{tokens}]] stream {number}"
    async for event in client.stream_chat(model="glm-4-flash", messages=[{"role": "user", "content": prompt}]):
        if isinstance(event, TextDelta):
            received += 1
        elif isinstance(event, Finish) and event.usage is not None:
            assert event.usage.completion_tokens == tokens
    return received


async def run(*, base_url: str, api_key: str, streams: int, tokens: int) -> None:
    client = AsyncChatClient(api_key=api_key, base_url=base_url, read_timeout=60.0)
    try:
        started = time.monotonic()
        await one_stream(client, number=0, tokens=tokens)
        single = time.monotonic() - started

        threads_before = threading.active_count()
        peak_threads = threads_before
        tasks = [asyncio.create_task(one_stream(client, number=n, tokens=tokens)) for n in range(streams)]
        started = time.monotonic()
        while not all(task.done() for task in tasks):
            peak_threads = max(peak_threads, threading.active_count())
            await asyncio.sleep(0.05)
        results = [task.result() for task in tasks]
        many = time.monotonic() - started
    finally:
        await client.aclose()

    assert all(received == tokens for received in results)
    print(f"one stream:        {single:7.3f} s")
    print(f"{streams} streams:     {many:7.3f} s   ratio {many / single:5.2f} (1.00 = fully concurrent)")
    print(f"tokens delivered:  {streams * tokens}  ({streams * tokens / many:,.0f} tokens/s)")
    print(f"threads:           {threads_before} before, {peak_threads} at most during the run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--first-token-ms", type=float, default=300)
    parser.add_argument("--chunk-delay-ms", type=float, default=20)
    options = parser.parse_args()
    with RunningEmulator(first_token_ms=options.first_token_ms, chunk_delay_ms=options.chunk_delay_ms) as emulator:
        asyncio.run(run(base_url=emulator.base_url, api_key=emulator.api_key, streams=options.streams, tokens=options.tokens))


if __name__ == "__main__":
    main()
