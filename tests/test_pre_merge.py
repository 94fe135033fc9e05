"""The pre-merge check end to end: a pull request's life through ``POST /webhook``."""

from __future__ import annotations

from typing import Any

from bot.core.record import parse_record
from tests.support import Bot
from tests.test_merge_audit import countersign_runs, make_repo, the_run

CHECK_RUNS_CREATE = "POST /repos/{owner}/{repo}/check-runs"
CHECK_RUNS_UPDATE = "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"


async def opened(bot: Bot, pr: Any) -> Any:
    assert await bot.deliver(bot.fake.webhooks.pull_request(pr, "opened")) == 202
    return the_run(pr.repo, pr.head_sha)


async def reviewed(bot: Bot, pr: Any, user: str, state: str = "APPROVED") -> Any:
    review = pr.review(user, state)
    await bot.deliver(bot.fake.webhooks.pull_request_review(review, "submitted"))
    return the_run(pr.repo, pr.head_sha)


async def test_a_pull_request_through_its_life(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Autoconf", files={"configure.ac": "AC_INIT\n"})

    run = await opened(bot, pr)
    assert run.conclusion == "neutral"  # pre_merge: inform
    assert "conclusion `neutral`" in run.summary
    assert "needs 2 fresh approvals for build-system (configure.ac)" in run.summary
    assert "- `@alice`: author" in run.summary  # the author is named as not counting

    run = await reviewed(bot, pr, "bob")
    assert run.conclusion == "neutral"
    assert "needs 1 more fresh approval for build-system (configure.ac)" in run.summary
    run = await reviewed(bot, pr, "carol")
    assert run.conclusion == "success"

    pr.push_commit("Also m4", files={"m4/ax_check.m4": "dnl\n"})
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "synchronize"))
    run = the_run(repo, pr.head_sha)
    assert run.conclusion == "neutral"
    assert "stale" in run.summary and "1 commit" in run.summary

    await reviewed(bot, pr, "bob")
    run = await reviewed(bot, pr, "carol")
    assert run.conclusion == "success"

    merge_sha = pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    merged_run = the_run(repo, merge_sha)
    assert merged_run.conclusion == "success"
    # the same facts give the same verdict before and after the merge
    before, after = parse_record(run.text), parse_record(merged_run.text)
    assert before and after
    assert [(r["name"], r["met"]) for r in before["requirements"]] == [
        (r["name"], r["met"]) for r in after["requirements"]
    ]


async def test_enforce_mode_fails_while_unmet(bot: Bot):
    repo = make_repo(bot.fake, "pre_merge: enforce\n")
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    assert (await opened(bot, pr)).conclusion == "failure"
    assert (await reviewed(bot, pr, "bob")).conclusion == "success"


async def test_off_mode_writes_no_check(bot: Bot):
    repo = make_repo(bot.fake, "pre_merge: off\n")
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "opened"))
    assert countersign_runs(repo, pr.head_sha) == []


async def test_drafts_are_judged_too(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"}, draft=True)
    assert (await opened(bot, pr)).conclusion == "neutral"
    pr.ready_for_review()
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "ready_for_review"))
    assert len(countersign_runs(repo, pr.head_sha)) == 1


async def test_pull_requests_into_unaudited_branches_get_no_check(bot: Bot):
    repo = make_repo(bot.fake)
    repo.create_branch("feature-base")
    pr = repo.open_pull(author="alice", base="feature-base", files={"src/a.py": "x\n"})
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "opened"))
    assert countersign_runs(repo, pr.head_sha) == []


async def test_a_dismissed_review_no_longer_counts(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    await opened(bot, pr)
    review = pr.review("bob", "APPROVED")
    await bot.deliver(bot.fake.webhooks.pull_request_review(review, "submitted"))
    assert the_run(repo, pr.head_sha).conclusion == "success"
    review.dismiss()
    await bot.deliver(bot.fake.webhooks.pull_request_review(review, "dismissed"))
    assert the_run(repo, pr.head_sha).conclusion == "neutral"


async def test_editing_the_title_does_not_rejudge_but_a_new_base_does(bot: Bot):
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    await opened(bot, pr)
    bot.fake.reset_counts()
    pr.edit(title="A better title")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "edited"))
    assert bot.fake.count() == 0
    pr.edit(base="3.12")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "edited"))
    assert bot.fake.counts["POST /graphql"] == 1


async def test_rerequested_check_run_is_rejudged(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    run = await opened(bot, pr)
    pr.review("bob", "APPROVED")  # no webhook for it reached the bot
    await bot.deliver(bot.fake.webhooks.check_run(run, "rerequested"))
    assert the_run(repo, pr.head_sha).conclusion == "success"


async def test_rerequested_check_suite_is_rejudged(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    run = await opened(bot, pr)
    pr.review("bob", "APPROVED")
    await bot.deliver(bot.fake.webhooks.check_suite(run.suite, "rerequested"))
    assert the_run(repo, pr.head_sha).conclusion == "success"


async def test_another_apps_rerequest_is_ignored(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    other = repo.add_check_run(
        pr.head_sha, "build", app=bot.fake.add_app("ci"), conclusion="failure"
    )
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.check_run(other, "rerequested"))
    assert bot.fake.count("POST /graphql") == 0
    assert countersign_runs(repo, pr.head_sha) == []


async def test_cost_of_a_judgement_with_warm_caches(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={f"src/m{n}.py": "x\n" for n in range(60)})
    await opened(bot, pr)
    bot.fake.reset_counts()
    await reviewed(bot, pr, "bob")
    assert bot.fake.counts == {"POST /graphql": 1, CHECK_RUNS_UPDATE: 1}


async def test_a_burst_for_one_pull_request_ends_in_the_newest_verdict(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    await opened(bot, pr)
    bot.fake.reset_counts()
    reviews = [pr.review(user, "COMMENTED", body="hm") for user in ("carol", "dave")]
    reviews.append(pr.review("bob", "APPROVED"))
    for review in reviews:
        await bot.deliver(bot.fake.webhooks.pull_request_review(review, "submitted"), wait=False)
    await bot.idle()
    assert the_run(repo, pr.head_sha).conclusion == "success"
    assert 1 <= bot.fake.counts["POST /graphql"] <= len(reviews)
    assert bot.fake.counts[CHECK_RUNS_CREATE] == 0  # always the same run, updated
