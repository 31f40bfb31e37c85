"""Reading GLM's response documents: stream chunks and whole completions, as plain mappings.

Both SDKs hand back models that can be turned into dicts; parsing the dicts here keeps GLM's
quirks (role repeated in every delta, `index: -1` on tool calls, finish_reason on the tool-call
chunk itself, usage only in the final chunk) in one place, tested against saved responses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from glm.errors import GLMContentBlocked, GLMError, GLMStreamInterrupted
from glm.events import ReasoningDelta, TextDelta, ToolCall, Usage
from glm.results import ChatResult

# Reasons that end a reply normally. model_context_window_exceeded is GLM's own spelling of
# "the context filled up", which a caller treats like "length".
SUCCESS_REASONS = frozenset({"stop", "length", "tool_calls", "model_context_window_exceeded"})


def parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    return Usage(
        prompt_tokens=_as_int(raw.get("prompt_tokens")),
        completion_tokens=_as_int(raw.get("completion_tokens")),
        cached_tokens=_as_int(cached),
    )


def error_for_finish_reason(
    reason: str, *, usage: Usage | None, request_id: str | None
) -> GLMError | None:
    """The error a finish_reason stands for (GLM reports these with HTTP 200), or None."""
    if reason == "sensitive":
        return GLMContentBlocked(
            "finish_reason sensitive", code="1301", http_status=200, request_id=request_id, usage=usage
        )
    if reason == "network_error":
        return GLMStreamInterrupted(
            "finish_reason network_error", code="network_error", http_status=200,
            request_id=request_id, usage=usage,
        )
    return None


class ToolCallAssembler:
    """Joins tool-call pieces into whole calls.

    Without tool_stream a delta carries a whole call; with it, later pieces carry no id and are
    joined to the call with the same index. Some models send index -1, so a new id always starts
    a new call whatever its index says.
    """

    def __init__(self) -> None:
        self._calls: list[dict[str, str]] = []
        self._by_id: dict[str, int] = {}
        self._by_index: dict[int, int] = {}

    def feed(self, pieces: Any) -> None:
        for piece in pieces or ():
            if isinstance(piece, Mapping):
                self._feed_one(piece)

    def _feed_one(self, piece: Mapping) -> None:
        call_id = piece.get("id") or None
        index = piece.get("index")
        function = piece.get("function") if isinstance(piece.get("function"), Mapping) else {}
        position = self._position_for(call_id, index)
        call = self._calls[position]
        if call_id and not call["id"]:
            call["id"] = call_id
        if function.get("name"):
            call["name"] = call["name"] or str(function["name"])
        call["arguments"] += _arguments_text(function.get("arguments"))

    def _position_for(self, call_id: str | None, index: Any) -> int:
        if call_id and call_id in self._by_id:
            return self._by_id[call_id]
        usable_index = isinstance(index, int) and index >= 0
        if not call_id:
            if usable_index and index in self._by_index:
                return self._by_index[index]
            if self._calls and not usable_index:
                return len(self._calls) - 1
        self._calls.append({"id": call_id or "", "name": "", "arguments": ""})
        position = len(self._calls) - 1
        if call_id:
            self._by_id[call_id] = position
        if usable_index:
            self._by_index[index] = position
        return position

    def calls(self) -> list[ToolCall]:
        return [
            ToolCall(id=call["id"] or f"call_{position}", name=call["name"], arguments=call["arguments"])
            for position, call in enumerate(self._calls)
        ]


@dataclass
class StreamState:
    """Everything learnt from a stream's chunks so far, apart from the text already passed on."""

    finish_reason: str | None = None
    usage: Usage | None = None
    request_id: str | None = None
    model: str = ""
    tool_calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)

    def feed(self, chunk: Mapping) -> list[TextDelta | ReasoningDelta]:
        """Take one chunk; return the text pieces it carries, in order."""
        self.request_id = self.request_id or _text_or_none(chunk.get("request_id")) or _text_or_none(chunk.get("id"))
        self.model = self.model or str(chunk.get("model") or "")
        usage = parse_usage(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
        events: list[TextDelta | ReasoningDelta] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping):
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), Mapping) else {}
            reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                events.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.append(TextDelta(content))
            self.tool_calls.feed(delta.get("tool_calls"))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return events


def parse_completion(document: Mapping) -> ChatResult:
    """A non-streamed chat completion as a ChatResult; raises for sensitive / network_error."""
    choices = [choice for choice in document.get("choices") or () if isinstance(choice, Mapping)]
    choice = choices[0] if choices else {}
    message = choice.get("message") if isinstance(choice.get("message"), Mapping) else {}
    usage = parse_usage(document.get("usage"))
    request_id = _text_or_none(document.get("request_id")) or _text_or_none(document.get("id"))
    reason = str(choice.get("finish_reason") or "")
    error = error_for_finish_reason(reason, usage=usage, request_id=request_id)
    if error is not None:
        raise error
    if not reason:
        raise GLMStreamInterrupted("completion without finish_reason", code="no_finish_reason", request_id=request_id)
    assembler = ToolCallAssembler()
    assembler.feed(message.get("tool_calls"))
    return ChatResult(
        text=message.get("content") or "",
        reasoning=message.get("reasoning_content") or "",
        tool_calls=assembler.calls(),
        finish_reason=reason,
        usage=usage,
        request_id=request_id,
        model=str(document.get("model") or ""),
    )


def _arguments_text(arguments: Any) -> str:
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    # A few responses carry the arguments as an object rather than a JSON string.
    return json.dumps(arguments, ensure_ascii=False)


def _as_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
