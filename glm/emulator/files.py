"""In-memory store of generated images, each served until its time to live passes."""
from __future__ import annotations

import secrets
import time
from typing import Callable


class ExpiringFileStore:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._files: dict[str, tuple[float, bytes]] = {}

    def put_png(self, data: bytes) -> str:
        """Store PNG bytes; return the file name to put in the URL (`<random>_0.png`)."""
        self._drop_expired()
        name = f"{secrets.token_hex(16)}_0.png"
        self._files[name] = (self._clock() + self.ttl_seconds, data)
        return name

    def get(self, name: str) -> bytes | None:
        entry = self._files.get(name)
        if entry is None:
            return None
        expires_at, data = entry
        if self._clock() >= expires_at:
            del self._files[name]
            return None
        return data

    def _drop_expired(self) -> None:
        now = self._clock()
        for name in [name for name, (expires_at, _) in self._files.items() if now >= expires_at]:
            del self._files[name]
