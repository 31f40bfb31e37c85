"""The Content-Security-Policy of every response.

Scripts, styles, fonts and frames come from this site only; no inline script or style, no
eval, no plugins, no framing by others. A response that already carries a policy (an
uploaded photo served with `default-src 'none'; sandbox`) keeps its own, stricter one.

The chat socket needs connect-src. CSP Level 3 lets 'self' match ws:/wss: on the same host,
but older Safari releases do not, so the socket's own origin is named explicitly, built from
the Host the request was accepted for (ALLOWED_HOSTS has vetted it) — never a bare `wss:`,
which would admit sockets to any host.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost

HEADER = "Content-Security-Policy"


def _origin(url: str) -> str | None:
    """scheme://host[:port] of an absolute URL, None for a path."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _socket_origin(request) -> str | None:
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


def policy_for(request) -> str:
    # The site's own asset origins, when the operator serves static files or media from a
    # host of their own (STATIC_URL / MEDIA_URL absolute), are the only other sources.
    static = [origin for origin in [_origin(str(settings.STATIC_URL))] if origin]
    media = [origin for origin in [_origin(str(settings.MEDIA_URL))] if origin]
    connect = ["'self'"]
    socket_origin = _socket_origin(request)
    if socket_origin:
        connect.append(socket_origin)
    directives = [
        ("default-src", ["'self'"]),
        ("script-src", ["'self'", *static]),
        ("style-src", ["'self'", *static]),
        ("img-src", ["'self'", "data:", "blob:", *static, *media]),
        ("font-src", ["'self'", *static]),
        ("connect-src", connect),
        ("object-src", ["'none'"]),
        ("base-uri", ["'self'"]),
        ("form-action", ["'self'"]),
        ("frame-ancestors", ["'none'"]),
    ]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy_for(request)
        return response
