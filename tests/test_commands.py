"""``/audit`` comment commands end to end, through ``POST /webhook``."""

from __future__ import annotations

from typing import Any

from bot.service.commands import REPLY_MARKER
from tests.support import Bot
from tests.test_merge_audit import audit_issues, make_repo, record, the_run

COMMENTS = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
REACTIONS = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"


async def command(bot: Bot, target: Any, user: str, body: str) -> Any:
    """Comment ``body`` as ``user`` on an issue or pull request and deliver it; returns the
    comment."""
    comment = target.comment(user, body)
    assert await bot.deliver(bot.fake.webhooks.issue_comment(comment, "created")) == 202
    return comment


def replies_to(target: Any, comment: Any) -> list[str]:
    issue = getattr(target, "issue", target)
    marker = REPLY_MARKER.format(comment.id)
    return [c.body for c in issue.comments if marker in c.body]


def the_reply(target: Any, comment: Any) -> str:
    replies = replies_to(target, comment)
    assert len(replies) == 1, replies
    return replies[0]


async def merged_unreviewed_build_change(
    bot: Bot, policy: str | None = None
) -> tuple[Any, Any, Any]:
    repo = make_repo(bot.fake, policy)
    pr = repo.open_pull(
        author="alice", title="Regenerate configure", files={"configure": "#!/bin/sh\n"}
    )
    pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    (issue,) = audit_issues(repo)
    return repo, pr, issue


async def test_signoff_by_two_maintainers_closes_the_audit_issue(bot: Bot):
    repo, pr, issue = await merged_unreviewed_build_change(bot)
    assert the_run(repo, pr.merge_commit_sha).conclusion == "failure"

    first = await command(bot, issue, "bob", "/audit approve read every line of configure")
    reply = the_reply(issue, first)
    assert "1 more sign-off" in reply
    assert issue.state == "open"
    assert the_run(repo, pr.merge_commit_sha).conclusion == "failure"
    assert [s["login"] for s in record(repo, pr.merge_commit_sha)["signoffs"]] == ["bob"]

    second = await command(bot, pr, "carol", "/audit approve ok")
    assert "signed off after merge by `@carol`" in the_reply(pr, second)
    run = the_run(repo, pr.merge_commit_sha)
    assert run.conclusion == "success"
    assert "signed off after merge by" in run.summary
    assert issue.state == "closed"
    assert "Signed off after merge" in issue.comments[-1].body
    labels = [label.name for label in pr.labels]
    assert "countersign: signed-off" in labels and "countersign: unreviewed" not in labels
    signoffs = record(repo, pr.merge_commit_sha)["signoffs"]
    assert [(s["login"], s["note"]) for s in signoffs] == [
        ("bob", "read every line of configure"),
        ("carol", "ok"),
    ]
    assert all(s["at"] for s in signoffs)


async def test_a_signoff_counts_once_per_person(bot: Bot):
    repo, pr, issue = await merged_unreviewed_build_change(bot)
    await command(bot, issue, "bob", "/audit approve")
    again = await command(bot, issue, "bob", "/audit approve really")
    assert "already signed" in the_reply(issue, again)
    assert issue.state == "open"
    assert len(record(repo, pr.merge_commit_sha)["signoffs"]) == 1


async def test_one_signoff_is_enough_where_one_approval_is_asked(bot: Bot):
    repo = make_repo(bot.fake, "rules:\n  - name: build-system\n    approvals: 1\n")
    pr = repo.open_pull(author="alice", files={"configure": "#!/bin/sh\n"})
    pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    (issue,) = audit_issues(repo)
    await command(bot, issue, "dave", "/audit approve")
    assert issue.state == "closed"
    assert the_run(repo, pr.merge_commit_sha).conclusion == "success"


async def test_the_author_cannot_sign_off(bot: Bot):
    repo, pr, issue = await merged_unreviewed_build_change(bot)
    comment = await command(bot, issue, "alice", "/audit approve trust me")
    assert "authored" in the_reply(issue, comment)
    assert record(repo, pr.merge_commit_sha)["signoffs"] == []
    assert issue.state == "open"


async def test_a_contributor_cannot_sign_off(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"configure": "#!/bin/sh\n"})
    pr.push_commit("help", files={"configure": "#!/bin/sh\nexit 0\n"}, author="bob")
    pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    (issue,) = audit_issues(repo)
    comment = await command(bot, issue, "bob", "/audit approve")
    assert "contributed" in the_reply(issue, comment)
    assert issue.state == "open"


