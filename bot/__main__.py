"""Command line: ``python -m bot [serve | check-config FILE [--explain PATH ...] |
audit OWNER/REPO ... | audit-release OWNER/REPO TAG ...]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

logger = logging.getLogger("bot")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (it roughly halves the cost of each request),
    else asyncio's own."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on every platform
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve() -> int:
    from aiohttp import web

    from bot import logs
    from bot.clock import SystemClock
    from bot.github.client import GitHubApp
    from bot.service.server import create_app
    from bot.settings import Settings, SettingsError

    logs.configure()
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return 2
    clock = SystemClock()
    app = create_app(settings, GitHubApp(settings, clock), clock)
    logger.info("starting", extra={"host": settings.host, "port": settings.port})
    web.run_app(app, host=settings.host, port=settings.port, print=None, loop=new_event_loop())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the webhook server (the default)")
    from bot.cli import check_config as cli_check_config

    cli_check_config.add_parser(commands)
    from bot.cli import audit as cli_audit
    from bot.cli import audit_release as cli_audit_release

    cli_audit.add_parser(commands)
    cli_audit_release.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "check-config":
        return cli_check_config.main(args)
    if args.command == "audit":
        return cli_audit.main(args)
    if args.command == "audit-release":
        return cli_audit_release.main(args)
    return serve()


if __name__ == "__main__":
    sys.exit(main())
