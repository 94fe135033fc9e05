"""Registering a GitHub App from a manifest: GitHub's web page and the API that hands over the App.

GitHub's manifest flow (docs: "Registering a GitHub App from a manifest"):

1. a page elsewhere POSTs a form with one field, ``manifest`` (the App's configuration as JSON), to
   ``{github}/settings/apps/new?state=...`` (an App the signed-in user owns) or
   ``{github}/organizations/{org}/settings/apps/new?state=...`` (one the organisation owns);
2. GitHub shows the configuration; the user names the App (the manifest's ``name`` is the
   suggestion) and clicks "Create GitHub App". GitHub registers it and redirects the browser to
   the manifest's ``redirect_url`` with ``code`` and the ``state`` it was given;
3. the page's server exchanges the code, with no credentials, for the App's id, webhook secret and
   private key: ``POST /app-manifests/{code}/conversions`` answers 201 with the App plus
   ``client_id``, ``client_secret``, ``webhook_secret`` and ``pem``. The docs: the code is
   temporary and expires after one hour; it works once.

The fake has no person to click, so the POST of step 1 stands for step 2 as well: it validates the
manifest, registers the App (owned by :data:`SIGNED_IN`, the fake's signed-in user, or by the
organisation) and answers 302 to ``redirect_url?code=...&state=...``. A manifest GitHub would not
take (not JSON, no ``url``, no ``hook_attributes.url``, no name, a name another App has, a
permission level or an event it does not know) answers 422 with the form page and the error, as
GitHub shows it; the wording of those errors is the fake's own. A GET of either page answers the
empty "Register new GitHub App" form.

Scenario API: ``fake.manifest_code(manifest, owner=None)`` does what the click does and returns the
code, for tests that do not drive a browser; :attr:`FakeGitHub.app_manifests` holds every code.
The created App is a :class:`~tests.fakegithub.state.App` in ``fake.world.apps`` (its private key
is its own; the fake's JWT check only knows the fake's own App, so the new one cannot call the
App API here).
"""

from __future__ import annotations

import html
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .auth import new_private_key_pem
from .rest import DOCS, Call, Reply, not_found, route
from .state import Account, App

if TYPE_CHECKING:
    from .server import FakeGitHub

MANIFEST_DOCS = f"{DOCS}/apps/apps#create-a-github-app-from-a-manifest"
CODE_LIFETIME = timedelta(hours=1)
"""The docs: "This code is temporary and expires after one hour"."""
SIGNED_IN = "octocat"
"""Who is signed in to the fake's web pages (owns the Apps registered at ``/settings/apps/new``)."""
PERMISSION_LEVELS = ("read", "write", "admin")
EVENT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "check_run": ("checks",),
    "check_suite": ("checks",),
    "issue_comment": ("issues", "pull_requests"),
    "issues": ("issues",),
    "pull_request": ("pull_requests",),
    "pull_request_review": ("pull_requests",),
    "pull_request_review_comment": ("pull_requests",),
    "push": ("contents",),
    "release": ("contents",),
    "create": ("contents",),
    "delete": ("contents",),
}
"""An event an App may subscribe to only with one of these permissions (GitHub refuses a manifest
asking for the event without it). Events not listed here are not checked."""


class ManifestError(ValueError):
    """The manifest is one GitHub would not register (the message is what the page shows)."""


@dataclass
class ManifestCode:
    """A code handed to ``redirect_url``: the App it stands for and the credentials it reveals."""

    code: str
    app: App
    manifest: dict[str, Any]
    created_at: datetime
    client_secret: str
    webhook_secret: str | None
    pem: str
    used: bool = False

    def expired(self, now: datetime) -> bool:
        return now - self.created_at >= CODE_LIFETIME


# ======================================================================================== checks


