"""What a person sees when GLM refuses, and that nothing anyone types or the model says runs as
script."""
import pytest
from playwright.sync_api import expect

from tests.browser.chat_page import ChatPage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKED = "This was blocked by the provider's content check — please rephrase."

# Each would set window.__xss if it ever reached the page as markup or as a followed link.
XSS_PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=1</script>",
    "[x](javascript:window.__xss=1)",
    '<svg onload="window.__xss=1"><circle r="5"/></svg>',
    '<a href="javascript:window.__xss=1">click me</a>',
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    "![y](javascript:window.__xss=1)",
    '<details open ontoggle="window.__xss=1">d</details>',
]
# Elements or attributes any of the payloads would have created in the conversation.
INJECTED = (
    "#chat-log img, #chat-log script, #chat-log iframe, #chat-log details, #chat-log .msg__content svg,"
    " #chat-log .msg__bubble svg, #chat-log [onerror], #chat-log [onload], #chat-log [ontoggle],"
    " #chat-log [srcdoc], #chat-log a[href^='javascript' i]"
)


def test_a_blocked_message_is_a_friendly_error_and_the_composer_still_works(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    chat.send("something the provider dislikes [[glm-error:1301]]")
    reply = chat.last_reply()
    chat.wait_for_status(reply, "error")
    expect(reply.locator(".msg__error")).to_have_text(BLOCKED)
    expect(chat.log).not_to_contain_text("Traceback")
    expect(reply).not_to_contain_text("1301")  # a code is for logs, not for people
    chrome.screenshot(page, "1-blocked")

    chat.send("a gentler question [[glm-len:15]]")
    second = chat.last_reply()
    chat.wait_for_status(second, "complete")
    expect(second.locator(".msg__content")).to_contain_text("a gentler question")
    expect(chat.user_messages).to_have_count(2)
    # The failed reply keeps its explanation after the conversation went on, and after a reload.
    page.reload()
    chat.wait_until_ready()
    expect(chat.replies.first.locator(".msg__error")).to_have_text(BLOCKED)
    chat.wait_for_status(chat.last_reply(), "complete")
    chrome.screenshot(page, "2-composer-still-works")
    assert chrome.page_errors == []


def test_markup_in_a_message_and_in_the_model_echo_is_shown_as_text(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    message = "\n".join(XSS_PAYLOADS)
    chat.input.fill(message)
    chat.input.press("Enter")
    reply = chat.last_reply()
    chat.wait_for_status(reply, "complete")
    # The emulator repeats the message, so the reply's markdown carries every payload too.
    expect(reply.locator(".msg__content")).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(reply.locator(".msg__content")).to_contain_text("<script>window.__xss=1</script>")
    expect(chat.title).not_to_have_text("New chat")  # the title echoes it as well
    chrome.screenshot(page, "1-payloads-as-text")

    assert chat.user_messages.first.locator(".msg__bubble").inner_text() == message
    hrefs = reply.locator(".msg__content a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(href.startswith(("http://", "https://", "mailto:")) for href in hrefs), hrefs
    assert page.locator(INJECTED).count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"

    page.reload()
    chat.wait_until_ready()
    expect(chat.last_reply().locator(".msg__content")).to_contain_text("<script>window.__xss=1</script>")
    assert page.locator(INJECTED).count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert chrome.dialogs == []
    assert chrome.page_errors == []
    chrome.screenshot(page, "2-after-reload")
