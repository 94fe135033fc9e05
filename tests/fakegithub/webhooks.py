"""Webhook deliveries built from the fake's state, in GitHub's shapes, validated by GitHub's schemas.

Each builder starts from a real example payload (``webhooks/`` of :mod:`.fixtures`), deep
copied, and overlays the parts that come from the state: every key the example has is replaced by
the state's value when the state has one (so the key set, and thus the shape, stays GitHub's), lists
are rebuilt item by item on the example's first item, and timestamps keep the example's type
(the ``push`` payload's repository uses epoch integers). The result is validated against the
event's JSON schema (draft-07, ``referencing`` registry keyed by ``$id``) and an invalid payload
raises :class:`WebhookPayloadError`.

``release`` is the exception: the shared fixtures have neither an example nor a schema for it. Its
payloads are built from the REST ``Release`` shape (:meth:`Renderer.release`) plus the usual envelope,
and validated with githubkit's pydantic models of GitHub's webhook schemas
(``githubkit_schemas.latest.models.WebhookRelease<Action>``, e.g. ``WebhookReleasePublished``); an
invalid one raises :class:`WebhookPayloadError` all the same.

Builders return ``(event_name, payload)``; :func:`sign` and :meth:`Webhooks.headers` give what GitHub
sends with a delivery.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import importlib
import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import jsonschema  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from .clock import iso
from .fixtures import FIXTURES
from .render import JSON, Renderer
from .state import (
    Account,
    CheckRun,
    CheckSuite,
    Commit,
    Installation,
    IssueComment,
    PullRequest,
    Push,
    Release,
    Repository,
    Review,
)

if TYPE_CHECKING:
    from .server import FakeGitHub

EXAMPLES = FIXTURES / "webhooks"
SCHEMAS = FIXTURES / "webhook-schemas" / "api.github.com"
Event = tuple[str, JSON]


class WebhookPayloadError(ValueError):
    """A payload does not validate against GitHub's schema for its event."""


# ==================================================================================== schemas


