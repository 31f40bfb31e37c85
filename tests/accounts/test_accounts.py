"""Sign-up, log-in, log-out and password change."""
import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_signup_creates_an_account_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "password1": "a-long-unusual-pass", "password2": "a-long-unusual-pass"},
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="newbie").exists()
    assert client.get("/").status_code in (200, 302)
    assert "_auth_user_id" in client.session


def test_signup_with_mismatched_passwords_creates_nothing(client):
    response = client.post(
        "/accounts/signup/", {"username": "newbie", "password1": "a-long-unusual-pass", "password2": "other"}
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_signup_can_be_switched_off(client, settings):
    settings.SIGNUP_ENABLED = False
    assert client.get("/accounts/signup/").status_code == 404


def test_login_and_logout(client):
    make_user("carol", password="carols-secret-pw")
    response = client.post("/accounts/login/", {"username": "carol", "password": "carols-secret-pw"})
    assert response.status_code == 302
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_password_change(client):
    user = make_user("dave", password="old-password-123")
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": "old-password-123", "new_password1": "brand-new-pw-456", "new_password2": "brand-new-pw-456"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-pw-456")
