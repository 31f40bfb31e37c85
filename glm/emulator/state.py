"""Configuration and the shared in-memory state of one running emulator."""
from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from .auth import DEFAULT_API_KEY, ApiKey
from .faults import FailureCounter
from .files import ExpiringFileStore
from .log import RequestLog, RequestRecord
from .ratelimit import RateLimiter

API_PREFIX = "/api/paas/v4"


@dataclass(frozen=True)
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    api_key: ApiKey = field(default_factory=lambda: ApiKey.parse(DEFAULT_API_KEY))
    tier: str = "off"
    max_concurrency: int | None = None
    first_token_ms: float = 300
    chunk_delay_ms: float = 20
    image_ttl_seconds: float = 3600.0
    # How long an idle keep-alive connection stays open (aiohttp's and nginx's default).
    keepalive_seconds: float = 75.0
    quiet: bool = False


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.log = RequestLog()
        self.limiter = RateLimiter(tier=config.tier, max_concurrency=config.max_concurrency)
        self.failures = FailureCounter()
        self.files = ExpiringFileStore(config.image_ttl_seconds)

    def reset(self) -> None:
        """Clear the request log, the [[glm-error:CODE#K]] counters and the RPM windows."""
        self.log.clear()
        self.failures.reset()
        self.limiter.reset()


STATE = web.AppKey("emulator_state", EmulatorState)
RECORD = "emulator_record"


def state_of(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def record_of(request: web.Request) -> RequestRecord:
    return request[RECORD]
