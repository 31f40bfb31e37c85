"""The CogView client of this worker process, configured from settings."""
from __future__ import annotations

import os

from django.conf import settings

from glm.retry import NO_RETRY, RetryPolicy
from glm.sync_client import SyncClient

_clients: dict[tuple, SyncClient] = {}


def image_client() -> SyncClient:
    """One client per process (a pool cannot cross a fork) and per configuration (tests change it).

    Its own retries are off: the runner retries, so that each attempt is counted on the job and
    shown to the user.
    """
    key = (os.getpid(), settings.ZHIPUAI_API_KEY, settings.ZHIPUAI_BASE_URL, settings.IMAGE_GENERATION_TIMEOUT)
    client = _clients.get(key)
    if client is None:
        client = SyncClient(
            api_key=settings.ZHIPUAI_API_KEY,
            base_url=settings.ZHIPUAI_BASE_URL,
            connect_timeout=settings.GLM_CONNECT_TIMEOUT,
            read_timeout=settings.IMAGE_GENERATION_TIMEOUT,
            retry=NO_RETRY,
        )
        _clients[key] = client
    return client


def image_retry_policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.IMAGE_MAX_RETRIES,
        base_delay=settings.IMAGE_RETRY_BASE_DELAY,
        max_delay=settings.IMAGE_RETRY_MAX_DELAY,
    )
