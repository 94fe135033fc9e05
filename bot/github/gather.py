"""Gathering facts from GitHub: the I/O layer that fills in :mod:`bot.facts`.

Cost matters: a merged pull request is read with one GraphQL query (the pull request, its reviews,
its commits with their authors, the base's ``.gitattributes`` and this App's existing record on
the merge commit) plus the REST file list (GraphQL does not give renames or patches). Policies,
protected branches and team members come from short-lived caches. Blobs are read only for files
GitHub gave no patch for, and only when a rule asks about binary files.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, Literal

from gidgethub import BadRequest, GitHubException

from bot.core.change import ZERO_SHA, ChangeId
from bot.core.facts import Actor, ChangeFacts, CommitFacts, FileFacts, FileStatus, ReviewFacts
from bot.core.gitattributes import is_binary
from bot.core.patches import FilePatch, brings_only
from bot.core.people import is_update_branch_merge
from bot.core.policy import (
    REPO_POLICY_PATH,
    Policy,
    PolicySource,
    is_audited_branch,
    load_policy,
    shipped_default,
    with_default_branch,
)
from bot.core.record import is_landed, parse_record
from bot.github.client import GitHubClient, is_rate_limit, refusal
from bot.services import Services, cached

logger = logging.getLogger(__name__)

CHECK_NAME = "countersign"
"""The name of the check run this App writes (other tools depend on it)."""

PAGE = 100
BINARY_SNIFF_BYTES = 8000
GITHUB_COMMITTER = "web-flow"

COMPARE_FILES_LIMIT = 300
"""GitHub's compare endpoint lists at most 300 files: a listing that long may be cut."""
COMMIT_FILES_PAGE = 300
COMMIT_FILES_LIMIT = 3000
"""One commit's files come 300 a page, at most 3,000 in all; a listing that long may be cut."""
PULL_FILES_LIMIT = 3000
"""A pull request's file list stops at 3,000 files."""

_CO_AUTHOR = re.compile(r"^co-authored-by:\s*(?P<name>.*?)\s*<(?P<email>[^>]+)>\s*$", re.I | re.M)

_CHECK_RUNS = """
      checkSuites(first: 20, filterBy: {appId: $appId}) {
        nodes { checkRuns(first: 10, filterBy: {checkName: "countersign"}) {
          pageInfo { hasNextPage } nodes { databaseId conclusion text externalId } } }
      }"""

_COMMIT_FIELDS = """
        oid message committedDate
        signature { isValid wasSignedByGitHub }
        parents(first: 3) { nodes { oid } }
        author { email user { login } }
        committer { email name user { login } }
        authors(first: 20) { nodes { email user { login } } }"""

PULL_REQUEST_QUERY = (
    """
query PullRequestFacts($owner: String!, $name: String!, $number: Int!, $appId: Int!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name }
    pullRequest(number: $number) {
      number title body url state isDraft merged mergedAt
      labels(first: 20) { nodes { name } }
      author { __typename login }
      mergedBy { __typename login }
      headRefOid baseRefName changedFiles
      files(first: 100) {
        pageInfo { hasNextPage } nodes { path changeType additions deletions } }
      baseRef { target { ... on Commit { attributes: file(path: ".gitattributes") {
        object { ... on Blob { text } } } } } }
      mergeCommit { oid message
        parents(first: 2) { nodes { oid
          policy: file(path: ".github/countersign.yml") { object { ... on Blob { text } } }
          attributes: file(path: ".gitattributes") { object { ... on Blob { text } } } } } """
    + _CHECK_RUNS
    + """ }
      headCommit: commits(last: 1) { nodes { commit { oid """
    + _CHECK_RUNS
    + """ } } }
      reviews(first: 100) {
        pageInfo { hasNextPage endCursor }
        nodes { databaseId state submittedAt authorCanPushToRepository
                author { __typename login } commit { oid } }
      }
      commits(first: 100) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { commit { """
    + _COMMIT_FIELDS
    + """ } }
      }
    }
  }
}
"""
)

MORE_REVIEWS_QUERY = """
query MoreReviews($owner: String!, $name: String!, $number: Int!, $after: String!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviews(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { databaseId state submittedAt authorCanPushToRepository
                author { __typename login } commit { oid } }
      }
    }
  }
}
"""

MORE_COMMITS_QUERY = (
    """
query MoreCommits($owner: String!, $name: String!, $number: Int!, $after: String!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      commits(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { commit { """
    + _COMMIT_FIELDS
    + """ } }
      }
    }
  }
}
"""
)


@dataclass(frozen=True)
class ExistingRecord:
    """This App's check run on a commit, if any, with the record it carries."""

    check_run_id: int | None = None
    record: dict[str, Any] | None = None

    @property
    def landed(self) -> bool:
        """Whether it is the record of the change as it landed (not a pre-merge check's): what
        was true then, which later runs may add sign-offs to but never judge again."""
        return is_landed(self.record)


@dataclass(frozen=True)
class Gathered:
    """Facts plus what publishing needs to stay idempotent."""

    facts: ChangeFacts
    policy: Policy
    existing: ExistingRecord
    default_branch: str
    open: bool = False
    """A pull request that is still open (a push never is)."""


def is_this_app(app: dict[str, Any] | None, app_id: int | str) -> bool:
    """Whether GitHub's ``app`` object (a check run's ``app``, an issue's or comment's
    ``performed_via_github_app``) is this App."""
    return isinstance(app, dict) and str(app.get("id")) == str(app_id)


def written_by_app(item: dict[str, Any], app_id: int | str) -> bool:
    """Whether this App wrote an issue or comment: GitHub names the App that performed it and its
    author is a bot account. countersign's markers count only in text that passes this: anybody
    can type a hidden HTML comment."""
    return (
        is_this_app(item.get("performed_via_github_app"), app_id)
        and (item.get("user") or {}).get("type") == "Bot"
    )


def split_repo(full_name: str) -> tuple[str, str]:
    owner, _, name = full_name.partition("/")
    return owner, name


def co_author_emails(message: str) -> tuple[str, ...]:
    """The e-mail addresses of a commit message's ``Co-authored-by`` trailers.

    >>> co_author_emails("Fix\\n\\nCo-authored-by: Bob <bob@example.com>")
    ('bob@example.com',)
    """
    return tuple(match["email"].strip().lower() for match in _CO_AUTHOR.finditer(message))


def _login(actor: dict[str, Any] | None) -> str | None:
    if not actor:
        return None
    user = actor.get("user") or {}
    login = user.get("login")
    return str(login) if login else None


def _actor(node: dict[str, Any] | None) -> Actor | None:
    if not node or not node.get("login"):
        return None
    return Actor.of(str(node["login"]), node.get("__typename"))


