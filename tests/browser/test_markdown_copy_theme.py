"""Replies read as formatted text: code is highlighted and can be copied, so can a whole
reply; and the page has a dark theme that stays chosen."""
import pytest
from playwright.sync_api import expect

from tests.browser.chat_page import ChatPage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = "def add(a, b):\n    return a + b\n"


def test_a_code_block_is_highlighted_and_its_button_copies_just_the_code(chrome, alice, alice_conversation):
    page = chrome.page(username="alice", permissions=["clipboard-read", "clipboard-write"])
    chat = ChatPage(page).open(alice_conversation.pk)
    # The emulator repeats the message, so its reply holds the same code block.
    chat.send(f"Please check:\n```python\n{CODE}```\nand **thanks**")
    reply = chat.wait_for_status(chat.last_reply(), "complete")

    block = reply.locator(".code-block")
    expect(block.locator(".code-block__lang")).to_have_text("python")
    expect(block.locator("code.hljs .hljs-keyword").first).to_have_text("def")
    expect(reply.locator(".msg__content strong")).to_have_text("thanks")
    block.locator(".code-block__copy").click()
    expect(block.locator(".code-block__copy")).to_have_attribute("aria-label", "Copied")
    assert page.evaluate("navigator.clipboard.readText()") == CODE
    chrome.screenshot(page, "1-code-block-copied")

    # The reply's own copy button copies its whole text, as written (Markdown).
    reply.hover()
    reply.locator("[data-action=copy]").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert f"```python\n{CODE}```" in copied and "**thanks**" in copied
    assert chrome.page_errors == []


def test_the_theme_switch_turns_the_page_dark_and_the_choice_stays(chrome, alice, alice_conversation):
    page = chrome.page(username="alice", color_scheme="light")
    chat = ChatPage(page).open(alice_conversation.pk)
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)

    page.locator("#theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    dark = page.evaluate(background)
    assert dark != light
    chrome.screenshot(page, "2-dark")

    page.reload()
    chat.wait_until_ready()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate(background) == dark
    page.locator("#theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate(background) == light


def test_a_system_in_dark_mode_gets_the_dark_page_without_choosing(chrome, alice, alice_conversation):
    dark_page = chrome.page(username="alice", color_scheme="dark")
    light_page = chrome.page(username="alice", color_scheme="light")
    ChatPage(dark_page).open(alice_conversation.pk)
    ChatPage(light_page).open(alice_conversation.pk)
    background = "getComputedStyle(document.body).backgroundColor"
    assert dark_page.evaluate(background) != light_page.evaluate(background)
