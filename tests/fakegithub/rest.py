"""The REST endpoints: a route table and one small handler per endpoint.

Handlers receive a :class:`Call` (the parsed request, the authenticated installation token, the
repository named in the path) and return a :class:`Reply` or raise :class:`ApiError`. Everything
that is the same for all endpoints (authentication, faults, pagination links, ETags, rate-limit
headers, shape validation) happens in :mod:`tests.fakegithub.server`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlencode

from multidict import MultiMapping

from . import git
from .clock import iso
from .render import JSON, Renderer, activity_type
from .state import (
    CHECK_CONCLUSIONS,
    CHECK_STATUSES,
    REACTIONS,
    Account,
    App,
    CheckRun,
    Issue,
    Release,
    ReleaseAsset,
    Repository,
)

if TYPE_CHECKING:
    from .auth import AccessToken
    from .server import FakeGitHub

DOCS = "https://docs.github.com/rest"
AuthKind = Literal["app", "token", "anonymous", "none"]
"""``app``: an app JWT; ``token``: an installation token; ``anonymous``: an API endpoint that takes
no credentials (``POST /app-manifests/{code}/conversions``); ``none``: not the API at all but a web
or storage URL (release downloads, the manifest flow's pages), served without authentication; its
handler gets the request's raw bytes as ``call.body``."""


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | memoryview | None = None
    """Bytes sent as they are (a download) instead of a JSON ``body``; ``Content-Type`` and any
    ``Content-Range`` come from ``headers``."""


class ApiError(Exception):
    """An error answer: ``{"message", "documentation_url", "status"}`` plus any extras."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        docs: str = DOCS,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message}
        if errors is not None:
            self.body["errors"] = errors
        self.body["documentation_url"] = docs
        self.body["status"] = str(status)
        self.headers = headers or {}


def not_found(docs: str = DOCS) -> ApiError:
    return ApiError(404, "Not Found", docs=docs)


def invalid(detail: str, docs: str = DOCS) -> ApiError:
    """GitHub's JSON-schema style 422: ``Invalid request.\\n\\n<detail>``."""
    return ApiError(422, f"Invalid request.\n\n{detail}", docs=docs)


def validation_failed(
    resource: str, field_: str, code: str, message: str | None = None, docs: str = DOCS
) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field_}
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", docs=docs, errors=[error])


