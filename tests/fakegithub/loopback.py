"""An aiohttp server on 127.0.0.1 (free ports): the lifecycle the fake GitHub and the PyPI
stand-in share. A subclass answers every request in ``_handle`` and may listen on more than one
port (the fake GitHub's signed downloads are on a port of their own)."""

from __future__ import annotations

import asyncio
from typing import Self

from aiohttp import web


class LoopbackServer:
    """``await start()`` (or ``async with``) to serve; ``base_url`` once started."""

    name = "the server"
    client_max_size = 1024**2

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._urls: list[str] = []
        self._closing = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def _serve(self, ports: int = 1) -> list[str]:
        """Listen on ``ports`` free ports of 127.0.0.1; their base URLs, in order."""
        if self._runner is not None:
            return self._urls
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        urls = []
        for index in range(ports):
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
            host, port = self._runner.addresses[index][:2]
            urls.append(f"http://{host}:{port}")
        self._urls, self._base_url = urls, urls[0]
        return urls

    async def start(self) -> str:
        """Listen on 127.0.0.1 (a free port); returns the base URL."""
        return (await self._serve())[0]

    async def close(self) -> None:
        """Stop serving; handlers waiting on ``_closing`` (injected timeouts) are released first."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError(f"{self.name} is not started: await start() first")
        return self._base_url
