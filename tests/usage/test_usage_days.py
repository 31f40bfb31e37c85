"""The day totals the spend page and the budgets read: always equal to the ledger they sum."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext

from glm.events import Usage
from tests.factories import make_user
from tests.usage.factories import make_usage_record
from usage.ledger import record_chat_usage, record_image_usage
from usage.models import UsageDay, UsageRecord
from usage.periods import budget_month, period_for
from usage.rollup import days_are_current, rebuild_days
from usage.selectors import spend_overview, spent_since

pytestmark = pytest.mark.django_db


def _days() -> set[tuple]:
    return set(UsageDay.objects.values_list("day", "user_id", "model", "calls", "prompt_tokens",
                                            "completion_tokens", "images", "cost"))


def test_every_charge_is_added_to_its_day_once_and_a_rebuild_agrees():
    alice, bob = make_user("alice", password=None), make_user("bob", password=None)
    for n, (user, model, tokens) in enumerate([(alice, "glm-5", 100), (alice, "glm-5", 50), (bob, "glm-4-air", 7)]):
        record_chat_usage(user_id=user.pk, kind="chat", model=model, usage=Usage(tokens, tokens * 2),
                          exact=True, charge_key=f"reply:{n}")
    record_chat_usage(user_id=alice.pk, kind="chat", model="glm-5", usage=Usage(9999, 9999), exact=True,
                      charge_key="reply:0")  # the same call charged again: nothing changes
    record_image_usage(user_id=bob.pk, model="cogview-4", images=1, charge_key="image:1")
    record_image_usage(user_id=bob.pk, model="cogview-4", images=1, charge_key="image:1")

    ledger = {
        (r["user_id"], r["model"]): r
        for r in UsageRecord.objects.values("user_id", "model").annotate(
            n=Count("*"), p=Sum("prompt_tokens"), c=Sum("completion_tokens"), i=Sum("images"), cost=Sum("cost")
        )
    }
    days = {(d.user_id, d.model): d for d in UsageDay.objects.all()}
    assert set(days) == set(ledger) == {(alice.pk, "glm-5"), (bob.pk, "glm-4-air"), (bob.pk, "cogview-4")}
    for key, row in ledger.items():
        day = days[key]
        assert (day.calls, day.prompt_tokens, day.completion_tokens, day.images) == (row["n"], row["p"], row["c"], row["i"])
        assert day.cost == row["cost"]
    assert days[(alice.pk, "glm-5")].calls == 2 and days[(bob.pk, "cogview-4")].cost == Decimal("0.05")

    before = _days()
    assert rebuild_days() == 3
    assert _days() == before


def test_after_the_time_zone_changes_figures_come_from_the_ledger_until_the_days_are_recounted(client, settings):
    alice = make_user("alice", password=None)
    # 20:00 UTC on 2 March: still 2 March in UTC, already 3 March in Shanghai.
    make_usage_record(alice, cost="4", at=datetime(2026, 3, 2, 20, 0, tzinfo=ZoneInfo("UTC")))
    assert days_are_current()
    settings.TIME_ZONE = "Asia/Shanghai"
    assert not days_are_current()
    march = period_for("range", first_day=datetime(2026, 3, 1).date(), last_day=datetime(2026, 3, 4).date())
    expected = ["0.000000", "0.000000", "4.000000", "0.000000"]
    assert [str(d.cost) for d in spend_overview(period=march).daily] == expected

    call_command("rebuild_usage_days", stdout=open("/dev/null", "w"))
    assert days_are_current()
    assert UsageDay.objects.get().day == datetime(2026, 3, 3).date()
    with CaptureQueriesContext(connection) as captured:
        daily = spend_overview(period=march).daily
    assert [str(d.cost) for d in daily] == expected
    assert not any("usage_usagerecord" in q["sql"] for q in captured), "read from the day totals"


def test_a_budget_month_is_summed_from_the_day_totals(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    rebuild_days()
    alice = make_user("alice", password=None)
    month_start, _ = budget_month()
    make_usage_record(alice, cost="1.5", at=month_start)
    make_usage_record(alice, cost="100", at=month_start - timedelta(microseconds=1))
    with CaptureQueriesContext(connection) as captured:
        assert spent_since(since=month_start, user=alice) == Decimal("1.5")
        assert spent_since(since=month_start) == Decimal("1.5")
    assert not any("usage_usagerecord" in q["sql"] for q in captured)
