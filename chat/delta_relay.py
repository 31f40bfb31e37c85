"""Relays a reply's text to its sockets in as few events as the load allows.

Every `chat.delta` event costs the same whatever it holds: a channel-layer send per socket,
a consumer handler, a JSON frame, a WebSocket write. With one reply on a quiet server each
piece of text leaves as it arrives, exactly as before. When the process is busy, GLM's chunks
pile up in the socket buffers and are read several at a time; the pieces read while a send
is pending go out together in the next event. Nothing waits on a timer: the batches are only
as big as the backlog, so a busy server catches up instead of falling further behind.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

Publish = Callable[[dict], Awaitable[None]]


class DeltaRelay:
    def __init__(self, *, message_id: int, publish: Publish) -> None:
        self._message_id = message_id
        self._publish = publish
        self._pieces: list[str] = []
        self._offset = 0  # where in the reply's text the first waiting piece starts
        self._wake = asyncio.Event()
        self._sending = asyncio.Lock()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._send_when_woken(), name=f"deltas-{self._message_id}")

    def add(self, *, offset: int, text: str) -> None:
        """Queue a piece that starts at `offset` of the reply's text; it leaves at the next turn
        of the event loop, with whatever else arrived by then."""
        if not self._pieces:
            self._offset = offset
        self._pieces.append(text)
        self._wake.set()

    async def flush(self) -> None:
        """Send what is waiting now: before any other event, so the sockets see them in order."""
        async with self._sending:
            await self._send_waiting()

    async def close(self) -> None:
        """Send what is waiting and stop. The lock first: a send under way is never cut off."""
        task, self._task = self._task, None
        async with self._sending:
            if task is not None:
                task.cancel()
            await self._send_waiting()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _send_when_woken(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            async with self._sending:
                await self._send_waiting()

    async def _send_waiting(self) -> None:
        if not self._pieces:
            return
        text, offset = "".join(self._pieces), self._offset
        self._pieces = []
        await self._publish({"type": "chat.delta", "message_id": self._message_id, "offset": offset, "text": text})
