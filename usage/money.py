"""How yuan amounts are shown to people: "¥12.50", and small amounts to the fen's fraction
("¥0.000123") so a cheap call does not read as free."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_CENT = Decimal("0.01")
_MICRO = Decimal("0.000001")


def format_yuan(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    amount = Decimal(amount)
    if amount and abs(amount) < _CENT:
        whole, _point, fraction = format(amount.quantize(_MICRO, rounding=ROUND_HALF_UP), "f").partition(".")
        text = f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"
    else:
        text = format(amount.quantize(_CENT, rounding=ROUND_HALF_UP), ",f")
    return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"
