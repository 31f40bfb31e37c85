"""Who and what a log line belongs to: the request id and the user id of the work in progress.

They live in context variables, so every line logged while serving a request or a socket —
including the "glm" call log of a reply, whose task copies the socket's context when it is
created — carries them without being passed around. A logging filter copies them onto each
record for the formatters.
"""
from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar, Token

request_id_var: ContextVar[str | None] = ContextVar("glmweb_request_id", default=None)
user_id_var: ContextVar[int | None] = ContextVar("glmweb_user_id", default=None)

# A proxy's id (nginx's $request_id is 32 hex digits) is kept so its access log and ours
# line up; anything else is replaced, so a client cannot inject text into our logs.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header_value: str | None) -> str:
    """The id to use for a request: the proxy's, when it looks like one, else a fresh one."""
    if header_value and _ACCEPTABLE_ID.match(header_value):
        return header_value
    return new_request_id()


def bind(*, request_id: str | None, user_id: int | None) -> tuple[Token, Token]:
    return request_id_var.set(request_id), user_id_var.set(user_id)


def unbind(tokens: tuple[Token, Token]) -> None:
    request_token, user_token = tokens
    request_id_var.reset(request_token)
    user_id_var.reset(user_token)


class LogContextFilter(logging.Filter):
    """Puts request_id and user_id on every record (None outside a request or socket)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # django.request logs 4xx/5xx answers after the middleware has unbound the ids,
            # but hands over the request, which keeps its id.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id_var.get()
        return True
