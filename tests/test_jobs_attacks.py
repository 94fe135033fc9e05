"""Attacks on the periodic jobs (the sweep, redelivery, the weekly digest and their scheduler): an
insider with write access who wants an unreviewed change to vanish from the digest or never get a
record, or a forged digest to be believed; an outsider with a sock puppet; and plain bad luck
(restarts, two replicas, week boundaries, GitHub errors). Each test asserts the safe behaviour;
those marked "Was a hole (fixed)" failed before the fix they describe."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import digest as digest_module
from bot import redelivery
from bot.cli import jobs
from bot.core import digest as core
from bot.core.digest import DIGEST_SCHEMA, Week, digest_marker, find_digest_marker
from bot.core.record import encode_record, parse_record
from bot.digest import DIGEST_LABEL, post_digest
from bot.github.client import GitHubApp, GitHubClient
from bot.service.server import SCHEDULER
from bot.services import Services
from bot.sweep import GRACE
from tests.fakegithub import mermaid
from tests.support import SECRET, Bot, app_env, settings_for
from tests.test_digest import digests, gh
from tests.test_merge_audit import audit_issues, countersign_runs, make_repo, merge_and_deliver

ATTEMPTS = "POST /app/hook/deliveries/{delivery_id}/attempts"
CHECK_RUNS = "POST /repos/{owner}/{repo}/check-runs"
PIPE = re.compile(r"(?<!\\)\|")

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def env(bot: Bot) -> dict[str, str]:
    return app_env(bot.fake)


def until(bot: Bot, when: datetime) -> None:
    """Move both clocks forward to ``when``."""
    seconds = (when - bot.clock.now()).total_seconds()
    assert seconds >= 0, "time only moves forward"
    bot.clock.advance(seconds)


def next_week(bot: Bot) -> Week:
    """Move to Monday 10:00 UTC of next week, and return that week (whatever today is)."""
    week = Week.of(bot.clock.now()).next()
    until(bot, week.start + timedelta(hours=10))
    return week


def after(bot: Bot, week: Week) -> None:
    """Move to the Monday after ``week`` at 07:00 UTC, when its digest is due."""
    until(bot, week.end + timedelta(hours=7))


_files = iter(range(10**6))


async def direct_push(
    bot: Bot, repo: Any, branch: str = "main", *, deliver: bool = True, pusher: str = "dave"
) -> Any:
    """An unreviewed direct push (delivered unless ``deliver`` is false: a lost webhook)."""
    n = next(_files)
    push = repo.push(
        branch, [{"message": f"quick fix {n}", "files": {f"f{n}.txt": f"{n}\n"}}], pusher=pusher
    )
    if deliver:
        assert await bot.deliver(bot.fake.webhooks.push(push)) == 202
    return push


def issue_of(repo: Any, reference: str | None) -> Any:
    assert reference is not None and reference.startswith(f"{repo.full_name}#")
    return repo.issue(int(reference.rsplit("#", 1)[1]))


def bars(body: str) -> tuple[list[str], list[str]]:
    """The chart's two series (reviewed, not reviewed), oldest week first, as written."""
    (chart,) = mermaid.charts(body)
    reviewed, not_reviewed = re.findall(r"^\s*bar \[([^\]]*)\]", chart, re.M)
    return [x.strip() for x in reviewed.split(",")], [x.strip() for x in not_reviewed.split(",")]


def listed(push: Any, text: str) -> bool:
    """Whether a digest lists ``push`` (by its label: its SHA also shows in later pushes' links)."""
    return f"push {push.after[:7]}]" in text


def section(body: str, heading: str) -> str:
    return body.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]


def replace_record(issue: Any, **changes: Any) -> None:
    """An insider edits the hidden record of an issue (GitHub lets anyone with write access edit
    any issue's body, the App's included)."""
    record = parse_record(issue.body)
    assert record is not None
    lines = issue.body.split("\n")
    (index,) = [i for i, line in enumerate(lines) if parse_record(line) == record]
    lines[index] = encode_record({**record, **changes})
    issue.body = "\n".join(lines)


@contextlib.asynccontextmanager
async def replica(bot: Bot) -> AsyncIterator[tuple[Services, GitHubClient]]:
    """A second replica of the server: its own services, caches and GitHub client, same App."""
    settings = settings_for(bot.fake)
    github = GitHubApp(settings, bot.clock)
    services = Services(settings=settings, github=github, clock=bot.clock)
    try:
        yield services, await github.for_installation(bot.fake.installation("octo-org").id)
    finally:
        await github.close()


