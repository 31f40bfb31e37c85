"""The gateway to Zhipu's GLM API: the only code that talks to it, free of Django.

The clients are loaded on first use (`glm.AsyncChatClient`, `glm.SyncClient`) so that importing
the error types, pricing or the emulator does not pull in both SDKs.
"""
from __future__ import annotations

from typing import Any

from glm.errors import (
    GLMAuthError,
    GLMBadRequest,
    GLMBalanceExhausted,
    GLMConnectionError,
    GLMContentBlocked,
    GLMError,
    GLMPromptTooLong,
    GLMRateLimited,
    GLMServerError,
    GLMStreamInterrupted,
    GLMTimeout,
    error_from_response,
)
from glm.events import Finish, ReasoningDelta, Retrying, StreamEvent, TextDelta, ToolCall, Usage
from glm.pricing import (
    DEFAULT_PRICES,
    Price,
    chat_cost,
    estimate_completion_usage,
    image_cost,
    parse_price_overrides,
    price_for,
)
from glm.results import ChatResult, ImageResult
from glm.retry import RetryPolicy

__all__ = [
    "AsyncChatClient", "SyncClient", "ChatResult", "DEFAULT_PRICES", "Finish", "GLMAuthError", "GLMBadRequest", "GLMBalanceExhausted",
    "GLMConnectionError", "GLMContentBlocked", "GLMError", "GLMPromptTooLong", "GLMRateLimited",
    "GLMServerError", "GLMStreamInterrupted", "GLMTimeout", "ImageResult", "Price", "ReasoningDelta",
    "Retrying", "RetryPolicy", "StreamEvent", "TextDelta", "ToolCall", "Usage", "chat_cost",
    "error_from_response", "estimate_completion_usage", "image_cost", "parse_price_overrides", "price_for",
]


def __getattr__(name: str) -> Any:
    if name == "AsyncChatClient":
        from glm.stream import AsyncChatClient

        return AsyncChatClient
    if name == "SyncClient":
        from glm.sync_client import SyncClient

        return SyncClient
    raise AttributeError(f"module 'glm' has no attribute {name!r}")
