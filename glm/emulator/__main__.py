"""Command line: python -m glm.emulator --port 8765 [options]; see docs/emulator.md."""
from __future__ import annotations

import argparse
import asyncio

from .auth import DEFAULT_API_KEY, ApiKey
from .catalog import TIERS
from .server import serve
from .state import EmulatorConfig


def parse_args(argv: list[str] | None = None) -> EmulatorConfig:
    parser = argparse.ArgumentParser(prog="python -m glm.emulator", description="Local GLM-compatible API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the one key accepted, <id>.<secret>")
    parser.add_argument("--tier", choices=TIERS, default="off", help="RPM limits of the manual's free or paid tier")
    parser.add_argument("--max-concurrency", type=int, default=None, help="requests open at once per key")
    parser.add_argument("--first-token-ms", type=float, default=300)
    parser.add_argument("--chunk-delay-ms", type=float, default=20)
    parser.add_argument("--keepalive-seconds", type=float, default=75.0,
                        help="an idle keep-alive connection is closed after this long")
    parser.add_argument("--image-ttl", type=float, default=3600, help="seconds a generated image stays downloadable")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    try:
        api_key = ApiKey.parse(args.api_key)
    except ValueError as error:
        parser.error(f"--api-key: {error}")
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        api_key=api_key,
        tier=args.tier,
        max_concurrency=args.max_concurrency or None,
        first_token_ms=args.first_token_ms,
        chunk_delay_ms=args.chunk_delay_ms,
        image_ttl_seconds=args.image_ttl,
        keepalive_seconds=args.keepalive_seconds,
        quiet=args.quiet,
    )


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
