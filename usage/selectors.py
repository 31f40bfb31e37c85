"""Reads of the ledger: what users spent, for budgets and for the staff spend page.

Every figure is aggregated in the database, mostly from the day totals (usage/rollup.py); a
page costs the same few queries whether the ledger holds a hundred rows or a million
(tests/usage/test_spend_page.py counts them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from glm.pricing import MONEY_QUANTUM

from .models import UsageDay, UsageRecord, UserBudget
from .periods import Period, budget_month
from .rollup import days_are_current

_ZERO = Decimal("0.000000")


# --- budgets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetStatus:
    """A user's spend this budget month against their monthly budget (None: unlimited)."""

    spent: Decimal
    limit: Decimal | None
    resets_at: datetime

    @property
    def limited(self) -> bool:
        return self.limit is not None

    @property
    def left(self) -> Decimal | None:
        return None if self.limit is None else max(self.limit - self.spent, _ZERO)

    @property
    def used_percent(self) -> int | None:
        if self.limit is None:
            return None
        if self.limit <= 0:
            return 100
        return min(100, int(self.spent * 100 / self.limit))

    @property
    def warning(self) -> bool:
        """At or past USAGE_BUDGET_WARNING_RATIO of the budget."""
        return self.limit is not None and self.spent >= self.limit * settings.USAGE_BUDGET_WARNING_RATIO


def _user_id(user) -> int:
    return user if isinstance(user, int) else user.pk


def spent_since(*, since: datetime, user=None) -> Decimal:
    """Yuan spent from `since` on, by one user or (user=None) by the whole site.

    From the day totals when `since` is a midnight of the site's time zone (a budget month
    starts at one) and they count days in that zone; from the ledger rows otherwise.
    """
    zone = timezone.get_default_timezone()
    local = timezone.localtime(since, zone)
    if local.time() == time.min and days_are_current():
        records = UsageDay.objects.filter(day__gte=local.date())
    else:
        records = UsageRecord.objects.filter(created_at__gte=since)
    if user is not None:
        records = records.filter(user_id=_user_id(user))
    return (records.aggregate(total=Sum("cost"))["total"] or _ZERO).quantize(MONEY_QUANTUM)


def monthly_budget(*, user) -> Decimal | None:
    """The user's own budget if staff set one (empty: unlimited), else the site's default."""
    own = UserBudget.objects.filter(user_id=_user_id(user)).values("monthly_budget").first()
    if own is not None:
        return own["monthly_budget"]
    return settings.USAGE_DEFAULT_MONTHLY_BUDGET


def budget_status(*, user) -> BudgetStatus:
    month_start, resets_at = budget_month()
    return BudgetStatus(
        spent=spent_since(since=month_start, user=user), limit=monthly_budget(user=user), resets_at=resets_at
    )


# --- the spend page ----------------------------------------------------------------------------


@dataclass
class Totals:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    images: int = 0
    cost: Decimal = _ZERO

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, row: dict) -> None:
        self.calls += row["calls"]
        self.prompt_tokens += row["prompt_tokens"] or 0
        self.completion_tokens += row["completion_tokens"] or 0
        self.images += row["images"] or 0
        self.cost += row["cost"] or _ZERO

    def finish(self) -> None:
        # SQLite hands sums back as bare numbers ("2"), PostgreSQL with the scale ("2.000000").
        self.cost = self.cost.quantize(MONEY_QUANTUM)


@dataclass
class UserSpend(Totals):
    user_id: int = 0
    username: str = ""


@dataclass
class ModelSpend(Totals):
    model: str = ""


@dataclass(frozen=True)
class DaySpend:
    day: date
    calls: int
    cost: Decimal


@dataclass
class SpendOverview:
    users: list[UserSpend]
    models: list[ModelSpend]
    total: Totals
    daily: list[DaySpend] = field(default_factory=list)


