"""Command line: ``python -m bot [serve | check-config FILE [--explain PATH ...] |
audit OWNER/REPO ... | audit-release OWNER/REPO TAG ... | digest ... | sweep ... | redeliver |
register --webhook-url URL ... | demo [--out DIR]]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger("bot")


def startup_fields(settings: Settings) -> dict[str, Any]:
    """What the start-up log line says: the version (from the installed package's metadata),
    where GitHub is, the App id and where the server listens. Never the key or the secret."""
    try:
        installed = version("countersign")
    except PackageNotFoundError:  # pragma: no cover - run from a tree that was never installed
        installed = "unknown"
    api = urlsplit(settings.api_url)
    return {
        "version": installed,
        "api_url": api._replace(netloc=api.netloc.rpartition("@")[2]).geturl(),
        "app_id": settings.app_id,
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
    }


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
    from bot.settings import Settings, SettingsError, environment

    logs.configure()
    try:
        settings = Settings.from_env(environment(os.environ))
    except SettingsError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(settings.log_level)
    clock = SystemClock()
    app = create_app(settings, GitHubApp(settings, clock), clock)
    logger.info("starting", extra=startup_fields(settings))
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
    from bot.cli import jobs as cli_jobs

    cli_audit.add_parser(commands)
    cli_audit_release.add_parser(commands)
    cli_jobs.add_parsers(commands)
    from bot.cli import register as cli_register

    cli_register.add_parser(commands)
    from bot.cli import demo as cli_demo

    cli_demo.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "check-config":
        return cli_check_config.main(args)
    if args.command == "audit":
        return cli_audit.main(args)
    if args.command == "audit-release":
        return cli_audit_release.main(args)
    if args.command in ("digest", "sweep", "redeliver"):
        return cli_jobs.main(args)
    if args.command == "register":
        return cli_register.main(args)
    if args.command == "demo":
        return cli_demo.from_args(args)
    return serve()


if __name__ == "__main__":
    sys.exit(main())
