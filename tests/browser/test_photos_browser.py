"""Photos in the browser: dropped and pasted into the composer, uploaded with a progress bar,
sent with the message, and described by glm-4v-plus as the reply streams in."""
import base64
import contextlib
import io
import re
import time

import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.chat_page import ChatPage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOT_A_PHOTO = "This is not a photo we accept: send a JPEG, PNG, WebP or GIF image."

# Files are built inside the page from bytes the test passes, and handed over the way a
# person's browser hands them over: in a DataTransfer on a real drop or paste event.
_TRANSFER = """
    const transfer = new DataTransfer();
    for (const file of files) {
        const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], file.name, { type: file.type }));
    }
"""
DRAG_OVER = "([selector, files]) => {" + _TRANSFER + """
    const target = document.querySelector(selector);
    for (const type of ["dragenter", "dragover"]) {
        target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
    }
}"""
DROP = "([selector, files]) => {" + _TRANSFER + """
    const target = document.querySelector(selector);
    const event = new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: transfer });
    target.dispatchEvent(event);
    return event.defaultPrevented;
}"""
PASTE = "([selector, files]) => {" + _TRANSFER + """
    const target = document.querySelector(selector);
    target.focus();
    const event = new ClipboardEvent("paste", { bubbles: true, cancelable: true, clipboardData: transfer });
    target.dispatchEvent(event);
    return event.defaultPrevented;
}"""


