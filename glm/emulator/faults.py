"""Directives written into a prompt as [[glm-...]] that make the emulator misbehave on purpose.

They are read only from the message being answered (the last message, when it is a user
message) or from an image prompt, so a trigger left in the history never fires again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ERROR = re.compile(r"\[\[glm-error:([0-9A-Za-z_]+)(?:#(\d+))?\]\]")
_CUT = re.compile(r"\[\[glm-cut:([a-z_]+)@(\d+)\]\]")
_DROP = re.compile(r"\[\[glm-drop@(\d+)\]\]")
_FRAME_ERROR = re.compile(r"\[\[glm-frame-error:([0-9A-Za-z_]+)@(\d+)\]\]")
_SLOW = re.compile(r"\[\[glm-slow:(\d+)\]\]")
_HANG = re.compile(r"\[\[glm-hang\]\]")
_LENGTH = re.compile(r"\[\[glm-len:(\d+)\]\]")
# How /files/ serves a generated picture (image prompts only).
_FILE = re.compile(r"\[\[glm-file:(expired|not-image)\]\]")
_FILE_PAD = re.compile(r"\[\[glm-file-pad:(\d+)\]\]")
_FILE_SLOW = re.compile(r"\[\[glm-file-slow:(\d+)\]\]")


@dataclass(frozen=True)
class Triggers:
    error_code: str | None = None
    # None: fail every time; K: fail only the first K requests carrying the same text.
    error_times: int | None = None
    cut_reason: str | None = None
    cut_after: int = 0
    drop_after: int | None = None
    frame_error_code: str | None = None
    frame_error_after: int = 0
    slow_ms: int | None = None
    hang: bool = False
    length: int | None = None
    file_fault: str | None = None
    file_pad: int | None = None
    file_slow_ms: int | None = None


NO_TRIGGERS = Triggers()


def parse_triggers(text: str | None) -> Triggers:
    if not text or "[[glm-" not in text:
        return NO_TRIGGERS
    error = _ERROR.search(text)
    cut = _CUT.search(text)
    drop = _DROP.search(text)
    frame_error = _FRAME_ERROR.search(text)
    slow = _SLOW.search(text)
    length = _LENGTH.search(text)
    file_fault = _FILE.search(text)
    file_pad = _FILE_PAD.search(text)
    file_slow = _FILE_SLOW.search(text)
    return Triggers(
        error_code=error.group(1) if error else None,
        error_times=int(error.group(2)) if error and error.group(2) is not None else None,
        cut_reason=cut.group(1) if cut else None,
        cut_after=int(cut.group(2)) if cut else 0,
        drop_after=int(drop.group(1)) if drop else None,
        frame_error_code=frame_error.group(1) if frame_error else None,
        frame_error_after=int(frame_error.group(2)) if frame_error else 0,
        slow_ms=int(slow.group(1)) if slow else None,
        hang=bool(_HANG.search(text)),
        length=int(length.group(1)) if length else None,
        file_fault=file_fault.group(1) if file_fault else None,
        file_pad=int(file_pad.group(1)) if file_pad else None,
        file_slow_ms=int(file_slow.group(1)) if file_slow else None,
    )


class FailureCounter:
    """Counts requests per (API key, trigger text) so `[[glm-error:CODE#K]]` fails only K times."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}

    def should_fail(self, key_id: str, text: str, times: int | None) -> bool:
        if times is None:
            return True
        count = self._seen.get((key_id, text), 0) + 1
        self._seen[(key_id, text)] = count
        return count <= times

    def reset(self) -> None:
        self._seen.clear()