@functools.cache
def registry() -> Registry:
    """Every schema file, keyed by its ``$id`` (refs resolve relative to those ids)."""
    resources = []
    for path in sorted(SCHEMAS.rglob("*.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents, DRAFT7)))
    return Registry().with_resources(resources)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = urlparse(value)
    return bool(parsed.scheme) and bool(parsed.netloc or parsed.scheme == "mailto")


def _is_uri_template(value: object) -> bool:
    return not isinstance(value, str) or value.count("{") == value.count("}")


FORMATS.checks("date-time")(_is_date_time)
FORMATS.checks("uri")(_is_uri)
FORMATS.checks("uri-template")(_is_uri_template)


def schema_id(event: str, payload: JSON) -> str:
    if event == "push":
        return "push$event"
    return f"{event}${payload.get('action')}"


#: Events the shared fixtures have no schema for: validated with githubkit's models instead.
MODEL_VALIDATED = frozenset({"release"})
RELEASE_ACTIONS = (
    "published",
    "unpublished",
    "created",
    "edited",
    "deleted",
    "prereleased",
    "released",
)


def _validate_with_model(event: str, payload: JSON) -> None:
    from pydantic import ValidationError

    action = payload.get("action")
    name = f"Webhook{event.title().replace('_', '')}{str(action).title().replace('_', '')}"
    models = importlib.import_module("githubkit_schemas.latest.models")
    model = getattr(models, name, None)
    if model is None:
        raise WebhookPayloadError(f"no model {name!r} for {event}/{action}")
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        raise WebhookPayloadError(f"{event}/{action} payload is not {name}: {exc}") from exc


def validate(event: str, payload: JSON) -> None:
    """Raise :class:`WebhookPayloadError` unless ``payload`` is valid for ``event``."""
    if event in MODEL_VALIDATED:
        _validate_with_model(event, payload)
        return
    if event == "ping":
        for key in ("zen", "hook_id", "hook"):
            if key not in payload:
                raise WebhookPayloadError(f"ping payload lacks {key!r}")
        return
    ident = schema_id(event, payload)
    try:
        schema = registry().contents(ident)
    except LookupError as exc:
        raise WebhookPayloadError(f"no schema {ident!r}") from exc
    validator = jsonschema.Draft7Validator(schema, registry=registry(), format_checker=FORMATS)
    error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
    if error is not None:
        raise WebhookPayloadError(
            f"{ident} payload is invalid at {'/'.join(map(str, error.absolute_path)) or '<root>'}: "
            f"{error.message}"
        )


# =================================================================================== examples


@functools.cache
def _example_text(event: str, name: str) -> str:
    return (EXAMPLES / event / name).read_text()


def example(event: str, action: str, *, org: bool) -> JSON:
    """A deep copy of GitHub's example payload for ``event``/``action`` (org variant if any)."""
    names = [f"{action}.with-organization.payload.json"] if org else []
    names += [f"{action}.payload.json", f"{action}.with-installation.payload.json"]
    for name in names:
        if (EXAMPLES / event / name).exists():
            loaded: JSON = json.loads(_example_text(event, name))
            return loaded
    raise FileNotFoundError(f"no example for {event}/{action}")


def _is_timestamp(value: str) -> bool:
    return bool(_DATE_TIME.match(value))


#: Keys whose value is taken whole from the state (their example's keys are not a shape).
WHOLE = frozenset({"permissions", "events", "changes"})


def overlay(shape: Any, fresh: Any, templates: dict[str, JSON] | None = None) -> Any:
    """``fresh`` poured into ``shape``: ``shape``'s keys, ``fresh``'s values where it has them."""
    templates = templates or {}
    if isinstance(fresh, dict):
        if shape is None or not isinstance(shape, dict):
            if "login" in fresh and "user" in templates:
                shape = templates["user"]
            elif "slug" in fresh and "app" in templates:
                shape = templates["app"]
            else:
                return fresh
        return {
            key: (fresh[key] if key in WHOLE else overlay(value, fresh[key], templates))
            if key in fresh
            else value
            for key, value in shape.items()
        }
    if isinstance(fresh, list):
        if isinstance(shape, list) and shape and isinstance(shape[0], dict):
            return [overlay(shape[0], item, templates) for item in fresh]
        if isinstance(shape, list) and not shape:
            return [overlay(None, item, templates) for item in fresh]
        return list(fresh)
    if (
        isinstance(shape, int)
        and not isinstance(shape, bool)
        and isinstance(fresh, str)
        and _is_timestamp(fresh)
    ):
        return int(datetime.fromisoformat(fresh.replace("Z", "+00:00")).timestamp())
    return fresh


# =================================================================================== builders


class Webhooks:
    """Payload builders for one fake (``fake.webhooks``)."""

    #: How many commits a push payload lists (the most recent ones). GitHub's webhook docs:
    #: "The commits array includes a maximum of 2048 commits"; the cap of 20 in the schema's text
    #: is the timeline's, not the delivery's.
    push_commit_limit = 2048

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self._deliveries = 0

    @property
    def render(self) -> Renderer:
        return self.fake.renderer

    # -- common parts ---------------------------------------------------------------------------------
    def _templates(self) -> dict[str, JSON]:
        base = example("check_run", "rerequested", org=False)
        return {"user": base["sender"], "app": base["check_run"]["app"]}

    def _envelope(
        self,
        event: str,
        base: JSON,
        repo: Repository | None,
        sender: Account,
        *,
        repo_json: JSON | None = None,
        **parts: Any,
    ) -> JSON:
        templates = self._templates()
        payload = copy.deepcopy(base)
        for key, value in parts.items():
            payload[key] = overlay(base.get(key), value, templates)
        if repo is not None:
            payload["repository"] = overlay(
                base.get("repository"), repo_json or self.render.repo(repo, full=False), templates
            )
            if repo.owner.type == "Organization":
                org_shape = (
                    base.get("organization")
                    or example("pull_request", "opened", org=True)["organization"]
                )
                payload["organization"] = overlay(org_shape, self.render.org(repo.owner))
            else:
                payload.pop("organization", None)
            inst = self.fake.world.installation_for(repo)
            if inst is not None:
                payload["installation"] = {"id": inst.id, "node_id": inst.node_id}
            else:
                payload.pop("installation", None)
        payload["sender"] = overlay(base.get("sender"), self.render.user(sender), templates)
        # Keep GitHub's key order: the example's, then anything new at the end.
        ordered = {k: payload[k] for k in base if k in payload}
        ordered.update({k: v for k, v in payload.items() if k not in ordered})
        validate(event, ordered)
        return ordered

    # -- pull requests ----------------------------------------------------------------------------------
    def pull_request(
        self,
        pr: PullRequest,
        action: str,
        *,
        sender: str | Account | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> Event:
        """``pull_request`` for ``action``: opened, reopened, synchronize, closed (merged or
        not), ready_for_review, converted_to_draft, edited (from ``pr.previous``: title, body,
        base) or any other action GitHub has an example for."""
        org = pr.repo.owner.type == "Organization"
        base = example("pull_request", "opened" if action == "edited" else action, org=org)
        base["action"] = action
        world = self.fake.world
        if sender is None:
            if action == "synchronize" and pr.last_push is not None:
                who: Account = pr.last_push.pusher
            elif action == "closed":
                who = pr.merged_by or pr.issue.closed_by or pr.author
            else:
                who = pr.author
        else:
            who = world.account(sender)
        extra: dict[str, Any] = {}
        if action == "synchronize":
            push = pr.last_push
            extra["before"] = before or (push.before if push else pr.head_sha)
            extra["after"] = after or (push.after if push else pr.head_sha)
        if action == "edited":
            changes: JSON = {}
            for key in ("title", "body"):
                if key in pr.previous:
                    changes[key] = {"from": pr.previous[key]}
            if "base" in pr.previous:
                changes["base"] = {
                    "ref": {"from": pr.previous["base"]["ref"]},
                    "sha": {"from": pr.previous["base"]["sha"]},
                }
            extra["changes"] = changes
        payload = self._envelope(
            "pull_request",
            {**base, **{k: None for k in extra if k not in base}},
            pr.repo,
            who,
            number=pr.number,
            pull_request=self.render.pull(pr),
            **extra,
        )
        return "pull_request", payload

    def pull_request_review(
        self,
        review: Review,
        action: str = "submitted",
        *,
        sender: str | Account | None = None,
    ) -> Event:
        """``pull_request_review``: submitted, edited (``changes.body`` from ``review.edit``),
        dismissed."""
        pr = review.pull
        org = pr.repo.owner.type == "Organization"
        base = example(
            "pull_request_review", "submitted" if action == "edited" else action, org=org
        )
        base["action"] = action
        rendered = self.render.review(review)
        rendered["state"] = review.state.lower()
        extra: dict[str, Any] = {}
        if action == "edited":
            extra["changes"] = (
                {"body": {"from": review.previous_body}} if review.previous_body is not None else {}
            )
        who = self.fake.world.account(sender) if sender else review.user
        payload = self._envelope(
            "pull_request_review",
            {**base, **{k: None for k in extra if k not in base}},
            pr.repo,
            who,
            review=rendered,
            pull_request=self.render.pull(pr, simple=True),
            **extra,
        )
        return "pull_request_review", payload

    # -- pushes ---------------------------------------------------------------------------------------------
    def _push_commit(self, repo: Repository, c: Commit, distinct: bool) -> JSON:
        from . import git

        parent = repo.commit_obj(c.parents[0]).tree if c.parents else {}
        changes = git.diff_trees(parent, c.tree)
        world = repo.world

        def person(name: str, email: str) -> JSON:
            out: JSON = {"name": name, "email": email}
            account = world.account_for_email(email)
            if account is not None:
                out["username"] = account.login
            return out

        return {
            "id": c.sha,
            "tree_id": c.tree_sha,
            "distinct": distinct,
            "message": c.message,
            "timestamp": iso(c.committer.date),
            "url": f"https://github.com/{repo.full_name}/commit/{c.sha}",
            "author": person(c.author.name, c.author.email),
            "committer": person(c.committer.name, c.committer.email),
            "added": [f.filename for f in changes if f.status == "added"]
            + [f.filename for f in changes if f.status == "renamed"],
            "removed": [f.filename for f in changes if f.status == "removed"]
            + [
                f.previous_filename
                for f in changes
                if f.status == "renamed" and f.previous_filename
            ],
            "modified": [f.filename for f in changes if f.status == "modified"],
        }

    def push(self, push: Push) -> Event:
        """``push`` for a :class:`Push` (normal, forced, new branch, deleted branch, new or
        deleted tag). A tag push lists no commits; its ``head_commit`` is the tagged commit,
        ``base_ref`` the branch at that commit (or null) and ``compare`` names the tag."""
        repo = push.repo
        org = repo.owner.type == "Organization"
        name = (
            "with-new-branch"
            if push.created
            else ("with-organization" if org else "with-installation")
        )
        base = json.loads(_example_text("push", f"{name}.payload.json"))
        html = f"https://github.com/{repo.full_name}"
        if push.created and push.tag is not None:
            compare = f"{html}/compare/{push.tag}"
        elif push.created:
            first = repo.commit_obj(push.after)
            compare = (
                f"{html}/commit/{push.after}"
                if not first.parents
                else f"{html}/compare/{push.branch}"
            )
        else:
            compare = f"{html}/compare/{push.before[:12]}...{push.after[:12]}"
        listed = push.commits[-self.push_commit_limit :]
        commits = [
            self._push_commit(repo, repo.commit_obj(sha), sha in push.distinct) for sha in listed
        ]
        head = None
        if not push.deleted:
            head = self._push_commit(repo, repo.commit_obj(push.after), push.after in push.distinct)
        shape_commit = json.loads(_example_text("push", "with-new-branch.payload.json"))["commits"][
            0
        ]
        base["commits"] = [shape_commit]
        base["head_commit"] = shape_commit
        owner = self.render.user(repo.owner) or {}
        owner.update(name=repo.owner.name or repo.owner.login, email=repo.owner.email)
        repo_json = self.render.repo(repo, full=False)
        repo_json.update(owner=owner, stargazers=0, master_branch=repo.default_branch)
        repo_json["url"] = html  # push payloads carry the web URL here
        if org:
            repo_json["organization"] = repo.owner.login
        payload = self._envelope(
            "push",
            base,
            repo,
            push.pusher,
            repo_json=repo_json,
            ref=push.ref,
            before=push.before,
            after=push.after,
            created=push.created,
            deleted=push.deleted,
            forced=push.forced,
            base_ref=push.base_ref,
            compare=compare,
            commits=commits,
            head_commit=head,
            pusher={"name": push.pusher.login, "email": push.pusher.commit_email},
        )
        return "push", payload

    # -- releases -------------------------------------------------------------------------------------------
    def release(
        self, release: Release, action: str, *, sender: str | Account | None = None
    ) -> Event:
        """``release`` for ``action``: published, prereleased (the release must be a
        prerelease), created, released, edited (``changes`` from :meth:`Release.edit`),
        deleted, unpublished. Built from the REST release shape (no upstream example) and
        validated with githubkit's ``WebhookRelease<Action>`` model."""
        if action not in RELEASE_ACTIONS:
            raise WebhookPayloadError(f"GitHub sends no release/{action}")
        base: JSON = {
            "action": action,
            "release": None,
            "repository": None,
            "organization": None,
            "sender": None,
            "installation": None,
        }
        extra: dict[str, Any] = {}
        if action == "edited":
            base = {"action": action, "changes": None, **base}
            changes: JSON = {}
            for key in ("name", "body"):
                if key in release.previous:
                    changes[key] = {"from": release.previous[key] or ""}
            extra["changes"] = changes
        who = self.fake.world.account(sender) if sender else release.author
        repo_json = self.render.repo(release.repo, full=False)
        payload = self._envelope(
            "release",
            base,
            release.repo,
            who,
            repo_json=repo_json,
            release=self.render.release(release),
            **extra,
        )
        return "release", payload

    # -- comments -----------------------------------------------------------------------------------------
    def issue_comment(
        self,
        comment: IssueComment,
        action: str = "created",
        *,
        sender: str | Account | None = None,
    ) -> Event:
        """``issue_comment``: created, edited (``changes.body`` from ``comment.edit``),
        deleted; on a pull request ``issue.pull_request`` is present, as on GitHub."""
        issue = comment.issue
        org = issue.repo.owner.type == "Organization"
        base = example("issue_comment", action, org=org)
        rendered = self.render.issue(issue)
        issue_json = overlay(base["issue"], rendered, self._templates())
        if issue.pull is not None:
            issue_json["pull_request"] = rendered["pull_request"]
            issue_json["draft"] = rendered["draft"]
        # GitHub names the App that opened an issue (the example issue was opened by a person)
        issue_json["performed_via_github_app"] = overlay(
            None, rendered["performed_via_github_app"], self._templates()
        )
        extra: dict[str, Any] = {}
        if action == "edited":
            extra["changes"] = (
                {"body": {"from": comment.previous_body}}
                if comment.previous_body is not None
                else {}
            )
        who = self.fake.world.account(sender) if sender else comment.user
        payload = self._envelope(
            "issue_comment",
            base,
            issue.repo,
            who,
            comment=self.render.comment(comment),
            **extra,
        )
        payload["issue"] = issue_json
        validate("issue_comment", payload)
        return "issue_comment", payload

    # -- checks ------------------------------------------------------------------------------------------
    def check_run(
        self, run: CheckRun, action: str = "rerequested", *, sender: str | Account | None = None
    ) -> Event:
        """``check_run`` (rerequested by default; also created, completed, requested_action)."""
        org = run.repo.owner.type == "Organization"
        base = example("check_run", action, org=org)
        rendered = self.render.check_run(run)
        rendered["check_suite"] = self.render.check_suite(run.suite)
        who = self.fake.world.account(sender) if sender else run.repo.owner
        payload = self._envelope("check_run", base, run.repo, who, check_run=rendered)
        return "check_run", payload

    def check_suite(
        self,
        suite: CheckSuite,
        action: str = "rerequested",
        *,
        sender: str | Account | None = None,
    ) -> Event:
        """``check_suite`` (rerequested by default; also requested, completed)."""
        org = suite.repo.owner.type == "Organization"
        base = example("check_suite", action, org=org)
        who = self.fake.world.account(sender) if sender else suite.repo.owner
        payload = self._envelope(
            "check_suite", base, suite.repo, who, check_suite=self.render.check_suite(suite)
        )
        return "check_suite", payload

    # -- installations -------------------------------------------------------------------------------
    def installation_repositories(
        self,
        installation: Installation,
        action: str,
        repositories: Iterable[Repository],
        *,
        sender: str | Account | None = None,
    ) -> Event:
        """``installation_repositories`` added/removed (call after changing the installation)."""
        base = example("installation_repositories", action, org=False)
        repos = [self.render.repo_lite(r) for r in repositories]
        who = self.fake.world.account(sender) if sender else installation.account
        payload = self._envelope(
            "installation_repositories",
            base,
            None,
            who,
            installation=self.render.installation(installation),
            repository_selection=installation.repository_selection,
            repositories_added=repos if action == "added" else [],
            repositories_removed=repos if action == "removed" else [],
            requester=None,
        )
        return "installation_repositories", payload

    def installation(
        self,
        installation: Installation,
        action: str,
        *,
        sender: str | Account | None = None,
    ) -> Event:
        """``installation``: created, deleted, suspend, unsuspend, new_permissions_accepted
        (call after changing the installation: for ``suspend``, set ``suspended_at`` first; for
        ``deleted``, the installation may already be gone from the world)."""
        base = example("installation", action, org=False)
        who = self.fake.world.account(sender) if sender else installation.account
        rendered = self.render.installation(installation)
        if installation.suspended_at is not None:
            rendered["suspended_by"] = self.render.user(who)
        parts: dict[str, Any] = {"installation": rendered}
        if "repositories" in base:
            covered = (
                installation.account_repos()
                if installation.repository_selection == "all"
                else installation.repositories
            )
            parts["repositories"] = [self.render.repo_lite(r) for r in covered]
        payload = self._envelope("installation", base, None, who, **parts)
        return "installation", payload

    def ping(self, *, hook_id: int = 1, events: Iterable[str] | None = None) -> Event:
        """``ping``, sent when a hook is created (no schema upstream; GitHub's documented keys)."""
        app = self.fake.world.app
        payload: JSON = {
            "zen": "Keep it logically awesome.",
            "hook_id": hook_id,
            "hook": {
                "type": "App",
                "id": hook_id,
                "name": "web",
                "active": True,
                "events": list(events or app.events),
                "config": {
                    "content_type": "json",
                    "insecure_ssl": "0",
                    "url": "https://countersign.example.com/webhook",
                },
                "updated_at": iso(app.created_at),
                "created_at": iso(app.created_at),
                "app_id": app.id,
                "deliveries_url": f"{self.render.api}/app/hook/deliveries",
            },
        }
        validate("ping", payload)
        return "ping", payload

    # -- delivery ------------------------------------------------------------------------------------------
    def headers(self, event: str, body: bytes, secret: str | None) -> dict[str, str]:
        """The headers GitHub sends with a delivery (the delivery id counts up)."""
        self._deliveries += 1
        inst_target = self.fake.world.app.id
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/8f1b2c3",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.UUID(int=self._deliveries)),
            "X-GitHub-Hook-ID": "1",
            "X-GitHub-Hook-Installation-Target-ID": str(inst_target),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
        }
        if secret is not None:
            headers["X-Hub-Signature"] = sign(body, secret, algorithm="sha1")
            headers["X-Hub-Signature-256"] = sign(body, secret)
        return headers

    def delivery(self, event: Event, secret: str | None) -> tuple[dict[str, str], bytes]:
        """``(headers, body)`` for an event from one of the builders."""
        name, payload = event
        body = json.dumps(payload).encode()
        return self.headers(name, body, secret), body


def sign(body: bytes, secret: str, *, algorithm: str = "sha256") -> str:
    """The ``X-Hub-Signature-256`` value (``sha256=<hex HMAC>``) for ``body``."""
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return f"{algorithm}={digest}"
