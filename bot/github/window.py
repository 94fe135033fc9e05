"""The changes that landed on a repository's audited branches in a window of time, each with this
App's record of it where there is one: what the sweep and the weekly digest start from.

Merged pull requests are listed with GraphQL, 100 a query, newest update first, each with this
App's ``countersign`` check runs on its merge commit. Pushes, force pushes and branch deletions
come from GitHub's repository activity list (``GET /repos/{owner}/{repo}/activity``: it names who
pushed and whether it was forced), per audited branch, and their records are read 100 heads a
GraphQL query. Nothing here judges or writes anything.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bot.core.change import ZERO_SHA, ChangeId
from bot.core.policy import Policy, is_audited_branch
from bot.github import gather
from bot.github.client import GitHubClient
from bot.github.gather import ExistingRecord, split_repo
from bot.services import Services

PAGE: Final = 100
ACTIVITY_TYPES: Final = ("push", "force_push", "branch_creation", "branch_deletion")
"""The kinds of activity that are changes of their own (merges are read as pull requests)."""
BUSY_BRANCH: Final = PAGE // 2
"""A branch with at least this many merges in the window has its activity listed by kind."""
TIME_PERIODS: Final = (("day", 1), ("week", 7), ("month", 28), ("quarter", 89), ("year", 365))
"""The activity list's ``time_period`` filter, with the fewest days each surely covers."""

_RUNS = """checkSuites(first: 20, filterBy: {appId: $appId}) { nodes {
  checkRuns(first: 10, filterBy: {checkName: "countersign"}) { pageInfo { hasNextPage }
    nodes { databaseId externalId conclusion text } } } }"""


PULLS_QUERY: Final = f"""
query LandedPullRequests($owner: String!, $name: String!, $after: String, $appId: Int!) {{
  repository(owner: $owner, name: $name) {{
    url defaultBranchRef {{ name }}
    pullRequests(states: [MERGED], orderBy: {{field: UPDATED_AT, direction: DESC}}, first: 100,
        after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        number title url mergedAt updatedAt baseRefName
        author {{ login }} mergedBy {{ login }}
        mergeCommit {{ oid {_RUNS} }}
      }}
    }}
  }}
}}
"""


def _heads_query(count: int) -> str:
    params = "".join(f", $h{i}: GitObjectID!" for i in range(count))
    objects = "".join(
        f"\n    h{i}: object(oid: $h{i}) {{ ... on Commit {{ oid {_RUNS} }} }}"
        for i in range(count)
    )
    return (
        f"query LandedHeads($owner: String!, $name: String!, $appId: Int!{params}) {{\n"
        f"  repository(owner: $owner, name: $name) {{{objects}\n  }}\n}}\n"
    )


def time_period(now: datetime, since: datetime) -> str | None:
    """The shortest activity-list ``time_period`` that covers ``since`` (None: no filter).

    >>> from datetime import timedelta
    >>> now = datetime(2026, 12, 6)
    >>> time_period(now, now - timedelta(hours=48)), time_period(now, now - timedelta(days=400))
    ('week', None)
    """
    days = (now - since).total_seconds() / 86400
    for period, covers in TIME_PERIODS:
        if days <= covers:
            return period
    return None


def parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


@dataclass(frozen=True)
class Landed:
    """One change that landed: its identity, when, this App's record of it (None: none), and what
    GitHub's listing said about it (a pull request's node, or an activity item)."""

    change: ChangeId
    landed_at: str
    record: dict[str, Any] | None
    url: str
    title: str = ""
    author: str | None = None
    by: str | None = None
    """Who merged it, or pushed it."""
    branch: str = ""


