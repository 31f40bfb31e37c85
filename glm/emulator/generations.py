"""POST /images/generations and GET /files/<name>: CogView stand-in with expiring URLs."""
from __future__ import annotations

import asyncio
import time

from aiohttp import web

from .delivery import drop_before_answering, hang_until_client_leaves, read_json, sleep_ms
from .errors import EmulatorError
from .faults import parse_triggers
from .images import parse_image_request, render_png
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
    name = state.files.put_png(png)
    body = {
        "created": int(time.time()),
        "data": [{"url": f"{request.scheme}://{request.host}/files/{name}"}],
        "content_filter": [{"role": "assistant", "level": 3}],
    }
    return web.Response(body=dumps(body), content_type="application/json", charset="utf-8")


async def generated_file(request: web.Request) -> web.Response:
    data = state_of(request).files.get(request.match_info["name"])
    if data is None:
        raise web.HTTPNotFound(text="file not found or expired")
    return web.Response(body=data, content_type="image/png")
