"""Translation of the zhipuai SDK's exceptions into GLMError, so no SDK type leaves the gateway."""
from __future__ import annotations

import zhipuai.core._errors as zhipuai_errors

from glm.errors import (
    GLMConnectionError,
    GLMError,
    GLMServerError,
    GLMTimeout,
    error_from_frame,
    error_from_response,
)


def from_zhipuai_error(exc: zhipuai_errors.ZhipuAIError) -> GLMError:
    # Order matters: the timeout and connection errors subclass APIResponseError.
    if isinstance(exc, zhipuai_errors.APITimeoutError):
        return GLMTimeout("no response within the timeout")
    if isinstance(exc, zhipuai_errors.APIConnectionError):
        return GLMConnectionError("could not connect")
    if isinstance(exc, zhipuai_errors.APIStatusError):
        return error_from_response(exc.status_code, _zhipuai_body(exc))
    if isinstance(exc, zhipuai_errors.APIResponseValidationError):
        return GLMServerError("response did not match the expected schema", code="invalid_response")
    if isinstance(exc, zhipuai_errors.APIResponseError):
        return error_from_frame(exc.json_data)
    return GLMError(type(exc).__name__)


def _zhipuai_body(exc: zhipuai_errors.APIStatusError) -> bytes | None:
    try:
        return exc.response.content
    except Exception:  # an unread streamed body: the status alone has to do
        return None
