"""A burst's messages inserted in one statement read back as the ORM would have written them."""
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.bulk_messages import insert_messages
from chat.models import Message
from tests.factories import make_conversation, make_user


def _stored(message: Message) -> dict:
    row = Message.objects.filter(pk=message.pk).values().get()
    return {name: value for name, value in row.items() if name not in ("id", "created_at", "updated_at")}


@pytest.mark.django_db
def test_inserted_messages_hold_what_the_orm_would_have_stored():
    conversation = make_conversation(make_user())
    def pair():
        return [
            Message(conversation=conversation, role=Message.Role.USER, text="Hello 你好 'quoted' \"double\""),
            Message(conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING,
                    model="glm-4-flash", runner_channel="specific.x!abc"),
        ]
    by_orm = [Message.objects.create(**{f.attname: getattr(m, f.attname) for f in Message._meta.concrete_fields
                                         if not f.primary_key and f.attname not in ("created_at", "updated_at")})
              for m in pair()]
    before = timezone.now()
    inserted = insert_messages(pair())

    assert [_stored(m) for m in inserted] == [_stored(m) for m in by_orm]
    for message in inserted:
        read = Message.objects.get(pk=message.pk)
        assert read.created_at == read.updated_at == message.created_at
        assert before <= read.created_at <= timezone.now() + timedelta(seconds=1)
        assert read.error_detail == {} and read.tools == [] and read.cost is None and read.usage_estimated is False


@pytest.mark.django_db
def test_ids_follow_the_order_given_and_the_instances_are_saved_rows():
    conversation = make_conversation(make_user())
    # More rows than one statement may carry on SQLite (999 parameters): several statements.
    messages = insert_messages([Message(conversation=conversation, role=Message.Role.USER, text=f"m{n}") for n in range(150)])

    assert [m.pk for m in messages] == sorted(m.pk for m in messages)
    assert list(conversation.messages.order_by("id").values_list("text", flat=True)) == [f"m{n}" for n in range(150)]
    messages[0].text = "changed"
    messages[0].save(update_fields=["text"])  # an update, not a second insert
    assert Message.objects.filter(conversation=conversation).count() == 150
    assert Message.objects.get(pk=messages[0].pk).text == "changed"
