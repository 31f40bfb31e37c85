"""Writes money: one ledger row per billable GLM call, priced in Decimal yuan."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from glm.events import Usage
from glm.pricing import Price, chat_cost, image_cost

from .models import UsageRecord
from .prices import price_in_force
from .rollup import add_to_days


@dataclass(frozen=True)
class Charge:
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    exact: bool


def current_price(model: str) -> Price:
    """The price in force now: staff's prices from the admin, else the operator's GLM_PRICES,
    else the manual's table (usage/prices.py)."""
    return price_in_force(model=model)


def record_chat_usage(
    *,
    user_id: int,
    kind: str,
    model: str,
    usage: Usage,
    exact: bool,
    charge_key: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
    glm_request_id: str | None = None,
) -> Charge:
    """Charge one chat-style call. Calling it again with the same charge_key charges nothing more."""
    price = current_price(model)
    return _charge_once(
        UsageRecord(
            charge_key=charge_key,
            user_id=user_id,
            kind=kind,
            model=model,
            conversation_id=conversation_id,
            message_id=message_id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            input_price_per_million=price.input_per_million,
            output_price_per_million=price.output_per_million,
            image_price=price.per_image,
            cost=chat_cost(price, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens),
            glm_request_id=glm_request_id or "",
            exact=exact,
        )
    )


def record_image_usage(
    *,
    user_id: int,
    model: str,
    images: int,
    charge_key: str,
    image_job_id: int | None = None,
    conversation_id: int | None = None,
    glm_request_id: str | None = None,
) -> Charge:
    """Charge generated pictures at the per-image price. Calling it again with the same
    charge_key (a job run twice) charges nothing more and returns the first charge."""
    price = current_price(model)
    return _charge_once(
        UsageRecord(
            charge_key=charge_key,
            user_id=user_id,
            kind=UsageRecord.Kind.IMAGE,
            model=model,
            image_job_id=image_job_id,
            conversation_id=conversation_id,
            images=images,
            input_price_per_million=price.input_per_million,
            output_price_per_million=price.output_per_million,
            image_price=price.per_image,
            cost=image_cost(price, images=images),
            glm_request_id=glm_request_id or "",
            exact=True,
        )
    )


def _charge_once(record: UsageRecord) -> Charge:
    """Save a new ledger row and add it to its day's totals, unless a row with its charge_key
    exists: then that row is the one charge, and nothing is added."""
    try:
        with transaction.atomic():
            # Insert first and let the unique charge_key refuse a repeat: a repeat is rare (a
            # job run twice), so looking it up first would cost every charge a query.
            record.save(force_insert=True)
            add_to_days(record)
    except IntegrityError:
        record = UsageRecord.objects.get(charge_key=record.charge_key)
    return Charge(record.prompt_tokens, record.completion_tokens, record.cost, record.exact)
