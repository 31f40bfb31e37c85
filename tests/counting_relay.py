"""A TCP relay in front of the emulator that counts connections, where GLM would see them."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class CountingRelay:
    """Passes TCP connections through to the emulator and counts them; can cut the first."""

    def __init__(self, target: str, *, cut_first: bool = False):
        parts = urlsplit(target)
        self._target, self._prefix = (parts.hostname, parts.port), parts.path
        self.accepted = 0
        self.closed_by_client = 0
        self._cut_next = cut_first
        self._clients: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}{self._prefix}"

    async def stop(self) -> None:
        self._server.close()

    def cut_all(self) -> None:
        """Close every connection from the client, as a server ending idle keep-alives does."""
        for writer in self._clients:
            writer.close()

    async def _serve(self, reader, writer) -> None:
        self.accepted += 1
        self._clients.append(writer)
        if self._cut_next:
            self._cut_next = False
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        to_glm = asyncio.create_task(self._pipe(reader, upstream_writer))
        await self._pipe(upstream_reader, writer)
        if to_glm.done():
            self.closed_by_client += 1
        to_glm.cancel()

    @staticmethod
    async def _pipe(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


async def settle(relay: CountingRelay, accepted: int) -> None:
    """Wait (two seconds at most) until the relay has accepted this many connections."""
    for _ in range(200):
        if relay.accepted >= accepted:
            return
        await asyncio.sleep(0.01)
