"""Request ids and user ids for every log line, and one summary line per HTTP request.

RequestContextMiddleware (HTTP) and SocketLogContext (WebSocket, ASGI) bind the ids of
glmweb.log_context for the work they wrap and answer with the id in X-Request-ID, so a person
reporting a problem can quote it and an operator can find every line of that request.
"""
from __future__ import annotations

import logging
import time

from django.utils.functional import empty

from .log_context import bind, request_id_from, unbind, user_id_var

log = logging.getLogger("glmweb.request")

REQUEST_ID_HEADER = "X-Request-ID"
# Polled every few seconds by Docker and load balancers: not worth a line each at INFO.
_QUIET_PATHS = ("/healthz",)


def _resolved_user_id(user) -> int | None:
    """The user's id if the request or scope has already loaded the user; never loads it.

    Loading it here would cost a session query on pages that need none, and fail on /healthz
    exactly when the database is down.
    """
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or wrapped is None:
        return None
    return wrapped.pk if getattr(wrapped, "is_authenticated", False) else None


class RequestContextMiddleware:
    """Sits right after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        tokens = bind(request_id=request_id, user_id=None)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            self._log(request, response.status_code, started)
            return response
        finally:
            unbind(tokens)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # A page that needs a login loads the user anyway (LoginRequiredMiddleware comes
        # next); from here on every line of the request names them.
        if getattr(view_func, "login_required", True):
            user = request.user
            user_id_var.set(user.pk if user.is_authenticated else None)
        return None

    def _log(self, request, status: int, started: float) -> None:
        duration_ms = round((time.monotonic() - started) * 1000)
        user_id = _resolved_user_id(getattr(request, "user", None))
        # The path only: query strings can hold what a person searched for.
        http = {"method": request.method, "path": request.path, "status": status, "duration_ms": duration_ms}
        level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
        log.log(level, "%s %s %s %dms", request.method, request.path, status, duration_ms,
                extra={"http": http, "user_id": user_id})


class SocketLogContext:
    """ASGI middleware inside AuthMiddlewareStack: binds an id for the socket connection and
    the user's id around the consumer, so its lines and the replies it starts (whose tasks copy
    this context) are attributed."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        try:
            user_id = _resolved_user_id(scope.get("user"))
        except ValueError:  # channels' lazy user before AuthMiddleware resolved it
            user_id = None
        tokens = bind(request_id=request_id, user_id=user_id)
        try:
            return await self.inner(scope, receive, send)
        finally:
            unbind(tokens)
