"""The keyword rules that decide a tool call, stated case by case."""
from __future__ import annotations

import pytest

from glm.emulator.tools import place_in, plan_tool_call

WEATHER = {"type": "function", "function": {"name": "query_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}
CITY_WEATHER = {"type": "function", "function": {"name": "forecast", "description": "Weather forecast", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}}}


@pytest.mark.parametrize(
    "text, place",
    [
        ("北京天气", "北京"),
        ("北京今天天气怎么样", "北京"),
        ("帮我查一下上海的天气", "上海"),
        ("请问杭州明天的天气", "杭州"),
        ("What's the weather in New York?", "New York"),
        ("weather for Paris please", "Paris"),
        ("weather in beijing", "beijing"),
        ("weather", None),
        ("今天天气", None),
    ],
)
def test_place_comes_from_in_or_for_or_the_characters_before_tianqi(text, place):
    assert place_in(text) == place


def test_weather_call_uses_the_schemas_own_parameter_name():
    planned = plan_tool_call([CITY_WEATHER], "weather in Rome")
    assert (planned.name, planned.arguments) == ("forecast", {"city": "Rome"})


def test_weather_question_without_a_place_gets_no_call():
    assert plan_tool_call([WEATHER], "how is the weather?") is None


def test_words_inside_other_words_do_not_count():
    time_tool = {"type": "function", "function": {"name": "get_time"}}
    assert plan_tool_call([time_tool], "sometimes I update things") is None
    assert plan_tool_call([time_tool], "what time is it") is not None


def test_first_matching_request_kind_wins_in_a_fixed_order():
    image_tool = {"type": "function", "function": {"name": "create_image", "parameters": {
        "type": "object", "properties": {"prompt": {"type": "string"}}}}}
    planned = plan_tool_call([image_tool, WEATHER], "draw the weather in Oslo")
    assert planned.name == "query_weather"
    planned = plan_tool_call([image_tool], "画一只猫")
    assert planned.arguments == {"prompt": "画一只猫"}


def test_non_function_tools_are_never_called():
    assert plan_tool_call([{"type": "web_search", "web_search": {}}], "weather in Oslo") is None
