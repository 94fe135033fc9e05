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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from gidgethub import BadRequest

from bot.facts import Actor, ChangeFacts, CommitFacts, FileFacts, FileStatus, ReviewFacts
from bot.github import GitHubClient
from bot.judge import is_binary
from bot.policy import REPO_POLICY_PATH, Policy, PolicySource, load_policy, shipped_default
from bot.render import parse_record
from bot.services import Services, cached

logger = logging.getLogger(__name__)

CHECK_NAME = "countersign"
"""The name of the check run this App writes (other tools depend on it)."""

PAGE = 100
BINARY_SNIFF_BYTES = 8000
ZERO_SHA = "0" * 40

_CO_AUTHOR = re.compile(r"^co-authored-by:\s*(?P<name>.*?)\s*<(?P<email>[^>]+)>\s*$", re.I | re.M)

_CHECK_RUNS = """
      checkSuites(first: 20, filterBy: {appId: $appId}) {
        nodes { checkRuns(first: 10, filterBy: {checkName: "countersign"}) {
          nodes { databaseId conclusion text } } }
      }"""

_COMMIT_FIELDS = """
        oid message committedDate
        parents(first: 3) { nodes { oid } }
        author { email user { login } }
        committer { email name user { login } }
        authors(first: 20) { nodes { email user { login } } }"""