def picture(fmt: str, size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def as_file(name: str, data: bytes, content_type: str) -> dict:
    return {"name": name, "type": content_type, "data": base64.b64encode(data).decode("ascii")}


def chips(page):
    return page.locator("#composer [data-role=photos] .photo-chip")


def test_drop_and_paste_photos_send_them_and_watch_the_description_stream_in(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    chat = ChatPage(page).open(alice_conversation.pk)
    red = as_file("red <b>square.png", picture("PNG", (64, 48), (220, 20, 20)), "image/png")
    blue = as_file("blue.jpg", picture("JPEG", (120, 90), (20, 40, 210)), "image/jpeg")

    # Dragging files over the conversation highlights it as a drop target.
    page.evaluate(DRAG_OVER, ["#chat-scroll", [red]])
    expect(page.locator("#main")).to_have_class(re.compile(r"\bis-drop-target\b"))
    expect(page.locator(".chat__drop")).to_be_visible()
    expect(page.locator(".chat__drop")).to_have_text("Drop photos to attach them")
    chrome.screenshot(page, "1-drop-highlight")
    assert page.evaluate(DROP, ["#chat-scroll", [red]]) is True, "the page takes the drop"
    expect(page.locator("#main")).not_to_have_class(re.compile(r"\bis-drop-target\b"))
    expect(chips(page)).to_have_count(1)

    assert page.evaluate(PASTE, ["#composer-input", [blue]]) is True, "the page takes the pasted image"
    expect(chips(page)).to_have_count(2)
    for chip in (chips(page).nth(0), chips(page).nth(1)):
        expect(chip).to_have_attribute("data-state", "ready")
        expect(chip.locator("img")).to_have_attribute("src", re.compile(r"^/attachments/\d+/thumbnail/$"))
        expect(chip.locator("progress")).to_be_hidden()
    # The name is text in an attribute, never markup.
    expect(chips(page).nth(0).locator("img")).to_have_attribute("alt", "red <b>square.png")
    assert page.locator("#composer b").count() == 0
    expect(chat.composer.locator("[data-role=photo-note]")).to_have_text("Photos are answered by glm-4v-plus")
    chrome.screenshot(page, "2-two-previews")

    chat.send("What is in these pictures? [[glm-slow:40]]")
    expect(chat.user_messages).to_have_count(1)
    sent = chat.user_messages.first
    expect(sent.locator(".msg__photo img")).to_have_count(2)
    expect(sent.locator(".msg__photo img").first).to_have_attribute("alt", "red <b>square.png")
    expect(sent.locator(".msg__photo img").last).to_have_attribute("alt", "blue.jpg")
    expect(chat.input).to_have_value("")
    expect(chips(page)).to_have_count(0)
    expect(chat.composer.locator("[data-role=photo-note]")).to_be_hidden()

    reply = chat.last_reply()
    streamed = chat.wait_for_streamed_text(reply, at_least=10)
    chrome.screenshot(page, "3-streaming")
    chat.wait_for_status(reply, "complete")
    final = chat.text_of(reply)
    assert len(final) > len(streamed), "the description arrived in pieces"
    # The emulator measures the bytes it received: these are the pictures, intact.
    assert "Image 1: 64×48 pixels, mostly red." in final
    assert "Image 2: 120×90 pixels, mostly blue." in final
    expect(reply.locator(".msg__meta")).to_contain_text("answered by glm-4v-plus")
    chrome.screenshot(page, "4-described")
    upstream = chrome.site.upstream_requests("What is in these pictures?")
    assert [r["model"] for r in upstream] == ["glm-4v-plus"]

    # A thumbnail opens the full picture.
    sent.locator(".msg__photo-link").first.click()
    lightbox = page.locator("dialog.lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator("img")).to_have_attribute("src", re.compile(r"^/attachments/\d+/$"))
    page.wait_for_function("() => document.querySelector('dialog.lightbox img').naturalWidth === 64")
    expect(lightbox.locator(".lightbox__caption")).to_have_text("red <b>square.png · 64×48 pixels")
    chrome.screenshot(page, "5-lightbox")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    # The history keeps the photos.
    page.reload()
    chat.wait_until_ready()
    expect(chat.user_messages.first.locator(".msg__photo img")).to_have_count(2)
    expect(chat.last_reply().locator(".msg__meta")).to_contain_text("answered by glm-4v-plus")
    assert chrome.page_errors == []
    # Previews are blob: URLs and thumbnails the site's own: the page's policy allows both.
    assert [text for text in console_errors if "Content Security Policy" in text] == []


def test_a_refused_file_shows_the_servers_reason_and_nothing_is_sent(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    # Chosen with the attach button, which opens the file chooser for photos.
    with page.expect_file_chooser() as chooser:
        chat.composer.get_by_role("button", name="Attach photos").click()
    assert chooser.value.is_multiple()
    assert page.locator("#composer [data-role=photo-input]").get_attribute("accept") == (
        "image/jpeg,image/png,image/webp,image/gif"
    )
    chooser.value.set_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"just some text pretending to be a picture\n"}
    )
    chip = chips(page).first
    expect(chip).to_have_attribute("data-state", "failed")
    expect(chip.locator(".photo-chip__error")).to_have_text(NOT_A_PHOTO)
    expect(chip.locator(".photo-chip__name")).to_have_text("notes.png")
    expect(chat.composer.locator("[data-role=photo-note]")).to_be_hidden()
    expect(chat.send_button).to_be_disabled()
    chrome.screenshot(page, "1-refused")

    chat.input.press("Enter")
    page.wait_for_timeout(300)
    expect(chat.user_messages).to_have_count(0)
    assert chrome.site.emulator.requests() == []

    chip.get_by_role("button", name="Remove notes.png").click()
    expect(chips(page)).to_have_count(0)
    assert chrome.page_errors == []


def test_at_most_five_photos_and_removed_ones_are_cancelled_or_deleted(chrome, alice, alice_conversation):
    page = chrome.page(username="alice")
    chat = ChatPage(page).open(alice_conversation.pk)
    files = [as_file(f"{n}.png", picture("PNG", (8, 8), (10 * n, 0, 0)), "image/png") for n in range(6)]
    # Wider than the API takes (6000 px): the model gets a smaller copy, and the page says so.
    files[4] = as_file("4.png", picture("PNG", (6100, 8), (40, 0, 0)), "image/png")
    # Uploads are held on their way until the test lets them through.
    held, gate = [], {"open": False}
    page.route(re.compile(r"/c/\d+/attachments/$"), lambda route: route.continue_() if gate["open"] else held.append(route))
    failed = []
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))

    page.evaluate(DROP, ["#chat-scroll", files])
    expect(chips(page)).to_have_count(5)
    message = chat.composer.locator("[data-role=photo-message]")
    expect(message).to_have_text("At most 5 photos per message.")
    # While a photo is uploading it shows a progress bar, and nothing can be sent.
    expect(chips(page).first).to_have_attribute("data-state", "uploading")
    expect(chips(page).first.locator("progress")).to_be_visible()
    chat.input.fill("not before the photos are up")
    expect(chat.send_button).to_be_disabled()
    chat.input.press("Enter")
    chrome.screenshot(page, "1-uploading")
    page.wait_for_timeout(200)
    expect(chat.user_messages).to_have_count(0)
    assert len(held) == 1, "one upload at a time"
    chat.input.fill("")

    # Removing the photo on its way cancels its upload, and the next one starts.
    chips(page).first.get_by_role("button", name="Remove 0.png").click()
    expect(chips(page)).to_have_count(4)
    expect(message).to_be_hidden()
    deadline = time.monotonic() + 10
    while len(held) < 2:
        assert time.monotonic() < deadline, "the next upload did not start"
        page.wait_for_timeout(50)
    cancelled, *waiting = held
    assert [(url.endswith("/attachments/"), "ABORTED" in (failure or "")) for url, failure in failed] == [(True, True)]
    with contextlib.suppress(PlaywrightError):
        cancelled.abort()  # the browser gave up on it already
    gate["open"] = True
    for route in waiting:
        route.continue_()
    for number in range(4):
        expect(chips(page).nth(number)).to_have_attribute("data-state", "ready")
    chrome.screenshot(page, "2-four-photos")

    # Removing an uploaded photo deletes it on the server: its thumbnail is gone.
    removed = chips(page).first
    thumbnail = removed.locator("img").get_attribute("src")
    assert page.request.get(thumbnail).status == 200
    removed.get_by_role("button", name="Remove 1.png").click()
    expect(chips(page)).to_have_count(3)
    page.wait_for_function(
        "async (url) => (await fetch(url)).status === 404", arg=thumbnail, polling=100, timeout=10_000
    )

    # Only photos, no text: that is a message too.
    expect(chat.send_button).to_be_enabled()
    chat.send_button.click()
    sent = chat.user_messages.first.locator(".msg__photo img")
    expect(sent).to_have_count(3)
    # In the order they were added: uploads go one at a time, so the ids follow that order.
    for number, name in enumerate(["2.png", "3.png", "4.png"]):
        expect(sent.nth(number)).to_have_attribute("alt", name)
    expect(chat.user_messages.first.locator(".msg__bubble")).to_be_hidden()
    notes = chat.user_messages.first.locator(".msg__photo-note")
    expect(notes).to_have_count(1)
    expect(notes).to_have_text("resized for the model")
    expect(chat.user_messages.first.locator(".msg__photo").last.locator(".msg__photo-note")).to_have_count(1)
    reply = chat.last_reply()
    chat.wait_for_status(reply, "complete")
    described = chat.text_of(reply)
    assert "Image 1: 8×8 pixels" in described and "Image 2: 8×8 pixels" in described
    assert "Image 3: 6000×8 pixels" in described, "the model got the smaller copy"
    assert "Image 4" not in described
    chrome.screenshot(page, "3-sent-three")
    assert chrome.page_errors == []