def hook(bot: Bot) -> None:
    bot.fake.hook_url = str(bot.client.make_url("/webhook"))
    bot.fake.hook_secret = SECRET


def runs_for(repo: Any, sha: str, key: str) -> list[Any]:
    return [r for r in countersign_runs(repo, sha) if r.external_id == key]


# ---------------------------------------------------------------------------------------------
# Forged and edited digest issues
# ---------------------------------------------------------------------------------------------


async def test_a_digest_issue_written_by_a_user_is_never_adopted_closed_or_charted(bot: Bot):
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    last = week.previous()
    name = repo.full_name
    forged = {
        "schema": DIGEST_SCHEMA,
        "version": 1,
        "kind": "digest",
        "repository": name,
        "week": last.text,
        "reviewed": 37,
        "not_reviewed": 0,
    }
    old = repo.create_issue(
        core.title(name, last),
        author="mallory",
        body=digest_marker(name, last) + "\n" + encode_record(forged),
        labels=[DIGEST_LABEL],
    )
    decoy_body = digest_marker(name, week) + "\nEverything was reviewed this week."
    decoy = repo.create_issue(
        core.title(name, week), author="mallory", body=decoy_body, labels=[DIGEST_LABEL]
    )
    after(bot, week)
    outcome = await post_digest(await gh(bot), bot.services, name, week)
    assert outcome.created and outcome.issue != f"{name}#{decoy.number}"
    assert decoy.body == decoy_body and decoy.state == "open" and not decoy.comments
    assert old.state == "open" and not old.comments
    reviewed, _ = bars(outcome.body)
    assert "37" not in reviewed


async def test_an_edited_digest_marker_cannot_make_a_new_week_overwrite_an_old_issue(bot: Bot):
    # Was a hole (fixed): _digest_issues (bot/digest.py) believes the week the marker of an App-written digest
    # issue names, but anyone with write access can edit that body. Renaming last week's issue
    # to this week makes post_digest adopt it: this week's digest is written into the issue
    # titled with last week, overwriting last week's table. Cross-check what GitHub asserts: a
    # digest of week W can only have been created after W ended (issue created_at >= W.end),
    # its title must be core.title(repo, W), and its record's repository and week must match
    # the marker; better, ignore digest issues whose body someone else edited (GraphQL
    # Issue.lastEditedAt / editor).
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    client = await gh(bot)
    first = await post_digest(client, bot.services, repo.full_name, week)
    old = issue_of(repo, first.issue)
    new_week = week.next()
    old.body = old.body.replace(
        digest_marker(repo.full_name, week), digest_marker(repo.full_name, new_week)
    )
    after(bot, new_week)
    later = await post_digest(client, bot.services, repo.full_name, new_week)
    assert issue_of(repo, later.issue).title == core.title(repo.full_name, new_week)
    assert f"week {week.text}" in old.body, old.body[:300]  # last week's table is not overwritten


async def test_a_mangled_digest_record_never_breaks_the_chart(bot: Bot):
    # Was a hole (fixed): week_split (bot/core/digest.py) accepts any int, and a bool is an int in Python: an
    # edited record with "reviewed": true and "not_reviewed": -7 becomes `bar [..., True, ...]`,
    # which Mermaid cannot parse (GitHub shows an error box instead of the chart), and a
    # negative bar. Accept only non-negative ints that are not bools (and see the hole above).
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    client = await gh(bot)
    first = await post_digest(client, bot.services, repo.full_name, week)
    replace_record(issue_of(repo, first.issue), reviewed=True, not_reviewed=-7)
    after(bot, week.next())
    try:
        later = await post_digest(client, bot.services, repo.full_name, week.next())
        (chart,) = mermaid.charts(later.body)
        assert mermaid.check(chart) == [], chart
        assert "-7" not in chart, chart
    finally:  # the assertion above says it; do not fail the teardown a second time
        bot.fake.shape_errors[:] = [e for e in bot.fake.shape_errors if "mermaid" not in e]


