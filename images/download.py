"""Fetching CogView's picture from its temporary URL, bounded in time and bytes.

The URL comes from the API's answer, so nothing about it is trusted: the size is counted as the
bytes arrive (a Content-Length header may be absent or wrong), and the time is bounded three
ways — opening the connection, each wait for bytes, and the download as a whole.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class DownloadLimits:
    max_bytes: int
    connect_timeout: float
    read_timeout: float
    total_timeout: float


class DownloadFailed(Exception):
    """reason: "expired" (404/410), "too_big", "too_slow" or "failed" (anything else)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


_MAX_REDIRECTS = 3


def download(url: str, *, limits: DownloadLimits) -> bytes:
    """The body at url, or DownloadFailed.

    The total timeout is checked as each piece arrives, so a download that stalls ends within
    one read timeout of it; a steady trickle ends at it.
    """
    if not url.startswith(("http://", "https://")):
        raise DownloadFailed("failed", "not an http(s) URL")
    deadline = time.monotonic() + limits.total_timeout
    timeout = httpx.Timeout(
        connect=limits.connect_timeout,
        read=min(limits.read_timeout, limits.total_timeout),
        write=limits.connect_timeout,
        pool=limits.connect_timeout,
    )
    try:
        # trust_env=False: a proxy or .netrc in the worker's environment must not see the URL.
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=_MAX_REDIRECTS, trust_env=False) as client:
            with client.stream("GET", url) as response:
                return _read_body(response, limits=limits, deadline=deadline)
    except httpx.TimeoutException as exc:
        raise DownloadFailed("too_slow", type(exc).__name__) from exc
    except httpx.HTTPError as exc:
        raise DownloadFailed("failed", type(exc).__name__) from exc


def _read_body(response: httpx.Response, *, limits: DownloadLimits, deadline: float) -> bytes:
    if response.status_code in (404, 410):
        raise DownloadFailed("expired", f"HTTP {response.status_code}")
    if response.status_code != 200:
        raise DownloadFailed("failed", f"HTTP {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise DownloadFailed("too_big", f"Content-Length {declared}")
    body = bytearray()
    # iter_bytes decodes any Content-Encoding, so the cap applies to what is kept, not what was
    # sent: a small compressed body cannot expand past it.
    for piece in response.iter_bytes():
        body += piece
        if len(body) > limits.max_bytes:
            raise DownloadFailed("too_big", f"more than {limits.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise DownloadFailed("too_slow", f"longer than {limits.total_timeout} s")
    return bytes(body)
