"""The HTTP server: :class:`FakeGitHub`, its request pipeline, and its test-facing API.

Pipeline for every API request: latency -> route -> record -> injected fault -> authentication ->
repository access and app permission -> handler -> shape validation -> ETag / 304 ->
rate-limit headers.

The fake listens on two loopback ports. ``base_url`` serves the API (and, like github.com, the
``browser_download_url`` of release assets); ``downloads_url`` is the storage origin that release
downloads redirect to (GitHub's is objects.githubusercontent.com). Being another origin matters:
HTTP clients drop ``Authorization`` when a redirect leaves the origin, and the storage refuses a
request that carries it, as S3's pre-signed URLs do. Downloads go latency -> route -> record ->
injected fault -> handler, without authentication or API headers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

from . import auth, deliveries, graphql_api, manifests, mermaid, rest, shapes
from .auth import AccessToken, AuthError, TokenStore
from .clock import Clock
from .faults import FaultKind, FaultPlan, RequestRecord, route_matches
from .graphql_api import GraphQLErrorRecord
from .loopback import LoopbackServer
from .render import Renderer
from .rest import ApiError, Call, Reply
from .state import (
    Account,
    App,
    HookDelivery,
    Installation,
    ReleaseAsset,
    Repository,
    Team,
    World,
)
from .webhooks import Event, Webhooks

log = logging.getLogger(__name__)

SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
PRIMARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-the-primary-rate-limits"
)
_REPOSITORIES_ALIAS = re.compile(r"^/repositories/(?P<id>\d+)(?P<rest>/.*)?$")
_TEAM_ALIAS = re.compile(r"^/organizations/(?P<org>\d+)/team/(?P<team>\d+)(?P<rest>/.*)?$")
_STORAGE_PREFIX = "/_downloads/"
DOWNLOAD_CHUNK = 256 * 1024
SIGNED_URL_LIFETIME = 300
"""Seconds a signed download URL stays valid (GitHub's storage URLs say ``X-Amz-Expires=300``)."""


class FakeGitHub(LoopbackServer):
    """A stateful fake of api.github.com served over loopback HTTP.

    Scenario building is delegated to :class:`~tests.fakegithub.state.World` (``add_repo``,
    ``add_user``, ``add_bot``, ``add_org``, ``add_team``, ``install``, ``repo``...); webhook
    payloads come from ``fake.webhooks``.

    Release-asset downloads: ``GET /repos/{owner}/{repo}/releases/assets/{asset_id}`` with
    ``Accept: application/octet-stream`` and the assets' ``browser_download_url``
    (``GET /{owner}/{repo}/releases/download/{tag}/{asset_name}``) answer 302 to
    :meth:`signed_asset_url`, served on ``downloads_url`` as
    ``GET /_downloads/release-assets/{asset_id}`` (the route names :meth:`count` uses).

    Webhook deliveries (:mod:`.deliveries`): set :attr:`hook_url` and :attr:`hook_secret`, then
    ``await fake.send(event)`` POSTs an event as GitHub would and logs it for
    ``GET /app/hook/deliveries``; :meth:`record_delivery` plants log entries;
    ``POST /app/hook/deliveries/{delivery_id}/attempts`` redelivers.
    """

    name = "FakeGitHub"
    client_max_size = 64 * 1024 * 1024

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        app_id: int | None = None,
        app_slug: str = "countersign",
    ) -> None:
        super().__init__()
        self.world = World(clock, app_id=app_id, app_slug=app_slug)
        self.tokens = TokenStore(self.world)
        self.faults = FaultPlan()
        self.requests: list[RequestRecord] = []
        self.graphql_errors: list[GraphQLErrorRecord] = []
        self.shape_errors: list[str] = []
        self.internal_errors: list[str] = []
        self.latency: float = 0.0
        self.rate_limit = 5000
        self._rate_used: Counter[tuple[int | str, str, int]] = Counter()
        self._request_ids = 0
        self._downloads_url: str | None = None
        self._downloads_port: int | None = None
        self._download_key = hashlib.sha256(f"downloads:{self.world.app.id}".encode()).digest()
        self.asset_downloads: Literal["redirect", "stream"] = "redirect"
        """How ``GET .../releases/assets/{id}`` answers ``Accept: application/octet-stream``:
        302 to a signed storage URL (GitHub's usual answer) or 200 with the bytes (which GitHub's
        docs also allow: "API clients should handle both a 200 or 302 response")."""
        self.webhooks = Webhooks(self)
        self.hook_url: str | None = None
        """Where :meth:`send` and redeliveries POST (tests set it to the bot's ``/webhook`` URL)."""
        self.hook_secret: str | None = None
        """The app's webhook secret: deliveries carry ``X-Hub-Signature-256`` made with it."""
        self.hook_timeout: float = deliveries.DELIVERY_TIMEOUT
        """Seconds a receiver has to answer before a delivery is recorded as ``timed out``."""
        self.app_manifests: dict[str, manifests.ManifestCode] = {}
        """The manifest flow's codes, by code (see :mod:`.manifests`)."""

    # ============================================================================ lifecycle
    async def start(self) -> str:
        """Listen on 127.0.0.1: the API on one free port, the signed downloads on another (so
        that a client following the redirect drops its credentials, as it does for GitHub's
        storage host); returns the API's base URL."""
        base, downloads = await self._serve(2)
        self._downloads_url = downloads
        self._downloads_port = int(downloads.rsplit(":", 1)[1])
        return base

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def downloads_url(self) -> str:
        """The storage origin that release-asset downloads redirect to."""
        if self._downloads_url is None:
            raise RuntimeError("FakeGitHub is not started: await fake.start()")
        return self._downloads_url

    # -- signed download URLs ------------------------------------------------------------------------
    def _download_token(self, asset_id: int, expires: int) -> str:
        message = f"{asset_id}:{expires}".encode()
        return hmac.new(self._download_key, message, hashlib.sha256).hexdigest()

    def signed_asset_url(self, asset: ReleaseAsset, *, lifetime: int = SIGNED_URL_LIFETIME) -> str:
        """A storage URL for ``asset`` that works for ``lifetime`` seconds of the fake's clock."""
        expires = int(self.world.now().timestamp()) + lifetime
        token = self._download_token(asset.id, expires)
        return f"{self.downloads_url}{_STORAGE_PREFIX}release-assets/{asset.id}?expires={expires}&token={token}"

    def download_signature_ok(self, asset_id: int, expires: int, token: str) -> bool:
        return hmac.compare_digest(self._download_token(asset_id, expires), token)

    @property
    def renderer(self) -> Renderer:
        return Renderer(self._base_url or "https://api.github.com")

    # ============================================================================ scenario API
    @property
    def clock(self) -> Clock:
        return self.world.clock

    @property
    def app(self) -> App:
        return self.world.app

    @property
    def app_id(self) -> int:
        return self.world.app.id

    @property
    def private_key_pem(self) -> str:
        return auth.private_key_pem()

    # -- scenario building: the World's own methods, so their signatures are stated once ------
    @property
    def add_repo(self) -> Callable[..., Repository]:
        """A repository with an initial commit: :meth:`World.add_repo`."""
        return self.world.add_repo

    @property
    def repo(self) -> Callable[[str], Repository]:
        return self.world.repo

    @property
    def add_user(self) -> Callable[..., Account]:
        """A user: :meth:`World.add_user`."""
        return self.world.add_user

    @property
    def add_bot(self) -> Callable[[str], Account]:
        return self.world.add_bot

    @property
    def add_org(self) -> Callable[..., Account]:
        return self.world.add_org

    @property
    def add_team(self) -> Callable[..., Team]:
        return self.world.add_team

    @property
    def add_app(self) -> Callable[..., App]:
        """Another GitHub App (e.g. a CI whose check runs the bot reads): :meth:`World.add_app`."""
        return self.world.add_app

    @property
    def install(self) -> Callable[..., Installation]:
        """Install an app on all, or the given, repositories: :meth:`World.install`."""
        return self.world.install

    def installation(self, owner: str) -> Installation:
        """The fake app's installation on an account."""
        account = self.world.find_account(owner)
        inst = self.world.installation_of(account) if account else None
        if inst is None:
            raise LookupError(f"no installation on {owner}")
        return inst

    # -- credentials for tests that call the API directly ----------------------------------------
    def make_jwt(self, *, lifetime: int = 540, backdate: int = 60) -> str:
        """A valid app JWT (as of the fake's clock)."""
        return auth.make_jwt(self.app_id, self.world.now(), lifetime=lifetime, backdate=backdate)

    def issue_token(self, installation: Installation | str | int) -> str:
        """An installation access token, without going through the API."""
        if isinstance(installation, str):
            installation = self.installation(installation)
        elif isinstance(installation, int):
            installation = self.world.installations[installation]
        return self.tokens.issue(installation).token

    # -- webhooks ----------------------------------------------------------------------------------
    async def send(self, event: Event, *, fail: int | None = None) -> HookDelivery:
        """Deliver a webhook event (from ``fake.webhooks.*``) as GitHub does, and log it.

        The delivery gets a fresh GUID (its ``X-GitHub-Delivery``) and is POSTed to
        :attr:`hook_url`, signed with :attr:`hook_secret`; the answer's status is recorded in
        ``world.hook_deliveries`` (what ``GET /app/hook/deliveries`` lists). With ``fail`` (an HTTP
        status such as 500, or 0 for a timeout) nothing is POSTed: the attempt is recorded as
        failed, as when GitHub could not deliver it. See :mod:`.deliveries`."""
        return await deliveries.send(self, event, fail=fail)

    def record_delivery(
        self,
        event: Event,
        *,
        status_code: int,
        guid: str | None = None,
        delivered_at: datetime | None = None,
        redelivery: bool = False,
    ) -> HookDelivery:
        """Plant a delivery in the log without sending it (e.g. one 4 days old: ``delivered_at``);
        ``status_code`` 0 is a timeout."""
        return deliveries.record_delivery(
            self,
            event,
            status_code=status_code,
            guid=guid,
            delivered_at=delivered_at,
            redelivery=redelivery,
        )

    def manifest_code(self, manifest: dict[str, Any], *, owner: str | Account | None = None) -> str:
        """What the user's click on "Create GitHub App" does after a page POSTed ``manifest`` to
        ``/settings/apps/new`` (``owner``: the organisation of
        ``/organizations/{org}/settings/apps/new``; default the signed-in user): register the App
        and return the code GitHub redirects with, for ``POST /app-manifests/{code}/conversions``.
        Raises :class:`~tests.fakegithub.manifests.ManifestError` where GitHub would refuse."""
        return manifests.create_code(self, manifest, owner=owner).code

    @property
    def hook_deliveries(self) -> list[HookDelivery]:
        """Every delivery attempt, oldest first (``world.hook_deliveries``)."""
        return self.world.hook_deliveries

    async def deliver(self, url: str, event: Event, secret: str | None) -> int:
        """POST a webhook delivery to ``url`` (e.g. the bot's server); returns the status."""
        import aiohttp

        headers, body = self.webhooks.delivery(event, secret)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    # ============================================================================ observation
    def count(self, route: str | None = None) -> int:
        """How many requests matched ``route`` (a template, a prefix of one, or a concrete
        ``METHOD /path`` prefix; None counts everything) since the last :meth:`reset_counts`."""
        return sum(1 for r in self.requests if route_matches(route, r.route, r.concrete))

    @property
    def counts(self) -> Counter[str]:
        """Requests per route template."""
        return Counter(r.route for r in self.requests)

    def reset_counts(self) -> None:
        self.requests.clear()

    def inject_fault(self, kind: FaultKind, route: str | None = None, times: int = 1) -> None:
        """The next ``times`` requests matching ``route`` (None: any) fail with ``kind``:
        500/502/503, 429 (Retry-After), "secondary" (403 + Retry-After: 60), "primary"
        (403, x-ratelimit-remaining: 0), "timeout" (never answers), "reset" (connection dropped).
        """
        self.faults.add(kind, route, times)

    # ============================================================================ pipeline
    def _rewrite_alias(self, raw_path: str) -> str:
        """``/repositories/{id}/...`` and ``/organizations/{id}/team/{id}/...`` (as used in
        GitHub's pagination links) name the same resources as ``/repos/...`` and ``/orgs/...``."""
        if found := _REPOSITORIES_ALIAS.match(raw_path):
            ident = int(found["id"])
            for repo in self.world.repos.values():
                if repo.id == ident:
                    return f"/repos/{repo.full_name}{found['rest'] or ''}"
        if found := _TEAM_ALIAS.match(raw_path):
            for team in self.world.teams.values():
                if team.id == int(found["team"]) and team.org.id == int(found["org"]):
                    return f"/orgs/{team.org.login}/teams/{team.slug}{found['rest'] or ''}"
        return raw_path

    def _rate_headers(self, who: int | str | None, resource: str, *, count: bool) -> dict[str, str]:
        now = self.world.now().timestamp()
        window = int(now // 3600)
        key = (who if who is not None else "anonymous", resource, window)
        if count:
            self._rate_used[key] += 1
        used = self._rate_used[key]
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(self.rate_limit - used, 0)),
            "x-ratelimit-reset": str((window + 1) * 3600),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": resource,
        }

    def _common_headers(self) -> dict[str, str]:
        self._request_ids += 1
        return {
            "x-github-request-id": f"FAKE:{self._request_ids:06X}",
            "x-github-media-type": "github.v3; format=json",
            "x-github-api-version-selected": "2022-11-28",
            "Date": self.world.now().astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        method = request.method
        raw_path = self._rewrite_alias(request.rel_url.raw_path)
        path = request.rel_url.path if raw_path == request.rel_url.raw_path else raw_path
        query = request.rel_url.query
        found = rest.match(method, raw_path) if raw_path != "/graphql" else None
        on_storage = self._on_storage_origin(request)
        if found is not None and found[0].template.startswith(_STORAGE_PREFIX) != on_storage:
            found = None  # storage paths only on the storage origin, and nothing else there
        if on_storage and found is None:
            return self._storage_unknown(request, path)
        route_name = (
            "POST /graphql"
            if raw_path == "/graphql" and method == "POST"
            else (found[0].name if found else f"{method} <unknown>")
        )
        resource = "graphql" if route_name == "POST /graphql" else "core"
        record: dict[str, Any] = {
            "method": method,
            "route": route_name,
            "path": path,
            "query": dict(query),
            "installation": None,
        }

        record["installation"] = self._peek_installation(
            request, found is not None and found[0].auth == "app"
        )
        fault = self.faults.take(route_name, f"{method} {path}")
        if fault is not None:
            return await self._fault(request, fault, record, resource)
        if found is not None and found[0].auth == "none":
            return await self._web(request, found, path, record)

        headers = self._common_headers()
        try:
            who, token = self._authenticate(request, found[0].auth if found else "token")
            record["installation"] = who
            if route_name == "POST /graphql":
                reply = await self._graphql(request, token)
            elif found is None:
                raise rest.not_found()
            else:
                reply = await self._rest(request, found, route_name, path, token)
        except AuthError as exc:
            record["installation"] = None
            reply = Reply(
                401, {"message": exc.message, "documentation_url": rest.DOCS, "status": "401"}
            )
        except ApiError as exc:
            reply = Reply(exc.status, exc.body, exc.headers)
        except Exception as exc:  # a bug in the fake: fail loudly, but answer like GitHub's 500
            log.exception("fake GitHub failed on %s %s", method, path)
            self.internal_errors.append(f"{method} {path}: {exc!r}")
            reply = Reply(500, {"message": "Server Error"})

        who = record["installation"]
        if who not in (None, "app") and self._used(who, resource) >= self.rate_limit:
            reply = self._primary_limit(who)
        headers.update(reply.headers)
        if reply.raw is not None:
            headers.update(self._rate_headers(who, resource, count=True))
            self.requests.append(RequestRecord(**record, status=reply.status))
            return await self._send_raw(request, reply, headers)
        response = self._respond(request, route_name, reply, headers, who, resource)
        self.requests.append(RequestRecord(**record, status=response.status))
        return response

    # -- downloads (not the API) -------------------------------------------------------------------
    def _on_storage_origin(self, request: web.Request) -> bool:
        if request.transport is None or self._downloads_port is None:
            return False
        sock = request.transport.get_extra_info("sockname")
        return isinstance(sock, tuple) and len(sock) >= 2 and sock[1] == self._downloads_port

    def _storage_unknown(self, request: web.Request, path: str) -> web.Response:
        self.requests.append(
            RequestRecord(
                request.method,
                f"{request.method} <unknown>",
                path,
                dict(request.rel_url.query),
                None,
                400,
            )
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRequest</Code>'
            "<Message>Not a download URL</Message></Error>"
        )
        return web.Response(status=400, text=body, content_type="application/xml")

    async def _web(
        self,
        request: web.Request,
        found: tuple[rest.Route, dict[str, str]],
        path: str,
        record: dict[str, Any],
    ) -> web.StreamResponse:
        route, params = found
        repo = None
        if "owner" in params and "repo" in params:
            repo = self.world.find_repo(params["owner"], params["repo"])
        call = Call(
            fake=self,
            method=request.method,
            route=route.name,
            path=path,
            params=params,
            query=request.rel_url.query,
            body=await request.read() or None,
            token=None,
            repo=repo,
            headers=request.headers,
        )
        try:
            reply = route.handler(call)
        except Exception as exc:  # a bug in the fake
            log.exception("fake GitHub failed on %s %s", request.method, path)
            self.internal_errors.append(f"{request.method} {path}: {exc!r}")
            reply = Reply(500, raw=b"Internal Server Error", headers={"Content-Type": "text/plain"})
        self.requests.append(RequestRecord(**record, status=reply.status))
        headers = dict(reply.headers)
        headers["Date"] = self.world.now().astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return await self._send_raw(request, reply, headers)

    async def _send_raw(
        self, request: web.Request, reply: Reply, headers: dict[str, str]
    ) -> web.StreamResponse:
        """Send ``reply.raw`` (or no body) in chunks, without copying it whole."""
        if reply.raw is None:
            return web.Response(status=reply.status, headers=headers)
        body = memoryview(reply.raw)
        headers.setdefault("Content-Type", "application/octet-stream")
        response = web.StreamResponse(status=reply.status, headers=headers)
        response.content_length = body.nbytes
        await response.prepare(request)
        for start in range(0, body.nbytes, DOWNLOAD_CHUNK):
            await response.write(body[start : start + DOWNLOAD_CHUNK])
        await response.write_eof()
        return response

    def _used(self, who: int | str | None, resource: str) -> int:
        window = int(self.world.now().timestamp() // 3600)
        return self._rate_used[(who if who is not None else "anonymous", resource, window)]

    def _primary_limit(self, who: int | str) -> Reply:
        return Reply(
            403,
            {
                "message": f"API rate limit exceeded for installation ID {who}.",
                "documentation_url": PRIMARY_DOCS,
                "status": "403",
            },
        )

    def _respond(
        self,
        request: web.Request,
        route_name: str,
        reply: Reply,
        headers: dict[str, str],
        who: int | str | None,
        resource: str,
    ) -> web.Response:
        if reply.body is None:
            headers.update(self._rate_headers(who, resource, count=True))
            return web.Response(status=reply.status, headers=headers)
        try:
            shapes.check(route_name, reply.status, reply.body)
        except shapes.ShapeError as exc:
            self.shape_errors.append(str(exc))
            log.error("%s", exc)
            headers.update(self._rate_headers(who, resource, count=True))
            return web.json_response(
                {"message": f"fake GitHub shape error: {exc}"}, status=500, headers=headers
            )
        body = json.dumps(reply.body, ensure_ascii=False).encode()
        if request.method == "GET" and reply.status == 200:
            etag = f'W/"{hashlib.sha256(body).hexdigest()}"'
            headers["ETag"] = etag
            headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
            headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
            wanted = request.headers.get("If-None-Match")
            if wanted and _etag_matches(wanted, etag):
                # Conditional hits do not count against the rate limit on GitHub.
                headers.update(self._rate_headers(who, resource, count=False))
                return web.Response(status=304, headers=headers)
        headers.update(self._rate_headers(who, resource, count=True))
        return web.Response(
            status=reply.status,
            body=body,
            headers=headers,
            content_type="application/json",
            charset="utf-8",
        )

    # -- authentication --------------------------------------------------------------------------------
    def _peek_installation(self, request: web.Request, app_route: bool) -> int | str | None:
        """Who is calling, without judging the credentials (for records of faulted requests)."""
        parsed = auth.parse_authorization(request.headers.get("Authorization"))
        if parsed is None:
            return None
        if app_route:
            return "app"
        found = self.tokens.tokens.get(parsed[1])
        return found.installation.id if found else None

    def _authenticate(
        self, request: web.Request, kind: rest.AuthKind
    ) -> tuple[int | Literal["app"] | None, AccessToken | None]:
        parsed = auth.parse_authorization(request.headers.get("Authorization"))
        if kind == "anonymous":
            return None, None
        if kind == "app":
            if parsed is None or parsed[0] != "bearer":
                raise AuthError(
                    "A JSON web token could not be decoded"
                    if parsed
                    else "You must authenticate with a JSON web token to access this endpoint."
                )
            auth.verify_jwt(parsed[1], self.app_id, self.world.now())
            return "app", None
        if parsed is None or parsed[0] not in ("token", "bearer"):
            raise (
                AuthError("Requires authentication")
                if parsed is None
                else AuthError("Bad credentials")
            )
        token = self.tokens.lookup(parsed[1])
        return token.installation.id, token

    def _authorize_repo(
        self,
        token: AccessToken | None,
        repo: Repository,
        method: str,
        permission: tuple[str, str] | None,
    ) -> None:
        if token is None:
            return  # app JWT routes
        if not token.covers(repo):
            if repo.private:
                raise rest.not_found()
            if method != "GET":
                raise ApiError(403, "Resource not accessible by integration")
        if permission is not None and not _has_permission(token.permissions, *permission):
            raise ApiError(403, "Resource not accessible by integration")

    async def _rest(
        self,
        request: web.Request,
        found: tuple[rest.Route, dict[str, str]],
        route_name: str,
        path: str,
        token: AccessToken | None,
    ) -> Reply:
        route, params = found
        repo = None
        if "owner" in params and "repo" in params:
            repo = self.world.find_repo(params["owner"], params["repo"])
            if repo is None:
                raise rest.not_found()
            self._authorize_repo(token, repo, request.method, route.permission)
        elif "org" in params and token is not None:
            if token.installation.account.login.lower() != params["org"].lower():
                raise ApiError(403, "Resource not accessible by integration")
            if route.permission and not _has_permission(token.permissions, *route.permission):
                raise ApiError(403, "Resource not accessible by integration")
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Problems parsing JSON") from None
        call = Call(
            fake=self,
            method=request.method,
            route=route_name,
            path=path,
            params=params,
            query=request.rel_url.query,
            body=body,
            token=token,
            repo=repo,
            headers=request.headers,
        )
        reply = route.handler(call)
        if inspect.isawaitable(reply):  # a coroutine handler (the redelivery route POSTs)
            reply = await reply
        if 200 <= reply.status < 300 and route_name in mermaid.CHECKED_ROUTES:
            self._check_markdown(route_name, body)
        return reply

    def _check_markdown(self, route_name: str, body: Any) -> None:
        """GitHub accepts any Markdown; the fake checks the mermaid charts in it (see
        :mod:`.mermaid`) and reports problems as shape errors, which fail the test."""
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return
        for problem in mermaid.check_body(text):
            message = f"{route_name}: {problem}"
            self.shape_errors.append(message)
            log.error("%s", message)

    async def _graphql(self, request: web.Request, token: AccessToken | None) -> Reply:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        answer, error = graphql_api.run_query(self, token, body)
        if error is not None:
            self.graphql_errors.append(error)
        return Reply(200, answer)

    def graphql_rate_limit(self) -> dict[str, Any]:
        window = int(self.world.now().timestamp() // 3600)
        used = sum(
            v for (_, res, w), v in self._rate_used.items() if res == "graphql" and w == window
        )
        return {
            "cost": 1,
            "limit": self.rate_limit,
            "remaining": max(self.rate_limit - used, 0),
            "used": used,
            "resetAt": datetime.fromtimestamp((window + 1) * 3600, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "nodeCount": 0,
        }

    # -- faults ----------------------------------------------------------------------------------------
    async def _fault(
        self, request: web.Request, kind: FaultKind, record: dict[str, Any], resource: str
    ) -> web.StreamResponse:
        headers = self._common_headers()
        if kind == "timeout":
            self.requests.append(RequestRecord(**record, status=None, fault=kind))
            await self._closing.wait()
            return web.Response(status=504)
        if kind == "reset":
            self.requests.append(RequestRecord(**record, status=None, fault=kind))
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # no response at all
        now = int(self.world.now().timestamp())
        status: int
        body: Any
        if kind in (500, 503):
            status = int(kind)
            body = {"message": "Server Error" if kind == 500 else "Service Unavailable"}
        elif kind == 502:
            self.requests.append(RequestRecord(**record, status=502, fault=kind))
            return web.Response(
                status=502,
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
                headers=headers,
            )
        elif kind in ("secondary", 429):
            status = 403 if kind == "secondary" else 429
            headers["Retry-After"] = "60"
            body = {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                "before you try again. If you reach out to GitHub Support for help, please "
                f"include the request ID {headers['x-github-request-id']}.",
                "documentation_url": SECONDARY_DOCS,
                "status": str(status),
            }
            headers.update(self._rate_headers(record["installation"], resource, count=False))
        else:  # primary
            status = 403
            headers.update(self._rate_headers(record["installation"], resource, count=False))
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-used"] = str(self.rate_limit)
            headers["x-ratelimit-reset"] = str(now + 3600 - now % 3600)
            body = {
                "message": f"API rate limit exceeded for installation ID {record['installation']}.",
                "documentation_url": PRIMARY_DOCS,
                "status": "403",
            }
        self.requests.append(RequestRecord(**record, status=status, fault=kind))
        return web.json_response(body, status=status, headers=headers)


def _has_permission(granted: Mapping[str, str], name: str, level: str) -> bool:
    have = granted.get(name)
    if have is None:
        return False
    return level == "read" or have in ("write", "admin")


def _etag_matches(header: str, etag: str) -> bool:
    def bare(tag: str) -> str:
        return tag.strip().removeprefix("W/")

    return header.strip() == "*" or any(bare(t) == bare(etag) for t in header.split(","))
