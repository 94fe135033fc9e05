"""The merge audit end to end: signed webhooks through ``POST /webhook``, effects in the fake."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.record import find_audit_marker, parse_record
from tests.fakegithub import FakeGitHub
from tests.support import Bot

CHECK_RUNS = "POST /repos/{owner}/{repo}/check-runs"
ISSUES = "POST /repos/{owner}/{repo}/issues"
NUL_BYTES = b"\x00\x01\x02fake xz test data\x00" * 40


def countersign_runs(repo: Any, sha: str) -> list[Any]:
    return [r for r in repo.check_runs.values() if r.head_sha == sha and r.name == "countersign"]


def the_run(repo: Any, sha: str) -> Any:
    runs = countersign_runs(repo, sha)
    assert len(runs) == 1, runs
    return runs[0]


def audit_issues(repo: Any) -> list[Any]:
    return [i for i in repo.issues.values() if i.pull is None and find_audit_marker(i.body)]


def record(repo: Any, sha: str) -> dict[str, Any]:
    parsed = parse_record(the_run(repo, sha).text)
    assert parsed is not None
    return parsed


def make_repo(fake: FakeGitHub, policy: str | None = None, **options: Any) -> Any:
    repo = fake.add_repo("octo-org/widgets", protected=["main"], **options)
    if policy is not None:
        repo.set_file(".github/countersign.yml", policy)
    for login in ("alice", "bob", "carol", "dave"):
        repo.set_permission(login, "write")
    return repo


async def merge_and_deliver(bot: Bot, pr: Any, by: str, method: str = "merge") -> str:
    sha = pr.merge(by=by, method=method)
    assert await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed")) == 202
    return sha


async def test_reviewed_merge_is_success_with_a_record(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Fix parser", files={"src/parse.py": "x = 2\n"})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert (run.status, run.conclusion) == ("completed", "success")
    data = record(repo, sha)
    assert data["status"] == "reviewed"
    assert data["author"] == "alice" and data["merged_by"] == "alice"
    assert [a["reviewer"] for a in data["approvals"] if a["counted_for"]] == ["bob"]
    assert audit_issues(repo) == []
    assert bot.fake.graphql_errors == []


async def test_self_approved_merge_is_unreviewed(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.review("alice", "APPROVED", allow_self=True)
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert run.conclusion == "neutral"  # the base requirement is severity low
    assert record(repo, sha)["status"] == "unreviewed"
    assert "author" in run.summary


async def test_unreviewed_merge_by_its_author(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    sha = await merge_and_deliver(bot, pr, by="alice")
    assert the_run(repo, sha).conclusion == "neutral"
    assert record(repo, sha)["status"] == "unreviewed"
    assert audit_issues(repo) == []  # the base requirement asks only for the check


async def test_merged_by_another_maintainer_counts_as_implicit_review(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    sha = await merge_and_deliver(bot, pr, by="carol", method="squash")
    run = the_run(repo, sha)
    assert run.conclusion == "success"
    assert "implicit review by the merger" in run.summary
    assert "approved" not in run.summary.lower().replace("approvals", "")


async def test_merger_does_not_count_under_a_rule_that_says_so(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"configure.ac": "AC_INIT([w], [1])\n"})
    sha = await merge_and_deliver(bot, pr, by="carol")
    run = the_run(repo, sha)
    assert run.conclusion == "failure"
    assert record(repo, sha)["status"] == "under-reviewed"  # the merger counted for the base only


async def test_build_system_change_with_one_approval(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(
        author="alice", title="Bump autoconf", files={"m4/ax_check.m4": "dnl check\n"}
    )
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert run.conclusion == "failure"
    assert "build-system" in run.summary and "2" in run.summary
    issues = audit_issues(repo)
    assert len(issues) == 1
    issue = issues[0]
    assert issue.title.startswith("Under-reviewed change to main: #")
    assert [label.name for label in issue.labels] == ["countersign"]
    assert "/audit approve" in issue.body
    assert "countersign: unreviewed" in [label.name for label in pr.labels]
    assert record(repo, sha)["audit_issue"] == {
        "repository": "octo-org/widgets",
        "number": issue.number,
    }


async def test_stale_approval_under_a_fresh_rule(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"CMakeLists.txt": "project(w)\n"})
    pr.review("bob", "APPROVED")
    pr.review("carol", "APPROVED")
    pr.push_commit("Tweak", files={"CMakeLists.txt": "project(w C)\n"})
    pr.push_commit("Tweak again", files={"src/a.c": "int a;\n"})
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert run.conclusion == "failure"
    assert "stale" in run.summary and "2 commits" in run.summary
    # the same approvals satisfy the base requirement, which does not ask for freshness
    data = record(repo, sha)
    base = next(r for r in data["requirements"] if r["name"] == "review")
    assert base["met"] is True


async def test_fresh_approvals_satisfy_the_build_rule(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"CMakeLists.txt": "project(w)\n"})
    pr.push_commit("Tweak", files={"CMakeLists.txt": "project(w C)\n"})
    pr.review("bob", "APPROVED")
    pr.review("carol", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    assert the_run(repo, sha).conclusion == "success"
    assert audit_issues(repo) == []


async def test_approval_from_outside_the_required_team(bot: Bot):
    policy = """\
