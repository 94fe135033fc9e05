"""GitHub App plumbing: the App's JWT, installation tokens, and one retry policy for every call.

Every request the bot makes, REST or GraphQL, goes through :meth:`GitHubClient._request`, the one
place that applies the retry policy and the per-installation cap on concurrent requests. Clients
share one aiohttp session and one ETag cache; installation tokens are cached per installation,
fetched on an installation client's first request and renewed a few minutes before they expire.
Time, sleeping and jitter come from the injected clock.

An error GitHub answers carries the route of its request (method and URL template, never a query,
host or credential: :func:`request_route`), and :func:`refusal` tells the answers GitHub is expected
to give (an installation removed, a repository the App lost, an over-limit write) from bugs.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import cachetools
import jwt as pyjwt
from gidgethub import (
    BadGraphQLRequest,
    BadRequest,
    GitHubException,
    QueryError,
    RateLimitExceeded,
    sansio,
)
from gidgethub import aiohttp as gh_aiohttp

from bot.clock import Clock
from bot.downloads import Downloaded, DownloadError, fetch, read_body
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.metrics import Metrics

logger = logging.getLogger(__name__)

JWT_BACKDATE = 60
"""Seconds the App JWT's ``iat`` lies in the past, for clock drift between us and GitHub."""
JWT_LIFETIME = 9 * 60
"""Seconds the App JWT is valid from now; GitHub refuses more than 10 minutes."""
TOKEN_RENEW_BEFORE = timedelta(minutes=5)
"""An installation token is renewed when it has less than this left."""
MIN_RATE_LIMIT_WAIT = 60.0
"""Seconds to wait for a rate limit that says nothing of when it ends."""

_TRANSIENT_ERRORS = (
    asyncio.TimeoutError,
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter; rate limits honoured."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_rate_limit_wait: float = 3600.0

    def backoff(self, attempt: int, jitter: float) -> float:
        """Delay before retry number ``attempt`` (1-based) after a failure: full-range jitter
        between half and all of ``base * 2**(attempt-1)``, capped.

        >>> RetryPolicy(base_delay=1).backoff(3, jitter=1.0)
        4.0
        """
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return float(ceiling * (0.5 + jitter / 2))

    def delay_for(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
        attempt: int,
        jitter: float,
    ) -> float | None:
        """How long to wait before retrying a response, or None when it must not be retried.

        5xx: backoff. 429, and 403 that is a rate limit (primary or secondary): ``Retry-After``,
        else ``x-ratelimit-reset``, else at least a minute. Any other status is final.
        """
        if status >= 500:
            return self.backoff(attempt, jitter)
        if status not in (403, 429):
            return None
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return min(self.max_rate_limit_wait, max(0.0, float(retry_after)))
            except ValueError:
                pass
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if remaining == "0" and reset is not None:
            try:
                return min(self.max_rate_limit_wait, max(1.0, float(reset) - now))
            except ValueError:
                return MIN_RATE_LIMIT_WAIT
        if status == 429 or b"rate limit" in body.lower():
            return MIN_RATE_LIMIT_WAIT
        return None  # a 403 that is not a rate limit: a real "forbidden"


EXPECTED_STATUSES = frozenset({403, 404, 422})
"""Answers that are GitHub's, not the bot's, doing: 404 (an installation or repository that is gone),
403 (a repository the App lost access to, a suspended installation), 422 (a write over a limit)."""
_GRAPHQL_STATUSES = {"NOT_FOUND": 404, "FORBIDDEN": 403}
"""GraphQL answers 200 with typed errors; these types say what 404 and 403 say in REST."""
_ROUTE = "countersign_route"
_QUERY_TEMPLATE = re.compile(r"\{\?[^}]*\}")
_METRIC_ROUTE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "countersign_metric_route", default=None
)
"""The route template of the request being made, for :meth:`GitHubClient._request` to count."""


def route_of(method: str, url: str, base_url: str = "") -> str:
    """A request's route for logs: its method and URL template (or path), without host or query,
    so no credential or user input beyond the path can reach a log line.

    >>> route_of("GET", "/repos/{owner}/{name}/pulls/{number}/files?per_page=100")
    'GET /repos/{owner}/{name}/pulls/{number}/files'
    >>> route_of("GET", "/repos/{owner}/{name}/contents/{+path}{?ref}")
    'GET /repos/{owner}/{name}/contents/{+path}'
    >>> route_of("GET", "https://ghe.example.com/api/v3/repositories/1/pulls?page=2",
    ...          "https://ghe.example.com/api/v3")
    'GET /repositories/1/pulls'
    """
    if "://" in url:
        path = urlsplit(url).path
        base_path = urlsplit(base_url).path.rstrip("/") if "://" in base_url else ""
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path) :]
    else:
        path = _QUERY_TEMPLATE.sub("", url).split("?", 1)[0]
    return f"{method} {path}"


