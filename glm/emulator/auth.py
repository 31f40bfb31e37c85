"""Checks the Authorization header the way the platform does: raw key or HS256 JWT."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from .errors import EmulatorError

DEFAULT_API_KEY = "emulator-id.emulator-secret"


@dataclass(frozen=True)
class ApiKey:
    id: str
    secret: str

    @property
    def raw(self) -> str:
        return f"{self.id}.{self.secret}"

    @classmethod
    def parse(cls, raw: str) -> "ApiKey":
        key_id, dot, secret = raw.partition(".")
        if not dot or not key_id or not secret or "." in secret:
            raise ValueError("an API key looks like <id>.<secret>")
        return cls(key_id, secret)


def authenticate(header: str | None, key: ApiKey, *, now_ms: int | None = None) -> str:
    """Return the id half of the key the header proves, or raise the platform's 401 error."""
    if not header or not header.strip():
        raise EmulatorError("1001")
    token = header.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if hmac.compare_digest(token.encode(), key.raw.encode()):
        return key.id
    if token.count(".") == 2 and _jwt_is_valid(token, key, now_ms if now_ms is not None else _now_ms()):
        return key.id
    raise EmulatorError("401")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _jwt_is_valid(token: str, key: ApiKey, now_ms: int) -> bool:
    header_b64, payload_b64, signature_b64 = token.split(".")
    try:
        header = json.loads(_b64url_decode(header_b64))
        payload = json.loads(_b64url_decode(payload_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, binascii.Error):
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(payload, dict):
        return False
    expected = hmac.new(key.secret.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        return False
    if payload.get("api_key") != key.id:
        return False
    expires = payload.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        return False
    # The platform's tokens carry milliseconds; a seconds-based exp from another client still works.
    expires_ms = expires if expires > 10**11 else expires * 1000
    return expires_ms > now_ms
