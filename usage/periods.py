"""Reporting periods in local calendar days, and the budget month.

The spend page counts days in the viewer's time zone (the active one: settings.TIME_ZONE
unless a middleware activates another); budgets reset at midnight on the 1st in the site's
time zone (settings.TIME_ZONE), the same instant for everyone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone

TODAY, LAST_7_DAYS, LAST_30_DAYS, THIS_MONTH, DATE_RANGE = "today", "7d", "30d", "month", "range"
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Whole local days first_day..last_day; start is inclusive and end exclusive (aware)."""

    key: str
    first_day: date
    last_day: date
    zone: tzinfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last_day + timedelta(days=1), self.zone)

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def period_for(key: str, *, first_day: date | None = None, last_day: date | None = None, now: datetime | None = None) -> Period:
    """The period a spend page shows. For DATE_RANGE, first_day and last_day are required."""
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now or timezone.now(), zone).date()
    if key == TODAY:
        return Period(key, today, today, zone)
    if key == LAST_7_DAYS:
        return Period(key, today - timedelta(days=6), today, zone)
    if key == LAST_30_DAYS:
        return Period(key, today - timedelta(days=29), today, zone)
    if key == THIS_MONTH:
        return Period(key, today.replace(day=1), today, zone)
    if key == DATE_RANGE and first_day and last_day:
        return Period(key, first_day, last_day, zone)
    raise ValueError(f"unknown period {key!r}")


def budget_month(now: datetime | None = None) -> tuple[datetime, datetime]:
    """This budget month's start and the instant it resets: midnight on the 1st, site time."""
    zone = timezone.get_default_timezone()
    today = timezone.localtime(now or timezone.now(), zone).date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first, zone), local_midnight(following, zone)
