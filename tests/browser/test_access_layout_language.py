"""Whose conversation a page shows, the phone-width layout, and the Chinese interface."""
import pytest
from playwright.sync_api import expect

from tests.browser.chat_page import ChatPage
from tests.factories import make_conversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Opens the chat socket of a conversation and resolves with the close code (or "open").
SOCKET_CLOSE_CODE = """(path) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}${path}`);
  ws.addEventListener("message", (event) => { resolve("message: " + event.data.slice(0, 60)); ws.close(); });
  ws.addEventListener("close", (event) => resolve(event.code));
  setTimeout(() => resolve("still open"), 5000);
})"""


def test_someone_elses_conversation_is_a_404_page_and_its_socket_is_closed(chrome, alice, bob):
    secret = make_conversation(alice, title="Alice's surprise party plans")
    page = chrome.page(username="bob")

    response = page.goto(f"/c/{secret.pk}/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("surprise party")
    chrome.screenshot(page, "1-not-found")

    page.goto("/")
    expect(page.locator("#sidebar")).not_to_contain_text("surprise party")
    assert page.evaluate(SOCKET_CLOSE_CODE, f"/ws/chat/{secret.pk}/") == 4404
    # Bob's own conversations still open (the 404 was about ownership, not a broken page).
    page.get_by_role("button", name="Start a new chat").click()
    ChatPage(page).wait_until_ready()


def test_phone_width_shows_the_composer_and_the_conversation_drawer(chrome, alice, alice_conversation):
    page = chrome.page(username="alice", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    chat = ChatPage(page).open(alice_conversation.pk)
    sidebar = page.locator("#sidebar")

    expect(chat.input).to_be_in_viewport()
    expect(chat.send_button).to_be_in_viewport()
    expect(sidebar).not_to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing is wider than the screen"
    chat.send("hello from a phone [[glm-len:40]]")
    chat.wait_for_status(chat.last_reply(), "complete")
    expect(chat.last_reply()).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    chrome.screenshot(page, "1-phone-chat")

    menu = page.get_by_role("button", name="Show conversations")
    menu.tap()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_in_viewport(ratio=1)  # slid all the way in
    expect(sidebar.locator(".conv.is-active .conv__link")).to_be_visible()
    chrome.screenshot(page, "2-phone-drawer-open")

    page.locator(".drawer-backdrop").tap(position={"x": 370, "y": 400})
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar).not_to_be_in_viewport()
    expect(chat.input).to_be_in_viewport()
    assert chrome.page_errors == []


def test_switching_to_chinese_shows_the_chinese_interface_and_errors(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    expect(chat.input).to_have_attribute("placeholder", "Message GLM…")

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    chat.wait_until_ready()
    expect(chat.input).to_have_attribute("placeholder", "给 GLM 发消息…")
    expect(chat.title).to_have_text("新对话")
    expect(page.locator("[data-drawer-toggle]")).to_have_attribute("aria-label", "显示对话列表")
    expect(page.get_by_role("button", name="新对话")).to_be_visible()
    expect(chat.send_button).to_have_attribute("aria-label", "发送")
    # Failures reach the socket in the reader's language too.
    chat.send("不合适的内容 [[glm-error:1301]]")
    reply = chat.last_reply()
    chat.wait_for_status(reply, "error")
    expect(reply.locator(".msg__error")).to_have_text("内容未通过服务商的安全审核，请换一种说法。")
    chrome.screenshot(page, "1-chinese")

    page.reload()  # the choice is remembered
    chat.wait_until_ready()
    expect(chat.input).to_have_attribute("placeholder", "给 GLM 发消息…")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(chat.input).to_have_attribute("placeholder", "Message GLM…")
    assert chrome.page_errors == []


def test_a_browser_that_prefers_chinese_gets_the_chinese_interface(chrome):
    page = chrome.page(locale="zh-CN")
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    chrome.screenshot(page, "1-login-in-chinese")
