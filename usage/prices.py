"""Which unit prices are in force: staff-entered prices, then the operator's GLM_PRICES, then
the manual's list prices.

Staff edit prices in the admin (usage.models.Price). The seeded rows copy the manual's list
and yield to GLM_PRICES, so an operator who set overrides in the environment keeps them; a
price entered by staff wins over both. A model with no row at all falls back to glm.pricing.
"""
from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from glm import pricing

from .models import Price


def price_in_force(*, model: str, at: datetime | None = None) -> pricing.Price:
    """The unit prices for a call to `model` made at `at` (now by default).

    Raises glm.pricing.UnknownModelPrice (a KeyError) for a model nobody priced.
    """
    key = model.strip().lower()
    row = (
        Price.objects.filter(model=key, effective_from__lte=at or timezone.now())
        .order_by("-effective_from", "-id")
        .first()
    )
    if row is not None and not row.list_price:
        return _unit_price(row)
    overrides = pricing.parse_price_overrides(settings.GLM_PRICE_OVERRIDES)
    if key in overrides or row is None:
        return pricing.price_for(key, overrides)
    return _unit_price(row)


def _unit_price(row: Price) -> pricing.Price:
    return pricing.Price(
        input_per_million=row.input_per_million,
        output_per_million=row.output_per_million,
        per_image=row.per_image,
    )
