"""What a finished, non-streamed call returns."""
from __future__ import annotations

from dataclasses import dataclass, field

from glm.events import ToolCall, Usage


@dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    reasoning: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage | None = None
    request_id: str | None = None
    model: str = ""


@dataclass(frozen=True, slots=True)
class ImageResult:
    """A generated picture. The URL is temporary (documented as 30 days): download it at once."""

    url: str
    created: int
    request_id: str | None = None