def _remember_route(exc: BaseException, route: str) -> None:
    """Attach ``route`` to ``exc`` (the innermost request's route wins: an installation client's
    request that failed for want of a token names the token request)."""
    if getattr(exc, _ROUTE, None) is None:
        setattr(exc, _ROUTE, route)
        exc.add_note(f"GitHub route: {route}")


def request_route(exc: BaseException) -> str | None:
    """The route (``METHOD /template``) of the GitHub request that raised ``exc``, if any."""
    route = getattr(exc, _ROUTE, None)
    return route if isinstance(route, str) else None


@dataclass(frozen=True)
class Refusal:
    """An answer GitHub is expected to give now and then; the work it stopped is not a bug."""

    status: int
    route: str | None
    reason: str
    graphql_type: str | None = None

    def fields(self) -> dict[str, Any]:
        """The refusal as structured log fields."""
        fields: dict[str, Any] = {"status": self.status, "route": self.route, "reason": self.reason}
        if self.graphql_type is not None:
            fields["graphql_type"] = self.graphql_type
        return fields


def is_rate_limit(exc: BaseException) -> bool:
    """Whether ``exc`` is GitHub refusing for a rate limit (primary or secondary) that outlasted
    the retry policy: a passing condition, never an answer about the thing asked for."""
    if isinstance(exc, RateLimitExceeded):
        return True
    return (
        isinstance(exc, BadRequest)
        and int(exc.status_code) in (403, 429)
        and "rate limit" in str(exc).lower()
    )


def refusal(exc: BaseException) -> Refusal | None:
    """The expected refusal ``exc`` is (a REST 403, 404 or 422; a GraphQL answer whose every error
    is ``NOT_FOUND`` or ``FORBIDDEN``), or None when it is anything else: a bug, or an outage."""
    route = request_route(exc)
    reason = str(exc)[:300]
    if isinstance(exc, BadRequest | BadGraphQLRequest):
        status = int(exc.status_code)
        return Refusal(status, route, reason) if status in EXPECTED_STATUSES else None
    if isinstance(exc, QueryError):
        errors = exc.response.get("errors") if isinstance(exc.response, dict) else None
        types = {str(e.get("type")) for e in errors or [] if isinstance(e, dict)}
        if len(types) == 1 and (kind := types.pop()) in _GRAPHQL_STATUSES:
            return Refusal(_GRAPHQL_STATUSES[kind], route, reason, graphql_type=kind)
    return None