async def test_a_read_only_user_cannot_sign_off(bot: Bot):
    repo, pr, issue = await merged_unreviewed_build_change(bot)
    bot.fake.add_user("erin")
    repo.set_permission("erin", "read")
    comment = await command(bot, issue, "erin", "/audit approve")
    assert "write permission" in the_reply(issue, comment)
    assert record(repo, pr.merge_commit_sha)["signoffs"] == []


async def test_bots_are_never_read_as_commands(bot: Bot):
    repo, _pr, issue = await merged_unreviewed_build_change(bot)
    bot.fake.add_bot("helper[bot]")
    repo.set_permission("helper[bot]", "write")
    bot.fake.reset_counts()
    comment = await command(bot, issue, "helper[bot]", "/audit approve")
    assert replies_to(issue, comment) == []
    assert bot.fake.count() == 0  # not even a reaction
    assert issue.state == "open"


async def test_the_same_delivery_twice_runs_once(bot: Bot):
    repo, pr, issue = await merged_unreviewed_build_change(bot)
    comment = issue.comment("bob", "/audit approve")
    event = bot.fake.webhooks.issue_comment(comment, "created")
    await bot.deliver(event)
    await bot.deliver(event)
    assert len(replies_to(issue, comment)) == 1
    assert len(record(repo, pr.merge_commit_sha)["signoffs"]) == 1


async def test_an_edited_comment_is_not_run_again(bot: Bot):
    repo, pr, issue = await merged_unreviewed_build_change(bot)
    comment = issue.comment("bob", "looks fine")
    comment.edit("/audit approve")
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.issue_comment(comment, "edited"))
    assert bot.fake.count() == 0
    assert record(repo, pr.merge_commit_sha)["signoffs"] == []


async def test_status_on_an_audit_issue_reports_the_change(bot: Bot):
    _repo, _pr, issue = await merged_unreviewed_build_change(bot)
    comment = await command(bot, issue, "erin", "/audit")
    reply = the_reply(issue, comment)
    assert "build-system" in reply and "Unreviewed" in reply
    assert [r.content for r in comment.reactions] == ["eyes"]
    assert issue.state == "open"


async def test_status_on_an_open_pull_request_refreshes_the_check(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    pr.review("bob", "APPROVED")  # its webhook never arrived
    comment = await command(bot, pr, "alice", "/audit status")
    assert the_run(repo, pr.head_sha).conclusion == "success"
    assert "Reviewed" in the_reply(pr, comment)


async def test_approve_on_an_open_pull_request_points_to_a_review(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    comment = await command(bot, pr, "bob", "/audit approve")
    assert "normal review" in the_reply(pr, comment)
    assert pr.reviews == []


async def test_help_lists_the_commands(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    comment = await command(bot, pr, "bob", "/audit help")
    reply = the_reply(pr, comment)
    for text in ("/audit status", "/audit approve", "/audit help", "write permission"):
        assert text in reply


async def test_unknown_command_says_so(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    comment = await command(bot, pr, "bob", "/audit frobnicate")
    assert "not a countersign command" in the_reply(pr, comment)


async def test_a_command_on_an_ordinary_issue_says_why_it_does_not_apply(bot: Bot):
    repo = make_repo(bot.fake)
    issue = repo.create_issue("A bug", body="It breaks", author="bob")
    comment = await command(bot, issue, "bob", "/audit approve")
    assert "neither a pull request nor" in the_reply(issue, comment)


async def test_signoff_of_a_direct_push(bot: Bot):
    repo = make_repo(bot.fake)
    push = repo.push(
        "main",
        [{"message": "ci", "files": {".github/workflows/ci.yml": "on: push\n"}, "author": "carol"}],
        pusher="carol",
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    (issue,) = audit_issues(repo)
    refused = await command(bot, issue, "carol", "/audit approve")
    assert "pushed" in the_reply(issue, refused) or "contributed" in the_reply(issue, refused)
    await command(bot, issue, "bob", "/audit approve")
    await command(bot, issue, "dave", "/audit approve")
    assert issue.state == "closed"
    assert the_run(repo, push.after).conclusion == "success"


async def test_signing_off_a_reviewed_change_changes_nothing(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    pr.review("bob", "APPROVED")
    pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    comment = await command(bot, pr, "carol", "/audit approve")
    assert "already meets every requirement" in the_reply(pr, comment)
    assert record(repo, pr.merge_commit_sha)["signoffs"] == []
    assert "countersign: signed-off" not in [label.name for label in pr.labels]
