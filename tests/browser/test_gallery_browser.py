"""The gallery in the browser: a prompt becomes a card that turns into the picture, live,
with no reload; and in a chat, a picture asked for appears as a card that becomes the image."""
import pytest
from playwright.sync_api import expect

from tests.browser.chat_page import ChatPage
from tests.images.fixtures import image_broker, image_worker  # noqa: F401  (the real worker process)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_prompt_becomes_a_card_that_turns_into_the_picture_without_a_reload(chrome, alice, image_worker):
    page = chrome.page(username="alice")
    page.goto("/images/")
    page.evaluate("window.__sameDocument = true")
    # The picture takes a second and a half to make, so the card is there to be seen: a quick
    # worker could otherwise turn it into the picture before the first look.
    page.fill("#gallery-form textarea", "A lighthouse on a blue sea at dusk [[glm-slow:1500]]")
    page.click("#gallery-form [data-role=submit]")

    card = page.locator("#gallery-queue [data-job-id]")
    expect(card).to_have_count(1)
    chrome.screenshot(page, "card-queued")
    picture = page.locator("#gallery-grid img")
    expect(picture).to_have_count(1, timeout=30_000)
    expect(page.locator("#gallery-queue [data-job-id]")).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the page was not reloaded"
    # The element appears before its bytes have loaded: wait for the picture itself.
    page.wait_for_function("document.querySelector('#gallery-grid img').naturalWidth > 0", timeout=15_000)
    chrome.screenshot(page, "picture-shown")


def test_a_picture_asked_for_in_chat_appears_as_a_card_then_the_image(chrome, alice, alice_conversation, image_worker):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    chat.send("Please draw a picture of a red fox")
    card = page.locator(".tool-card--image")
    expect(card).to_have_count(1)
    image = card.locator("img")
    expect(image).to_have_count(1, timeout=30_000)
    page.wait_for_function("document.querySelector('.tool-card--image img').naturalWidth > 0", timeout=15_000)
    chrome.screenshot(page, "chat-picture")
    page.reload()
    expect(page.locator(".tool-card--image img")).to_have_count(1)
