"""One log line per GLM request on the "glm" logger.

It names the model, the outcome, HTTP status or error code, GLM's request id, latency and the
attempt number. It never carries message text or the API key, so it is safe to ship to any log
store.
"""
from __future__ import annotations

import logging
import time

from glm.errors import GLMError

logger = logging.getLogger("glm")


def log_call(
    *,
    operation: str,
    model: str,
    attempt: int,
    started_at: float,
    outcome: str,
    status: int | None = None,
    request_id: str | None = None,
    error: GLMError | None = None,
    finish_reason: str | None = None,
) -> None:
    """Record one request. `started_at` is a time.monotonic() reading; attempt 1 is the first try."""
    latency_ms = round((time.monotonic() - started_at) * 1000)
    if error is not None and error.http_status is not None:
        status = error.http_status
    code = error.code if error is not None else None
    request_id = request_id or (error.request_id if error is not None else None)
    fields = {
        "operation": operation,
        "model": model,
        "outcome": outcome,
        "status": status,
        "code": code,
        "finish_reason": finish_reason,
        "request_id": request_id,
        "latency_ms": latency_ms,
        "attempt": attempt,
    }
    level = logging.INFO if outcome in ("ok", "cancelled") else logging.WARNING
    logger.log(
        level,
        "glm %s model=%s outcome=%s status=%s code=%s finish=%s request_id=%s latency_ms=%d attempt=%d",
        operation, model, outcome, status, code, finish_reason, request_id, latency_ms, attempt,
        extra={"glm": fields},
    )
