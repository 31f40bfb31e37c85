"""Every page carries a Content-Security-Policy that admits only this site's own scripts,
styles and sockets, plus nosniff, a referrer policy and frame denial — and the pages keep to
it: no inline script, handler or style that the policy would block."""
from html.parser import HTMLParser

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from glmweb.csp import ContentSecurityPolicyMiddleware
from tests.factories import make_conversation, make_user

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_secure_headers(response, *, socket_origin="ws://testserver"):
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"], "no inline script, no eval, no other origin"
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["font-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", socket_origin], "the chat socket on this host, and only it"
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


class InlineCodeFinder(HTMLParser):
    """Collects what a strict policy would block or what would load from another origin."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> inline event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            src = attributes.get("src")
            if src is None and attributes.get("type") != "application/json":
                self._in_inline_script = True
        for name in ("src", "href"):
            url = attributes.get(name)
            if url and tag in ("script", "link", "img", "iframe", "embed") and not _same_origin(url):
                self.problems.append(f"<{tag} {name}={url}> from another origin")

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def _same_origin(url: str) -> bool:
    return (url.startswith("/") and not url.startswith("//")) or url.startswith(("data:", "#"))


def assert_keeps_to_the_policy(response):
    finder = InlineCodeFinder()
    finder.feed(response.content.decode())
    assert finder.problems == [], f"{response.wsgi_request.path}: {finder.problems}"


@pytest.fixture
def person(client):
    user = make_user("carol")
    client.force_login(user)
    return user


@pytest.fixture
def staff(client):
    user = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("name", ["login", "signup", "admin:login"])
def test_public_pages_carry_the_headers_and_keep_to_the_policy(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_secure_headers(response)
    assert_keeps_to_the_policy(response)


def test_a_persons_pages_carry_the_headers_and_keep_to_the_policy(client, person):
    conversation = make_conversation(person)
    for url in (
        reverse("chat:home") + "?q=x",
        reverse("chat:conversation", args=[conversation.pk]),
        reverse("chat:delete", args=[conversation.pk]),
        reverse("password_change"),
        reverse("images:gallery"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_secure_headers(response)
        assert_keeps_to_the_policy(response)


def test_staff_pages_and_the_admin_carry_the_headers_and_keep_to_the_policy(client, staff):
    for url in (reverse("usage:spend"), reverse("usage:user_spend", args=[staff.pk]), reverse("admin:index"),
                reverse("admin:auth_user_changelist"), reverse("admin:auth_user_change", args=[staff.pk])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_secure_headers(response)
        assert_keeps_to_the_policy(response)


def test_error_pages_json_and_redirects_carry_the_headers_too(client, person, settings):
    settings.ZHIPUAI_API_KEY = "k.s"
    for url, status in (("/no-such-page/", 404), ("/healthz", 200), (reverse("chat:conversation_list_api"), 200),
                        (reverse("chat:conversation", args=[999999]), 404)):
        response = client.get(url)
        assert response.status_code == status, url
        assert_secure_headers(response)
    client.logout()
    redirect = client.get(reverse("chat:home"))
    assert redirect.status_code == 302
    assert_secure_headers(redirect)


def test_over_https_the_socket_origin_is_wss(client):
    response = client.get(reverse("login"), secure=True)
    assert_secure_headers(response, socket_origin="wss://testserver")


def test_static_files_on_an_origin_of_the_sites_own_are_admitted_and_nothing_else(client, settings):
    settings.STATIC_URL = "https://static.chat.example.com/assets/"
    settings.MEDIA_URL = "https://media.chat.example.com/files/"
    csp = policy(client.get(reverse("login")))
    assert csp["script-src"] == csp["style-src"] == csp["font-src"] == ["'self'", "https://static.chat.example.com"]
    assert csp["img-src"] == ["'self'", "data:", "blob:", "https://static.chat.example.com",
                              "https://media.chat.example.com"]


def test_a_response_with_its_own_policy_keeps_it():
    # Uploaded photos are served with a stricter policy of their own (sandboxed, nothing loads).
    def view(request):
        response = HttpResponse(b"\x89PNG", content_type="image/png")
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/media/x.png"))
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_host_outside_allowed_hosts_gets_no_socket_origin():
    response = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("x"))(
        RequestFactory().get("/", HTTP_HOST="evil.example.net")
    )
    assert policy(response)["connect-src"] == ["'self'"]


def test_the_markup_check_finds_what_the_policy_would_block():
    finder = InlineCodeFinder()
    finder.feed(
        '<script>alert(1)</script><script type="application/json">{"ok": 1}</script>'
        '<button onclick="go()">x</button><p style="color:red">y</p><style>p{}</style>'
        '<a href="javascript:void(0)">z</a><script src="https://cdn.example.com/x.js"></script>'
        '<script src="/static/js/site.js"></script>'
    )
    assert len(finder.problems) == 6, finder.problems
