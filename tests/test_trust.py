"""Issue 7: trust only what GitHub asserts. Each test is an attack by an insider with write access
or an outsider with a sock puppet, sent through ``POST /webhook`` into the real app, with its
effect checked in the fake GitHub."""

from __future__ import annotations

from typing import Any

from bot.core.record import audit_marker
from tests.support import Bot
from tests.test_commands import command, the_reply
from tests.test_merge_audit import audit_issues, make_repo, merge_and_deliver, record, the_run

FRESH = "review:\n  fresh: true\n"
FORGED_COMMITTER = "GitHub <noreply@github.com>"


def counted(data: dict[str, Any]) -> list[str]:
    return [a["reviewer"] for a in data["approvals"] if a["counted_for"]]


def not_counted(data: dict[str, Any]) -> dict[str, str]:
    return {entry["login"]: entry["reason"] for entry in data["not_counting"]}


# ------------------------------------------------------------------------ who counts as a reviewer


async def test_an_approval_without_write_access_does_not_count(bot: Bot):
    # a public repository: anybody can press "Approve", a sock puppet included
    repo = make_repo(bot.fake)
    bot.fake.add_user("sockpuppet")
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.review("sockpuppet", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    assert data["status"] == "unreviewed"
    assert counted(data) == []
    assert not_counted(data)["sockpuppet"] == "no write access"
    summary = the_run(repo, sha).summary
    assert "no write access" in summary and "sockpuppet" in summary


async def test_triage_permission_is_not_write_access(bot: Bot):
    repo = make_repo(bot.fake)
    repo.set_permission("erin", "triage")
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.review("erin", "APPROVED")
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    assert data["status"] == "reviewed"
    assert counted(data) == ["bob"]
    assert not_counted(data)["erin"] == "no write access"


async def test_allow_contributors_does_not_waive_write_access(bot: Bot):
    # "no write access" is checked before "contributor", which allow_contributors waives
    repo = make_repo(bot.fake, "review:\n  allow_contributors: true\n")
    bot.fake.add_user("outsider")
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.push_commit("help", files={"src/b.py": "y = 2\n"}, author="outsider")
    pr.review("outsider", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    assert data["status"] == "unreviewed"
    assert counted(data) == []


# --------------------------------------------------------------- "Update branch" by its signature


async def test_update_branch_merge_signed_by_github_keeps_an_approval_fresh(bot: Bot):
    repo = make_repo(bot.fake, FRESH)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.review("bob", "APPROVED")
    repo.set_file("src/other.py", "elsewhere = True\n")  # main moves on
    pr.update_branch(by="carol")  # GitHub makes and signs the merge
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    assert data["status"] == "reviewed"
    assert [a["stale"] for a in data["approvals"]] == [False]
    assert "carol" not in data["contributors"]  # pressing the button contributes nothing


async def test_a_look_alike_update_branch_merge_is_an_ordinary_commit(bot: Bot):
    # carol writes a merge commit that looks like GitHub's "Update branch" (subject, committer
    # name and address) and slips a change into it: it is not signed by GitHub, so bob's
    # approval is stale and carol is a contributor
    repo = make_repo(bot.fake, FRESH)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x = 1\n"})
    pr.review("bob", "APPROVED")
    main_head = repo.set_file("src/other.py", "elsewhere = True\n")
    forged = repo.commit(
        None,
        parents=[pr.head_sha, main_head],
        message=f"Merge branch 'main' into {pr.head_ref}",
        author="carol",
        committer=FORGED_COMMITTER,
        files={"src/other.py": "elsewhere = True\n", "src/a.py": "x = 1\nimport evil\n"},
    )
    repo.push(pr.head_ref, [forged], pusher="carol")
    pr.review("carol", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    assert data["status"] == "unreviewed"
    bob = next(a for a in data["approvals"] if a["reviewer"] == "bob")
    assert bob["stale"] and bob["commits_after"] == 1
    assert "carol" in data["contributors"]
    assert not_counted(data)["carol"] == "contributor"
    assert "1 commit was pushed after it" in the_run(repo, sha).summary


# ----------------------------------------------------------------- countersign trusts its own text


async def unreviewed_build_change(bot: Bot, repo: Any, title: str = "Regenerate") -> Any:
    pr = repo.open_pull(author="alice", title=title, files={"configure": f"#!/bin/sh\n# {title}\n"})
    await merge_and_deliver(bot, pr, by="alice")
    return pr


def app_issues(bot: Bot, repo: Any) -> list[Any]:
    return [i for i in audit_issues(repo) if i.app is not None and i.app.id == bot.fake.app.id]


async def test_issues_carrying_a_marker_in_advance_do_not_stop_the_audit_issue(bot: Bot):
    # mallory knows the next pull request's number and opens issues (one closed) that carry
    # the marker countersign would look for, hoping it finds one and opens none
    repo = make_repo(bot.fake)
    number = len(repo.issues) + 3  # after mallory's two issues
    marker = audit_marker(repo.full_name, f"pr-{number}")
    repo.create_issue("Unreviewed change to main", author="mallory", body=f"{marker}\nnothing")
    decoy = repo.create_issue("Audit", author="mallory", body=marker)
    decoy.close("mallory")
    pr = await unreviewed_build_change(bot, repo)
    assert pr.number == number
    real = app_issues(bot, repo)
    assert len(real) == 1 and real[0].state == "open"
    assert record(repo, pr.merge_commit_sha)["audit_issue"]["number"] == real[0].number


async def test_a_forged_reply_marker_does_not_silence_a_command(bot: Bot):
    repo = make_repo(bot.fake)
    pr = await unreviewed_build_change(bot, repo)
    (issue,) = app_issues(bot, repo)
    comment = issue.comment("bob", "/audit approve checked it")
    # the App had reacted before it crashed, and mallory wrote the answer's marker herself
    comment.react(bot.fake.app.bot, "eyes")
    issue.comment("mallory", f"<!-- countersign:reply comment={comment.id} -->\nhandled")
    await bot.deliver(bot.fake.webhooks.issue_comment(comment, "created"))
    replies = [c for c in issue.comments if c.app is not None and str(comment.id) in c.body]
    assert len(replies) == 1
    assert [s["login"] for s in record(repo, pr.merge_commit_sha)["signoffs"]] == ["bob"]


async def test_a_marker_in_an_issue_someone_else_wrote_names_nothing(bot: Bot):
    repo = make_repo(bot.fake)
    pr = await unreviewed_build_change(bot, repo)
    fake_issue = repo.create_issue(
        "sign here", author="mallory", body=audit_marker(repo.full_name, f"pr-{pr.number}")
    )
    comment = await command(bot, fake_issue, "bob", "/audit approve")
    assert "neither a pull request nor a countersign audit issue" in the_reply(fake_issue, comment)
    assert record(repo, pr.merge_commit_sha)["signoffs"] == []


async def test_an_edited_marker_cannot_point_a_signoff_at_another_change(bot: Bot):
    # an insider with write access may edit any issue's body, the App's included: she points
    # the audit issue of a harmless change at her own unreviewed one, then gets it signed off
    repo = make_repo(bot.fake)
    mine = await unreviewed_build_change(bot, repo, "mine")
    harmless = await unreviewed_build_change(bot, repo, "harmless")
    harmless_issue = next(
        i
        for i in app_issues(bot, repo)
        if i.number == record(repo, harmless.merge_commit_sha)["audit_issue"]["number"]
    )
    harmless_issue.body = (harmless_issue.body or "").replace(
        f"change=pr-{harmless.number}", f"change=pr-{mine.number}"
    )
    for who in ("bob", "carol"):
        comment = await command(bot, harmless_issue, who, "/audit approve looks fine")
        assert "not the audit issue countersign recorded" in the_reply(harmless_issue, comment)
    assert record(repo, mine.merge_commit_sha)["signoffs"] == []
    assert the_run(repo, mine.merge_commit_sha).conclusion == "failure"
    # and /audit status through it says nothing about the change it now names
    asked = await command(bot, harmless_issue, "erin", "/audit status")
    assert "mine" not in the_reply(harmless_issue, asked)


async def test_an_audit_issue_cannot_report_on_a_repository_the_reader_cannot_see(bot: Bot):
    public = make_repo(bot.fake)
    secret = bot.fake.add_repo("octo-org/secret", private=True, protected=["main"])
    pr = secret.open_pull(
        author="alice", title="Secret plans", files={"configure": "#!/bin/sh\nsecret\n"}
    )
    await merge_and_deliver(bot, pr, by="alice")
    await unreviewed_build_change(bot, public)
    (issue,) = app_issues(bot, public)
    issue.body = (issue.body or "").replace(f"repo={public.full_name}", f"repo={secret.full_name}")
    asked = await command(bot, issue, "mallory", "/audit status")
    reply = the_reply(issue, asked)
    assert "Secret plans" not in reply and "configure" not in reply
    assert "cannot be used" in reply


# ------------------------------------------------------------------ force pushes and deletions


async def test_contributors_of_pushed_and_removed_commits_cannot_sign_off_a_force_push(bot: Bot):
    repo = make_repo(bot.fake)
    repo.push("main", [{"message": "dave's fix", "files": {"a.txt": "1\n"}, "author": "dave"}])
    push = repo.push(
        "main",
        [{"message": "rewritten", "files": {"a.txt": "2\n"}, "author": "alice"}],
        pusher="carol",
        forced=True,
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    (issue,) = app_issues(bot, repo)
    data = record(repo, push.after)
    assert data["removed_commits"] == 1
    assert {"alice", "dave"} <= set(data["contributors"])
    for who in ("alice", "dave", "carol"):
        refused = await command(bot, issue, who, "/audit approve")
        assert "cannot sign it off" in the_reply(issue, refused), who
    assert record(repo, push.after)["signoffs"] == []
    await command(bot, issue, "bob", "/audit approve")
    assert issue.state == "closed"
    assert the_run(repo, push.after).conclusion == "success"


async def test_contributors_of_a_deleted_branch_cannot_sign_off_its_deletion(bot: Bot):
    repo = make_repo(bot.fake)
    repo.create_branch("3.12")
    repo.protect("3.*")
    repo.push("3.12", [{"message": "backport", "files": {"b.txt": "1\n"}, "author": "dave"}])
    push = repo.push("3.12", delete=True, pusher="carol")
    await bot.deliver(bot.fake.webhooks.push(push))
    (issue,) = app_issues(bot, repo)
    refused = await command(bot, issue, "dave", "/audit approve")
    assert "contributed" in the_reply(issue, refused)
    assert record(repo, push.before)["signoffs"] == []
    await command(bot, issue, "bob", "/audit approve")
    assert [s["login"] for s in record(repo, push.before)["signoffs"]] == ["bob"]


# ------------------------------------------------------------------- seeing every file of a change

NUL = b"\x00\x01binary test data\x00" * 8
COMMIT_PAGE = "GET /repos/{owner}/{repo}/commits/{ref}"
COMPARE = "GET /repos/{owner}/{repo}/compare/{basehead}"


async def test_a_push_of_more_files_than_compare_lists_is_judged_on_every_file(bot: Bot):
    # compare lists 300 files; the binary hides at number 340, under an innocent name
    repo = make_repo(bot.fake)
    files: dict[str, Any] = {f"docs/page{i:03}.txt": f"{i}\n" for i in range(350)}
    files["docs/page340.txt"] = NUL
    push = repo.push("main", [{"message": "docs", "files": files, "author": "carol"}])
    await bot.deliver(bot.fake.webhooks.push(push))
    data = record(repo, push.after)
    assert data["files_total"] if data.get("truncated") else len(data["files"]) == 350
    assert data["binary_files"] == ["docs/page340.txt"]
    assert [r["name"] for r in data["requirements"]] == ["review", "binaries"]
    assert data["unseen"] == []
    assert bot.fake.count(COMMIT_PAGE) == 2  # the commit's files, 300 a page


async def test_what_github_cannot_list_fails_closed_and_says_so(bot: Bot):
    repo = make_repo(bot.fake)
    files = {f"gen/f{i:04}.txt": f"{i}\n" for i in range(3001)}
    push = repo.push("main", [{"message": "vendor", "files": files, "author": "carol"}])
    await bot.deliver(bot.fake.webhooks.push(push))
    run = the_run(repo, push.after)
    assert run.conclusion == "failure"
    data = record(repo, push.after)
    assert data["severity"] == "high"
    assert any("3,000" in gap and push.after[:7] in gap for gap in data["unseen"])
    (issue,) = app_issues(bot, repo)
    assert "not seen" in (issue.body or "")
    assert "not seen" in run.summary


async def test_creating_an_audited_branch_audits_the_commits_it_brings(bot: Bot):
    # mallory works on an unaudited branch, then makes a release branch of it: no commit is
    # "distinct" any more, but none of them was ever audited
    repo = make_repo(bot.fake, 'branches: ["main", "release-*"]\n')
    topic = repo.push(
        "topic",
        [{"message": "test data", "files": {"tests/data/good.txt": NUL}, "author": "carol"}],
        pusher="carol",
    )
    await bot.deliver(bot.fake.webhooks.push(topic))
    assert the_run_count(repo, topic.after) == 0
    release = repo.push("release-1", [], from_ref="topic", pusher="carol")
    assert release.created and not release.distinct
    await bot.deliver(bot.fake.webhooks.push(release))
    data = record(repo, release.after)
    assert data["kind"] == "push" and data["status"] == "direct-push"
    assert data["binary_files"] == ["tests/data/good.txt"]
    assert "binaries" in [r["name"] for r in data["requirements"]]


async def test_a_branch_made_from_audited_history_is_not_a_change(bot: Bot):
    repo = make_repo(bot.fake, 'branches: ["main", "release-*"]\n')
    release = repo.push("release-1", [], from_ref="main", pusher="carol")
    await bot.deliver(bot.fake.webhooks.push(release))
    assert the_run_count(repo, release.after) == 0
    assert app_issues(bot, repo) == []


async def test_a_new_branch_of_more_commits_than_the_delivery_lists(bot: Bot, monkeypatch: Any):
    repo = make_repo(bot.fake, 'branches: ["main", "release-*"]\n')
    monkeypatch.setattr(bot.fake.webhooks, "push_commit_limit", 3)
    commits = [{"message": "build", "files": {"configure": "#!/bin/sh\n"}, "author": "carol"}]
    commits += [{"message": f"c{i}", "files": {f"src/{i}.py": "x\n"}} for i in range(5)]
    push = repo.push("release-2", commits, pusher="carol")
    _, payload = bot.fake.webhooks.push(push)
    assert len(payload["commits"]) == 3  # the configure commit is not in the delivery
    await bot.deliver(bot.fake.webhooks.push(push))
    data = record(repo, push.after)
    assert "configure" in [f["path"] for f in data["files"]]
    assert "build-system" in [r["name"] for r in data["requirements"]]
    assert data["commits"] == 6


def the_run_count(repo: Any, sha: str) -> int:
    return len([r for r in repo.check_runs.values() if r.head_sha == sha])


async def test_every_commit_and_review_past_the_first_page_is_kept(bot: Bot):
    # an approval of commit 119 of 120 followed by a push is stale, and says so
    repo = make_repo(bot.fake, FRESH)
    pr = repo.open_pull(
        author="alice",
        commits=[{"message": f"step {i}", "files": {f"src/{i}.py": "x\n"}} for i in range(119)],
    )
    for _ in range(101):
        pr.review("carol", "COMMENTED")
    pr.review("bob", "APPROVED")
    pr.push_commit("one more", files={"src/extra.py": "y\n"})
    assert len(pr.commits) == 120
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    (bob,) = [a for a in data["approvals"] if a["reviewer"] == "bob"]
    assert bob["stale"] and bob["commits_after"] == 1 and not bob["gone"]
    assert data["status"] == "unreviewed"
    assert "1 commit was pushed after it" in the_run(repo, sha).summary
    assert data["commits"] == 120


async def test_a_pull_request_past_githubs_file_limit_fails_closed(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={f"gen/{i:04}.txt": f"{i}\n" for i in range(3005)})
    pr.review("bob", "APPROVED")
    sha = await merge_and_deliver(bot, pr, by="alice")
    data = record(repo, sha)
    assert data["conclusion"] == "failure"
    assert data["unseen"] == [
        "GitHub lists at most 3,000 files of a pull request: 5 of its 3,005 changed files "
        "were not seen"
    ]
    assert [r["name"] for r in data["requirements"] if not r["met"]] == ["incomplete-view"]


# ------------------------------------------------------------- GitHub's signature, as read (unit)


def test_only_a_valid_github_signature_makes_a_commit_githubs() -> None:
    from bot.github.gather import commit_from_graphql, commit_from_rest

    def graphql(signature: dict[str, Any] | None, login: str = "web-flow") -> bool:
        node = {
            "oid": "a" * 40,
            "message": "Merge branch 'main' into topic",
            "committer": {"email": "noreply@github.com", "user": {"login": login}},
            "signature": signature,
        }
        return commit_from_graphql(node).committed_by_github

    assert graphql({"isValid": True, "wasSignedByGitHub": True})
    assert not graphql(None)  # a look-alike: GitHub's address, no signature
    assert not graphql({"isValid": False, "wasSignedByGitHub": True})
    assert not graphql({"isValid": True, "wasSignedByGitHub": False})  # someone's own key
    assert not graphql({"isValid": True, "wasSignedByGitHub": True}, login="mallory")

    def rest(verified: bool, reason: str, login: str = "web-flow") -> bool:
        item = {
            "sha": "b" * 40,
            "commit": {"message": "m", "verification": {"verified": verified, "reason": reason}},
            "committer": {"login": login},
        }
        return commit_from_rest(item).committed_by_github

    assert rest(True, "valid")
    assert not rest(False, "unsigned")
    assert not rest(True, "valid", login="mallory")


async def test_a_large_merge_push_left_to_its_pull_request_costs_no_file_listing(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={f"docs/{i:03}.txt": f"{i}\n" for i in range(350)})
    pr.merge(by="alice")
    before = bot.fake.count(COMMIT_PAGE)
    await bot.deliver(bot.fake.webhooks.push(pr.merge_push))
    assert bot.fake.count(COMMIT_PAGE) == before
    assert the_run_count(repo, pr.merge_commit_sha) == 0