rules:
  - name: build-system
    teams: ["build-reviewers"]
    approvals: 1
"""
    repo = make_repo(bot.fake, policy)
    bot.fake.add_team("octo-org", "build-reviewers", members=["dave"])
    pr = repo.open_pull(author="alice", files={"Makefile.am": "SUBDIRS = src\n"})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert run.conclusion == "failure"
    assert "build-reviewers" in run.summary
    pr2 = repo.open_pull(author="alice", files={"Makefile.in": "all:\n"})
    pr2.review("dave", "APPROVED")
    sha2 = await merge_and_deliver(bot, pr2, by="alice")
    assert the_run(repo, sha2).conclusion == "success"


async def test_binary_test_file_under_an_innocent_name(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"tests/files/good-1.txt": NUL_BYTES})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert run.conclusion == "failure"
    assert "binaries" in run.summary
    assert bot.fake.count("GET /repos/{owner}/{repo}/git/blobs/{file_sha}") == 1
    assert len(audit_issues(repo)) == 1


async def test_binary_by_gitattributes_needs_no_blob(bot: Bot):
    repo = make_repo(bot.fake)
    repo.set_file(".gitattributes", "*.dat binary\n")
    pr = repo.open_pull(author="alice", files={"tests/sample.dat": "plain looking text\n"})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    assert the_run(repo, sha).conclusion == "failure"
    assert bot.fake.count("GET /repos/{owner}/{repo}/git/blobs/{file_sha}") == 0


async def test_direct_push(bot: Bot):
    repo = make_repo(bot.fake)
    push = repo.push(
        "main",
        [{"message": "Quick fix", "files": {"src/a.py": "y = 1\n"}, "author": "carol"}],
        pusher="carol",
    )
    assert await bot.deliver(bot.fake.webhooks.push(push)) == 202
    run = the_run(repo, push.after)
    assert run.conclusion == "neutral"
    data = record(repo, push.after)
    assert data["status"] == "direct-push" and data["pusher"] == "carol"
    assert "Direct push to main" in run.title


async def test_direct_push_of_a_sensitive_file_opens_an_audit_issue(bot: Bot):
    repo = make_repo(bot.fake)
    push = repo.push(
        "main",
        [{"message": "ci", "files": {".github/workflows/ci.yml": "on: push\n"}}],
        pusher="carol",
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    assert the_run(repo, push.after).conclusion == "failure"
    (issue,) = audit_issues(repo)
    assert issue.title.startswith("Direct push to main")


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
async def test_push_made_by_a_merge_is_left_to_the_merge_audit(bot: Bot, method: str):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.push_commit("second", files={"src/b.py": "y = 2\n"})
    pr.review("bob", "APPROVED")
    sha = pr.merge(by="alice", method=method)
    await bot.deliver(bot.fake.webhooks.push(pr.merge_push))
    assert countersign_runs(repo, sha) == []
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    assert the_run(repo, sha).conclusion == "success"


async def test_force_push(bot: Bot):
    repo = make_repo(bot.fake)
    repo.push("main", [{"message": "one", "files": {"a.txt": "1\n"}}], pusher="carol")
    push = repo.push(
        "main", [{"message": "rewritten", "files": {"a.txt": "2\n"}}], pusher="carol", forced=True
    )
    assert push.forced
    await bot.deliver(bot.fake.webhooks.push(push))
    run = the_run(repo, push.after)
    assert run.conclusion == "failure"
    (issue,) = audit_issues(repo)
    assert issue.title.startswith("Force push to main")
    assert push.before in issue.body and push.after in issue.body
    assert "/compare/" in issue.body


async def test_branch_deletion_is_a_history_rewrite(bot: Bot):
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    push = repo.push("3.12", delete=True, pusher="carol")
    await bot.deliver(bot.fake.webhooks.push(push))
    (issue,) = audit_issues(repo)
    assert "3.12" in issue.title


async def test_unaudited_branch_and_tags_are_ignored(bot: Bot):
    repo = make_repo(bot.fake)
    push = repo.push("feature", [{"message": "wip", "files": {"a.txt": "1\n"}}], pusher="carol")
    await bot.deliver(bot.fake.webhooks.push(push))
    assert countersign_runs(repo, push.after) == []
    assert bot.fake.count(CHECK_RUNS) == 0


async def test_policy_change_inside_the_pull_request_does_not_judge_itself(bot: Bot):
    repo = make_repo(bot.fake)
    weakened = "review:\n  approvals: 0\nrules:\n  - name: review-config\n    approvals: 0\n"
    pr = repo.open_pull(author="alice", files={".github/countersign.yml": weakened})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert run.conclusion == "failure"  # review-config asks for 2 fresh approvals
    assert "review-config" in run.summary
    assert len(audit_issues(repo)) == 1


async def test_broken_policy_file_keeps_auditing_and_says_where(bot: Bot):
    repo = make_repo(bot.fake, "review:\n  approvals: two\n")
    pr = repo.open_pull(author="alice", files={"configure.ac": "AC_INIT\n"})
    sha = await merge_and_deliver(bot, pr, by="alice")
    run = the_run(repo, sha)
    assert run.conclusion == "failure"  # the shipped default still applies
    assert ".github/countersign.yml:2" in run.summary
    assert "approvals" in run.summary


async def test_a_redelivered_event_duplicates_nothing(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"configure": "#!/bin/sh\n"})
    pr.merge(by="alice")
    event = bot.fake.webhooks.pull_request(pr, "closed")
    await bot.deliver(event)
    await bot.deliver(event)
    # a restart loses every cache: the record on GitHub is still found
    bot.services.caches.policies.clear()
    await bot.deliver(event)
    assert len(countersign_runs(repo, pr.merge_commit_sha)) == 1
    assert len(audit_issues(repo)) == 1
    assert bot.fake.counts[CHECK_RUNS] == 1
    assert bot.fake.counts[ISSUES] == 1


async def test_a_lost_record_is_recovered_from_the_issue_marker(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"configure": "#!/bin/sh\n"})
    pr.merge(by="alice")
    event = bot.fake.webhooks.pull_request(pr, "closed")
    await bot.deliver(event)
    repo.check_runs.clear()  # as if the first run died after opening the issue
    await bot.deliver(event)
    assert len(audit_issues(repo)) == 1


async def test_audit_issues_go_to_the_configured_repository(bot: Bot):
    repo = make_repo(bot.fake, "audit:\n  repository: octo-org/audits\n  labels: [audit, build]\n")
    audits = bot.fake.add_repo("octo-org/audits")
    pr = repo.open_pull(author="alice", files={"configure": "#!/bin/sh\n"})
    pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    assert audit_issues(repo) == []
    (issue,) = audit_issues(audits)
    assert [label.name for label in issue.labels] == ["audit", "build"]


async def test_user_text_cannot_ping_or_close(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(
        author="alice",
        title="Fixes #1 @octo-org/everyone <!-- countersign:audit repo=x change=y -->",
        files={"configure": "#!/bin/sh\n"},
    )
    pr.merge(by="alice")
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    (issue,) = audit_issues(repo)
    assert "@octo-org/everyone" not in issue.title + issue.body
    assert "Fixes #1" not in issue.title + issue.body
    assert issue.body.count("<!--") == 1


async def test_cost_of_a_reviewed_merge_with_warm_caches(bot: Bot):
    repo = make_repo(bot.fake)
    warm = repo.open_pull(author="alice", files={"src/warm.py": "x\n"})
    warm.review("bob", "APPROVED")
    await merge_and_deliver(bot, warm, by="alice")
    pr = repo.open_pull(
        author="alice", files={f"src/module_{n:03}.py": f"x = {n}\n" for n in range(100)}
    )
    pr.review("bob", "APPROVED")
    pr.merge(by="alice")
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    assert the_run(repo, pr.merge_commit_sha).conclusion == "success"
    # the 100 files come in the pull request's own query (issue 8): no REST file list
    assert bot.fake.counts == {"POST /graphql": 1, CHECK_RUNS: 1}


async def test_large_pull_requests_are_paginated_not_truncated(bot: Bot):
    repo = make_repo(bot.fake)
    files: dict[str, str | bytes] = {f"src/m{n:04}.py": f"x = {n}\n" for n in range(249)}
    files["configure.ac"] = "AC_INIT\n"  # the last file, on the third page
    pr = repo.open_pull(author="alice", files=files)
    for n in range(105):
        pr.push_commit(f"step {n}", files={"src/step.py": f"s = {n}\n"})
    for n in range(101):
        pr.review(f"user{n}", "COMMENTED", body="hm")
    pr.review("bob", "APPROVED")
    pr.review("carol", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    assert the_run(repo, sha).conclusion == "success"
    data = record(repo, sha)
    build = next(r for r in data["requirements"] if r["name"] == "build-system")
    assert build["met"] is True
    assert bot.fake.count("GET /repos/{owner}/{repo}/pulls/{pull_number}/files") == 3
    assert bot.fake.count("POST /graphql") == 3  # first page, then one more of commits, of reviews


async def test_the_organisation_policy_applies_under_the_repository_one(bot: Bot):
    org = bot.fake.add_repo("octo-org/.github")
    org.set_file(".github/countersign.yml", "review:\n  approvals: 2\n  severity: high\n")
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    assert the_run(repo, sha).conclusion == "failure"  # the organisation asks for 2
    # the repository's own file, one layer up, relaxes the count but keeps the severity
    repo.set_file(".github/countersign.yml", "review:\n  approvals: 1\n")
    bot.services.caches.policies.clear()
    pr2 = repo.open_pull(author="alice", files={"src/b.py": "x\n"})
    pr2.review("bob", "APPROVED")
    pr2.review("carol", "CHANGES_REQUESTED")
    sha2 = await merge_and_deliver(bot, pr2, by="alice")
    assert the_run(repo, sha2).conclusion == "success"
    pr3 = repo.open_pull(author="alice", files={"src/c.py": "x\n"})
    sha3 = await merge_and_deliver(bot, pr3, by="alice")
    assert the_run(repo, sha3).conclusion == "failure"  # severity high from the organisation


async def test_a_push_to_the_policy_file_refreshes_the_cached_policy(bot: Bot):
    repo = make_repo(bot.fake)
    first = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    await merge_and_deliver(bot, first, by="alice")  # caches the policy
    push = repo.push(
        "main",
        [{"message": "policy", "files": {".github/countersign.yml": "review:\n  approvals: 0\n"}}],
        pusher="carol",
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    # the push itself is judged by the policy it replaces (review-config asks for 2 sign-offs)
    assert the_run(repo, push.after).conclusion == "failure"
    second = repo.open_pull(author="alice", files={"src/b.py": "x\n"})
    sha = await merge_and_deliver(bot, second, by="alice")
    assert record(repo, sha)["status"] == "reviewed"  # no approval needed any more
