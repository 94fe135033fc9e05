"""The history audit: every change that landed on a repository's audited branches in a window of
time, judged by the same judge and policy as the App, read-only.

Merged pull requests are listed with GraphQL, :data:`PULL_PAGE` at a time, each with everything the
judge needs (reviews with ``authorCanPushToRepository``, commits with their signature, authors and
co-authors, files, the base's ``.gitattributes``, the policy file at the commit the change landed on
and, given the App's id, this App's ``countersign`` check run on the merge commit); nested lists of
more than 100 are read on, page by page. Direct pushes, force pushes, new branches and branch
deletions come from GitHub's repository activity list (``GET /repos/{owner}/{repo}/activity``),
per audited branch, and are read like the App reads a push delivery.

Where this App already wrote its record of a change, the record stands (its verdict, sign-offs
included); otherwise the change is judged afresh, by :func:`bot.judge.judge`, under the policy
that stood where it landed (the repository's own layered policy read at the change's base for
changes to the default branch, the current one for other branches, as the App does) or under the
policy file given on the command line. A pull request merged into an audited branch other than
the default branch is recognised as a backport as the App recognises one
(:func:`bot.github.backports.backport_facts`: its body and labels come with the page), so that a
clean backport inherits its originals' review.

Nothing here writes to GitHub: :class:`ReadOnlyClient` refuses any request but a read.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.core import judge, landed
from bot.core.change import ZERO_SHA, ChangeId
from bot.core.facts import Actor, ChangeFacts, FileFacts, ReviewFacts
from bot.core.gitattributes import is_binary
from bot.core.judge import Verdict
from bot.core.landed import Judged
from bot.core.policy import REPO_POLICY_PATH, Policy, is_audited_branch
from bot.github import gather
from bot.github.backports import backport_facts
from bot.github.client import GitHubClient, RetryPolicy
from bot.github.window import BUSY_BRANCH, branch_activity, parse_time
from bot.services import Services

PULL_PAGE = 50
"""Merged pull requests per GraphQL query. With 100 reviews, 100 commits (3 parents and 20 authors
each), 100 files, 20 labels and 20 check suites of 10 runs each per pull request, a page asks for
about 142,000 nodes: well under GitHub's limit of 500,000 per query."""
PAGE = 100
RATE_LIMIT_PATIENCE = 60.0
"""Seconds the history audit waits for a rate limit before it gives up and says when it resets."""