PULL_REQUEST_QUERY = (
    """
query PullRequestFacts($owner: String!, $name: String!, $number: Int!, $appId: Int!,
                       $attributes: String!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name }
    attributes: object(expression: $attributes) { ... on Blob { text } }
    pullRequest(number: $number) {
      number title url state isDraft merged mergedAt
      author { __typename login }
      mergedBy { __typename login }
      headRefOid baseRefName
      mergeCommit { oid parents(first: 1) { nodes { oid } } """
    + _CHECK_RUNS
    + """ }
      headCommit: commits(last: 1) { nodes { commit { oid """
    + _CHECK_RUNS
    + """ } } }
      reviews(first: 100) {
        pageInfo { hasNextPage endCursor }
        nodes { databaseId state submittedAt author { __typename login } commit { oid } }
      }
      commits(first: 100) {
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
        nodes { databaseId state submittedAt author { __typename login } commit { oid } }
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


@dataclass(frozen=True)
class Gathered:
    """Facts plus what publishing needs to stay idempotent."""

    facts: ChangeFacts
    policy: Policy
    existing: ExistingRecord
    default_branch: str


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
        committed_by_github=committer_login == "web-flow"
        or str(committer.get("email") or "").lower() == "noreply@github.com",
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
        committed_by_github=committer_login == "web-flow"
        or str((commit.get("committer") or {}).get("email") or "").lower() == "noreply@github.com",
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


def existing_record(commit: dict[str, Any] | None) -> ExistingRecord:
    """The newest ``countersign`` check run of this App on a GraphQL commit node."""
    if not commit:
        return ExistingRecord()
    runs = [
        run
        for suite in (commit.get("checkSuites") or {}).get("nodes") or []
        for run in (suite.get("checkRuns") or {}).get("nodes") or []
        if run and run.get("databaseId") is not None
    ]
    if not runs:
        return ExistingRecord()
    newest = max(runs, key=lambda run: int(run["databaseId"]))
    return ExistingRecord(int(newest["databaseId"]), parse_record(newest.get("text")))


async def _text_file(gh: GitHubClient, repo: str, path: str, ref: str | None) -> str | None:
    owner, name = split_repo(repo)
    url = "/repos/{owner}/{name}/contents/{+path}" + ("{?ref}" if ref else "")
    try:
        answer = await gh.getitem(url, {"owner": owner, "name": name, "path": path, "ref": ref})
    except BadRequest as exc:
        if exc.status_code in (403, 404):
            return None
        raise
    if not isinstance(answer, dict) or answer.get("type", "file") != "file":
        return None
    return base64.b64decode(answer.get("content", "")).decode("utf-8", errors="replace")


async def policy_for(
    gh: GitHubClient, services: Services, repo: str, default_branch: str, at: str | None = None
) -> Policy:
    """The policy that judges ``repo``: its own file on the default branch, over the organisation's
    ``.github`` repository's, over the shipped default. Cached for a few minutes.

    ``at`` names the default branch's commit *before* a change that edits the policy file itself,
    so that such a change is judged by the policy it replaces, never by itself (not cached).
    """
    cached = services.caches.policies.get(repo)
    if cached is not None and at is None:
        return cached  # type: ignore[no-any-return]
    owner, _ = split_repo(repo)
    org_text = None
    if repo != f"{owner}/.github":
        org_text = await _text_file(gh, f"{owner}/.github", REPO_POLICY_PATH, None)
    repo_text = await _text_file(gh, repo, REPO_POLICY_PATH, at or default_branch)
    policy = load_policy(
        [
            shipped_default(),
            PolicySource(f"{owner}/.github:{REPO_POLICY_PATH}", org_text),
            PolicySource(f"{repo}:{REPO_POLICY_PATH}", repo_text),
        ]
    )
    if at is None:
        services.caches.policies[repo] = policy
    return policy


def touches_policy(files: Iterable[FileFacts]) -> bool:
    """Whether a change edits the repository's own policy file."""
    return any(REPO_POLICY_PATH in (f.path, f.previous_path) for f in files)


def forget_policy(services: Services, repo: str) -> None:
    """Drop cached policies after a push that changed one (the organisation's affects them all)."""
    owner, name = split_repo(repo)
    if name == ".github":
        for key in [k for k in services.caches.policies if str(k).startswith(f"{owner}/")]:
            services.caches.policies.pop(key, None)
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


async def protection_patterns(gh: GitHubClient, repo: str) -> tuple[str, ...]:
    """The branch protection rules' patterns: the only way to tell whether a branch that was
    just deleted had been protected (GitHub no longer lists it)."""
    owner, name = split_repo(repo)
    data = await gh.query(PROTECTION_RULES_QUERY, owner=owner, name=name)
    nodes = ((data.get("repository") or {}).get("branchProtectionRules") or {}).get("nodes") or []
    return tuple(str(node["pattern"]) for node in nodes if node and node.get("pattern"))


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


async def gather_pull_request(
    gh: GitHubClient, services: Services, repo: str, number: int, base_branch: str
) -> Gathered:
    """Facts about pull request ``number``; for a merged one, as they stood when it merged."""
    owner, name = split_repo(repo)
    data = await gh.query(
        PULL_REQUEST_QUERY,
        owner=owner,
        name=name,
        number=number,
        appId=int(services.settings.app_id),
        attributes=f"{base_branch}:.gitattributes",
    )
    repository = data["repository"]
    pull = repository["pullRequest"]
    default_branch = str((repository.get("defaultBranchRef") or {}).get("name") or base_branch)
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
        )
        for node in review_nodes
        if node
        and node.get("state") != "PENDING"
        # the record of a merged pull request is what was true when it merged
        and (not merged or _before(node.get("submittedAt"), merged_at))
    )
    policy = await policy_for(gh, services, repo, default_branch)
    attributes = (repository.get("attributes") or {}).get("text")
    files = await pull_request_files(gh, services, repo, number, str(pull["headRefOid"]))
    merge_parents = ((pull.get("mergeCommit") or {}).get("parents") or {}).get("nodes") or []
    if merged and merge_parents and pull["baseRefName"] == default_branch and touches_policy(files):
        # once merged, the default branch holds the new policy: judge by the one it replaced
        policy = await policy_for(gh, services, repo, default_branch, at=merge_parents[0]["oid"])
    files = await sniff_binaries(gh, services, repo, files, attributes, policy)
    teams = await team_members(gh, services, owner, _teams_of(policy))
    head_nodes = (pull.get("headCommit") or {}).get("nodes") or []
    record_commit = (
        pull.get("mergeCommit") if merged else (head_nodes[0]["commit"] if head_nodes else None)
    )
    existing = existing_record(record_commit)
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
        commits=tuple(commit_from_graphql(node["commit"]) for node in commit_nodes if node),
        reviews=reviews,
        files=files,
        gitattributes=attributes,
        signoffs=_signoffs(existing.record) if merged else (),
        team_members=teams,
    )
    return Gathered(facts, policy, existing, default_branch)


def _push_query(count: int) -> str:
    """A query for the pull requests associated with ``count`` commits, plus the pushed head's
    existing record and the branch's ``.gitattributes``."""
    params = "".join(f", $c{i}: GitObjectID!" for i in range(count))
    commits = "".join(
        f"\n    c{i}: object(oid: $c{i}) {{ ... on Commit {{ oid"
        " associatedPullRequests(first: 10) { nodes { number merged baseRefName } } } }"
        for i in range(count)
    )
    return (
        f"query PushFacts($owner: String!, $name: String!, $appId: Int!, $head: GitObjectID!,"
        f" $attributes: String!{params}) {{\n"
        "  repository(owner: $owner, name: $name) {\n"
        "    attributes: object(expression: $attributes) { ... on Blob { text } }\n"
        "    head: object(oid: $head) { ... on Commit { oid "
        + _CHECK_RUNS
        + " } }"
        + commits
        + "\n  }\n}\n"
    )


