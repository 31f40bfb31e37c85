"""What a person is told when a GLM call fails, in English and Simplified Chinese.

Texts are keyed by error kind (one per GLMError subclass) with a few per-code refinements. They
never carry the API's raw message, which is for logs and is often in the wrong language.
"""
from __future__ import annotations

from typing import Mapping

ENGLISH = "en"
CHINESE = "zh-hans"

_BY_KIND: Mapping[str, Mapping[str, str]] = {
    "auth": {
        ENGLISH: "The site's API key was rejected by the GLM service — tell your administrator.",
        CHINESE: "本站的 API 密钥被 GLM 服务拒绝，请联系管理员。",
    },
    "balance": {
        ENGLISH: "The account's balance with the GLM service is used up — tell your administrator.",
        CHINESE: "本站在 GLM 服务的账户余额已用完，请联系管理员。",
    },
    "bad_request": {
        ENGLISH: "The GLM service rejected the request as invalid.",
        CHINESE: "GLM 服务认为该请求无效，已拒绝。",
    },
    "prompt_too_long": {
        ENGLISH: "The conversation is too long for this model — start a new conversation or shorten your message.",
        CHINESE: "对话内容超出了该模型的长度上限，请开始新对话或缩短消息。",
    },
    "content_blocked": {
        ENGLISH: "This was blocked by the provider's content check — please rephrase.",
        CHINESE: "内容未通过服务商的安全审核，请换一种说法。",
    },
    "rate_limited": {
        ENGLISH: "The model is busy right now — please try again in a moment.",
        CHINESE: "模型当前繁忙，请稍后再试。",
    },
    "server_error": {
        ENGLISH: "The GLM service had an internal error — please try again in a moment.",
        CHINESE: "GLM 服务内部出错，请稍后再试。",
    },
    "timeout": {
        ENGLISH: "The GLM service did not answer in time — please try again.",
        CHINESE: "GLM 服务没有及时响应，请重试。",
    },
    "connection": {
        ENGLISH: "The GLM service did not answer: the site could not reach it. Please try again later.",
        CHINESE: "GLM 服务没有响应：本站无法连接到它，请稍后再试。",
    },
    "stream_interrupted": {
        ENGLISH: "The reply was interrupted — please try again.",
        CHINESE: "回复被中断，请重试。",
    },
    "unknown": {
        ENGLISH: "The GLM service returned an unexpected error — please try again later.",
        CHINESE: "GLM 服务返回了意外错误，请稍后再试。",
    },
}

# Codes whose cause a person can act on better than the kind's general text suggests.
_BY_CODE: Mapping[str, Mapping[str, str]] = {
    "1211": {
        ENGLISH: "This model is not available from the GLM service — choose another model.",
        CHINESE: "GLM 服务上没有这个模型，请换一个模型。",
    },
    "1220": {
        ENGLISH: "The site's account may not use this model — tell your administrator.",
        CHINESE: "本站账户无权使用该模型，请联系管理员。",
    },
}


def normalise_language(language: str | None) -> str:
    """Any Chinese language tag ("zh", "zh-hans", "zh_CN", ...) reads Simplified Chinese."""
    if language and language.strip().lower().startswith("zh"):
        return CHINESE
    return ENGLISH


def user_message_for(*, kind: str, code: str, language: str) -> str:
    texts = _BY_CODE.get(code) or _BY_KIND.get(kind) or _BY_KIND["unknown"]
    return texts[normalise_language(language)]
