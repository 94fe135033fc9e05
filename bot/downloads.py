"""Bounded downloads of release archives, and reading them off the event loop.

An archive is streamed into a spooled temporary file (memory up to :data:`SPOOL_BYTES`, then an
anonymous file on disk), never past its cap: a download that goes past it stops with
:class:`TooLarge`. Nothing is extracted: :func:`read_off_loop` gives the file to
:func:`bot.core.archive.read_archive` in a worker thread, so that reading a large or hostile
archive never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, BinaryIO, Final, cast

import aiohttp

from bot.core.archive import ArchiveContents, Limits, read_archive

SPOOL_BYTES: Final = 16 * 1024 * 1024
"""How much of a download is held in memory before it goes to an anonymous temporary file."""
CHUNK: Final = 64 * 1024


class DownloadError(Exception):
    """A download that did not succeed: ``reason`` says why, in words for a report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(DownloadError):
    """A download past its cap."""


@dataclass
class Downloaded:
    """A downloaded file: its content (rewound), size and SHA-256."""

    file: IO[bytes]
    size: int
    sha256: str

    def close(self) -> None:
        self.file.close()


def _human(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


async def read_body(response: aiohttp.ClientResponse, *, limit: int) -> Downloaded:
    """The body of a 200 answer, streamed into a spooled file of at most ``limit`` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise TooLarge(f"it is {_human(declared)}, over the cap of {_human(limit)}")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in response.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"it is over the cap of {_human(limit)}")
            digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Downloaded(cast(IO[bytes], spool), size, digest.hexdigest())


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    limit: int,
    headers: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> Downloaded:
    """GET ``url`` (following redirects) into a spooled file of at most ``limit`` bytes."""
    try:
        async with session.get(
            url,
            headers=dict(headers or {}),
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            if response.status != 200:
                raise DownloadError(f"the download answered HTTP {response.status}")
            return await read_body(response, limit=limit)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise DownloadError(f"the download failed: {type(exc).__name__}") from None


def from_file(path: str, *, limit: int) -> Downloaded:
    """A local file, as if downloaded (for the command line's ``--artifact``)."""
    digest = hashlib.sha256()
    handle = open(path, "rb")
    size = 0
    while chunk := handle.read(CHUNK):
        size += len(chunk)
        if size > limit:
            handle.close()
            raise TooLarge(f"it is over the cap of {_human(limit)}")
        digest.update(chunk)
    handle.seek(0)
    return Downloaded(handle, size, digest.hexdigest())


async def read_off_loop(
    name: str,
    downloaded: Downloaded,
    limits: Limits,
    keep: Callable[[str], bool] | None = None,
) -> ArchiveContents:
    """:func:`read_archive` of a downloaded file, in a worker thread."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    stream = cast(BinaryIO, downloaded.file)
    return await loop.run_in_executor(None, context.run, read_archive, name, stream, limits, keep)
