"""The aiohttp application: routes, the auth-and-logging middleware, introspection, serving."""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys

from aiohttp import web

from .auth import authenticate
from .completions import chat_completions
from .delivery import ConnectionDropped, drop_connection, error_response
from .errors import EmulatorError
from .generations import generated_file, image_generations
from .state import API_PREFIX, RECORD, STATE, EmulatorConfig, EmulatorState, state_of

# Five base64 images of up to 5 MB each, plus the rest of the body.
MAX_BODY_BYTES = 40 * 1024 * 1024
LISTEN_BACKLOG = 4096

logger = logging.getLogger("glm.emulator")


@web.middleware
async def api_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Authenticate and log every API request; turn EmulatorError into the platform's JSON error."""
    if not request.path.startswith(API_PREFIX + "/"):
        return await handler(request)
    state = state_of(request)
    record = state.log.start(request.path)
    request[RECORD] = record
    try:
        record.api_key_id = authenticate(request.headers.get("Authorization"), state.config.api_key)
        response = await handler(request)
    except EmulatorError as error:
        response = error_response(error)
    except ConnectionDropped:
        record.finish()
        return web.Response()
    except web.HTTPException as exception:
        record.status = exception.status
        record.finish()
        raise
    except asyncio.CancelledError:
        # The client went away while the reply was being prepared or streamed.
        record.finish(disconnected=True)
        raise
    except Exception:
        logger.exception("emulator bug while answering %s", request.path)
        if record.status is not None:
            # Headers are already out: a clean JSON error is no longer possible.
            drop_connection(request)
            record.finish()
            return web.Response()
        response = error_response(EmulatorError("500"))
    if record.status is None and not record.client_disconnected:
        record.status = response.status
    record.finish(disconnected=record.client_disconnected)
    return response


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def request_log(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).log.as_json())


async def reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return web.json_response({"ok": True})


def build_app(config: EmulatorConfig) -> web.Application:
    app = web.Application(middlewares=[api_middleware], client_max_size=MAX_BODY_BYTES)
    app[STATE] = EmulatorState(config)
    app.router.add_post(f"{API_PREFIX}/chat/completions", chat_completions)
    app.router.add_post(f"{API_PREFIX}/images/generations", image_generations)
    app.router.add_get("/files/{name}", generated_file)
    app.router.add_get("/_emulator/health", health)
    app.router.add_get("/_emulator/requests", request_log)
    app.router.add_post("/_emulator/reset", reset)
    return app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def serve(config: EmulatorConfig) -> None:
    """Serve until SIGINT or SIGTERM; announce the address on stdout once listening."""
    if not config.quiet:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    runner = web.AppRunner(
        build_app(config),
        # Cancelling the handler when its client disconnects ends streams and hangs at once.
        handler_cancellation=True,
        access_log=None if config.quiet else logging.getLogger("aiohttp.access"),
        shutdown_timeout=1.0,
        keepalive_timeout=config.keepalive_seconds,
    )
    await runner.setup()
    sock = _bind(config.host, config.port)
    site = web.SockSite(runner, sock, backlog=LISTEN_BACKLOG)
    await site.start()
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    print(f"GLM emulator listening on http://{host}:{port}{API_PREFIX}", flush=True)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    try:
        await stopping.wait()
    finally:
        await runner.cleanup()
