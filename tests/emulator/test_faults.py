"""Fault triggers written into the last user message: errors, cuts, drops, error frames, pace."""
from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
import zhipuai

from glm.tokens import count_text_tokens

ERROR_STATUSES = {
    "1000": 401, "1001": 401, "1002": 401, "1003": 401, "1004": 401, "1005": 401, "401": 401,
    "1113": 429, "1200": 500, "1210": 400, "1211": 400, "1212": 400, "1213": 400, "1214": 400, "1215": 400,
    "1220": 403, "1221": 400, "1222": 400, "1230": 500, "1234": 500, "1261": 400, "1301": 400,
    "1302": 429, "1303": 429, "1305": 429, "500": 500,
}
EXACT_MESSAGES = {
    "1113": "余额不足或无可用资源包,请充值。",
    "1211": "模型不存在，请检查模型代码。",
    "1301": "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。",
    "1305": "该模型当前访问量过大，请您稍后再试",
}


def _ask(text: str, **extra) -> dict:
    return {"model": "glm-4-flash", "messages": [{"role": "user", "content": text}], **extra}


def _events(response: httpx.Response) -> list[str]:
    return [event[len("data: "):] for event in response.text.split("\n\n") if event]


@pytest.mark.parametrize("code, status", sorted(ERROR_STATUSES.items()))
def test_error_trigger_answers_with_the_codes_real_status_and_body(http, code, status):
    response = http.post("/chat/completions", json=_ask(f"fail [[glm-error:{code}]]"))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if code in EXACT_MESSAGES:
        assert error["message"] == EXACT_MESSAGES[code]


def test_error_trigger_in_a_stream_request_is_answered_before_streaming(http):
    response = http.post("/chat/completions", json=_ask("[[glm-error:1302]]", stream=True))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "1302"


def test_sdks_map_trigger_errors_to_their_exception_types(zhipu, openai_client):
    with pytest.raises(zhipuai.APIReachLimitError):
        zhipu.chat.completions.create(**_ask("[[glm-error:1305]]"))
    with pytest.raises(zhipuai.APIInternalError):
        zhipu.chat.completions.create(**_ask("[[glm-error:1234]]"))
    with pytest.raises(openai.RateLimitError) as rate_limited:
        openai_client.chat.completions.create(**_ask("[[glm-error:1113]]"))
    assert rate_limited.value.code == "1113"
    with pytest.raises(openai.PermissionDeniedError):
        openai_client.chat.completions.create(**_ask("[[glm-error:1220]]"))
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(**_ask("[[glm-error:500]]"))


def test_error_with_count_fails_only_the_first_k_identical_requests(http, emulator):
    emulator.reset()
    text = "retry me [[glm-error:1305#2]]"
    statuses = [http.post("/chat/completions", json=_ask(text)).status_code for _ in range(4)]
    assert statuses == [429, 429, 200, 200]
    # Other text has its own count; a reset starts every count again.
    assert http.post("/chat/completions", json=_ask(text + " again")).status_code == 429
    emulator.reset()
    assert http.post("/chat/completions", json=_ask(text)).status_code == 429


def test_trigger_in_an_earlier_message_never_fires_again(http):
    messages = [
        {"role": "user", "content": "[[glm-error:1301]]"},
        {"role": "assistant", "content": "…"},
        {"role": "user", "content": "and now?"},
    ]
    assert http.post("/chat/completions", json={"model": "glm-4-flash", "messages": messages}).status_code == 200


@pytest.mark.parametrize("reason", ["sensitive", "network_error"])
def test_cut_streams_n_chunks_then_finishes_with_the_reason_and_usage(zhipu, reason):
    chunks = list(zhipu.chat.completions.create(**_ask(f"cut [[glm-cut:{reason}@3]]"), stream=True))
    assert len(chunks) == 4
    assert chunks[-1].choices[0].finish_reason == reason
    assert chunks[-1].usage.completion_tokens == 3
    assert "".join(chunk.choices[0].delta.content for chunk in chunks) == "You said:"


@pytest.mark.parametrize("reason", ["sensitive", "network_error"])
def test_cut_without_stream_returns_the_first_n_tokens(openai_client, reason):
    response = openai_client.chat.completions.create(**_ask(f"cut [[glm-cut:{reason}@5]]"))
    assert response.choices[0].finish_reason == reason
    assert response.usage.completion_tokens == 5
    assert count_text_tokens(response.choices[0].message.content) == 5


