"""The real stack for browser tests: Daphne serving glmweb.asgi:application against the test
database, the session's GLM emulator, and Debian's Chromium driven by Playwright's sync API.

Playwright's sync API keeps an asyncio loop running in the test's thread for as long as it is
started, and Django refuses ORM calls under a running loop (SynchronousOnlyOperation). So:

- a test makes its users and conversations first and only then opens a page (`chrome.page()`
  starts Playwright on first use);
- logging a browser in goes over HTTP to the live server, never through the ORM;
- the browser is closed before pytest-django flushes the database (the `chrome` fixture
  depends on `live_site`, which depends on `transactional_db`).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "correct-horse-battery"  # tests/factories.make_user's default
SERVER_START_SECONDS = 30
# Long enough for a slow streamed reply ([[glm-slow:30]] × 400 tokens is 12 s) on a busy machine.
EXPECT_TIMEOUT_MS = 20_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Kept on the item so the `chrome` fixture can screenshot the pages of a failed test.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- the server ---------------------------------------------------------------------------------


@dataclass
class DaphneServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def assert_running(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"Daphne exited with code {self.process.returncode}; log tail:\n{_tail(self.log_path)}"
            )


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _database_url(settings_dict: dict) -> str:
    """DATABASE_URL for the database pytest-django actually created (its NAME is the test one)."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine == "django.db.backends.sqlite3":
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("browser tests need a file test database (settings put it under var/)")
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{credentials}{host}:{port}/{quote(name, safe='')}"
    raise RuntimeError(f"no DATABASE_URL form known for {engine}")


def _listening_socket() -> socket.socket:
    # Bound here and handed to Daphne as a file descriptor: no window in which another process
    # could take a port we picked.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    return listener


def _wait_until_serving(server: DaphneServer) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        server.assert_running()
        try:
            if httpx.get(f"{server.url}/accounts/login/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"Daphne did not answer in time; log tail:\n{_tail(server.log_path)}")
        time.sleep(0.1)


from tests.images.fixtures import image_worker_harness  # noqa: E402,F401  (session fixture)


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker, emulator, tmp_path_factory, image_worker_harness):
    """Daphne in a subprocess, serving the site on the test database and the session's emulator.

    Replies run inside Daphne (design decision 2), so no Celery worker is needed. REDIS_URL,
    GLMWEB_VAR_DIR and the rest of the environment pass through, so the server uses the same
    set-up (SQLite + in-memory layer, or PostgreSQL + Redis) as the test run.
    """
    from django.db import connection

    with django_db_blocker.unblock():
        database_url = _database_url(connection.settings_dict)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "daphne.log"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="glmweb.settings",
        DATABASE_URL=database_url,
        ZHIPUAI_API_KEY=emulator.api_key,
        ZHIPUAI_BASE_URL=emulator.base_url,
        GLM_MAX_RETRIES="2",
        GLM_OFFLINE_DEMO="False",
        # Tests here are about the chat, not the limiter: the manual's free tier allows
        # glm-4-flash 10 requests a minute, which a handful of tests (replies and titles) exceed.
        USAGE_MODEL_LIMITS_ENABLED="False",
        USAGE_USER_RPM="0",
        DEBUG="False",
        # Pictures are made by the session's test worker: share its broker and media folder.
        MEDIA_ROOT=str(image_worker_harness.media_root),
        PYTHONUNBUFFERED="1",
    )
    env.update(image_worker_harness.broker_env())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")]))
    listener = _listening_socket()
    port = listener.getsockname()[1]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "glmweb.asgi:application"],
            cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    listener.close()  # the child holds its own copy
    server = DaphneServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@dataclass
class LiveSite:
    """The running site, as one test sees it."""

    url: str
    emulator: object
    server: DaphneServer

    def session_cookies(self, username: str, password: str = PASSWORD) -> list[dict]:
        """Log in through the real login form and return the cookies for a browser context."""
        with httpx.Client(base_url=self.url, timeout=10, follow_redirects=False) as client:
            client.get("/accounts/login/").raise_for_status()
            response = client.post(
                "/accounts/login/",
                data={"username": username, "password": password,
                      "csrfmiddlewaretoken": client.cookies["csrftoken"]},
                headers={"Referer": f"{self.url}/accounts/login/"},
            )
            assert response.status_code == 302, f"login as {username} failed ({response.status_code})"
            return [{"name": name, "value": value, "url": self.url} for name, value in client.cookies.items()]

    def upstream_requests(self, containing: str) -> list[dict]:
        """The emulator's log of streamed chat requests (replies, not titles) whose last user
        message contains the text."""
        return [r for r in self.emulator.requests() if r["stream"] and containing in (r.get("last_user_text") or "")]


