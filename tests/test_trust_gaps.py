"""Issue 7: attacks that test_trust.py let through when its fixes were broken one at a time (a
decoy issue carrying the audit issue's label, an audit issue pointed at another repository, a
push GitHub cannot compare)."""

from __future__ import annotations

from bot.core.record import audit_marker
from tests.support import Bot
from tests.test_commands import command, the_reply
from tests.test_merge_audit import make_repo, merge_and_deliver, record
from tests.test_trust import app_issues, unreviewed_build_change


async def test_a_labelled_decoy_issue_with_the_marker_does_not_stop_the_audit_issue(bot: Bot):
    # an insider with write access can label her decoy "countersign", so the App's labelled
    # listing finds it: only its author (not the App) tells it apart
    repo = make_repo(bot.fake)
    number = len(repo.issues) + 2
    marker = audit_marker(repo.full_name, f"pr-{number}")
    decoy = repo.create_issue("Audit", author="carol", body=marker, labels=["countersign"])
    decoy.close("carol")
    pr = await unreviewed_build_change(bot, repo)
    assert pr.number == number
    (real,) = app_issues(bot, repo)
    assert real.state == "open" and real is not decoy
    assert record(repo, pr.merge_commit_sha)["audit_issue"]["number"] == real.number


async def test_an_audit_issue_pointed_at_another_repository_reads_nothing_of_it(bot: Bot):
    public = make_repo(bot.fake)
    secret = bot.fake.add_repo("octo-org/secret", private=True, protected=["main"])
    pr = secret.open_pull(author="alice", title="Secret plans", files={"configure": "#!/bin/sh\n"})
    await merge_and_deliver(bot, pr, by="alice")
    await unreviewed_build_change(bot, public)
    (issue,) = app_issues(bot, public)
    issue.body = (issue.body or "").replace(f"repo={public.full_name}", f"repo={secret.full_name}")
    bot.fake.reset_counts()
    asked = await command(bot, issue, "mallory", "/audit status")
    assert "cannot be used" in the_reply(issue, asked)
    assert bot.fake.count("GET /repos/octo-org/secret/pulls") == 0
    assert bot.fake.count("GET /repos/octo-org/secret/commits") == 0


async def test_a_push_github_cannot_compare_fails_closed_and_says_so(bot: Bot):
    # needs the fake's compare to 404 on unrelated histories, as GitHub does
    repo = make_repo(bot.fake)
    repo.push("main", [{"message": "history", "files": {"a.txt": "1\n"}, "author": "dave"}])
    orphan = repo.commit(None, parents=[], message="fresh", author="alice", files={"a.txt": "2\n"})
    push = repo.push("main", [orphan], pusher="carol", forced=True)
    await bot.deliver(bot.fake.webhooks.push(push))
    data = record(repo, push.after)
    assert any("could not compare" in gap for gap in data["unseen"]), data["unseen"]
    assert "incomplete-view" in [r["name"] for r in data["requirements"] if not r["met"]]
