"""The weekly digest's use case: read the week from GitHub, render it, post or update its issue.

Computed from GitHub, not from memory (:mod:`bot.github.window`): the records on the week's merge
commits and pushed heads, and a fresh judgement by the core for any change that has none, so it is
right even when webhooks were missed. Running it again for the same week updates that week's
issue; when a new week's issue opens, the previous week's is closed with a link to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from gidgethub import BadRequest, GitHubException

from bot.core import digest as core
from bot.core.digest import DigestFacts, Dormant, StaleIssue, Week
from bot.core.landed import Judged, from_record, from_verdict
from bot.core.policy import Policy
from bot.core.record import find_audit_marker, parse_record
from bot.github import gather
from bot.github.client import GitHubClient, is_rate_limit
from bot.github.gather import split_repo, written_by_app
from bot.github.publish import comment_and_close
from bot.github.window import Landed, Window, parse_time
from bot.offload import judge_off_loop
from bot.services import Services, cached

logger = logging.getLogger(__name__)

DIGEST_LABEL: Final = "countersign: digest"
"""The label of digest issues (how they are found again, a page at a time)."""
PRIVILEGED: Final = frozenset({"admin", "maintain", "write"})


@dataclass(frozen=True)
class DigestOutcome:
    repository: str
    week: Week
    title: str
    body: str
    issue: str | None = None
    """``owner/repo#N`` of the digest issue written (None for a dry run)."""
    created: bool = False
    closed: tuple[str, ...] = ()


async def _fresh(
    gh: GitHubClient, services: Services, window: Window, landed: Landed
) -> Judged | None:
    """A change with no record, judged now by the core (read and judged, not recorded)."""
    change = landed.change
    if change.kind == "pull_request":
        assert change.number is not None
        gathered = await gather.gather_pull_request(gh, services, change.repo, change.number)
        verdict = await judge_off_loop(gathered.facts, gathered.policy)
        return from_verdict(gathered.facts, verdict, landed_at=landed.landed_at)
    assert window.policy is not None
    pushed = await gather.gather_push(
        gh, services, change, window.policy, pusher=landed.by, default_branch=window.default_branch
    )
    if pushed.via_pull_requests:
        return None
    verdict = await judge_off_loop(pushed.facts, pushed.policy)
    return from_verdict(pushed.facts, verdict, landed_at=landed.landed_at, url=landed.url)


def _row(landed: Landed) -> Judged:
    assert landed.record is not None
    return from_record(
        landed.record,
        landed.change,
        url=landed.url,
        landed_at=landed.landed_at,
        title=landed.title,
        branch=landed.branch,
    )


def _issue_query(count: int) -> str:
    params = "".join(f", $o{i}: String!, $n{i}: String!, $i{i}: Int!" for i in range(count))
    fields = "".join(
        f"\n  r{i}: repository(owner: $o{i}, name: $n{i}) {{ issue(number: $i{i}) {{ state }} }}"
        for i in range(count)
    )
    return f"query AuditIssueStates({params[2:]}) {{{fields}\n}}\n"


async def _issue_states(gh: GitHubClient, references: list[str]) -> dict[str, str]:
    """The state of each audit issue (``owner/repo#N``), 100 a GraphQL query."""
    states: dict[str, str] = {}
    for start in range(0, len(references), 100):
        batch = references[start : start + 100]
        variables: dict[str, Any] = {}
        for i, reference in enumerate(batch):
            repo, _, number = reference.partition("#")
            owner, name = split_repo(repo)
            variables.update({f"o{i}": owner, f"n{i}": name, f"i{i}": int(number)})
        data = await gh.query(_issue_query(len(batch)), **variables)
        for i, reference in enumerate(batch):
            issue = (data.get(f"r{i}") or {}).get("issue") or {}
            if issue.get("state"):
                states[reference] = str(issue["state"]).lower()
    return states


async def _stale_issues(
    gh: GitHubClient, services: Services, repo: str, policy: Policy, now: datetime
) -> list[StaleIssue]:
    """Audit issues about ``repo`` that this App opened and that are open for over 14 days."""
    audit_repo = policy.audit_repository or repo
    owner, name = split_repo(audit_repo)
    # by creator, not by label: removing a label must not drop the reminder
    url = (
        "/repos/{owner}/{name}/issues?state=open&creator={creator}&sort=created&direction=asc"
        "&per_page=100"
    )
    creator = f"{await services.github.slug()}[bot]"
    variables: dict[str, Any] = {"owner": owner, "name": name, "creator": creator}
    found: list[StaleIssue] = []
    async for issue in gh.getiter(url, variables):
        opened = parse_time(issue.get("created_at"))
        if opened is None or now - opened <= core.STALE_AFTER:
            break  # oldest first: the rest are younger
        marker = find_audit_marker(issue.get("body") or "")
        if (
            "pull_request" not in issue
            and written_by_app(issue, services.settings.app_id)
            and marker is not None
            and marker[0] == repo
        ):
            found.append(
                StaleIssue(
                    reference=f"{audit_repo}#{issue['number']}",
                    title=str(issue.get("title") or ""),
                    url=str(issue.get("html_url") or ""),
                    opened_at=str(issue.get("created_at") or ""),
                )
            )
    return found


