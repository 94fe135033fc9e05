"""Issue 7, second round: attacks found by reviewing the first round of fixes, each through
``POST /webhook``: a record borrowed from another change on the same commit, a compare GitHub
refuses, a branch made at a commit a squash merge never landed, a conflict resolved with new code
in GitHub's editor (signed by GitHub like "Update branch"), an audit issue that cannot be opened.
"""

from __future__ import annotations

from typing import Any

from bot.core.record import parse_record
from tests.support import Bot
from tests.test_commands import command, the_reply
from tests.test_merge_audit import make_repo, merge_and_deliver, record, the_run
from tests.test_trust import NUL, app_issues, the_run_count, unreviewed_build_change

# ------------------------------------------ H1: a record is found by commit, not by change


def keyed_record(repo: Any, sha: str, key: str) -> dict[str, Any]:
    """The record of change ``key`` on ``sha``: one commit may carry several changes' runs."""
    (run,) = [
        r
        for r in repo.check_runs.values()
        if r.head_sha == sha and r.name == "countersign" and r.external_id == key
    ]
    data = parse_record(run.text)
    assert data is not None
    return data


async def test_deleting_a_branch_does_not_inherit_the_sign_offs_of_its_head(bot: Bot):
    # dave's direct push to 3.12 was signed off by bob and carol; carol then deletes 3.12.
    # The deletion's audit reads the record on the deleted head (dave's push's record) and
    # counts bob's sign-off of *that* change as a sign-off of the deletion: no issue, success.
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    push = repo.push(
        "3.12",
        [{"message": "regen", "files": {"configure": "#!/bin/sh\n"}, "author": "dave"}],
        pusher="dave",
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    (issue,) = app_issues(bot, repo)
    await command(bot, issue, "bob", "/audit approve")
    await command(bot, issue, "carol", "/audit approve")
    assert issue.state == "closed"

    deletion = repo.push("3.12", delete=True, pusher="carol")
    await bot.deliver(bot.fake.webhooks.push(deletion))
    data = keyed_record(repo, deletion.before, f"deletion-3.12-{deletion.before}")
    assert data["kind"] == "branch_deletion"
    assert data["signoffs"] == []  # nobody signed the deletion off
    assert data["conclusion"] == "failure"
    opened = [i for i in app_issues(bot, repo) if i.title.startswith("Deletion of branch")]
    assert len(opened) == 1 and opened[0].state == "open"


async def test_a_force_push_back_to_an_audited_commit_gets_its_own_audit_issue(bot: Bot):
    # alice's unreviewed build change has an open audit issue. dave pushes a fix; alice
    # force-pushes main back to her merge commit, erasing dave's fix. The force push's audit
    # finds the merge commit's record and "reuses" the pull request's issue: no issue says
    # that history was rewritten, and the pull request's record is overwritten.
    repo = make_repo(bot.fake)
    pr = await unreviewed_build_change(bot, repo)
    merge = pr.merge_commit_sha
    (pr_issue,) = app_issues(bot, repo)
    fix = repo.push(
        "main", [{"message": "fix", "files": {"a.txt": "1\n"}, "author": "dave"}], pusher="dave"
    )
    await bot.deliver(bot.fake.webhooks.push(fix))
    rewrite = repo.push("main", [merge], pusher="alice", forced=True)
    assert rewrite.forced and rewrite.after == merge
    await bot.deliver(bot.fake.webhooks.push(rewrite))
    titles = [i.title for i in app_issues(bot, repo) if i is not pr_issue]
    assert any(t.startswith("Force push to main") for t in titles), titles


async def test_sign_offs_of_a_merged_pull_request_do_not_sign_off_a_force_push(bot: Bot):
    repo = make_repo(bot.fake)
    pr = await unreviewed_build_change(bot, repo)
    merge = pr.merge_commit_sha
    (pr_issue,) = app_issues(bot, repo)
    for who in ("bob", "carol"):
        await command(bot, pr_issue, who, "/audit approve")
    assert the_run(repo, merge).conclusion == "success"
    fix = repo.push(
        "main", [{"message": "fix", "files": {"a.txt": "1\n"}, "author": "dave"}], pusher="dave"
    )
    await bot.deliver(bot.fake.webhooks.push(fix))
    rewrite = repo.push("main", [merge], pusher="alice", forced=True)
    await bot.deliver(bot.fake.webhooks.push(rewrite))
    # the force push has a check run of its own on the merge commit, which nobody signed off,
    # so it fails with an issue of its own; the pull request's record is untouched
    data = keyed_record(repo, merge, f"force-push-main-{rewrite.before}-{merge}")
    assert data["kind"] == "force_push"
    assert data["signoffs"] == [], data["signoffs"]
    assert data["conclusion"] == "failure"
    pull = keyed_record(repo, merge, f"pr-{pr.number}")
    assert [s["login"] for s in pull["signoffs"]] == ["bob", "carol"]
    assert pull["conclusion"] == "success"


# ------------------------- H2: a new audited branch whose compare fails is not audited at all


async def test_an_orphan_release_branch_is_audited(bot: Bot):
    # GitHub cannot compare unrelated histories (404 "No common ancestor"). mallory pushes an
    # orphan history to an unaudited branch, then makes a release branch of it: the delivery
    # lists no distinct commit, the compare with main 404s, and the fallback sees nothing and
    # says nothing, so the push counts as "brought no commit" and gets no record at all.
    repo = make_repo(bot.fake, 'branches: ["main", "release-*"]\n')
    orphan = repo.commit(
        None,
        parents=[],
        message="import",
        author="carol",
        files={"configure": "#!/bin/sh\n", "tests/data/good.txt": NUL},
    )
    topic = repo.push("topic", [orphan], pusher="carol")
    await bot.deliver(bot.fake.webhooks.push(topic))
    release = repo.push("release-1", [], from_ref="topic", pusher="carol")
    assert release.created and release.after == orphan
    await bot.deliver(bot.fake.webhooks.push(release))
    assert the_run_count(repo, orphan) == 1
    data = record(repo, orphan)
    assert data["conclusion"] == "failure"
    assert data["unseen"] or data["binary_files"] == ["tests/data/good.txt"]
    assert len(app_issues(bot, repo)) == 1


async def test_removed_commits_count_even_when_github_cannot_compare(bot: Bot):
    # a force push of unrelated history: compare(after, before) 404s, so the removed commits
    # (dave's) are silently dropped and dave may sign off the push that erased his own work
    repo = make_repo(bot.fake)
    repo.push("main", [{"message": "dave's fix", "files": {"a.txt": "1\n"}, "author": "dave"}])
    orphan = repo.commit(
        None, parents=[], message="fresh start", author="alice", files={"a.txt": "2\n"}
    )
    push = repo.push("main", [orphan], pusher="carol", forced=True)
    assert push.forced
    await bot.deliver(bot.fake.webhooks.push(push))
    (issue,) = app_issues(bot, repo)
    refused = await command(bot, issue, "dave", "/audit approve")
    assert "cannot sign it off" in the_reply(issue, refused)
    assert record(repo, push.after)["signoffs"] == []


# --------------- H3: "arrived by a merged pull request" is not "its state was reviewed"


async def test_a_release_branch_at_a_commit_inside_a_squashed_pull_request(bot: Bot):
    # carol's pull request adds a binary in its first commit and removes it in its second: the
    # net diff bob approves is harmless, and it is squash-merged. carol then makes a release
    # branch at the first commit. That commit "arrived by a pull request merged into an audited
    # branch", so the new branch is left to that pull request's audit, which never saw the
    # binary: the release branch ships it unaudited.
    repo = make_repo(bot.fake, 'branches: ["main", "release-*"]\n')
    pr = repo.open_pull(
        author="carol",
        commits=[
            {"message": "add test data", "files": {"tests/data/good.txt": NUL}},
            {"message": "tidy", "files": {"tests/data/good.txt": None, "src/a.py": "x = 1\n"}},
        ],
    )
    evil = pr.commits[0]
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="carol", method="squash")
    assert record(repo, sha)["binary_files"] == []  # the pull request's audit saw no binary
    release = repo.push("release-1", [evil], pusher="carol")
    assert release.created
    await bot.deliver(bot.fake.webhooks.push(release))
    assert the_run_count(repo, evil) == 1
    assert record(repo, evil)["binary_files"] == ["tests/data/good.txt"]