class Window:
    """One repository's landed changes between ``since`` and ``until``."""

    def __init__(
        self,
        gh: GitHubClient,
        services: Services,
        repo: str,
        since: datetime,
        until: datetime | None = None,
    ) -> None:
        self.gh = gh
        self.services = services
        self.repo = repo
        self.since = since
        self.until = until
        self.owner, self.name = split_repo(repo)
        self.default_branch = ""
        self.web_url = f"https://github.com/{repo}"
        self.policy: Policy | None = None
        self._protected: frozenset[str] | None = None
        self._patterns: tuple[str, ...] = ()

    def _in_window(self, when: datetime | None) -> bool:
        """``since`` included, ``until`` not (None: up to now, included)."""
        if when is None or when < self.since:
            return False
        return self.until is None or when < self.until

    async def read(self) -> list[Landed]:
        """Every change that landed in the window on an audited branch, oldest first."""
        found = await self.pull_requests()  # the first page says the default branch
        found += await self.pushes(Counter(landed.branch for landed in found))
        found.sort(key=lambda landed: (landed.landed_at, landed.change.key))
        return found

    async def _audited(self, branch: str) -> bool:
        """Whether ``branch`` is audited: the default branch, the policy's globs, or (without
        them) a protected branch, by the protection rules' patterns, so that a branch deleted
        since still counts."""
        assert self.policy is not None
        if self.policy.branches is None and self._protected is None:
            names = await gather.protected_branches(self.gh, self.services, self.repo)
            self._patterns = await gather.protection_patterns(self.gh, self.services, self.repo)
            self._protected = frozenset(names)
        protected = self._protected or frozenset()
        if branch not in protected and any(
            fnmatch.fnmatchcase(branch, pattern) for pattern in self._patterns
        ):
            protected = protected | {branch}
        return is_audited_branch(branch, self.policy, self.default_branch, protected)

    async def pull_requests(self) -> list[Landed]:
        found: list[Landed] = []
        after: str | None = None
        app_id = int(self.services.settings.app_id)
        while True:
            data = await self.gh.query(
                PULLS_QUERY, owner=self.owner, name=self.name, after=after, appId=app_id
            )
            repository = data["repository"]
            if self.policy is None:
                self.default_branch = str((repository.get("defaultBranchRef") or {})["name"])
                self.web_url = str(repository.get("url") or self.web_url)
                self.policy = await gather.policy_for(
                    self.gh, self.services, self.repo, self.default_branch
                )
            listing = repository["pullRequests"]
            nodes = [node for node in listing["nodes"] or [] if node]
            for node in nodes:
                if not self._in_window(parse_time(node.get("mergedAt"))):
                    continue
                change = ChangeId.pull_request(self.repo, int(node["number"]))
                merge = node.get("mergeCommit")
                existing = await self._record(merge, change.key)
                # a change recorded when it landed was audited then, whatever the policy now
                if not existing.landed and not await self._audited(str(node["baseRefName"])):
                    continue
                found.append(
                    Landed(
                        change=change,
                        landed_at=str(node.get("mergedAt") or ""),
                        record=existing.record if existing.landed else None,
                        url=str(node.get("url") or ""),
                        title=str(node.get("title") or ""),
                        author=(node.get("author") or {}).get("login"),
                        by=(node.get("mergedBy") or {}).get("login"),
                        branch=str(node["baseRefName"]),
                    )
                )
            oldest = parse_time(nodes[-1].get("updatedAt")) if nodes else None
            # newest update first: a pull request last updated before the window merged before it
            if not listing["pageInfo"]["hasNextPage"] or (
                oldest is not None and oldest < self.since
            ):
                return found
            after = listing["pageInfo"]["endCursor"]

    async def _branches(self) -> list[str]:
        """The branches whose activity is read: the default branch, the protected ones (or the
        policy's named branches) and every existing branch a policy glob matches."""
        assert self.policy is not None
        names = {self.default_branch}
        if self.policy.branches is None:
            names |= self._protected or await gather.protected_branches(
                self.gh, self.services, self.repo
            )
            return sorted(names)
        globs = self.policy.branches
        names |= {g for g in globs if not any(c in g for c in "*?[")}
        if any(any(c in g for c in "*?[") for g in globs):
            async for branch in self.gh.getiter(
                "/repos/{owner}/{name}/branches?per_page=100",
                {"owner": self.owner, "name": self.name},
            ):
                if any(fnmatch.fnmatchcase(str(branch["name"]), g) for g in globs):
                    names.add(str(branch["name"]))
        return sorted(names)

    async def pushes(self, merges: Mapping[str, int] | None = None) -> list[Landed]:
        """The pushes, force pushes, creations and deletions in the window on the audited
        branches, those deleted since included (found among the window's deletions, one short
        listing), each read from the activity list by branch (``merges`` per branch decide
        whether a branch's listing goes by kind, so as not to page through its merges)."""
        names = set(await self._branches())
        async for item in self.gh.getiter(
            "/repos/{owner}/{name}/activity{?activity_type,time_period,per_page}",
            {
                "owner": self.owner,
                "name": self.name,
                "activity_type": "branch_deletion",
                "time_period": time_period(self.services.clock.now(), self.since),
                "per_page": PAGE,
            },
        ):
            when = parse_time(item.get("timestamp"))
            if when is None or when < self.since:
                break
            ref = str(item.get("ref", ""))
            if ref.startswith("refs/heads/") and await self._audited(ref[len("refs/heads/") :]):
                names.add(ref[len("refs/heads/") :])
        items: list[dict[str, Any]] = []
        for branch in sorted(names):
            for item in await branch_activity(
                self.gh,
                self.repo,
                branch,
                self.since,
                None,
                self.services.clock.now(),
                busy=(merges or {}).get(branch, 0) >= BUSY_BRANCH,
            ):
                if self._in_window(parse_time(item.get("timestamp"))):
                    items.append(item)
        changes = [self._change(item) for item in items]
        records = await self._records([c.head for c in changes], [c.key for c in changes])
        found = []
        for change, item, record in zip(changes, items, records, strict=True):
            found.append(
                Landed(
                    change=change,
                    landed_at=str(item.get("timestamp") or ""),
                    record=record,
                    url=self._push_url(change),
                    by=(item.get("actor") or {}).get("login"),
                    branch=str(change.branch),
                )
            )
        return found

    def _change(self, item: dict[str, Any]) -> ChangeId:
        kind = item.get("activity_type")
        return ChangeId.push(
            self.repo,
            str(item["ref"]).removeprefix("refs/heads/"),
            str(item.get("before") or ZERO_SHA),
            str(item.get("after") or ZERO_SHA),
            forced=kind == "force_push",
            deleted=kind == "branch_deletion",
        )

    def _push_url(self, change: ChangeId) -> str:
        if change.deleted:
            return f"{self.web_url}/commit/{change.before}"
        if change.before == ZERO_SHA:
            return f"{self.web_url}/commit/{change.after}"
        return f"{self.web_url}/compare/{change.before}...{change.after}"

    async def _records(
        self, heads: Sequence[str], keys: Sequence[str]
    ) -> list[dict[str, Any] | None]:
        """This App's landed record of each change on its head, 100 heads a query."""
        found: list[dict[str, Any] | None] = []
        app_id = int(self.services.settings.app_id)
        for start in range(0, len(heads), PAGE):
            batch = heads[start : start + PAGE]
            data = await self.gh.query(
                _heads_query(len(batch)),
                owner=self.owner,
                name=self.name,
                appId=app_id,
                **{f"h{i}": sha for i, sha in enumerate(batch)},
            )
            for i, key in enumerate(keys[start : start + PAGE]):
                existing = await self._record(data["repository"].get(f"h{i}"), key)
                found.append(existing.record if existing.landed else None)
        return found

    async def _record(self, commit: dict[str, Any] | None, key: str) -> ExistingRecord:
        return await gather.find_record(self.gh, self.services, self.repo, commit, key)


