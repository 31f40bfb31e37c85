"""Timing and transport tricks shared by the API handlers: waits, hangs, dropped connections."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .errors import EmulatorError

# How often a hanging request looks whether its client has gone.
HANG_POLL_SECONDS = 0.2


async def read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise EmulatorError("1210") from None


async def sleep_ms(milliseconds: float) -> None:
    if milliseconds > 0:
        await asyncio.sleep(milliseconds / 1000)


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def hang_until_client_leaves(request: web.Request) -> None:
    """Send nothing at all; return once the client has closed the connection."""
    while not client_gone(request):
        await asyncio.sleep(HANG_POLL_SECONDS)


class ConnectionDropped(Exception):
    """Raised after closing a connection on purpose before any response was sent."""


def drop_connection(request: web.Request) -> None:
    """Close the TCP connection after flushing what was written: no final chunk, no [DONE]."""
    if request.transport is not None:
        request.transport.close()


def drop_before_answering(request: web.Request) -> None:
    drop_connection(request)
    raise ConnectionDropped


def error_response(error: EmulatorError) -> web.Response:
    return web.Response(status=error.status, body=error.body_bytes(), content_type="application/json", charset="utf-8")
