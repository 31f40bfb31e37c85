"""What a chat stream yields.

The rest of the application sees only these frozen dataclasses, never an SDK type, so that the
SDK behind the gateway can change without touching a consumer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from glm.errors import GLMError


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the visible reply, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of a thinking model's reasoning, sent before the reply itself."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete function call the model asks for; arguments is the JSON string as sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the API reported them (or as estimated, where the caller says so)."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Finish:
    """The last event of a successful stream. usage is None only if the API sent none."""

    reason: str
    usage: Usage | None
    request_id: str | None
    model: str


@dataclass(frozen=True, slots=True)
class Retrying:
    """Sent before the gateway sleeps and tries again, so a UI can say the model is busy.

    attempt counts retries from 1; delay is the pause in seconds that follows this event.
    """

    attempt: int
    delay: float
    error: "GLMError"


StreamEvent = Union[TextDelta, ReasoningDelta, ToolCall, Retrying, Finish]
