"""A tiny HTTP server that answers GLM API paths with saved response bodies, in order.

Contract tests use it to drive the real SDKs over real HTTP, so that nothing inside an SDK is
patched and a change in how an SDK reads the wire shows up as a failing test.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

SAMPLES = Path(__file__).parent / "samples"
API_PREFIX = "/api/paas/v4"


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes
    content_type: str

    @classmethod
    def sample(cls, name: str, *, status: int = 200) -> "Canned":
        content_type = {
            ".sse": "text/event-stream",
            ".json": "application/json",
            ".html": "text/html",
        }[Path(name).suffix]
        return cls(status=status, body=sample_bytes(name), content_type=content_type)

    @classmethod
    def error(cls, status: int, code: str) -> "Canned":
        return cls.sample(f"errors/{status}_{code}.json", status=status)


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: dict


class SampleServer:
    """Serves queued Canned responses to POSTs under /api/paas/v4, one per request."""

    def __init__(self) -> None:
        self.received: list[ReceivedRequest] = []
        self._queue: list[Canned] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def queue(self, *responses: Canned) -> None:
        self._queue.extend(responses)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(API_PREFIX + "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}{API_PREFIX}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.received.append(
            ReceivedRequest(path=request.path, headers=dict(request.headers), body=json.loads(raw or b"{}"))
        )
        if not self._queue:
            return web.json_response({"error": {"code": "test", "message": "no response queued"}}, status=599)
        canned = self._queue.pop(0)
        if canned.content_type != "text/event-stream":
            return web.Response(status=canned.status, body=canned.body, content_type=canned.content_type, charset="utf-8")
        return await self._stream(request, canned)

    async def _stream(self, request: web.Request, canned: Canned) -> web.StreamResponse:
        response = web.StreamResponse(status=canned.status, headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        # One write per SSE event, as a live server flushes them.
        for event in canned.body.split(b"\n\n"):
            if event.strip():
                await response.write(event + b"\n\n")
        await response.write_eof()
        return response
