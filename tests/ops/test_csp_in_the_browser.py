"""The pages work in a real browser under the Content-Security-Policy: Chromium reports no
violation while a person logs in, opens a conversation (its socket connecting under
connect-src) and watches a reply stream in."""
import pytest

from tests.browser.chat_page import ChatPage
from tests.browser.conftest import chrome, daphne_server, live_site  # noqa: F401  (fixtures)
from tests.images.fixtures import image_worker_harness  # noqa: F401  (the live server shares its broker)
from tests.factories import make_conversation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Added before any page script runs: collects what the browser refused under the policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def watch(page) -> list[str]:
    console = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None)
    return console


def test_no_page_breaks_the_policy_and_the_chat_socket_connects(chrome):
    user = make_user("quinn")
    conversation = make_conversation(user)

    visitor = chrome.page()
    visitor_console = watch(visitor)
    answer = visitor.goto("/accounts/login/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert visitor.evaluate("window.__cspViolations") == []

    page = chrome.page(username="quinn")
    console = watch(page)
    chat = ChatPage(page).open(conversation.pk)  # waits until the socket is open
    chat.send("hello under the policy [[glm-len:8]]")
    chat.wait_for_status(chat.last_reply(), "complete")
    page.goto("/")
    page.goto(f"/c/{conversation.pk}/delete/")

    assert page.evaluate("window.__cspViolations") == []
    assert console == [] and visitor_console == []
    assert chrome.page_errors == []