@dataclass
class Call:
    fake: FakeGitHub
    method: str
    route: str
    path: str
    params: dict[str, str]
    query: MultiMapping[str]
    body: Any
    token: AccessToken | None
    repo: Repository | None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def render(self) -> Renderer:
        return self.fake.renderer

    @property
    def app(self) -> App:
        """The app acting: the token's installation's app (or the fake's own, for app JWTs)."""
        return self.token.installation.app if self.token else self.fake.world.app

    @property
    def r(self) -> Repository:
        assert self.repo is not None
        return self.repo

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise not_found() from None

    def json_object(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body

    # -- pagination ---------------------------------------------------------------------------------
    def page(
        self,
        items: Sequence[Any],
        *,
        cap: int | None = None,
        size: int | None = None,
    ) -> tuple[list[Any], dict[str, str]]:
        """Slice ``items`` by ``per_page``/``page`` and build GitHub's ``Link`` header.

        ``size`` fixes the page size where GitHub ignores ``per_page`` (a commit's files)."""
        try:
            per_page = int(self.query.get("per_page", "30"))
            page = int(self.query.get("page", "1"))
        except ValueError:
            per_page, page = 30, 1
        per_page = size if size is not None else min(max(per_page, 1), 100)
        page = max(page, 1)
        total = len(items) if cap is None else min(len(items), cap)
        last = max((total + per_page - 1) // per_page, 1)
        chunk = list(items[(page - 1) * per_page : min(page * per_page, total)])
        links: list[str] = []

        def url(n: int) -> str:
            pairs = [(k, v) for k, v in self.query.items() if k != "page"]
            pairs.append(("page", str(n)))
            return f"<{self.fake.base_url}{self.link_path()}?{urlencode(pairs)}>"

        if page > 1:
            links.append(f'{url(min(page - 1, last))}; rel="prev"')
        if page < last:
            links.append(f'{url(page + 1)}; rel="next"')
            links.append(f'{url(last)}; rel="last"')
        if page > 1:
            links.append(f'{url(1)}; rel="first"')
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def link_path(self) -> str:
        """GitHub's pagination links name repositories and teams by id."""
        if self.repo is not None:
            prefix = f"/repos/{self.params['owner']}/{self.params['repo']}"
            return f"/repositories/{self.repo.id}" + self.path[len(prefix) :]
        if self.route.startswith("GET /orgs/{org}/teams/{team_slug}"):
            team = self.fake.world.team(self.params["org"], self.params["team_slug"])
            if team is not None:
                prefix = f"/orgs/{self.params['org']}/teams/{self.params['team_slug']}"
                return f"/organizations/{team.org.id}/team/{team.id}" + self.path[len(prefix) :]
        return self.path


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    auth: AuthKind
    permission: tuple[str, str] | None
    pattern: re.Pattern[str]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


ROUTES: list[Route] = []
_GREEDY = {"path", "branch", "basehead", "ref", "name", "tag"}


def _compile(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>.+)" if name in _GREEDY else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "$")


def route(
    method: str,
    template: str,
    *,
    auth: AuthKind = "token",
    permission: tuple[str, str] | None = None,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, template, handler, auth, permission, _compile(template)))
        return handler

    return register


def match(method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    """The first route (registration order: specific before general) matching the request."""
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        found = candidate.pattern.match(raw_path)
        if found is not None:
            return candidate, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


# ======================================================================================== app


@route("GET", "/app", auth="app")
def get_app(call: Call) -> Reply:
    body = call.render.app(call.fake.world.app)
    body["installations_count"] = sum(
        1 for i in call.fake.world.installations.values() if i.app is call.fake.world.app
    )
    return Reply(200, body)


@route("GET", "/app/installations", auth="app")
def list_installations(call: Call) -> Reply:
    world = call.fake.world
    items = [
        call.render.installation(i) for i in world.installations.values() if i.app is world.app
    ]
    chunk, headers = call.page(items)
    return Reply(200, chunk, headers)


def _installation(call: Call) -> Any:
    world = call.fake.world
    inst = world.installations.get(call.int_param("installation_id"))
    if inst is None or inst.app is not world.app:
        raise not_found(f"{DOCS}/apps/apps#get-an-installation-for-the-authenticated-app")
    return inst


@route("GET", "/app/installations/{installation_id}", auth="app")
def get_installation(call: Call) -> Reply:
    return Reply(200, call.render.installation(_installation(call)))


@route("POST", "/app/installations/{installation_id}/access_tokens", auth="app")
def create_access_token(call: Call) -> Reply:
    docs = f"{DOCS}/apps/apps#create-an-installation-access-token-for-an-app"
    inst = _installation(call)
    if inst.suspended_at is not None:
        raise ApiError(403, "This installation has been suspended", docs=docs)
    body = call.json_object()
    repos: list[Repository] | None = None
    names = body.get("repositories")
    ids = body.get("repository_ids")
    if names is not None or ids is not None:
        repos = []
        world = call.fake.world
        for name in names or []:
            repo = world.find_repo(inst.account.login, str(name))
            if repo is None or not inst.covers(repo):
                raise ApiError(
                    422,
                    "There is at least one repository that does not exist or is not accessible "
                    "to the parent installation.",
                    docs=docs,
                )
            repos.append(repo)
        for ident in ids or []:
            found = [r for r in world.repos.values() if r.id == ident and inst.covers(r)]
            if not found:
                raise ApiError(
                    422,
                    "There is at least one repository that does not exist or is not accessible "
                    "to the parent installation.",
                    docs=docs,
                )
            repos.extend(found)
    permissions = body.get("permissions")
    if permissions is not None:
        for name, level in permissions.items():
            if not inst.has_permission(name, level):
                raise ApiError(
                    422,
                    "The permissions requested are not granted to this installation.",
                    docs=docs,
                )
    token = call.fake.tokens.issue(inst, repositories=repos, permissions=permissions)
    out: JSON = {
        "token": token.token,
        "expires_at": iso(token.expires_at),
        "permissions": token.permissions,
        "repository_selection": "selected" if repos is not None else inst.repository_selection,
    }
    if repos is not None:
        out["repositories"] = [call.render.repo(r, full=False) for r in repos]
    return Reply(201, out)


@route("GET", "/installation/repositories")
def list_installation_repositories(call: Call) -> Reply:
    """The repositories an installation token can reach, paginated (``total_count`` is all of
    them): what a scheduled job walks."""
    if call.token is None:
        raise ApiError(401, "Requires authentication")
    world = call.fake.world
    installation = call.token.installation
    repos = sorted(
        (r for r in world.repos.values() if call.token.covers(r)),
        key=lambda r: r.id,
    )
    chunk, headers = call.page([call.render.repo(r, full=False) for r in repos])
    body = {
        "total_count": len(repos),
        "repository_selection": installation.repository_selection,
        "repositories": chunk,
    }
    return Reply(200, body, headers)


@route("GET", "/repos/{owner}/{repo}/installation", auth="app")
def get_repo_installation(call: Call) -> Reply:
    inst = call.fake.world.installation_for(call.r)
    if inst is None:
        raise not_found(f"{DOCS}/apps/apps#get-a-repository-installation-for-the-authenticated-app")
    return Reply(200, call.render.installation(inst))


# ================================================================================= repository


@route("GET", "/repos/{owner}/{repo}", permission=("metadata", "read"))
def get_repo(call: Call) -> Reply:
    return Reply(200, call.render.repo(call.r))


@route("GET", "/repos/{owner}/{repo}/branches", permission=("contents", "read"))
def list_branches(call: Call) -> Reply:
    repo = call.r
    names = sorted(repo.branches)
    protected = call.query.get("protected")
    if protected is not None:
        want = protected.lower() == "true"
        names = [n for n in names if repo.is_protected(n) == want]
    chunk, headers = call.page(names)
    return Reply(200, [call.render.short_branch(repo, n) for n in chunk], headers)


@route("GET", "/repos/{owner}/{repo}/branches/{branch}", permission=("contents", "read"))
def get_branch(call: Call) -> Reply:
    name = call.params["branch"]
    if name not in call.r.branches:
        raise ApiError(404, "Branch not found", docs=f"{DOCS}/branches/branches#get-a-branch")
    return Reply(200, call.render.branch(call.r, name))


def _ref_or_404(call: Call, ref: str, docs: str = DOCS) -> str:
    sha = call.r.resolve(ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}", docs=docs)
    return sha


@route("GET", "/repos/{owner}/{repo}/contents/{path}", permission=("contents", "read"))
def get_content(call: Call) -> Reply:
    docs = f"{DOCS}/repos/contents#get-repository-content"
    repo = call.r
    ref = call.query.get("ref") or repo.default_branch
    sha = _ref_or_404(call, ref, docs)
    tree = repo.commit_obj(sha).tree
    path = call.params["path"].strip("/")
    if path in tree:
        return Reply(200, call.render.content_file(repo, path, tree[path], ref))
    prefix = path + "/"
    entries: dict[str, JSON] = {}
    for name, content in sorted(tree.items()):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        if "/" in rest:
            sub = prefix + rest.split("/", 1)[0]
            sub_tree = {k[len(sub) + 1 :]: v for k, v in tree.items() if k.startswith(sub + "/")}
            entries[sub] = call.render.dir_entry(repo, sub, "dir", git.tree_sha(sub_tree), 0, ref)
        else:
            entries[name] = call.render.dir_entry(
                repo, name, "file", git.blob_sha(content), len(content), ref
            )
    if not entries:
        raise not_found(docs)
    return Reply(200, list(entries.values()))


@route("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}", permission=("contents", "read"))
def get_blob(call: Call) -> Reply:
    sha = call.params["file_sha"]
    content = call.r.blobs.get(sha)
    if content is None:
        raise not_found(f"{DOCS}/git/blobs#get-a-blob")
    return Reply(200, call.render.blob(call.r, sha, content))


# ============================================================================== pull requests


def _pull(call: Call) -> Any:
    pr = call.r.pull(call.int_param("pull_number"))
    if pr is None:
        raise not_found(f"{DOCS}/pulls/pulls#get-a-pull-request")
    return pr


@route("GET", "/repos/{owner}/{repo}/pulls", permission=("pull_requests", "read"))
def list_pulls(call: Call) -> Reply:
    state = call.query.get("state", "open")
    pulls = sorted(call.r.pulls.values(), key=lambda p: p.number, reverse=True)
    if state != "all":
        pulls = [p for p in pulls if p.state == state]
    if head := call.query.get("head"):
        pulls = [p for p in pulls if f"{call.r.owner.login}:{p.head_ref}" == head]
    if base := call.query.get("base"):
        pulls = [p for p in pulls if p.base_ref == base]
    if call.query.get("direction") == "asc":
        pulls.reverse()
    chunk, headers = call.page(pulls)
    return Reply(200, [call.render.pull(p, simple=True) for p in chunk], headers)


@route(
    "GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", permission=("pull_requests", "read")
)
def list_pull_files(call: Call) -> Reply:
    pr = _pull(call)
    chunk, headers = call.page(pr.files(), cap=3000)  # GitHub lists at most 3,000 files
    return Reply(200, [call.render.diff_entry(call.r, f, pr.head_sha) for f in chunk], headers)


@route(
    "GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", permission=("pull_requests", "read")
)
def list_pull_commits(call: Call) -> Reply:
    pr = _pull(call)
    chunk, headers = call.page(pr.commit_objs(), cap=250)  # and at most 250 commits
    return Reply(200, [call.render.commit(call.r, c, files=False) for c in chunk], headers)


@route(
    "GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", permission=("pull_requests", "read")
)
def list_pull_reviews(call: Call) -> Reply:
    pr = _pull(call)
    submitted = [r for r in pr.reviews if r.state != "PENDING"]
    chunk, headers = call.page(submitted)
    return Reply(200, [call.render.review(r) for r in chunk], headers)


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", permission=("pull_requests", "read"))
def get_pull(call: Call) -> Reply:
    return Reply(200, call.render.pull(_pull(call)))


# ==================================================================================== commits


@route("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls", permission=("contents", "read"))
def list_commit_pulls(call: Call) -> Reply:
    sha = _ref_or_404(call, call.params["commit_sha"])
    pulls = call.r.pulls_for_commit(sha)
    chunk, headers = call.page(pulls)
    return Reply(200, [call.render.pull(p, simple=True) for p in chunk], headers)


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", permission=("checks", "read"))
def list_commit_check_runs(call: Call) -> Reply:
    sha = _ref_or_404(call, call.params["ref"])
    runs = [r for r in call.r.check_runs.values() if r.head_sha == sha]
    if name := call.query.get("check_name"):
        runs = [r for r in runs if r.name == name]
    if status := call.query.get("status"):
        runs = [r for r in runs if r.status == status]
    if app_id := call.query.get("app_id"):
        runs = [r for r in runs if str(r.app.id) == app_id]
    if call.query.get("filter", "latest") == "latest":
        latest: dict[tuple[int, str], CheckRun] = {}
        for run in runs:
            latest[(run.app.id, run.name)] = run  # ids grow, so the last one wins
        runs = list(latest.values())
    runs.sort(key=lambda r: r.id, reverse=True)
    chunk, headers = call.page(runs)
    body = {"total_count": len(runs), "check_runs": [call.render.check_run(r) for r in chunk]}
    return Reply(200, body, headers)


@route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}", permission=("contents", "read"))
def get_tree(call: Call) -> Reply:
    """A commit's (or branch's) tree; ``recursive`` lists every entry, folders included. GitHub
    cuts a tree of over 100,000 entries (``truncated``); this fake's trees are smaller."""
    docs = f"{DOCS}/git/trees#get-a-tree"
    repo = call.r
    sha = _ref_or_404(call, call.params["tree_sha"], docs)
    commit = repo.commit_obj(sha)
    api = f"{call.fake.base_url}/repos/{repo.full_name}/git"
    paths = sorted(commit.tree)
    if call.query.get("recursive") in (None, "", "0", "false"):
        paths = [p for p in paths if "/" not in p]
    folders = sorted(
        {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}
    )
    entries: list[dict[str, Any]] = [
        {
            "path": f,
            "mode": "040000",
            "type": "tree",
            "sha": git.tree_sha(
                {k[len(f) + 1 :]: v for k, v in commit.tree.items() if k.startswith(f + "/")}
            ),
            "url": f"{api}/trees/{f}",
        }
        for f in folders
    ]
    for path in paths:
        blob = git.blob_sha(commit.tree[path])
        entries.append(
            {
                "path": path,
                "mode": "100644",
                "type": "blob",
                "sha": blob,
                "size": len(commit.tree[path]),
                "url": f"{api}/blobs/{blob}",
            }
        )
    entries.sort(key=lambda e: e["path"])
    return Reply(
        200,
        {
            "sha": commit.tree_sha,
            "url": f"{api}/trees/{commit.tree_sha}",
            "tree": entries,
            "truncated": False,
        },
    )


@route("GET", "/repos/{owner}/{repo}/commits", permission=("contents", "read"))
def list_commits(call: Call) -> Reply:
    """Commits reachable from ``sha`` (default: the default branch), newest first."""
    docs = f"{DOCS}/commits/commits#list-commits"
    repo = call.r
    head = _ref_or_404(call, call.query.get("sha") or repo.default_branch, docs)
    # by committer date, newest first; rev_list is oldest first, so it breaks ties
    listed = repo.rev_list(head)
    order = {sha: index for index, sha in enumerate(listed)}
    found = sorted(
        listed,
        key=lambda sha: (repo.commit_obj(sha).committer.date, order[sha]),
        reverse=True,
    )
    chunk, headers = call.page(found)
    return Reply(
        200, [call.render.commit(repo, repo.commit_obj(sha), files=False) for sha in chunk], headers
    )


@route("GET", "/repos/{owner}/{repo}/commits/{ref}", permission=("contents", "read"))
def get_commit(call: Call) -> Reply:
    """One commit with its files. GitHub's docs: "If there are more than 300 files in the commit
    diff ... the response will include pagination link headers for the remaining files, up to a
    limit of 3000 files. Each page contains the static commit information, and the only changes
    are to the file listing." """
    docs = f"{DOCS}/commits/commits#get-a-commit"
    sha = _ref_or_404(call, call.params["ref"], docs)
    body = call.render.commit(call.r, call.r.commit_obj(sha))
    body["files"], headers = call.page(body["files"], cap=COMMIT_FILES_CAP, size=COMMIT_FILES_PAGE)
    return Reply(200, body, headers)


COMMIT_FILES_PAGE = 300
COMMIT_FILES_CAP = 3000
COMPARE_FILES_CAP = 300
COMPARE_COMMITS_CAP = 250


@route("GET", "/repos/{owner}/{repo}/compare/{basehead}", permission=("contents", "read"))
def compare(call: Call) -> Reply:
    docs = f"{DOCS}/commits/commits#compare-two-commits"
    repo = call.r
    spec = call.params["basehead"]
    base_ref, sep, head_ref = spec.partition("...")
    if not sep:
        raise not_found(docs)
    base = repo.resolve(base_ref)
    head = repo.resolve(head_ref)
    if base is None or head is None:
        raise not_found(docs)
    merge_base = repo.merge_base(base, head)
    if merge_base is None:
        # GitHub answers unrelated histories with 404 "No common ancestor between ..."
        raise ApiError(404, f"No common ancestor between {base_ref} and {head_ref}.", docs=docs)
    ahead = repo.rev_list(head, exclude=base)
    behind = repo.rev_list(base, exclude=head)
    status = (
        "identical"
        if not ahead and not behind
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    headers: dict[str, str] = {}
    commits = ahead[-COMPARE_COMMITS_CAP:]
    if "page" in call.query or "per_page" in call.query:
        commits, headers = call.page(ahead)
    files = git.diff_trees(repo.commit_obj(merge_base).tree, repo.commit_obj(head).tree)
    api = f"{call.fake.base_url}/repos/{repo.full_name}"
    html = f"https://github.com/{repo.full_name}"
    body = {
        "url": f"{api}/compare/{spec}",
        "html_url": f"{html}/compare/{spec}",
        "permalink_url": f"{html}/compare/{repo.owner.login}:{base[:7]}...{repo.owner.login}:"
        f"{head[:7]}",
        "diff_url": f"{html}/compare/{spec}.diff",
        "patch_url": f"{html}/compare/{spec}.patch",
        "base_commit": call.render.commit(repo, repo.commit_obj(base), files=False),
        "merge_base_commit": call.render.commit(repo, repo.commit_obj(merge_base), files=False),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [call.render.commit(repo, repo.commit_obj(s), files=False) for s in commits],
        "files": [call.render.diff_entry(repo, f, head) for f in files[:COMPARE_FILES_CAP]],
    }
    return Reply(200, body, headers)


# ================================================================== tags, refs and releases

RELEASE_DOCS = f"{DOCS}/releases/releases"
ASSET_DOCS = f"{DOCS}/releases/assets"
OCTET_STREAM = "application/octet-stream"


def _version_key(name: str) -> list[tuple[int, int | str]]:
    """Digits compare as numbers (``v1.10`` after ``v1.9``)."""
    return [
        (1, int(part)) if part.isdigit() else (0, part) for part in re.findall(r"\d+|\D+", name)
    ]


@route("GET", "/repos/{owner}/{repo}/tags", permission=("contents", "read"))
def list_tags(call: Call) -> Reply:
    """The repository's tags. GitHub documents no order; it lists newer versions first, which the
    fake imitates with a descending sort that reads digits as numbers."""
    names = sorted(call.r.tags, key=_version_key, reverse=True)
    chunk, headers = call.page(names)
    return Reply(200, [call.render.tag(call.r, n) for n in chunk], headers)


def _refs(repo: Repository) -> list[tuple[str, str]]:
    """Every ref as ``(refs/..., sha)``, sorted by name as git lists them."""
    refs = [(f"refs/heads/{b}", sha) for b, sha in repo.branches.items()]
    refs += [(f"refs/tags/{t}", sha) for t, sha in repo.tags.items()]
    return sorted(refs)


@route("GET", "/repos/{owner}/{repo}/git/ref/{ref}", permission=("contents", "read"))
def get_git_ref(call: Call) -> Reply:
    """One ref; the docs: "The :ref in the URL must be formatted as heads/<branch name> for
    branches and tags/<tag name> for tags. If the :ref doesn't match an existing ref, a 404 is
    returned." """
    wanted = "refs/" + call.params["ref"]
    for ref, sha in _refs(call.r):
        if ref == wanted:
            return Reply(200, call.render.git_ref(call.r, ref, sha))
    raise not_found(f"{DOCS}/git/refs#get-a-reference")


@route("GET", "/repos/{owner}/{repo}/git/matching-refs/", permission=("contents", "read"))
def list_all_refs(call: Call) -> Reply:
    """Without a ``ref`` every ref is listed."""
    return Reply(200, [call.render.git_ref(call.r, ref, sha) for ref, sha in _refs(call.r)])


@route("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}", permission=("contents", "read"))
def list_matching_refs(call: Call) -> Reply:
    """Refs whose name starts with ``refs/<ref>`` (``tags/v1`` matches ``refs/tags/v1.0`` and
    ``refs/tags/v1``); an empty list when none does."""
    prefix = "refs/" + call.params["ref"]
    found = [(ref, sha) for ref, sha in _refs(call.r) if ref.startswith(prefix)]
    return Reply(200, [call.render.git_ref(call.r, ref, sha) for ref, sha in found])


def _sees_drafts(call: Call) -> bool:
    """The docs: "Information about published releases are available to everyone. Only users
    with push access will receive listings for draft releases." For an app: ``contents: write``
    on a repository its token covers."""
    token = call.token
    if token is None:
        return True
    return token.covers(call.r) and token.permissions.get("contents") in ("write", "admin")


def _visible_releases(call: Call) -> list[Release]:
    drafts = _sees_drafts(call)
    return [r for r in call.r.releases if drafts or not r.draft]


@route("GET", "/repos/{owner}/{repo}/releases", permission=("contents", "read"))
def list_releases(call: Call) -> Reply:
    """Releases newest first (by ``created_at``, then by creation); drafts only for those with
    push access."""
    found = sorted(_visible_releases(call), key=lambda r: (r.created_at, r.id), reverse=True)
    chunk, headers = call.page(found)
    return Reply(200, [call.render.release(r) for r in chunk], headers)


@route("GET", "/repos/{owner}/{repo}/releases/latest", permission=("contents", "read"))
def get_latest_release(call: Call) -> Reply:
    release = call.r.latest_release()
    if release is None:
        raise not_found(f"{RELEASE_DOCS}#get-the-latest-release")
    return Reply(200, call.render.release(release))


@route("GET", "/repos/{owner}/{repo}/releases/tags/{tag}", permission=("contents", "read"))
def get_release_by_tag(call: Call) -> Reply:
    """The docs: "Get a published release with the specified tag" (a draft is not found)."""
    release = call.r.release_by_tag(call.params["tag"])
    if release is None or release.draft:
        raise not_found(f"{RELEASE_DOCS}#get-a-release-by-tag-name")
    return Reply(200, call.render.release(release))


def _asset(call: Call) -> ReleaseAsset:
    asset = call.fake.world.release_asset(call.int_param("asset_id"))
    if asset is None or asset.release.repo is not call.r:
        raise not_found(f"{ASSET_DOCS}#get-a-release-asset")
    if asset.release.draft and not _sees_drafts(call):
        raise not_found(f"{ASSET_DOCS}#get-a-release-asset")
    return asset


def _wants_octet_stream(call: Call) -> bool:
    accept = call.headers.get("Accept", "")
    return any(part.split(";")[0].strip() == OCTET_STREAM for part in accept.split(","))


@route("GET", "/repos/{owner}/{repo}/releases/assets/{asset_id}", permission=("contents", "read"))
def get_release_asset(call: Call) -> Reply:
    """The asset's JSON; with ``Accept: application/octet-stream`` its bytes. The docs: "The API
    will either redirect the client to the location, or stream it directly if possible. API
    clients should handle both a 200 or 302 response." The fake redirects (302) to a short-lived
    signed URL on its storage origin, as GitHub does, unless ``fake.asset_downloads`` is
    ``"stream"``, when it answers 200 with the bytes."""
    asset = _asset(call)
    if not _wants_octet_stream(call):
        return Reply(200, call.render.release_asset(asset))
    if call.fake.asset_downloads == "stream":
        asset.download_count += 1
        return Reply(
            200,
            raw=memoryview(asset.content),
            headers={
                "Content-Type": OCTET_STREAM,
                "Content-Disposition": f"attachment; filename={asset.name}",
            },
        )
    return Reply(302, headers={"Location": call.fake.signed_asset_url(asset)})


@route("GET", "/repos/{owner}/{repo}/releases/{release_id}/assets", permission=("contents", "read"))
def list_release_assets(call: Call) -> Reply:
    release = _release(call)
    chunk, headers = call.page(release.assets)
    return Reply(200, [call.render.release_asset(a) for a in chunk], headers)


def _release(call: Call) -> Release:
    release = call.r.release_by_id(call.int_param("release_id"))
    if release is None or (release.draft and not _sees_drafts(call)):
        raise not_found(f"{RELEASE_DOCS}#get-a-release")
    return release


@route("GET", "/repos/{owner}/{repo}/releases/{release_id}", permission=("contents", "read"))
def get_release(call: Call) -> Reply:
    return Reply(200, call.render.release(_release(call)))


# ========================================================================= repository activity

ACTIVITY_DOCS = f"{DOCS}/repos/repos#list-repository-activities"
ACTIVITY_TYPES = (
    "push",
    "force_push",
    "branch_creation",
    "branch_deletion",
    "pr_merge",
    "merge_queue_merge",
)
TIME_PERIODS = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "quarter": timedelta(days=90),
    "year": timedelta(days=365),
}
"""GitHub documents ``day`` as the past 24 hours and ``week`` as the past 7 days; the fake takes a
month, a quarter and a year as 30, 90 and 365 days."""


def _activity_cursor(ident: int) -> str:
    return base64.b64encode(f"cursor:activity:{ident}".encode()).decode()


def _activity_position(cursor: str, ids: Sequence[int]) -> int:
    try:
        ident = int(base64.b64decode(cursor.encode()).decode().removeprefix("cursor:activity:"))
    except ValueError:
        raise invalid(f"`{cursor}` is not a valid cursor", ACTIVITY_DOCS) from None
    if ident not in ids:
        raise invalid(f"`{cursor}` is not a valid cursor", ACTIVITY_DOCS)
    return ids.index(ident)


@route("GET", "/repos/{owner}/{repo}/activity", permission=("metadata", "read"))
def list_activities(call: Call) -> Reply:
    """The repository's pushes, force pushes, branch creations and deletions and merges, newest
    first (``direction=asc``: oldest first), filtered by ``ref`` (``refs/heads/x`` or ``x``),
    ``actor``, ``time_period`` and ``activity_type``, and paginated by cursor: the ``Link``
    header's ``next`` carries ``after=<cursor>`` and ``prev`` carries ``before=<cursor>``."""
    query = call.query
    direction = query.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise invalid(f'"{direction}" is not a valid direction', ACTIVITY_DOCS)
    kind = query.get("activity_type")
    if kind is not None and kind not in ACTIVITY_TYPES:
        raise invalid(f'"{kind}" is not a valid activity_type', ACTIVITY_DOCS)
    period = query.get("time_period")
    if period is not None and period not in TIME_PERIODS:
        raise invalid(f'"{period}" is not a valid time_period', ACTIVITY_DOCS)
    try:
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
    except ValueError:
        per_page = 30
    pushes = list(call.r.pushes)
    if ref := query.get("ref"):
        wanted = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
        pushes = [p for p in pushes if p.ref == wanted]
    if actor := query.get("actor"):
        pushes = [p for p in pushes if p.pusher.login.lower() == actor.lower()]
    if period is not None:
        oldest = call.fake.world.now() - TIME_PERIODS[period]
        pushes = [p for p in pushes if p.pushed_at is not None and p.pushed_at >= oldest]
    if kind is not None:
        pushes = [p for p in pushes if activity_type(p) == kind]
    if direction == "desc":
        pushes.reverse()
    ids = [p.id for p in pushes]
    start, end = 0, len(pushes)
    if after := query.get("after"):
        start = _activity_position(after, ids) + 1
    if before := query.get("before"):
        end = _activity_position(before, ids)
        start = max(start, end - per_page)
    chunk = pushes[start : min(end, start + per_page)]
    links: list[str] = []

    def link(name: str, cursor: str) -> str:
        pairs = [(k, v) for k, v in query.items() if k not in ("after", "before")]
        pairs.append((name, cursor))
        return f"<{call.fake.base_url}{call.link_path()}?{urlencode(pairs)}>"

    if chunk and start + len(chunk) < len(pushes):
        links.append(f'{link("after", _activity_cursor(chunk[-1].id))}; rel="next"')
    if chunk and start > 0:
        links.append(f'{link("before", _activity_cursor(chunk[0].id))}; rel="prev"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Reply(200, [call.render.activity(p) for p in chunk], headers)


# ===================================================================================== checks

CHECK_DOCS = f"{DOCS}/checks/runs"
OUTPUT_LIMIT = 65535


def _enum(field_: str, value: Any, allowed: Sequence[str], docs: str) -> None:
    if value not in allowed:
        shown = json.dumps(value) if value is not None else "nil"
        members = ", ".join(json.dumps(a) for a in allowed)
        raise invalid(f"For 'properties/{field_}', {shown} is not a member of [{members}].", docs)


def _max_chars(value: Any, limit: int, docs: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        raise invalid(f"Only {limit} characters are allowed; {len(value)} were supplied.", docs)


def _check_run_input(body: dict[str, Any], *, create: bool, docs: str) -> dict[str, Any]:
    """Validate a create/update body as GitHub does; returns the normalized fields."""
    if create:
        for required in ("name", "head_sha"):
            if not isinstance(body.get(required), str) or not body.get(required):
                if required in body and body[required] is not None:
                    raise invalid(
                        f"For 'properties/{required}', {json.dumps(body[required])} "
                        "is not a string.",
                        docs,
                    )
                raise invalid(f'"{required}" wasn\'t supplied.', docs)
    status = body.get("status")
    conclusion = body.get("conclusion")
    if "status" in body:
        _enum("status", status, CHECK_STATUSES, docs)
    if "conclusion" in body and conclusion is not None:
        _enum("conclusion", conclusion, CHECK_CONCLUSIONS, docs)
    if conclusion is not None:
        status = "completed"
    elif status == "completed" or body.get("completed_at"):
        raise invalid('"conclusion" wasn\'t supplied.', docs)
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict):
            raise invalid(f"For 'properties/output', {json.dumps(output)} is not an object.", docs)
        if create or "title" not in output:
            for required in ("title", "summary"):
                if not isinstance(output.get(required), str):
                    raise invalid(f'"{required}" wasn\'t supplied.', docs)
        for key in ("summary", "text"):
            value = output.get(key)
            _max_chars(value, OUTPUT_LIMIT, docs)
            if isinstance(value, str) and len(value.encode()) > OUTPUT_LIMIT:
                raise validation_failed(
                    "CheckRun", key, "custom", f"{key} exceeds a maximum bytesize of 65535", docs
                )
        annotations = output.get("annotations") or []
        if len(annotations) > 50:
            raise invalid(
                f"No more than 50 items are allowed; {len(annotations)} were supplied.", docs
            )
    actions = body.get("actions")
    if actions is not None:
        if not isinstance(actions, list):
            raise invalid(f"For 'properties/actions', {json.dumps(actions)} is not an array.", docs)
        if len(actions) > 3:
            raise invalid(f"No more than 3 items are allowed; {len(actions)} were supplied.", docs)
        for action in actions:
            for key, limit in (("label", 20), ("description", 40), ("identifier", 20)):
                if not isinstance(action, dict) or not isinstance(action.get(key), str):
                    raise invalid(f'"{key}" wasn\'t supplied.', docs)
                _max_chars(action[key], limit, docs)
    return {"status": status, "conclusion": conclusion, "output": output, "actions": actions}


def _apply_check_run(
    call: Call, run: CheckRun, body: dict[str, Any], fields: dict[str, Any]
) -> None:
    now = call.fake.world.now()
    if "name" in body:
        run.name = body["name"]
    if "details_url" in body:
        run.details_url = body["details_url"]
    if "external_id" in body:
        run.external_id = body["external_id"]
    if fields["status"] is not None:
        run.status = fields["status"]
    if fields["conclusion"] is not None:
        run.conclusion = fields["conclusion"]
        run.completed_at = now
    elif run.status != "completed":
        run.conclusion, run.completed_at = None, None
    if body.get("started_at"):
        run.started_at = now
    output = fields["output"]
    if output is not None:
        run.title = output.get("title", run.title)
        run.summary = output.get("summary", run.summary)
        run.text = output.get("text", run.text)
        run.annotations.extend(output.get("annotations") or [])
    if fields["actions"] is not None:
        run.actions = [dict(a) for a in fields["actions"]]
    run.suite.updated_at = now


@route("POST", "/repos/{owner}/{repo}/check-runs", permission=("checks", "write"))
def create_check_run(call: Call) -> Reply:
    docs = f"{CHECK_DOCS}#create-a-check-run"
    body = call.json_object()
    fields = _check_run_input(body, create=True, docs=docs)
    head_sha = body["head_sha"]
    if head_sha not in call.r.objects:
        raise ApiError(422, f"No commit found for SHA: {head_sha}", docs=docs)
    run = call.r.add_check_run(
        head_sha,
        body["name"],
        app=call.app,
        status=fields["status"] or "queued",
        conclusion=None,
    )
    _apply_check_run(call, run, body, fields)
    return Reply(201, call.render.check_run(run))


def _check_run(call: Call) -> CheckRun:
    run = call.r.check_runs.get(call.int_param("check_run_id"))
    if run is None:
        raise not_found(f"{CHECK_DOCS}#get-a-check-run")
    return run


@route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", permission=("checks", "write"))
def update_check_run(call: Call) -> Reply:
    docs = f"{CHECK_DOCS}#update-a-check-run"
    run = _check_run(call)
    if run.app is not call.app:
        raise ApiError(
            403,
            f"Invalid app_id `{call.app.id}` - check run can only be modified by its app",
            docs=docs,
        )
    body = call.json_object()
    fields = _check_run_input(body, create=False, docs=docs)
    _apply_check_run(call, run, body, fields)
    return Reply(200, call.render.check_run(run))


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", permission=("checks", "read"))
def get_check_run(call: Call) -> Reply:
    return Reply(200, call.render.check_run(_check_run(call)))


# ===================================================================================== issues

ISSUE_DOCS = f"{DOCS}/issues/issues"


def _issue(call: Call) -> Issue:
    issue = call.r.issue(call.int_param("issue_number"))
    if issue is None:
        raise not_found(f"{ISSUE_DOCS}#get-an-issue")
    return issue


def _check_title(title: Any, docs: str, *, required: bool) -> None:
    if title is None:
        if required:
            raise invalid('"title" wasn\'t supplied.', docs)
        return
    if not isinstance(title, str | int):
        raise invalid(
            f"For 'properties/title', {json.dumps(title)} is not a string or integer.", docs
        )
    if len(str(title)) > 256:
        raise validation_failed(
            "Issue", "title", "custom", "title is too long (maximum is 256 characters)", docs
        )


def _check_label_names(names: Any, docs: str) -> list[str]:
    if isinstance(names, dict):
        names = names.get("labels")
    if not isinstance(names, list):
        raise invalid(f"For 'properties/labels', {json.dumps(names)} is not an array.", docs)
    out = []
    for item in names:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise validation_failed("Label", "name", "missing_field", docs=docs)
        if len(name) > 50:
            raise validation_failed(
                "Label", "name", "custom", "name is too long (maximum is 50 characters)", docs
            )
        out.append(name)
    return out


@route("GET", "/repos/{owner}/{repo}/issues", permission=("issues", "read"))
def list_issues(call: Call) -> Reply:
    state = call.query.get("state", "open")
    issues = list(call.r.issues.values())
    if state != "all":
        issues = [i for i in issues if i.state == state]
    if labels := call.query.get("labels"):
        wanted = {n.strip().lower() for n in labels.split(",") if n.strip()}
        issues = [i for i in issues if wanted <= {lb.name.lower() for lb in i.labels}]
    if creator := call.query.get("creator"):
        issues = [i for i in issues if i.user.login.lower() == creator.lower()]
    sort = call.query.get("sort", "created")
    key: Callable[[Issue], Any] = {
        "updated": lambda i: (i.updated_at, i.number),
        "comments": lambda i: (len(i.comments), i.number),
    }.get(sort, lambda i: (i.created_at, i.number))
    issues.sort(key=key, reverse=call.query.get("direction", "desc") != "asc")
    chunk, headers = call.page(issues)
    return Reply(200, [call.render.issue(i) for i in chunk], headers)


@route("POST", "/repos/{owner}/{repo}/issues", permission=("issues", "write"))
def create_issue(call: Call) -> Reply:
    docs = f"{ISSUE_DOCS}#create-an-issue"
    body = call.json_object()
    _check_title(body.get("title"), docs, required=True)
    labels = _check_label_names(body.get("labels", []), docs)
    issue = call.r.create_issue(
        str(body["title"]),
        author=call.app.bot,
        body=body.get("body"),
        labels=labels,
        app=call.app,
    )
    return Reply(201, call.render.issue(issue))


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", permission=("issues", "read"))
def get_issue_comment(call: Call) -> Reply:
    return Reply(200, call.render.comment(_comment(call)))


def _comment(call: Call) -> Any:
    comment = call.r.comments.get(call.int_param("comment_id"))
    if comment is None or comment.deleted:
        raise not_found(f"{DOCS}/issues/comments#get-an-issue-comment")
    return comment


@route(
    "PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", permission=("issues", "write")
)
def update_issue_comment(call: Call) -> Reply:
    docs = f"{DOCS}/issues/comments#update-an-issue-comment"
    comment = _comment(call)
    body = call.json_object()
    if not isinstance(body.get("body"), str):
        raise invalid('"body" wasn\'t supplied.', docs)
    if comment.user is not call.app.bot:
        raise ApiError(403, "Resource not accessible by integration", docs=docs)
    comment.edit(body["body"])
    return Reply(200, call.render.comment(comment))


@route(
    "POST",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    permission=("issues", "write"),
)
def create_reaction(call: Call) -> Reply:
    docs = f"{DOCS}/reactions/reactions#create-reaction-for-an-issue-comment"
    comment = _comment(call)
    content = call.json_object().get("content")
    _enum("content", content, REACTIONS, docs)
    reaction, new = comment.react(call.app.bot, content)
    return Reply(201 if new else 200, call.render.reaction(reaction))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", permission=("issues", "read"))
def list_issue_comments(call: Call) -> Reply:
    issue = _issue(call)
    chunk, headers = call.page(issue.comments)
    return Reply(200, [call.render.comment(c) for c in chunk], headers)


@route(
    "POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", permission=("issues", "write")
)
def create_issue_comment(call: Call) -> Reply:
    docs = f"{DOCS}/issues/comments#create-an-issue-comment"
    issue = _issue(call)
    body = call.json_object()
    text = body.get("body")
    if "body" not in body:
        raise invalid('"body" wasn\'t supplied.', docs)
    if not isinstance(text, str):
        raise invalid(
            f"For 'properties/body', {json.dumps(text) if text is not None else 'nil'} "
            "is not a string.",
            docs,
        )
    if not text:
        raise validation_failed("IssueComment", "body", "missing_field", docs=docs)
    if len(text) > 65536:
        raise validation_failed(
            "IssueComment", "body", "custom", "body is too long (maximum is 65536 characters)", docs
        )
    comment = issue.comment(call.app.bot, text, app=call.app)
    return Reply(201, call.render.comment(comment))


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", permission=("issues", "write"))
def add_issue_labels(call: Call) -> Reply:
    docs = f"{DOCS}/issues/labels#add-labels-to-an-issue"
    issue = _issue(call)
    names = _check_label_names(call.body if call.body is not None else [], docs)
    issue.add_labels(*names)
    return Reply(200, [call.render.label(call.r, lb) for lb in issue.labels])


@route(
    "DELETE",
    "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
    permission=("issues", "write"),
)
def remove_issue_label(call: Call) -> Reply:
    docs = f"{DOCS}/issues/labels#remove-a-label-from-an-issue"
    issue = _issue(call)
    if not issue.remove_label(call.params["name"]):
        raise ApiError(404, "Label does not exist", docs=docs)
    return Reply(200, [call.render.label(call.r, lb) for lb in issue.labels])


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}", permission=("issues", "read"))
def get_issue(call: Call) -> Reply:
    return Reply(200, call.render.issue(_issue(call)))


@route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", permission=("issues", "write"))
def update_issue(call: Call) -> Reply:
    docs = f"{ISSUE_DOCS}#update-an-issue"
    issue = _issue(call)
    body = call.json_object()
    _check_title(body.get("title"), docs, required=False)
    if "state" in body:
        _enum("state", body["state"], ("open", "closed"), docs)
    labels = _check_label_names(body["labels"], docs) if "labels" in body else None
    if body.get("title") is not None:
        issue.title = str(body["title"])
    if "body" in body:
        issue.edit_body(body["body"], call.app.bot)
    if body.get("state") == "closed" and issue.state == "open":
        issue.close(call.app.bot, body.get("state_reason") or "completed")
    elif body.get("state") == "open" and issue.state == "closed":
        issue.reopen()
    if labels is not None:
        issue.labels.clear()
        issue.add_labels(*labels)
    issue.updated_at = call.fake.world.now()
    return Reply(200, call.render.issue(issue))


# ===================================================================================== labels

LABEL_DOCS = f"{DOCS}/issues/labels"


@route("GET", "/repos/{owner}/{repo}/labels", permission=("issues", "read"))
def list_labels(call: Call) -> Reply:
    labels = sorted(call.r.labels.values(), key=lambda lb: lb.name.lower())
    chunk, headers = call.page(labels)
    return Reply(200, [call.render.label(call.r, lb) for lb in chunk], headers)


@route("POST", "/repos/{owner}/{repo}/labels", permission=("issues", "write"))
def create_label(call: Call) -> Reply:
    docs = f"{LABEL_DOCS}#create-a-label"
    body = call.json_object()
    name = body.get("name")
    if name is None:
        raise invalid('"name" wasn\'t supplied.', docs)
    _check_label_names([name], docs)
    color = str(body.get("color", "ededed")).removeprefix("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
        raise validation_failed("Label", "color", "invalid", docs=docs)
    if call.r.label(name) is not None:
        raise validation_failed("Label", "name", "already_exists", docs=docs)
    label = call.r.add_label(name, color.lower(), body.get("description"))
    return Reply(201, call.render.label(call.r, label))


@route("GET", "/repos/{owner}/{repo}/labels/{name}", permission=("issues", "read"))
def get_label(call: Call) -> Reply:
    label = call.r.label(call.params["name"])
    if label is None:
        raise not_found(f"{LABEL_DOCS}#get-a-label")
    return Reply(200, call.render.label(call.r, label))


# ============================================================================ people and teams

_PERMISSION_COMPAT = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}


@route(
    "GET",
    "/repos/{owner}/{repo}/collaborators/{username}/permission",
    permission=("metadata", "read"),
)
def get_collaborator_permission(call: Call) -> Reply:
    account = call.fake.world.find_account(call.params["username"])
    if account is None or account.type == "Organization":
        raise not_found(f"{DOCS}/collaborators/collaborators#get-repository-permissions-for-a-user")
    role = call.r.permission_of(account)
    user = call.render.user(account)
    assert user is not None
    level = _PERMISSION_COMPAT[role]
    user["permissions"] = {
        "admin": role == "admin",
        "maintain": role in ("admin", "maintain"),
        "push": role in ("admin", "maintain", "write"),
        "triage": role in ("admin", "maintain", "write", "triage"),
        "pull": role != "none",
    }
    user["role_name"] = role
    return Reply(200, {"permission": level, "role_name": role, "user": user})


COLLABORATOR_DOCS = f"{DOCS}/collaborators/collaborators#list-repository-collaborators"
_ROLE_GRANTS: dict[str, tuple[str, ...]] = {
    "pull": ("read", "triage", "write", "maintain", "admin"),
    "triage": ("triage", "write", "maintain", "admin"),
    "triage_plus": ("triage", "write", "maintain", "admin"),
    "push": ("write", "maintain", "admin"),
    "maintain": ("maintain", "admin"),
    "admin": ("admin",),
}
"""The roles that include each ``permission`` filter value (GitHub's ``permissions`` hash)."""


def _role_permissions(role: str) -> dict[str, bool]:
    return {name: role in roles for name, roles in _ROLE_GRANTS.items() if name != "triage_plus"}


@route("GET", "/repos/{owner}/{repo}/collaborators", permission=("metadata", "read"))
def list_collaborators(call: Call) -> Reply:
    """The users with a role on the repository: those given one explicitly
    (:meth:`Repository.set_permission`, except ``none``) and, for a user-owned repository, its
    owner (``admin``). GitHub also lists organization members with access through teams, the
    organization's base permission and its owners; the fake models none of those, so ``all`` and
    ``direct`` list the same people and ``outside`` lists the explicit collaborators of an
    organization's repository who are in none of its teams (the fake's stand-in for "not an
    organization member"). ``permission`` keeps those whose role includes it (``push``: write,
    maintain and admin; ``triage_plus``, which GitHub's description lists without explaining, is
    taken as ``triage``). Ordered by account id; paginated by ``per_page``/``page``."""
    repo = call.r
    world = call.fake.world
    affiliation = call.query.get("affiliation", "all")
    _enum("affiliation", affiliation, ("outside", "direct", "all"), COLLABORATOR_DOCS)
    wanted = call.query.get("permission")
    if wanted is not None:
        _enum("permission", wanted, tuple(_ROLE_GRANTS), COLLABORATOR_DOCS)
    people: dict[int, tuple[Account, str]] = {}
    if repo.owner.type == "User" and affiliation != "outside":
        people[repo.owner.id] = (repo.owner, "admin")
    for login, role in repo.permissions.items():
        account = world.find_account(login)
        if account is None or account is repo.owner or role == "none":
            continue
        if affiliation == "outside":
            if repo.owner.type == "Organization" and any(
                account in team.members for team in world.teams.values() if team.org is repo.owner
            ):
                continue
        people[account.id] = (account, role)
    found = [people[ident] for ident in sorted(people)]
    if wanted is not None:
        found = [(a, role) for a, role in found if role in _ROLE_GRANTS[wanted]]
    chunk, headers = call.page(found)
    out = []
    for account, role in chunk:
        user = call.render.user(account)
        assert user is not None
        user["permissions"] = _role_permissions(role)
        user["role_name"] = role
        out.append(user)
    return Reply(200, out, headers)


def _team(call: Call) -> Any:
    team = call.fake.world.team(call.params["org"], call.params["team_slug"])
    if team is None:
        raise not_found(f"{DOCS}/teams/members")
    return team


@route("GET", "/orgs/{org}/teams/{team_slug}/members", permission=("members", "read"))
def list_team_members(call: Call) -> Reply:
    team = _team(call)
    role = call.query.get("role", "all")
    members = team.members
    if role == "maintainer":
        members = [m for m in members if m in team.maintainers]
    elif role == "member":
        members = [m for m in members if m not in team.maintainers]
    chunk, headers = call.page(members)
    return Reply(200, [call.render.user(m) for m in chunk], headers)


@route(
    "GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", permission=("members", "read")
)
def get_team_membership(call: Call) -> Reply:
    team = _team(call)
    account = call.fake.world.find_account(call.params["username"])
    if account is None or account not in team.members:
        raise not_found(f"{DOCS}/teams/members#get-team-membership-for-a-user")
    return Reply(200, call.render.team_membership(team, account))


# ============================================================== downloads (not the REST API)
# These answer on the web and storage origins GitHub's API points at, without authentication and
# without the API's headers; the server dispatches them before its API pipeline.


def _text(status: int, text: str, content_type: str = "text/plain") -> Reply:
    return Reply(
        status, raw=text.encode(), headers={"Content-Type": f"{content_type}; charset=utf-8"}
    )


@route("GET", "/{owner}/{repo}/releases/download/{tag}/{asset_name}", auth="none")
def browser_download(call: Call) -> Reply:
    """``browser_download_url``: on github.com this redirects (302) a browser to the same signed
    storage URL the API uses. A private repository's assets are not served to anonymous requests
    (GitHub answers 404 there, whatever ``Authorization`` says: API clients use the API URL)."""
    repo = call.repo
    if repo is None or repo.private:
        return _text(404, "Not Found")
    tag = call.params["tag"]
    release = next((r for r in repo.releases if r.url_tag == tag and not r.draft), None)
    asset = release.asset(call.params["asset_name"]) if release else None
    if asset is None:
        return _text(404, "Not Found")
    return Reply(302, headers={"Location": call.fake.signed_asset_url(asset)})


def _storage_error(status: int, code: str, message: str) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Reply(status, raw=body.encode(), headers={"Content-Type": "application/xml"})


def _byte_range(header: str | None, size: int) -> tuple[int, int] | Literal[False] | None:
    """``(first, last)`` for a single ``bytes=`` range, None for the whole file, False when the
    range cannot be satisfied."""
    if not header:
        return None
    found = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if found is None or (not found[1] and not found[2]):
        return None  # a form the fake does not parse: the whole file, as servers may
    if not found[1]:
        length = int(found[2])
        return (max(size - length, 0), size - 1) if length and size else False
    first = int(found[1])
    last = min(int(found[2]), size - 1) if found[2] else size - 1
    if first >= size or last < first:
        return False
    return first, last


@route("GET", "/_downloads/release-assets/{asset_id}", auth="none")
def signed_download(call: Call) -> Reply:
    """The signed, short-lived storage URL the downloads redirect to (GitHub's are on
    objects.githubusercontent.com, pre-signed S3-style). As there, the signature in the query is
    the only credential: a request that also sends ``Authorization`` is refused (400), an expired
    or wrong signature is refused (403). Single ``Range`` requests are honoured (206)."""
    if "Authorization" in call.headers:
        return _storage_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
        )
    try:
        ident = int(call.params["asset_id"])
        expires = int(call.query.get("expires", ""))
    except ValueError:
        return _storage_error(
            403,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and "
            "AWSAccessKeyId parameters",
        )
    token = call.query.get("token", "")
    if not call.fake.download_signature_ok(ident, expires, token):
        return _storage_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    if call.fake.world.now().timestamp() > expires:
        return _storage_error(403, "AccessDenied", "Request has expired")
    asset = call.fake.world.release_asset(ident)
    if asset is None:
        return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
    headers = {
        "Content-Type": asset.content_type,
        "Content-Disposition": f"attachment; filename={asset.name}",
        "Accept-Ranges": "bytes",
        "ETag": f'"{asset.digest.removeprefix("sha256:")[:32]}"',
        "Last-Modified": asset.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    span = _byte_range(call.headers.get("Range"), asset.size)
    if span is False:
        headers = {"Content-Range": f"bytes */{asset.size}", "Content-Type": "application/xml"}
        return Reply(416, raw=b"", headers=headers)
    view = memoryview(asset.content)
    if span is None:
        asset.download_count += 1
        return Reply(200, raw=view, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{asset.size}"
    return Reply(206, raw=view[first : last + 1], headers=headers)
