"""What every handler is given besides the event and its GitHub client.

Handlers receive a :class:`Services` as the keyword argument ``services`` (as bedevere passes its
extra dependencies), never through globals. The caches in it are only caches: losing them (a
restart, a second replica) costs requests, never correctness.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import cachetools

from bot.clock import Clock
from bot.github import GitHubApp
from bot.settings import Settings

T = TypeVar("T")

POLICY_TTL = 300.0
BRANCHES_TTL = 300.0
TEAM_TTL = 300.0
PERMISSION_TTL = 300.0
FILES_TTL = 3600.0
"""A pull request's file list is cached by head commit, so it is the same answer while it lives."""


@dataclass
class Caches:
    """Short-lived answers from GitHub, keyed by repository (or team, or user).

    ``files`` holds pull-request file lists keyed by (repository, number, head sha) and ``blobs``
    git's binary test per blob sha: both are keyed by content, so they can never be wrong.
    """

    policies: cachetools.TTLCache[Any, Any]
    branches: cachetools.TTLCache[Any, Any]
    teams: cachetools.TTLCache[Any, Any]
    permissions: cachetools.TTLCache[Any, Any]
    files: cachetools.TTLCache[Any, Any]
    blobs: cachetools.LRUCache[Any, Any]

    @classmethod
    def create(cls, clock: Clock) -> Caches:
        def ttl(seconds: float) -> cachetools.TTLCache[Any, Any]:
            return cachetools.TTLCache(maxsize=4096, ttl=seconds, timer=clock.monotonic)

        return cls(
            policies=ttl(POLICY_TTL),
            branches=ttl(BRANCHES_TTL),
            teams=ttl(TEAM_TTL),
            permissions=ttl(PERMISSION_TTL),
            files=cachetools.TTLCache(maxsize=1024, ttl=FILES_TTL, timer=clock.monotonic),
            blobs=cachetools.LRUCache(maxsize=20_000),
        )


@dataclass
class Services:
    settings: Settings
    github: GitHubApp
    clock: Clock
    caches: Caches = field(init=False)

    def __post_init__(self) -> None:
        self.caches = Caches.create(self.clock)


async def cached(
    cache: MutableMapping[Any, Any], key: Hashable, fetch: Callable[[], Awaitable[T]]
) -> T:
    """The answer for ``key`` from ``cache``, else from ``fetch()``, remembered for next time."""
    try:
        return cast(T, cache[key])
    except KeyError:
        pass
    value = await fetch()
    cache[key] = value
    return value
