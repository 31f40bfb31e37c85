"""Non-stream chat completions: shape, honest echo, usage by the project's token rule, validation."""
from __future__ import annotations

import re

import pytest
import zhipuai
from openai import BadRequestError

from glm.tokens import count_prompt_tokens, count_text_tokens

REQUEST_ID = re.compile(r"^\d{14}[0-9a-f]{16}$")


def test_reply_echoes_the_last_user_message_through_zhipuai(zhipu):
    messages = [
        {"role": "system", "content": "你是智谱AI助手。"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "你好，second question"},
    ]
    response = zhipu.chat.completions.create(model="glm-4-flash", messages=messages)
    choice = response.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert "«你好，second question»" in choice.message.content
    assert "first question" not in choice.message.content


def test_response_carries_platform_ids_object_and_usage(http):
    messages = [{"role": "user", "content": "hello there"}]
    body = http.post("/chat/completions", json={"model": "glm-4-plus", "messages": messages}).json()
    assert body["id"] == body["request_id"]
    assert REQUEST_ID.match(body["id"])
    assert body["object"] == "chat.completion"
    assert body["model"] == "glm-4-plus"
    assert isinstance(body["created"], int)
    content = body["choices"][0]["message"]["content"]
    assert body["usage"] == {
        "completion_tokens": count_text_tokens(content),
        "prompt_tokens": count_prompt_tokens(messages),
        "prompt_tokens_details": {"cached_tokens": 0},
        "total_tokens": count_text_tokens(content) + count_prompt_tokens(messages),
    }


def test_usage_follows_the_token_rule_through_openai(openai_client):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "北京的天空 is blue, isn't it?"}]
    response = openai_client.chat.completions.create(model="glm-5", messages=messages)
    assert response.usage.prompt_tokens == count_prompt_tokens(messages)
    assert response.usage.completion_tokens == count_text_tokens(response.choices[0].message.content)
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_same_request_gets_the_same_reply(zhipu):
    messages = [{"role": "user", "content": "repeat after me"}]
    first = zhipu.chat.completions.create(model="glm-4-air", messages=messages)
    second = zhipu.chat.completions.create(model="glm-4-air", messages=messages)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id


@pytest.mark.parametrize("length", [1, 5, 37, 300])
def test_glm_len_makes_the_completion_exactly_n_tokens(zhipu, length):
    response = zhipu.chat.completions.create(
        model="glm-4-flash", messages=[{"role": "user", "content": f"count [[glm-len:{length}]]"}]
    )
    assert response.usage.completion_tokens == length
    assert count_text_tokens(response.choices[0].message.content) == length
    assert response.choices[0].finish_reason == "stop"


def test_max_tokens_truncates_and_finishes_with_length(openai_client):
    response = openai_client.chat.completions.create(
        model="glm-4-flash", max_tokens=4, messages=[{"role": "user", "content": "a long answer please"}]
    )
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 4
    assert response.choices[0].message.content == "You said: «"


def test_stop_sequence_ends_the_reply_before_it(openai_client):
    response = openai_client.chat.completions.create(
        model="glm-4-flash", stop=["emulator"], messages=[{"role": "user", "content": "hi"}]
    )
    content = response.choices[0].message.content
    assert content.startswith("You said: «hi».")
    assert "emulator" not in content
    assert response.usage.completion_tokens == count_text_tokens(content)


def test_request_id_sent_by_the_client_is_the_reply_id(zhipu):
    response = zhipu.chat.completions.create(
        model="glm-4-flash", request_id="my-request-0001", messages=[{"role": "user", "content": "hi"}]
    )
    assert response.id == "my-request-0001"
    assert response.request_id == "my-request-0001"


def test_explicit_nulls_for_unset_fields_are_accepted(http):
    body = {
        "model": "glm-4-flash", "messages": [{"role": "user", "content": "nulls"}], "stream": None,
        "temperature": None, "top_p": None, "max_tokens": None, "tools": None, "tool_choice": None,
        "stop": None, "response_format": None, "thinking": None, "request_id": None, "user_id": None,
        "do_sample": None, "meta": None, "extra": None, "sensitive_word_check": None, "seed": None,
    }
    response = http.post("/chat/completions", json=body)
    assert response.status_code == 200, response.text


