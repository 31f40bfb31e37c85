"""RetryPolicy: what is retried, how often, and how long the pauses are."""
from __future__ import annotations

import random

import pytest

from glm.errors import (
    GLMAuthError,
    GLMBadRequest,
    GLMBalanceExhausted,
    GLMConnectionError,
    GLMContentBlocked,
    GLMPromptTooLong,
    GLMRateLimited,
    GLMServerError,
    GLMStreamInterrupted,
    GLMTimeout,
    error_from_response,
)
from glm.retry import RetryPolicy
from tests.gateway.test_errors import ERROR_TABLE


@pytest.mark.parametrize(("status", "code", "error_class", "retryable"), ERROR_TABLE, ids=[row[1] for row in ERROR_TABLE])
def test_retries_exactly_the_codes_the_table_calls_retryable(status, code, error_class, retryable):
    error = error_from_response(status, {"error": {"code": code, "message": ""}})

    assert RetryPolicy().should_retry(error, 1) is retryable


@pytest.mark.parametrize(
    "error",
    [GLMBalanceExhausted(http_status=429), GLMPromptTooLong(http_status=400), GLMContentBlocked(http_status=400),
     GLMBadRequest(code="1211", http_status=400), GLMAuthError(code="401", http_status=401),
     GLMAuthError(code="1001", http_status=401)],
)
def test_never_retries_what_a_retry_cannot_fix(error):
    assert not RetryPolicy(max_attempts=100).should_retry(error, 1)


def test_never_retries_a_never_retry_code_even_if_marked_retryable():
    # An in-stream error frame naming 1301 is a GLMStreamInterrupted, but the content check
    # will answer the same way a second time.
    frame = GLMStreamInterrupted(code="1301", http_status=200)

    assert frame.retryable and not RetryPolicy().should_retry(frame, 1)


def test_never_retries_a_400_or_401_whatever_the_class_claims():
    assert not RetryPolicy().should_retry(GLMServerError(code="9999", http_status=400, retryable=True), 1)
    assert not RetryPolicy().should_retry(GLMServerError(code="9999", http_status=401, retryable=True), 1)


@pytest.mark.parametrize(
    "error",
    [GLMRateLimited(code="1302", http_status=429), GLMServerError(http_status=503), GLMTimeout(),
     GLMConnectionError(), GLMStreamInterrupted(code="stream_dropped", http_status=200)],
)
def test_retries_transient_failures_up_to_max_attempts_retries(error):
    policy = RetryPolicy(max_attempts=3)

    assert [policy.should_retry(error, attempt) for attempt in (1, 2, 3, 4)] == [True, True, True, False]


def test_zero_attempts_means_no_retry():
    assert not RetryPolicy(max_attempts=0).should_retry(GLMServerError(http_status=500), 1)


def test_delay_ceiling_doubles_from_base_and_stops_at_max():
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)

    assert [policy.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert policy.ceiling(10_000) == 8.0


def test_delays_stay_within_zero_and_the_ceiling():
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, rng=random.Random(1))

    for attempt in range(1, 10):
        for _ in range(200):
            assert 0.0 <= policy.delay(attempt) <= policy.ceiling(attempt)


def test_delays_are_jittered_and_grow_on_average():
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, rng=random.Random(2))

    samples = {attempt: [policy.delay(attempt) for _ in range(400)] for attempt in (1, 2, 3, 4)}
    means = [sum(values) / len(values) for values in samples.values()]

    assert all(len(set(values)) > 300 for values in samples.values())
    assert means == sorted(means) and means[-1] > 4 * means[0]


def test_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=-1)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-0.1)
