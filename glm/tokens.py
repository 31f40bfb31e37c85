"""The project's deterministic token rule.

The emulator bills with it, and the gateway uses it to estimate usage when a stream ends
before the API reported any. The rule: a token is one CJK character, one run of ASCII
letters and digits, or one other non-space character; white space is free and travels with
the token after it. It is not GLM's tokenizer (which is not public); real replies come with
exact usage, and estimates are marked as such wherever they are stored.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

_PIECE = re.compile(r"\s*(?:[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]|[A-Za-z0-9]+|\S)")

# Fixed overheads, documented in docs/emulator.md: each message costs its role marker, and an
# image part a flat amount whatever its size.
MESSAGE_OVERHEAD_TOKENS = 4
IMAGE_PART_TOKENS = 1000


def split_pieces(text: str) -> list[str]:
    """Split text into token pieces whose concatenation is exactly the text."""
    pieces = _PIECE.findall(text)
    consumed = sum(len(p) for p in pieces)
    tail = text[consumed:]
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces.append(tail)
    return pieces


def count_text_tokens(text: str | None) -> int:
    if not text:
        return 0
    return len(_PIECE.findall(text))


def _content_tokens(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return count_text_tokens(content)
    total = 0
    for part in content:
        if part.get("type") == "text":
            total += count_text_tokens(part.get("text", ""))
        elif part.get("type") == "image_url":
            total += IMAGE_PART_TOKENS
    return total


def count_prompt_tokens(messages: Iterable[dict]) -> int:
    """Tokens of a chat request's messages, as the emulator bills them."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS + _content_tokens(message.get("content"))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            total += count_text_tokens(function.get("name", "")) + count_text_tokens(function.get("arguments", ""))
    return total
