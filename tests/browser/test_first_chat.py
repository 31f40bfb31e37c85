"""A newcomer signs up, starts a conversation and watches a reply stream in."""
import re

import pytest
from playwright.sync_api import expect

from glm.tokens import count_text_tokens
from tests.browser.chat_page import ChatPage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_start_a_conversation_and_watch_the_reply_stream_in(chrome):
    page = chrome.page()
    page.goto("/accounts/signup/")
    page.locator("#id_username").fill("newcomer")
    page.locator("#id_password1").fill("a-long-unusual-passphrase-42")
    page.locator("#id_password2").fill("a-long-unusual-passphrase-42")
    chrome.screenshot(page, "1-signup-form")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Welcome to GLM Web")).to_be_visible()
    expect(page.locator(".account-menu .avatar")).to_have_text("N")
    page.get_by_role("button", name="Start a new chat").click()
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    chat = ChatPage(page).wait_until_ready()
    expect(chat.title).to_have_text("New chat")

    chat.send("Tell me a story [[glm-len:200]] [[glm-slow:15]]")
    expect(chat.user_messages).to_have_count(1)
    expect(chat.user_messages.first).to_contain_text("Tell me a story")
    expect(chat.input).to_have_value("")
    reply = chat.last_reply()
    chat.wait_for_streamed_text(reply)
    # While it streams: the Send button has become Stop and the page says a reply is written.
    expect(chat.send_button).to_have_attribute("aria-label", "Stop")
    expect(chat.composer.locator("[data-role=status-text]")).to_have_text("Writing…")
    chrome.screenshot(page, "2-streaming")

    lengths = chat.sample_while_streaming(reply)
    shown = [n for n in lengths if n > 0]
    assert len(set(shown)) >= 5, f"the text should grow in many steps, saw lengths {lengths}"
    assert shown == sorted(shown), f"the text only ever grows, saw lengths {lengths}"

    chat.wait_for_status(reply, "complete")
    final = chat.text_of(reply)
    # The last sample may already hold the whole text, just before the status turns complete.
    assert len(final) >= max(shown)
    assert final.startswith("You said: «Tell me a story")
    assert count_text_tokens(final) == 200
    expect(reply.locator(".msg__meta")).to_contain_text("· 200 out tokens")
    expect(reply.locator(".msg__cost")).to_have_text("¥0.00")  # glm-4-flash is free
    expect(chat.send_button).to_have_attribute("aria-label", "Send")
    # After the first exchange the conversation gets a title, in the header and the sidebar.
    expect(chat.title).not_to_have_text("New chat")
    title = chat.title.inner_text()
    expect(page.locator("#sidebar .conv.is-active .conv__title")).to_have_text(title)
    chrome.screenshot(page, "3-complete")
    assert chrome.page_errors == []


def test_enter_sends_and_shift_enter_starts_a_new_line(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)

    chat.input.type("first line")
    chat.input.press("Shift+Enter")
    chat.input.type("second line [[glm-len:12]]")
    expect(chat.input).to_have_value("first line\nsecond line [[glm-len:12]]")
    expect(chat.user_messages).to_have_count(0)  # Shift+Enter sent nothing
    chrome.screenshot(page, "1-two-lines")

    chat.input.press("Enter")
    expect(chat.user_messages).to_have_count(1)
    sent = chat.user_messages.first.locator(".msg__bubble")
    assert sent.inner_text() == "first line\nsecond line [[glm-len:12]]"
    expect(chat.input).to_have_value("")
    chat.wait_for_status(chat.last_reply(), "complete")
    chrome.screenshot(page, "2-sent")
    assert chrome.page_errors == []
