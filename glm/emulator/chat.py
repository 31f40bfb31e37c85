"""Composing the emulator's reply: an honest echo, image facts, tool calls, length rules."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from glm.tokens import count_text_tokens, split_pieces

from .chat_request import ChatRequest
from .faults import Triggers
from .tools import plan_tool_call
from .vision import ImageFacts

CLOSING_SENTENCE = "This reply comes from the GLM emulator, which repeats your message so you can check what arrived."
# Repeated to pad a reply to the length [[glm-len:N]] asks for. It starts with a space and ends
# with a full stop, so its pieces never merge with their neighbours into fewer tokens.
PADDING_SENTENCE = " The emulator adds these words only to reach the requested length."


@dataclass
class Reply:
    content_pieces: list[str] = field(default_factory=list)
    reasoning_pieces: list[str] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str = "stop"

    @property
    def content(self) -> str:
        return "".join(self.content_pieces)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_pieces)

    @property
    def completion_tokens(self) -> int:
        tool_tokens = sum(
            count_text_tokens(call["function"]["name"]) + count_text_tokens(call["function"]["arguments"])
            for call in self.tool_calls
        )
        return len(self.content_pieces) + len(self.reasoning_pieces) + tool_tokens


def compose_reply(request: ChatRequest, images: list[ImageFacts], triggers: Triggers) -> Reply:
    """The whole reply for a request; delivery (stream or not) only slices it into frames."""
    if request.answering_user and request.tools:
        planned = plan_tool_call(request.tools, request.last_user_text)
        if planned is not None:
            call = {
                "id": f"call_{secrets.token_hex(12)}",
                "index": 0,
                "type": "function",
                "function": {"name": planned.name, "arguments": json.dumps(planned.arguments, ensure_ascii=False)},
            }
            return Reply(tool_calls=[call], finish_reason="tool_calls")

    text = _reply_text(request, images)
    if request.json_mode:
        text = json.dumps({"reply": text}, ensure_ascii=False)
    pieces = split_pieces(text)
    if triggers.length is not None:
        pieces = fit_length(pieces, triggers.length)
    finish_reason = "stop"
    if request.stop:
        pieces = _cut_at_stop(pieces, request.stop)

    reasoning = split_pieces(_reasoning_text(request)) if request.thinking else []
    budget = request.max_tokens
    if len(reasoning) + len(pieces) > budget:
        reasoning = reasoning[:budget]
        pieces = pieces[: budget - len(reasoning)]
        finish_reason = "length"
    if triggers.cut_reason:
        pieces = pieces[: triggers.cut_after]
        finish_reason = triggers.cut_reason
    return Reply(content_pieces=pieces, reasoning_pieces=reasoning, finish_reason=finish_reason)


def _reply_text(request: ChatRequest, images: list[ImageFacts]) -> str:
    if not request.answering_user:
        return _tool_results_text(request.messages) + " " + CLOSING_SENTENCE
    parts = [f"You said: «{request.last_user_text}»."]
    parts.extend(facts.describe(number) for number, facts in enumerate(images, start=1))
    parts.append(CLOSING_SENTENCE)
    return " ".join(parts)


def _tool_results_text(messages: list[dict]) -> str:
    names = {
        call.get("id"): call["function"]["name"]
        for message in messages
        if message["role"] == "assistant"
        for call in message.get("tool_calls") or ()
    }
    trailing = []
    for message in reversed(messages):
        if message["role"] != "tool":
            break
        trailing.append(message)
    if not trailing:
        # The conversation ends with an assistant message: nothing new to answer.
        return "There is no new message to answer."
    return " ".join(
        f"Tool {names.get(message['tool_call_id'], message['tool_call_id'])} returned: {message['content']}."
        for message in reversed(trailing)
    )


def _reasoning_text(request: ChatRequest) -> str:
    tokens = count_text_tokens(request.last_user_text)
    return f"The last user message has {tokens} tokens. I will repeat it back and add one fixed sentence."


def fit_length(pieces: list[str], length: int) -> list[str]:
    """Truncate, or pad with the fixed padding sentence, to exactly `length` token pieces."""
    if len(pieces) >= length:
        return pieces[:length]
    padding = split_pieces(PADDING_SENTENCE)
    fitted = list(pieces)
    while len(fitted) < length:
        fitted.append(padding[(len(fitted) - len(pieces)) % len(padding)])
    return fitted


def _cut_at_stop(pieces: list[str], stop: str) -> list[str]:
    text = "".join(pieces)
    position = text.find(stop)
    if position < 0:
        return pieces
    kept = text[:position]
    return split_pieces(kept) if kept.strip() else []
