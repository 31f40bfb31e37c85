"""The request log the introspection API serves, so tests can see what reached the 'API'."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, field

# A demo left running for days must not grow without bound.
MAX_RECORDS = 50_000


@dataclass
class RequestRecord:
    path: str
    started_at: float = field(default_factory=time.time)
    model: str | None = None
    stream: bool = False
    status: int | None = None
    api_key_id: str | None = None
    last_user_text: str | None = None
    message_count: int = 0
    finished: bool = False
    chunks_sent: int = 0
    client_disconnected: bool = False
    ended_at: float | None = None

    def finish(self, *, disconnected: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        self.client_disconnected = self.client_disconnected or disconnected
        self.ended_at = time.time()


class RequestLog:
    def __init__(self) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=MAX_RECORDS)

    def start(self, path: str) -> RequestRecord:
        record = RequestRecord(path=path)
        self._records.append(record)
        return record

    def as_json(self) -> list[dict]:
        return [asdict(record) for record in self._records]

    def clear(self) -> None:
        self._records.clear()
