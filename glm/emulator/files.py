"""In-memory store of generated images, each served until its time to live passes."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Delivery:
    """How GET /files/ sends a file: at once, or in pieces with pauses and no Content-Length
    (the [[glm-file-...]] download triggers)."""

    pause_ms: int = 0
    chunked: bool = False


PLAIN = Delivery()


class ExpiringFileStore:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._files: dict[str, tuple[float, bytes, Delivery]] = {}

    def put_png(self, data: bytes, *, ttl_seconds: float | None = None, delivery: Delivery = PLAIN) -> str:
        """Store PNG bytes; return the file name to put in the URL (`<random>_0.png`)."""
        self._drop_expired()
        name = f"{secrets.token_hex(16)}_0.png"
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        self._files[name] = (self._clock() + ttl, data, delivery)
        return name

    def get(self, name: str) -> bytes | None:
        entry = self._entry(name)
        return None if entry is None else entry[1]

    def delivery_of(self, name: str) -> Delivery:
        entry = self._entry(name)
        return PLAIN if entry is None else entry[2]

    def _entry(self, name: str) -> tuple[float, bytes, Delivery] | None:
        entry = self._files.get(name)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            del self._files[name]
            return None
        return entry

    def _drop_expired(self) -> None:
        now = self._clock()
        for name in [name for name, (expires_at, _, _) in self._files.items() if now >= expires_at]:
            del self._files[name]