DORMANT_QUERY: Final = """
query DormantAccount($owner: String!, $name: String!, $involves: String!, $reviewed: String!,
    $author: ID!, $since: GitTimestamp!) {
  involves: search(query: $involves, type: ISSUE, first: 1) { issueCount }
  reviewed: search(query: $reviewed, type: ISSUE, first: 1) { issueCount }
  repository(owner: $owner, name: $name) {
    defaultBranchRef { target { ... on Commit {
      history(author: {id: $author}, since: $since, first: 1) { totalCount } } } }
  }
}
"""


async def _is_dormant(
    gh: GitHubClient, services: Services, repo: str, person: dict[str, Any], since: datetime
) -> bool:
    """Whether ``person`` did nothing in ``repo`` since ``since``: no commit on the default
    branch, no issue or pull request they opened, commented on, were assigned or mentioned in,
    none they reviewed (one GraphQL request), and, for one who looks dormant by those, no pull
    request they merged (one more request, to the activity list). Cached for six days."""
    login = str(person["login"])
    owner, name = split_repo(repo)
    day = since.strftime("%Y-%m-%d")
    days = (services.clock.now() - since).days

    async def ask() -> bool:
        data = await gh.query(
            DORMANT_QUERY,
            owner=owner,
            name=name,
            involves=f"repo:{repo} involves:{login} updated:>={day}",
            reviewed=f"repo:{repo} reviewed-by:{login} updated:>={day}",
            author=str(person.get("node_id") or ""),
            since=since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        target = (
            ((data.get("repository") or {}).get("defaultBranchRef") or {}).get("target")
        ) or {}
        commits = int(((target.get("history") or {}).get("totalCount")) or 0)
        involved = int((data.get("involves") or {}).get("issueCount") or 0)
        reviewed = int((data.get("reviewed") or {}).get("issueCount") or 0)
        if commits + involved + reviewed:
            return False
        # search cannot find merges by who made them: the activity list's newest by this person
        async for item in gh.getiter(
            "/repos/{owner}/{name}/activity?actor={login}&activity_type=pr_merge&per_page=1",
            {"owner": owner, "name": name, "login": login},
        ):
            merged = parse_time(item.get("timestamp"))
            return merged is None or merged < since
        return True

    return await cached(services.caches.dormant, (repo, login, days), ask)


async def _dormant(
    gh: GitHubClient,
    services: Services,
    repo: str,
    days: int,
    now: datetime,
    unseen: list[str],
) -> list[Dormant]:
    owner, name = split_repo(repo)
    since = now - timedelta(days=days)
    found: list[Dormant] = []
    async for person in gh.getiter(
        "/repos/{owner}/{name}/collaborators?affiliation=all&per_page=100",
        {"owner": owner, "name": name},
    ):
        role = str(person.get("role_name") or "")
        permissions = person.get("permissions") or {}
        if role not in PRIVILEGED and not (permissions.get("push") or permissions.get("admin")):
            continue
        if person.get("type") == "Bot":
            continue
        try:
            dormant = await _is_dormant(gh, services, repo, person, since)
        except GitHubException as exc:
            if is_rate_limit(exc):
                raise
            # never accuse anyone on an answer GitHub did not give: say what was not seen
            unseen.append(
                f"whether {person['login']} is a dormant privileged account: GitHub's answer "
                f"was an error ({type(exc).__name__})"
            )
            continue
        if dormant:
            found.append(Dormant(str(person["login"]), role or "write"))
    return found


async def _digest_issues(
    gh: GitHubClient, services: Services, target: str, repo: str, week: Week | None = None
) -> list[tuple[dict[str, Any], Week]]:
    """This App's digest issues about ``repo`` in ``target`` of the weeks up to 9 before ``week``,
    with their weeks: found by their creator (not by a label anyone with triage can remove),
    believed only where the title, the marker and the hidden record agree and the issue was
    opened no earlier than its week began (people with write access can edit the body of an
    issue this App wrote). Oldest first."""
    owner, name = split_repo(target)
    creator = f"{await services.github.slug()}[bot]"
    oldest = (week or Week.of(services.clock.now())).start - timedelta(weeks=core.CHART_WEEKS + 1)
    found = []
    async for issue in gh.getiter(
        "/repos/{owner}/{name}/issues?state=all&creator={creator}&sort=created&direction=desc"
        "&per_page=100",
        {"owner": owner, "name": name, "creator": creator},
    ):
        opened = parse_time(issue.get("created_at"))
        if opened is not None and opened < oldest:
            break  # newest first: the rest are older than any digest the chart or a close needs
        if "pull_request" in issue or not written_by_app(issue, services.settings.app_id):
            continue
        body = issue.get("body") or ""
        marker = core.find_digest_marker(body)
        if marker is None or marker[0] != repo:
            continue
        issue_week = marker[1]
        record = parse_record(body) or {}
        if (
            issue.get("title") == core.title(repo, issue_week)
            and record.get("repository") == repo
            and record.get("week") == issue_week.text
            and opened is not None
            and opened >= issue_week.start
        ):
            found.append((dict(issue), issue_week))
    found.reverse()
    return found


async def _converge(
    gh: GitHubClient, services: Services, target: str, repo: str, week: Week, number: int
) -> int:
    """After opening a digest issue: where another process opened one for the same week at the
    same time (two replicas, the server and a cron run), the oldest stays and the others are
    closed as its duplicates. Returns the number of the one that stays."""
    same = sorted(
        int(issue["number"])
        for issue, issue_week in await _digest_issues(gh, services, target, repo, week)
        if issue_week == week and issue.get("state") == "open"
    )
    keep = same[0] if same else number
    for duplicate in same[1:]:
        if duplicate != number:
            continue  # each process closes only its own duplicate
        await comment_and_close(
            gh,
            target,
            duplicate,
            f"Duplicate of {target}#{keep}: the digest of {week.text} is there.",
            "not_planned",
        )
    return keep


async def enabled(gh: GitHubClient, services: Services, repo: str) -> bool:
    """Whether ``repo``'s policy (as it stands now) wants the weekly digest."""
    owner, name = split_repo(repo)
    answer = await gh.getitem("/repos/{owner}/{name}", {"owner": owner, "name": name})
    policy = await gather.policy_for(gh, services, repo, str(answer["default_branch"]))
    return policy.digest.enabled


async def read_digest(
    gh: GitHubClient, services: Services, repo: str, week: Week
) -> tuple[DigestFacts, Policy, list[tuple[dict[str, Any], Week]]]:
    """The week's facts, the policy, and the digest issues already written about ``repo``."""
    now = services.clock.now()
    window = Window(gh, services, repo, week.start, week.end if week.end <= now else None)
    found = await window.read()
    policy = window.policy
    assert policy is not None
    rows: list[Judged] = []
    for landed in found:
        row = (
            _row(landed)
            if landed.record is not None
            else await _fresh(gh, services, window, landed)
        )
        if row is not None:
            rows.append(row)
    open_refs = sorted({c.audit_issue for c in rows if c.needs_attention and c.audit_issue})
    target = policy.digest.repository or repo
    issues = await _digest_issues(gh, services, target, repo, week)
    history: dict[str, tuple[int, int]] = {}
    for issue, issue_week in issues:
        split = core.week_split(issue.get("body"))
        if split is not None and issue_week != week:
            history[issue_week.text] = split
    unseen: list[str] = []
    dormant = await _dormant(gh, services, repo, policy.digest.dormant_after_days, now, unseen)
    facts = DigestFacts(
        repository=repo,
        week=week,
        now=now,
        changes=tuple(rows),
        issue_states=await _issue_states(gh, list(open_refs)) if open_refs else {},
        stale=tuple(await _stale_issues(gh, services, repo, policy, now)),
        history=history,
        dormant=tuple(dormant),
        dormant_after_days=policy.digest.dormant_after_days,
        unseen=tuple(unseen),
        policy_errors=tuple(str(e) for e in policy.errors),
    )
    return facts, policy, issues


async def post_digest(
    gh: GitHubClient, services: Services, repo: str, week: Week, *, dry_run: bool = False
) -> DigestOutcome:
    """Post (or update) ``repo``'s digest of ``week``; with ``dry_run`` only render it. A week
    that has not begun is refused (ValueError): it would close the real last digest."""
    if week.start > services.clock.now():
        raise ValueError(f"the week {week.text} has not begun")
    facts, policy, issues = await read_digest(gh, services, repo, week)
    title, text = core.title(repo, week), core.body(facts)
    if dry_run:
        return DigestOutcome(repo, week, title, text)
    target = policy.digest.repository or repo
    owner, name = split_repo(target)
    mine = [issue for issue, issue_week in issues if issue_week == week]
    created = False
    if mine:
        number = int(mine[0]["number"])
        if mine[0].get("body") != text:
            await gh.patch(
                "/repos/{owner}/{name}/issues/{number}",
                {"owner": owner, "name": name, "number": number},
                data={"body": text},
            )
    else:
        answer = await gh.post(
            "/repos/{owner}/{name}/issues",
            {"owner": owner, "name": name},
            data={"title": title, "body": text, "labels": [DIGEST_LABEL]},
        )
        number, created = int(answer["number"]), True
        number = await _converge(gh, services, target, repo, week, number)
    reference = f"{target}#{number}"
    closed: list[str] = []
    for issue, issue_week in issues:
        if issue_week < week and issue.get("state") == "open":
            old = int(issue["number"])
            try:
                await comment_and_close(
                    gh, target, old, f"Superseded by the digest of {week.text}: {reference}."
                )
            except BadRequest as exc:
                if exc.status_code not in (404, 410):
                    raise
                continue
            closed.append(f"{target}#{old}")
    logger.info(
        "digest posted",
        extra={"repository": repo, "week": week.text, "issue": reference, "opened": created},
    )
    return DigestOutcome(repo, week, title, text, reference, created, tuple(closed))
