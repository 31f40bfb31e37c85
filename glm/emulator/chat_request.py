"""Validation of a /chat/completions body into the few facts the emulator acts on."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from glm.tokens import count_prompt_tokens

from .catalog import CHAT_MODELS, ChatModel
from .errors import MESSAGES_INVALID, EmulatorError, invalid_parameter

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_TYPES = frozenset({"function", "web_search", "retrieval", "mcp"})
MAX_TOOLS = 128


@dataclass(frozen=True)
class ImageRef:
    url: str
    # Index of the message that carries the image, so replies describe only the newest ones.
    message_index: int

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))


@dataclass
class ChatRequest:
    model: ChatModel
    messages: list[dict]
    stream: bool = False
    max_tokens: int = 0
    stop: str | None = None
    tools: list[dict] = field(default_factory=list)
    json_mode: bool = False
    thinking: bool = False
    request_id: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    prompt_tokens: int = 0

    @property
    def answering_user(self) -> bool:
        """True when the reply answers a user message (not tool results)."""
        return self.messages[-1]["role"] == "user"

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message_text(message)
        return ""

    @property
    def trigger_text(self) -> str:
        """Only the message being answered may carry [[glm-...]] triggers."""
        return message_text(self.messages[-1]) if self.answering_user else ""


def message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part["text"] for part in content if part.get("type") == "text")
    return ""


def model_from_body(body: dict) -> ChatModel:
    name = body.get("model")
    if name is None:
        raise EmulatorError("1213", "未正常接收到model参数。")
    if not isinstance(name, str) or name not in CHAT_MODELS:
        raise EmulatorError("1211")
    return CHAT_MODELS[name]


def parse_chat_request(body: Any) -> ChatRequest:
    """Check a request body as the platform does; raise EmulatorError (400) on the first problem."""
    if not isinstance(body, dict):
        raise EmulatorError("1210")
    model = model_from_body(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise EmulatorError("1214", MESSAGES_INVALID)
    images: list[ImageRef] = []
    for index, message in enumerate(messages):
        images.extend(_check_message(message, index, model))
    if not any(message["role"] in ("user", "tool") for message in messages):
        raise EmulatorError("1214", MESSAGES_INVALID)
    _check_images(images, model)

    request = ChatRequest(
        model=model,
        messages=messages,
        stream=_optional_bool(body, "stream", False),
        max_tokens=_max_tokens(body, model),
        stop=_stop(body),
        tools=_tools(body),
        json_mode=_json_mode(body),
        thinking=_thinking(body) and model.can_think,
        request_id=_request_id(body),
        images=images,
    )
    _check_sampling(body)
    request.prompt_tokens = count_prompt_tokens(messages)
    if request.prompt_tokens > model.context_tokens:
        raise EmulatorError("1261")
    return request


def _check_message(message: Any, index: int, model: ChatModel) -> list[ImageRef]:
    if not isinstance(message, dict):
        raise EmulatorError("1214", MESSAGES_INVALID)
    role = message.get("role")
    content = message.get("content")
    if role == "system":
        _require(isinstance(content, str))
    elif role == "user":
        if isinstance(content, list):
            _require(model.vision)
            return _image_parts(content, index)
        _require(isinstance(content, str))
    elif role == "assistant":
        _require(content is None or isinstance(content, str))
        _check_assistant_tool_calls(message.get("tool_calls"))
    elif role == "tool":
        _require(isinstance(content, str) and isinstance(message.get("tool_call_id"), str))
    else:
        raise EmulatorError("1214", MESSAGES_INVALID)
    return []


def _require(condition: bool) -> None:
    if not condition:
        raise EmulatorError("1214", MESSAGES_INVALID)


def _image_parts(parts: list, index: int) -> list[ImageRef]:
    _require(bool(parts))
    images = []
    for part in parts:
        _require(isinstance(part, dict))
        if part.get("type") == "text":
            _require(isinstance(part.get("text"), str))
        elif part.get("type") == "image_url":
            image_url = part.get("image_url")
            _require(isinstance(image_url, dict) and isinstance(image_url.get("url"), str) and bool(image_url["url"]))
            images.append(ImageRef(image_url["url"], index))
        else:
            raise EmulatorError("1214", MESSAGES_INVALID)
    return images


def _check_images(images: list[ImageRef], model: ChatModel) -> None:
    if len(images) > model.max_images:
        raise EmulatorError("1214", f"图片数量超过上限：{model.name} 每次请求最多 {model.max_images} 张图片。")
    if not model.accepts_base64_images and any(not image.is_remote for image in images):
        raise EmulatorError("1214", f"{model.name} 不支持 base64 图片，请传入图片 URL。")


def _check_assistant_tool_calls(tool_calls: Any) -> None:
    if tool_calls is None:
        return
    _require(isinstance(tool_calls, list))
    for call in tool_calls:
        _require(isinstance(call, dict))
        function = call.get("function")
        _require(isinstance(function, dict) and isinstance(function.get("name"), str)
                 and isinstance(function.get("arguments"), str))


def _optional_bool(body: dict, name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_parameter(name)
    return value


def _number(body: dict, name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_parameter(name)
    return float(value)


def _check_sampling(body: dict) -> None:
    _optional_bool(body, "do_sample", True)
    temperature = _number(body, "temperature")
    if temperature is not None and not 0.0 <= temperature <= 1.0:
        raise invalid_parameter("temperature")
    top_p = _number(body, "top_p")
    if top_p is not None and not 0.01 <= top_p <= 1.0:
        raise invalid_parameter("top_p")
    user_id = body.get("user_id")
    if user_id is not None and not (isinstance(user_id, str) and 6 <= len(user_id) <= 128):
        raise invalid_parameter("user_id")


def _max_tokens(body: dict, model: ChatModel) -> int:
    value = body.get("max_tokens")
    if value is None:
        return model.max_output_tokens
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= model.max_output_tokens:
        raise invalid_parameter("max_tokens")
    return value


def _stop(body: dict) -> str | None:
    value = body.get("stop")
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, list) and len(value) <= 1 and all(isinstance(item, str) for item in value):
        return value[0] if value and value[0] else None
    raise invalid_parameter("stop")


def _tools(body: dict) -> list[dict]:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if choice is not None and choice != "auto":
        raise invalid_parameter("tool_choice")
    if tools is None:
        return []
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise invalid_parameter("tools")
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type") not in TOOL_TYPES:
            raise invalid_parameter("tools")
        if tool["type"] == "function":
            function = tool.get("function")
            name = function.get("name") if isinstance(function, dict) else None
            if not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name):
                raise invalid_parameter("tools")
            if function.get("parameters") is not None and not isinstance(function["parameters"], dict):
                raise invalid_parameter("tools")
    return tools


def _json_mode(body: dict) -> bool:
    response_format = body.get("response_format")
    if response_format is None:
        return False
    if not isinstance(response_format, dict) or response_format.get("type") not in ("text", "json_object"):
        raise invalid_parameter("response_format")
    return response_format["type"] == "json_object"


def _thinking(body: dict) -> bool:
    thinking = body.get("thinking")
    if thinking is None:
        return False
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled"):
        raise invalid_parameter("thinking")
    return thinking["type"] == "enabled"


def _request_id(body: dict) -> str | None:
    value = body.get("request_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise invalid_parameter("request_id")
    return value
