"""``POST /graphql``: GitHub's real schema, strict validation, execution against the fake's state.

The schema is built once per process, on first use, from the SDL GitHub publishes. Every query is
parsed and validated against it exactly as GitHub would: an unknown field, a wrong argument or a
bad variable gets ``{"errors": [...]}`` with HTTP 200 (GitHub's behaviour) and is recorded in
``FakeGitHub.graphql_errors``. Valid queries execute against dicts built from the state: fields
with arguments are callables ``(info, **args)``, abstract types carry ``__typename``. Fields the
fake does not model resolve to null, or to an empty/zero value where the schema says non-null, so
any valid query executes.

Mutations validate but are refused (the fake models none, and pretending would hide bugs).

Connections behave like GitHub's: ``first``/``last`` are required (at most 100), ``after``/``before``
cursors are opaque, and ``totalCount``, ``pageInfo``, ``nodes`` and ``edges`` are all available.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationType,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)

from . import git
from .clock import iso
from .fixtures import FIXTURES
from .render import GITHUB_SIGNATURE
from .search import MAX_RESULTS as MAX_SEARCH_RESULTS
from .search import Unsupported, search_issues
from .state import (
    Account,
    App,
    CheckRun,
    CheckSuite,
    Commit,
    Issue,
    Label,
    PullRequest,
    Release,
    ReleaseAsset,
    Repository,
    Review,
    Signature,
    Team,
)

if TYPE_CHECKING:
    from .auth import AccessToken
    from .server import FakeGitHub

SCHEMA_PATH = str(FIXTURES / "graphql" / "schema.graphql")
WEB = "https://github.com"
MAX_PAGE = 100
Node = dict[str, Any]
PUSH_PERMISSIONS = frozenset({"admin", "maintain", "write"})
"""What ``authorCanPushToRepository`` asks: the permission to push, i.e. write or more."""


@functools.cache
def schema() -> GraphQLSchema:
    """GitHub's schema (1.2 MB of SDL: built once, on first use)."""
    with open(SCHEMA_PATH, encoding="utf-8") as sdl:
        return build_schema(sdl.read(), assume_valid_sdl=True)


@dataclass
class GraphQLErrorRecord:
    """A GraphQL request that GitHub would have answered with errors."""

    query: str
    variables: dict[str, Any] | None
    errors: list[dict[str, Any]]
    phase: str  # "request" | "parse" | "validation" | "execution"


# ================================================================================ error shapes

_UNDEFINED_FIELD = re.compile(r"^Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\.")
_UNKNOWN_ARG = re.compile(
    r"^Unknown argument '(?P<arg>\w+)' on field '(?P<type>\w+)\.(?P<field>\w+)'\."
)


def _validation_error(error: GraphQLError) -> dict[str, Any]:
    """graphql-core's validation error in GitHub's wording where GitHub's differs."""
    out: dict[str, Any] = {"message": error.message}
    if found := _UNDEFINED_FIELD.match(error.message):
        out["message"] = f"Field '{found['field']}' doesn't exist on type '{found['type']}'"
        out["extensions"] = {
            "code": "undefinedField",
            "typeName": found["type"],
            "fieldName": found["field"],
        }
    elif found := _UNKNOWN_ARG.match(error.message):
        out["message"] = f"Field '{found['field']}' doesn't accept argument '{found['arg']}'"
        out["extensions"] = {
            "code": "argumentNotAccepted",
            "name": found["field"],
            "typeName": "Field",
            "argumentName": found["arg"],
        }
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return out


def _execution_error(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ext = error.extensions or {}
    if "type" in ext:
        out["type"] = ext["type"]
    if error.path:
        out["path"] = list(error.path)
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    out["message"] = error.message
    return out


class NotFound(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"type": "NOT_FOUND"})


