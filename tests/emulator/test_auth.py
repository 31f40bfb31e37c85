"""Authentication exactly as the platform answers it: raw key, JWT with or without Bearer."""
from __future__ import annotations

import time

import httpx
import jwt
import openai
import pytest
import zhipuai

BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "auth"}]}


def _token(api_key: str, *, secret: str | None = None, expires_in_ms: int = 60_000) -> str:
    key_id, key_secret = api_key.split(".")
    now = int(time.time() * 1000)
    return jwt.encode(
        {"api_key": key_id, "exp": now + expires_in_ms, "timestamp": now},
        secret or key_secret,
        algorithm="HS256",
        headers={"alg": "HS256", "sign_type": "SIGN"},
    )


def _post(emulator, headers: dict) -> httpx.Response:
    return httpx.post(f"{emulator.base_url}/chat/completions", json=BODY, headers=headers, timeout=10)


def test_missing_authorization_is_401_with_code_1001(emulator):
    response = _post(emulator, {})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "1001", "message": "Header中未收到Authorization参数，无法进行身份验证。"}}


def test_wrong_key_is_401_with_code_401(emulator):
    response = _post(emulator, {"Authorization": "Bearer someone.else"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "401", "message": "令牌已过期或验证不正确！"}}


def test_sdks_raise_authentication_errors_for_a_wrong_key(emulator):
    client = zhipuai.ZhipuAI(api_key="wrong.key", base_url=emulator.base_url, max_retries=0)
    with pytest.raises(zhipuai.APIAuthenticationError):
        client.chat.completions.create(**BODY)
    openai_client = openai.OpenAI(api_key="wrong.key", base_url=emulator.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        openai_client.chat.completions.create(**BODY)
    assert raised.value.code == "401"


def test_zhipuai_raw_key_and_cached_jwt_are_both_accepted(emulator):
    for disable_token_cache in (True, False):
        client = zhipuai.ZhipuAI(
            api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0, disable_token_cache=disable_token_cache
        )
        assert client.chat.completions.create(**BODY).choices[0].finish_reason == "stop"


def test_jwt_is_accepted_with_and_without_bearer(emulator):
    token = _token(emulator.api_key)
    assert _post(emulator, {"Authorization": f"Bearer {token}"}).status_code == 200
    assert _post(emulator, {"Authorization": token}).status_code == 200


@pytest.mark.parametrize(
    "make_token",
    [
        lambda key: _token(key, expires_in_ms=-1000),
        lambda key: _token(key, secret="not-the-secret"),
        lambda key: _token("other-id." + key.split(".")[1]),
        lambda key: "a.b.c",
    ],
    ids=["expired", "wrong-signature", "wrong-key-id", "garbage"],
)
def test_invalid_jwt_is_401_with_code_401(emulator, make_token):
    response = _post(emulator, {"Authorization": f"Bearer {make_token(emulator.api_key)}"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "401")


def test_extra_sdk_headers_are_not_required(emulator):
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    assert _post(emulator, headers).status_code == 200


def test_introspection_and_files_need_no_key(emulator):
    assert httpx.get(f"{emulator.root_url}/_emulator/health").json() == {"ok": True}
