"""The JSON shapes and SSE framing of chat replies, exactly as the platform sends them."""
from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timezone
from typing import Any

from .chat import Reply


def new_request_id() -> str:
    """14-digit UTC timestamp followed by 16 hex characters, like the platform's ids."""
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def sse_event(payload: Any) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "completion_tokens": completion_tokens,
        "prompt_tokens": prompt_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "total_tokens": prompt_tokens + completion_tokens,
    }


class ReplyFrames:
    """Builds the bodies of one reply: the non-stream completion or its stream chunks."""

    def __init__(self, *, request_id: str, model: str, prompt_tokens: int) -> None:
        self.request_id = request_id
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.created = int(time.time())

    def completion(self, reply: Reply) -> dict:
        message: dict[str, Any] = {"content": None if reply.tool_calls else reply.content, "role": "assistant"}
        if reply.reasoning_pieces:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        return {
            "choices": [{"finish_reason": reply.finish_reason, "index": 0, "message": message}],
            "created": self.created,
            "id": self.request_id,
            "model": self.model,
            "object": "chat.completion",
            "request_id": self.request_id,
            "usage": usage(self.prompt_tokens, reply.completion_tokens),
        }

    def _chunk(self, choice: dict, **extra: Any) -> dict:
        return {
            "id": self.request_id,
            "created": self.created,
            "object": "chat.completion.chunk",
            "model": self.model,
            "choices": [choice],
            **extra,
        }

    def delta_chunk(self, **delta: Any) -> dict:
        """A non-final chunk: no finish_reason key at all."""
        return self._chunk({"index": 0, "delta": {"role": "assistant", **delta}})

    def final_chunk(self, reply: Reply) -> dict:
        return self._chunk(
            {"index": 0, "finish_reason": reply.finish_reason, "delta": {"role": "assistant", "content": ""}},
            usage=usage(self.prompt_tokens, reply.completion_tokens),
        )

    def stream_deltas(self, reply: Reply) -> list[dict]:
        """Every non-final delta of a reply, in order: reasoning pieces, content pieces, tool calls."""
        deltas = [{"reasoning_content": piece} for piece in reply.reasoning_pieces]
        deltas += [{"content": piece} for piece in reply.content_pieces]
        if reply.tool_calls:
            deltas.append({"content": "", "tool_calls": reply.tool_calls})
        return deltas
