"""When and how long to wait before trying a failed GLM call again.

This is the only retry in the gateway: both SDKs are built with max_retries=0, because their
defaults retry every 429 (1113 "no balance" included) and would hide attempts from our logs.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from glm.errors import NEVER_RETRY_CODES, GLMError

# Statuses whose answer a retry cannot change, whatever code the body carries.
_NEVER_RETRY_STATUSES = frozenset({400, 401, 403, 404, 422})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter.

    max_attempts counts retries after the first try (3 means at most 4 requests). The ceiling of
    retry n is base_delay * 2**(n-1), capped at max_delay; the pause is drawn uniformly from
    [0, ceiling] so that many clients hit by the same overload do not return in step.
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    # Injected in tests to make the jitter observable; production uses the module's generator.
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise ValueError("RetryPolicy.max_attempts must be 0 or more")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def should_retry(self, error: GLMError, attempt: int) -> bool:
        """Whether retry number `attempt` (1 for the first retry) may follow `error`."""
        if attempt > self.max_attempts or not error.retryable:
            return False
        if error.code in NEVER_RETRY_CODES:
            return False
        return error.http_status not in _NEVER_RETRY_STATUSES

    def ceiling(self, attempt: int) -> float:
        """The longest pause before retry number `attempt`."""
        exponent = max(attempt - 1, 0)
        # Capping the exponent keeps 2**n finite for absurd attempt numbers.
        return min(self.max_delay, self.base_delay * (2.0 ** min(exponent, 62)))

    def delay(self, attempt: int) -> float:
        """The pause in seconds before retry number `attempt`: uniform in [0, ceiling(attempt)]."""
        return self.rng.uniform(0.0, self.ceiling(attempt))


NO_RETRY = RetryPolicy(max_attempts=0)