def signed_by_github_graphql(node: dict[str, Any], committer_login: str | None) -> bool:
    """Whether GitHub made this commit: the web-flow committer, with a valid signature made with
    GitHub's own key. A committer name or address is text anyone can write; the signature is not.
    """
    signature = node.get("signature") or {}
    return (
        committer_login == GITHUB_COMMITTER
        and signature.get("isValid") is True
        and signature.get("wasSignedByGitHub") is True
    )


def signed_by_github_rest(item: dict[str, Any]) -> bool:
    """The REST form of :func:`signed_by_github_graphql`: GitHub verified the signature (which
    for the web-flow committer can only be GitHub's own key: nobody else can sign for its
    address)."""
    verification = (item.get("commit") or {}).get("verification") or {}
    return (
        (item.get("committer") or {}).get("login") == GITHUB_COMMITTER
        and verification.get("verified") is True
        and verification.get("reason") == "valid"
    )


def commit_from_graphql(node: dict[str, Any]) -> CommitFacts:
    author_login = _login(node.get("author"))
    committer = node.get("committer") or {}
    committer_login = _login(committer)
    co_authors = tuple(
        login
        for login in (_login(a) for a in (node.get("authors") or {}).get("nodes") or [])
        if login and login != author_login
    )
    return CommitFacts(
        sha=str(node["oid"]),
        message=str(node.get("message") or ""),
        parents=tuple(str(p["oid"]) for p in (node.get("parents") or {}).get("nodes") or []),
        author=author_login,
        committer=committer_login,
        co_authors=co_authors,
        co_author_emails=co_author_emails(str(node.get("message") or "")),
        committed_by_github=signed_by_github_graphql(node, committer_login),
        committed_at=node.get("committedDate"),
    )


def commit_from_rest(item: dict[str, Any]) -> CommitFacts:
    commit = item.get("commit") or {}
    message = str(commit.get("message") or "")
    committer_login = (item.get("committer") or {}).get("login")
    return CommitFacts(
        sha=str(item["sha"]),
        message=message,
        parents=tuple(str(p["sha"]) for p in item.get("parents") or []),
        author=(item.get("author") or {}).get("login"),
        committer=committer_login,
        co_author_emails=co_author_emails(message),
        committed_by_github=signed_by_github_rest(item),
        committed_at=(commit.get("committer") or {}).get("date"),
    )


def file_from_rest(item: dict[str, Any]) -> FileFacts:
    return FileFacts(
        path=str(item["filename"]),
        status=item.get("status", "modified"),
        previous_path=item.get("previous_filename"),
        has_patch="patch" in item and item["patch"] is not None,
        blob_sha=item.get("sha"),
    )


def existing_record(commit: dict[str, Any] | None, key: str) -> ExistingRecord:
    """The newest ``countersign`` check run of this App on a GraphQL commit node that is about
    the change ``key`` (its external id). One commit can be the subject of several changes (a
    force push back to a merge commit, the deletion of a branch at an audited head): each has its
    own check run, and one change never inherits another's record, sign-offs or audit issue."""
    if not commit:
        return ExistingRecord()
    runs = [
        run
        for suite in (commit.get("checkSuites") or {}).get("nodes") or []
        for run in (suite.get("checkRuns") or {}).get("nodes") or []
        if run and run.get("databaseId") is not None and run.get("externalId") == key
    ]
    if not runs:
        return ExistingRecord()
    newest = max(runs, key=lambda run: int(run["databaseId"]))
    return ExistingRecord(int(newest["databaseId"]), parse_record(newest.get("text")))


def more_runs(commit: dict[str, Any]) -> bool:
    """Whether a GraphQL commit node lists only the first of this App's runs on it."""
    return any(
        ((suite or {}).get("checkRuns") or {}).get("pageInfo", {}).get("hasNextPage")
        for suite in (commit.get("checkSuites") or {}).get("nodes") or []
    )


async def find_record(
    gh: GitHubClient, services: Services, repo: str, commit: dict[str, Any] | None, key: str
) -> ExistingRecord:
    """This App's record of ``key`` on a GraphQL commit node; where the node shows only the first
    of more runs (a commit heading many pull requests carries a run for each), the commit's runs
    are read on (:func:`record_on`), so that a record is never missed and written twice."""
    existing = existing_record(commit, key)
    if existing.check_run_id is not None or not commit or not more_runs(commit):
        return existing
    return await record_on(gh, services, repo, str(commit["oid"]), key)


async def record_on(
    gh: GitHubClient, services: Services, repo: str, sha: str, key: str
) -> ExistingRecord:
    """This App's ``countersign`` check run about ``key`` on commit ``sha``, read through every
    page of the commit's runs (REST, 100 a page): for a commit carrying more runs than a GraphQL
    query lists (one commit can head many pull requests, each with its own run)."""
    owner, name = split_repo(repo)
    app_id = services.settings.app_id
    newest: dict[str, Any] | None = None
    async for run in gh.getiter(
        "/repos/{owner}/{name}/commits/{ref}/check-runs?check_name={check}&app_id={app}"
        "&per_page=100",
        {"owner": owner, "name": name, "ref": sha, "check": CHECK_NAME, "app": app_id},
        iterable_key="check_runs",
    ):
        if not is_this_app(run.get("app"), app_id) or run.get("external_id") != key:
            continue  # another App's, or another change's record on the same commit
        if newest is None or int(run["id"]) > int(newest["id"]):
            newest = run
    if newest is None:
        return ExistingRecord()
    return ExistingRecord(int(newest["id"]), parse_record((newest.get("output") or {}).get("text")))


async def _text_file(gh: GitHubClient, repo: str, path: str, ref: str | None) -> str | None:
    owner, name = split_repo(repo)
    url = "/repos/{owner}/{name}/contents/{+path}" + ("{?ref}" if ref else "")
    try:
        answer = await gh.getitem(url, {"owner": owner, "name": name, "path": path, "ref": ref})
    except BadRequest as exc:
        # a rate limit says nothing about the file: never read it as "there is no policy"
        if exc.status_code in (403, 404) and not is_rate_limit(exc):
            return None
        raise
    if not isinstance(answer, dict) or answer.get("type", "file") != "file":
        return None
    return base64.b64decode(answer.get("content", "")).decode("utf-8", errors="replace")


ORG_LAYER = "org-layer"
"""The cache key's second item for an organisation's policy text: ``(owner/.github, ORG_LAYER)``."""


