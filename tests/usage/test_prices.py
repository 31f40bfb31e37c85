"""Prices: the manual's list by default, GLM_PRICES on top, staff's prices from the admin on
top of both; a price change reaches only the calls made after it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from glm.events import Usage
from glm.pricing import DEFAULT_PRICES, UnknownModelPrice
from tests.factories import make_user
from usage.ledger import current_price, record_chat_usage
from usage.models import Price, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(make_user("root", is_staff=True, is_superuser=True, password=None))
    return client


def _charge(user, key, model="glm-5", prompt=1_000_000, completion=1_000_000):
    return record_chat_usage(
        user_id=user.pk, kind="chat", model=model, usage=Usage(prompt, completion), exact=True, charge_key=key
    )


def _admin_price_form(model, input_price, output_price, per_image="0", at=None):
    local = timezone.localtime(at or timezone.now())
    return {
        "model": model,
        "input_per_million": input_price,
        "output_per_million": output_price,
        "per_image": per_image,
        "effective_from_0": local.strftime("%Y-%m-%d"),
        "effective_from_1": local.strftime("%H:%M:%S"),
    }


def test_every_list_price_of_the_manual_is_seeded_as_a_row():
    seeded = {p.model: p for p in Price.objects.filter(list_price=True)}
    assert set(seeded) == set(DEFAULT_PRICES)
    for model, price in DEFAULT_PRICES.items():
        row = seeded[model]
        assert (row.input_per_million, row.output_per_million, row.per_image) == (
            price.input_per_million, price.output_per_million, price.per_image,
        )
        assert current_price(model) == price


def test_a_price_entered_by_staff_in_the_admin_applies_only_to_later_calls(staff_client):
    alice = make_user("alice", password=None)
    before = _charge(alice, "reply:1")
    assert before.cost == Decimal("120.000000")  # glm-5: ¥30 in + ¥90 out per million

    response = staff_client.post("/admin/usage/price/add/", _admin_price_form("GLM-5", "40", "100"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Price.objects.filter(model="glm-5", list_price=False).count() == 1

    after = _charge(alice, "reply:2")
    assert after.cost == Decimal("140.000000")
    old_row, new_row = UsageRecord.objects.order_by("id")
    assert (old_row.cost, old_row.input_price_per_million, old_row.output_price_per_million) == (
        Decimal("120"), Decimal("30"), Decimal("90"),
    )
    assert (new_row.cost, new_row.input_price_per_million, new_row.output_price_per_million) == (
        Decimal("140"), Decimal("40"), Decimal("100"),
    )


def test_a_price_scheduled_for_later_waits_for_its_time():
    Price.objects.create(model="glm-4-air", input_per_million=5, output_per_million=5,
                         effective_from=timezone.now() + timedelta(hours=1))
    assert current_price("glm-4-air").input_per_million == Decimal("1")
    later = timezone.now() + timedelta(hours=2)
    from usage.prices import price_in_force

    assert price_in_force(model="glm-4-air", at=later).input_per_million == Decimal("5")


def test_environment_overrides_beat_the_list_but_staff_prices_beat_both(settings):
    settings.GLM_PRICE_OVERRIDES = "glm-4v-plus:10:12,cogview-4:image:0.06"
    assert current_price("glm-4v-plus").output_per_million == Decimal("12")
    assert current_price("cogview-4").per_image == Decimal("0.06")
    Price.objects.create(model="glm-4v-plus", input_per_million=3, output_per_million=4,
                         effective_from=timezone.now() - timedelta(seconds=1))
    assert current_price("glm-4v-plus").output_per_million == Decimal("4")


def test_a_model_nobody_priced_is_an_error_not_free(settings):
    with pytest.raises(UnknownModelPrice):
        current_price("glm-99")
    settings.GLM_PRICE_OVERRIDES = "glm-99:2:3"
    assert current_price("glm-99").input_per_million == Decimal("2")


def test_free_models_record_their_tokens_at_zero_yuan():
    alice = make_user("alice", password=None)
    charge = _charge(alice, "reply:free", model="glm-4-flash", prompt=1234, completion=567)
    row = UsageRecord.objects.get(charge_key="reply:free")
    assert charge.cost == row.cost == Decimal("0")
    assert (row.prompt_tokens, row.completion_tokens) == (1234, 567)


def test_a_price_already_in_effect_cannot_be_edited_or_deleted_in_the_admin(staff_client):
    in_effect = Price.objects.get(model="glm-5", list_price=True)
    response = staff_client.post(f"/admin/usage/price/{in_effect.pk}/change/", _admin_price_form("glm-5", "1", "1"))
    assert response.status_code == 403
    assert staff_client.post(f"/admin/usage/price/{in_effect.pk}/delete/", {"post": "yes"}).status_code == 403
    in_effect.refresh_from_db()
    assert in_effect.input_per_million == Decimal("30")
    scheduled = Price.objects.create(model="glm-5", input_per_million=50, output_per_million=50,
                                     effective_from=timezone.now() + timedelta(days=1))
    form = _admin_price_form("glm-5", "45", "95", at=scheduled.effective_from)
    assert staff_client.post(f"/admin/usage/price/{scheduled.pk}/change/", form).status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.input_per_million == Decimal("45")


def test_charging_the_same_call_twice_writes_one_row():
    alice = make_user("alice", password=None)
    first = _charge(alice, "reply:7")
    second = _charge(alice, "reply:7", prompt=5, completion=5)
    assert first == second
    assert UsageRecord.objects.filter(charge_key="reply:7").count() == 1
