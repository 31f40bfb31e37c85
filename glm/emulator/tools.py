"""Deciding whether a prompt asks for one of the offered tools, and with which arguments.

A keyword heuristic, deliberately simple and documented in docs/emulator.md: weather, image
generation and time/date requests, matched to a function whose name or description fits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

_WEATHER_REQUEST = re.compile(r"\bweather\b|天气", re.IGNORECASE)
_IMAGE_REQUEST = re.compile(r"\bdraw\b|\bpictures?\b|\bimage of\b|\bgenerate an image\b|画|图片", re.IGNORECASE)
_TIME_REQUEST = re.compile(r"\btime\b|\bdate\b|时间|几点|日期", re.IGNORECASE)

_WEATHER_TOOL_WORDS = ("weather", "天气")
_IMAGE_TOOL_WORDS = ("image", "picture", "draw", "图", "画")
_TIME_TOOL_WORDS = ("time", "date", "时间", "日期", "几点")

# "weather in New York", "forecast for Paris"; failing capitals, the single word after in/for.
_CAPITALISED_PLACE = re.compile(r"\b(?:in|for)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_ANY_PLACE = re.compile(r"\b(?:in|for)\s+([A-Za-z][\w'-]*)", re.IGNORECASE)
_CJK_BEFORE_WEATHER = re.compile(r"([\u4e00-\u9fff]+)天气")
_CJK_PREFIXES = ("帮我查一下", "帮我看看", "我想知道", "帮我查", "查一下", "问一下", "告诉我", "请问", "查询", "查查", "看看", "请", "查")
_CJK_SUFFIXES = ("这几天", "今天", "明天", "现在", "今日", "目前", "最近", "的")


@dataclass(frozen=True)
class PlannedCall:
    name: str
    arguments: dict[str, Any]


def plan_tool_call(tools: list[dict], text: str) -> PlannedCall | None:
    """The call a model would make for this user text, or None when no offered tool fits."""
    functions = [tool["function"] for tool in tools if tool.get("type") == "function"]
    intents: list[tuple[re.Pattern, tuple[str, ...], Callable[[dict, str], dict | None]]] = [
        (_WEATHER_REQUEST, _WEATHER_TOOL_WORDS, _weather_arguments),
        (_IMAGE_REQUEST, _IMAGE_TOOL_WORDS, _image_arguments),
        (_TIME_REQUEST, _TIME_TOOL_WORDS, _time_arguments),
    ]
    for request_pattern, tool_words, build_arguments in intents:
        if not request_pattern.search(text):
            continue
        function = _first_function_mentioning(functions, tool_words)
        if function is None:
            continue
        arguments = build_arguments(function.get("parameters") or {}, text)
        if arguments is not None:
            return PlannedCall(function["name"], arguments)
    return None


def _first_function_mentioning(functions: list[dict], words: tuple[str, ...]) -> dict | None:
    for function in functions:
        haystack = f"{function.get('name', '')} {function.get('description') or ''}".lower()
        if any(word in haystack for word in words):
            return function
    return None


def _properties(schema: dict) -> dict[str, dict]:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def _required(schema: dict) -> list[str]:
    required = schema.get("required")
    return [name for name in required if isinstance(name, str)] if isinstance(required, list) else []


def _parameter_name(schema: dict, preferred: tuple[str, ...], fallback: str) -> str:
    properties = _properties(schema)
    for name in preferred:
        if name in properties:
            return name
    required = _required(schema)
    if required:
        return required[0]
    return next(iter(properties), fallback)


def place_in(text: str) -> str | None:
    """The place a weather question names: words after in/for, or the CJK words before 天气."""
    match = _CAPITALISED_PLACE.search(text) or _ANY_PLACE.search(text)
    if match:
        return match.group(1)
    match = _CJK_BEFORE_WEATHER.search(text)
    if not match:
        return None
    place = match.group(1)
    changed = True
    while changed and place:
        changed = False
        for suffix in _CJK_SUFFIXES:
            if place.endswith(suffix):
                place, changed = place[: -len(suffix)], True
        for prefix in _CJK_PREFIXES:
            if place.startswith(prefix):
                place, changed = place[len(prefix):], True
    return place or None


def _weather_arguments(schema: dict, text: str) -> dict | None:
    place = place_in(text)
    if place is None:
        return None
    return {_parameter_name(schema, ("location", "city"), "location"): place}


def _image_arguments(schema: dict, text: str) -> dict:
    arguments: dict[str, Any] = {_parameter_name(schema, ("prompt",), "prompt"): text.strip()}
    if "size" in _required(schema):
        size_schema = _properties(schema).get("size", {})
        arguments["size"] = _placeholder("size", size_schema) or "1024x1024"
    return arguments


def _time_arguments(schema: dict, text: str) -> dict:
    properties = _properties(schema)
    return {name: _placeholder(name, properties.get(name, {})) for name in _required(schema)}


def _placeholder(name: str, schema: dict) -> Any:
    """A fixed value for a required parameter the prompt does not fill."""
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    if "zone" in name.lower() or name.lower() == "tz":
        return "Asia/Shanghai"
    return ""
