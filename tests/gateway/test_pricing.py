"""Pricing: Decimal yuan from list prices and operator overrides, and the usage estimate."""
from __future__ import annotations

from decimal import Decimal

import pytest

from glm.events import Usage
from glm.pricing import (
    DEFAULT_PRICES,
    Price,
    chat_cost,
    estimate_completion_usage,
    image_cost,
    parse_price_overrides,
    price_for,
)
from glm.tokens import MESSAGE_OVERHEAD_TOKENS


def test_glm_5_million_in_and_out_costs_exactly_120_yuan():
    cost = chat_cost(price_for("glm-5"), prompt_tokens=1_000_000, completion_tokens=1_000_000)

    assert cost == Decimal("120.000000")
    assert isinstance(cost, Decimal) and cost.as_tuple().exponent == -6


@pytest.mark.parametrize(
    ("model", "input_price", "output_price"),
    [("glm-5", "30", "90"), ("glm-4-plus", "25", "75"), ("glm-4-air", "1", "1"),
     ("glm-4-long", "1", "1"), ("glm-4-flash", "0", "0")],
)
def test_list_prices_per_million_tokens_follow_the_manual(model, input_price, output_price):
    assert price_for(model) == Price(input_per_million=Decimal(input_price), output_per_million=Decimal(output_price))


def test_glm_4_flash_is_free():
    assert chat_cost(price_for("glm-4-flash"), prompt_tokens=123_456, completion_tokens=654_321) == Decimal("0")


@pytest.mark.parametrize(("model", "per_image"), [("cogview-4", "0.05"), ("cogview-4-250304", "0.05"), ("cogview-3-flash", "0")])
def test_cogview_is_priced_per_image(model, per_image):
    assert price_for(model).per_image == Decimal(per_image)
    assert image_cost(price_for(model), images=3) == Decimal(per_image) * 3


def test_vision_models_default_to_zero_until_the_operator_sets_them():
    assert price_for("glm-4v-plus") == Price()
    assert price_for("glm-4v-flash") == Price()


def test_every_default_price_is_decimal():
    for price in DEFAULT_PRICES.values():
        assert all(isinstance(amount, Decimal) for amount in (price.input_per_million, price.output_per_million, price.per_image))


def test_small_calls_round_half_up_to_a_millionth_of_a_yuan():
    price = Price(input_per_million=Decimal("1"), output_per_million=Decimal("1"))

    assert chat_cost(price, prompt_tokens=1, completion_tokens=0) == Decimal("0.000001")
    # 0.5 millionths rounds up, not to even.
    assert chat_cost(Price(input_per_million=Decimal("0.5")), prompt_tokens=1, completion_tokens=0) == Decimal("0.000001")
    assert chat_cost(Price(input_per_million=Decimal("0.4")), prompt_tokens=1, completion_tokens=0) == Decimal("0.000000")


def test_glm_4_plus_example_costs_input_and_output_separately():
    cost = chat_cost(price_for("glm-4-plus"), prompt_tokens=81, completion_tokens=186)

    # 81 * 25 / 1e6 + 186 * 75 / 1e6 = 0.002025 + 0.01395
    assert cost == Decimal("0.015975")


def test_overrides_set_token_and_image_prices():
    overrides = parse_price_overrides("glm-4v-plus:10:10,cogview-4:image:0.06")

    assert overrides == {
        "glm-4v-plus": Price(input_per_million=Decimal("10"), output_per_million=Decimal("10")),
        "cogview-4": Price(per_image=Decimal("0.06")),
    }
    assert price_for("glm-4v-plus", overrides).input_per_million == Decimal("10")
    assert price_for("cogview-4", overrides).per_image == Decimal("0.06")
    assert price_for("glm-5", overrides) == DEFAULT_PRICES["glm-5"]


def test_overrides_can_add_a_model_the_manual_does_not_list():
    overrides = parse_price_overrides(" glm-4.6 : 2 : 8 ,\n embedding-3:0.5:0 , ")

    assert price_for("glm-4.6", overrides) == Price(input_per_million=Decimal("2"), output_per_million=Decimal("8"))
    assert price_for("embedding-3", overrides).input_per_million == Decimal("0.5")


def test_an_empty_override_spec_means_no_overrides():
    assert parse_price_overrides("") == {}
    assert parse_price_overrides("  ,  ") == {}


def test_model_names_are_matched_without_regard_to_case():
    assert price_for("GLM-5") == DEFAULT_PRICES["glm-5"]
    assert price_for("GLM-4V-Plus", parse_price_overrides("glm-4v-plus:3:3")).input_per_million == Decimal("3")


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("glm-4v-plus:10", 'bad price override "glm-4v-plus:10"'),
        ("glm-4v-plus:10:10:10", "expected \"model:INPUT:OUTPUT\""),
        (":10:10", "bad price override"),
        ("glm-4v-plus:ten:10", 'bad price "ten"'),
        ("cogview-4:image:abc", 'bad price "abc"'),
        ("glm-4v-plus:-1:10", "non-negative"),
        ("glm-4v-plus:NaN:10", "non-negative"),
        ("glm-4v-plus:Infinity:1", "non-negative"),
        ("glm-4v-plus:1:1,glm-4v-plus:2:2", "given twice"),
    ],
)
def test_bad_override_specs_are_refused_with_a_clear_message(spec, complaint):
    with pytest.raises(ValueError) as raised:
        parse_price_overrides(spec)

    assert complaint in str(raised.value)


def test_an_unknown_model_has_no_price():
    with pytest.raises(KeyError) as raised:
        price_for("glm-9000")

    assert str(raised.value).startswith('no price is known for model "glm-9000"')


def test_estimate_counts_prompt_and_received_text_by_the_project_token_rule():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "你好 world"}]

    usage = estimate_completion_usage(messages=messages, completion_text="你好！Hello, world")

    # system: Be, brief, . = 3; user: 你, 好, world = 3; reply: 你 好 ！ Hello , world = 6
    assert usage == Usage(prompt_tokens=2 * MESSAGE_OVERHEAD_TOKENS + 6, completion_tokens=6)


def test_estimate_of_an_empty_reply_bills_only_the_prompt():
    usage = estimate_completion_usage(messages=[{"role": "user", "content": "hi"}], completion_text="")

    assert usage.completion_tokens == 0 and usage.prompt_tokens == MESSAGE_OVERHEAD_TOKENS + 1
