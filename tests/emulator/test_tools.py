"""Tool calls: offered tools are called when the prompt asks for them; tool results come back."""
from __future__ import annotations

import json

import pytest

from glm.tokens import count_text_tokens

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "query_weather",
        "description": "查询天气",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "城市"}},
            "required": ["location"],
        },
    },
}
IMAGE_TOOL = {
    "type": "function",
    "function": {
        "name": "make_picture",
        "description": "Generate an image from a prompt",
        "parameters": {
            "type": "object",
            "properties": {"prompt": {"type": "string"}, "size": {"type": "string", "enum": ["1024x1024", "768x1344"]}},
            "required": ["prompt", "size"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "current_time",
        "description": "Current date and time",
        "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]},
    },
}


def test_weather_round_trip_with_zhipuai_as_the_manual_shows(zhipu):
    question = {"role": "user", "content": "北京天气"}
    response = zhipu.chat.completions.create(model="glm-5", messages=[question], tools=[WEATHER_TOOL])
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_")
    assert call.type == "function"
    assert call.function.name == "query_weather"
    assert json.loads(call.function.arguments) == {"location": "北京"}
    assert response.usage.completion_tokens == count_text_tokens("query_weather") + count_text_tokens(
        call.function.arguments
    )

    result = '{"temperature": "26°C", "sky": "sunny"}'
    follow_up = zhipu.chat.completions.create(
        model="glm-5",
        messages=[question, choice.message.model_dump(), {"role": "tool", "tool_call_id": call.id, "content": result}],
        tools=[WEATHER_TOOL],
    )
    assert follow_up.choices[0].finish_reason == "stop"
    assert f"Tool query_weather returned: {result}." in follow_up.choices[0].message.content


def test_weather_round_trip_with_openai(openai_client):
    question = {"role": "user", "content": "What's the weather like in New York today?"}
    response = openai_client.chat.completions.create(model="glm-4-flash", messages=[question], tools=[WEATHER_TOOL])
    message = response.choices[0].message
    assert response.choices[0].finish_reason == "tool_calls"
    assert json.loads(message.tool_calls[0].function.arguments) == {"location": "New York"}

    follow_up = openai_client.chat.completions.create(
        model="glm-4-flash",
        messages=[
            question,
            message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "rain, 12°C"},
        ],
        tools=[WEATHER_TOOL],
    )
    assert "Tool query_weather returned: rain, 12°C." in follow_up.choices[0].message.content


def test_streamed_tool_call_arrives_whole_in_one_delta_then_final_chunk(zhipu):
    chunks = list(
        zhipu.chat.completions.create(
            model="glm-4-flash", messages=[{"role": "user", "content": "weather for Paris"}],
            tools=[WEATHER_TOOL], stream=True,
        )
    )
    assert len(chunks) == 2
    call = chunks[0].choices[0].delta.tool_calls[0]
    assert (call.index, call.function.name, json.loads(call.function.arguments)) == (0, "query_weather", {"location": "Paris"})
    assert chunks[0].choices[0].finish_reason is None
    assert chunks[1].choices[0].finish_reason == "tool_calls"
    assert chunks[1].usage.completion_tokens > 0


def test_openai_stream_accumulates_the_tool_call(openai_client):
    with openai_client.chat.completions.stream(
        model="glm-4-flash", messages=[{"role": "user", "content": "上海今天的天气怎么样？"}], tools=[WEATHER_TOOL]
    ) as stream:
        completion = stream.get_final_completion()
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.function.arguments) == {"location": "上海"}


def test_image_request_calls_the_image_tool_with_the_prompt_and_required_size(openai_client):
    text = "Please draw a lighthouse at dusk"
    response = openai_client.chat.completions.create(
        model="glm-4-plus", messages=[{"role": "user", "content": text}], tools=[WEATHER_TOOL, IMAGE_TOOL]
    )
    call = response.choices[0].message.tool_calls[0]
    assert call.function.name == "make_picture"
    assert json.loads(call.function.arguments) == {"prompt": text, "size": "1024x1024"}


def test_time_request_fills_only_required_parameters(openai_client):
    response = openai_client.chat.completions.create(
        model="glm-4-plus", messages=[{"role": "user", "content": "现在几点了？"}], tools=[TIME_TOOL]
    )
    call = response.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("current_time", {"timezone": "Asia/Shanghai"})


def test_no_matching_tool_means_a_plain_text_reply(openai_client):
    response = openai_client.chat.completions.create(
        model="glm-4-flash", messages=[{"role": "user", "content": "what time is it?"}], tools=[WEATHER_TOOL]
    )
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].message.tool_calls is None
    assert "«what time is it?»" in response.choices[0].message.content


@pytest.mark.parametrize(
    "tools",
    [
        [{"type": "function", "function": {"name": "bad name!", "parameters": {}}}],
        [{"type": "function", "function": {"name": "x" * 65}}],
        [{"type": "calculator"}],
        [{"type": "function", "function": {"name": f"tool_{n}"}} for n in range(129)],
    ],
    ids=["bad-characters", "name-too-long", "unknown-type", "too-many"],
)
def test_invalid_tools_are_400_with_code_1214(http, tools):
    body = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    response = http.post("/chat/completions", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "1214")


def test_128_tools_are_accepted(http):
    tools = [{"type": "function", "function": {"name": f"tool_{n}"}} for n in range(128)]
    body = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    assert http.post("/chat/completions", json=body).status_code == 200
