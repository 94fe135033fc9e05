"""Issue 7 and 8, third round: attacks on the merge push routing, the branch list cache, policy
reads under rate limits, and a false alarm on an honest workflow; each end to end."""

from __future__ import annotations

from typing import Any

from tests.support import Bot
from tests.test_commands import command
from tests.test_merge_audit import countersign_runs, make_repo, merge_and_deliver
from tests.test_trust import app_issues


def build_change(author: str, message: str) -> dict[str, Any]:
    return {"message": message, "files": {"configure": "#!/bin/sh\nevil\n"}, "author": author}


async def test_a_direct_push_naming_a_pull_request_that_does_not_exist_is_audited(bot: Bot):
    # dave pushes straight to main; his commit's subject names a pull request that does not
    # exist (or an issue): the push is "a merge" to the router, reading #999 fails, the job
    # dies, and the push is never audited
    repo = make_repo(bot.fake)
    push = repo.push(
        "main", [build_change("dave", "Merge pull request #999 from dave/x")], pusher="dave"
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    assert countersign_runs(repo, push.after), "direct push was never audited"
    assert app_issues(bot, repo)


async def test_a_direct_push_naming_an_issue_is_audited(bot: Bot):
    repo = make_repo(bot.fake)
    issue = repo.create_issue("tracking", author="dave")
    push = repo.push(
        "main", [build_change("dave", f"Fix the build (#{issue.number})")], pusher="dave"
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    assert countersign_runs(repo, push.after), "direct push was never audited"


async def test_pushing_one_merge_looking_commit_to_several_branches_audits_main(bot: Bot):
    # a push whose head names a pull request is queued under that pull request with the label
    # push:<after>, which does not name the branch: dave pushes his commit to a scratch branch,
    # to main and to a second scratch branch at once (one `git push`, three deliveries); the
    # delivery for main is waiting behind the first and is *replaced* by the third
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Docs", files={"docs/a.md": "hi\n"})
    pr.review("bob", "APPROVED")
    await merge_and_deliver(bot, pr, by="alice")
    evil = repo.commit(
        None,
        parents=[repo.head("main")],
        **build_change("dave", f"Merge pull request #{pr.number} from dave/x"),
    )
    first = repo.push("scratch", [evil], pusher="dave")
    main = repo.push("main", [evil], pusher="dave")
    last = repo.push("scratch2", [evil], pusher="dave")
    bot.fake.latency = 0.05
    for push in (first, main, last):
        await bot.deliver(bot.fake.webhooks.push(push), wait=False)
    await bot.idle()
    bot.fake.latency = 0.0
    assert countersign_runs(repo, evil), "the push to main was never audited"


async def test_a_release_branch_made_from_a_release_branch_raises_no_alarm(bot: Bot):
    # FALSE ALARM: the release manager's direct commit on 3.12 was audited and signed off
    # there; she then makes 3.12.1 from 3.12 (no new commit). The new branch is compared with
    # main, so every 3.12 commit that did not come by a pull request is audited again as
    # hers, and another audit issue opens
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    bump = repo.push(
        "3.12",
        [
            {
                "message": "Bump version",
                "files": {"configure": "#!/bin/sh\n3.12.1\n"},
                "author": "dave",
            }
        ],
        pusher="dave",
    )
    await bot.deliver(bot.fake.webhooks.push(bump))
    issues_before = len(app_issues(bot, repo))
    bot.services.caches.branches.clear()  # past the protected-branch cache (see below)
    branch = repo.push("3.12.1", [], from_ref="3.12", pusher="carol")
    await bot.deliver(bot.fake.webhooks.push(branch))
    assert len(app_issues(bot, repo)) == issues_before, [i.title for i in app_issues(bot, repo)]


async def test_a_new_protected_branch_is_audited_though_the_branch_list_is_cached(bot: Bot):
    # the protected-branch list is cached for 5 minutes; any push to a release branch warms
    # it. dave then creates 3.13 (protected by the "3.*" rule) with an unreviewed build
    # change: 3.13 is not in the cached list, so the push is "not audited", as is every
    # further push to 3.13 for 5 minutes
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    docs = repo.push(
        "3.12",
        [{"message": "docs", "files": {"README.md": "x\n"}, "author": "alice"}],
        pusher="alice",
    )
    await bot.deliver(bot.fake.webhooks.push(docs))
    evil = repo.push("3.13", [build_change("dave", "Regenerate")], from_ref="main", pusher="dave")
    await bot.deliver(bot.fake.webhooks.push(evil))
    assert countersign_runs(repo, evil.after), "creating 3.13 was never audited"


async def test_a_rate_limited_policy_read_does_not_drop_the_repositorys_policy(bot: Bot):
    # the repository audits "rel" (not protected) by its own policy. While GitHub rate-limits
    # every read of that file (a 403 past the retries), nothing is judged by a weaker policy and
    # none is cached (a rate limit is no "there is no file"); the redelivery after the limit has
    # passed is audited by the real policy
    repo = make_repo(bot.fake, 'branches: ["main", "rel"]\n')
    repo.create_branch("rel")
    bot.fake.inject_fault("secondary", "GET /repos/{owner}/{repo}/contents", times=10)
    push = repo.push("rel", [build_change("dave", "Regenerate")], pusher="dave")
    await bot.deliver(bot.fake.webhooks.push(push))
    assert countersign_runs(repo, push.after) == []
    assert repo.full_name not in bot.services.caches.policies
    await bot.deliver(bot.fake.webhooks.push(push))
    await bot.deliver(bot.fake.webhooks.push(push))
    (run,) = countersign_runs(repo, push.after)
    assert run.conclusion == "failure"  # configure is the build system: unreviewed, high
    assert app_issues(bot, repo)


def test_a_conflict_resolution_cannot_hide_lines_that_start_like_diff_headers() -> None:
    # GitHub's patches have no file headers: inside a hunk "+++i;" adds "++i;", "---x" removes
    # "--x", and a line holding U+2028 is still one line
    from bot.core.patches import FilePatch, brings_only

    base = [FilePatch("a.c", "modified", "b1", "@@ -1 +1 @@\n-int i;\n+int i = 0;\n")]
    for sneaky in ("+++i;", "---i;", "+int i = 0;\u2028evil();"):
        merge = FilePatch(
            "a.c", "modified", "m1", f"@@ -1 +1,2 @@\n-int i;\n+int i = 0;\n{sneaky}\n"
        )
        assert not brings_only([merge], base), sneaky


async def test_a_signoff_is_judged_by_the_policy_recorded_when_the_change_landed(bot: Bot):
    # a build change lands unreviewed on the protected 3.12 (build-system: 2 approvals); the
    # default branch's policy later asks for 1: one sign-off still leaves it one short
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    pr = repo.open_pull(author="alice", base="3.12", files={"configure": "#!/bin/sh\n"})
    sha = await merge_and_deliver(bot, pr, by="alice")
    (issue,) = app_issues(bot, repo)
    repo.set_file(".github/countersign.yml", "rules:\n  - name: build-system\n    approvals: 1\n")
    bot.services.caches.policies.clear()
    await command(bot, issue, "bob", "/audit approve")
    (run,) = countersign_runs(repo, sha)
    assert run.conclusion == "failure"
    assert issue.state == "open"
    await command(bot, issue, "carol", "/audit approve")
    (run,) = countersign_runs(repo, sha)
    assert run.conclusion == "success"
    assert issue.state == "closed"
