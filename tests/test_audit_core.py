"""Issue 8: one audit core, addressed by the change. End to end through ``POST /webhook``."""

from __future__ import annotations

from typing import Any

from tests.support import Bot
from tests.test_commands import replies_to, the_reply
from tests.test_merge_audit import audit_issues, make_repo, merge_and_deliver, record, the_run


async def unreviewed_build_change(bot: Bot, repo: Any) -> Any:
    pr = repo.open_pull(author="alice", title="Regenerate", files={"configure": "#!/bin/sh\n"})
    await merge_and_deliver(bot, pr, by="alice")
    return pr


async def test_two_signoffs_at_the_same_moment_both_count(bot: Bot):
    # one on the pull request, one on its audit issue, delivered together: they are serialised
    # on the change, and neither is lost
    repo = make_repo(bot.fake)
    pr = await unreviewed_build_change(bot, repo)
    (issue,) = audit_issues(repo)
    on_pull = pr.comment("bob", "/audit approve read it")
    on_issue = issue.comment("carol", "/audit approve me too")
    await bot.deliver(bot.fake.webhooks.issue_comment(on_pull, "created"), wait=False)
    await bot.deliver(bot.fake.webhooks.issue_comment(on_issue, "created"), wait=False)
    await bot.idle()
    assert sorted(s["login"] for s in record(repo, pr.merge_commit_sha)["signoffs"]) == [
        "bob",
        "carol",
    ]
    assert the_run(repo, pr.merge_commit_sha).conclusion == "success"
    assert issue.state == "closed"


async def test_a_signoff_of_a_change_to_an_unaudited_branch_writes_nothing(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", base=None, files={"src/a.py": "x\n"})
    repo.create_branch("experiment")
    pr.edit(base="experiment")
    pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    writes_before = bot.fake.count("POST /repos/{owner}/{repo}/check-runs")
    comment = pr.comment("bob", "/audit approve")
    await bot.deliver(bot.fake.webhooks.issue_comment(comment, "created"))
    assert "not audited" in the_reply(pr, comment)
    assert bot.fake.count("POST /repos/{owner}/{repo}/check-runs") == writes_before
    assert [r for r in repo.check_runs.values() if r.head_sha == pr.merge_commit_sha] == []
    assert len(replies_to(pr, comment)) == 1


async def test_the_default_branch_is_always_audited(bot: Bot):
    repo = make_repo(bot.fake, 'branches: ["release-*"]\n')
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    assert data["status"] == "unreviewed"
    assert any("leaves out the default branch 'main'" in e for e in data["policy_errors"])
    assert "leaves out the default branch" in the_run(repo, sha).summary


async def test_a_policy_change_cannot_switch_off_its_own_audit(bot: Bot):
    # alice merges, unreviewed, a policy that audits only a branch that does not exist and asks
    # for no approvals: the merge is judged, and found unreviewed, by the policy before it
    repo = make_repo(bot.fake)
    weakened = 'branches: ["nothing"]\nreview:\n  approvals: 0\n'
    pr = repo.open_pull(author="alice", files={".github/countersign.yml": weakened})
    sha = pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.push(pr.merge_push))
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    data = record(repo, sha)
    assert data["status"] == "unreviewed"
    assert data["conclusion"] == "failure"  # .github/** is review configuration: high
    assert audit_issues(repo)


async def test_a_reviewed_merge_and_its_push_cost_three_requests_with_warm_caches(bot: Bot):
    repo = make_repo(bot.fake)
    warm = repo.open_pull(author="alice", files={"src/warm.py": "x\n"})
    warm.review("bob", "APPROVED")
    await merge_and_deliver(bot, warm, by="alice")
    await bot.deliver(bot.fake.webhooks.push(warm.merge_push))
    pr = repo.open_pull(author="alice", files={f"src/m{n:03}.py": f"x = {n}\n" for n in range(100)})
    pr.review("bob", "APPROVED")
    pr.merge(by="alice")
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    await bot.deliver(bot.fake.webhooks.push(pr.merge_push))
    assert the_run(repo, pr.merge_commit_sha).conclusion == "success"
    assert sum(bot.fake.counts.values()) <= 3, bot.fake.counts
    assert bot.fake.counts == {"POST /graphql": 1, "POST /repos/{owner}/{repo}/check-runs": 1}


