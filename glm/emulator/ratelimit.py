"""Per-key limits: requests per minute per model (by tier) and requests open at once."""
from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Callable

from .catalog import rpm_limit
from .errors import EmulatorError

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self, *, tier: str = "off", max_concurrency: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.tier = tier
        self.max_concurrency = max_concurrency
        self._clock = clock
        self._recent: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._open: dict[str, int] = defaultdict(int)

    def acquire(self, key_id: str, model: str) -> "Slot":
        """Admit one request or raise 429/1302; the caller must release the slot it gets."""
        if self.max_concurrency and self._open[key_id] >= self.max_concurrency:
            raise EmulatorError("1302")
        limit = rpm_limit(model, self.tier)
        if limit is not None:
            now = self._clock()
            recent = self._recent[(key_id, model)]
            while recent and now - recent[0] >= WINDOW_SECONDS:
                recent.popleft()
            if len(recent) >= limit:
                # The platform answers an RPM overrun with 1302, the code users see in practice.
                raise EmulatorError("1302")
            recent.append(now)
        self._open[key_id] += 1
        return Slot(self, key_id)

    def _release(self, key_id: str) -> None:
        self._open[key_id] -= 1
        if self._open[key_id] <= 0:
            del self._open[key_id]

    def reset(self) -> None:
        """Forget the RPM windows; requests still open keep their concurrency slots."""
        self._recent.clear()


class Slot:
    def __init__(self, limiter: RateLimiter, key_id: str) -> None:
        self._limiter = limiter
        self._key_id = key_id
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limiter._release(self._key_id)
