"""Password guessing: after LOGIN_FAILURE_LIMIT wrong passwords for one username from one
address, that pair is refused — even with the right password — on the site's login and the
admin's, until the cool-off has passed."""
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"


@pytest.fixture
def dana(settings):
    # A fast hasher: these tests log in dozens of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return make_user("dana", is_staff=True)


def attempt(client, password, *, url=LOGIN, username="dana", address="203.0.113.7", **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


def test_wrong_passwords_up_to_the_limit_are_ordinary_failures_then_even_the_right_one_is_refused(client, dana):
    for _ in range(2):
        response = attempt(client, "guess")
        assert response.status_code == 200 and not logged_in(client)
    locking = attempt(client, "guess")
    assert locking.status_code == 429

    refused = attempt(client, PASSWORD)
    assert refused.status_code == 429 and not logged_in(client)
    assert int(refused["Retry-After"]) == 15 * 60
    assert "Too many failed log-in attempts." in refused.content.decode()
    assert "Try again in 15 minutes." in refused.content.decode()


def test_the_lockout_page_speaks_chinese_to_chinese_browsers(client, dana):
    for _ in range(3):
        attempt(client, "guess")
    refused = attempt(client, PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.content.decode()
    assert "请在 15 分钟后再试" in refused.content.decode()


def test_the_admin_login_is_locked_the_same_way(client, dana):
    admin_login = reverse("admin:login")
    for _ in range(3):
        assert attempt(client, "guess", url=admin_login).status_code in (200, 429)
    refused = attempt(client, PASSWORD, url=admin_login)
    assert refused.status_code == 429 and not logged_in(client)
    # …and the lock holds for the site's login page too: it is the person, not the form.
    assert attempt(client, PASSWORD).status_code == 429


def test_the_lock_is_for_that_username_from_that_address_only(client, dana):
    make_user("erin")
    for _ in range(3):
        attempt(client, "guess")
    assert attempt(client, PASSWORD, username="erin").status_code == 302, "another account from the same address"
    client.logout()
    assert attempt(client, PASSWORD, address="198.51.100.20").status_code == 302, "the same account from elsewhere"


def test_after_the_cool_off_the_right_password_works_again(client, dana):
    for _ in range(3):
        attempt(client, "guess")
    assert attempt(client, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = attempt(client, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_a_successful_login_forgets_earlier_failures(client, dana):
    for _ in range(2):
        attempt(client, "guess")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert attempt(client, "guess").status_code == 200
    assert attempt(client, PASSWORD).status_code == 302


def test_sign_up_still_logs_the_new_account_in(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SIGNUP_ENABLED = True
    response = client.post(reverse("signup"), {"username": "frank", "password1": "Tr1cky-Passw0rd!",
                                               "password2": "Tr1cky-Passw0rd!"})
    assert response.status_code == 302 and logged_in(client)


def test_a_client_asking_for_json_is_told_in_json(client, dana):
    for _ in range(3):
        attempt(client, "guess")
    refused = attempt(client, PASSWORD, HTTP_ACCEPT="application/json")
    assert refused.status_code == 429
    assert refused.json() == {"error": "locked_out", "message": "Too many failed log-in attempts.",
                              "retry_after": 900}
