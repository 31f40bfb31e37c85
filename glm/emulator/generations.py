"""POST /images/generations and GET /files/<name>: CogView stand-in with expiring URLs."""
from __future__ import annotations

import asyncio
import math
import time

from aiohttp import web

from .delivery import drop_before_answering, hang_until_client_leaves, read_json, sleep_ms
from .errors import EmulatorError
from .faults import Triggers, parse_triggers
from .files import PLAIN, Delivery
from .images import pad_png, parse_image_request, render_png
from .state import record_of, state_of
from .wire import dumps


async def image_generations(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    record = record_of(request)
    body = await read_json(request)
    if isinstance(body, dict):
        record.model = body.get("model") if isinstance(body.get("model"), str) else None
        record.last_user_text = body.get("prompt") if isinstance(body.get("prompt"), str) else None
    image_request = parse_image_request(body)
    triggers = parse_triggers(image_request.prompt)

    slot = state.limiter.acquire(record.api_key_id or "", image_request.model)
    try:
        if triggers.error_code and state.failures.should_fail(
            record.api_key_id or "", image_request.prompt, triggers.error_times
        ):
            raise EmulatorError(triggers.error_code)
        if triggers.hang:
            await hang_until_client_leaves(request)
            record.client_disconnected = True
            return web.Response()
        await sleep_ms(state.config.first_token_ms + (triggers.slow_ms or 0))
        if triggers.drop_after is not None:
            drop_before_answering(request)
        png = await asyncio.to_thread(render_png, image_request.prompt, image_request.width, image_request.height)
    finally:
        slot.release()
    name = _store(state, png, triggers)
    body = {
        "created": int(time.time()),
        "data": [{"url": f"{request.scheme}://{request.host}/files/{name}"}],
        "content_filter": [{"role": "assistant", "level": 3}],
    }
    return web.Response(body=dumps(body), content_type="application/json", charset="utf-8")


# A slow download ([[glm-file-slow:MS]]) comes in this many pieces, MS apart.
SLOW_PIECES = 20
PIECE_BYTES = 64 * 1024
NOT_AN_IMAGE = b"<!DOCTYPE html><html><body>This is not a picture.</body></html>\n"


def _store(state, png: bytes, triggers: Triggers) -> str:
    """Keep the picture, shaped by the prompt's [[glm-file...]] triggers."""
    if triggers.file_fault == "not-image":
        png = NOT_AN_IMAGE
    if triggers.file_pad:
        png = pad_png(png, triggers.file_pad)
    delivery = PLAIN
    if triggers.file_slow_ms or triggers.file_pad:
        delivery = Delivery(pause_ms=triggers.file_slow_ms or 0, chunked=bool(triggers.file_pad))
    ttl = 0 if triggers.file_fault == "expired" else None
    return state.files.put_png(png, ttl_seconds=ttl, delivery=delivery)


async def generated_file(request: web.Request) -> web.StreamResponse:
    files = state_of(request).files
    name = request.match_info["name"]
    data = files.get(name)
    if data is None:
        raise web.HTTPNotFound(text="file not found or expired")
    delivery = files.delivery_of(name)
    if delivery == PLAIN:
        return web.Response(body=data, content_type="image/png")
    return await _send_in_pieces(request, data, delivery)


async def _send_in_pieces(request: web.Request, data: bytes, delivery: Delivery) -> web.StreamResponse:
    # The header says image/png whatever the bytes are: clients must not believe it.
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    if delivery.chunked:
        response.enable_chunked_encoding()  # no Content-Length: the client must count
    else:
        response.content_length = len(data)
    await response.prepare(request)
    size = max(1, math.ceil(len(data) / SLOW_PIECES)) if delivery.pause_ms else PIECE_BYTES
    try:
        for start in range(0, len(data), size):
            if start and delivery.pause_ms:
                await asyncio.sleep(delivery.pause_ms / 1000)
            await response.write(data[start : start + size])
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client gave up (too big, too slow): that is what the trigger is for
    return response