async def _compare(gh: GitHubClient, repo: str, before: str, after: str) -> dict[str, Any] | None:
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


def _files_from_push_payload(commits: Sequence[dict[str, Any]]) -> tuple[FileFacts, ...]:
    seen: dict[str, FileFacts] = {}
    for commit in commits:
        statuses: tuple[FileStatus, ...] = ("added", "removed", "modified")
        for status in statuses:
            for path in commit.get(status) or []:
                seen[str(path)] = FileFacts(path=str(path), status=status, has_patch=True)
    return tuple(seen.values())


@dataclass(frozen=True)
class PushGathered(Gathered):
    """Push facts; ``via_pull_requests`` is true when every commit arrived by a merged pull
    request into the branch (the merge audit covers those)."""

    via_pull_requests: bool = False


async def gather_push(
    gh: GitHubClient, services: Services, payload: dict[str, Any], policy: Policy
) -> PushGathered:
    """Facts about a push to an audited branch."""
    repo = str(payload["repository"]["full_name"])
    owner, name = split_repo(repo)
    branch = str(payload["ref"]).removeprefix("refs/heads/")
    default_branch = str(payload["repository"].get("default_branch") or branch)
    before, after = str(payload.get("before") or ZERO_SHA), str(payload.get("after") or ZERO_SHA)
    pusher = str(
        (payload.get("sender") or {}).get("login") or (payload.get("pusher") or {}).get("name")
    )
    base = dict(
        repository=repo,
        branch=branch,
        pusher=pusher,
        before=before,
        after=after,
        compare_url=payload.get("compare"),
    )
    if payload.get("deleted"):
        facts = ChangeFacts(kind="branch_deletion", head_sha=before, **base)  # type: ignore[arg-type]
        return PushGathered(facts, policy, ExistingRecord(), default_branch)

    compared = None if before == ZERO_SHA else await _compare(gh, repo, before, after)
    if compared is not None and not payload.get("forced"):
        commits = tuple(commit_from_rest(item) for item in compared.get("commits") or [])
        files = tuple(file_from_rest(item) for item in compared.get("files") or [])
    else:
        payload_commits = [c for c in payload.get("commits") or [] if c.get("distinct", True)]
        commits = tuple(
            CommitFacts(
                sha=str(c["id"]),
                message=str(c.get("message") or ""),
                author=(c.get("author") or {}).get("username"),
                committer=(c.get("committer") or {}).get("username"),
                co_author_emails=co_author_emails(str(c.get("message") or "")),
            )
            for c in payload_commits
        )
        files = (
            tuple(file_from_rest(item) for item in compared.get("files") or [])
            if compared is not None
            else _files_from_push_payload(payload_commits)
        )

    shas = [c.sha for c in commits][:100]
    data = await gh.query(
        _push_query(len(shas)),
        owner=owner,
        name=name,
        appId=int(services.settings.app_id),
        head=after,
        attributes=f"{after}:.gitattributes",
        **{f"c{i}": sha for i, sha in enumerate(shas)},
    )
    repository = data["repository"]
    via_pull: set[str] = set()
    for i, sha in enumerate(shas):
        node = repository.get(f"c{i}") or {}
        pulls = (node.get("associatedPullRequests") or {}).get("nodes") or []
        if any(p and p.get("merged") and p.get("baseRefName") == branch for p in pulls):
            via_pull.add(sha)
    direct = tuple(c for c in commits if c.sha not in via_pull)
    attributes = (repository.get("attributes") or {}).get("text")
    if branch == default_branch and touches_policy(files) and before != ZERO_SHA:
        policy = await policy_for(gh, services, repo, default_branch, at=before)
    files = await sniff_binaries(gh, services, repo, files, attributes, policy)
    teams = await team_members(gh, services, owner, _teams_of(policy))
    existing = existing_record(repository.get("head"))
    kind = "force_push" if payload.get("forced") else "push"
    facts = ChangeFacts(
        kind=kind,  # type: ignore[arg-type]
        head_sha=after,
        commits=direct if kind == "push" else commits,
        files=files,
        gitattributes=attributes,
        signoffs=_signoffs(existing.record),
        team_members=teams,
        **base,  # type: ignore[arg-type]
    )
    via_pull_requests = kind == "push" and bool(commits) and not direct
    return PushGathered(facts, policy, existing, default_branch, via_pull_requests)
