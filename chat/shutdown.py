"""Stopping a server without losing replies: let the replies being written finish for a grace
period, then cancel the rest, which saves each one's text with status "interrupted"."""
from __future__ import annotations

import asyncio
import logging
import sys

from django.conf import settings

from .replies import running_replies

log = logging.getLogger(__name__)


async def drain_replies(*, grace_seconds: float) -> None:
    pending = running_replies()
    if not pending:
        return
    log.info("shutdown: waiting up to %ss for %s replies", grace_seconds, len(pending))
    _done, pending = await asyncio.wait(pending, timeout=grace_seconds)
    for task in pending:
        task.cancel()
    if pending:
        # Each cancelled runner saves its text and status before it ends.
        await asyncio.wait(pending, timeout=15)
        log.info("shutdown: %s replies marked interrupted", len(pending))


def register_with_daphne() -> None:
    """Under Daphne (a Twisted reactor on asyncio), drain replies before the reactor stops.

    Twisted waits for the Deferred a "before shutdown" trigger returns, so the event loop keeps
    running while replies finish or are saved. Elsewhere (tests, other servers) this does nothing.
    """
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or not hasattr(reactor, "addSystemEventTrigger"):
        return
    from twisted.internet.defer import Deferred

    def before_shutdown():
        drain = asyncio.ensure_future(drain_replies(grace_seconds=settings.CHAT_SHUTDOWN_GRACE_SECONDS))
        return Deferred.fromFuture(drain)

    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)