# ----------- H4: GitHub signs every web-interface commit, not only "Update branch" merges

FRESH = "review:\n  fresh: true\n"


async def test_a_conflict_resolved_on_github_with_new_code_makes_an_approval_stale(bot: Bot):
    # GitHub signs every commit made in its web interface with its web-flow key, including
    # the merge commit of the "Resolve conflicts" editor, where the user types whatever the
    # conflicted files should hold. Subject "Merge branch 'main' into ...", two parents,
    # committer web-flow, GitHub's valid signature: countersign takes it for an "Update
    # branch" merge that changes nothing, so bob's approval stays fresh over alice's new code.
    repo = make_repo(bot.fake, FRESH)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.review("bob", "APPROVED")
    main_head = repo.set_file("src/a.py", "x = 2\n")  # main changes the same line: a conflict
    resolved = dict(repo.commit_obj(main_head).tree)
    resolved["src/a.py"] = b"x = 1\nimport evil\n"  # what alice typed into the editor
    merge = repo._make_commit(
        resolved,
        [pr.head_sha, main_head],
        f"Merge branch 'main' into {pr.head_ref}",
        repo._identity("alice"),
        repo.world.web_flow,
        signed_by_github=True,  # as GitHub does for every web-interface commit
    )
    repo.push(pr.head_ref, [merge], pusher="alice")
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    (bob,) = [a for a in data["approvals"] if a["reviewer"] == "bob"]
    assert bob["stale"] and bob["commits_after"] == 1
    assert data["status"] == "unreviewed"


# ------------- H5: an audit issue that cannot be opened takes the check run down with it


async def test_the_record_is_written_even_when_the_audit_issue_cannot_be_opened(bot: Bot):
    # a policy whose audit.repository the App cannot write to (a typo, another organisation,
    # a repository the App was removed from): the 404 on POST /issues is logged as expected,
    # and the check run, which publish_audit writes only after the issue, is never written
    repo = make_repo(bot.fake, "audit:\n  repository: octo-org/no-such-repo\n")
    pr = await unreviewed_build_change(bot, repo)
    assert the_run_count(repo, pr.merge_commit_sha) == 1
    assert the_run(repo, pr.merge_commit_sha).conclusion == "failure"