def test_drop_closes_the_connection_after_n_chunks_without_final_chunk_or_done(http):
    received = []
    with pytest.raises(httpx.RemoteProtocolError):
        with http.stream("POST", "/chat/completions", json=_ask("[[glm-drop@4]]", stream=True)) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[len("data: "):]))
    assert len(received) == 4
    assert all("finish_reason" not in chunk["choices"][0] for chunk in received)


def test_sdks_raise_when_the_connection_drops(zhipu, openai_client):
    # zhipuai lets httpx's error through mid-stream and wraps it before the response.
    with pytest.raises(httpx.RemoteProtocolError):
        list(zhipu.chat.completions.create(**_ask("[[glm-drop@2]]"), stream=True))
    with pytest.raises(zhipuai.APIConnectionError):
        zhipu.chat.completions.create(**_ask("[[glm-drop@0]]"))
    with pytest.raises(openai.APIConnectionError):
        list(openai_client.chat.completions.create(**_ask("[[glm-drop@2]]"), stream=True))
    with pytest.raises(openai.APIConnectionError):
        openai_client.chat.completions.create(**_ask("[[glm-drop@0]]"))


def test_frame_error_sends_an_error_event_after_n_chunks_and_ends(http):
    response = http.post("/chat/completions", json=_ask("[[glm-frame-error:1301@2]]", stream=True))
    assert response.status_code == 200
    events = _events(response)
    assert len(events) == 3
    assert json.loads(events[-1]) == {"error": {"code": "1301", "message": json.loads(events[-1])["error"]["message"]}}
    assert "[DONE]" not in response.text


def test_sdks_raise_on_an_error_frame(zhipu, openai_client):
    with pytest.raises(zhipuai.APIResponseError):
        list(zhipu.chat.completions.create(**_ask("[[glm-frame-error:1234@1]]"), stream=True))
    with pytest.raises(openai.APIError) as raised:
        list(openai_client.chat.completions.create(**_ask("[[glm-frame-error:1234@1]]"), stream=True))
    assert raised.value.code == "1234"


def test_slow_trigger_sets_the_delay_between_chunks(zhipu):
    started = time.monotonic()
    chunks = list(zhipu.chat.completions.create(**_ask("[[glm-slow:60]] [[glm-len:6]]"), stream=True))
    elapsed = time.monotonic() - started
    assert len(chunks) == 7
    assert 0.3 <= elapsed < 2.0


def test_slow_trigger_delays_a_non_stream_reply_by_its_whole_length(zhipu):
    started = time.monotonic()
    zhipu.chat.completions.create(**_ask("[[glm-slow:50]] [[glm-len:6]]"))
    assert time.monotonic() - started >= 0.3


def test_hang_sends_nothing_until_the_client_gives_up(emulator, log_of):
    text = f"[[glm-hang]] {time.time()}"
    client = zhipuai.ZhipuAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0, timeout=0.5)
    with pytest.raises(zhipuai.APITimeoutError):
        client.chat.completions.create(**_ask(text), stream=True)
    gave_up = time.time()
    deadline = time.monotonic() + 3
    while not (log_of(text) and log_of(text)[0]["finished"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    [entry] = log_of(text)
    assert entry["client_disconnected"] is True
    assert entry["status"] is None and entry["chunks_sent"] == 0
    assert entry["ended_at"] - gave_up < 1.0


def test_openai_timeout_on_a_hanging_request(openai_client):
    with pytest.raises(openai.APITimeoutError):
        openai_client.with_options(timeout=0.3).chat.completions.create(**_ask("[[glm-hang]] openai"))


def test_triggers_work_in_image_prompts(http, emulator):
    response = http.post("/images/generations", json={"model": "cogview-4", "prompt": "[[glm-error:1301]] a cat"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "1301")
    with pytest.raises(httpx.ReadTimeout):
        http.post("/images/generations", json={"model": "cogview-4", "prompt": "[[glm-hang]]"}, timeout=0.3)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/images/generations", json={"model": "cogview-4", "prompt": "[[glm-drop@0]]"})