def test_json_object_format_replies_with_json(zhipu):
    import json

    response = zhipu.chat.completions.create(
        model="glm-4-flash", response_format={"type": "json_object"}, messages=[{"role": "user", "content": "hi"}]
    )
    assert json.loads(response.choices[0].message.content)["reply"].startswith("You said: «hi».")


def test_thinking_model_reasons_before_answering_and_bills_both(http):
    body = {"model": "glm-5", "thinking": {"type": "enabled"}, "messages": [{"role": "user", "content": "think"}]}
    reply = http.post("/chat/completions", json=body).json()
    message = reply["choices"][0]["message"]
    assert message["reasoning_content"].startswith("The last user message has 1 tokens.")
    assert reply["usage"]["completion_tokens"] == count_text_tokens(message["content"]) + count_text_tokens(
        message["reasoning_content"]
    )


def _error(http, **body) -> tuple[int, dict]:
    body.setdefault("model", "glm-4-flash")
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    response = http.post("/chat/completions", json=body)
    return response.status_code, response.json()


def test_unknown_model_is_400_with_code_1211(http):
    assert _error(http, model="gpt-4") == (400, {"error": {"code": "1211", "message": "模型不存在，请检查模型代码。"}})


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "system", "content": "only a system prompt"}],
        [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}],
        [{"role": "user"}],
        [{"role": "user", "content": None}],
        [{"role": "robot", "content": "hi"}],
        [{"role": "user", "content": "hi"}, {"role": "tool", "content": "result"}],
        ["not a message"],
    ],
    ids=["empty", "only-system", "system-and-assistant", "no-content", "null-content", "bad-role",
         "tool-without-call-id", "not-an-object"],
)
def test_malformed_messages_are_400_with_code_1214(http, messages):
    assert _error(http, messages=messages) == (400, {"error": {"code": "1214", "message": "messages 参数非法。请检查文档。"}})


@pytest.mark.parametrize(
    "field, value",
    [("temperature", 1.5), ("temperature", -0.1), ("top_p", 0.0), ("top_p", 1.2), ("max_tokens", 0),
     ("max_tokens", 8 * 1024 + 1), ("stop", ["a", "b"]), ("tool_choice", "required"), ("user_id", "abc")],
)
def test_out_of_range_parameters_are_400_with_code_1214(http, field, value):
    status, body = _error(http, **{field: value})
    assert status == 400
    assert body["error"]["code"] == "1214"
    assert field in body["error"]["message"]


def test_edge_values_of_sampling_parameters_are_accepted(http):
    status, _ = _error(http, temperature=0, top_p=0.01, max_tokens=8 * 1024)
    assert status == 200
    status, _ = _error(http, temperature=1, top_p=1)
    assert status == 200


def test_glm5_allows_sixteen_thousand_output_tokens(http):
    assert _error(http, model="glm-5", max_tokens=16 * 1024)[0] == 200


def test_list_content_on_a_text_model_is_400_with_code_1214(http):
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert _error(http, messages=messages)[1]["error"]["code"] == "1214"


def test_prompt_beyond_the_context_window_is_400_with_code_1261(http):
    # The 4v models take 8K tokens; 9,000 one-token words do not fit.
    messages = [{"role": "user", "content": "word " * 9000}]
    status, body = _error(http, model="glm-4v-plus", messages=messages)
    assert (status, body["error"]["code"]) == (400, "1261")


def test_long_context_model_takes_what_the_others_refuse(http):
    messages = [{"role": "user", "content": "word " * 140_000}]
    assert _error(http, model="glm-4-flash", messages=messages)[1]["error"]["code"] == "1261"
    assert _error(http, model="glm-4-long", messages=messages)[0] == 200


def test_body_that_is_not_json_is_400(http):
    response = http.post("/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "1210"


def test_sdks_raise_their_bad_request_errors(zhipu, openai_client):
    with pytest.raises(zhipuai.APIRequestFailedError) as raised:
        zhipu.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.response.json()["error"]["code"] == "1211"
    with pytest.raises(BadRequestError) as raised_openai:
        openai_client.chat.completions.create(model="glm-4-flash", messages=[{"role": "system", "content": "x"}])
    assert raised_openai.value.code == "1214"
