"""Twenty processes writing through the ORM to one SQLite file at the same moment.

Run by test_sqlite_writers.py in a fresh interpreter whose settings point at an empty SQLite
file: migrates it, forks the writers (each opens its own connection, as Daphne and the Celery
workers do), and prints a JSON summary. `--transaction-mode DEFERRED` replaces the project's
IMMEDIATE transactions, to show the workload really contends.
"""
import argparse
import json
import multiprocessing

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

WRITERS = 20
ROUNDS = 5


def write(number: int, conversation_ids: list[int], start, results) -> None:
    from chat.models import Conversation, Message

    errors = []
    start.wait()
    for round_number in range(ROUNDS):
        try:
            # What a reply does: read the conversation, store a message, touch the conversation.
            with transaction.atomic():
                conversation = Conversation.objects.get(pk=conversation_ids[(number + round_number) % len(conversation_ids)])
                Message.objects.create(conversation=conversation, role="user", text=f"writer {number} round {round_number}")
                Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now())
        except Exception as error:  # every failure is reported, not just the expected kind
            errors.append(f"{type(error).__name__}: {error}")
    connections.close_all()
    results.put({"writer": number, "errors": errors})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transaction-mode", default=None)
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    from chat import services
    from chat.models import Message
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("writer", password="x")
    conversation_ids = [services.conversation_create(user=user).pk for _ in range(4)]
    database = connections["default"]
    journal_mode = database.cursor().execute("PRAGMA journal_mode").fetchone()[0]
    busy_timeout = database.cursor().execute("PRAGMA busy_timeout").fetchone()[0]
    if options.transaction_mode:
        database.settings_dict["OPTIONS"]["transaction_mode"] = options.transaction_mode
    connections.close_all()  # children must not share the parent's connection

    context = multiprocessing.get_context("fork")
    start = context.Barrier(WRITERS)
    results = context.Queue()
    writers = [context.Process(target=write, args=(n, conversation_ids, start, results)) for n in range(WRITERS)]
    for process in writers:
        process.start()
    reports = [results.get(timeout=120) for _ in writers]
    for process in writers:
        process.join(timeout=30)

    errors = [error for report in reports for error in report["errors"]]
    print(json.dumps({
        "engine": database.vendor,
        "journal_mode": journal_mode,
        "busy_timeout_ms": busy_timeout,
        "transaction_mode": database.settings_dict["OPTIONS"].get("transaction_mode"),
        "writers": len(reports),
        "messages": Message.objects.count(),
        "expected_messages": WRITERS * ROUNDS,
        "errors": errors,
        "exit_codes": [process.exitcode for process in writers],
    }))


if __name__ == "__main__":
    main()