async def branch_activity(
    gh: GitHubClient,
    repo: str,
    branch: str,
    since: datetime,
    until: datetime | None,
    now: datetime,
    *,
    busy: bool = False,
) -> list[dict[str, Any]]:
    """A branch's pushes, force pushes, creations and deletions from ``since`` until ``until``
    (None: now), from GitHub's repository activity list: all of its activity where it is quiet,
    one listing per kind where it is ``busy`` with merges (which would otherwise be paged
    through)."""
    owner, name = split_repo(repo)
    found: list[dict[str, Any]] = []
    for kind in ACTIVITY_TYPES if busy else (None,):
        async for item in gh.getiter(
            "/repos/{owner}/{name}/activity{?ref,activity_type,time_period,per_page}",
            {
                "owner": owner,
                "name": name,
                "ref": f"refs/heads/{branch}",
                "activity_type": kind,
                "time_period": time_period(now, since),
                "per_page": PAGE,
            },
        ):
            when = parse_time(item.get("timestamp"))
            if when is None or when < since:
                break  # newest first: the rest are older still
            if item.get("activity_type") in ACTIVITY_TYPES and (until is None or when <= until):
                found.append(item)
    return found


async def landed_in(
    gh: GitHubClient, services: Services, repo: str, since: datetime, until: datetime | None = None
) -> tuple[Window, list[Landed]]:
    """The changes that landed on ``repo``'s audited branches from ``since`` until ``until``
    (None: until now)."""
    window = Window(gh, services, repo, since, until)
    return window, await window.read()
