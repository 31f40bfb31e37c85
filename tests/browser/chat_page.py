"""The conversation page as a person uses it, in the words of its markup (templates/chat/
conversation.html and static/js/chat-view.js): the composer, and the messages as articles
whose data-status is the message's status."""
from __future__ import annotations

import time

from playwright.sync_api import Locator, Page, expect


class ChatPage:
    def __init__(self, page: Page):
        self.page = page
        self.composer = page.locator("#composer")
        self.input = page.locator("#composer-input")
        self.send_button = page.locator("#composer [data-role=send]")
        self.log = page.locator("#chat-log")
        self.title = page.locator("#chat-title")

    def open(self, conversation_id: int) -> "ChatPage":
        self.page.goto(f"/c/{conversation_id}/")
        return self.wait_until_ready()

    def wait_until_ready(self) -> "ChatPage":
        """The socket is open and the conversation's history is shown."""
        expect(self.page.locator("#chat-loading")).to_be_hidden()
        expect(self.composer).not_to_have_attribute("data-mode", "offline")
        return self

    def wait_until_idle(self) -> "ChatPage":
        """No reply is being written: the composer accepts a message."""
        expect(self.composer).to_have_attribute("data-mode", "idle")
        return self

    @property
    def user_messages(self) -> Locator:
        return self.log.locator("article.msg--user")

    @property
    def replies(self) -> Locator:
        return self.log.locator("article.msg--assistant")

    def last_reply(self) -> Locator:
        return self.replies.last

    def send(self, text: str) -> None:
        """Type a message and press Enter, as a person would."""
        self.wait_until_idle()
        self.input.fill(text)
        self.input.press("Enter")

    @staticmethod
    def text_of(reply: Locator) -> str:
        return reply.locator(".msg__content").inner_text()

    def wait_for_status(self, reply: Locator, status: str, timeout: float | None = None) -> Locator:
        kwargs = {} if timeout is None else {"timeout": timeout}
        expect(reply).to_have_attribute("data-status", status, **kwargs)
        return reply

    def wait_for_streamed_text(self, reply: Locator, at_least: int = 1) -> str:
        """Wait until the reply, still streaming, shows at least `at_least` characters."""
        self.wait_for_status(reply, "streaming")
        deadline = time.monotonic() + 15
        while True:
            text = self.text_of(reply) if reply.locator(".msg__content").is_visible() else ""
            if len(text) >= at_least:
                return text
            assert time.monotonic() < deadline, f"the reply showed only {len(text)} characters"
            assert reply.get_attribute("data-status") == "streaming", "the reply ended before it showed text"
            time.sleep(0.05)

    def sample_while_streaming(self, reply: Locator, every: float = 0.1) -> list[int]:
        """The reply's shown length, sampled until it is no longer streaming."""
        lengths = []
        deadline = time.monotonic() + 30
        while reply.get_attribute("data-status") == "streaming":
            content = reply.locator(".msg__content")
            lengths.append(len(content.inner_text()) if content.is_visible() else 0)
            assert time.monotonic() < deadline, "the reply is still streaming after 30 s"
            time.sleep(every)
        return lengths
