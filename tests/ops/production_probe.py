"""Requests to the site in production mode, run in a subprocess by test_production.py.

Prints one JSON object on stdout describing the answers; the site's own logs go to stderr.
"""
import json

import django

django.setup()

from django.test import Client  # noqa: E402

HOST = "chat.example.com"


def summary(response) -> dict:
    return {
        "status": response.status_code,
        "location": response.headers.get("Location"),
        "headers": dict(response.headers),
        "cookies": {name: {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"])}
                    for name, morsel in response.cookies.items()},
        "body": response.content.decode("utf-8", "replace")[:4000],
    }


client = Client(HTTP_HOST=HOST)
result = {
    "healthz_over_http": summary(client.get("/healthz")),
    "login_over_http": summary(client.get("/accounts/login/")),
    "login_over_https": summary(client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")),
    "wrong_host": summary(client.get("/accounts/login/", HTTP_HOST="evil.example.net",
                                     HTTP_X_FORWARDED_PROTO="https")),
}
print(json.dumps(result))
