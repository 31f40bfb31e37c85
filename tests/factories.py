"""Small factories: the objects tests need, with sensible defaults."""
import itertools

from django.contrib.auth import get_user_model

from chat import services

_numbers = itertools.count(1)


def make_user(username=None, password="correct-horse-battery", **extra):
    username = username or f"user{next(_numbers)}"
    return get_user_model().objects.create_user(username=username, password=password, **extra)


def make_conversation(user, **fields):
    conversation = services.conversation_create(user=user)
    for name, value in fields.items():
        setattr(conversation, name, value)
    if fields:
        conversation.save()
    return conversation
