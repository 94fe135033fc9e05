"""What every handler is given besides the event and its GitHub client.

Handlers receive a :class:`Services` as the keyword argument ``services`` (as bedevere passes its
extra dependencies), never through globals. The caches in it are only caches: losing them (a
restart, a second replica) costs requests, never correctness.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import cachetools

from bot.clock import Clock
from bot.github.client import GitHubApp
from bot.settings import Settings

T = TypeVar("T")

DORMANT_TTL = 6 * 24 * 3600.0
"""Seconds a dormant-account look-up is kept: a weekly digest asks each account once."""
POLICY_TTL = 300.0
BRANCHES_TTL = 300.0
TEAM_TTL = 300.0
PERMISSION_TTL = 300.0
MERGES_TTL = 300.0
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
    landed: cachetools.TTLCache[Any, Any]
    """``(repository, branch, merge commit) -> the branch's head before the merge``, learnt from a
    merged pull request's own query: the push that merge made needs no request to be told from a
    direct push. Only a cache: without it, the push is read from GitHub."""
    audited: cachetools.TTLCache[Any, Any]
    """``(repository, pull request number) -> merge commit`` of merges this process recorded (or
    found recorded): a second delivery about the same merge needs no request. Only a cache."""
    dormant: cachetools.TTLCache[Any, Any]
    """``(repository, login, days) -> whether the person did nothing there for that long``: a
    digest costs at most one request per privileged account a week. Only a cache."""
    merges: cachetools.TTLCache[Any, Any]
    """``(repository, pull request number) -> what was read of a merged pull request`` by the
    push its merge made, for the pull request's own delivery, which comes a moment later: the
    facts of a merged pull request are as they stood when it merged, so they keep. Only a
    cache."""

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
            landed=cachetools.TTLCache(maxsize=4096, ttl=FILES_TTL, timer=clock.monotonic),
            audited=cachetools.TTLCache(maxsize=4096, ttl=FILES_TTL, timer=clock.monotonic),
            merges=cachetools.TTLCache(maxsize=256, ttl=MERGES_TTL, timer=clock.monotonic),
            dormant=cachetools.TTLCache(maxsize=8192, ttl=DORMANT_TTL, timer=clock.monotonic),
        )

    def forget_repositories(self, repos: Iterable[str]) -> int:
        """Drop every answer cached about ``repos`` (``owner/name``, any case): policies, branches,
        permissions, file lists. The organisation's ``.github`` repository is a layer of every
        policy of its owner, so forgetting it forgets them all. Returns how many entries went."""
        names = {repo.lower() for repo in repos}
        owners = {name.split("/", 1)[0] for name in names if name.endswith("/.github")}

        def about(key: Any) -> bool:
            repo = _repository_of(key)
            return repo is not None and repo in names

        def policy_about(key: Any) -> bool:
            repo = _repository_of(key)
            return repo is not None and (repo in names or repo.split("/", 1)[0] in owners)

        return (
            _forget(self.policies, policy_about)
            + _forget(self.branches, about)
            + _forget(self.permissions, about)
            + _forget(self.files, about)
        )

    def forget_policies_of_owner(self, owner: str) -> int:
        """Drop every cached policy (and policy layer) of ``owner``'s repositories: its
        organisation policy changed."""
        wanted = owner.lower()

        def about(key: Any) -> bool:
            repo = _repository_of(key)
            return repo is not None and repo.split("/", 1)[0] == wanted

        return _forget(self.policies, about)

    def forget_owner(self, owner: str) -> int:
        """Drop every answer cached about ``owner``'s repositories and teams (an installation on
        that account was removed or suspended). Blobs are keyed by content and stay."""
        wanted = owner.lower()

        def about(key: Any) -> bool:
            repo = _repository_of(key)
            return repo is not None and repo.split("/", 1)[0] == wanted

        def team_of_owner(key: Any) -> bool:
            return isinstance(key, tuple) and bool(key) and str(key[0]).lower() == wanted

        return (
            _forget(self.policies, about)
            + _forget(self.branches, about)
            + _forget(self.permissions, about)
            + _forget(self.files, about)
            + _forget(self.teams, team_of_owner)
        )


def _repository_of(key: Any) -> str | None:
    """The repository (lower case) a cache key is about: the key itself, or its first item."""
    first = key[0] if isinstance(key, tuple) and key else key
    return first.lower() if isinstance(first, str) and "/" in first else None


def _forget(cache: MutableMapping[Any, Any], matches: Callable[[Any], bool]) -> int:
    doomed = [key for key in list(cache) if matches(key)]
    for key in doomed:
        cache.pop(key, None)
    return len(doomed)


@dataclass
class Services:
    settings: Settings
    github: GitHubApp
    clock: Clock
    caches: Caches = field(init=False)

    def __post_init__(self) -> None:
        self.caches = Caches.create(self.clock)


_IN_FLIGHT: dict[tuple[int, Hashable], asyncio.Future[Any]] = {}
"""Fetches under way, by (cache, key): concurrent callers share one request."""


async def cached(
    cache: MutableMapping[Any, Any], key: Hashable, fetch: Callable[[], Awaitable[T]]
) -> T:
    """The answer for ``key`` from ``cache``, else from ``fetch()``, remembered for next time.

    Callers that miss the same key at the same time share one fetch (a burst of deliveries for
    one repository reads its policy once, not once per job); a failed fetch fails them all and
    is not remembered."""
    try:
        return cast(T, cache[key])
    except KeyError:
        pass
    flight = (id(cache), key)
    pending = _IN_FLIGHT.get(flight)
    if pending is not None and pending.get_loop() is asyncio.get_running_loop():
        return cast(T, await asyncio.shield(pending))
    task = asyncio.ensure_future(fetch())
    _IN_FLIGHT[flight] = task
    try:
        value = await asyncio.shield(task)
    finally:
        if _IN_FLIGHT.get(flight) is task:
            del _IN_FLIGHT[flight]
    cache[key] = value
    return value