async def _org_policy_text(gh: GitHubClient, services: Services, owner: str) -> str | None:
    """The organisation layer's text (its ``.github`` repository's policy file), cached."""
    org_repo = f"{owner}/.github"

    async def fetch() -> str | None:
        return await _text_file(gh, org_repo, REPO_POLICY_PATH, None)

    return await cached(services.caches.policies, (org_repo, ORG_LAYER), fetch)


def _policy_of(
    repo: str, default_branch: str, org_text: str | None, repo_text: str | None
) -> Policy:
    owner, _ = split_repo(repo)
    policy = load_policy(
        [
            shipped_default(),
            PolicySource(f"{owner}/.github:{REPO_POLICY_PATH}", org_text),
            PolicySource(f"{repo}:{REPO_POLICY_PATH}", repo_text),
        ]
    )
    return with_default_branch(policy, default_branch)


async def policy_for(
    gh: GitHubClient,
    services: Services,
    repo: str,
    default_branch: str,
    at: str | None = None,
    *,
    repo_text: str | Literal[False] | None = False,
) -> Policy:
    """The policy that judges ``repo``: its own file on the default branch, over the organisation's
    ``.github`` repository's, over the shipped default. Cached for a few minutes.

    A change that landed on the default branch is judged by the policy as it stood at the commit
    it landed on (its base), never by itself nor by a later one: ``repo_text`` is the policy file's
    text read there (None where it had none), usually in the change's own query; ``at`` names
    that commit when the text must be read here (not cached).
    """
    owner, _ = split_repo(repo)

    async def build(text: str | Literal[False] | None) -> Policy:
        org_text = None
        if repo != f"{owner}/.github":
            org_text = await _org_policy_text(gh, services, owner)
        if text is False:
            text = await _text_file(gh, repo, REPO_POLICY_PATH, at or default_branch)
        return _policy_of(repo, default_branch, org_text, text)

    if at is None and repo_text is False:
        return await cached(services.caches.policies, repo, partial(build, False))
    return await build(repo_text)


def touches_policy(files: Iterable[FileFacts]) -> bool:
    """Whether a change edits the repository's own policy file."""
    return any(REPO_POLICY_PATH in (f.path, f.previous_path) for f in files)


def forget_policy(services: Services, repo: str) -> None:
    """Drop cached policies after a push that changed one (the organisation's affects them all)."""
    owner, name = split_repo(repo)
    if name == ".github":
        services.caches.forget_policies_of_owner(owner)
    services.caches.policies.pop(repo, None)


async def protected_branches(gh: GitHubClient, services: Services, repo: str) -> frozenset[str]:
    owner, name = split_repo(repo)

    async def fetch() -> frozenset[str]:
        return frozenset(
            [
                str(branch["name"])
                async for branch in gh.getiter(
                    "/repos/{owner}/{name}/branches?protected=true&per_page=100",
                    {"owner": owner, "name": name},
                )
            ]
        )

    return await cached(services.caches.branches, repo, fetch)


PROTECTION_RULES_QUERY = """
query ProtectionRules($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    branchProtectionRules(first: 100) { nodes { pattern } }
  }
}
"""


async def protection_patterns(gh: GitHubClient, services: Services, repo: str) -> tuple[str, ...]:
    """The branch protection rules' patterns, cached as the protected branches are: what tells
    whether a branch that was just deleted had been protected (GitHub no longer lists it), or
    whether one just created is (the cached list of protected branches does not name it yet)."""
    owner, name = split_repo(repo)

    async def fetch() -> tuple[str, ...]:
        try:
            data = await gh.query(PROTECTION_RULES_QUERY, owner=owner, name=name)
        except GitHubException as exc:
            refused = refusal(exc)
            if refused is None or is_rate_limit(exc):
                raise
            # an installation without Administration: read cannot see the rules: the protected
            # branches GitHub lists still count, and the warning says what to grant
            logger.warning(
                "branch protection rules not readable: grant Administration: read",
                extra=refused.fields(),
            )
            return ()
        rules = (data.get("repository") or {}).get("branchProtectionRules") or {}
        return tuple(str(n["pattern"]) for n in rules.get("nodes") or [] if n and n.get("pattern"))

    return await cached(services.caches.branches, (repo, "protection-patterns"), fetch)


async def team_members(
    gh: GitHubClient, services: Services, org: str, slugs: Iterable[str]
) -> dict[str, frozenset[str]]:
    async def fetch(slug: str) -> frozenset[str]:
        try:
            return frozenset(
                [
                    str(user["login"])
                    async for user in gh.getiter(
                        "/orgs/{org}/teams/{slug}/members?per_page=100",
                        {"org": org, "slug": slug},
                    )
                ]
            )
        except BadRequest as exc:
            if exc.status_code not in (403, 404):
                raise
            logger.warning("team not readable", extra={"team": f"{org}/{slug}"})
            return frozenset()

    return {
        slug: await cached(services.caches.teams, (org, slug), partial(fetch, slug))
        for slug in sorted(set(slugs))
    }


async def pull_request_files(
    gh: GitHubClient, services: Services, repo: str, number: int, head_sha: str
) -> tuple[FileFacts, ...]:
    """The files of a pull request (REST: GraphQL gives neither renames nor patches), cached by
    head commit. GitHub lists at most 3,000 files, 100 a page."""
    owner, name = split_repo(repo)

    async def fetch() -> tuple[FileFacts, ...]:
        return tuple(
            [
                file_from_rest(item)
                async for item in gh.getiter(
                    "/repos/{owner}/{name}/pulls/{number}/files?per_page=100",
                    {"owner": owner, "name": name, "number": number},
                )
            ]
        )

    return await cached(services.caches.files, (repo, number, head_sha), fetch)


_CHANGE_STATUS: dict[str, FileStatus] = {
    "ADDED": "added",
    "DELETED": "removed",
    "MODIFIED": "modified",
    "CHANGED": "changed",
}


def _graphql_files(pull: dict[str, Any]) -> tuple[FileFacts, ...] | None:
    """A pull request's files as its own query listed them, where that is enough: all of them
    on one page, none renamed or copied (GraphQL does not give the old path), and none that
    changed no line (a binary file, whose blob only the REST list names). None otherwise."""
    page = pull.get("files") or {}
    if (page.get("pageInfo") or {}).get("hasNextPage"):
        return None
    files = []
    for node in page.get("nodes") or []:
        status = _CHANGE_STATUS.get(str(node.get("changeType")))
        lines = int(node.get("additions") or 0) + int(node.get("deletions") or 0)
        if status is None or (lines == 0 and status != "removed"):
            return None
        files.append(FileFacts(path=str(node["path"]), status=status, has_patch=True))
    if len(files) != int(pull.get("changedFiles") or 0):
        return None
    return tuple(files)


