"""The gateway's error model: one exception family for every way a GLM call can fail.

Callers branch on the class (or `retryable`) and show `user_message()`; `code` keeps the API's own
error code for logs and tests. The mapping from the API's codes and HTTP statuses is the table in
docs/gateway.md, which follows the error table of the API reference.
"""
from __future__ import annotations

import json
from typing import ClassVar, Mapping

from glm.events import Usage
from glm.user_messages import user_message_for


class GLMError(Exception):
    """A failed GLM call. `str()` is for developers; `user_message()` is for people."""

    kind: ClassVar[str] = "unknown"
    default_code: ClassVar[str] = "unknown"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
        request_id: str | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code if code is not None else self.default_code
        self.http_status = http_status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.request_id = request_id
        self.usage = usage

    def user_message(self, language: str = "en") -> str:
        """Plain text for a person in English or Simplified Chinese ("zh-hans", any "zh..." tag)."""
        return user_message_for(kind=self.kind, code=self.code, language=language)

    def __str__(self) -> str:
        status = f" HTTP {self.http_status}" if self.http_status is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"GLM error {self.code}{status}{detail}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"retryable={self.retryable!r}, request_id={self.request_id!r})"
        )


class GLMAuthError(GLMError):
    """The API key was missing, malformed, expired or wrong (401; codes 1000-1005 and "401")."""

    kind = "auth"
    default_code = "401"


class GLMBalanceExhausted(GLMError):
    """The account has no balance or resource package left (1113, sent with HTTP 429)."""

    kind = "balance"
    default_code = "1113"


class GLMBadRequest(GLMError):
    """The API refused the request itself: bad parameter, unknown model, no permission."""

    kind = "bad_request"
    default_code = "1214"


class GLMPromptTooLong(GLMError):
    """The prompt does not fit the model's context (1261)."""

    kind = "prompt_too_long"
    default_code = "1261"


class GLMContentBlocked(GLMError):
    """The provider's content check refused the input or the output (1301, finish_reason "sensitive")."""

    kind = "content_blocked"
    default_code = "1301"


class GLMRateLimited(GLMError):
    """Too many concurrent or frequent calls, or the model is overloaded (1302, 1303, 1305)."""

    kind = "rate_limited"
    default_code = "1302"
    default_retryable = True


class GLMServerError(GLMError):
    """The API failed on its side (5xx; codes 1200, 1230, 1234)."""

    kind = "server_error"
    default_code = "1200"
    default_retryable = True


class GLMTimeout(GLMError):
    """No answer within the connect or read timeout."""

    kind = "timeout"
    default_code = "timeout"
    default_retryable = True


class GLMConnectionError(GLMError):
    """The API could not be reached at all."""

    kind = "connection"
    default_code = "connection_error"
    default_retryable = True


class GLMStreamInterrupted(GLMError):
    """A reply stopped part-way: finish_reason "network_error", a dropped connection, an in-stream
    error frame, or a stream that ended without its final chunk.

    Retryable only in the sense that a fresh request may succeed; the streaming client never
    retries once any part of the reply reached the caller.
    """

    kind = "stream_interrupted"
    default_code = "network_error"
    default_retryable = True


_AUTH_CODES = {"401", "1000", "1001", "1002", "1003", "1004", "1005"}
_BAD_REQUEST_CODES = {"1210", "1211", "1212", "1213", "1214", "1215", "1220", "1221", "1222"}
_RATE_LIMIT_CODES = {"1302", "1303", "1305"}
_SERVER_CODES = {"1200", "1230", "1234"}

CLASS_BY_CODE: Mapping[str, type[GLMError]] = {
    **{code: GLMAuthError for code in _AUTH_CODES},
    **{code: GLMBadRequest for code in _BAD_REQUEST_CODES},
    **{code: GLMRateLimited for code in _RATE_LIMIT_CODES},
    **{code: GLMServerError for code in _SERVER_CODES},
    "1113": GLMBalanceExhausted,
    "1261": GLMPromptTooLong,
    "1301": GLMContentBlocked,
}

# A retry cannot change the answer to these: the key, the balance, the prompt or the request
# itself is the problem. The SDKs retry every 429, 1113 included, which is why the retry
# policy is ours.
NEVER_RETRY_CODES = frozenset(_AUTH_CODES | _BAD_REQUEST_CODES | {"1113", "1261", "1301"})


def class_for_status(status: int | None) -> type[GLMError]:
    """The class for an error body that carries no code this gateway knows."""
    if status is None:
        return GLMError
    if status == 401:
        return GLMAuthError
    if status == 408:
        return GLMTimeout
    if status == 429:
        return GLMRateLimited
    if status >= 500:
        return GLMServerError
    if 400 <= status < 500:
        return GLMBadRequest
    return GLMError


def error_from_response(
    status: int,
    body: bytes | str | Mapping | None,
    *,
    request_id: str | None = None,
) -> GLMError:
    """Turn an HTTP error response (or an in-body error object) into the matching GLMError.

    body may be the raw bytes, the decoded text, the parsed `{"error": {...}}` document or just
    its inner `{"code", "message"}` object, so that every SDK's idea of "the body" works.
    """
    document = _as_mapping(body)
    inner = document.get("error") if isinstance(document.get("error"), Mapping) else document
    raw_code = inner.get("code")
    code = str(raw_code).strip() if raw_code not in (None, "") else None
    detail = inner.get("message") if isinstance(inner.get("message"), str) else ""
    found_request_id = request_id or _first_text(document, "request_id", "id") or _first_text(inner, "request_id")

    error_class = CLASS_BY_CODE.get(code) if code else None
    if error_class is None:
        error_class = class_for_status(status)
    return error_class(
        detail,
        code=code or f"http_{status}",
        http_status=status,
        request_id=found_request_id,
    )


def _as_mapping(body: bytes | str | Mapping | None) -> Mapping:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, Mapping) else {}


def _first_text(document: Mapping, *keys: str) -> str | None:
    for key in keys:
        value = document.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def error_from_frame(body: object) -> GLMStreamInterrupted:
    """An in-stream `data: {"error": {...}}` frame: the reply broke, whatever code it names."""
    parsed = error_from_response(200, body if isinstance(body, dict) else None)
    code = parsed.code if not parsed.code.startswith("http_") else "stream_error_frame"
    return GLMStreamInterrupted(parsed.detail, code=code, http_status=200, request_id=parsed.request_id)
