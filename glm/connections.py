"""A connection pool that can open connections to GLM ahead of the requests that will use them.

Opening a connection takes round trips to GLM (TCP, then TLS) and, on a busy event loop, several
turns of it. A chat message must be stored before its GLM request is made; opening the request's
connection meanwhile overlaps the two. The chat asks for as many connections as it has messages
on their way to a request (AsyncChatClient.prepare_connections); when the request comes and the
pool holds no idle connection, it takes the oldest one being opened ahead, waiting for it to
finish if need be, instead of opening one of its own.

It is aiohttp's TCPConnector with one step of it replaced (_create_connection, the step that opens
a connection when the pool has none idle); aiohttp is pinned in requirements.txt, and
tests/gateway/test_connections.py holds the behaviour to it.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import time

import aiohttp
from aiohttp.client_reqrep import ConnectionKey


class PreparingConnector(aiohttp.TCPConnector):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._opening: dict[ConnectionKey, collections.deque[asyncio.Task]] = {}

    def prepare(self, request: aiohttp.ClientRequest, timeout: aiohttp.ClientTimeout, count: int) -> None:
        """Have `count` connections for `request`'s address idle or on their way."""
        key = request.connection_key
        opening = self._opening.setdefault(key, collections.deque())
        missing = count - len(opening) - self._usable_idle(key, enough=count)
        if self._limit:
            missing = min(missing, self._limit - len(self._acquired) - len(opening))
        for _ in range(max(0, missing)):
            task = asyncio.create_task(self._open_ahead(request, timeout))
            task.add_done_callback(_retrieve_failure)
            opening.append(task)

    def _usable_idle(self, key: ConnectionKey, *, enough: int) -> int:
        """How many of the pool's idle connections for `key` a request could still use, counted
        up to `enough`. Those GLM has closed, or kept past the keep-alive time, are dropped on the
        way, as aiohttp drops them when it meets them: after a quiet spell the pool can be full
        of connections the server has closed, and counting them would open nothing ahead."""
        idle = self._conns.get(key)
        if not idle:
            return 0
        now = time.monotonic()
        usable, dead = 0, []
        for proto, released_at in idle:
            if proto.is_connected() and (
                self._keepalive_timeout is None or now - released_at <= self._keepalive_timeout
            ):
                usable += 1
                if usable >= enough:
                    break
            else:
                dead.append(proto)
        if dead:
            for proto in dead:
                proto.close()
            gone = set(dead)
            kept = collections.deque(entry for entry in idle if entry[0] not in gone)
            if kept:
                self._conns[key] = kept
            else:
                del self._conns[key]
        return usable

    async def _open_ahead(self, request: aiohttp.ClientRequest, timeout: aiohttp.ClientTimeout):
        # The same limit as a request's own connecting (which connect() puts around this step).
        async with asyncio.timeout(timeout.connect):
            return await super()._create_connection(request, [], timeout)

    async def _create_connection(self, req, traces, timeout):
        opening = self._opening.get(req.connection_key)
        while opening:
            task = opening.popleft()
            try:
                # Shielded: a request cancelled while waiting leaves the connection to the next.
                proto = await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.cancelled():
                    opening.appendleft(task)
                raise
            except Exception:
                continue  # it could not be opened: the next one, or one of our own
            if proto.is_connected():
                return proto
            proto.close()  # GLM closed it while it waited
        return await super()._create_connection(req, traces, timeout)

    def _close(self, *args, **kwargs):
        if self._loop.is_closed():  # collected after its loop ended: nothing left to close with
            self._opening.clear()
            return super()._close(*args, **kwargs)
        for opening in self._opening.values():
            for task in opening:
                if task.done() and not task.cancelled() and task.exception() is None:
                    task.result().close()
                else:
                    task.cancel()
        self._opening.clear()
        return super()._close(*args, **kwargs)


def _retrieve_failure(task: asyncio.Task) -> None:
    # A connection opened ahead that failed is not an error of anyone's yet: the request that
    # would have taken it opens its own and meets the failure there.
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()
