"""Per-key limits: the manual's RPM table on --tier free, open requests with --max-concurrency."""
from __future__ import annotations

import threading

import httpx
import openai
import pytest
import zhipuai

from glm.emulator.testing import RunningEmulator

KEY = "limited-id.limited-secret"


@pytest.fixture(scope="module")
def free_tier():
    with RunningEmulator(api_key=KEY, extra_args=["--tier", "free", "--max-concurrency", "2"]) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_windows(free_tier):
    free_tier.reset()


def _ask(model: str, text: str = "hi") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def test_eleventh_glm4_flash_request_in_a_minute_is_429_with_code_1302(free_tier):
    client = zhipuai.ZhipuAI(api_key=KEY, base_url=free_tier.base_url, max_retries=0)
    for _ in range(10):
        client.chat.completions.create(**_ask("glm-4-flash"))
    with pytest.raises(zhipuai.APIReachLimitError) as raised:
        client.chat.completions.create(**_ask("glm-4-flash"))
    response = raised.value.response
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "1302"
    assert "retry-after" not in response.headers


def test_each_model_has_its_own_window(free_tier):
    client = openai.OpenAI(api_key=KEY, base_url=free_tier.base_url, max_retries=0)
    for _ in range(5):
        client.chat.completions.create(**_ask("glm-4-air"))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**_ask("glm-4-air"))
    assert client.chat.completions.create(**_ask("glm-5")).choices[0].finish_reason == "stop"


def test_refused_requests_do_not_use_up_the_window_and_reset_clears_it(free_tier):
    client = openai.OpenAI(api_key=KEY, base_url=free_tier.base_url, max_retries=0)
    for _ in range(5):
        client.chat.completions.create(**_ask("glm-5"))
    for _ in range(3):
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(**_ask("glm-5"))
    free_tier.reset()
    assert client.chat.completions.create(**_ask("glm-5")).choices[0].finish_reason == "stop"


def test_request_beyond_max_concurrency_is_429_with_code_1302(free_tier):
    headers = {"Authorization": f"Bearer {KEY}"}
    url = f"{free_tier.base_url}/chat/completions"
    hanging = [
        threading.Thread(
            target=lambda: _ignore_timeout(url, headers, _ask("glm-4-plus", f"[[glm-hang]] {n}")), daemon=True
        )
        for n in range(2)
    ]
    for thread in hanging:
        thread.start()
    _wait_for_open_requests(free_tier, 2)
    response = httpx.post(url, json=_ask("glm-4-plus"), headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (429, "1302")
    for thread in hanging:
        thread.join()
    # Once the hanging clients leave, their slots are free again.
    _wait_for_open_requests(free_tier, 0)
    assert httpx.post(url, json=_ask("glm-4-plus"), headers=headers).status_code == 200


def _ignore_timeout(url: str, headers: dict, body: dict) -> None:
    try:
        httpx.post(url, json=body, headers=headers, timeout=1.0)
    except httpx.TimeoutException:
        pass


def _wait_for_open_requests(emulator, count: int) -> None:
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hanging = [e for e in emulator.requests() if "[[glm-hang]]" in (e["last_user_text"] or "") and not e["finished"]]
        if len(hanging) == count:
            return
        time.sleep(0.02)
    raise AssertionError(f"expected {count} open requests")


def test_tier_off_has_no_rpm_limit(http):
    statuses = {http.post("/chat/completions", json=_ask("glm-4-flash")).status_code for _ in range(15)}
    assert statuses == {200}
