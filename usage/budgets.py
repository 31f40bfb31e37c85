"""Budgets: a request that the remaining monthly budget cannot cover is refused before any
API call.

Chat and image code call estimate_*_cost and then ensure_within_budget before calling GLM.
The estimate is the most the call can cost: the prompt's tokens by the project's token rule
(glm.tokens) plus the whole max_tokens of output, at the prices in force now. Two budgets apply,
both per calendar month in the site's time zone (settings.TIME_ZONE), resetting at midnight on
the 1st: the user's (their own from the admin, else USAGE_DEFAULT_MONTHLY_BUDGET) and the
site's (USAGE_SITE_MONTHLY_CAP). A call that costs nothing (a free model) is never refused.

Requests running at the same moment are checked against the same spend, so a month can end a
few concurrent calls over budget; no more than that.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.translation import gettext

from glm.pricing import Price, chat_cost, image_cost
from glm.tokens import count_prompt_tokens

from . import selectors
from .ledger import current_price
from .money import format_yuan
from .periods import budget_month


class BudgetExceeded(Exception):
    """Refused: the month's budget cannot cover the request. `message` is the text for the
    user, rendered in the language active where it is turned into a string."""

    code = "budget"

    def __init__(self, *, scope: str, spent: Decimal, limit: Decimal, estimated_cost: Decimal, resets_at: datetime):
        super().__init__(f"{scope} monthly budget: spent {spent} of {limit}, request up to {estimated_cost}")
        self.scope = scope  # "user" or "site"
        self.spent = spent
        self.limit = limit
        self.estimated_cost = estimated_cost
        self.resets_at = resets_at
        self.message = _lazy_message(scope, spent, limit, estimated_cost, resets_at)


def _message(scope: str, spent: Decimal, limit: Decimal, estimated_cost: Decimal, resets_at: datetime) -> str:
    zone = timezone.get_default_timezone()
    reset_day = timezone.localtime(resets_at, zone).date()  # the 1st of next month
    values = {
        "spent": format_yuan(spent),
        "limit": format_yuan(limit),
        "estimate": format_yuan(estimated_cost),
        "date": formats.date_format(reset_day, "DATE_FORMAT"),
        "zone": str(zone),
    }
    if scope == "site":
        return gettext(
            "The site has reached its monthly spending cap: %(spent)s of %(limit)s spent this month, "
            "and this request may cost up to %(estimate)s. The cap resets on %(date)s (%(zone)s)."
        ) % values
    return gettext(
        "Your monthly budget cannot cover this request: you have spent %(spent)s of %(limit)s this "
        "month, and this request may cost up to %(estimate)s. Your budget resets on %(date)s (%(zone)s)."
    ) % values


_lazy_message = lazy(_message, str)


def estimate_chat_cost(
    *, model: str, messages: list[dict], max_tokens: int, prices: dict[str, Price] | None = None
) -> Decimal:
    """The most a chat call can cost: its prompt plus max_tokens of output, at today's prices.
    `prices`, when given, keeps each model's price for the other estimates made with it (the
    messages of one burst, stored in one transaction)."""
    if prices is None:
        price = current_price(model)
    else:
        price = prices[model] if model in prices else prices.setdefault(model, current_price(model))
    return chat_cost(price, prompt_tokens=count_prompt_tokens(messages), completion_tokens=max_tokens)


def estimate_image_cost(*, model: str, images: int = 1) -> Decimal:
    """What generating `images` pictures costs at today's prices."""
    return image_cost(current_price(model), images=images)


def ensure_within_budget(*, user, estimated_cost: Decimal) -> None:
    """Return if the user's and the site's budgets for this month can cover estimated_cost;
    raise BudgetExceeded (user's budget first) otherwise. `user` is a user or a user id."""
    if estimated_cost <= 0:
        return
    month_start, resets_at = budget_month()
    limit = selectors.monthly_budget(user=user)
    if limit is not None:
        spent = selectors.spent_since(since=month_start, user=user)
        if spent + estimated_cost > limit:
            raise BudgetExceeded(
                scope="user", spent=spent, limit=limit, estimated_cost=estimated_cost, resets_at=resets_at
            )
    cap = settings.USAGE_SITE_MONTHLY_CAP
    if cap is not None:
        spent = selectors.spent_since(since=month_start)
        if spent + estimated_cost > cap:
            raise BudgetExceeded(
                scope="site", spent=spent, limit=cap, estimated_cost=estimated_cost, resets_at=resets_at
            )
