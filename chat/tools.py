"""The tools a chat model may call (GLM function calling, glm-api.md).

Each tool is declared once below: its name, what it does, the JSON schema of its arguments and
the handler that runs it. tool_schemas() is what the request's `tools` field offers; run_tool()
runs one call and always returns a JSON-able dict for the `tool` message, never raising: bad
JSON, an unknown tool or arguments that break the schema come back as {"error": ...} so the
model can say what went wrong.

run_tool is blocking (it may write to the database); async code calls it through
database_sync_to_async.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone, translation

log = logging.getLogger(__name__)

Handler = Callable[..., dict]


class ToolArgumentError(ValueError):
    """Arguments that do not fit the tool's schema; the message goes back to the model."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict
    handler: Handler

    def schema(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


# --- generate_image ----------------------------------------------------------------------------


def _generate_image(*, arguments: dict, user, conversation, tool_call_id: str) -> dict:
    from images import services as image_services

    try:
        job = image_services.image_job_create(
            user=user,
            prompt=arguments["prompt"],
            model=settings.IMAGE_TOOL_MODEL,
            size=arguments.get("size"),
            conversation=conversation,
            tool_call_id=tool_call_id,
        )
    except image_services.ImageRefused as refused:
        # The model relays this to the user, so it is in English whatever the page's language.
        with translation.override("en"):
            return {"status": "refused", "code": refused.code, "error": str(refused.message)}
    return {
        "job_id": job.pk,
        "status": job.status,
        "position_in_queue": job.queue_position,
        "prompt": job.prompt,
        "size": job.size,
        "note": "The picture is being made. It will appear in this conversation and in the user's gallery when it is ready.",
    }


def _image_sizes() -> list[str]:
    from images.options import RECOMMENDED_SIZES

    return list(RECOMMENDED_SIZES)


# --- current_time --------------------------------------------------------------------------


def user_time_zone(user) -> str:
    """The user's zone: their own setting if the account has one, else the site's TIME_ZONE."""
    return getattr(user, "time_zone", "") or settings.TIME_ZONE


def _current_time(*, arguments: dict, user, conversation, tool_call_id: str) -> dict:
    name = arguments.get("time_zone") or user_time_zone(user)
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolArgumentError(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai") from None
    now = timezone.now().astimezone(zone)
    return {
        "time_zone": name,
        "iso": now.isoformat(timespec="seconds"),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M"),
        "weekday": now.strftime("%A"),
        "utc_offset": now.strftime("%z"),
    }


# --- the registry --------------------------------------------------------------------------


def _tools() -> list[Tool]:
    # Descriptions matter to the model: generate_image's must not mention time or date words
    # (nor current_time's pictures) or a model may pick the wrong one.
    return [
        Tool(
            name="generate_image",
            description=(
                "Generate a picture with CogView-4 from a text prompt. Use it when the user asks you "
                "to draw, paint or make an image. The picture appears in this conversation and in the "
                "user's gallery; tell the user it is on its way."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "prompt": {
                        "type": "string",
                        "description": "What the picture shows, in detail: subject, style, colours, composition.",
                    },
                    "size": {
                        "type": "string",
                        "enum": _image_sizes(),
                        "description": "Width x height in pixels; 1024x1024 when not given.",
                    },
                },
                "required": ["prompt"],
            },
            handler=_generate_image,
        ),
        Tool(
            name="current_time",
            description=(
                "The current date and time, with the weekday, in the user's time zone or in a "
                "given IANA time zone. Read-only."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "time_zone": {
                        "type": "string",
                        "description": "An IANA time zone such as Asia/Shanghai; the user's own when not given.",
                    },
                },
                "required": [],
            },
            handler=_current_time,
        ),
    ]


def tool_schemas() -> list[dict]:
    """Every tool in the API's `tools` format."""
    return [tool.schema() for tool in _tools()]


def run_tool(*, name: str, arguments_json: str, user, conversation, tool_call_id: str = "") -> dict:
    """Run one tool call for user in conversation. Always returns a dict; failures are
    {"error": "..."} (plus "code")."""
    tool = next((tool for tool in _tools() if tool.name == name), None)
    if tool is None:
        return {"error": f"unknown tool {name!r}", "code": "unknown_tool"}
    try:
        arguments = json.loads(arguments_json or "{}")
    except (TypeError, ValueError):
        return {"error": "the arguments are not valid JSON", "code": "bad_arguments"}
    try:
        arguments = _checked_arguments(arguments, tool.parameters)
        return tool.handler(arguments=arguments, user=user, conversation=conversation, tool_call_id=tool_call_id)
    except ToolArgumentError as error:
        return {"error": str(error), "code": "bad_arguments"}
    except Exception:
        log.exception("tool %s failed", name)
        return {"error": f"the tool {name} failed", "code": "tool_failed"}


def _checked_arguments(arguments: Any, schema: dict) -> dict:
    """The arguments the schema declares, checked against it (the subset of JSON Schema the
    tools above use: an object of strings, enums and required names). Unknown ones are dropped."""
    if not isinstance(arguments, dict):
        raise ToolArgumentError("the arguments must be a JSON object")
    properties = schema.get("properties", {})
    for required in schema.get("required", []):
        if required not in arguments or arguments[required] in (None, ""):
            raise ToolArgumentError(f"missing required argument {required!r}")
    checked = {}
    for name, spec in properties.items():
        value = arguments.get(name)
        if value is None or value == "":
            continue
        if spec.get("type") == "string" and not isinstance(value, str):
            raise ToolArgumentError(f"argument {name!r} must be a string")
        if "enum" in spec and value not in spec["enum"]:
            raise ToolArgumentError(f"argument {name!r} must be one of {', '.join(map(str, spec['enum']))}")
        checked[name] = value
    return checked