async def _pull_request_files(
    gh: GitHubClient, services: Services, repo: str, pull: dict[str, Any]
) -> tuple[FileFacts, ...]:
    """The pull request's files: from its own query where they are all there (no request),
    else from the REST list; cached by head commit either way."""
    key = (repo, int(pull["number"]), str(pull["headRefOid"]))
    known = services.caches.files.get(key)
    if known is not None:
        return known  # type: ignore[no-any-return]
    listed = _graphql_files(pull)
    if listed is None:
        return await pull_request_files(gh, services, repo, key[1], key[2])
    services.caches.files[key] = listed
    return listed


async def sniff_binaries(
    gh: GitHubClient,
    services: Services,
    repo: str,
    files: Sequence[FileFacts],
    gitattributes: str | None,
    policy: Policy,
) -> tuple[FileFacts, ...]:
    """Read the blob of each file GitHub gave no patch for, where a rule asks about binaries and
    ``.gitattributes`` has not already said so (git's rule: a NUL byte in the first 8,000 bytes)."""
    if not any(rule.binary for rule in (policy.review, *policy.rules)):
        return tuple(files)
    owner, name = split_repo(repo)

    async def has_nul(sha: str | None) -> bool:
        blob = await gh.getitem(
            "/repos/{owner}/{name}/git/blobs/{sha}", {"owner": owner, "name": name, "sha": sha}
        )
        raw = str(blob.get("content", ""))
        content = base64.b64decode(raw) if blob.get("encoding") == "base64" else raw.encode()
        return b"\0" in content[:BINARY_SNIFF_BYTES]

    sniffed = []
    for file in files:
        if (
            file.has_patch
            or file.status == "removed"
            or file.blob_sha in (None, ZERO_SHA)
            or is_binary(file, gitattributes)
        ):
            sniffed.append(file)
            continue
        binary = await cached(services.caches.blobs, file.blob_sha, partial(has_nul, file.blob_sha))
        sniffed.append(replace(file, content_is_binary=binary))
    return tuple(sniffed)


def _teams_of(policy: Policy) -> set[str]:
    return {team for rule in (policy.review, *policy.rules) for team in rule.teams}


def _before(timestamp: str | None, limit: str | None) -> bool:
    if timestamp is None or limit is None:
        return True
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")) <= datetime.fromisoformat(
        limit.replace("Z", "+00:00")
    )


def _signoffs(record: dict[str, Any] | None) -> tuple[Actor, ...]:
    if not record:
        return ()
    return tuple(
        Actor(str(entry["login"]))
        for entry in record.get("signoffs") or []
        if isinstance(entry, dict) and entry.get("login")
    )