# ============================================================================== connections


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _uncursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.b64decode(cursor.encode()).decode()
        return int(text.removeprefix("cursor:v2:"))
    except ValueError:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(
    items: Sequence[Any],
    to_node: Callable[[Any], Any],
    info: GraphQLResolveInfo,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Node:
    """A Relay connection over ``items`` with GitHub's pagination rules."""
    name = info.field_name
    if first is None and last is None:
        raise GraphQLError(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` "
            "connection.",
            extensions={"type": "MISSING_PAGINATION_BOUNDARIES"},
        )
    for arg, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise GraphQLError(
                f"Requesting {value} records on the `{name}` connection exceeds the `{arg}` "
                f"limit of {MAX_PAGE} records.",
                extensions={"type": "EXCESSIVE_PAGINATION"},
            )
        if value is not None and value < 0:
            raise GraphQLError(f"`{arg}` on `{name}` cannot be less than 0.")
    start = 0 if after is None else (_uncursor(after) or 0) + 1
    end = len(items) if before is None else max(_uncursor(before) or 0, 0)
    lo, hi = start, max(end, start)
    if first is not None:
        hi = min(hi, lo + first)
    if last is not None:
        lo = max(lo, hi - last)
    window = range(lo, hi)
    nodes = [to_node(items[i]) for i in window]
    return {
        "totalCount": len(items),
        "nodes": nodes,
        "edges": [{"cursor": _cursor(i), "node": n} for i, n in zip(window, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": hi < end,
            "hasPreviousPage": lo > start or start > 0,
            "startCursor": _cursor(lo) if nodes else None,
            "endCursor": _cursor(hi - 1) if nodes else None,
        },
    }


def _conn(
    items: Callable[..., Sequence[Any]], to_node: Callable[[Any], Any]
) -> Callable[..., Node]:
    """A field resolver: filter with the field's other arguments, then paginate."""

    def resolve(
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        **filters: Any,
    ) -> Node:
        return connection(
            items(**filters), to_node, info, first=first, after=after, last=last, before=before
        )

    return resolve


# ============================================================================ default values

_SCALAR_DEFAULTS: dict[str, Any] = {
    "String": "",
    "Int": 0,
    "Float": 0.0,
    "Boolean": False,
    "ID": "",
    "DateTime": "1970-01-01T00:00:00Z",
    "URI": WEB,
    "GitObjectID": git.NULL_SHA,
    "HTML": "",
}


def _default_for(type_: Any, schema_: GraphQLSchema) -> Any:
    if not isinstance(type_, GraphQLNonNull):
        return None
    inner = type_.of_type
    if isinstance(inner, GraphQLList):
        return []
    if isinstance(inner, GraphQLScalarType):
        return _SCALAR_DEFAULTS.get(inner.name, "")
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values.values())).value
    if isinstance(inner, GraphQLObjectType):
        if inner.name.endswith("Connection"):
            return {
                "totalCount": 0,
                "nodes": [],
                "edges": [],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
            }
        return {"__typename": inner.name}
    if isinstance(inner, GraphQLInterfaceType | GraphQLUnionType):
        return {"__typename": schema_.get_possible_types(inner)[0].name}
    return None


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Dict lookup with callables for arguments; modelless fields get null or a zero value."""
    if isinstance(source, dict) and info.field_name in source:
        value = source[info.field_name]
        return value(info, **args) if callable(value) else value
    return _default_for(info.return_type, info.schema)


# ================================================================================== the nodes

_STATUS = {
    s: s.upper() for s in ("queued", "in_progress", "completed", "waiting", "requested", "pending")
}
_CHANGE_TYPE = {
    "added": "ADDED",
    "removed": "DELETED",
    "modified": "MODIFIED",
    "renamed": "RENAMED",
    "copied": "COPIED",
    "changed": "CHANGED",
}


@dataclass
class Nodes:
    """Builds the node dicts for one request (the token decides what is visible)."""

    fake: FakeGitHub
    token: AccessToken | None
    errors: list[GraphQLError] = field(default_factory=list)

    @property
    def world(self) -> Any:
        return self.fake.world

    def visible(self, repo: Repository) -> bool:
        if not repo.private:
            return True
        return self.token is not None and self.token.covers(repo)

    # -- root --------------------------------------------------------------------------------------
    def root(self) -> Node:
        def repository(info: Any, owner: str, name: str, followRenames: bool = True) -> Any:
            repo = self.world.find_repo(owner, name)
            if repo is None or not self.visible(repo):
                raise NotFound(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
            return self.repository(repo)

        def organization(info: Any, login: str) -> Any:
            account = self.world.find_account(login)
            if account is None or account.type != "Organization":
                raise NotFound(f"Could not resolve to an Organization with the login of '{login}'.")
            return self.organization(account)

        def user(info: Any, login: str) -> Any:
            account = self.world.find_account(login)
            if account is None or account.type != "User":
                raise NotFound(f"Could not resolve to a User with the login of '{login}'.")
            return self.actor(account)

        def rate_limit(info: Any, dryRun: bool = False) -> Node:
            return self.fake.graphql_rate_limit()

        def search(
            info: GraphQLResolveInfo,
            query: str,
            type: str,
            first: int | None = None,
            after: str | None = None,
            last: int | None = None,
            before: str | None = None,
        ) -> Node:
            """Issues and pull requests (``type: ISSUE``) matching GitHub's search syntax, over
            the repositories the caller can see (see :mod:`.search`)."""
            if type != "ISSUE":
                raise self.unsupported(f"search(type: {type})")
            try:
                found = search_issues(self.world, query, self.visible)
            except Unsupported as exc:
                raise self.unsupported(f"the search qualifier {exc}") from None
            answer = connection(
                found[:MAX_SEARCH_RESULTS],
                lambda i: self.pull(i.pull) if i.pull is not None else self.issue(i),
                info,
                first=first,
                after=after,
                last=last,
                before=before,
            )
            answer.pop("totalCount")
            answer.update(
                issueCount=len(found),
                codeCount=0,
                discussionCount=0,
                repositoryCount=0,
                userCount=0,
                wikiCount=0,
            )
            return answer

        return {
            "repository": repository,
            "organization": organization,
            "user": user,
            "rateLimit": rate_limit,
            "search": search,
        }

    def unsupported(self, what: str) -> GraphQLError:
        """An error for something GitHub answers that the fake does not model; it also fails the
        test (``internal_errors``), since a silent empty answer would mislead it."""
        message = f"The fake GitHub does not model {what}."
        self.fake.internal_errors.append(f"POST /graphql: {message}")
        return GraphQLError(message)

    # -- accounts ----------------------------------------------------------------------------------
    def actor(self, account: Account | None) -> Node | None:
        if account is None:
            return None
        typename = {"User": "User", "Bot": "Bot", "Organization": "Organization"}[account.type]
        # GraphQL names bots without the "[bot]" suffix that REST shows.
        login = account.login.removesuffix("[bot]") if account.is_bot else account.login
        return {
            "__typename": typename,
            "login": login,
            "id": account.node_id,
            "databaseId": account.id,
            "name": account.name,
            "url": f"{WEB}/{login}" if not account.is_bot else f"{WEB}/apps/{login}",
            "resourcePath": f"/{login}",
            "avatarUrl": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
            "email": "",
        }

    def organization(self, account: Account) -> Node:
        def team(info: Any, slug: str) -> Any:
            found = self.world.team(account.login, slug)
            return self.team(found) if found else None

        node = self.actor(account) or {}
        node["team"] = team
        node["teams"] = _conn(
            lambda **_: [t for t in self.world.teams.values() if t.org is account], self.team
        )
        return node

    def team(self, team: Team) -> Node:
        def members(**filters: Any) -> list[Account]:
            role = filters.get("role")
            if role == "MAINTAINER":
                return [m for m in team.members if m in team.maintainers]
            if role == "MEMBER":
                return [m for m in team.members if m not in team.maintainers]
            return list(team.members)

        return {
            "id": team.node_id,
            "databaseId": team.id,
            "slug": team.slug,
            "name": team.name,
            "combinedSlug": f"{team.org.login}/{team.slug}",
            "url": f"{WEB}/orgs/{team.org.login}/teams/{team.slug}",
            "members": _conn(members, self.actor),
            "organization": lambda info: self.organization(team.org),
        }

    def app(self, app: App) -> Node:
        return {
            "id": app.node_id,
            "databaseId": app.id,
            "slug": app.slug,
            "name": app.name,
            "url": f"{WEB}/apps/{app.slug}",
        }

    # -- repositories --------------------------------------------------------------------------------
    def repository(self, repo: Repository) -> Node:
        url = f"{WEB}/{repo.full_name}"

        def ref(info: Any, qualifiedName: str) -> Any:
            if qualifiedName.startswith("refs/tags/"):
                tag = qualifiedName.removeprefix("refs/tags/")
                return self.tag_ref(repo, tag) if tag in repo.tags else None
            name = qualifiedName.removeprefix("refs/heads/")
            if name in repo.branches:
                return self.ref(repo, name)
            if not qualifiedName.startswith("refs/") and name in repo.tags:
                return self.tag_ref(repo, name)
            return None

        def obj(info: Any, oid: str | None = None, expression: str | None = None) -> Any:
            if oid is not None:
                if oid in repo.objects:
                    return self.commit(repo, oid)
                if oid in repo.blobs:
                    return self.blob(repo, oid, repo.blobs[oid])
                return None
            if expression is None:
                return None
            rev, sep, path = expression.partition(":")
            sha = repo.resolve(rev or "HEAD")
            if sha is None:
                return None
            if not sep:
                return self.commit(repo, sha)
            content = repo.commit_obj(sha).tree.get(path)
            return None if content is None else self.blob(repo, git.blob_sha(content), content)

        def pull_request(info: Any, number: int) -> Any:
            pr = repo.pull(number)
            if pr is None:
                raise NotFound(f"Could not resolve to a PullRequest with the number of {number}.")
            return self.pull(pr)

        def issue(info: Any, number: int) -> Any:
            found = repo.issue(number)
            if found is None or found.pull is not None:
                raise NotFound(f"Could not resolve to an Issue with the number of {number}.")
            return self.issue(found)

        def issues(**f: Any) -> list[Issue]:
            found = [i for i in repo.issues.values() if i.pull is None]
            return _filter_issues(found, f)

        def pulls(**f: Any) -> list[PullRequest]:
            found = [p for p in repo.pulls.values()]
            if f.get("headRefName"):
                found = [p for p in found if p.head_ref == f["headRefName"]]
            if f.get("baseRefName"):
                found = [p for p in found if p.base_ref == f["baseRefName"]]
            if f.get("states"):
                found = [p for p in found if _pr_state(p) in f["states"]]
            issues_ = _filter_issues([p.issue for p in found], {**f, "states": None})
            return [i.pull for i in issues_ if i.pull is not None]

        def refs(**f: Any) -> list[tuple[str, str]]:
            """``(prefix, name)`` of the branches (``refs/heads/``) or tags (``refs/tags/``)."""
            prefix = f.get("refPrefix")
            if prefix == "refs/heads/":
                names = sorted(repo.branches)
            elif prefix == "refs/tags/":
                names = sorted(repo.tags)
            else:
                return []
            if f.get("query"):
                names = [n for n in names if f["query"] in n]
            order = f.get("orderBy") or {}
            direction = order.get("direction") or f.get("direction") or "ASC"
            if order.get("field") == "TAG_COMMIT_DATE" and prefix == "refs/tags/":
                names.sort(key=lambda n: (repo.commit_obj(repo.tags[n]).committer.date, n))
            if direction == "DESC":
                names.reverse()
            return [(prefix, n) for n in names]

        def releases(**f: Any) -> list[Release]:
            drafts = self.sees_drafts(repo)
            found = [r for r in repo.releases if drafts or not r.draft]
            order = f.get("orderBy") or {"field": "CREATED_AT", "direction": "DESC"}
            if order.get("field") == "NAME":
                found.sort(key=lambda r: (r.name or r.tag_name, r.id))
            else:
                found.sort(key=lambda r: (r.created_at, r.id))
            if order.get("direction") == "DESC":
                found.reverse()
            return found

        def release(info: Any, tagName: str) -> Any:
            found = repo.release_by_tag(tagName)
            return self.release(found) if found is not None and not found.draft else None

        return {
            "__typename": "Repository",
            "id": repo.node_id,
            "databaseId": repo.id,
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "url": url,
            "resourcePath": f"/{repo.full_name}",
            "isPrivate": repo.private,
            "visibility": "PRIVATE" if repo.private else "PUBLIC",
            "isArchived": False,
            "isFork": False,
            "createdAt": iso(repo.created_at),
            "pushedAt": iso(repo.pushed_at),
            "owner": self.actor(repo.owner),
            "defaultBranchRef": lambda info: (
                self.ref(repo, repo.default_branch)
                if repo.default_branch in repo.branches
                else None
            ),
            "ref": ref,
            "refs": _conn(
                refs,
                lambda item: (
                    self.tag_ref(repo, item[1])
                    if item[0] == "refs/tags/"
                    else self.ref(repo, item[1])
                ),
            ),
            "release": release,
            "releases": _conn(releases, self.release),
            "latestRelease": lambda info: (
                self.release(latest) if (latest := repo.latest_release()) is not None else None
            ),
            "object": obj,
            "pullRequest": pull_request,
            "pullRequests": _conn(pulls, self.pull),
            "issue": issue,
            "issues": _conn(issues, self.issue),
            "labels": _conn(
                lambda **_: sorted(repo.labels.values(), key=lambda lb: lb.name.lower()),
                lambda lb: self.label(repo, lb),
            ),
            "branchProtectionRules": _conn(
                lambda **_: list(repo.protection_patterns),
                lambda pattern: self.protection_rule(repo, pattern),
            ),
            "label": lambda info, name: (
                self.label(repo, repo.label(name)) if repo.label(name) else None
            ),
        }

    def ref(self, repo: Repository, name: str) -> Node:
        pattern = repo.protection_rule(name)
        return {
            "id": base64.b64encode(f"03:Ref{repo.id}:refs/heads/{name}".encode()).decode(),
            "name": name,
            "prefix": "refs/heads/",
            "target": lambda info: self.commit(repo, repo.branches[name]),
            "branchProtectionRule": self.protection_rule(repo, pattern) if pattern else None,
            "associatedPullRequests": _conn(
                lambda **f: [
                    p
                    for p in repo.pulls.values()
                    if p.head_ref == name and (not f.get("states") or _pr_state(p) in f["states"])
                ],
                self.pull,
            ),
        }

    def tag_ref(self, repo: Repository, name: str) -> Node:
        """A lightweight tag's ``Ref``: its target is the tagged commit."""
        return {
            "id": base64.b64encode(f"03:Ref{repo.id}:refs/tags/{name}".encode()).decode(),
            "name": name,
            "prefix": "refs/tags/",
            "target": lambda info: self.commit(repo, repo.tags[name]),
            "branchProtectionRule": None,
            "repository": lambda info: self.repository(repo),
        }

    # -- releases ----------------------------------------------------------------------------------
    def sees_drafts(self, repo: Repository) -> bool:
        """Drafts are listed only to those with push access (``contents: write``)."""
        token = self.token
        return (
            token is not None
            and token.covers(repo)
            and token.permissions.get("contents") in ("write", "admin")
        )

    def release(self, release: Release) -> Node:
        repo = release.repo
        url = f"{WEB}/{repo.full_name}/releases/tag/{release.url_tag}"
        sha = release.commit

        def assets(**f: Any) -> list[ReleaseAsset]:
            if f.get("name"):
                return [a for a in release.assets if a.name == f["name"]]
            return list(release.assets)

        author = release.author
        return {
            "__typename": "Release",
            "id": release.node_id,
            "databaseId": release.id,
            "name": release.name,
            "tagName": release.tag_name,
            "description": release.body,
            "isDraft": release.draft,
            "isPrerelease": release.prerelease,
            "isLatest": repo.latest_release() is release,
            "createdAt": iso(release.created_at),
            "publishedAt": iso(release.published_at),
            "updatedAt": iso(release.updated_at or release.created_at),
            "url": url,
            "resourcePath": url.removeprefix(WEB),
            "author": self.actor(author) if author.type == "User" else None,
            "tag": (lambda info: self.tag_ref(repo, release.tag_name))
            if release.tag_name in repo.tags
            else None,
            "tagCommit": (lambda info: self.commit(repo, sha)) if sha else None,
            "repository": lambda info: self.repository(repo),
            "releaseAssets": _conn(assets, self.release_asset),
        }

    def release_asset(self, asset: ReleaseAsset) -> Node:
        download = self.fake.renderer.browser_download_url(asset)
        return {
            "id": asset.node_id,
            "name": asset.name,
            "size": asset.size,
            "contentType": asset.content_type,
            "downloadCount": asset.download_count,
            "downloadUrl": download,
            "url": download,
            "createdAt": iso(asset.created_at),
            "updatedAt": iso(asset.updated_at),
            "uploadedBy": self.actor(asset.uploader or asset.release.author),
            "release": lambda info: self.release(asset.release),
        }

    def protection_rule(self, repo: Repository, pattern: str) -> Node:
        index = repo.protection_patterns.index(pattern)
        return {
            "id": base64.b64encode(f"020:BranchProtectionRule{repo.id}{index}".encode()).decode(),
            "databaseId": repo.id * 100 + index,
            "pattern": pattern,
            "matchingRefs": _conn(
                lambda **_: sorted(b for b in repo.branches if fnmatch.fnmatchcase(b, pattern)),
                lambda name: self.ref(repo, name),
            ),
        }

    def blob(self, repo: Repository, sha: str, content: bytes) -> Node:
        binary = git.is_binary(content)
        return {
            "__typename": "Blob",
            "id": base64.b64encode(f"04:Blob{repo.id}:{sha}".encode()).decode(),
            "oid": sha,
            "abbreviatedOid": sha[:7],
            "byteSize": len(content),
            "isBinary": binary,
            "isTruncated": False,
            "text": None if binary else content.decode("utf-8", "replace"),
        }

    def git_actor(self, repo: Repository, sig: Signature) -> Node:
        account = self.world.account_for_email(sig.email)
        return {
            "name": sig.name,
            "email": sig.email,
            "date": iso(sig.date),
            "user": self.actor(account) if account and account.type == "User" else None,
        }

    def commit(self, repo: Repository, sha: str) -> Node:
        c = repo.commit_obj(sha)
        url = f"{WEB}/{repo.full_name}/commit/{sha}"

        def authors(**_: Any) -> list[Signature]:
            people = [c.author]
            seen = {c.author.email.lower()}
            for name, email in git.co_author_trailers(c.message):
                if email.lower() not in seen:
                    seen.add(email.lower())
                    people.append(Signature(name, email, c.author.date))
            return people

        def suites(**f: Any) -> list[CheckSuite]:
            found = [s for s in repo.check_suites.values() if s.head_sha == sha]
            flt = f.get("filterBy") or {}
            if flt.get("appId") is not None:
                found = [s for s in found if s.app.id == flt["appId"]]
            if flt.get("checkName"):
                found = [s for s in found if any(r.name == flt["checkName"] for r in s.runs)]
            return found

        def diff_stats() -> list[git.FileDiff]:
            parent = repo.commit_obj(c.parents[0]).tree if c.parents else {}
            return git.diff_trees(parent, c.tree)

        def history(**f: Any) -> list[str]:
            return self.history(repo, sha, **f)

        web_flow = self.world.web_flow
        return {
            "__typename": "Commit",
            "id": base64.b64encode(f"06:Commit{repo.id}:{sha}".encode()).decode(),
            "oid": sha,
            "abbreviatedOid": sha[:7],
            "message": c.message,
            "messageHeadline": c.headline,
            "messageBody": c.body,
            "committedDate": iso(c.committer.date),
            "authoredDate": iso(c.author.date),
            "committedViaWeb": c.committer.email == web_flow.commit_email,
            "authoredByCommitter": c.author.email == c.committer.email,
            "url": url,
            "commitUrl": url,
            "resourcePath": f"/{repo.full_name}/commit/{sha}",
            "parents": _conn(lambda **_: list(c.parents), lambda p: self.commit(repo, p)),
            "history": _conn(history, lambda s: self.commit(repo, s)),
            "author": self.git_actor(repo, c.author),
            "committer": self.git_actor(repo, c.committer),
            "authors": _conn(authors, lambda sig: self.git_actor(repo, sig)),
            "associatedPullRequests": _conn(lambda **_: repo.pulls_for_commit(sha), self.pull),
            "checkSuites": _conn(suites, self.check_suite),
            "additions": lambda info: sum(f.additions for f in diff_stats()),
            "deletions": lambda info: sum(f.deletions for f in diff_stats()),
            "changedFilesIfAvailable": lambda info: len(diff_stats()),
            "tree": {"__typename": "Tree", "oid": c.tree_sha},
            "signature": self.github_signature(c) if c.signed_by_github else None,
            "file": lambda info, path: self.tree_entry(repo, c.tree, path),
        }

    def history(
        self,
        repo: Repository,
        head: str,
        *,
        author: dict[str, Any] | None = None,
        since: str | None = None,
        until: str | None = None,
        path: str | None = None,
    ) -> list[str]:
        """``Commit.history``: every ancestor of ``head`` (itself included, all parents walked, as
        ``git log`` does), newest committer date first, filtered by ``author`` (``id``: the commits
        whose author e-mail belongs to that user, which takes precedence over ``emails``: any of
        those addresses), by committer date (``since`` <= date <= ``until``, as ``git log
        --since/--until``) and by ``path`` (commits that change a file at or under it compared with
        each of their parents)."""
        listed = repo.rev_list(head)
        order = {sha: index for index, sha in enumerate(listed)}
        shas = sorted(
            listed, key=lambda s: (repo.commit_obj(s).committer.date, order[s]), reverse=True
        )
        if author is not None:
            emails: set[str] | None = None
            if author.get("id") is not None:
                account = next(
                    (a for a in self.world.accounts.values() if a.node_id == author["id"]), None
                )
                if account is None:
                    raise GraphQLError(
                        f"Could not resolve to a node with the global id of '{author['id']}'",
                        extensions={"type": "NOT_FOUND"},
                    )
                emails = {e.lower() for e in account.emails}
            elif author.get("emails") is not None:
                emails = {e.lower() for e in author["emails"]}
            if emails is not None:
                wanted = emails
                shas = [s for s in shas if repo.commit_obj(s).author.email.lower() in wanted]
        if since is not None:
            start = _git_timestamp(since)
            shas = [s for s in shas if repo.commit_obj(s).committer.date >= start]
        if until is not None:
            end = _git_timestamp(until)
            shas = [s for s in shas if repo.commit_obj(s).committer.date <= end]
        if path:
            prefix = path.strip("/")
            shas = [s for s in shas if _touches(repo, s, prefix)]
        return shas

    def tree_entry(self, repo: Repository, tree: dict[str, bytes], path: str) -> Node | None:
        """``Commit.file(path:)``: the blob at ``path`` in a commit's tree, or null."""
        content = tree.get(path.strip("/"))
        if content is None:
            return None
        sha = git.blob_sha(content)
        name = path.rsplit("/", 1)[-1]
        return {
            "name": name,
            "nameRaw": base64.b64encode(name.encode()).decode(),
            "path": path,
            "pathRaw": base64.b64encode(path.encode()).decode(),
            "oid": sha,
            "type": "blob",
            "mode": 33188,
            "size": len(content),
            "extension": f".{name.rsplit('.', 1)[-1]}" if "." in name else None,
            "isGenerated": False,
            "object": self.blob(repo, sha, content),
            "repository": lambda info: self.repository(repo),
        }

    def github_signature(self, c: Commit) -> Node:
        """The ``GitSignature`` of a commit GitHub made and signed with its web-flow key."""
        web_flow = self.world.web_flow
        return {
            "__typename": "GpgSignature",
            "email": web_flow.commit_email,
            "isValid": True,
            "wasSignedByGitHub": True,
            "state": "VALID",
            "signer": self.actor(web_flow),
            "signature": GITHUB_SIGNATURE,
            "payload": c.message,
            "keyId": "B5690EEEBB952194",
            "verifiedAt": iso(c.committer.date),
        }

    # -- pull requests and issues ---------------------------------------------------------------------
    def label(self, repo: Repository, label: Label | None) -> Node | None:
        if label is None:
            return None
        return {
            "id": label.node_id,
            "name": label.name,
            "color": label.color,
            "description": label.description,
            "isDefault": label.default,
            "url": f"{WEB}/{repo.full_name}/labels/{label.name}",
        }

    def pull(self, pr: PullRequest) -> Node:
        repo = pr.repo

        def reviews(**f: Any) -> list[Review]:
            found = list(pr.reviews)
            if f.get("states"):
                found = [r for r in found if r.state in f["states"]]
            if f.get("author"):
                found = [r for r in found if r.user.login == f["author"]]
            return found

        files = functools.cache(pr.files)
        return {
            "__typename": "PullRequest",
            "id": pr.node_id,
            "databaseId": pr.id,
            "number": pr.number,
            "title": pr.title,
            "body": pr.body or "",
            "url": f"{WEB}/{repo.full_name}/pull/{pr.number}",
            "permalink": f"{WEB}/{repo.full_name}/pull/{pr.number}",
            "resourcePath": f"/{repo.full_name}/pull/{pr.number}",
            "state": _pr_state(pr),
            "closed": pr.state == "closed",
            "isDraft": pr.draft,
            "locked": pr.issue.locked,
            "merged": pr.merged,
            "mergedAt": iso(pr.merged_at),
            "closedAt": iso(pr.issue.closed_at),
            "createdAt": iso(pr.created_at),
            "updatedAt": iso(pr.issue.updated_at),
            "author": self.actor(pr.author),
            "mergedBy": self.actor(pr.merged_by),
            "mergeCommit": (lambda info: self.commit(repo, pr.merge_commit_sha))
            if pr.merge_commit_sha
            else None,
            "headRefName": pr.head_ref,
            "headRefOid": pr.head_sha,
            "headRef": (lambda info: self.ref(repo, pr.head_ref))
            if repo.branches.get(pr.head_ref) == pr.head_sha
            else None,
            "baseRefName": pr.base_ref,
            "baseRefOid": pr.base_sha,
            "baseRef": (lambda info: self.ref(repo, pr.base_ref))
            if pr.base_ref in repo.branches
            else None,
            "isCrossRepository": False,
            "repository": lambda info: self.repository(repo),
            "labels": _conn(lambda **_: list(pr.labels), lambda lb: self.label(repo, lb)),
            "reviews": _conn(reviews, self.review),
            "latestReviews": _conn(lambda **_: _latest_reviews(pr), self.review),
            "commits": _conn(
                lambda **_: list(pr.commits),
                lambda sha: {
                    "id": base64.b64encode(f"017:PullRequestCommit{pr.id}:{sha}".encode()).decode(),
                    "url": f"{WEB}/{repo.full_name}/pull/{pr.number}/commits/{sha}",
                    "commit": self.commit(repo, sha),
                    "pullRequest": lambda info: self.pull(pr),
                },
            ),
            "files": _conn(
                lambda **_: files()[:3000],
                lambda f: {
                    "path": f.filename,
                    "additions": f.additions,
                    "deletions": f.deletions,
                    "changeType": _CHANGE_TYPE[f.status],
                    "viewerViewedState": "UNVIEWED",
                },
            ),
            "changedFiles": lambda info: len(files()),
            "additions": lambda info: sum(f.additions for f in files()),
            "deletions": lambda info: sum(f.deletions for f in files()),
        }

    def review(self, r: Review) -> Node:
        repo = r.pull.repo
        return {
            "id": r.node_id,
            "databaseId": r.id,
            "state": r.state,
            "body": r.body,
            "submittedAt": iso(r.submitted_at),
            "createdAt": iso(r.submitted_at),
            "updatedAt": iso(r.submitted_at),
            "publishedAt": iso(r.submitted_at),
            "url": f"{WEB}/{repo.full_name}/pull/{r.pull.number}#pullrequestreview-{r.id}",
            "author": self.actor(r.user),
            "authorCanPushToRepository": repo.permission_of(r.user) in PUSH_PERMISSIONS,
            "commit": (lambda info: self.commit(repo, r.commit_id))
            if r.commit_id in repo.objects
            else None,
            "pullRequest": lambda info: self.pull(r.pull),
        }

    def issue(self, issue: Issue) -> Node:
        repo = issue.repo
        return {
            "__typename": "Issue",
            "id": issue.node_id,
            "databaseId": issue.id,
            "number": issue.number,
            "title": issue.title,
            "body": issue.body or "",
            "state": issue.state.upper(),
            "stateReason": issue.state_reason.upper() if issue.state_reason else None,
            "closed": issue.state == "closed",
            "closedAt": iso(issue.closed_at),
            "createdAt": iso(issue.created_at),
            "updatedAt": iso(issue.updated_at),
            "lastEditedAt": iso(issue.last_edited_at) if issue.last_edited_at else None,
            "editor": (
                None
                if issue.editor is None
                else {
                    "__typename": "Bot" if issue.editor.endswith("[bot]") else "User",
                    "login": issue.editor,
                }
            ),
            "url": f"{WEB}/{repo.full_name}/issues/{issue.number}",
            "author": self.actor(issue.user),
            "labels": _conn(lambda **_: list(issue.labels), lambda lb: self.label(repo, lb)),
            "comments": _conn(
                lambda **_: list(issue.comments),
                lambda c: {
                    "id": c.node_id,
                    "databaseId": c.id,
                    "body": c.body,
                    "author": self.actor(c.user),
                    "createdAt": iso(c.created_at),
                    "updatedAt": iso(c.updated_at),
                },
            ),
        }

    # -- checks -------------------------------------------------------------------------------------
    def check_suite(self, suite: CheckSuite) -> Node:
        def runs(**f: Any) -> list[CheckRun]:
            found = sorted(suite.runs, key=lambda r: r.id)
            flt = f.get("filterBy") or {}
            if flt.get("checkName"):
                found = [r for r in found if r.name == flt["checkName"]]
            if flt.get("status"):
                found = [r for r in found if _STATUS[r.status] == flt["status"]]
            if flt.get("statuses"):
                found = [r for r in found if _STATUS[r.status] in flt["statuses"]]
            if flt.get("conclusions"):
                found = [r for r in found if (r.conclusion or "").upper() in flt["conclusions"]]
            if flt.get("checkType") == "LATEST":
                latest = {r.name: r for r in found}
                found = sorted(latest.values(), key=lambda r: r.id)
            return found

        return {
            "id": suite.node_id,
            "databaseId": suite.id,
            "app": self.app(suite.app),
            "status": _STATUS.get(suite.status, "QUEUED"),
            "conclusion": suite.conclusion.upper() if suite.conclusion else None,
            "createdAt": iso(suite.created_at),
            "updatedAt": iso(suite.updated_at),
            "branch": (lambda info: self.ref(suite.repo, suite.head_branch))
            if suite.head_branch in suite.repo.branches
            else None,
            "commit": lambda info: self.commit(suite.repo, suite.head_sha),
            "checkRuns": _conn(runs, self.check_run),
        }

    def check_run(self, run: CheckRun) -> Node:
        url = f"{WEB}/{run.repo.full_name}/runs/{run.id}"
        return {
            "id": run.node_id,
            "databaseId": run.id,
            "name": run.name,
            "status": _STATUS[run.status],
            "conclusion": run.conclusion.upper() if run.conclusion else None,
            "title": run.title,
            "summary": run.summary,
            "text": run.text,
            "detailsUrl": run.details_url,
            "externalId": run.external_id,
            "startedAt": iso(run.started_at),
            "completedAt": iso(run.completed_at),
            "url": url,
            "permalink": url,
            "checkSuite": lambda info: self.check_suite(run.suite),
        }


def _git_timestamp(value: str) -> datetime:
    """A ``GitTimestamp`` (ISO 8601; a date alone is midnight UTC, no zone is UTC)."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"`{value}` is not a valid GitTimestamp.") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _touches(repo: Repository, sha: str, prefix: str) -> bool:
    """Whether a commit changes a file at or under ``prefix`` compared with each parent."""

    def part(tree: dict[str, bytes]) -> dict[str, bytes]:
        return {p: c for p, c in tree.items() if p == prefix or p.startswith(prefix + "/")}

    mine = part(repo.commit_obj(sha).tree)
    parents = repo.commit_obj(sha).parents
    if not parents:
        return bool(mine)
    return all(part(repo.commit_obj(p).tree) != mine for p in parents)


def _pr_state(pr: PullRequest) -> str:
    if pr.merged:
        return "MERGED"
    return pr.state.upper()


def _latest_reviews(pr: PullRequest) -> list[Review]:
    latest: dict[int, Review] = {}
    for r in pr.reviews:
        if r.state != "PENDING":
            latest.pop(r.user.id, None)
            latest[r.user.id] = r
    return list(latest.values())


def _filter_issues(found: list[Issue], f: dict[str, Any]) -> list[Issue]:
    by = f.get("filterBy") or {}
    if by.get("createdBy"):
        found = [i for i in found if i.user.login.lower() == str(by["createdBy"]).lower()]
    if by.get("states"):
        found = [i for i in found if i.state.upper() in by["states"]]
    if f.get("states"):
        found = [i for i in found if i.state.upper() in f["states"]]
    if f.get("labels"):
        wanted = {n.lower() for n in f["labels"]}
        found = [i for i in found if wanted & {lb.name.lower() for lb in i.labels}]
    order = f.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
    key: Callable[[Issue], Any] = {
        "UPDATED_AT": lambda i: (i.updated_at, i.number),
        "COMMENTS": lambda i: (len(i.comments), i.number),
    }.get(order.get("field", "CREATED_AT"), lambda i: (i.created_at, i.number))
    return sorted(found, key=key, reverse=order.get("direction") == "DESC")


# ================================================================================== execution


def run_query(
    fake: FakeGitHub, token: AccessToken | None, body: Any
) -> tuple[dict[str, Any], GraphQLErrorRecord | None]:
    """Answer one ``POST /graphql`` body: ``(response JSON, error record or None)``."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        errors = [{"message": "A query attribute must be specified and must be a string."}]
        return {"errors": errors}, GraphQLErrorRecord(str(body), None, errors, "request")
    query: str = body["query"]
    variables = body.get("variables") or None
    if variables is not None and not isinstance(variables, dict):
        errors = [{"message": "Variables are invalid JSON."}]
        return {"errors": errors}, GraphQLErrorRecord(query, None, errors, "request")
    try:
        document = parse(query)
    except GraphQLError as exc:
        errors = [_validation_error(exc)]
        return {"errors": errors}, GraphQLErrorRecord(query, variables, errors, "parse")
    invalid = validate(schema(), document)
    if invalid:
        errors = [_validation_error(e) for e in invalid]
        return {"errors": errors}, GraphQLErrorRecord(query, variables, errors, "validation")
    operation = get_operation_ast(document, body.get("operationName"))
    if operation is not None and operation.operation != OperationType.QUERY:
        # Valid for GitHub, but the fake models no mutations: refuse rather than pretend.
        errors = [{"message": f"The fake GitHub does not implement {operation.operation.value}s."}]
        return {"errors": errors}, GraphQLErrorRecord(query, variables, errors, "execution")
    nodes = Nodes(fake, token)
    result = execute_sync(
        schema(),
        document,
        root_value=nodes.root(),
        variable_values=variables,
        operation_name=body.get("operationName"),
        field_resolver=resolve_field,
    )
    answer: dict[str, Any] = {"data": result.data}
    record = None
    if result.errors:
        errors = [_execution_error(e) for e in result.errors]
        answer["errors"] = errors
        if result.data is None:
            answer = {"errors": errors}  # e.g. variables that do not coerce
        record = GraphQLErrorRecord(query, variables, errors, "execution")
    return answer, record
