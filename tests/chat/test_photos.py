"""Photos: the upload view refuses anything that is not a clean photo, stores a re-encoded copy
without metadata, serves it only to its owner, and glm-4v-plus is asked about it."""
import base64
import io
import struct
import zlib

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageStat, PngImagePlugin

from chat import replies
from chat.models import Attachment, Message
from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user
from tests.ops.processes import clean_env, run_python
from usage.models import UsageRecord


def picture(fmt="PNG", size=(64, 48), colour=(220, 20, 20), **save_args) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def photo_with_gps_and_rotation(size=(6000, 4000)) -> bytes:
    """A camera-like JPEG: GPS position in EXIF and an orientation tag saying 'rotate 90°'."""
    image = Image.new("RGB", size, (30, 60, 200))
    # A red band on the left edge, so the applied rotation can be checked from the pixels.
    image.paste((220, 20, 20), (0, 0, size[0] // 10, size[1]))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; viewers rotate 90° clockwise
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 26.0), 3: "E", 4: (116.0, 23.0, 29.0)}  # GPS IFD
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_chunk_kinds(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        kinds.append(kind)
        offset += 12 + length
    return kinds


def bomb_png(side=20000) -> bytes:
    """A tiny file that claims 400 megapixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side + 1) * 16)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def noisy_picture(mode: str, size=(240, 160)) -> Image.Image:
    """Independent noise in every channel, so no lossy or rounded copy can match it by chance."""
    channels = "RGBA" if mode == "RGBA" else "RGB"
    noisy = Image.merge(channels, [Image.effect_noise(size, 64) for _ in channels])
    return noisy if mode == channels else noisy.convert(mode)


def screenshot_picture(size=(480, 320)) -> Image.Image:
    """Dark text on a light page: what a screenshot of an interface looks like to zlib."""
    page = Image.new("RGB", size, (246, 246, 248))
    draw = ImageDraw.Draw(page)
    for line, top in enumerate(range(8, size[1] - 16, 18)):
        draw.text((10, top), f"{line:02d} the quick brown fox jumps over the lazy dog", fill=(30, 30, 40))
    return page


def png_with_metadata(image: Image.Image, orientation: int | None = None, orientation_in: str = "exif") -> bytes:
    """A PNG carrying text, XMP, an ICC profile and EXIF, with an orientation if one is given."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"  # make
    if orientation and orientation_in == "exif":
        exif[0x0112] = orientation
    xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Make="PhoneCam"'
    xmp += f' tiff:Orientation="{orientation}"/>' if orientation and orientation_in == "xmp" else "/>"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at home")
    info.add_itxt("XML:com.adobe.xmp", xmp + "</x:xmpmeta>")
    buffer = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(buffer, format="PNG", pnginfo=info, icc_profile=icc, exif=exif.tobytes())
    return buffer.getvalue()


def stored_bytes(field) -> bytes:
    with field.open("rb") as handle:
        return handle.read()


@pytest.fixture
def alice(client, db):
    user = make_user("alice")
    client.force_login(user)
    return user


@pytest.fixture
def conversation(alice):
    return make_conversation(alice)


def upload(client, conversation, data, name="photo.png"):
    return client.post(f"/c/{conversation.pk}/attachments/", {"file": SimpleUploadedFile(name, data)})


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.django_db
def test_a_png_is_stored_re_encoded_with_a_thumbnail(client, conversation, settings):
    response = upload(client, conversation, picture(), name="red <b>square.png")
    assert response.status_code == 201
    body = response.json()
    assert (body["width"], body["height"], body["resized_for_model"]) == (64, 48, False)
    assert body["name"] == "red <b>square.png"  # kept as text; the page escapes it
    attachment = Attachment.objects.get(pk=body["id"])
    assert "square" not in attachment.file.name and attachment.file.name.endswith("-photo.png")
    served = client.get(body["url"])
    assert served["Content-Type"] == "image/png" and served["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).size == (64, 48)
    assert client.get(body["thumbnail_url"]).status_code == 200


@pytest.mark.django_db
def test_a_24_megapixel_photo_loses_its_exif_is_turned_upright_and_fits_the_api(client, conversation, settings):
    original = photo_with_gps_and_rotation()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "the test photo really has GPS"
    response = upload(client, conversation, original, name="IMG_0001.jpg")
    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    for field in (attachment.file, attachment.thumbnail, attachment.model_copy or attachment.file):
        with field.open("rb") as handle:
            data = handle.read()
        stored = Image.open(io.BytesIO(data))
        assert not stored.getexif(), f"{field.name} carries EXIF"
        assert b"Exif" not in data[:4096]
    with attachment.file.open("rb") as handle:
        upright = Image.open(io.BytesIO(handle.read()))
    assert upright.size == (4000, 6000), "orientation applied: portrait now"
    assert upright.getpixel((2000, 100))[0] > 150, "the red band is now along the top"
    sent = attachment.model_copy or attachment.file
    assert sent.size < 5 * 1024 * 1024
    assert max(Image.open(sent.open("rb")).size) <= 6000


@pytest.mark.parametrize(
    "uploaded, stored_mode",
    [
        (noisy_picture("RGB"), "RGB"),  # photo-like: libpng decodes it, zlib's run-length strategy
        (noisy_picture("RGBA"), "RGBA"),
        (noisy_picture("P"), "RGB"),  # a palette: Pillow decodes it
        (screenshot_picture(), "RGB"),  # text: zlib's default strategy
    ],
    ids=["photo-like", "transparent", "palette", "screenshot"],
)
@pytest.mark.django_db
def test_a_png_stays_a_lossless_png_without_its_metadata(client, conversation, uploaded, stored_mode):
    response = upload(client, conversation, png_with_metadata(uploaded), name="screen.png")
    assert response.status_code == 201
    data = stored_bytes(Attachment.objects.get(pk=response.json()["id"]).file)
    stored = Image.open(io.BytesIO(data))
    assert (stored.format, stored.mode, stored.size) == ("PNG", stored_mode, uploaded.size)
    assert stored.tobytes() == uploaded.convert(stored_mode).tobytes(), "every pixel as uploaded"
    assert set(png_chunk_kinds(data)) == {b"IHDR", b"IDAT", b"IEND"}, "no text, XMP, ICC or EXIF chunk"


@pytest.mark.parametrize("orientation_in", ["exif", "xmp"])
@pytest.mark.django_db
def test_a_turned_png_is_stored_upright_and_lossless(client, conversation, orientation_in):
    uploaded = noisy_picture("RGB")
    data = png_with_metadata(uploaded, orientation=6, orientation_in=orientation_in)  # 6: turn 90° clockwise
    response = upload(client, conversation, data, name="phone.png")
    assert response.status_code == 201
    data = stored_bytes(Attachment.objects.get(pk=response.json()["id"]).file)
    stored = Image.open(io.BytesIO(data))
    assert stored.size == (160, 240)
    assert stored.tobytes() == uploaded.transpose(Image.Transpose.ROTATE_270).tobytes()
    assert set(png_chunk_kinds(data)) == {b"IHDR", b"IDAT", b"IEND"}


def detailed_picture(mode: str, size=(1001, 2203)) -> Image.Image:
    """A different gradient in each colour channel under strong per-pixel noise (and noise for
    alpha): too detailed for its PNG to fit the API, so the model gets its own JPEG copy. Tall
    enough that a thumbnail of it is shrunk over many bands of rows."""
    gradient = Image.linear_gradient("L").resize(size)
    colours = [gradient, gradient.transpose(Image.Transpose.ROTATE_90).resize(size), ImageChops.invert(gradient)]
    bands = [Image.blend(colour, Image.effect_noise(size, 64), 0.5) for colour in colours]
    if mode == "RGBA":
        bands.append(Image.effect_noise(size, 96))
    return Image.merge(mode, bands)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.django_db
def test_a_big_pngs_thumbnail_and_model_copy_are_those_of_its_pixels(client, conversation, mode):
    uploaded = detailed_picture(mode)
    response = upload(client, conversation, png_with_metadata(uploaded), name="detailed.png")
    assert response.status_code == 201 and response.json()["resized_for_model"]
    attachment = Attachment.objects.get(pk=response.json()["id"])

    thumbnail = Image.open(io.BytesIO(stored_bytes(attachment.thumbnail)))
    expected = uploaded.resize((145, 320), Image.LANCZOS, reducing_gap=3.0)  # fitted to 320 pixels
    assert (thumbnail.format, thumbnail.mode) == ("PNG", mode)
    assert thumbnail.tobytes() == expected.tobytes(), "what Pillow makes of the whole image"

    data = stored_bytes(attachment.model_copy)
    sent = Image.open(io.BytesIO(data))
    assert (sent.format, sent.mode, sent.size) == ("JPEG", "RGB", uploaded.size)
    assert len(data) < 5 * 1024 * 1024 and not sent.getexif()
    # Colour for colour the uploaded pixels, alpha dropped (not laid over black or white): the
    # noise is averaged away, each channel's gradient stays.
    difference = ImageChops.difference(sent.reduce(16), uploaded.convert("RGB").reduce(16))
    assert max(ImageStat.Stat(difference).mean) < 4


def test_only_a_png_brings_numpy_into_the_process(tmp_path):
    """numpy (about 20 MB) comes with imagecodecs, which only PNGs need: a server process that
    has loaded every view and accepted a JPEG does not carry it."""
    script = (
        "import io, sys, django; django.setup(); import glmweb.urls; from PIL import Image; "
        "from chat.photos import clean_photo; "
        "jpeg = io.BytesIO(); Image.new('RGB', (64, 48)).save(jpeg, 'JPEG'); "
        "clean_photo(jpeg.getvalue(), max_bytes=2**20, max_pixels=10**6); print('numpy' in sys.modules); "
        "png = io.BytesIO(); Image.new('RGB', (64, 48)).save(png, 'PNG'); "
        "clean_photo(png.getvalue(), max_bytes=2**20, max_pixels=10**6); print('numpy' in sys.modules)"
    )
    done = run_python("-c", script, env=clean_env(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"]


def damaged_png() -> bytes:
    """A PNG with one byte of its image data changed, so the chunk's checksum no longer matches."""
    data = bytearray(png_with_metadata(noisy_picture("RGB")))
    data[data.index(b"IDAT") + 100] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    "name, data, code",
    [
        ("empty.png", b"", "empty"),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not_an_image"),
        ("page.png", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "not_an_image"),
        ("print.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "not_an_image"),
        ("scan.png", None, "not_an_image"),  # a TIFF renamed .png
        ("cut.png", None, "corrupt"),  # truncated
        ("damaged.png", None, "corrupt"),  # a changed byte in the image data
        ("polyglot.png", None, "trailing_data"),  # a PNG with HTML appended
        ("polyglot.jpg", None, "trailing_data"),
        ("notes.png", b"just some text pretending to be a picture", "not_an_image"),
        ("bomb.png", None, "too_many_pixels"),
    ],
)
@pytest.mark.django_db
def test_bad_uploads_are_refused_and_leave_nothing_behind(client, conversation, settings, name, data, code):
    if name == "scan.png":
        data = picture("TIFF")
    elif name == "cut.png":
        data = picture(size=(300, 300), colour=(1, 2, 3))
        data = data[: len(data) // 2]
    elif name == "damaged.png":
        data = damaged_png()
    elif name == "polyglot.png":
        data = picture() + b"<html><script>alert(document.cookie)</script></html>"
    elif name == "polyglot.jpg":
        data = picture("JPEG") + b"<script>alert(1)</script>"
    elif name == "bomb.png":
        data = bomb_png()
    before = stored_files(settings)
    response = upload(client, conversation, data, name=name)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert not Attachment.objects.exists()
    assert stored_files(settings) == before


@pytest.mark.django_db
def test_an_upload_over_the_byte_limit_is_refused(client, conversation, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    response = upload(client, conversation, picture(size=(300, 300), colour=(1, 2, 3), compress_level=0))
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_large"
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_refusals_speak_the_users_language(client, conversation):
    response = client.post(
        f"/c/{conversation.pk}/attachments/",
        {"file": SimpleUploadedFile("x.png", b"nope")},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    message = response.json()["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)


@pytest.mark.django_db
def test_other_users_cannot_upload_into_fetch_or_remove_photos(client, conversation, alice):
    attachment_id = upload(client, conversation, picture()).json()["id"]
    client.force_login(make_user("bob"))
    assert client.get(f"/attachments/{attachment_id}/").status_code == 404
    assert client.get(f"/attachments/{attachment_id}/thumbnail/").status_code == 404
    assert client.post(f"/attachments/{attachment_id}/delete/").status_code == 404
    assert upload(client, conversation, picture()).status_code == 404
    assert Attachment.objects.count() == 1


@pytest.mark.django_db
def test_an_unsent_photo_can_be_removed_with_its_files(client, conversation, settings):
    attachment_id = upload(client, conversation, picture()).json()["id"]
    assert client.post(f"/attachments/{attachment_id}/delete/").status_code == 200
    assert not Attachment.objects.exists() and stored_files(settings) == []


# --- asking glm-4v-plus ---------------------------------------------------------------------

def _upload_as(user, conversation, data, name):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return upload(client, conversation, data, name=name).json()


async def _ask(socket, text, attachment_ids):
    await socket.send({"type": "send", "text": text, "attachments": attachment_ids})
    frames = await socket.receive_until("done")
    reply = next(f["message"] for f in frames if f["type"] == "message" and f["message"]["role"] == "assistant")
    user = next(f["message"] for f in frames if f["type"] == "message" and f["message"]["role"] == "user")
    return user, reply, frames[-1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.glm
async def test_a_red_png_and_a_blue_jpeg_are_described_by_their_measured_size_and_colour(emulator):
    owner = await database_sync_to_async(make_user)("painter")
    conversation = await database_sync_to_async(make_conversation)(owner)
    red = await database_sync_to_async(_upload_as)(owner, conversation, picture(size=(64, 48)), "red.png")
    blue = await database_sync_to_async(_upload_as)(
        owner, conversation, picture("JPEG", size=(120, 90), colour=(20, 40, 210)), "blue.jpg"
    )
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        user, reply, done = await _ask(socket, "What is in these pictures?", [red["id"], blue["id"]])
        await replies.wait_for_replies()
    assert [a["id"] for a in user["attachments"]] == [red["id"], blue["id"]]
    assert reply["model"] == "glm-4v-plus", "a text conversation switches to the vision model for photos"
    assert done["status"] == "complete"
    assert "64×48 pixels, mostly red" in done["text"]
    assert "120×90 pixels, mostly blue" in done["text"]
    record = await database_sync_to_async(UsageRecord.objects.get)(message_id=reply["id"])
    assert record.kind == "vision" and record.model == "glm-4v-plus"


@pytest.mark.django_db(transaction=True)
@pytest.mark.glm
async def test_the_sent_photo_carries_no_exif_and_fits_the_api(emulator):
    owner = await database_sync_to_async(make_user)("traveller")
    conversation = await database_sync_to_async(make_conversation)(owner)
    photo = await database_sync_to_async(_upload_as)(owner, conversation, photo_with_gps_and_rotation(), "trip.jpg")
    emulator.reset()
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        _, reply, done = await _ask(socket, "Where was this?", [photo["id"]])
        await replies.wait_for_replies()
    assert "4000×6000 pixels" in done["text"] or "pixels" in done["text"]
    job_messages = await database_sync_to_async(lambda: _sent_image_bytes(reply["id"]))()
    for data in job_messages:
        assert len(data) < 5 * 1024 * 1024
        sent = Image.open(io.BytesIO(data))
        assert not sent.getexif() and max(sent.size) <= 6000 and sent.size[1] > sent.size[0]


def _sent_image_bytes(reply_id):
    """Rebuild what the runner sent for this reply from the same context code."""
    from chat.context import plan_reply

    reply = Message.objects.get(pk=reply_id)
    history = list(reply.conversation.messages.filter(id__lt=reply_id).prefetch_related("attachments"))
    plan = plan_reply(conversation=reply.conversation, history=history)
    parts = [p for m in plan.messages if isinstance(m["content"], list) for p in m["content"]]
    return [base64.b64decode(p["image_url"]["url"]) for p in parts if p["type"] == "image_url"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.glm
async def test_later_text_messages_go_back_to_the_conversation_model_with_a_placeholder(emulator):
    owner = await database_sync_to_async(make_user)("chatter")
    conversation = await database_sync_to_async(make_conversation)(owner, model="glm-4-air")
    photo = await database_sync_to_async(_upload_as)(owner, conversation, picture(), "red.png")
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await _ask(socket, "Describe it", [photo["id"]])
        await replies.wait_for_replies()
        _, reply, done = await _ask(socket, "Thanks! Now tell me a joke.", [])
        await replies.wait_for_replies()
        _, again, again_done = await _ask(socket, "What colour was the picture?", [])
        await replies.wait_for_replies()
    assert reply["model"] == "glm-4-air"
    assert again["model"] == "glm-4v-plus", "asking about the photo again sends it again"
    assert "mostly red" in again_done["text"]


@pytest.mark.django_db(transaction=True)
async def test_someone_elses_photo_cannot_be_attached():
    owner = await database_sync_to_async(make_user)("owner")
    intruder = await database_sync_to_async(make_user)("intruder")
    theirs = await database_sync_to_async(make_conversation)(owner)
    mine = await database_sync_to_async(make_conversation)(intruder)
    photo = await database_sync_to_async(_upload_as)(owner, theirs, picture(), "red.png")
    async with ChatSocket(intruder, mine.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "whose is this?", "attachments": [photo["id"]]})
        refused = await socket.receive()
    assert refused["type"] == "error" and refused["code"] == "not_found"
    assert not await database_sync_to_async(Message.objects.filter(conversation=mine).exists)()


@pytest.mark.django_db(transaction=True)
async def test_more_photos_than_the_model_takes_are_refused():
    owner = await database_sync_to_async(make_user)("collector")
    conversation = await database_sync_to_async(make_conversation)(owner)
    ids = [
        (await database_sync_to_async(_upload_as)(owner, conversation, picture(), f"{n}.png"))["id"] for n in range(6)
    ]
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "all of them", "attachments": ids})
        refused = await socket.receive()
    assert refused["code"] == "too_many_images" and "5" in refused["message"]


@pytest.mark.django_db(transaction=True)
def test_deleting_a_conversation_removes_its_photo_files(client, conversation, settings):
    upload(client, conversation, picture())
    assert stored_files(settings)
    client.post(f"/c/{conversation.pk}/delete/")
    assert not Attachment.objects.exists() and stored_files(settings) == []


@pytest.mark.django_db(transaction=True)
def test_editing_an_earlier_message_removes_the_photos_of_the_messages_it_replaces(conversation, settings, alice):
    from chat import services

    first = Message.objects.create(conversation=conversation, role="user", text="first")
    later = Message.objects.create(conversation=conversation, role="user", text="with a photo")
    from chat.attachments import attach_to_message, attachment_create

    photo = attachment_create(conversation=conversation, data=picture(), original_name="p.png")
    attach_to_message(attachments=[photo], message=later)
    services.reply_after_edit(conversation_id=conversation.pk, message_id=first.pk, text="edited", runner_channel="x!y")
    assert not Attachment.objects.exists() and stored_files(settings) == []


def jpeg_with_damaged_exif() -> bytes:
    """A 40×30 JPEG whose EXIF says "turn 90°" and holds a text where a fraction belongs (the
    camera maker's tag relabelled as the white point): Pillow reads it, but cannot write it back."""
    exif = Image.Exif()
    exif[0x010F] = "cam"  # Make, a text
    exif[0x0112] = 6  # Orientation: turn 90° clockwise to view
    block = exif.tobytes().replace(b"\x01\x0f\x00\x02", b"\x01\x3e\x00\x02")  # tag 0x013E, WhitePoint
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "JPEG", exif=block)
    return buffer.getvalue()


@pytest.mark.django_db
def test_a_photo_with_damaged_exif_is_accepted_upright_without_it(client, conversation):
    response = upload(client, conversation, jpeg_with_damaged_exif(), name="damaged-exif.jpg")

    assert response.status_code == 201
    body = response.json()
    assert (body["width"], body["height"]) == (30, 40), "turned as its orientation says"
    stored = Image.open(io.BytesIO(b"".join(client.get(body["url"]).streaming_content)))
    assert stored.size == (30, 40) and not stored.getexif()