_SUMS = dict(
    calls=Count("*"),
    prompt_tokens=Sum("prompt_tokens"),
    completion_tokens=Sum("completion_tokens"),
    images=Sum("images"),
    cost=Sum("cost"),
)
_DAY_SUMS = dict(
    calls=Sum("calls"),
    prompt_tokens=Sum("prompt_tokens"),
    completion_tokens=Sum("completion_tokens"),
    images=Sum("images"),
    cost=Sum("cost"),
)


def _in_period(period: Period) -> QuerySet[UsageRecord]:
    return UsageRecord.objects.filter(created_at__gte=period.start, created_at__lt=period.end)


def _period_sums(period: Period) -> tuple[QuerySet, QuerySet]:
    """(sums per user and model, sums per local day) for the period.

    Read from the day totals when they count days in the period's time zone: a few hundred
    thousand rows at most for a year, instead of every ledger row. Otherwise, summed from the
    ledger (its covering index on created_at keeps that to an index-only scan on PostgreSQL).
    """
    if getattr(period.zone, "key", None) == settings.TIME_ZONE and days_are_current():
        days = UsageDay.objects.filter(day__gte=period.first_day, day__lte=period.last_day)
        return (
            days.values("user_id", "model").annotate(**_DAY_SUMS).order_by(),
            days.values("day").annotate(calls=Sum("calls"), cost=Sum("cost")).order_by(),
        )
    records = _in_period(period)
    return (
        records.values("user_id", "model").annotate(**_SUMS).order_by(),
        records.values(day=TruncDate("created_at", tzinfo=period.zone)).annotate(calls=Count("*"), cost=Sum("cost")).order_by(),
    )


def spend_overview(*, period: Period) -> SpendOverview:
    """Per-user and per-model totals (most expensive first), the grand total, and spend per
    local day with empty days filled in. Four small queries, whatever the size of the ledger."""
    users: dict[int, UserSpend] = {}
    models: dict[str, ModelSpend] = {}
    total = Totals()
    per_user_and_model, per_day = _period_sums(period)
    # One pass groups by (user, model): at most users x models rows, from which both tables
    # are summed here rather than reading the period twice.
    for row in per_user_and_model:
        users.setdefault(row["user_id"], UserSpend(user_id=row["user_id"])).add(row)
        models.setdefault(row["model"], ModelSpend(model=row["model"])).add(row)
        total.add(row)
    for totals in (total, *users.values(), *models.values()):
        totals.finish()
    User = get_user_model()
    names = User.objects.filter(pk__in=list(users)).values_list("pk", User.USERNAME_FIELD)
    for pk, username in names:
        users[pk].username = username
    by_day = {row["day"]: row for row in per_day}
    daily = [
        DaySpend(day=day, calls=by_day[day]["calls"], cost=by_day[day]["cost"].quantize(MONEY_QUANTUM))
        if day in by_day
        else DaySpend(day=day, calls=0, cost=_ZERO)
        for day in period.days()
    ]
    return SpendOverview(
        users=sorted(users.values(), key=lambda u: (-u.cost, u.username, u.user_id)),
        models=sorted(models.values(), key=lambda m: (-m.cost, m.model)),
        total=total,
        daily=daily,
    )


def access_spend_user(*, viewer, user_id):
    """The user whose spend a staff member asks to see; PermissionDenied for anyone but staff,
    Http404 for a user that does not exist."""
    if not (viewer.is_active and viewer.is_staff):
        raise PermissionDenied
    try:
        return get_user_model().objects.get(pk=user_id)
    except (get_user_model().DoesNotExist, ValueError, TypeError):
        raise Http404("No such user.") from None


def user_spend(*, user, period: Period) -> Totals:
    totals = Totals()
    row = _in_period(period).filter(user_id=user.pk).aggregate(**_SUMS)
    if row["calls"]:
        totals.add(row)
    totals.finish()
    return totals


def user_calls(*, user, period: Period) -> QuerySet[UsageRecord]:
    """The user's ledger rows in the period, newest first."""
    return _in_period(period).filter(user_id=user.pk).order_by("-created_at", "-id")
