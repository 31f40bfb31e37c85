"""Requests per minute: per model, to stay under the GLM account's limits (design decision 5),
and per user, so one heavy user cannot use up everyone's share.

Both are sliding 60-second windows, like the API's own. Where the counts live:

- With REDIS_URL, in Redis through the `limits` library's moving-window strategy (one atomic
  Lua script per hit), shared by every web process and worker on every machine.
- Without Redis (the embedded defaults), in the database: one RateLimitBucket row per key holds
  the request times of the last minute, updated under the row's lock (select_for_update; on
  SQLite the single writer lock). The web process and the Celery worker are two processes even
  on one machine, so an in-process counter would not do.

acquire_model_slot waits briefly for a free slot, then raises RateLimited with code
"model_busy" (the chat socket's "busy" already means "a reply is being written");
check_user_rate refuses at once, with code "rate_limited". Retries inside the gateway
(glm.retry) are not counted: they follow a refusal the API already answered, and are few.
"""
from __future__ import annotations

import asyncio
import random
import time
from functools import lru_cache

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext

from glm.catalog import MANUAL_RPM

from .models import RateLimitBucket

WINDOW_SECONDS = 60

# The manual's requests per minute (glm.catalog); unknown models get the cautious default.
DEFAULT_RPM = (5, 60)


class RateLimited(Exception):
    """A request refused to protect a limit. `message` renders in the active language."""

    def __init__(self, *, code: str, retry_after: float):
        super().__init__(f"{code}: retry after {retry_after:.1f} s")
        self.code = code
        self.retry_after = retry_after
        self.message = _lazy_text(code, retry_after)


def _text(code: str, retry_after: float) -> str:
    if code == "model_busy":
        return gettext("The model is busy right now — please try again in a moment.")
    seconds = max(1, int(retry_after + 0.999))
    return ngettext(
        "You are sending requests too quickly. Please wait %(seconds)s second.",
        "You are sending requests too quickly. Please wait %(seconds)s seconds.",
        seconds,
    ) % {"seconds": seconds}


_lazy_text = lazy(_text, str)


def model_rpm(model: str) -> int:
    """The requests per minute the app allows itself for a model."""
    key = model.strip().lower()
    if key in settings.USAGE_MODEL_RPM:
        return settings.USAGE_MODEL_RPM[key]
    free, paid = MANUAL_RPM.get(key, DEFAULT_RPM)
    return paid if settings.GLM_RPM_TIER == "paid" else free


# --- the two backends --------------------------------------------------------------------------


class _RedisWindows:
    def __init__(self, url: str, prefix: str):
        from limits.storage import RedisStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(RedisStorage(url, key_prefix=prefix))

    def hit(self, key: str, limit: int) -> float:
        from limits import RateLimitItemPerSecond

        item = RateLimitItemPerSecond(limit, WINDOW_SECONDS)
        if self._limiter.hit(item, key):
            return 0.0
        reset_at = self._limiter.get_window_stats(item, key).reset_time
        return max(0.05, reset_at - time.time())


class _DatabaseWindows:
    def __init__(self, prefix: str):
        self._prefix = prefix

    def hit(self, key: str, limit: int) -> float:
        key = f"{self._prefix}:{key}"
        with transaction.atomic():
            RateLimitBucket.objects.get_or_create(key=key)
            bucket = RateLimitBucket.objects.select_for_update().get(key=key)
            now = time.time()
            recent = sorted(t for t in bucket.hits if t > now - WINDOW_SECONDS)
            if len(recent) >= limit:
                return max(0.05, recent[-limit] + WINDOW_SECONDS - now)
            bucket.hits = recent + [now]
            bucket.save(update_fields=["hits"])
            return 0.0


@lru_cache(maxsize=4)
def _windows_for(redis_url: str, prefix: str):
    return _RedisWindows(redis_url, prefix) if redis_url else _DatabaseWindows(prefix)


def _windows():
    return _windows_for(settings.REDIS_URL, settings.USAGE_RATE_LIMIT_PREFIX)


def _hit(key: str, limit: int) -> float:
    """Count one request under key if the window has room: 0.0; else seconds until it has."""
    return _windows().hit(key, limit)


async def _hit_async(key: str, limit: int) -> float:
    if settings.REDIS_URL:
        return await sync_to_async(_hit, thread_sensitive=False)(key, limit)
    return await database_sync_to_async(_hit)(key, limit)


# --- what the rest of the app calls ------------------------------------------------------------


def _model_slot_plan(model: str, wait_seconds: float | None) -> tuple[str, int, float] | None:
    if not settings.USAGE_MODEL_LIMITS_ENABLED:
        return None
    wait = settings.USAGE_MODEL_SLOT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    return f"model:{model.strip().lower()}", model_rpm(model), wait


def _pause(retry_in: float) -> float:
    # A little jitter so waiters released by the same expiry do not all try in the same instant.
    return retry_in + random.uniform(0, 0.05)


async def acquire_model_slot(*, model: str, wait_seconds: float | None = None) -> None:
    """Take one of the model's requests of the current minute, waiting up to wait_seconds
    (USAGE_MODEL_SLOT_WAIT_SECONDS by default) for one to free up.

    Raises RateLimited(code="model_busy") at once when no slot will free up in time.
    """
    plan = _model_slot_plan(model, wait_seconds)
    if plan is None:
        return
    key, limit, wait = plan
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        retry_in = await _hit_async(key, limit)
        if retry_in <= 0:
            return
        if loop.time() + retry_in > deadline:
            raise RateLimited(code="model_busy", retry_after=retry_in)
        await asyncio.sleep(_pause(retry_in))


def acquire_model_slot_blocking(*, model: str, wait_seconds: float | None = None) -> None:
    """acquire_model_slot for synchronous code (Celery workers): the same rule, sleeping."""
    plan = _model_slot_plan(model, wait_seconds)
    if plan is None:
        return
    key, limit, wait = plan
    deadline = time.monotonic() + wait
    while True:
        retry_in = _hit(key, limit)
        if retry_in <= 0:
            return
        if time.monotonic() + retry_in > deadline:
            raise RateLimited(code="model_busy", retry_after=retry_in)
        time.sleep(_pause(retry_in))


def check_user_rate(*, user) -> None:
    """Count one request for the user (USAGE_USER_RPM per minute; 0 means no limit).

    Raises RateLimited(code="rate_limited") when the user's minute is used up.
    """
    limit = settings.USAGE_USER_RPM
    if limit <= 0:
        return
    user_id = user if isinstance(user, int) else user.pk
    retry_in = _hit(f"user:{user_id}", limit)
    if retry_in > 0:
        raise RateLimited(code="rate_limited", retry_after=retry_in)