async def _all_nodes(
    gh: GitHubClient,
    query: str,
    connection: str,
    pull: dict[str, Any],
    variables: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every node of one of a pull request's connections: the first page came with the main
    query; the rest are read a page (100) at a time, never truncated."""
    page = pull[connection]
    nodes = list(page["nodes"] or [])
    while page["pageInfo"]["hasNextPage"]:
        more = await gh.query(query, after=page["pageInfo"]["endCursor"], **variables)
        page = more["repository"]["pullRequest"][connection]
        nodes.extend(page["nodes"] or [])
    return nodes


def _blob_text(entry: dict[str, Any] | None) -> str | None:
    """The text of a ``Commit.file(path:)`` entry's blob, or None where there is no such file."""
    return ((entry or {}).get("object") or {}).get("text")


async def gather_pull_request(
    gh: GitHubClient, services: Services, repo: str, number: int
) -> Gathered:
    """Facts about pull request ``number``, named by nothing but its number; for a merged one, as
    they stood when it merged (its ``.gitattributes`` and policy as at the merge commit's first
    parent)."""
    owner, name = split_repo(repo)
    data = await gh.query(
        PULL_REQUEST_QUERY,
        owner=owner,
        name=name,
        number=number,
        appId=int(services.settings.app_id),
    )
    repository = data["repository"]
    pull = repository["pullRequest"]
    default_branch = str(
        (repository.get("defaultBranchRef") or {}).get("name") or pull["baseRefName"]
    )
    variables = {"owner": owner, "name": name, "number": number}
    review_nodes = await _all_nodes(gh, MORE_REVIEWS_QUERY, "reviews", pull, variables)
    commit_nodes = await _all_nodes(gh, MORE_COMMITS_QUERY, "commits", pull, variables)

    merged = bool(pull.get("merged"))
    merged_at = pull.get("mergedAt")
    reviews = tuple(
        ReviewFacts(
            id=int(node["databaseId"]),
            reviewer=_actor(node.get("author")) or Actor("ghost"),
            state=node["state"],
            commit_sha=(node.get("commit") or {}).get("oid"),
            submitted_at=node.get("submittedAt"),
            author_can_push=node.get("authorCanPushToRepository") is True,
        )
        for node in review_nodes
        if node
        and node.get("state") != "PENDING"
        # the record of a merged pull request is what was true when it merged
        and (not merged or _before(node.get("submittedAt"), merged_at))
    )
    merge_parents = ((pull.get("mergeCommit") or {}).get("parents") or {}).get("nodes") or []
    if merged and merge_parents:
        attributes = _blob_text((merge_parents[0] or {}).get("attributes"))
    else:
        base_commit = ((pull.get("baseRef") or {}).get("target")) or {}
        attributes = _blob_text(base_commit.get("attributes"))
    files = await _pull_request_files(gh, services, repo, pull)
    commits = await _checked_merges(
        gh,
        services,
        repo,
        str(pull["baseRefName"]),
        tuple(commit_from_graphql(node["commit"]) for node in commit_nodes if node),
    )
    if merged:
        _remember_landing(services, repo, pull, commits)
    if merged and pull["baseRefName"] == default_branch:
        policy = await _policy_before_merge(
            gh, services, repo, default_branch, pull, commits, files
        )
    else:
        policy = await policy_for(gh, services, repo, default_branch)
    files = await sniff_binaries(gh, services, repo, files, attributes, policy)
    teams = await team_members(gh, services, owner, _teams_of(policy))
    head_nodes = (pull.get("headCommit") or {}).get("nodes") or []
    record_commit = (
        pull.get("mergeCommit") if merged else (head_nodes[0]["commit"] if head_nodes else None)
    )
    existing = await find_record(gh, services, repo, record_commit, f"pr-{number}")
    facts = ChangeFacts(
        kind="pull_request",
        repository=repo,
        branch=str(pull["baseRefName"]),
        head_sha=str(pull["headRefOid"]),
        number=int(pull["number"]),
        title=str(pull.get("title") or ""),
        url=str(pull.get("url") or ""),
        author=_actor(pull.get("author")),
        merged_by=_actor(pull.get("mergedBy")) if merged else None,
        merged=merged,
        merge_commit_sha=(pull.get("mergeCommit") or {}).get("oid") if merged else None,
        merged_at=merged_at,
        commits=commits,
        reviews=reviews,
        files=files,
        unseen=_pull_request_unseen(pull, files, commit_nodes),
        gitattributes=attributes,
        signoffs=_signoffs(existing.record) if merged else (),
        team_members=teams,
    )
    if existing.landed and existing.record is not None:
        facts = as_recorded(facts, existing.record)
    if facts.branch != default_branch:
        from bot.github.backports import backport_facts  # it reads records as this module does

        found = await backport_facts(gh, services, repo, pull, facts, policy, default_branch)
        if found is not None:
            facts = replace(facts, backport=found)
    return Gathered(facts, policy, existing, default_branch, open=pull.get("state") == "OPEN")


async def _checked_merges(
    gh: GitHubClient,
    services: Services,
    repo: str,
    base: str,
    commits: tuple[CommitFacts, ...],
) -> tuple[CommitFacts, ...]:
    """``commits``, where each merge that GitHub made and that looks like an "Update branch"
    merge is checked to bring only the base branch's own changes (GitHub signs the merges of its
    conflict editor too, whatever was typed there). Two requests per such merge, cached by SHA."""
    owner, name = split_repo(repo)

    async def brings_only_the_base(commit: CommitFacts) -> bool:
        merge = await gh.getitem(
            "/repos/{owner}/{name}/commits/{sha}", {"owner": owner, "name": name, "sha": commit.sha}
        )
        brought = [FilePatch.from_rest(item) for item in merge.get("files") or []]
        compared = await compare_commits(gh, repo, commit.parents[0], commit.parents[1])
        if compared is None:
            return False
        theirs = [FilePatch.from_rest(item) for item in compared.get("files") or []]
        if len(brought) >= COMMIT_FILES_PAGE or len(theirs) >= COMPARE_FILES_LIMIT:
            return False  # a listing that may be cut proves nothing
        return brings_only(brought, theirs)

    checked = []
    for commit in commits:
        if is_update_branch_merge(commit, base):
            only = await cached(
                services.caches.blobs,
                ("update-branch-merge", commit.sha),
                partial(brings_only_the_base, commit),
            )
            commit = replace(commit, brings_only_the_base=only)
        checked.append(commit)
    return tuple(checked)


def _rebased(merge: dict[str, Any], commits: Sequence[CommitFacts]) -> bool:
    """Whether a merged pull request was rebase-merged: its merge commit has one parent and is a
    copy of the last of several commits (a squash writes a message of its own)."""
    parents = (merge.get("parents") or {}).get("nodes") or []
    return len(parents) == 1 and len(commits) > 1 and merge.get("message") == commits[-1].message


def _remember_landing(
    services: Services, repo: str, pull: dict[str, Any], commits: Sequence[CommitFacts]
) -> None:
    """Remember the push a merge or squash made (the branch moved from the merge commit's first
    parent to it), so that its push delivery is told from a direct push without a request."""
    merge = pull.get("mergeCommit") or {}
    parents = (merge.get("parents") or {}).get("nodes") or []
    if merge.get("oid") and parents and not _rebased(merge, commits):
        key = (repo, str(pull["baseRefName"]), str(merge["oid"]))
        services.caches.landed[key] = str(parents[0]["oid"])


def landed_by_pull_request(services: Services, change: ChangeId) -> bool:
    """Whether ``change`` is a push that a merged pull request's own query said it made."""
    if change.forced or change.deleted or change.before == ZERO_SHA:
        return False
    known = services.caches.landed.get((change.repo, change.branch, change.after))
    return known is not None and known == change.before


POLICY_AT_QUERY = """
query PolicyAt($owner: String!, $name: String!, $expression: String!) {
  repository(owner: $owner, name: $name) {
    object(expression: $expression) { ... on Blob { text } }
  }
}
"""


async def _policy_before_merge(
    gh: GitHubClient,
    services: Services,
    repo: str,
    default_branch: str,
    pull: dict[str, Any],
    commits: Sequence[CommitFacts],
    files: Sequence[FileFacts],
) -> Policy:
    """The policy a merged pull request is judged by: the one that stood on the default branch
    just before it landed (never its own, never a later one), read in the pull request's own
    query at the merge commit's first parent.

    A rebase merge lands copies of the pull request's commits, so the first parent of the last
    copy is not yet "before" where an earlier commit edited the policy: there it is read k
    commits back (one more query, only for such a change).
    """
    merge = pull.get("mergeCommit") or {}
    parents = (merge.get("parents") or {}).get("nodes") or []
    if not parents:
        return await policy_for(gh, services, repo, default_branch)
    text = _blob_text((parents[0] or {}).get("policy"))
    if _rebased(merge, commits) and touches_policy(files):
        owner, name = split_repo(repo)
        data = await gh.query(
            POLICY_AT_QUERY,
            owner=owner,
            name=name,
            expression=f"{merge['oid']}~{len(commits)}:{REPO_POLICY_PATH}",
        )
        text = ((data.get("repository") or {}).get("object") or {}).get("text")
    return await policy_for(gh, services, repo, default_branch, repo_text=text)


def as_recorded(facts: ChangeFacts, record: dict[str, Any]) -> ChangeFacts:
    """``facts`` with its reviewers' standing as the record says it was when the change landed:
    whether each could push, and which team each counted for. A reviewer who loses write access
    or leaves a team later does not un-review a change, nor does one who gains it review it
    after the fact (a sign-off is the way to do that)."""
    approvals = {
        str(entry.get("reviewer")).casefold(): entry
        for entry in record.get("approvals") or []
        if isinstance(entry, dict) and entry.get("reviewer")
    }
    reviews = tuple(
        replace(
            review,
            author_can_push=approvals[key].get("excluded_because") != "no write access",
        )
        if (key := review.reviewer.login.casefold()) in approvals
        else review
        for review in facts.reviews
    )
    members = {slug: set(found) for slug, found in facts.team_members.items()}
    for requirement in record.get("requirements") or []:
        if not isinstance(requirement, dict) or not requirement.get("teams"):
            continue
        counted = {str(login).casefold() for login in requirement.get("counted") or []}
        for slug in requirement["teams"]:
            team = members.setdefault(str(slug), set())
            for key, entry in approvals.items():
                login = str(entry["reviewer"])
                team.discard(login)
                team.difference_update({m for m in team if m.casefold() == key})
                if key in counted:
                    team.add(login)
    return replace(
        facts,
        reviews=reviews,
        team_members={slug: frozenset(found) for slug, found in members.items()},
    )


def _pull_request_unseen(
    pull: dict[str, Any], files: Sequence[FileFacts], commit_nodes: Sequence[dict[str, Any]]
) -> tuple[str, ...]:
    """What GitHub did not list of a pull request: files past its 3,000-file limit, commits it
    counted but did not give."""
    unseen = []
    changed = int(pull.get("changedFiles") or 0)
    if changed > len(files):
        unseen.append(
            f"GitHub lists at most {PULL_FILES_LIMIT:,} files of a pull request: "
            f"{changed - len(files):,} of its {changed:,} changed files were not seen"
        )
    total = int((pull.get("commits") or {}).get("totalCount") or 0)
    if total > len(commit_nodes):
        unseen.append(
            f"GitHub listed {len(commit_nodes):,} of the pull request's {total:,} commits: "
            "the others were not seen"
        )
    return tuple(unseen)


def _push_query(count: int) -> str:
    """A query for the pull requests associated with ``count`` commits, plus the pushed head's
    existing record and the branch's ``.gitattributes``."""
    params = "".join(f", $c{i}: GitObjectID!" for i in range(count))
    commits = _commit_pull_requests(count)
    return (
        f"query PushFacts($owner: String!, $name: String!, $appId: Int!, $head: GitObjectID!,"
        f" $attributes: String!, $policy: String!{params}) {{\n"
        "  repository(owner: $owner, name: $name) {\n"
        "    attributes: object(expression: $attributes) { ... on Blob { text } }\n"
        "    policy: object(expression: $policy) { ... on Blob { text } }\n"
        "    head: object(oid: $head) { ... on Commit { oid "
        + _CHECK_RUNS
        + " } }"
        + commits
        + "\n  }\n}\n"
    )


async def compare_commits(
    gh: GitHubClient, repo: str, before: str, after: str
) -> dict[str, Any] | None:
    """GitHub's compare of ``before...after``; None where it cannot compare them."""
    owner, name = split_repo(repo)
    try:
        answer = await gh.getitem(
            "/repos/{owner}/{name}/compare/{basehead}",
            {"owner": owner, "name": name, "basehead": f"{before}...{after}"},
        )
    except BadRequest as exc:
        if exc.status_code in (404, 422):
            return None  # the old head is gone from GitHub, or unrelated histories
        raise
    return answer if isinstance(answer, dict) else None


REMOVED_COMMITS_LIMIT = 300
"""How many commits of an unrelated history a force push removed are read (newest first)."""
PUSH_PAYLOAD_COMMITS_LIMIT = 2048
"""A push delivery lists at most 2,048 commits."""


@dataclass(frozen=True)
class Range:
    """What lies between two commits, read to the end: the commits (oldest first), every file
    they changed, and what GitHub could not show."""

    commits: tuple[CommitFacts, ...]
    files: tuple[FileFacts, ...]
    unseen: tuple[str, ...] = ()
    files_cut: bool = False
    """The compare listed 300 files, so may have left some out: :func:`complete` reads them."""
    url: str | None = None
    """The compare's page on GitHub, where there was a compare."""


async def complete(gh: GitHubClient, repo: str, found: Range) -> Range:
    """``found`` with every file: where the compare's listing may be cut, the commits' own."""
    if not found.files_cut:
        return found
    files, unseen = await files_of_commits(gh, repo, [c.sha for c in found.commits])
    return Range(found.commits, files, found.unseen + unseen, url=found.url)


def _merge_files(*listings: Iterable[FileFacts]) -> tuple[FileFacts, ...]:
    """The union of file listings by path, the later listing's entry winning."""
    merged: dict[str, FileFacts] = {}
    for listing in listings:
        for file in listing:
            merged.pop(file.path, None)
            merged[file.path] = file
    return tuple(merged.values())


async def files_of_commits(
    gh: GitHubClient, repo: str, shas: Sequence[str]
) -> tuple[tuple[FileFacts, ...], tuple[str, ...]]:
    """Every file the commits changed, one commit at a time (GitHub gives a commit's files 300 a
    page, up to 3,000), with what could not be seen. Used where a compare's 300-file listing
    may be cut, and where there is nothing to compare with."""
    owner, name = split_repo(repo)
    listings: list[list[FileFacts]] = []
    unseen: list[str] = []
    for sha in shas:
        files: list[FileFacts] = []
        page = 1
        while True:
            answer = await gh.getitem(
                "/repos/{owner}/{name}/commits/{sha}{?page}",
                {"owner": owner, "name": name, "sha": sha, "page": page if page > 1 else None},
            )
            chunk = answer.get("files") or []
            files.extend(file_from_rest(item) for item in chunk)
            if len(chunk) < COMMIT_FILES_PAGE or len(files) >= COMMIT_FILES_LIMIT:
                break
            page += 1
        if len(files) >= COMMIT_FILES_LIMIT:
            unseen.append(
                f"commit {sha[:7]} changes {COMMIT_FILES_LIMIT:,} files or more and GitHub lists "
                f"no more than {COMMIT_FILES_LIMIT:,} of a commit: the rest were not seen"
            )
        listings.append(files)
    return _merge_files(*listings), tuple(unseen)


async def compare_range(
    gh: GitHubClient, repo: str, base: str, head: str, *, every_file: bool = True
) -> Range | None:
    """The commits and files of ``base...head``; None when GitHub cannot compare them.

    The compare lists at most 250 commits unless paginated, and at most 300 files on any page:
    more commits are read page by page, and a listing of 300 files is replaced by the commits'
    own listings, so no file goes unseen (with ``every_file=False``, later, by :func:`complete`,
    for a caller that may not need the files at all).
    """
    first = await compare_commits(gh, repo, base, head)
    if first is None:
        return None
    items = list(first.get("commits") or [])
    total = int(first.get("total_commits") or len(items))
    unseen: list[str] = []
    if total > len(items):
        owner, name = split_repo(repo)
        items = []
        for page in range(1, (total + PAGE - 1) // PAGE + 1):
            answer = await gh.getitem(
                "/repos/{owner}/{name}/compare/{basehead}?per_page=100&page={page}",
                {"owner": owner, "name": name, "basehead": f"{base}...{head}", "page": page},
            )
            items.extend(answer.get("commits") or [])
        if len(items) < total:
            unseen.append(
                f"GitHub listed {len(items):,} of the {total:,} commits between {base[:7]} and "
                f"{head[:7]}: the others were not seen"
            )
    commits = tuple(commit_from_rest(item) for item in items)
    files = tuple(file_from_rest(item) for item in first.get("files") or [])
    found = Range(
        commits,
        files,
        tuple(unseen),
        files_cut=len(files) >= COMPARE_FILES_LIMIT,
        url=first.get("html_url"),
    )
    return await complete(gh, repo, found) if every_file else found


LISTED_COMMITS_LIMIT = 300
"""How many commits are read from GitHub's commit list (newest first) where there is nothing to
compare with: the first push to a repository, unrelated histories."""


async def listed_commits(
    gh: GitHubClient, repo: str, head: str, limit: int = LISTED_COMMITS_LIMIT
) -> tuple[tuple[CommitFacts, ...], bool]:
    """The newest commits reachable from ``head`` (at most ``limit``, newest first), and whether
    there were more."""
    owner, name = split_repo(repo)
    items: list[dict[str, Any]] = []
    try:
        async for item in gh.getiter(
            "/repos/{owner}/{name}/commits?sha={sha}&per_page=100",
            {"owner": owner, "name": name, "sha": head},
        ):
            items.append(item)
            if len(items) > limit:
                break
    except BadRequest as exc:
        if exc.status_code not in (404, 409, 422):
            raise
    commits = tuple(commit_from_rest(item) for item in items[:limit])
    return commits, len(items) > limit


async def tree_files(gh: GitHubClient, repo: str, head: str) -> tuple[FileFacts, ...] | None:
    """Every file of ``head``'s tree, as added: what a push brings where there is nothing to
    compare it with. None where GitHub cut the tree short (it lists 100,000 entries at most)."""
    owner, name = split_repo(repo)
    answer = await gh.getitem(
        "/repos/{owner}/{name}/git/trees/{sha}?recursive=1",
        {"owner": owner, "name": name, "sha": head},
    )
    if answer.get("truncated"):
        return None
    return tuple(
        FileFacts(path=str(entry["path"]), status="added", has_patch=False, blob_sha=entry["sha"])
        for entry in answer.get("tree") or []
        if entry.get("type") == "blob"
    )


async def _pushed_range(
    gh: GitHubClient,
    repo: str,
    change: ChangeId,
    default_branch: str,
    audited_branches: Sequence[str] = (),
) -> Range:
    """What a push brought to its branch: for an existing branch, ``before...after``; for a new
    branch, what it holds that no audited branch it may have been made from does (the default
    branch, and ``audited_branches``: a release branch made from a release branch brings nothing
    new). Where GitHub cannot compare (the first push to a repository, unrelated histories), the
    newest commits GitHub lists and every file of the pushed tree, and the gap is said."""
    base = default_branch if change.before == ZERO_SHA else change.before
    compared = base != change.branch
    if compared:
        found = await compare_range(gh, repo, base, change.after, every_file=False)
        if change.before == ZERO_SHA and found is not None and found.commits:
            for other in audited_branches:
                if other in (change.branch, default_branch):
                    continue
                nearer = await compare_range(gh, repo, other, change.after, every_file=False)
                if nearer is not None and len(nearer.commits) < len(found.commits):
                    found = nearer
        if found is not None:
            return found
    newest, more = await listed_commits(gh, repo, change.after)
    files = await tree_files(gh, repo, change.after)
    gaps = []
    if compared:
        gaps.append(
            f"GitHub could not compare {base[:12]} with {change.after[:7]}: every file of the "
            "pushed tree was judged as added"
        )
    if more:
        gaps.append(
            f"only the newest {LISTED_COMMITS_LIMIT:,} commits of this push were seen: the "
            "authors of older ones were not"
        )
    if files is None:
        gaps.append("GitHub cut the pushed tree's file list short: the rest were not seen")
    return Range(tuple(reversed(newest)), files or (), tuple(gaps))


async def _removed_range(gh: GitHubClient, repo: str, kept: str, removed: str) -> Range:
    """The commits a force push or a deletion took off the branch (on ``removed``, not on
    ``kept``): their authors are contributors. Where GitHub cannot compare, the gap is said."""
    found = await compare_range(gh, repo, kept, removed)
    if found is not None:
        return found
    # unrelated histories: everything ``removed`` held is gone
    commits, more = await listed_commits(gh, repo, removed)
    gap = f"GitHub could not compare {kept[:12]} with {removed[:7]}"
    if not commits:
        return Range((), (), (f"{gap}: the commits this change removed were not seen",))
    if more:
        return Range(
            commits,
            (),
            (
                f"{gap}: only the newest {LISTED_COMMITS_LIMIT:,} of the commits this change "
                "removed were seen",
            ),
        )
    return Range(commits, ())


async def pusher_of(gh: GitHubClient, repo: str, change: ChangeId) -> str | None:
    """Who made the push ``change``, from GitHub's repository activity list (which names the
    person for every push, force push and deletion of the last 90 days); None when not listed."""
    owner, name = split_repo(repo)
    try:
        async for item in gh.getiter(
            "/repos/{owner}/{name}/activity?ref={ref}&per_page=100",
            {"owner": owner, "name": name, "ref": f"refs/heads/{change.branch}"},
        ):
            if item.get("before") == change.before and item.get("after") == change.after:
                return str((item.get("actor") or {}).get("login") or "") or None
    except BadRequest as exc:
        if exc.status_code not in (404, 422):
            raise
    return None


@dataclass(frozen=True)
class PushGathered(Gathered):
    """Push facts; ``via_pull_requests`` is true when every commit arrived by a merged pull
    request into an audited branch (the merge audit covers those), or the push brought no
    commit at all (a branch made from audited history)."""

    via_pull_requests: bool = False


def _merged_into(
    repository: dict[str, Any],
    shas: Sequence[str],
    audited: Callable[[str], bool],
    landed: frozenset[str],
) -> set[str]:
    """Of the commits queried as ``c0``, ``c1``, ..., those that arrived by a pull request merged
    into a branch ``audited`` accepts, whose merge commit is among ``landed`` (the commits this
    push brought): a commit of a squash-merged pull request never landed itself, and a branch made
    at it holds a state no audit saw."""

    def landed_by(pull: dict[str, Any] | None) -> bool:
        return bool(
            pull
            and pull.get("merged")
            and audited(str(pull.get("baseRefName")))
            and (pull.get("mergeCommit") or {}).get("oid") in landed
        )

    found: set[str] = set()
    for i, sha in enumerate(shas):
        node = repository.get(f"c{i}") or {}
        pulls = (node.get("associatedPullRequests") or {}).get("nodes") or []
        if any(landed_by(p) for p in pulls):
            found.add(sha)
    return found


def _commit_pull_requests(count: int) -> str:
    return "".join(
        f"\n    c{i}: object(oid: $c{i}) {{ ... on Commit {{ oid"
        " associatedPullRequests(first: 10) {"
        " nodes { number merged baseRefName mergeCommit { oid } } } } }"
        for i in range(count)
    )


def _more_commits_query(count: int) -> str:
    params = "".join(f", $c{i}: GitObjectID!" for i in range(count))
    return (
        f"query PushedCommits($owner: String!, $name: String!{params}) {{\n"
        "  repository(owner: $owner, name: $name) {" + _commit_pull_requests(count) + "\n  }\n}\n"
    )


async def _pushed_head(
    gh: GitHubClient,
    services: Services,
    repo: str,
    head: str,
    policy_at: str,
    shas: Sequence[str] = (),
) -> dict[str, Any]:
    """One query about a pushed head: this App's record on it, its ``.gitattributes``, the
    policy file at ``policy_at``, and the pull requests of up to 100 ``shas``."""
    owner, name = split_repo(repo)
    data = await gh.query(
        _push_query(len(shas)),
        owner=owner,
        name=name,
        appId=int(services.settings.app_id),
        head=head,
        attributes=f"{head}:.gitattributes",
        policy=f"{policy_at}:{REPO_POLICY_PATH}",
        **{f"c{i}": sha for i, sha in enumerate(shas)},
    )
    return data["repository"]  # type: ignore[no-any-return]


async def gather_push(
    gh: GitHubClient,
    services: Services,
    change: ChangeId,
    policy: Policy,
    *,
    pusher: str | None = None,
    default_branch: str | None = None,
    policy_at_base: bool = True,
) -> PushGathered:
    """Facts about a push to an audited branch, read from GitHub by its identity alone: every
    commit it brought and every file they changed (never only what one listing showed), and for
    a force push or a deletion, the commits it took away too.

    ``pusher`` and ``default_branch`` are what a webhook delivery already says (GitHub's word);
    without them they are read (the pusher from the repository activity list). A push to the
    default branch is judged by the policy at its ``before`` unless ``policy_at_base`` is false
    (the history audit's ``--policy FILE``).
    """
    repo, branch = change.repo, str(change.branch)
    owner, name = split_repo(repo)
    before, after = change.before, change.after
    unknown: tuple[str, ...] = ()
    if default_branch is None:
        default_branch = str(
            (await gh.getitem("/repos/{owner}/{name}", {"owner": owner, "name": name}))[
                "default_branch"
            ]
        )
    if pusher is None:
        pusher = await pusher_of(gh, repo, change)
        if pusher is None:
            unknown = ("GitHub's activity list does not say who made this push",)
    base = dict(
        repository=repo,
        branch=branch,
        pusher=pusher,
        before=before,
        after=after,
    )
    if change.deleted:
        base["compare_url"] = None
        removed = (
            await _removed_range(gh, repo, default_branch, before)
            if branch != default_branch
            else None
        )
        head = await _pushed_head(gh, services, repo, before, before)
        existing = await find_record(gh, services, repo, head.get("head"), change.key)
        facts = ChangeFacts(
            kind="branch_deletion",
            head_sha=before,
            removed_commits=removed.commits if removed else (),
            unseen=unknown + (removed.unseen if removed else ()),
            signoffs=_signoffs(existing.record),
            **base,  # type: ignore[arg-type]
        )
        return PushGathered(facts, policy, existing, default_branch)

    forced = change.forced
    protected: frozenset[str] | tuple[()] = ()
    if before == ZERO_SHA and policy.branches is None:
        protected = await protected_branches(gh, services, repo)
    pushed = await _pushed_range(gh, repo, change, default_branch, sorted(protected))
    base["compare_url"] = pushed.url
    removed = (
        await _removed_range(gh, repo, after, before) if forced and before != ZERO_SHA else None
    )
    commits = pushed.commits

    if before == ZERO_SHA:
        # a new branch: commits that landed by a pull request into any audited branch were
        # audited there already

        def audited(name: str) -> bool:
            return is_audited_branch(name, policy, str(default_branch), protected)
    else:

        def audited(name: str) -> bool:
            return name == branch

    # the first 100 commits' pull requests come with the head's record and .gitattributes;
    # a longer push asks about the rest 100 at a time
    shas = [] if forced else [c.sha for c in commits]
    policy_at = before if before != ZERO_SHA else default_branch
    repository = await _pushed_head(gh, services, repo, after, policy_at, shas[:PAGE])
    landed = frozenset(shas)
    via_pull = _merged_into(repository, shas[:PAGE], audited, landed)
    for start in range(PAGE, len(shas), PAGE):
        batch = shas[start : start + PAGE]
        more = await gh.query(
            _more_commits_query(len(batch)),
            owner=owner,
            name=name,
            **{f"c{i}": sha for i, sha in enumerate(batch)},
        )
        via_pull |= _merged_into(more["repository"], batch, audited, landed)
    direct = tuple(c for c in commits if c.sha not in via_pull)
    existing = await find_record(gh, services, repo, repository.get("head"), change.key)
    kind = "force_push" if forced else "push"
    if kind == "push" and not direct and not pushed.unseen:
        # every commit arrived by a merged pull request: their audit covers it, no need to list
        # the files
        facts = ChangeFacts(kind="push", head_sha=after, **base)  # type: ignore[arg-type]
        return PushGathered(facts, policy, existing, default_branch, via_pull_requests=True)
    pushed = await complete(gh, repo, pushed)
    files = _merge_files(pushed.files, removed.files if removed else ())
    unseen = unknown + pushed.unseen + (removed.unseen if removed else ())
    attributes = (repository.get("attributes") or {}).get("text")
    if policy_at_base and branch == default_branch and before != ZERO_SHA:
        # judged by the policy that stood before the push, never by itself nor a later one
        text = (repository.get("policy") or {}).get("text")
        policy = await policy_for(gh, services, repo, default_branch, repo_text=text)
    files = await sniff_binaries(gh, services, repo, files, attributes, policy)
    teams = await team_members(gh, services, owner, _teams_of(policy))
    facts = ChangeFacts(
        kind=kind,  # type: ignore[arg-type]
        head_sha=after,
        commits=direct if kind == "push" else commits,
        files=files,
        gitattributes=attributes,
        signoffs=_signoffs(existing.record),
        team_members=teams,
        removed_commits=removed.commits if removed else (),
        unseen=unseen,
        **base,  # type: ignore[arg-type]
    )
    if kind == "push" and branch != default_branch:
        from bot.github.backports import push_backport_facts  # it reads records as this does

        found = await push_backport_facts(gh, services, facts, policy, default_branch)
        if found is not None:
            facts = replace(facts, backport=found)
    return PushGathered(facts, policy, existing, default_branch)
