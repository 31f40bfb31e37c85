"""Ledger rows for tests of the spend pages and budgets (tests/factories.py makes the users)."""
import itertools
from datetime import datetime
from decimal import Decimal

from usage.models import UsageRecord
from usage.rollup import add_to_days

_keys = itertools.count(1)


def make_usage_record(user, *, cost="0.010000", model="glm-5", kind="chat", at: datetime | None = None, **fields):
    """One ledger row, counted in its day's totals; `at` backdates it (created_at is set on
    insert, so it is moved after)."""
    defaults = dict(
        prompt_tokens=100,
        completion_tokens=50,
        input_price_per_million=Decimal("30"),
        output_price_per_million=Decimal("90"),
        image_price=Decimal("0"),
        glm_request_id=f"req-{next(_keys)}",
    )
    defaults.update(fields)
    record = UsageRecord.objects.create(
        user=user, kind=kind, model=model, cost=Decimal(cost), charge_key=f"test:{next(_keys)}", **defaults
    )
    if at is not None:
        UsageRecord.objects.filter(pk=record.pk).update(created_at=at)
        record.created_at = at
    add_to_days(record)  # as usage/ledger.py does for every row it writes
    return record
