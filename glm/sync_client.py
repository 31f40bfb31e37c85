"""The synchronous client, for Celery workers and other blocking code (chat and CogView images).

It wraps the zhipuai SDK with its retries off and explicit timeouts, so RetryPolicy is the only
retry and every attempt is logged; zhipuai's exceptions come out as GLMError.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable, TypeVar

import httpx
import zhipuai
import zhipuai.core._errors as zhipuai_errors

from glm.call_log import log_call
from glm.chunks import parse_completion
from glm.errors import GLMContentBlocked, GLMError, GLMServerError
from glm.results import ChatResult, ImageResult
from glm.retry import RetryPolicy
from glm.sdk_errors import from_zhipuai_error

_Result = TypeVar("_Result")


class SyncClient:
    """Blocking GLM calls. Safe to share between threads; create one per worker process."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        connect_timeout: float = 8.0,
        read_timeout: float = 120.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._base_url = base_url
        self._retry = retry or RetryPolicy()
        self._sdk = zhipuai.ZhipuAI(
            api_key=api_key,
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"SyncClient(base_url={self._base_url!r})"

    def close(self) -> None:
        self._sdk.close()

    def chat(
        self,
        *,
        model: str,
        messages: list[dict],
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        tools: list[dict] | None = None,
        user_id: str | None = None,
    ) -> ChatResult:
        """One non-streamed chat completion, retried under the policy."""
        options = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "tools": tools, "user_id": user_id}
        # zhipuai strips "data:" prefixes from image parts in place; the caller's messages must
        # stay as they were (they may be stored or sent again).
        request = {"model": model, "messages": copy.deepcopy(messages)}
        request.update({name: value for name, value in options.items() if value is not None})

        def call() -> ChatResult:
            completion = self._sdk.chat.completions.create(**request)
            return parse_completion(_as_dict(completion))

        return self._with_retries(operation="chat.complete", model=model, call=call)

    def generate_image(
        self,
        *,
        model: str,
        prompt: str,
        size: str = "1024x1024",
        quality: str | None = None,
        user_id: str | None = None,
    ) -> ImageResult:
        """One CogView picture. The URL expires: download it straight away."""
        request: dict[str, Any] = {"model": model, "prompt": prompt, "size": size}
        if quality is not None:
            request["quality"] = quality
        if user_id is not None:
            request["user_id"] = user_id

        def call() -> ImageResult:
            return _image_result(_as_dict(self._sdk.images.generations(**request)))

        return self._with_retries(operation="images.generate", model=model, call=call)

    def _with_retries(self, *, operation: str, model: str, call: Callable[[], _Result]) -> _Result:
        retries = 0
        while True:
            started_at = time.monotonic()
            try:
                try:
                    result = call()
                except zhipuai_errors.ZhipuAIError as exc:
                    raise from_zhipuai_error(exc) from exc
            except GLMError as error:
                log_call(
                    operation=operation, model=model, attempt=retries + 1, started_at=started_at,
                    outcome="error", error=error,
                )
                if not self._retry.should_retry(error, retries + 1):
                    raise
            else:
                log_call(
                    operation=operation, model=model, attempt=retries + 1, started_at=started_at,
                    outcome="ok", status=200, request_id=getattr(result, "request_id", None),
                    finish_reason=getattr(result, "finish_reason", None),
                )
                return result
            retries += 1
            time.sleep(self._retry.delay(retries))


def _image_result(document: dict) -> ImageResult:
    request_id = document.get("request_id") or document.get("id")
    images = [item for item in document.get("data") or () if isinstance(item, dict) and item.get("url")]
    if images:
        return ImageResult(url=str(images[0]["url"]), created=int(document.get("created") or 0), request_id=request_id)
    if document.get("content_filter"):
        raise GLMContentBlocked("no image: the content filter withheld it", code="1301", http_status=200, request_id=request_id)
    raise GLMServerError("the response carried no image URL", code="no_image", http_status=200, request_id=request_id)


def _as_dict(model: Any) -> dict:
    """zhipuai models keep unknown fields (request_id, prompt_tokens_details) as extras."""
    if isinstance(model, dict):
        return model
    return model.model_dump(mode="python", warnings=False)