async def test_a_digest_issue_renamed_to_another_repository_is_not_closed_by_its_digest(bot: Bot):
    # Was a hole (fixed): with a shared digest.repository, _digest_issues (bot/digest.py) believes the
    # repository an App-written issue's (editable) marker names. An insider renames widgets'
    # digest to gadgets: gadgets' next digest closes it as "superseded" and charts widgets'
    # numbers as its own, and widgets' digests never find it again. Cross-check the marker with
    # the record's repository and the title, and ignore bodies edited by anyone but the App.
    policy = "digest:\n  repository: octo-org/audit\n"
    audit = bot.fake.add_repo("octo-org/audit")
    widgets = make_repo(bot.fake, policy=policy)
    gadgets = bot.fake.add_repo("octo-org/gadgets", protected=["main"])
    gadgets.set_file(".github/countersign.yml", policy)
    week = next_week(bot)
    await direct_push(bot, widgets)
    after(bot, week)
    client = await gh(bot)
    first = await post_digest(client, bot.services, widgets.full_name, week)
    assert first.issue is not None and first.issue.startswith("octo-org/audit#")
    issue = issue_of(audit, first.issue)
    issue.body = issue.body.replace("repo=octo-org/widgets", "repo=octo-org/gadgets")
    after(bot, week.next())
    later = await post_digest(client, bot.services, gadgets.full_name, week.next())
    assert issue.state == "open" and not issue.comments, later.closed
    _, not_reviewed = bars(later.body)
    assert not_reviewed[-2] == "0", later.body


# ---------------------------------------------------------------------------------------------
# Duplicates: restarts, labels, replicas
# ---------------------------------------------------------------------------------------------


async def test_removing_the_digest_label_does_not_make_the_next_run_open_a_duplicate(bot: Bot):
    # Was a hole (fixed): _digest_issues (bot/digest.py) finds the App's digest issues by the label
    # `countersign: digest`, which anyone with triage access can remove. Without it, the next
    # run (a restart of the server, or an hourly cron of `python -m bot digest`) opens the week's
    # digest again, and last week's digest is never closed. Find them by what GitHub asserts
    # (the issues the App created: `creator=<app-slug>[bot]`, or a search on the marker with
    # `author:app/<slug>`), not by a label.
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    client = await gh(bot)
    first = await post_digest(client, bot.services, repo.full_name, week)
    assert issue_of(repo, first.issue).remove_label(DIGEST_LABEL)
    again = await post_digest(client, bot.services, repo.full_name, week)
    assert again.issue == first.issue and not again.created
    assert len(digests(repo)) == 1


async def test_two_replicas_posting_the_same_digest_leave_one_open_issue(bot: Bot):
    # Was a hole (fixed): post_digest (bot/digest.py) reads the digest issues, then opens one when none is
    # found; two replicas whose schedulers fire at the same hour (or a replica and a cron job)
    # both find none and both open one. Nothing ever reconciles them: later runs update
    # mine[0] and leave the other open for good. After opening, list again and close the
    # higher-numbered duplicates of the same week (keep the lowest), and do the same whenever
    # more than one is found.
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    client = await gh(bot)
    async with replica(bot) as (services, other):
        await asyncio.gather(
            post_digest(client, bot.services, repo.full_name, week),
            post_digest(other, services, repo.full_name, week),
        )
        await post_digest(other, services, repo.full_name, week)  # a later run, or a restart
    open_ones = [
        i
        for i in digests(repo)
        if i.state == "open" and find_digest_marker(i.body) == (repo.full_name, week)
    ]
    assert len(open_ones) == 1, [i.number for i in open_ones]


async def test_a_restart_updates_the_weeks_digest_and_writes_nothing_when_unchanged(bot: Bot):
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    await bot.app[SCHEDULER].digests()
    await bot.idle()
    (issue,) = digests(repo)
    async with replica(bot) as (services, other):  # the restarted server: nothing in memory
        bot.fake.reset_counts()
        again = await post_digest(other, services, repo.full_name, week)
    assert again.issue == f"{repo.full_name}#{issue.number}" and not again.created
    assert bot.fake.count("POST /repos/{owner}/{repo}/issues") == 0
    assert bot.fake.count("PATCH /repos/{owner}/{repo}/issues/{issue_number}") == 0


# ---------------------------------------------------------------------------------------------
# Changes that vanish from the digest
# ---------------------------------------------------------------------------------------------


