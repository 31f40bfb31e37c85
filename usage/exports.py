"""The spend page's tables as CSV: the same figures the page shows, in full precision."""
from __future__ import annotations

import csv
from typing import Iterable, Iterator

from django.utils import timezone
from django.utils.translation import gettext as _

from .periods import Period
from .selectors import SpendOverview, Totals

# A UTF-8 byte order mark, so that spreadsheet programs read Chinese names correctly.
BOM = "\ufeff"


class _Line:
    """A file-like object whose write() hands back the line csv.writer produced."""

    def write(self, text: str) -> str:
        return text


def _safe(value):
    # A cell starting with one of these is a formula to a spreadsheet: keep names inert.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _lines(rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield BOM
    for row in rows:
        yield writer.writerow([_safe(cell) for cell in row])


def _figures(totals: Totals) -> list:
    return [totals.calls, totals.prompt_tokens, totals.completion_tokens, totals.images, totals.cost]


TABLES = ("users", "models", "days")


def overview_lines(overview: SpendOverview, table: str = "users") -> Iterator[str]:
    """One of the page's tables: per user (most expensive first) or per model, each with the
    total row, or per day."""
    figures = [_("Calls"), _("Input tokens"), _("Output tokens"), _("Images"), _("Cost (yuan)")]
    if table == "days":
        rows = [[day.day.isoformat(), day.calls, day.cost] for day in overview.daily]
        return _lines([[_("Day"), _("Calls"), _("Cost (yuan)")], *rows])
    if table == "models":
        rows = [[row.model, *_figures(row)] for row in overview.models]
        header = [_("Model"), *figures]
    else:
        rows = [[row.username, *_figures(row)] for row in overview.users]
        header = [_("User"), *figures]
    return _lines([header, *rows, [_("Total"), *_figures(overview.total)]])


def calls_lines(records: Iterable) -> Iterator[str]:
    """One row per ledger row, times in the viewer's time zone."""
    header = [
        _("Time"), _("Kind"), _("Model"), _("Conversation"), _("Input tokens"), _("Cached tokens"),
        _("Output tokens"), _("Images"), _("Input price per million"), _("Output price per million"),
        _("Price per image"), _("Cost (yuan)"), _("Estimated"), _("Request ID"),
    ]

    # Read now, in the view: the rows are written later, while the response streams.
    zone, yes, no = timezone.get_current_timezone(), _("yes"), _("no")

    def rows():
        yield header
        for record in records:
            yield [
                timezone.localtime(record.created_at, zone).isoformat(timespec="seconds"),
                record.kind, record.model, record.conversation_id or "", record.prompt_tokens,
                record.cached_tokens, record.completion_tokens, record.images,
                record.input_price_per_million, record.output_price_per_million, record.image_price,
                record.cost, no if record.exact else yes, record.glm_request_id,
            ]

    return _lines(rows())


def filename(prefix: str, period: Period) -> str:
    return f"{prefix}-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv"
