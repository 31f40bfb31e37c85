"""What the model is sent: the system prompt, then as much recent history as fits."""
from __future__ import annotations

from glm.catalog import model_spec
from glm.tokens import count_prompt_tokens

from .models import Message

# Statuses whose text the model wrote and the user saw: worth remembering.
_REMEMBERED_REPLY_STATUSES = {Message.Status.COMPLETE, Message.Status.STOPPED, Message.Status.INTERRUPTED}


def history_to_api_messages(history: list[Message]) -> list[dict]:
    api_messages = []
    for message in history:
        if message.role == Message.Role.USER:
            api_messages.append({"role": "user", "content": message.text})
        elif message.status in _REMEMBERED_REPLY_STATUSES and message.text:
            api_messages.append({"role": "assistant", "content": message.text})
    return api_messages


def build_context(*, model: str, system_prompt: str, history: list[Message], max_output_tokens: int) -> list[dict]:
    """History trimmed oldest-first to the model's context window, keeping room for the reply.

    The system prompt is always kept, and so is the newest user message: a prompt that is too
    long on its own goes to the API, which answers 1261 and the user is told it is too long.
    """
    system = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    turns = history_to_api_messages(history)
    budget = model_spec(model).context_tokens - max_output_tokens
    while len(turns) > 1 and count_prompt_tokens(system + turns) > budget:
        turns.pop(0)
    # The API refuses a conversation that starts with an assistant turn after trimming.
    while len(turns) > 1 and turns[0]["role"] != "user":
        turns.pop(0)
    return system + turns
