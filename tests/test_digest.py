"""Issue 11: the weekly digest, end to end against the fake GitHub."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from bot.cli import jobs
from bot.core.digest import Week, find_digest_marker, week_split
from bot.digest import DIGEST_LABEL, post_digest
from bot.service.server import SCHEDULER
from tests.fakegithub import mermaid
from tests.support import Bot, app_env
from tests.test_backports import backport, repo_with_original
from tests.test_merge_audit import make_repo, merge_and_deliver

COLLABORATORS = "GET /repos/{owner}/{repo}/collaborators"


def digests(repo: Any) -> list[Any]:
    return [i for i in repo.issues.values() if i.pull is None and find_digest_marker(i.body)]


async def gh(bot: Bot) -> Any:
    return await bot.services.github.for_installation(bot.fake.installation("octo-org").id)


async def a_busy_week(bot: Bot) -> tuple[Any, Any]:
    """Reviewed, unreviewed, pushed, force-pushed, backported and signed-off changes."""
    repo, original = await repo_with_original(bot)  # a reviewed build fix into main
    clean = backport(repo, original)
    await merge_and_deliver(bot, clean, by="dave")  # a clean backport into 3.12
    lone = repo.open_pull(author="alice", title="Self-merged", files={"src/a.c": "1\n"})
    await merge_and_deliver(bot, lone, by="alice", method="squash")  # unreviewed
    signed = repo.open_pull(author="alice", title="Signed later", files={"src/b.c": "1\n"})
    await merge_and_deliver(bot, signed, by="alice", method="squash")
    comment = signed.comment("carol", "/audit approve looked at it")
    await bot.deliver(bot.fake.webhooks.issue_comment(comment, "created"))
    push = repo.push("main", [{"message": "hotfix", "files": {"src/c.c": "1\n"}}], pusher="dave")
    await bot.deliver(bot.fake.webhooks.push(push))
    forced = repo.push(
        "3.12", [{"message": "rewrite", "files": {"src/d.c": "1\n"}}], pusher="dave", forced=True
    )
    await bot.deliver(bot.fake.webhooks.push(forced))
    return repo, lone


async def test_a_busy_week_gives_the_expected_numbers_table_and_chart(bot: Bot):
    repo, lone = await a_busy_week(bot)
    week = Week.of(bot.clock.now())
    outcome = await post_digest(await gh(bot), bot.services, repo.full_name, week)
    (issue,) = digests(repo)
    assert outcome.created and issue.title == f"countersign digest: octo-org/widgets {week.text}"
    assert DIGEST_LABEL in [label.name for label in issue.labels]
    body = issue.body
    # per branch: landed, reviewed, unreviewed, under-reviewed, direct, force, clean bp, signed
    assert "| `main` | 4 | 1 | 2 | 0 | 1 | 0 | 0 | 1 |" in body, body
    assert "| `3.12` | 2 | 1 | 0 | 0 | 0 | 1 | 1 | 0 |" in body, body
    assert f"#{lone.number} Self-merged" in body
    assert "Signed later" not in body.split("### Neither")[1].split("###")[0]
    assert "hotfix" not in body and "push " in body  # the direct push is listed by its SHA
    (chart,) = mermaid.charts(body)
    assert mermaid.check(chart) == []
    assert week.text in chart and "bar [" in chart
    assert week_split(body) == (2, 4)


async def test_running_again_updates_the_issue_and_a_new_week_closes_the_last(bot: Bot):
    repo, _ = await a_busy_week(bot)
    client = await gh(bot)
    week = Week.of(bot.clock.now())
    first = await post_digest(client, bot.services, repo.full_name, week)
    again = await post_digest(client, bot.services, repo.full_name, week)
    assert again.issue == first.issue and not again.created
    assert len(digests(repo)) == 1
    bot.clock.advance(7 * 24 * 3600)
    later = await post_digest(client, bot.services, repo.full_name, week.next())
    assert later.created and later.closed == (first.issue,)
    old = repo.issue(int(str(first.issue).split("#")[1]))
    assert old.state == "closed" and str(later.issue) in old.comments[-1].body
    new = repo.issue(int(str(later.issue).split("#")[1]))
    (chart,) = mermaid.charts(new.body)
    assert "bar [0, 0, 0, 0, 0, 0, 2, 0]" in chart  # last week's reviewed, from its record


async def test_a_dormant_admin_is_listed_and_an_active_one_is_not(bot: Bot):
    repo = make_repo(bot.fake)
    for login in ("old-admin", "busy-admin", "merger"):
        bot.fake.add_user(login)
        repo.set_permission(login, "admin")
    repo.set_permission("reader", "read") if bot.fake.world.find_account("reader") else None
    pr = repo.open_pull(author="busy-admin", title="Work", files={"w.txt": "1\n"})
    pr.review("bob", "APPROVED")
    pr.merge(by="merger", method="squash")  # the merger does nothing else
    client = await gh(bot)
    outcome = await post_digest(client, bot.services, repo.full_name, Week.of(bot.clock.now()))
    dormant = outcome.body.split("### Dormant privileged accounts")[1]
    assert "`@old-admin` (admin)" in dormant
    assert "busy-admin" not in dormant and "merger" not in dormant and "`@bob`" not in dormant
    # cached: a second digest this week asks GitHub nothing more about anyone
    bot.fake.reset_counts()
    await post_digest(client, bot.services, repo.full_name, Week.of(bot.clock.now()))
    assert bot.fake.count("POST /graphql") <= 2  # the week's pull requests, the issue states


async def test_stale_audit_issues_are_listed(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="m4", files={"m4/x.m4": "dnl\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")  # opens an audit issue
    bot.clock.advance(15 * 24 * 3600)
    outcome = await post_digest(
        await gh(bot), bot.services, repo.full_name, Week.of(bot.clock.now())
    )
    stale = outcome.body.split("### Audit issues open longer than 14 days")[1].split("###")[0]
    (audit_issue,) = [i for i in repo.issues.values() if i.pull is None and "m4" in i.title]
    assert stale.startswith(" (1)") and f"/issues/{audit_issue.number})" in stale


async def test_a_change_whose_webhook_was_missed_is_judged_afresh(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Never delivered", files={"n.txt": "1\n"})
    pr.merge(by="alice", method="squash")
    outcome = await post_digest(
        await gh(bot), bot.services, repo.full_name, Week.of(bot.clock.now()), dry_run=True
    )
    assert f"#{pr.number} Never delivered" in outcome.body
    assert digests(repo) == []  # a dry run writes nothing


async def test_the_scheduler_posts_the_digest_when_it_is_due(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="x", files={"x.txt": "1\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    plan = bot.app[SCHEDULER]
    week = Week.of(bot.clock.now())
    # just before Monday 06:00 UTC of the next week nothing is due for this week
    bot.clock.advance((week.end + timedelta(hours=6) - bot.clock.now()).total_seconds() - 60)
    await plan.digests()
    await bot.idle()
    assert [find_digest_marker(i.body)[1] for i in digests(repo)] != [week]  # type: ignore[index]
    bot.clock.advance(120)
    await plan.digests()
    await bot.idle()
    assert [find_digest_marker(i.body)[1] for i in digests(repo)][-1] == week  # type: ignore[index]
    count = len(digests(repo))
    await plan.digests()  # posted already by this process: nothing more
    await bot.idle()
    assert len(digests(repo)) == count


async def test_the_digest_command_prints_a_dry_run_and_writes_nothing(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Dry", files={"d.txt": "1\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    env = app_env(bot.fake)
    week = Week.of(bot.clock.now()).text
    out, err = io.StringIO(), io.StringIO()
    argv = ["digest", "--repo", "octo-org/widgets", "--week", week, "--dry-run"]
    status = await jobs.run(argv, env, clock=bot.clock, stdout=out, stderr=err)
    assert status == 0, err.getvalue()
    assert out.getvalue().startswith(f"# countersign digest: octo-org/widgets {week}")
    assert "Dry" in out.getvalue() and digests(repo) == []
    status = await jobs.run(["digest", "--week", "2026-W99"], env, clock=bot.clock, stderr=err)
    assert status == 2 and "2026-W99" in err.getvalue()


async def test_500_merged_pull_requests_cost_at_most_15_requests(bot: Bot):
    from bot.core.record import encode_record

    repo = make_repo(bot.fake)
    landed = {"kind": "pull_request", "merged": True, "status": "reviewed"}
    for n in range(500):
        pr = repo.open_pull(author="alice", title=f"Change {n}", files={f"f{n}.txt": "1\n"})
        sha = pr.merge(by="bob", method="squash")
        landed.update(conclusion="success", severity="none", signed_off=False)
        repo.add_check_run(
            sha, "countersign", text=encode_record(landed), external_id=f"pr-{pr.number}"
        )
    client = await gh(bot)
    week = Week.of(bot.clock.now())
    # the dormant look-ups are counted apart: warm them first
    await post_digest(client, bot.services, repo.full_name, week, dry_run=True)
    bot.fake.reset_counts()
    outcome = await post_digest(client, bot.services, repo.full_name, week)
    assert "| `main` | 500 | 500 |" in outcome.body, outcome.body[:3000]
    assert bot.fake.count() <= 15, bot.fake.counts