async def test_a_push_to_a_deleted_audited_branch_still_appears_in_the_digest(bot: Bot):
    # Was a hole (fixed): Window._branches (bot/github/window.py) reads the activity of the branches that
    # exist now. An insider pushes an unreviewed change to release/1.0 (audited by the policy's
    # glob), then deletes the branch: neither the push nor the deletion is listed in the digest
    # (and the sweep never sees them if their webhooks were lost). Read the repository's
    # activity list without `ref` (one listing, filtered by time_period) and keep the items whose
    # branch is audited, or at least add the branches of the window's branch_deletion items.
    repo = make_repo(bot.fake, policy='branches: ["main", "release/*"]\n')
    repo.create_branch("release/1.0")
    week = next_week(bot)
    push = await direct_push(bot, repo, "release/1.0")
    gone = repo.push("release/1.0", delete=True, pusher="dave")
    assert await bot.deliver(bot.fake.webhooks.push(gone)) == 202
    assert runs_for(repo, push.after, f"push-release/1.0-{push.after}")  # recorded when it landed
    after(bot, week)
    outcome = await post_digest(await gh(bot), bot.services, repo.full_name, week, dry_run=True)
    assert "`release/1.0`" in section(outcome.body, "Landed changes"), outcome.body
    assert listed(push, section(outcome.body, "Neither reviewed nor signed off"))


