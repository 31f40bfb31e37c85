"""The language a socket's user reads, from the same signals Django's LocaleMiddleware uses."""
from __future__ import annotations

from http.cookies import SimpleCookie

from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header


def language_from_scope(scope) -> str:
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    candidates = []
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header just means no preference
        pass
    if settings.LANGUAGE_COOKIE_NAME in cookie:
        candidates.append(cookie[settings.LANGUAGE_COOKIE_NAME].value)
    candidates += [code for code, _quality in parse_accept_lang_header(headers.get("accept-language", ""))]
    for code in candidates:
        if code == "*":
            continue
        try:
            return get_supported_language_variant(code.lower())
        except LookupError:
            continue
    return settings.LANGUAGE_CODE