class ReadOnlyClient(GitHubClient):
    """A client that can only read: GETs, and GraphQL queries (never mutations). A rate limit that
    would keep it waiting longer than :data:`RATE_LIMIT_PATIENCE` is not waited for: its answer is
    raised, so that the command line can say when the limit resets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._policy = _ImpatientRetryPolicy(attempts=self._settings.retry_attempts)
        self.last_headers: Mapping[str, str] = {}
        """The headers of the last answer (they say when a rate limit resets)."""

    async def _request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
    ) -> tuple[int, Mapping[str, str], bytes]:
        graphql = method == "POST" and url == self._settings.graphql_url
        if method not in ("GET", "HEAD") and not graphql:
            raise PermissionError(f"the history audit never writes to GitHub ({method} refused)")
        if graphql and re.search(rb'"query":\s*"\s*mutation\b', body):
            raise PermissionError("the history audit never writes to GitHub (mutation refused)")
        status, answer_headers, content = await super()._request(method, url, headers, body)
        self.last_headers = answer_headers
        return status, answer_headers, content


@dataclass(frozen=True)
class _ImpatientRetryPolicy(RetryPolicy):
    def delay_for(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
        attempt: int,
        jitter: float,
    ) -> float | None:
        delay = super().delay_for(status, headers, body, now, attempt, jitter)
        if status in (403, 429) and delay is not None and delay > RATE_LIMIT_PATIENCE:
            return None
        return delay


@dataclass(frozen=True)
class Options:
    """What to audit. ``branches`` (globs) replaces the policy's choice of audited branches;
    ``policy`` replaces the repository's own; ``app_id`` lets this App's records be read."""

    repo: str
    since: datetime
    until: datetime
    branches: tuple[str, ...] = ()
    policy: Policy | None = None
    app_id: str | None = None


@dataclass
class Report:
    repository: str
    since: datetime
    until: datetime
    default_branch: str
    policy_sources: tuple[str, ...] = ()
    policy_errors: tuple[str, ...] = ()
    changes: list[Judged] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """How many changes got each verdict (``signed-off`` counted apart from its status)."""
        counts = dict.fromkeys((*judge.STATUSES, "signed-off"), 0)
        for change in self.changes:
            counts[change.verdict] += 1
        return counts


class Progress:
    """Told how many changes were found and judged, as the audit goes (a no-op here; the command
    line shows a progress bar)."""

    def found(self, count: int) -> None:
        """``count`` more changes are to be judged."""

    def judged(self) -> None:
        """One more change was judged."""


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------

_CHECK_RUNS = """checkSuites(first: 20, filterBy: {appId: $appId}) {
  nodes { checkRuns(first: 10, filterBy: {checkName: "countersign"}) {
    nodes { databaseId externalId conclusion text } } } }"""

_CONNECTIONS = {
    "reviews": """databaseId state submittedAt authorCanPushToRepository
        author { __typename login } commit { oid }""",
    "commits": """commit { oid message committedDate
        signature { isValid wasSignedByGitHub }
        parents(first: 3) { nodes { oid } }
        author { email user { login } }
        committer { email name user { login } }
        authors(first: 20) { nodes { email user { login } } } }""",
    "files": "path additions deletions changeType",
}


def _app_variable(app_id: str | None) -> str:
    return ", $appId: Int!" if app_id else ""


def _pulls_query(app_id: str | None) -> str:
    connections = "\n".join(
        f"{name}(first: 100) {{ totalCount pageInfo {{ hasNextPage endCursor }} "
        f"nodes {{ {fields} }} }}"
        for name, fields in _CONNECTIONS.items()
    )
    return (
        "query HistoryPullRequests($owner: String!, $name: String!, $first: Int!, "
        f"$after: String{_app_variable(app_id)}) {{\n"
        "  repository(owner: $owner, name: $name) {\n"
        "    pullRequests(states: [MERGED], orderBy: {field: UPDATED_AT, direction: DESC},"
        " first: $first, after: $after) {\n"
        "      pageInfo { hasNextPage endCursor }\n"
        "      nodes {\n"
        "        number title body url updatedAt mergedAt baseRefName headRefOid changedFiles\n"
        "        author { __typename login } mergedBy { __typename login }\n"
        "        labels(first: 20) { nodes { name } }\n"
        "        mergeCommit { oid message\n"
        '          attributes: file(path: ".gitattributes") { object { ... on Blob { text } } }\n'
        "          parents(first: 2) { nodes { oid\n"
        f'            policy: file(path: "{REPO_POLICY_PATH}") {{'
        " object { ... on Blob { text } } } } }\n"
        f"          {_CHECK_RUNS if app_id else ''} }}\n"
        f"        {connections}\n"
        "      }\n    }\n  }\n}\n"
    )


def _more_query(connection: str) -> str:
    return (
        "query HistoryMore($owner: String!, $name: String!, $number: Int!, $after: String!) {\n"
        "  repository(owner: $owner, name: $name) { pullRequest(number: $number) {\n"
        f"    {connection}(first: 100, after: $after) {{ totalCount "
        f"pageInfo {{ hasNextPage endCursor }} nodes {{ {_CONNECTIONS[connection]} }} }}\n"
        "  } }\n}\n"
    )


REPOSITORY_QUERY = """
query HistoryRepository($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) { url defaultBranchRef { name } }
}
"""

BRANCHES_QUERY = """
query HistoryBranches($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    refs(refPrefix: "refs/heads/", first: 100, after: $after) {
      pageInfo { hasNextPage endCursor } nodes { name }
    }
  }
}
"""


def _expressions_query(count: int, fields: str) -> str:
    params = "".join(f", $e{i}: String!" for i in range(count))
    objects = "".join(
        f"\n    e{i}: object(expression: $e{i}) {{ ... on Blob {{ {fields} }} }}"
        for i in range(count)
    )
    return (
        f"query HistoryBlobs($owner: String!, $name: String!{params}) {{\n"
        f"  repository(owner: $owner, name: $name) {{{objects}\n  }}\n}}\n"
    )


# ---------------------------------------------------------------------------------------------
# The audit
# ---------------------------------------------------------------------------------------------


def _actor(node: dict[str, Any] | None) -> Actor | None:
    if not node or not node.get("login"):
        return None
    return Actor.of(str(node["login"]), node.get("__typename"))


_CHANGE_TYPES: dict[str, Any] = {
    "ADDED": "added",
    "DELETED": "removed",
    "MODIFIED": "modified",
    "RENAMED": "renamed",
    "COPIED": "copied",
    "CHANGED": "changed",
}


class HistoryAudit:
    """One run of the history audit over one repository."""

    def __init__(
        self,
        gh: GitHubClient,
        services: Services,
        options: Options,
        progress: Progress | None = None,
    ) -> None:
        self.gh = gh
        self.services = services
        self.options = options
        self.progress = progress or Progress()
        self.owner, self.name = gather.split_repo(options.repo)
        self.default_branch = ""
        self.web_url = ""
        self._policies: dict[str | None, Policy] = {}
        self._protected: frozenset[str] | None = None
        self._current: Policy | None = None
        self._merges: dict[str, int] = {}

    # -- policy and audited branches ---------------------------------------------------------
    async def current_policy(self) -> Policy:
        """The policy given on the command line, else the repository's own as it is now."""
        if self.options.policy is not None:
            return self.options.policy
        if self._current is None:
            self._current = await gather.policy_for(
                self.gh, self.services, self.options.repo, self.default_branch
            )
        return self._current

    async def policy_at(self, text: str | None) -> Policy:
        """The policy whose repository layer was ``text`` (None: no file) where a change landed;
        the command line's policy, when given, instead."""
        if self.options.policy is not None:
            return self.options.policy
        if text not in self._policies:
            self._policies[text] = await gather.policy_for(
                self.gh, self.services, self.options.repo, self.default_branch, repo_text=text
            )
        return self._policies[text]

    async def protected(self) -> frozenset[str]:
        if self._protected is None:
            self._protected = await gather.protected_branches(
                self.gh, self.services, self.options.repo
            )
        return self._protected

    async def is_audited(self, branch: str, policy: Policy) -> bool:
        if self.options.branches:
            return any(fnmatch.fnmatchcase(branch, glob) for glob in self.options.branches)
        protected = await self.protected() if policy.branches is None else frozenset()
        return is_audited_branch(branch, policy, self.default_branch, protected)

    async def audited_branch_names(self) -> list[str]:
        """The branches whose activity is read: the ones named, the default branch, the protected
        ones, and every existing branch a glob matches."""
        globs = self.options.branches
        policy = await self.current_policy()
        names: set[str] = set()
        if not globs:
            names.add(self.default_branch)
            if policy.branches is None:
                names |= await self.protected()
            else:
                globs = policy.branches
        wild = [g for g in globs if any(c in g for c in "*?[")]
        names |= {g for g in globs if g not in wild}
        if wild:
            names |= {
                b for b in await self._branches() if any(fnmatch.fnmatchcase(b, g) for g in wild)
            }
        return sorted(names)

    async def _branches(self) -> list[str]:
        found: list[str] = []
        after: str | None = None
        while True:
            data = await self.gh.query(
                BRANCHES_QUERY, owner=self.owner, name=self.name, after=after
            )
            refs = data["repository"]["refs"]
            found.extend(str(node["name"]) for node in refs["nodes"] or [] if node)
            if not refs["pageInfo"]["hasNextPage"]:
                return found
            after = refs["pageInfo"]["endCursor"]

    def _in_window(self, when: datetime | None) -> bool:
        return when is not None and self.options.since <= when <= self.options.until

    # -- the run ------------------------------------------------------------------------------
    async def run(self) -> Report:
        data = await self.gh.query(REPOSITORY_QUERY, owner=self.owner, name=self.name)
        repository = data["repository"]
        self.web_url = str(repository.get("url") or "")
        self.default_branch = str((repository.get("defaultBranchRef") or {}).get("name") or "")
        policy = await self.current_policy()
        report = Report(
            self.options.repo,
            self.options.since,
            self.options.until,
            self.default_branch,
            policy_sources=policy.sources,
            policy_errors=tuple(str(e) for e in policy.errors),
        )
        report.changes.extend(await self.pull_requests())
        report.changes.extend(await self.pushes())
        report.changes.sort(key=lambda change: (change.landed_at, change.key))
        return report

    # -- merged pull requests -----------------------------------------------------------------
    async def pull_requests(self) -> list[Judged]:
        judged: list[Judged] = []
        after: str | None = None
        variables: dict[str, Any] = {"owner": self.owner, "name": self.name, "first": PULL_PAGE}
        if self.options.app_id:
            variables["appId"] = int(self.options.app_id)
        query = _pulls_query(self.options.app_id)
        while True:
            data = await self.gh.query(query, after=after, **variables)
            listing = data["repository"]["pullRequests"]
            nodes = [node for node in listing["nodes"] or [] if node]
            landed = [n for n in nodes if self._in_window(parse_time(n.get("mergedAt")))]
            judged.extend(await self._judge_pulls(landed))
            oldest = parse_time(nodes[-1].get("updatedAt")) if nodes else None
            # newest first by update: a pull request updated before the window merged before it
            if not listing["pageInfo"]["hasNextPage"] or (
                oldest is not None and oldest < self.options.since
            ):
                return judged
            after = listing["pageInfo"]["endCursor"]

    async def _judge_pulls(self, nodes: Sequence[dict[str, Any]]) -> list[Judged]:
        out: list[Judged] = []
        fresh: list[tuple[ChangeFacts, Policy]] = []
        pulls: list[dict[str, Any]] = []
        for node in nodes:
            branch = str(node["baseRefName"])
            policy = await self._pull_policy(node)
            if not await self.is_audited(branch, policy):
                continue
            self._merges[branch] = self._merges.get(branch, 0) + 1
            self.progress.found(1)
            change = ChangeId.pull_request(self.options.repo, int(node["number"]))
            record = self._record(node.get("mergeCommit"), change)
            if record is not None:
                out.append(self._from_record(record, change, node))
                self.progress.judged()
            else:
                fresh.append((await self._pull_facts(node), policy))
                pulls.append(node)
        tested = await self._binary_test(fresh)
        for facts, (_, policy), node in zip(tested, fresh, pulls, strict=True):
            facts = replace(facts, team_members=await self._teams(policy))
            if facts.branch != self.default_branch:
                # as the App does: a backport's originals confirmed, their diffs compared (one
                # GraphQL query and the file lists, and an original without a record read whole)
                found = await backport_facts(
                    self.gh,
                    self.services,
                    self.options.repo,
                    node,
                    facts,
                    policy,
                    self.default_branch,
                )
                if found is not None:
                    facts = replace(facts, backport=found)
            out.append(self._judged(facts, judge.judge(facts, policy)))
            self.progress.judged()
        return out

    async def _pull_policy(self, node: dict[str, Any]) -> Policy:
        """A pull request into the default branch is judged by the policy at the commit it landed
        on (the merge commit's first parent; for a rebase merge that edited the policy in an
        earlier commit, as many commits further back as it brought); others by today's."""
        if node["baseRefName"] != self.default_branch or self.options.policy is not None:
            return await self.current_policy()
        merge = node.get("mergeCommit") or {}
        parents = (merge.get("parents") or {}).get("nodes") or []
        if not parents:
            return await self.current_policy()
        text = (((parents[0] or {}).get("policy") or {}).get("object") or {}).get("text")
        commits = (node.get("commits") or {}).get("nodes") or []
        files = (node.get("files") or {}).get("nodes") or []
        last_message = ((commits[-1] or {}).get("commit") or {}).get("message") if commits else None
        rebased = (
            len(parents) == 1
            and len(commits) > 1
            and merge.get("message") == last_message
            and any(f and f.get("path") == REPO_POLICY_PATH for f in files)
        )
        if rebased:
            found = await self._blobs([f"{merge['oid']}~{len(commits)}:{REPO_POLICY_PATH}"], "text")
            text = (found[0] or {}).get("text")
        return await self.policy_at(text)

    def _record(self, commit: dict[str, Any] | None, change: ChangeId) -> dict[str, Any] | None:
        """This App's record of ``change`` on ``commit``, if it is the record of the change as it
        landed (not a pre-merge check's)."""
        if not self.options.app_id or not commit:
            return None
        existing = gather.existing_record(commit, change.key)
        return existing.record if existing.landed else None

    async def _more(
        self, number: int, connection: str, page: dict[str, Any]
    ) -> list[dict[str, Any]]:
        nodes = [n for n in page.get("nodes") or [] if n]
        while page["pageInfo"]["hasNextPage"]:
            data = await self.gh.query(
                _more_query(connection),
                owner=self.owner,
                name=self.name,
                number=number,
                after=page["pageInfo"]["endCursor"],
            )
            page = data["repository"]["pullRequest"][connection]
            nodes.extend(n for n in page.get("nodes") or [] if n)
        return nodes

    async def _pull_facts(self, node: dict[str, Any]) -> ChangeFacts:
        number = int(node["number"])
        merged_at = node.get("mergedAt")
        limit = parse_time(merged_at)
        review_nodes = await self._more(number, "reviews", node["reviews"])
        commit_nodes = await self._more(number, "commits", node["commits"])
        reviews = tuple(
            ReviewFacts(
                id=int(review["databaseId"]),
                reviewer=_actor(review.get("author")) or Actor("ghost"),
                state=review["state"],
                commit_sha=(review.get("commit") or {}).get("oid"),
                submitted_at=review.get("submittedAt"),
                author_can_push=review.get("authorCanPushToRepository") is True,
            )
            for review in review_nodes
            if review.get("state") != "PENDING"
            # what was true when it merged: later reviews do not count
            and (limit is None or (parse_time(review.get("submittedAt")) or limit) <= limit)
        )
        files_page = node["files"]
        changes = [f for f in files_page.get("nodes") or [] if f]
        head = str(node["headRefOid"])
        if files_page["pageInfo"]["hasNextPage"] or any(
            f.get("changeType") in ("RENAMED", "COPIED") for f in changes
        ):
            # GraphQL names neither the old path of a renamed file nor more than 100 files a
            # page: the REST file list does both, 100 a page, up to GitHub's 3,000
            files = await gather.pull_request_files(
                self.gh, self.services, self.options.repo, number, head
            )
        else:
            files = tuple(
                FileFacts(
                    path=str(f["path"]),
                    status=_CHANGE_TYPES.get(str(f.get("changeType")), "modified"),
                    # GitHub counts no lines of a binary file: only a file with none may be one
                    has_patch=int(f.get("additions") or 0) + int(f.get("deletions") or 0) > 0,
                )
                for f in changes
            )
        unseen: list[str] = []
        changed = int(node.get("changedFiles") or 0)
        if changed > len(files):
            unseen.append(
                f"GitHub lists at most {gather.PULL_FILES_LIMIT:,} files of a pull request: "
                f"{changed - len(files):,} of its {changed:,} changed files were not seen"
            )
        total = int(node["commits"].get("totalCount") or 0)
        if total > len(commit_nodes):
            unseen.append(
                f"GitHub listed {len(commit_nodes):,} of the pull request's {total:,} commits: "
                "the others were not seen"
            )
        merge = node.get("mergeCommit") or {}
        return ChangeFacts(
            kind="pull_request",
            repository=self.options.repo,
            branch=str(node["baseRefName"]),
            head_sha=head,
            number=number,
            title=str(node.get("title") or ""),
            url=str(node.get("url") or ""),
            author=_actor(node.get("author")),
            merged_by=_actor(node.get("mergedBy")),
            merged=True,
            merge_commit_sha=merge.get("oid"),
            merged_at=merged_at,
            commits=tuple(gather.commit_from_graphql(c["commit"]) for c in commit_nodes),
            reviews=reviews,
            files=files,
            unseen=tuple(unseen),
            gitattributes=((merge.get("attributes") or {}).get("object") or {}).get("text"),
        )

    async def _blobs(self, expressions: Sequence[str], fields: str) -> list[dict[str, Any] | None]:
        """The blobs ``rev:path`` names (their ``fields``), 100 to a query."""
        found: list[dict[str, Any] | None] = []
        for start in range(0, len(expressions), PAGE):
            batch = expressions[start : start + PAGE]
            data = await self.gh.query(
                _expressions_query(len(batch), fields),
                owner=self.owner,
                name=self.name,
                **{f"e{i}": expression for i, expression in enumerate(batch)},
            )
            found.extend(data["repository"].get(f"e{i}") for i in range(len(batch)))
        return found

    async def _binary_test(
        self, changes: Sequence[tuple[ChangeFacts, Policy]]
    ) -> list[ChangeFacts]:
        """Whether each file a binary rule might match is binary. Files GitHub listed with a
        patch (REST) or counted lines of (GraphQL) are text; ``.gitattributes`` says so for
        others; the rest are asked of GitHub, all of a page's in one query (``Blob.isBinary``),
        and where GitHub cannot tell, read like the App reads them (git's test on the blob)."""
        asks: list[tuple[int, int, str]] = []
        for i, (facts, policy) in enumerate(changes):
            if not any(rule.binary for rule in (policy.review, *policy.rules)):
                continue
            for j, file in enumerate(facts.files):
                if (
                    file.has_patch
                    or file.status == "removed"
                    or file.blob_sha is not None
                    or is_binary(file, facts.gitattributes)
                ):
                    continue
                asks.append((i, j, f"{facts.head_sha}:{file.path}"))
        answers = await self._blobs([e for _, _, e in asks], "oid isBinary") if asks else []
        files = [list(facts.files) for facts, _ in changes]
        for (i, j, _), blob in zip(asks, answers, strict=True):
            file = files[i][j]
            if blob is None:
                continue
            if isinstance(blob.get("isBinary"), bool):
                files[i][j] = replace(file, content_is_binary=blob["isBinary"])
            else:
                files[i][j] = replace(file, blob_sha=blob.get("oid"))
        out = []
        for (facts, policy), listed in zip(changes, files, strict=True):
            sniffed = await gather.sniff_binaries(
                self.gh, self.services, self.options.repo, listed, facts.gitattributes, policy
            )
            out.append(replace(facts, files=tuple(sniffed)))
        return out

    async def _teams(self, policy: Policy) -> dict[str, frozenset[str]]:
        if not policy.teams:
            return {}
        return await gather.team_members(self.gh, self.services, self.owner, policy.teams)

    def _judged(
        self, facts: ChangeFacts, verdict: Verdict, activity: dict[str, Any] | None = None
    ) -> Judged:
        return landed.from_verdict(
            facts, verdict, landed_at=str((activity or {}).get("timestamp") or "")
        )

    def _from_record(
        self, record: dict[str, Any], change: ChangeId, node: dict[str, Any]
    ) -> Judged:
        """The change as this App recorded it: the record stands, sign-offs included."""
        if change.kind == "pull_request":
            return landed.from_record(
                record,
                change,
                url=str(node.get("url") or ""),
                landed_at=str(node.get("mergedAt") or ""),
                title=str(node.get("title") or ""),
            )
        return landed.from_record(
            record,
            change,
            url=self._push_url(change.before, change.after),
            landed_at=str(node.get("timestamp") or ""),
        )

    # -- pushes ---------------------------------------------------------------------------------
    async def _activities(self, branch: str) -> list[dict[str, Any]]:
        """The branch's pushes, force pushes, creations and deletions in the window."""
        return await branch_activity(
            self.gh,
            self.options.repo,
            branch,
            self.options.since,
            self.options.until,
            self.services.clock.now(),
            busy=self._merges.get(branch, 0) >= BUSY_BRANCH,
        )

    async def pushes(self) -> list[Judged]:
        names = await self.audited_branch_names()
        listings = await asyncio.gather(*(self._activities(name) for name in names))
        activities = [item for listing in listings for item in listing]
        self.progress.found(len(activities))

        async def one(activity: dict[str, Any]) -> Judged | None:
            try:
                return await self._judge_push(activity)
            finally:
                self.progress.judged()

        judged = await asyncio.gather(*(one(a) for a in activities))
        return [j for j in judged if j is not None]

    def _push_url(self, before: str, after: str) -> str:
        if after == ZERO_SHA:
            return f"{self.web_url}/commit/{before}"
        if before == ZERO_SHA:
            return f"{self.web_url}/compare/{self.default_branch}...{after}"
        return f"{self.web_url}/compare/{before}...{after}"

    async def _judge_push(self, activity: dict[str, Any]) -> Judged | None:
        """A push, read and judged by the App's own core (:func:`bot.gather.gather_push`): the
        commits it brought that did not land by a pull request, every file they changed, and for
        a force push or a deletion the commits it took away; the App's record where it wrote one.
        """
        branch = str(activity["ref"]).removeprefix("refs/heads/")
        kind_name = activity["activity_type"]
        change = ChangeId.push(
            self.options.repo,
            branch,
            str(activity["before"]),
            str(activity["after"]),
            forced=kind_name == "force_push",
            deleted=kind_name == "branch_deletion",
        )
        policy = await self.current_policy()
        if not await self.is_audited(branch, policy):
            return None
        gathered = await gather.gather_push(
            self.gh,
            self.services,
            change,
            policy,
            pusher=(activity.get("actor") or {}).get("login"),
            default_branch=self.default_branch,
            policy_at_base=self.options.policy is None,
        )
        if gathered.via_pull_requests:
            return None  # every commit landed by a merged pull request: audited as one
        if self.options.app_id and gathered.existing.landed and gathered.existing.record:
            return self._from_record(gathered.existing.record, change, activity)
        facts = replace(gathered.facts, url=self._push_url(change.before, change.after))
        return self._judged(facts, judge.judge(facts, gathered.policy), activity)


async def audit_history(
    gh: GitHubClient, services: Services, options: Options, progress: Progress | None = None
) -> Report:
    """Judge every change that landed on ``options.repo``'s audited branches in the window."""
    return await HistoryAudit(gh, services, options, progress).run()


def severity_at_least(severity: str, threshold: str) -> bool:
    """Whether ``severity`` (``none``, ``low``, ``high``) is at or above ``threshold``.

    >>> severity_at_least("high", "low"), severity_at_least("none", "low")
    (True, False)
    """
    order = {"none": 0, "low": 1, "high": 2}
    return order[severity] >= order[threshold]
