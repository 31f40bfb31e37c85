"""What /healthz checks: the database, the channel layer, the Celery broker, and whether a
GLM endpoint is configured.

Each check is bounded by a timeout and reports only whether it passed, the kind of backend and
the class of the error — never a URL, a host name, a password or a key. The GLM check looks at
the configuration only: an upstream outage is not this server's ill health, and a probe must
not spend the operator's quota.
"""
from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

log = logging.getLogger("glmweb.health")

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _timeout() -> float:
    return settings.HEALTHZ_TIMEOUT_SECONDS


class CheckFailed(Exception):
    """A check ran and found the service unusable; `reason` is a short code for the body."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- the database ---------------------------------------------------------------------------

def _ping_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"backend": connection.vendor}


async def check_database() -> dict:
    return await sync_to_async(_ping_database)()


# --- Redis ----------------------------------------------------------------------------------

async def _ping_redis(target: str | dict | tuple | list) -> None:
    import redis.asyncio as redis

    options = {"socket_connect_timeout": _timeout(), "socket_timeout": _timeout()}
    if isinstance(target, dict):
        address = target.get("address")
        extra = {k: v for k, v in target.items() if k not in ("address", "socket_timeout", "socket_connect_timeout")}
        target, options = address, {**extra, **options}
    if isinstance(target, str):
        client = redis.Redis.from_url(target, **options)
    else:
        host, port = target
        client = redis.Redis(host=host, port=port, **options)
    try:
        if not await client.ping():
            raise CheckFailed("no_pong")
    finally:
        await client.aclose()


# --- the channel layer ----------------------------------------------------------------------

async def _round_trip(layer) -> None:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise CheckFailed("wrong_message")


async def check_channel_layer() -> dict:
    from channels.layers import get_channel_layer

    config = settings.CHANNEL_LAYERS["default"]
    backend_path = config["BACKEND"]
    if backend_path.startswith("channels_redis."):
        for host in config.get("CONFIG", {}).get("hosts", []):
            await _ping_redis(host)
        return {"backend": "redis"}
    # In-process layers (and any other): a message must come back through the layer itself.
    await _round_trip(get_channel_layer())
    return {"backend": backend_path.rsplit(".", 1)[-1]}


# --- the Celery broker ----------------------------------------------------------------------

def _folders_writable(folders: list[str]) -> None:
    for folder in folders:
        # Creating a file is the proof: a folder can exist and still refuse the worker's writes.
        with tempfile.NamedTemporaryFile(dir=Path(folder), prefix=".healthz-"):
            pass


def _connect_broker(url: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=_timeout()) as broker:
        broker.ensure_connection(max_retries=1, timeout=_timeout())


async def check_broker() -> dict:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders = sorted({options[k] for k in ("data_folder_in", "data_folder_out", "processed_folder") if k in options})
        await asyncio.to_thread(_folders_writable, folders)
        return {"backend": "filesystem"}
    if url.startswith(REDIS_SCHEMES):
        await _ping_redis(url)
        return {"backend": "redis"}
    await asyncio.to_thread(_connect_broker, url)
    return {"backend": url.split("://", 1)[0]}


# --- GLM ------------------------------------------------------------------------------------

async def check_glm() -> dict:
    configured = bool(settings.ZHIPUAI_API_KEY and settings.ZHIPUAI_BASE_URL)
    if not configured:
        raise CheckFailed("not_configured")
    return {"configured": True, "offline_demo": bool(settings.GLM_OFFLINE_DEMO)}


# --- all of them ----------------------------------------------------------------------------

CHECKS: dict[str, Callable[[], Awaitable[dict]]] = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
    "glm": check_glm,
}


async def _run_one(name: str, check: Callable[[], Awaitable[dict]]) -> dict:
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(check(), timeout=_timeout())
        result = {"ok": True, **detail}
    except TimeoutError:
        log.warning("health check %s timed out after %.1f s", name, _timeout())
        result = {"ok": False, "error": "timeout"}
    except CheckFailed as failure:
        log.warning("health check %s failed: %s", name, failure.reason)
        result = {"ok": False, "error": failure.reason}
    except Exception as error:
        # One line, no traceback: probes repeat every few seconds while a service is down.
        log.warning("health check %s failed: %s: %s", name, type(error).__name__, error)
        result = {"ok": False, "error": type(error).__name__}
    result["ms"] = round((time.monotonic() - started) * 1000)
    return result


async def run_checks() -> dict:
    """{"status": "ok" or "unavailable", "checks": {name: {"ok": bool, …}}}"""
    results = await asyncio.gather(*(_run_one(name, check) for name, check in CHECKS.items()))
    checks = dict(zip(CHECKS, results))
    status = "ok" if all(result["ok"] for result in checks.values()) else "unavailable"
    return {"status": status, "checks": checks}
