"""What the model is sent: the newest history that fits its context window (chat/context.py)."""
import pytest

from chat.context import build_context
from chat.models import Message
from glm.catalog import model_spec
from glm.tokens import count_prompt_tokens
from tests.factories import make_conversation, make_user

pytestmark = pytest.mark.django_db


def _stored(messages: list[Message]) -> list[Message]:
    """The messages saved in one conversation and read back as a reply reads its history."""
    conversation = make_conversation(make_user())
    for message in messages:
        message.conversation = conversation
    Message.objects.bulk_create(messages)
    return list(conversation.messages.order_by("id").prefetch_related("attachments"))


def _history(turns: int, words_each: int, *, then: str = "") -> list[Message]:
    history = []
    for number in range(turns):
        history.append(Message(role=Message.Role.USER, text=f"question {number} " + "word " * words_each))
        history.append(Message(role=Message.Role.ASSISTANT, status=Message.Status.COMPLETE,
                               text=f"answer {number} " + "word " * words_each))
    if then:
        history.append(Message(role=Message.Role.USER, text=then))
    return _stored(history)


def test_a_short_conversation_is_sent_whole_after_the_system_prompt():
    messages = build_context(model="glm-4-flash", system_prompt="Be brief.", history=_history(3, 5),
                             max_output_tokens=1000)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "Be brief."


def test_a_long_conversation_loses_its_oldest_turns_and_keeps_the_system_prompt_and_the_newest():
    window = model_spec("glm-4-flash").context_tokens
    history = _history(turns=60, words_each=window // 60, then="the newest question")  # about twice the window
    messages = build_context(model="glm-4-flash", system_prompt="Be brief.", history=history, max_output_tokens=4096)

    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[1]["role"] == "user", "the history starts with a question, never an answer"
    assert messages[-1] == {"role": "user", "content": "the newest question"}
    assert count_prompt_tokens(messages) <= window - 4096
    kept = [m["content"].split(" ")[1] for m in messages[1:-1]]
    first_kept = int(kept[0])
    assert first_kept > 0, "the oldest turns went"
    assert kept == [str(n) for n in range(first_kept, 60) for _ in (0, 1)], "what is kept is the newest, in order"
    # Only as much as needed went: one more turn would not have fitted.
    with_one_more = [messages[0]] + [{"role": "user", "content": history[2 * first_kept - 2].text},
                                     {"role": "assistant", "content": history[2 * first_kept - 1].text}] + messages[1:]
    assert count_prompt_tokens(with_one_more) > window - 4096


def test_a_message_too_long_on_its_own_is_still_sent_for_the_api_to_refuse():
    window = model_spec("glm-4-flash").context_tokens
    history = _stored([Message(role=Message.Role.USER, text="word " * (2 * window))])
    messages = build_context(model="glm-4-flash", system_prompt="", history=history, max_output_tokens=4096)
    assert messages == [{"role": "user", "content": history[0].text}]
