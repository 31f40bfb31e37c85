"""Stopping, regenerating and reloading while a reply is written."""
import pytest
from playwright.sync_api import expect

from glm.tokens import count_text_tokens
from tests.browser.chat_page import ChatPage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_AND_SLOW = "[[glm-len:400]] [[glm-slow:30]]"  # 12 s if nobody stops it


def _stopped_reply_is_kept_after_reload(chrome, chat, reply, marker):
    chat.wait_for_status(reply, "stopped")
    expect(reply.locator(".badge")).to_have_text("Stopped")
    expect(chat.send_button).to_have_attribute("aria-label", "Send")
    shown = chat.text_of(reply)
    assert 0 < count_text_tokens(shown) < 400
    chrome.screenshot(chat.page, "2-stopped")

    chat.page.reload()
    chat.wait_until_ready()
    reloaded = chat.last_reply()
    chat.wait_for_status(reloaded, "stopped")
    expect(reloaded.locator(".badge")).to_have_text("Stopped")
    assert chat.text_of(reloaded) == shown, "the partial text is kept as it was shown"
    chrome.screenshot(chat.page, "3-stopped-after-reload")
    # The upstream request was cancelled, not left to run to its end.
    upstream = chrome.site.upstream_requests(marker)
    assert len(upstream) == 1 and upstream[0]["client_disconnected"] is True


def test_esc_stops_a_reply_and_its_partial_text_is_kept(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    chat.send(f"stop me with Esc {LONG_AND_SLOW}")
    reply = chat.last_reply()
    chat.wait_for_streamed_text(reply, at_least=40)
    chrome.screenshot(page, "1-streaming")

    chat.input.press("Escape")
    _stopped_reply_is_kept_after_reload(chrome, chat, reply, "stop me with Esc")
    assert chrome.page_errors == []


def test_the_stop_button_stops_a_reply_and_its_partial_text_is_kept(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    chat.send(f"stop me with the button {LONG_AND_SLOW}")
    reply = chat.last_reply()
    chat.wait_for_streamed_text(reply, at_least=40)
    chrome.screenshot(page, "1-streaming")

    page.get_by_role("button", name="Stop").click()
    _stopped_reply_is_kept_after_reload(chrome, chat, reply, "stop me with the button")
    assert chrome.page_errors == []


def test_regenerate_replaces_the_last_reply_with_a_new_one(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    chat.send("again please [[glm-len:30]]")
    first = chat.last_reply()
    chat.wait_for_status(first, "complete")
    first_id = first.get_attribute("data-id")
    first_text = chat.text_of(first)
    chrome.screenshot(page, "1-first-reply")

    first.hover()
    first.get_by_role("button", name="Regenerate").click()
    expect(page.locator(f"#chat-log article[data-id='{first_id}']")).to_have_count(0)
    expect(chat.replies).to_have_count(1)
    second = chat.last_reply()
    chat.wait_for_status(second, "complete")
    assert second.get_attribute("data-id") != first_id
    assert chat.text_of(second) == first_text  # the emulator answers the same words again
    expect(chat.user_messages).to_have_count(1)
    chrome.screenshot(page, "2-regenerated")

    # The regenerated reply is a second call to the model.
    assert len(chrome.site.upstream_requests("again please")) == 2
    page.reload()
    chat.wait_until_ready()
    expect(chat.replies).to_have_count(1)
    assert chat.last_reply().get_attribute("data-id") == second.get_attribute("data-id")
    assert chrome.page_errors == []


def test_reloading_mid_stream_shows_the_text_so_far_and_follows_it_to_the_end(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    chat.send("keep streaming through a reload [[glm-len:300]] [[glm-slow:15]]")
    before = chat.wait_for_streamed_text(chat.last_reply(), at_least=30)
    chrome.screenshot(page, "1-before-reload")

    page.reload()
    chat.wait_until_ready()
    reply = chat.last_reply()
    # Re-attached to the live reply: what was written before the reload is there at once...
    chat.wait_for_status(reply, "streaming")
    expect(reply.locator(".msg__content")).to_contain_text(before[:30])
    during = chat.wait_for_streamed_text(reply, at_least=len(before))
    chrome.screenshot(page, "2-after-reload-streaming")
    # ...and the rest keeps arriving until the reply is complete.
    chat.wait_for_status(reply, "complete")
    final = chat.text_of(reply)
    assert final.startswith(during[: len(before)]) and len(final) > len(during)
    assert count_text_tokens(final) == 300
    chrome.screenshot(page, "3-complete")

    page.reload()
    chat.wait_until_ready()
    assert chat.text_of(chat.last_reply()) == final
    assert len(chrome.site.upstream_requests("keep streaming through a reload")) == 1
    assert chrome.page_errors == []