class GitHubClient(gh_aiohttp.GitHubAPI):
    """A gidgethub client whose every request passes the retry policy and the concurrency cap.

    An installation client is given ``token``, which it asks for the installation's (cached) token
    before each request: it costs nothing until it is used, and never sends an expired token.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        settings: Settings,
        clock: Clock,
        cache: cachetools.LRUCache[Any, Any],
        limiter: asyncio.Semaphore,
        oauth_token: str | None = None,
        installation_id: int | None = None,
        token: Callable[[], Awaitable[str]] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            session,
            settings.user_agent,
            oauth_token=oauth_token,
            cache=cache,
            base_url=settings.api_url,
        )
        self.installation_id = installation_id
        self._token = token
        self._settings = settings
        self._clock = clock
        self._limiter = limiter
        self._policy = RetryPolicy(attempts=settings.retry_attempts)
        self._timeout = aiohttp.ClientTimeout(total=settings.request_timeout)
        self.metrics = metrics
        self._next_pages: dict[str, str] = {}
        """A next page's URL (GitHub's ``Link``, ids and all) -> the route template it pages."""

    def _metric_route(self, method: str, url: str) -> str:
        """The route to count a request under: its template, never a URL with ids in it (a next
        page's URL counts under the template of its first page)."""
        if "://" not in url:
            return route_of(method, url)
        return self._next_pages.pop(url, None) or f"{method} (untemplated)"

    def _count(self, route: str, status: int | str, headers: Mapping[str, str] | None) -> None:
        if self.metrics is not None:
            self.metrics.github_answer(route, status, headers, self.installation_id)

    async def _request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
    ) -> tuple[int, Mapping[str, str], bytes]:
        attempt = 0
        route = _METRIC_ROUTE.get() or f"{method} (untemplated)"
        while True:
            attempt += 1
            try:
                async with self._limiter:
                    async with self._session.request(
                        method,
                        url,
                        headers=headers,
                        data=body,
                        timeout=self._timeout,
                    ) as response:
                        status, response_headers = response.status, response.headers
                        content = await response.read()
            except _TRANSIENT_ERRORS as exc:
                self._count(route, "error", None)
                if attempt >= self._policy.attempts:
                    raise
                delay = self._policy.backoff(attempt, self._clock.random())
                reason = type(exc).__name__
            else:
                self._count(route, status, response_headers)
                delay_or_none = self._policy.delay_for(
                    status,
                    response_headers,
                    content,
                    self._clock.now().timestamp(),
                    attempt,
                    self._clock.random(),
                )
                if delay_or_none is None or attempt >= self._policy.attempts:
                    return status, response_headers, content
                delay, reason = delay_or_none, f"HTTP {status}"
            if self.metrics is not None:
                self.metrics.github_retry(route, reason)
            logger.warning(
                "retrying GitHub request",
                extra={
                    "method": method,
                    "url": url.split("?")[0],
                    "attempt": attempt,
                    "reason": reason,
                    "delay": round(delay, 3),
                },
            )
            await self._clock.sleep(delay)

    async def _make_request(
        self,
        method: str,
        url: str,
        url_vars: Mapping[str, Any] | None,
        data: Any,
        accept: str,
        jwt: str | None = None,
        oauth_token: str | None = None,
        content_type: str = "application/json",
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[bytes, str | None, int]:
        route = self._metric_route(method, url)
        try:
            if self._token is not None and jwt is None and oauth_token is None:
                self.oauth_token = await self._token()
            counting = _METRIC_ROUTE.set(route)
            try:
                answer = await super()._make_request(
                    method,
                    url,
                    url_vars,
                    data,
                    accept,
                    jwt=jwt,
                    oauth_token=oauth_token,
                    content_type=content_type,
                    extra_headers=extra_headers,
                )
            finally:
                _METRIC_ROUTE.reset(counting)
            if answer[1] is not None and len(self._next_pages) < 100:
                self._next_pages[answer[1]] = route
            return answer
        except GitHubException as exc:
            _remember_route(exc, route_of(method, url, self.base_url))
            raise

    async def graphql(
        self, query: str, *, endpoint: str = sansio.DOMAIN + "/graphql", **variables: Any
    ) -> Any:
        try:
            if self._token is not None:
                self.oauth_token = await self._token()
            counting = _METRIC_ROUTE.set(route_of("POST", endpoint, self._settings.api_url))
            try:
                return await super().graphql(query, endpoint=endpoint, **variables)
            finally:
                _METRIC_ROUTE.reset(counting)
        except GitHubException as exc:
            _remember_route(exc, route_of("POST", endpoint, self._settings.api_url))
            raise

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)

    async def post_with_status(
        self, url: str, url_vars: Mapping[str, Any], *, data: Any
    ) -> tuple[int, Any]:
        """POST and return (status, data): for endpoints whose 200 and 201 mean different things
        (a reaction that was already there answers 200, a new one 201)."""
        answer, _, status = await self._make_request(
            "POST", url, url_vars, data, "application/vnd.github+json"
        )
        return status, answer

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session (for downloads from the signed URLs GitHub redirects to)."""
        return self._session

    async def download(
        self, url: str, url_vars: Mapping[str, Any], *, limit: int, timeout: float = 300.0
    ) -> Downloaded:
        """Download ``url`` (a release asset, asked for as ``application/octet-stream``), at most
        ``limit`` bytes. GitHub answers with a redirect to a signed, short-lived URL, which is
        fetched without this client's credentials, or (as its documentation allows) with the
        bytes themselves. One API request; :class:`bot.downloads.DownloadError` when it fails."""
        full = sansio.format_url(url, url_vars, base_url=self.base_url)
        if self._token is not None:
            self.oauth_token = await self._token()
        headers = sansio.create_headers(
            self.requester, accept="application/octet-stream", oauth_token=self.oauth_token
        )
        try:
            async with self._limiter:
                async with self._session.get(
                    full,
                    headers=headers,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as response:
                    self._count(route_of("GET", url), response.status, response.headers)
                    if response.status == 200:
                        return await read_body(response, limit=limit)
                    location = response.headers.get("location")
                    if response.status not in (301, 302, 303, 307, 308) or not location:
                        raise DownloadError(f"GitHub answered HTTP {response.status}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DownloadError(f"the download failed: {type(exc).__name__}") from None
        return await fetch(self._session, location, limit=limit, timeout=timeout)

    async def query(self, query: str, **variables: Any) -> Any:
        """Run a GraphQL query against the configured endpoint (never api.github.com by default)."""
        return await self.graphql(query, endpoint=self._settings.graphql_url, **variables)


class GitHubApp:
    """Makes GitHub clients: one for the App itself (JWT) and one per installation (token).

    This is the "GitHub client factory" the web app is given. It owns the shared HTTP session, the
    ETag cache, the token cache and the per-installation request caps; all of them are caches only.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        """Where the clients made here count their requests (the web app sets it)."""
        self.clock = clock
        self._session = session
        self._own_session = session is None
        self._etags: cachetools.LRUCache[Any, Any] = cachetools.LRUCache(maxsize=1000)
        self._tokens: cachetools.TTLCache[int, tuple[str, datetime]] = cachetools.TTLCache(
            maxsize=10_000, ttl=3600, timer=clock.monotonic
        )
        self._token_locks: dict[int, asyncio.Lock] = {}
        self._limiters: dict[int | None, asyncio.Semaphore] = {}
        self.app_slug: str | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _limiter(self, installation_id: int | None) -> asyncio.Semaphore:
        limiter = self._limiters.get(installation_id)
        if limiter is None:
            limiter = asyncio.Semaphore(self.settings.per_installation_requests)
            self._limiters[installation_id] = limiter
        return limiter

    def jwt(self) -> str:
        """A fresh App JWT (RS256), issued 60 s in the past, valid 9 minutes from now."""
        now = int(self.clock.now().timestamp())
        payload = {
            "iat": now - JWT_BACKDATE,
            "exp": now + JWT_LIFETIME,
            "iss": self.settings.app_id,
        }
        return pyjwt.encode(payload, self.settings.private_key, algorithm="RS256")

    def app_client(self) -> GitHubClient:
        """A client for App endpoints; pass ``jwt=app.jwt()`` to each call."""
        return GitHubClient(
            self.session,
            settings=self.settings,
            clock=self.clock,
            cache=self._etags,
            limiter=self._limiter(None),
            metrics=self.metrics,
        )

    async def installation_token(self, installation_id: int) -> str:
        """The cached token for ``installation_id``, renewed before it expires."""
        lock = self._token_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and cached[1] - self.clock.now() > TOKEN_RENEW_BEFORE:
                return cached[0]
            answer = await self.app_client().post(
                "/app/installations/{installation_id}/access_tokens",
                {"installation_id": installation_id},
                data=b"",
                jwt=self.jwt(),
            )
            token = str(answer["token"])
            expires_at = datetime.fromisoformat(str(answer["expires_at"]).replace("Z", "+00:00"))
            self._tokens[installation_id] = (token, expires_at)
            logger.info(
                "installation token issued",
                extra={"installation": installation_id, "expires_at": expires_at.isoformat()},
            )
            return token

    async def for_installation(self, installation_id: int) -> GitHubClient:
        """A client acting as the App's installation ``installation_id``. Its token is asked for
        on its first request, so an installation that is gone fails there, with that request's
        route, and work that needs no request (forgetting a removed installation) costs none."""
        return GitHubClient(
            self.session,
            settings=self.settings,
            clock=self.clock,
            cache=self._etags,
            limiter=self._limiter(installation_id),
            installation_id=installation_id,
            token=partial(self.installation_token, installation_id),
            metrics=self.metrics,
        )

    def forget_installation(self, installation_id: int) -> bool:
        """Drop the cached token (and request cap) of an installation that was removed or
        suspended; returns whether a token was cached. A client still running keeps its cap."""
        self._limiters.pop(installation_id, None)
        if self.metrics is not None:
            self.metrics.forget_installation(installation_id)
        lock = self._token_locks.get(installation_id)
        if lock is not None and not lock.locked():
            del self._token_locks[installation_id]
        return self._tokens.pop(installation_id, None) is not None

    async def slug(self) -> str:
        """The App's slug (its bot account is ``<slug>[bot]``), asked of GitHub once."""
        if self.app_slug is None:
            answer = await self.app_client().getitem("/app", jwt=self.jwt())
            self.app_slug = str(answer["slug"])
        return self.app_slug
