"""The sdist of a version on a Python package index, read through its JSON API.

``GET {index}/pypi/{project}/{version}/json`` names the version's files with their URLs and
digests (https://docs.pypi.org/api/json/). The index is ``PYPI_URL`` (https://pypi.org by
default); tests point it at a stand-in on loopback. Nothing here writes anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

_NORMALISE = re.compile(r"[-_.]+")


def normalise(project: str) -> str:
    """A project's name as PEP 503 compares it.

    >>> normalise("Foo_Bar.baz")
    'foo-bar-baz'
    """
    return _NORMALISE.sub("-", project).lower()


def pypi_version(tag: str) -> str:
    """The version a release tag names, as PyPI spells it (a leading ``v`` dropped).

    >>> pypi_version("v3.12.1"), pypi_version("2.0rc1")
    ('3.12.1', '2.0rc1')
    """
    return tag[1:] if tag[:1] in ("v", "V") and tag[1:2].isdigit() else tag


@dataclass(frozen=True)
class Sdist:
    """An sdist the index lists: its file name, URL and advertised SHA-256."""

    filename: str
    url: str
    sha256: str | None
    size: int | None


class NotOnIndex(Exception):
    """The index has no such project or version, or no sdist of it."""


async def find_sdists(
    session: aiohttp.ClientSession, index: str, project: str, version: str, timeout: float = 30.0
) -> list[Sdist]:
    """Every sdist of ``project`` ``version`` on ``index`` (a version may list a ``.tar.gz`` and
    a ``.zip``); :class:`NotOnIndex` where there is none, ``aiohttp.ClientError`` where the index
    could not be read."""
    url = f"{index.rstrip('/')}/pypi/{quote(normalise(project))}/{quote(version)}/json"
    async with session.get(
        url,
        headers={"Accept": "application/json"},
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as response:
        if response.status == 404:
            raise NotOnIndex(f"{index} has no release {version} of {project}")
        response.raise_for_status()
        data: Any = await response.json(content_type=None)
    files = data.get("urls") if isinstance(data, dict) else None
    found = []
    for item in files or []:
        if isinstance(item, dict) and item.get("packagetype") == "sdist" and item.get("url"):
            digests = item.get("digests") or {}
            size = item.get("size")
            found.append(
                Sdist(
                    filename=str(item.get("filename") or item["url"].rsplit("/", 1)[-1]),
                    url=str(item["url"]),
                    sha256=str(digests["sha256"]) if digests.get("sha256") else None,
                    size=int(size) if isinstance(size, int) else None,
                )
            )
    if not found:
        raise NotOnIndex(f"{index} lists no sdist of {project} {version}")
    return found
