"""The one GLM streaming client of this process, configured from settings."""
from __future__ import annotations

import asyncio

from django.conf import settings

from glm.retry import RetryPolicy
from glm.stream import AsyncChatClient

_clients: dict[int, AsyncChatClient] = {}


def async_chat_client() -> AsyncChatClient:
    """One client (one connection pool) per event loop: pools cannot cross loops."""
    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None:
        client = AsyncChatClient(
            api_key=settings.ZHIPUAI_API_KEY,
            base_url=settings.ZHIPUAI_BASE_URL,
            connect_timeout=settings.GLM_CONNECT_TIMEOUT,
            read_timeout=settings.GLM_READ_TIMEOUT,
            retry=RetryPolicy(max_attempts=settings.GLM_MAX_RETRIES),
        )
        _clients[loop_id] = client
    return client


def forget_clients() -> None:
    """Drop cached clients (tests change settings between event loops)."""
    _clients.clear()