async def test_a_merge_into_a_protected_branch_deleted_later_still_appears_in_the_digest(
    bot: Bot,
):
    # Was a hole (fixed): Window._audited (bot/github/window.py) decides whether a merged pull request's base
    # is audited from the protected branches that exist now (GET /branches?protected=true). A
    # merge into 3.12 (protected by the rule 3.*) disappears from the digest once the branch is
    # deleted. Match the protection rules' patterns (gather.protection_patterns, as the push
    # audit does for deletions), and keep every change that carries this App's landed record.
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    week = next_week(bot)
    pr = repo.open_pull(author="alice", base="3.12", title="Sneaky", files={"src/x.c": "1\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    gone = repo.push("3.12", delete=True, pusher="alice")
    assert await bot.deliver(bot.fake.webhooks.push(gone)) == 202
    after(bot, week)
    outcome = await post_digest(await gh(bot), bot.services, repo.full_name, week, dry_run=True)
    assert f"#{pr.number} Sneaky" in outcome.body, outcome.body


async def test_removing_the_audit_label_does_not_hide_a_stale_audit_issue(bot: Bot):
    # Was a hole (fixed): _stale_issues (bot/digest.py) lists open issues carrying the first audit label.
    # After its week, the "open longer than 14 days" list is the only place an unreviewed
    # change is still shown, and anyone with triage access can remove the `countersign` label
    # from its audit issue: the change vanishes from every later digest. List the App's own
    # open issues (`creator=<app-slug>[bot]`), whatever their labels.
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="m4", files={"m4/x.m4": "dnl\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    (issue,) = audit_issues(repo)
    assert issue.remove_label("countersign")
    bot.clock.advance(15 * 24 * 3600)
    outcome = await post_digest(
        await gh(bot), bot.services, repo.full_name, Week.of(bot.clock.now()), dry_run=True
    )
    stale = section(outcome.body, "Audit issues open longer than 14 days")
    assert f"/issues/{issue.number})" in stale, stale


# ---------------------------------------------------------------------------------------------
# Week boundaries
# ---------------------------------------------------------------------------------------------


async def test_a_push_at_monday_midnight_is_counted_in_exactly_one_week(bot: Bot):
    # Was a hole (fixed): branch_activity (bot/github/window.py) keeps items with `when <= until`, while
    # Window._in_window (pull requests) and the next week's `since` use a half-open interval: a
    # push at exactly Monday 00:00:00 UTC is counted in the week that ended and in the week
    # that starts. Use `when < until` there too.
    repo = make_repo(bot.fake)
    week = next_week(bot)
    until(bot, week.end - timedelta(seconds=1))  # Sunday 23:59:59
    sunday = await direct_push(bot, repo)
    bot.clock.advance(1)  # Monday 00:00:00
    monday = await direct_push(bot, repo)
    after(bot, week.next())
    client = await gh(bot)
    first = await post_digest(client, bot.services, repo.full_name, week, dry_run=True)
    second = await post_digest(client, bot.services, repo.full_name, week.next(), dry_run=True)
    assert listed(sunday, first.body) and not listed(sunday, second.body)
    assert listed(monday, second.body)
    assert not listed(monday, first.body), "counted in both weeks"
    assert core.week_split(first.body) == (0, 1) and core.week_split(second.body) == (0, 1)


async def test_a_merge_at_monday_midnight_is_counted_in_exactly_one_week(bot: Bot):
    repo = make_repo(bot.fake)
    week = next_week(bot)
    until(bot, week.end - timedelta(seconds=1))
    late = repo.open_pull(author="alice", title="Late on Sunday", files={"l.txt": "1\n"})
    await merge_and_deliver(bot, late, by="alice", method="squash")
    bot.clock.advance(1)
    early = repo.open_pull(author="alice", title="Early on Monday", files={"e.txt": "1\n"})
    await merge_and_deliver(bot, early, by="alice", method="squash")
    after(bot, week.next())
    client = await gh(bot)
    first = await post_digest(client, bot.services, repo.full_name, week, dry_run=True)
    second = await post_digest(client, bot.services, repo.full_name, week.next(), dry_run=True)
    assert "Late on Sunday" in first.body and "Late on Sunday" not in second.body
    assert "Early on Monday" in second.body and "Early on Monday" not in first.body


async def test_the_scheduler_posts_last_weeks_digest_only_once_its_time_has_come(bot: Bot):
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    plan = bot.app[SCHEDULER]
    until(bot, week.end + timedelta(hours=5, minutes=59, seconds=59))  # Monday 05:59:59
    await plan.digests()
    await bot.idle()
    assert digests(repo) == []
    bot.clock.advance(1)  # Monday 06:00:00
    await plan.digests()
    await bot.idle()
    (issue,) = digests(repo)
    assert find_digest_marker(issue.body) == (repo.full_name, week)


# ---------------------------------------------------------------------------------------------
# The command line and the policy
# ---------------------------------------------------------------------------------------------


async def test_a_digest_of_a_week_that_has_not_begun_is_refused_and_closes_nothing(bot: Bot):
    # Was a hole (fixed): `python -m bot digest --week` (bot/cli/jobs.py, post_digest) accepts a week in the
    # future: it opens an empty digest for it ("Nothing landed") and closes every earlier open
    # digest as superseded by it. Refuse a week that has not ended (exit 2) before writing.
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    out, err = io.StringIO(), io.StringIO()
    status = await jobs.run(["digest"], env(bot), clock=bot.clock, stdout=out, stderr=err)
    assert status == 0, err.getvalue()
    (last,) = digests(repo)
    future = week.next().next().next()
    status = await jobs.run(
        ["digest", "--repo", repo.full_name, "--week", future.text],
        env(bot),
        clock=bot.clock,
        stdout=out,
        stderr=err,
    )
    assert status == 2, out.getvalue()
    assert digests(repo) == [last] and last.state == "open"


async def test_a_disabled_digest_is_not_posted_by_the_scheduler(bot: Bot):
    repo = make_repo(bot.fake, policy="digest:\n  enabled: false\n")
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    await bot.app[SCHEDULER].digests()
    await bot.idle()
    assert digests(repo) == []
    assert countersign_runs(repo, repo.head())  # auditing itself is not switched off


async def test_a_disabled_digest_is_not_posted_by_the_cron_command(bot: Bot):
    # Was a hole (fixed): `python -m bot digest` (bot/cli/jobs.py execute) posts to every repository the
    # installations reach, without looking at `digest.enabled`: a cron job opens digests in
    # repositories whose maintainers switched them off (noise). Skip repositories whose policy
    # disables the digest unless `--repo` names them.
    repo = make_repo(bot.fake, policy="digest:\n  enabled: false\n")
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    out, err = io.StringIO(), io.StringIO()
    status = await jobs.run(["digest"], env(bot), clock=bot.clock, stdout=out, stderr=err)
    assert status == 0, err.getvalue()
    assert digests(repo) == [], out.getvalue()


async def test_a_broken_policy_file_still_gives_a_digest_that_says_so(bot: Bot):
    repo = make_repo(bot.fake, policy="review: [unclosed\n  digest: {enabled: false\n")
    week = next_week(bot)
    push = await direct_push(bot, repo)
    assert countersign_runs(repo, push.after)  # still audited
    after(bot, week)
    await bot.app[SCHEDULER].digests()
    await bot.idle()
    (issue,) = digests(repo)
    assert listed(push, section(issue.body, "Neither reviewed nor signed off"))
    assert "### Policy problems" in issue.body


async def test_a_digest_of_a_quiet_week_is_valid_and_says_nothing_landed(bot: Bot):
    repo = make_repo(bot.fake)
    week = next_week(bot)
    after(bot, week)
    outcome = await post_digest(await gh(bot), bot.services, repo.full_name, week)
    assert "Nothing landed on an audited branch this week." in outcome.body
    assert core.week_split(outcome.body) == (0, 0)
    (chart,) = mermaid.charts(outcome.body)
    assert mermaid.check(chart) == []
    assert bars(outcome.body) == (["0"] * 8, ["0"] * 8)


# ---------------------------------------------------------------------------------------------
# User text in the digest
# ---------------------------------------------------------------------------------------------


async def test_titles_and_branch_names_cannot_ping_reference_or_break_the_tables(bot: Bot):
    repo = make_repo(bot.fake)
    repo.protect("rel*")
    branch = "rel`x|y@octo-org/core-->"
    repo.create_branch(branch)
    week = next_week(bot)
    title = (
        "Fix @octo-org/core | closes #1, octo-org/widgets#2 GH-3 <!-- `x` --> "
        "[click](https://evil.example) *bold* | end"
    )
    pr = repo.open_pull(author="alice", title=title, files={"t.txt": "1\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    await direct_push(bot, repo, branch)
    after(bot, week)
    outcome = await post_digest(await gh(bot), bot.services, repo.full_name, week)
    body = outcome.body
    prose = re.sub(r"`[^`\n]*`", "", body)  # a code span shows text as written: it never pings
    assert "@octo-org" not in prose and "@\u2060octo-org/core" in prose
    assert "#1," not in body and "widgets#2" not in body and "GH-3" not in body
    assert "<!--" not in body.split("\n", 2)[2]  # only the marker and the record are hidden
    assert "](https://evil.example)" not in body
    assert find_digest_marker(body) == (repo.full_name, week)
    landed = [line for line in section(body, "Landed changes").splitlines() if "|" in line]
    assert landed and all(len(PIPE.findall(line)) == 10 for line in landed), landed
    rows = [
        line
        for line in section(body, "Neither reviewed nor signed off").splitlines()
        if line.startswith("|")
    ]
    assert len(rows) == 4 and all(len(PIPE.findall(line)) == 8 for line in rows), rows
    assert mermaid.check_body(body) == []


# ---------------------------------------------------------------------------------------------
# Dormant accounts
# ---------------------------------------------------------------------------------------------


async def test_a_failing_dormant_look_up_says_not_seen_rather_than_sinking_the_digest(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
):
    # Was a hole (fixed): _is_dormant (bot/digest.py) lets a GraphQL error (GitHub answers 200 with
    # `errors`, e.g. a search that timed out) escape: read_digest raises, the whole digest is
    # never posted and the scheduler tries again every hour, failing the same way. It should
    # not accuse (nobody listed as dormant) and should say what was not seen
    # (DigestFacts.unseen exists but nothing ever fills it): catch the error per account and
    # report "dormant accounts not checked: ..." under "Not seen".
    broken = digest_module.DORMANT_QUERY.replace(
        "{ issueCount }", "{ issueCount searchTimedOut }", 1
    )
    monkeypatch.setattr(digest_module, "DORMANT_QUERY", broken)
    repo = make_repo(bot.fake)
    week = next_week(bot)
    await direct_push(bot, repo)
    after(bot, week)
    outcome = await post_digest(await gh(bot), bot.services, repo.full_name, week)
    dormant = section(outcome.body, "Dormant privileged accounts")
    assert all(f"@{who}" not in dormant for who in ("alice", "bob", "carol", "dave"))
    assert "### Not seen" in outcome.body


async def test_dormant_accounts_are_not_accused_when_they_only_merged(bot: Bot):
    repo = make_repo(bot.fake)
    bot.fake.add_user("merger")
    repo.set_permission("merger", "admin")
    week = next_week(bot)
    pr = repo.open_pull(author="alice", title="x", files={"m.txt": "1\n"})
    pr.review("bob", "APPROVED")
    await merge_and_deliver(bot, pr, by="merger", method="squash")
    after(bot, week)
    outcome = await post_digest(await gh(bot), bot.services, repo.full_name, week, dry_run=True)
    assert "merger" not in section(outcome.body, "Dormant privileged accounts")


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


async def run_sweep(bot: Bot) -> None:
    bot.clock.advance(GRACE.total_seconds() + 1)  # the sweep leaves the last minutes to webhooks
    await bot.app[SCHEDULER].sweep()
    await bot.idle()


async def test_the_sweep_finds_a_lost_push_to_an_audited_branch_deleted_since(bot: Bot):
    # Was a hole (fixed): the same as the digest's: Window._branches (bot/github/window.py) only reads the
    # activity of branches that exist now. An insider whose push webhooks were lost (or who
    # pushes while the App is down) pushes to release/1.0 and deletes it: the sweep never
    # audits the push nor the deletion, and they never get a record.
    repo = make_repo(bot.fake, policy='branches: ["main", "release/*"]\n')
    repo.create_branch("release/1.0")
    push = await direct_push(bot, repo, "release/1.0", deliver=False)
    repo.push("release/1.0", delete=True, pusher="dave")
    await run_sweep(bot)
    assert runs_for(repo, push.after, f"push-release/1.0-{push.after}")
    assert runs_for(repo, push.after, f"deletion-release/1.0-{push.after}")


async def test_the_sweep_leaves_branches_the_policy_does_not_audit_alone(bot: Bot):
    repo = make_repo(bot.fake, policy='branches: ["main", "release/*"]\n')
    pushes = [
        await direct_push(bot, repo, name, deliver=False)
        for name in ("releases", "feature/release/1.0", "Release/1.0")
    ]
    audited = await direct_push(bot, repo, "main", deliver=False)
    await run_sweep(bot)
    assert all(countersign_runs(repo, p.after) == [] for p in pushes)
    assert countersign_runs(repo, audited.after)  # the default branch always is


async def test_the_sweep_never_rejudges_a_recorded_change_after_the_policy_changed(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Reviewed", files={"src/a.c": "1\n"})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice", method="squash")
    (run,) = countersign_runs(repo, sha)
    stricter = repo.open_pull(
        author="alice",
        title="Stricter",
        files={".github/countersign.yml": "review:\n  approvals: 2\n"},
    )
    stricter.review("bob", "APPROVED")
    stricter.review("carol", "APPROVED")
    await merge_and_deliver(bot, stricter, by="alice", method="squash")
    bot.clock.advance(3600)
    bot.fake.reset_counts()
    await run_sweep(bot)
    assert bot.fake.count(CHECK_RUNS) == 0
    assert bot.fake.count("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}") == 0
    assert countersign_runs(repo, sha) == [run] and run.conclusion == "success"


async def test_a_recorded_push_whose_commit_carries_many_app_runs_is_not_audited_twice(bot: Bot):
    # Was a hole (fixed): the record look-up (checkRuns(first: 10) in bot/github/window.py and
    # bot/github/gather.py, then filtered by external id in Python) reads only the first ten
    # `countersign` runs of a commit, oldest first. An insider opens ten pull requests whose
    # head is the same commit (ten pre-merge runs on it), then pushes that commit straight to
    # main: the push's landed record is the eleventh run, the sweep does not see it and audits
    # the push again, and publish writes a second landed record (and the digest re-judges it).
    # Filter by the change's key on GitHub's side (a REST list with `check_name` and the
    # external id, or page through the runs) instead of taking the first ten.
    repo = make_repo(bot.fake)
    staged = await direct_push(bot, repo, "feature", deliver=False)
    sha = staged.after
    for n in range(10):  # what the pre-merge check writes for ten pull requests headed at sha
        repo.add_check_run(sha, "countersign", conclusion="neutral", external_id=f"pr-{900 + n}")
    push = repo.push("main", [sha], pusher="dave")
    assert await bot.deliver(bot.fake.webhooks.push(push)) == 202
    key = f"push-main-{sha}"
    assert len(runs_for(repo, sha, key)) == 1
    await run_sweep(bot)
    assert len(runs_for(repo, sha, key)) == 1
    # and the webhook path, which reads the record the same way: a redelivery writes nothing new
    assert await bot.deliver(bot.fake.webhooks.push(push)) == 202
    assert len(runs_for(repo, sha, key)) == 1
    assert [r.id for r in repo.check_runs.values() if r.external_id == key] == [
        runs_for(repo, sha, key)[0].id
    ]


async def test_a_sweep_and_a_live_push_delivery_write_one_record(bot: Bot):
    repo = make_repo(bot.fake)
    push = await direct_push(bot, repo, deliver=False)
    bot.clock.advance(GRACE.total_seconds() + 1)  # a slow delivery
    await bot.app[SCHEDULER].sweep()  # queued, not yet run
    await bot.deliver(bot.fake.webhooks.push(push))
    assert len(runs_for(repo, push.after, f"push-main-{push.after}")) == 1
    assert bot.fake.count(CHECK_RUNS) == 1


async def test_a_force_push_whose_old_head_is_gone_is_still_recorded_and_digested(bot: Bot):
    repo = make_repo(bot.fake)
    repo.push("main", [{"message": "old", "files": {"o.txt": "1\n"}}], pusher="dave")
    forced = repo.push(
        "main", [{"message": "rewrite", "files": {"o.txt": "2\n"}}], pusher="dave", forced=True
    )
    # GitHub collected the commit the force push replaced: the activity list names a SHA that
    # no longer resolves
    forced.before = "dead" * 10
    later = await direct_push(bot, repo, deliver=False)
    await run_sweep(bot)
    assert countersign_runs(repo, later.after)  # the rest of the sweep went on
    (run,) = countersign_runs(repo, forced.after)
    record = parse_record(run.text)
    assert record is not None and record["status"] == "force-push"
    outcome = await post_digest(
        await gh(bot), bot.services, repo.full_name, Week.of(bot.clock.now()), dry_run=True
    )
    assert listed(forced, outcome.body)


# ---------------------------------------------------------------------------------------------
# Redelivery
# ---------------------------------------------------------------------------------------------


async def three_failed_deliveries(bot: Bot) -> list[Any]:
    hook(bot)
    repo = make_repo(bot.fake)
    failed = []
    for n in range(3):
        pr = repo.open_pull(author="alice", title=f"Lost {n}", files={f"r{n}.txt": "1\n"})
        pr.merge(by="alice", method="squash")
        failed.append(await bot.fake.send(bot.fake.webhooks.pull_request(pr, "closed"), fail=500))
        bot.clock.advance(60)
    return failed


def redelivered(bot: Bot, guid: str) -> list[Any]:
    return [d for d in bot.fake.hook_deliveries if d.guid == guid and d.redelivery]


async def test_a_redelivery_github_fails_to_accept_does_not_stop_the_others(bot: Bot):
    # Was a hole (fixed): redeliver_failed (bot/redelivery.py) only survives 404 and 422: when GitHub answers
    # 5xx to one redelivery request (after the client's retries), the exception ends the job
    # and every older failed delivery waits 6 more hours, by which time the oldest are past
    # GitHub's 3-day limit and lost for good. Catch the error per delivery, note it (refused or
    # failed) and go on.
    failed = await three_failed_deliveries(bot)
    newest = failed[-1]
    bot.fake.inject_fault(500, f"POST /app/hook/deliveries/{newest.id}/attempts", times=20)
    with contextlib.suppress(Exception):
        await redelivery.redeliver_failed(
            bot.services.github.app_client(), bot.services.github.jwt(), bot.clock.now()
        )
    await bot.idle()
    assert redelivered(bot, failed[0].guid) and redelivered(bot, failed[1].guid)


async def test_a_refused_redelivery_does_not_stop_the_others(bot: Bot):
    failed = await three_failed_deliveries(bot)
    # the bot's clock is an hour behind GitHub's: the oldest is past GitHub's 3 days already
    bot.fake.world.hook_deliveries.remove(failed[0])
    failed[0].delivered_at = bot.clock.now() - timedelta(days=3, minutes=30)
    bot.fake.world.hook_deliveries.insert(0, failed[0])
    outcome = await redelivery.redeliver_failed(
        bot.services.github.app_client(),
        bot.services.github.jwt(),
        bot.clock.now() - timedelta(hours=1),
    )
    await bot.idle()
    assert outcome.refused == [failed[0].id]
    assert redelivered(bot, failed[1].guid) and redelivered(bot, failed[2].guid)


async def test_a_failing_delivery_listing_asks_for_nothing_and_the_next_run_recovers(bot: Bot):
    failed = await three_failed_deliveries(bot)
    plan = bot.app[SCHEDULER]
    bot.fake.inject_fault(502, "GET /app/hook/deliveries", times=20)
    ran = await plan.tick()
    await bot.idle()
    assert "redelivery" in ran and bot.fake.count(ATTEMPTS) == 0
    bot.fake.faults.clear()
    bot.clock.advance(6 * 3600)
    await plan.tick()
    await bot.idle()
    assert all(len(redelivered(bot, d.guid)) == 1 for d in failed)