async def test_an_open_pull_request_is_read_by_its_number_alone(bot: Bot):
    # the base's .gitattributes comes in the pull request's own query: no request for the
    # pull request's base first
    repo = make_repo(bot.fake)
    repo.set_file(".gitattributes", "*.dat binary\n")
    pr = repo.open_pull(author="alice", files={"tests/good.dat": "looks like text\n"})
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "opened"))
    run = the_run(repo, pr.head_sha)
    assert "binaries" in run.summary and "tests/good.dat" in run.summary
    assert "GET /repos/{owner}/{repo}/pulls/{pull_number}" not in bot.fake.counts
    assert bot.fake.counts["POST /graphql"] == 1


async def test_status_and_approve_read_each_fact_once(bot: Bot):
    repo = make_repo(bot.fake)
    pr = await unreviewed_build_change(bot, repo)
    (issue,) = audit_issues(repo)
    for body, who in (("/audit status", "erin"), ("/audit approve checked", "bob")):
        bot.fake.reset_counts()
        comment = issue.comment(who, body)
        await bot.deliver(bot.fake.webhooks.issue_comment(comment, "created"))
        assert the_reply(issue, comment)
        reads = {
            route: n
            for route, n in bot.fake.counts.items()
            if route.startswith("GET") or route == "POST /graphql"
        }
        assert reads and all(n == 1 for n in reads.values()), (body, reads)
        assert "GET /repos/{owner}/{repo}/pulls/{pull_number}" not in reads
    assert [s["login"] for s in record(repo, pr.merge_commit_sha)["signoffs"]] == ["bob"]


async def test_the_first_judgement_of_a_new_head_costs_two_requests(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={f"src/m{n}.py": "x\n" for n in range(60)})
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "opened"))
    pr.push_commit("more", files={"src/extra.py": "y\n"})
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "synchronize"))
    assert bot.fake.counts == {"POST /graphql": 1, "POST /repos/{owner}/{repo}/check-runs": 1}


async def test_files_graphql_cannot_describe_come_from_the_rest_list(bot: Bot):
    # a rename (GraphQL gives no old path) and a binary file (no lines): the REST list is read
    repo = make_repo(bot.fake, files={"m4/old.m4": "dnl\n"})
    move = {"renames": {"src/renamed.m4": "m4/old.m4"}, "files": {"data.bin": b"\0\1\2"}}
    pr = repo.open_pull(author="alice", commits=[{"message": "move", **move}])
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "opened"))
    summary = the_run(repo, pr.head_sha).summary
    assert "build-system" in summary and "binaries" in summary
    assert bot.fake.count("GET /repos/{owner}/{repo}/pulls/{pull_number}/files") == 1


async def test_a_merge_whose_push_comes_first_costs_two_requests_too(bot: Bot):
    repo = make_repo(bot.fake)
    warm = repo.open_pull(author="alice", files={"src/warm.py": "x\n"})
    warm.review("bob", "APPROVED")
    await merge_and_deliver(bot, warm, by="alice")
    for method in ("merge", "squash"):
        pr = repo.open_pull(author="alice", files={f"src/{method}.py": "x = 1\n"})
        pr.review("bob", "APPROVED")
        pr.merge(by="alice", method=method)
        bot.fake.reset_counts()
        await bot.deliver(bot.fake.webhooks.push(pr.merge_push))
        assert [r for r in repo.check_runs.values() if r.head_sha == pr.merge_commit_sha] == []
        await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
        assert the_run(repo, pr.merge_commit_sha).conclusion == "success"
        assert bot.fake.counts == {
            "POST /graphql": 1,
            "POST /repos/{owner}/{repo}/check-runs": 1,
        }, method
        # and a redelivery of either costs nothing
        bot.fake.reset_counts()
        await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
        await bot.deliver(bot.fake.webhooks.push(pr.merge_push))
        assert bot.fake.counts == {}, method
