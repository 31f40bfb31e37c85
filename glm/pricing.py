"""What GLM calls cost, in Decimal yuan, and the usage estimate for replies cut before usage came.

Prices are the manual's list prices (per million tokens, or per image). Operators override or add
models with a spec string such as "glm-4v-plus:10:10,cogview-4:image:0.06"; see
docs/gateway.md for the format. Money never touches float.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Mapping

from glm.events import Usage
from glm.tokens import count_prompt_tokens, count_text_tokens

MONEY_QUANTUM = Decimal("0.000001")
_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Price:
    """Yuan per million input tokens, per million output tokens, and per generated image."""

    input_per_million: Decimal = _ZERO
    output_per_million: Decimal = _ZERO
    per_image: Decimal = _ZERO


def _tokens(input_per_million: str, output_per_million: str) -> Price:
    return Price(input_per_million=Decimal(input_per_million), output_per_million=Decimal(output_per_million))


def _image(per_image: str) -> Price:
    return Price(per_image=Decimal(per_image))


# glm-4v-plus and glm-4v-flash have no price in the manual: they default to 0 and operators must
# set them with GLM_PRICE_OVERRIDES, or vision use is recorded as free.
DEFAULT_PRICES: dict[str, Price] = {
    "glm-5": _tokens("30", "90"),
    "glm-4-plus": _tokens("25", "75"),
    "glm-4-air": _tokens("1", "1"),
    "glm-4-long": _tokens("1", "1"),
    "glm-4-flash": _tokens("0", "0"),
    "glm-4v-plus": _tokens("0", "0"),
    "glm-4v-flash": _tokens("0", "0"),
    "cogview-4": _image("0.05"),
    "cogview-4-250304": _image("0.05"),
    "cogview-3-flash": _image("0"),
}

_FORMAT_HELP = 'expected "model:INPUT:OUTPUT" (yuan per million tokens) or "model:image:PRICE" (yuan per image)'


class UnknownModelPrice(KeyError):
    """No price is known for a model; KeyError so that `except KeyError` callers keep working."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown model"


def parse_price_overrides(spec: str) -> dict[str, Price]:
    """Parse "glm-4v-plus:10:10,cogview-4:image:0.06" into prices keyed by model.

    Entries are separated by commas (or new lines); blank entries and spaces around parts are
    ignored, so an empty spec gives no overrides. Amounts are non-negative decimals in yuan.
    Raises ValueError naming the bad entry and the expected form.
    """
    prices: dict[str, Price] = {}
    for entry in spec.replace("\n", ",").split(","):
        if not entry.strip():
            continue
        model, price = _parse_entry(entry.strip())
        if model in prices:
            raise ValueError(f'price override for "{model}" is given twice')
        prices[model] = price
    return prices


def _parse_entry(entry: str) -> tuple[str, Price]:
    parts = [part.strip() for part in entry.split(":")]
    if len(parts) != 3 or not parts[0]:
        raise ValueError(f'bad price override "{entry}": {_FORMAT_HELP}')
    model, first, second = parts[0].lower(), parts[1], parts[2]
    if first.lower() == "image":
        return model, Price(per_image=_amount(second, entry=entry))
    return model, Price(input_per_million=_amount(first, entry=entry), output_per_million=_amount(second, entry=entry))


def _amount(text: str, *, entry: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f'bad price "{text}" in override "{entry}": {_FORMAT_HELP}') from None
    if not value.is_finite() or value < 0:
        raise ValueError(f'bad price "{text}" in override "{entry}": prices are non-negative yuan amounts')
    return value


def price_for(model: str, overrides: Mapping[str, Price] | None = None) -> Price:
    """The price of a model: an override first, then the manual's list price.

    Raises UnknownModelPrice (a KeyError) for a model with neither.
    """
    key = model.strip().lower()
    if overrides and key in overrides:
        return overrides[key]
    if key in DEFAULT_PRICES:
        return DEFAULT_PRICES[key]
    raise UnknownModelPrice(
        f'no price is known for model "{model}": add it to the price overrides, e.g. "{key}:INPUT:OUTPUT"'
    )


def chat_cost(price: Price, *, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """Yuan for one chat call, rounded half-up to 0.000001."""
    raw = (Decimal(prompt_tokens) * price.input_per_million + Decimal(completion_tokens) * price.output_per_million) / _MILLION
    return raw.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def image_cost(price: Price, *, images: int) -> Decimal:
    """Yuan for generated images, rounded half-up to 0.000001."""
    return (Decimal(images) * price.per_image).quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def estimate_completion_usage(*, messages: list[dict], completion_text: str) -> Usage:
    """Usage for a reply cut before the API reported any, by the project's token rule (glm.tokens).

    Prompt tokens count every message's text plus a fixed overhead per message and per image;
    completion tokens count the text that was received. The result is an estimate, and whoever
    stores it must mark it so.
    """
    return Usage(
        prompt_tokens=count_prompt_tokens(messages),
        completion_tokens=count_text_tokens(completion_text),
    )
