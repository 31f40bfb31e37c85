"""Keeps UsageDay, the ledger summed per day, user and model, in step with the ledger.

Every new ledger row is added to its day in the same transaction that writes it (ledger.py
calls add_to_days), so the two never disagree. Days are calendar days in settings.TIME_ZONE;
after that setting changes, rebuild_days() (`manage.py rebuild_usage_days`) counts them again,
and until it has, readers sum the ledger itself (days_are_current() says which).
"""
from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import UsageDay, UsageDayZone, UsageRecord

_BATCH = 5000


def days_are_current() -> bool:
    """True when UsageDay counts days in the site's present time zone."""
    return UsageDayZone.objects.filter(zone=settings.TIME_ZONE).exists()


def add_to_days(record: UsageRecord) -> None:
    """Add one new ledger row to its day's totals (call once per row, in its transaction)."""
    day = timezone.localtime(record.created_at, timezone.get_default_timezone()).date()
    key = dict(day=day, user_id=record.user_id, model=record.model)
    increments = dict(
        calls=F("calls") + 1,
        prompt_tokens=F("prompt_tokens") + record.prompt_tokens,
        completion_tokens=F("completion_tokens") + record.completion_tokens,
        images=F("images") + record.images,
        cost=F("cost") + record.cost,
    )
    if UsageDay.objects.filter(**key).update(**increments):
        return
    try:
        with transaction.atomic():
            UsageDay.objects.create(
                **key, calls=1, prompt_tokens=record.prompt_tokens, completion_tokens=record.completion_tokens,
                images=record.images, cost=record.cost,
            )
    except IntegrityError:
        # Another writer created the day's row first: add to theirs.
        UsageDay.objects.filter(**key).update(**increments)


@transaction.atomic
def rebuild_days() -> int:
    """Count every day again from the ledger, in the present time zone; returns the rows made."""
    if connection.vendor == "postgresql":
        # Ledger writes wait while the days are recounted, so none is missed or counted twice.
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {UsageRecord._meta.db_table} IN SHARE MODE")
    UsageDay.objects.all().delete()
    zone = timezone.get_default_timezone()
    sums = (
        UsageRecord.objects.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "user_id", "model")
        .annotate(
            n=Count("*"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"),
            pictures=Sum("images"), total=Sum("cost"),
        )
        .order_by()
    )
    made = 0
    batch = []
    for row in sums.iterator(chunk_size=_BATCH):
        batch.append(
            UsageDay(
                day=row["day"], user_id=row["user_id"], model=row["model"], calls=row["n"],
                prompt_tokens=row["prompt"], completion_tokens=row["completion"], images=row["pictures"],
                cost=row["total"],
            )
        )
        if len(batch) >= _BATCH:
            made += len(UsageDay.objects.bulk_create(batch))
            batch = []
    made += len(UsageDay.objects.bulk_create(batch))
    UsageDayZone.objects.all().delete()
    UsageDayZone.objects.create(zone=settings.TIME_ZONE)
    return made
