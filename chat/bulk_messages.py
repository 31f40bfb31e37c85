"""Inserts the new messages of a burst of sends in one statement, preparing each column once.

bulk_create prepares every field of every row through its field class (seventeen fields a
Message, about 60 µs a row), which was half of what storing a burst cost the database thread.
New messages differ in a few columns only (conversation, role, text, status, model, runner
channel); the others hold the same value in every row (the defaults, the moment of the insert),
and here such a column is prepared once for the statement. A message reads back exactly as the
ORM would have written it (tests/chat/test_bulk_messages.py). Where the database cannot return
the ids of a multi-row insert, bulk_create does the work.
"""
from __future__ import annotations

from django.db import connection
from django.utils import timezone

from .models import Message

_UNSET = object()


def insert_messages(messages: list[Message]) -> list[Message]:
    """Insert unsaved messages in the order given (ids ascending with it) and return them, each
    with its id and timestamps set."""
    if not messages:
        return messages
    if not connection.features.can_return_rows_from_bulk_insert:
        return Message.objects.bulk_create(messages)
    now = timezone.now()  # one moment for the whole insert, as it is one transaction
    fields = [field for field in Message._meta.concrete_fields if not field.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for message in messages:
                setattr(message, field.attname, now)
    batch = max(1, connection.ops.bulk_batch_size(fields, messages))  # the database's parameter limit
    for start in range(0, len(messages), batch):
        _insert(fields, messages[start:start + batch])
    return messages


def _insert(fields: list, messages: list[Message]) -> None:
    columns = [_column_values(field, messages) for field in fields]
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning, _returning_params = connection.ops.return_insert_columns([Message._meta.pk])
    sql = "INSERT INTO {} ({}) VALUES {} {}".format(
        connection.ops.quote_name(Message._meta.db_table),
        ", ".join(connection.ops.quote_name(field.column) for field in fields),
        ", ".join([placeholders] * len(messages)),
        returning,
    )
    params = [value for row in zip(*columns) for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for message, pk in zip(messages, ids, strict=True):
        message.pk = pk
        message._state.adding = False
        message._state.db = connection.alias


def _column_values(field, messages: list[Message]) -> list:
    """The column's database value for each message: prepared once when every message holds
    the same value, as the defaults do."""
    values = [getattr(message, field.attname) for message in messages]
    first = values[0]
    if all(value == first and type(value) is type(first) for value in values):
        prepared = field.get_db_prep_save(first, connection=connection)
        return [prepared] * len(values)
    return [field.get_db_prep_save(value, connection=connection) for value in values]