def slug_for(name: str) -> str:
    """GitHub's slug of an App name: lower case, runs of other characters as one hyphen.

    >>> slug_for("Countersign (staging)")
    'countersign-staging'
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def validate(manifest: Any, *, name: str | None = None) -> dict[str, Any]:
    """The manifest, checked as GitHub checks it; :class:`ManifestError` says what is wrong."""
    if not isinstance(manifest, dict):
        raise ManifestError("The manifest must be a JSON object")
    if not _http_url(manifest.get("url")):
        raise ManifestError("Homepage URL (url) is required and must be an http(s) URL")
    hook = manifest.get("hook_attributes")
    if not isinstance(hook, dict) or not _http_url(hook.get("url")):
        raise ManifestError(
            "Webhook URL (hook_attributes.url) is required and must be an http(s) URL"
        )
    if "redirect_url" in manifest and not _http_url(manifest["redirect_url"]):
        raise ManifestError("Redirect URL (redirect_url) must be an http(s) URL")
    chosen = name if name is not None else manifest.get("name")
    if not isinstance(chosen, str) or not slug_for(chosen):
        raise ManifestError("Name can't be blank")
    permissions = manifest.get("default_permissions", {})
    if not isinstance(permissions, dict) or any(
        not isinstance(k, str) or v not in PERMISSION_LEVELS for k, v in permissions.items()
    ):
        raise ManifestError("Default permissions must map permission names to read, write or admin")
    events = manifest.get("default_events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ManifestError("Default events must be a list of event names")
    unsupported = [
        e
        for e in events
        if e in EVENT_PERMISSIONS and not any(p in permissions for p in EVENT_PERMISSIONS[e])
    ]
    if unsupported:
        raise ManifestError(
            "Default events unsupported without their permissions: " + ", ".join(unsupported)
        )
    return manifest


# ======================================================================================= scenario


def create_code(
    fake: FakeGitHub,
    manifest: Any,
    *,
    owner: str | Account | None = None,
    name: str | None = None,
) -> ManifestCode:
    """Register the App a manifest describes, as GitHub does when the user clicks "Create GitHub
    App", and make the code it redirects with. :class:`ManifestError` if GitHub would refuse."""
    world = fake.world
    manifest = validate(manifest, name=name)
    chosen = name if name is not None else manifest["name"]
    slug = slug_for(chosen)
    if any(a.slug == slug for a in world.apps.values()) or world.find_account(f"{slug}[bot]"):
        raise ManifestError("Name is already in use")
    owner_account = world.account(owner or SIGNED_IN)
    app = world.add_app(slug, owner=owner_account)
    app.name = chosen
    app.description = manifest.get("description")
    app.permissions = dict(manifest.get("default_permissions", {}))
    app.permissions.setdefault("metadata", "read")  # every App can read metadata
    app.events = list(manifest.get("default_events", []))
    made = ManifestCode(
        code=secrets.token_hex(10),
        app=app,
        manifest=manifest,
        created_at=world.now(),
        client_secret=secrets.token_hex(20),
        webhook_secret=secrets.token_hex(20),
        pem=new_private_key_pem(),
    )
    fake.app_manifests[made.code] = made
    return made


def conversion(fake: FakeGitHub, made: ManifestCode) -> dict[str, Any]:
    """The 201 body of ``POST /app-manifests/{code}/conversions``."""
    body: dict[str, Any] = fake.renderer.app(made.app)
    body["external_url"] = made.manifest["url"]
    body["client_secret"] = made.client_secret
    body["webhook_secret"] = made.webhook_secret
    body["pem"] = made.pem
    return body


# ========================================================================================= routes


@route("POST", "/app-manifests/{code}/conversions", auth="anonymous")
def convert(call: Call) -> Reply:
    """The App and its credentials, once per code and within the hour; else 404."""
    made = call.fake.app_manifests.get(call.params["code"])
    if made is None or made.used or made.expired(call.fake.world.now()):
        raise not_found(MANIFEST_DOCS)
    made.used = True
    return Reply(201, conversion(call.fake, made))


def _page(status: int, title: str, body: str) -> Reply:
    text = (
        "<!doctype html>\n<html><head><meta charset=utf-8>"
        f"<title>{html.escape(title)} · GitHub</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )
    return Reply(status, raw=text.encode(), headers={"Content-Type": "text/html; charset=utf-8"})


def _form_page(status: int, owner: str | None, error: str | None = None) -> Reply:
    whom = f" for {html.escape(owner)}" if owner else ""
    flash = f'<div class="flash flash-error">{html.escape(error)}</div>' if error else ""
    return _page(
        status,
        "Register new GitHub App",
        f"{flash}<p>Register new GitHub App{whom}</p>"
        '<form method="post"><input name="name" placeholder="GitHub App name">'
        '<button type="submit">Create GitHub App</button></form>',
    )


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + pairs
    return urlunsplit(parts._replace(query=urlencode(query)))


def _new_app(call: Call, org: str | None) -> Reply:
    owner: Account | None = None
    if org is not None:
        owner = call.fake.world.find_account(org)
        if owner is None or owner.type != "Organization":
            return _page(
                404, "Page not found", "<p>This is not the web page you are looking for.</p>"
            )
    label = owner.login if owner else SIGNED_IN
    if call.method == "GET":
        return _form_page(200, label)
    raw = call.body if isinstance(call.body, bytes) else b""
    content_type = call.headers.get("Content-Type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return _form_page(422, label, "The manifest must be posted as a form")
    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        manifest = json.loads(form.get("manifest", ""))
    except ValueError:
        return _form_page(422, label, "The manifest is not valid JSON")
    try:
        made = create_code(call.fake, manifest, owner=owner, name=form.get("name") or None)
    except ManifestError as exc:
        return _form_page(422, label, str(exc))
    redirect = manifest.get("redirect_url")
    if not redirect:
        return _page(
            201, made.app.name, f"<p>Your GitHub App {html.escape(made.app.name)} was created.</p>"
        )
    pairs = [("code", made.code)]
    if "state" in call.query:
        pairs.append(("state", call.query["state"]))
    return Reply(302, headers={"Location": _with_query(redirect, pairs)})


@route("GET", "/settings/apps/new", auth="none")
@route("POST", "/settings/apps/new", auth="none")
def new_app(call: Call) -> Reply:
    """``{github}/settings/apps/new``: an App owned by the signed-in user."""
    return _new_app(call, None)


@route("GET", "/organizations/{org}/settings/apps/new", auth="none")
@route("POST", "/organizations/{org}/settings/apps/new", auth="none")
def new_org_app(call: Call) -> Reply:
    """``{github}/organizations/{org}/settings/apps/new``: an App the organisation owns."""
    return _new_app(call, call.params["org"])
