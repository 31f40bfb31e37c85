"""The error model: every code of the API's error table maps to one class, status and retry rule."""
from __future__ import annotations

import pytest

from glm.errors import (
    GLMAuthError,
    GLMBadRequest,
    GLMBalanceExhausted,
    GLMConnectionError,
    GLMContentBlocked,
    GLMError,
    GLMPromptTooLong,
    GLMRateLimited,
    GLMServerError,
    GLMStreamInterrupted,
    GLMTimeout,
    error_from_response,
)
from tests.gateway.conftest import TEST_API_KEY
from tests.gateway.sample_server import sample_bytes

# (HTTP status, code, class, retryable) — the table of the API reference, one row per code.
ERROR_TABLE = [
    (401, "1000", GLMAuthError, False),
    (401, "1001", GLMAuthError, False),
    (401, "1002", GLMAuthError, False),
    (401, "1003", GLMAuthError, False),
    (401, "1005", GLMAuthError, False),
    (401, "401", GLMAuthError, False),
    (400, "1210", GLMBadRequest, False),
    (400, "1211", GLMBadRequest, False),
    (400, "1212", GLMBadRequest, False),
    (400, "1213", GLMBadRequest, False),
    (400, "1214", GLMBadRequest, False),
    (400, "1215", GLMBadRequest, False),
    (400, "1221", GLMBadRequest, False),
    (400, "1222", GLMBadRequest, False),
    (400, "1261", GLMPromptTooLong, False),
    (400, "1301", GLMContentBlocked, False),
    (403, "1220", GLMBadRequest, False),
    (429, "1113", GLMBalanceExhausted, False),
    (429, "1302", GLMRateLimited, True),
    (429, "1303", GLMRateLimited, True),
    (429, "1305", GLMRateLimited, True),
    (500, "1200", GLMServerError, True),
    (500, "1230", GLMServerError, True),
    (500, "1234", GLMServerError, True),
]

ALL_CLASSES = [
    GLMError, GLMAuthError, GLMBalanceExhausted, GLMBadRequest, GLMPromptTooLong, GLMContentBlocked,
    GLMRateLimited, GLMServerError, GLMTimeout, GLMConnectionError, GLMStreamInterrupted,
]


@pytest.mark.parametrize(("status", "code", "error_class", "retryable"), ERROR_TABLE, ids=[row[1] for row in ERROR_TABLE])
def test_each_documented_error_body_maps_to_its_class(status, code, error_class, retryable):
    error = error_from_response(status, sample_bytes(f"errors/{status}_{code}.json"))

    assert type(error) is error_class
    assert error.code == code
    assert error.http_status == status
    assert error.retryable is retryable


@pytest.mark.parametrize(("status", "code", "error_class", "retryable"), ERROR_TABLE, ids=[row[1] for row in ERROR_TABLE])
def test_each_error_has_distinct_english_and_chinese_messages_without_the_raw_body(status, code, error_class, retryable):
    body = sample_bytes(f"errors/{status}_{code}.json").decode()
    error = error_from_response(status, body)

    english, chinese = error.user_message("en"), error.user_message("zh-hans")

    assert english and chinese and english != chinese
    assert code not in english and code not in chinese
    assert "\"message\"" not in english and "{" not in english and "{" not in chinese
    assert error.detail not in (english, chinese)


@pytest.mark.parametrize("error_class", ALL_CLASSES)
def test_every_error_kind_has_its_own_text_in_both_languages(error_class):
    error = error_class("detail")
    others = [other("detail") for other in ALL_CLASSES if other is not error_class]

    for language in ("en", "zh-hans"):
        assert error.user_message(language)
        assert error.user_message(language) not in {other.user_message(language) for other in others}


@pytest.mark.parametrize("language", ["zh", "zh-hans", "zh-Hans", "zh_CN", "zh-cn"])
def test_any_chinese_language_tag_reads_simplified_chinese(language):
    assert GLMContentBlocked().user_message(language) == "内容未通过服务商的安全审核，请换一种说法。"


def test_other_languages_fall_back_to_english():
    assert GLMRateLimited().user_message("fr") == GLMRateLimited().user_message("en")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (GLMContentBlocked(), "blocked by the provider's content check — please rephrase"),
        (GLMBalanceExhausted(), "balance with the GLM service is used up — tell your administrator"),
        (GLMPromptTooLong(), "conversation is too long for this model"),
        (GLMRateLimited(), "model is busy"),
        (GLMAuthError(), "API key was rejected by the GLM service — tell your administrator"),
        (GLMTimeout(), "GLM service did not answer"),
        (GLMConnectionError(), "GLM service did not answer"),
        (GLMStreamInterrupted(), "reply was interrupted"),
    ],
)
def test_user_messages_say_what_happened_and_what_to_do(error, words):
    assert words in error.user_message("en")


def test_a_body_may_be_given_parsed_or_as_the_inner_error_object():
    whole = {"error": {"code": "1305", "message": "该模型当前访问量过大，请您稍后再试"}}

    assert type(error_from_response(429, whole)) is GLMRateLimited
    assert type(error_from_response(429, whole["error"])) is GLMRateLimited


def test_a_numeric_code_is_read_as_text():
    assert error_from_response(400, {"error": {"code": 1301, "message": "x"}}).code == "1301"


def test_the_code_decides_over_the_status():
    # 1113 comes with 429 like a rate limit, but no retry will refill the balance.
    error = error_from_response(429, {"error": {"code": "1113", "message": "余额不足"}})

    assert type(error) is GLMBalanceExhausted and not error.retryable


@pytest.mark.parametrize(
    ("status", "error_class", "retryable"),
    [(400, GLMBadRequest, False), (401, GLMAuthError, False), (404, GLMBadRequest, False),
     (429, GLMRateLimited, True), (500, GLMServerError, True), (502, GLMServerError, True),
     (503, GLMServerError, True), (504, GLMServerError, True)],
)
def test_an_unknown_or_missing_code_falls_back_to_the_status(status, error_class, retryable):
    error = error_from_response(status, {"error": {"code": "9999", "message": "new"}})
    bare = error_from_response(status, None)

    assert type(error) is error_class and error.retryable is retryable and error.code == "9999"
    assert type(bare) is error_class and bare.code == f"http_{status}"


def test_a_proxy_html_page_is_a_server_error_without_its_html_anywhere():
    error = error_from_response(502, sample_bytes("errors/502_proxy.html"))

    assert type(error) is GLMServerError and error.retryable
    assert "<html>" not in str(error) and "<html>" not in error.user_message()


def test_usage_and_request_id_travel_with_the_error():
    from glm.events import Usage

    error = GLMContentBlocked("sensitive", usage=Usage(prompt_tokens=3, completion_tokens=2), request_id="r1")

    assert error.usage.total_tokens == 5 and error.request_id == "r1"


def test_repr_and_str_name_the_code_not_any_secret():
    error = error_from_response(401, sample_bytes("errors/401_401.json"))

    assert "401" in repr(error) and "401" in str(error)
    assert TEST_API_KEY not in repr(error) + str(error) + error.user_message()
