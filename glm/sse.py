"""Server-sent events, read from the bytes as they arrive: the data of each complete event.

The streaming client reads GLM's replies with this rather than through the OpenAI SDK's
stream: the SDK validates every chunk into a pydantic model (and the gateway turned it back
into a dict), which cost about five times the CPU of reading the JSON itself — at hundreds of
simultaneous replies, the difference between keeping up and falling behind. Only what GLM's
streams use is read: `data:` lines (joined when an event has several), events ending at a
blank line, any of the three line endings; comments, `event:`, `id:` and `retry:` fields are
skipped.
"""
from __future__ import annotations


class SSEDecoder:
    """Feed it the body's bytes block by block; it returns each completed event's data."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, block: bytes) -> list[str]:
        text = self._pending + block
        # A block may end between the \r and \n of one line ending: keep that \r for later.
        keep_cr = text.endswith(b"\r")
        if keep_cr:
            text = text[:-1]
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *events, rest = text.split(b"\n\n")
        self._pending = rest + (b"\r" if keep_cr else b"")
        return [data for data in map(_event_data, events) if data is not None]

    def finish(self) -> list[str]:
        """The last event when the body ended without its blank line."""
        rest, self._pending = self._pending.rstrip(b"\r\n"), b""
        data = _event_data(rest) if rest else None
        return [] if data is None else [data]


def _event_data(event: bytes) -> str | None:
    if event.startswith(b"data: ") and b"\n" not in event:
        return event[6:].decode("utf-8")  # the usual shape: one data line
    lines = [line for line in event.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None
    return "\n".join(_field_value(line[5:]) for line in lines)


def _field_value(value: bytes) -> str:
    return (value[1:] if value.startswith(b" ") else value).decode("utf-8")