@pytest.fixture
def live_site(daphne_server, emulator, transactional_db):
    """The live server with a clean emulator log; waits at the end until the server is idle,
    so no reply or title of this test writes into the next test's database."""
    daphne_server.assert_running()
    emulator.reset()
    yield LiveSite(url=daphne_server.url, emulator=emulator, server=daphne_server)
    _wait_until_idle(emulator)
    daphne_server.assert_running()


def _wait_until_idle(emulator, timeout: float = 20.0) -> None:
    from chat.models import Message

    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        busy = any(not r["finished"] for r in emulator.requests()) or Message.objects.filter(
            status=Message.Status.STREAMING
        ).exists()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 0.3:
            # Quiet for a moment: a title call that just ended has had time to be saved.
            return
        time.sleep(0.05)
    raise AssertionError("the live server was still writing a reply when the test ended")


# --- the browser --------------------------------------------------------------------------------


class Chrome:
    """Debian's Chromium under Playwright, started on first use (see the module docstring)."""

    def __init__(self, site: LiveSite, test_name: str):
        self.site = site
        self.test_name = re.sub(r"[^\w.-]+", "_", test_name)
        self._playwright = None
        self._browser = None
        self.pages = []
        # Script errors of every page this test opened; tests assert there are none.
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        # Every WebSocket frame and console error, kept for the failure report.
        self.frames: list[str] = []
        self._started_at = time.monotonic()

    def _start(self):
        if self._browser is None:
            from playwright.sync_api import expect, sync_playwright

            expect.set_options(timeout=EXPECT_TIMEOUT_MS)
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
        return self._browser

    def page(self, *, username: str | None = None, locale: str = "en-US", viewport=None, **context_options):
        """A fresh browser context (its own cookies) and page, logged in as `username` if given."""
        cookies = self.site.session_cookies(username) if username else []
        context = self._start().new_context(
            base_url=self.site.url, locale=locale, viewport=viewport or {"width": 1280, "height": 860},
            **context_options,
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        if cookies:
            context.add_cookies(cookies)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("console", lambda message: self._note_console(len(self.pages) - 1, message))
        page.on("dialog", self._on_dialog)
        page.on("websocket", lambda ws: self._watch_socket(len(self.pages) - 1, ws))
        self.pages.append(page)
        return page

    def _watch_socket(self, page_number: int, ws) -> None:
        def note(what: str) -> None:
            self.frames.append(f"{time.monotonic() - self._started_at:8.3f} page {page_number} {what}")

        note(f"open {ws.url}")
        ws.on("framesent", lambda payload: note(f"-> {payload}"))
        ws.on("framereceived", lambda payload: note(f"<- {payload}"))
        ws.on("close", lambda _ws: note("closed"))

    def _note_console(self, page_number: int, message) -> None:
        if message.type in ("error", "warning"):
            self.frames.append(f"{time.monotonic() - self._started_at:8.3f} page {page_number} console "
                               f"{message.type}: {message.text}")

    def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def screenshot(self, page, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.test_name}--{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self, *, failed: bool) -> None:
        try:
            if failed:
                for number, page in enumerate(self.pages):
                    if not page.is_closed():
                        self.screenshot(page, f"failed-{number}")
                report = ["script errors:", *self.page_errors, "", "socket frames and console:", *self.frames]
                (ARTIFACTS / f"{self.test_name}--browser-log.txt").write_text("\n".join(report) + "\n")
        finally:
            if self._browser is not None:
                self._browser.close()
            if self._playwright is not None:
                self._playwright.stop()
            self._browser = self._playwright = None


@pytest.fixture
def chrome(live_site, request):
    browser = Chrome(live_site, request.node.name)
    yield browser
    failed = any(getattr(request.node, f"report_{when}", None) is not None
                 and getattr(request.node, f"report_{when}").failed for when in ("setup", "call"))
    browser.close(failed=failed)


# --- people -------------------------------------------------------------------------------------


@pytest.fixture
def alice(transactional_db):
    from tests.factories import make_user

    return make_user("alice", password=PASSWORD)


@pytest.fixture
def alice_conversation(alice):
    from tests.factories import make_conversation

    return make_conversation(alice)


@pytest.fixture
def bob(transactional_db):
    from tests.factories import make_user

    return make_user("bob", password=PASSWORD)
