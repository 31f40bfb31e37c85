"""Downloading CogView's picture: bounded in bytes and time, over real HTTP to a small local
server that misbehaves on request."""
from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from images.download import DownloadFailed, DownloadLimits, download

LIMITS = DownloadLimits(max_bytes=10_000, connect_timeout=2, read_timeout=0.5, total_timeout=1.0)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        route = {
            "/ok": self._ok,
            "/gone": lambda: self._status(404),
            "/error": lambda: self._status(503),
            "/declared-too-big": self._declared_too_big,
            "/chunked-too-big": self._chunked_too_big,
            "/gzip-bomb": self._gzip_bomb,
            "/stall": self._stall,
            "/trickle": self._trickle,
            "/redirect": self._redirect,
        }[self.path]
        route()

    def _ok(self):
        self._body(b"x" * 5000)

    def _status(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _body(self, data, **headers):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _declared_too_big(self):
        self.send_response(200)
        self.send_header("Content-Length", "50000000")
        self.end_headers()
        self.wfile.write(b"x" * 100)

    def _chunked(self, pieces, pause=0.0):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for piece in pieces:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
                time.sleep(pause)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _chunked_too_big(self):
        self._chunked([b"y" * 4000] * 10)

    def _gzip_bomb(self):
        self._body(gzip.compress(b"\0" * 1_000_000), Content_Encoding="gzip")

    def _stall(self):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"z" * 10)
        self.wfile.flush()
        time.sleep(3)

    def _trickle(self):
        # Every piece comes within the read timeout; the whole takes longer than the total.
        self._chunked([b"t" * 10] * 12, pause=0.2)

    def _redirect(self):
        self.send_response(302)
        self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _reason(url):
    with pytest.raises(DownloadFailed) as failed:
        download(url, limits=LIMITS)
    return failed.value.reason


def test_a_normal_download_returns_the_body(server):
    assert download(f"{server}/ok", limits=LIMITS) == b"x" * 5000
    assert download(f"{server}/redirect", limits=LIMITS) == b"x" * 5000


def test_a_missing_file_means_the_link_expired(server):
    assert _reason(f"{server}/gone") == "expired"


def test_a_server_error_fails(server):
    assert _reason(f"{server}/error") == "failed"


def test_a_declared_length_over_the_cap_is_refused_before_reading(server):
    started = time.monotonic()
    assert _reason(f"{server}/declared-too-big") == "too_big"
    assert time.monotonic() - started < 0.5


def test_bytes_are_counted_when_no_length_is_declared(server):
    assert _reason(f"{server}/chunked-too-big") == "too_big"


def test_the_cap_applies_to_decompressed_bytes(server):
    assert _reason(f"{server}/gzip-bomb") == "too_big"


def test_a_stalled_download_ends_at_the_read_timeout(server):
    started = time.monotonic()
    assert _reason(f"{server}/stall") == "too_slow"
    assert time.monotonic() - started < 1.5


def test_a_trickle_ends_at_the_total_timeout(server):
    started = time.monotonic()
    assert _reason(f"{server}/trickle") == "too_slow"
    assert 0.9 < time.monotonic() - started < 1.8


def test_only_http_urls_are_fetched():
    assert _reason("file:///etc/passwd") == "failed"


def test_an_unreachable_host_fails():
    # Port 9 on localhost: nothing listens, the connection is refused at once.
    assert _reason("http://127.0.0.1:9/x.png") == "failed"
