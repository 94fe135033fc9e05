"""Issue 10: the release audit end to end, through ``POST /webhook`` against the fake GitHub (and a
PyPI stand-in): what went into a release, and whether what was shipped is what was reviewed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.record import parse_record
from bot.core.release_audit import RELEASE_CHECK_NAME, find_release_marker
from tests.fakegithub import FakePyPI
from tests.support import Bot
from tests.test_archive import make_tar, make_zip, zip_of_zeros
from tests.test_merge_audit import make_repo, merge_and_deliver

GITIGNORE = "build-to-host.m4\n"
TREE = {
    "README": "xz\n",
    "src/xz.c": "int main(void) { return 0; }\n",
    "m4/.gitignore": GITIGNORE,
    "m4/gettext.m4": "dnl gettext\n",
}


def release_runs(repo: Any, sha: str) -> list[Any]:
    return [
        r for r in repo.check_runs.values() if r.head_sha == sha and r.name == RELEASE_CHECK_NAME
    ]


def release_run(repo: Any, sha: str) -> Any:
    runs = release_runs(repo, sha)
    assert len(runs) == 1, runs
    return runs[0]


def release_record(repo: Any, sha: str) -> dict[str, Any]:
    parsed = parse_record(release_run(repo, sha).text)
    assert parsed is not None
    return parsed


def release_issues(repo: Any) -> list[Any]:
    return [i for i in repo.issues.values() if i.pull is None and find_release_marker(i.body)]


def source_tarball(
    files: dict[str, str | bytes], top: str = "xz-5.6.1", suffix: str = "tar.gz"
) -> bytes:
    members = [
        (f"{top}/{path}", content.encode() if isinstance(content, str) else content)
        for path, content in files.items()
    ]
    return make_tar(members, suffix).getvalue()


async def reviewed_merge(bot: Bot, repo: Any, title: str, files: dict[str, str]) -> str:
    pr = repo.open_pull(author="alice", title=title, files=files)
    pr.review("bob", "APPROVED")
    return await merge_and_deliver(bot, pr, by="bob", method="squash")


async def project(bot: Bot, policy: str | None = None) -> Any:
    """A repository with a reviewed first release v5.6.0 (under ``policy``), published before
    countersign was installed (a GitHub release, never audited)."""
    repo = make_repo(bot.fake, policy, files=TREE)
    await reviewed_merge(bot, repo, "Docs", {"README": "xz utils\n"})
    repo.create_release("v5.6.0", author="alice")
    return repo


async def publish(
    bot: Bot, repo: Any, tag: str, assets: dict[str, bytes] | None = None, **kw: Any
) -> Any:
    release = repo.create_release(tag, author="alice", **kw)
    for name, content in (assets or {}).items():
        release.upload_asset(name, content)
    assert await bot.deliver(bot.fake.webhooks.release(release, "published")) == 202
    return release


def tree_at(repo: Any, tag: str) -> dict[str, str | bytes]:
    return dict(repo.commit_obj(repo.tags[tag]).tree)


# ---------------------------------------------------------------------------------------------
# What went in
# ---------------------------------------------------------------------------------------------


async def test_a_release_of_reviewed_changes_that_ships_the_tree_passes(bot: Bot):
    repo = await project(bot)
    await reviewed_merge(bot, repo, "Fix", {"src/xz.c": "int main(void) { return 1; }\n"})
    repo.create_tag("v5.6.1")
    tarball = source_tarball(tree_at(repo, "v5.6.1"))
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": tarball})
    run = release_run(repo, repo.tags["v5.6.1"])
    assert run.conclusion == "success", run.summary
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["previous"] == "v5.6.0" and data["counts"]["changes"] == 1
    assert data["archives"][0]["counts"]["same"] == len(tree_at(repo, "v5.6.1"))
    assert release_issues(repo) == []


async def test_an_unreviewed_build_change_in_the_range_is_listed_and_opens_the_issue(bot: Bot):
    repo = await project(bot)
    pr = repo.open_pull(author="jiat", title="Tidy m4", files={"m4/gettext.m4": "dnl new\n"})
    repo.set_permission("jiat", "write")
    await merge_and_deliver(bot, pr, by="jiat", method="squash")
    await reviewed_merge(bot, repo, "Fix", {"src/xz.c": "int main(void) { return 2; }\n"})
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    sha = repo.tags["v5.6.1"]
    assert release_run(repo, sha).conclusion == "failure"
    data = release_record(repo, sha)
    assert [row["key"] for row in data["open"]] == [f"pr-{pr.number}"]
    assert data["open"][0]["recorded"] is True
    (issue,) = release_issues(repo)
    assert issue.title == "Release audit: v5.6.1"
    assert f"#{pr.number} Tidy m4" in issue.body and "`@jiat`" in issue.body
    assert "build-system" in issue.body and data["issue"]["number"] == issue.number


async def test_a_change_without_a_record_is_judged_afresh(bot: Bot):
    repo = await project(bot)
    # pushed straight to main while the App was not listening: no record anywhere
    repo.push(
        "main", [{"message": "sneak", "files": {"m4/gettext.m4": "dnl evil\n"}}], pusher="jiat"
    )
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    (row,) = data["open"]
    assert row["status"] == "direct-push" and row["recorded"] is False
    assert "judged now: no record" in release_issues(repo)[0].body


async def test_the_previous_release_is_the_one_before_on_the_same_line(bot: Bot):
    repo = make_repo(bot.fake, files=TREE)
    repo.create_branch("3.12")
    repo.protect("3.*")
    repo.create_release("v3.12.0", target="3.12")
    await reviewed_merge(bot, repo, "New", {"src/new.c": "x\n"})
    repo.create_release("v3.13.0")
    backport = repo.open_pull(
        author="alice", base="3.12", title="[3.12] Fix", files={"src/xz.c": "y\n"}
    )
    backport.review("bob", "APPROVED")
    await merge_and_deliver(bot, backport, by="bob", method="squash")
    repo.create_tag("v3.12.1", "3.12")
    await publish(bot, repo, "v3.12.1")
    data = release_record(repo, repo.tags["v3.12.1"])
    assert data["previous"] == "v3.12.0"
    assert data["counts"]["changes"] == 1 and data["conclusion"] == "success"


async def test_a_pushed_release_tag_is_audited_and_other_tags_are_not(bot: Bot):
    repo = await project(bot)
    await reviewed_merge(bot, repo, "Fix", {"src/xz.c": "z\n"})
    await bot.deliver(bot.fake.webhooks.push(repo.create_tag("nightly")))
    assert release_runs(repo, repo.tags["nightly"]) == []
    await bot.deliver(bot.fake.webhooks.push(repo.create_tag("v5.6.1")))
    assert release_run(repo, repo.tags["v5.6.1"]).conclusion == "success"


async def test_redelivery_and_a_tag_push_with_its_release_duplicate_nothing(bot: Bot):
    repo = await project(bot)
    pr = repo.open_pull(author="alice", title="m4", files={"m4/gettext.m4": "dnl 2\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    push = repo.create_tag("v5.6.1")
    await bot.deliver(bot.fake.webhooks.push(push))
    release = await publish(bot, repo, "v5.6.1")
    await bot.deliver(bot.fake.webhooks.release(release, "published"))
    assert len(release_runs(repo, repo.tags["v5.6.1"])) == 1
    assert len(release_issues(repo)) == 1


# ---------------------------------------------------------------------------------------------
# Sign-offs and /audit in the release issue
# ---------------------------------------------------------------------------------------------


async def test_sign_offs_turn_rows_green_and_the_issue_closes_itself(bot: Bot):
    repo = await project(bot)
    pr = repo.open_pull(author="alice", title="m4", files={"m4/gettext.m4": "dnl 3\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    (issue,) = release_issues(repo)
    sha = repo.tags["v5.6.1"]

    await bot.deliver(bot.fake.webhooks.issue_comment(issue.comment("carol", "/audit"), "created"))
    assert release_run(repo, sha).conclusion == "failure"
    assert issue.state == "open"

    await bot.deliver(
        bot.fake.webhooks.issue_comment(issue.comment("carol", "/audit approve"), "created")
    )
    assert "in each listed change's pull request" in issue.comments[-1].body
    assert release_run(repo, sha).conclusion == "failure"

    # the build-system rule needs two people
    for signer in ("bob", "carol"):
        signed = pr.comment(signer, "/audit approve checked the m4 change")
        await bot.deliver(bot.fake.webhooks.issue_comment(signed, "created"))
    await bot.deliver(bot.fake.webhooks.issue_comment(issue.comment("carol", "/audit"), "created"))
    assert release_run(repo, sha).conclusion == "success"
    assert issue.state == "closed"
    assert "✅ signed off by `@bob`, `@carol`" in issue.body
    assert len(release_runs(repo, sha)) == 1 and len(release_issues(repo)) == 1


async def test_a_forged_release_issue_is_not_a_release_audit_issue(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    from bot.core.release_audit import release_marker

    forged = repo.create_issue(
        "Release audit: v5.6.1", body=release_marker(repo.full_name, "v5.6.1"), author="mallory"
    )
    await bot.deliver(
        bot.fake.webhooks.issue_comment(forged.comment("mallory", "/audit"), "created")
    )
    assert release_runs(repo, repo.tags["v5.6.1"]) == []
    # and when the real audit runs, it opens its own issue rather than adopting the decoy
    pr = repo.open_pull(author="alice", title="m4", files={"m4/gettext.m4": "dnl 4\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    repo.create_tag("v5.6.2")
    await publish(bot, repo, "v5.6.2")
    real = [i for i in release_issues(repo) if i.number != forged.number]
    assert len(real) == 1 and forged.body.count("countersign") == 1


# ---------------------------------------------------------------------------------------------
# What was shipped
# ---------------------------------------------------------------------------------------------


async def test_a_tarball_with_an_m4_file_the_repository_never_had_is_high(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    files = {
        **tree_at(repo, "v5.6.1"),
        "configure": "#!/bin/sh\n",
        "m4/build-to-host.m4": "dnl payload\n",
    }
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.xz": source_tarball(files, suffix="tar.xz")})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["conclusion"] == "failure"
    (archive,) = data["archives"]
    assert archive["flagged"] == [
        {"path": "m4/build-to-host.m4", "kind": "added", "severity": "high"}
    ]
    assert archive["counts"]["generated"] == 1
    body = release_issues(repo)[0].body
    assert "`m4/build-to-host.m4`" in body and "exactly where the xz payload hid" in body


async def test_a_generated_configure_is_listed_not_alarmed_on(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    files = {**tree_at(repo, "v5.6.1"), "configure": "#!/bin/sh\n", "Makefile.in": "all:\n"}
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": source_tarball(files)})
    run = release_run(repo, repo.tags["v5.6.1"])
    assert run.conclusion == "success"
    assert "Listed, not alarmed on (2)" in run.summary


async def test_a_differing_file_is_high(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    files = {**tree_at(repo, "v5.6.1"), "src/xz.c": "int main(void) { backdoor(); }\n"}
    await publish(
        bot,
        repo,
        "v5.6.1",
        {
            "xz-5.6.1.zip": make_zip(
                (f"xz/{p}", c.encode() if isinstance(c, str) else c) for p, c in files.items()
            ).getvalue()
        },
    )
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["archives"][0]["flagged"] == [
        {"path": "src/xz.c", "kind": "differs", "severity": "high"}
    ]
    assert data["conclusion"] == "failure"


async def test_other_assets_are_not_read(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz.sig": b"sig", "xz.exe": b"MZ"})
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["archives"] == [] and data["conclusion"] == "success"
    assert bot.fake.count("GET /repos/{owner}/{repo}/releases/assets/{asset_id}") == 0


async def test_a_zip_bomb_and_a_traversal_member_are_findings_and_the_bot_keeps_serving(bot: Bot):
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    traversal = make_tar(
        [("xz/README", b"xz\n"), ("xz/../../etc/cron.d/x", b"* * * * * root sh\n")]
    ).getvalue()
    await publish(
        bot,
        repo,
        "v5.6.1",
        {"bomb.zip": zip_of_zeros(300 << 20).getvalue(), "xz-5.6.1.tar.gz": traversal},
    )
    data = release_record(repo, repo.tags["v5.6.1"])
    kinds = {a["name"]: {f["kind"] for f in a["flagged"]} for a in data["archives"]}
    assert "archive-bomb" in kinds["bomb.zip"]
    assert "unsafe-path" in kinds["xz-5.6.1.tar.gz"]
    assert data["conclusion"] == "failure"
    # still serving: the next change is audited as usual
    await reviewed_merge(bot, repo, "After", {"src/after.c": "1\n"})
    assert bot.statuses[-1] == 202


async def test_an_archive_over_the_download_cap_is_not_read_and_fails_closed(bot: Bot):
    repo = await project(bot, "release:\n  max_archive_mb: 1\n")
    await publish(bot, repo, "v5.6.1", {"big.tar.gz": b"\0" * (2 << 20)}, target="main")
    data = release_record(repo, repo.tags["v5.6.1"])
    (archive,) = data["archives"]
    assert archive["severity"] == "high" and "over" in archive["problem"]
    assert bot.fake.count("GET /_downloads/release-assets/{asset_id}") == 0


# ---------------------------------------------------------------------------------------------
# PyPI
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def bot_settings(fake_pypi: FakePyPI) -> dict[str, Any]:
    return {"pypi_url": fake_pypi.base_url}


def sdist(repo: Any, tag: str, extra: dict[str, str] | None = None) -> bytes:
    files = {**tree_at(repo, tag), "PKG-INFO": "Metadata-Version: 2.1\n", **(extra or {})}
    return source_tarball(files, top="xz-5.6.1")


async def test_the_sdist_on_pypi_is_compared_too(bot: Bot, fake_pypi: FakePyPI):
    pypi = fake_pypi
    repo = await project(bot)
    repo.set_file(".github/countersign.yml", "release:\n  pypi: xz-utils\n")
    repo.create_tag("v5.6.1")
    pypi.add_release(
        "xz-utils",
        "5.6.1",
        {"xz_utils-5.6.1.tar.gz": sdist(repo, "v5.6.1", {"m4/build-to-host.m4": "dnl"})},
    )
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    (archive,) = data["archives"]
    assert archive["source"] == "PyPI sdist" and archive["name"] == "xz_utils-5.6.1.tar.gz"
    assert archive["flagged"] == [
        {"path": "m4/build-to-host.m4", "kind": "added", "severity": "high"}
    ]
    assert archive["counts"]["generated"] == 1  # PKG-INFO


async def test_an_sdist_that_does_not_match_its_digest_fails_closed(bot: Bot, fake_pypi: FakePyPI):
    pypi = fake_pypi
    repo = await project(bot)
    repo.set_file(".github/countersign.yml", "release:\n  pypi: xz-utils\n")
    repo.create_tag("v5.6.1")
    pypi.add_release("xz-utils", "5.6.1", {"xz_utils-5.6.1.tar.gz": sdist(repo, "v5.6.1")})
    pypi.replace_file("xz-utils", "5.6.1", "xz_utils-5.6.1.tar.gz", b"tampered", keep_digest=True)
    await publish(bot, repo, "v5.6.1")
    (archive,) = release_record(repo, repo.tags["v5.6.1"])["archives"]
    assert archive["severity"] == "high" and "SHA-256" in archive["problem"]


# ---------------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------------


async def test_a_release_of_300_recorded_changes_costs_at_most_20_requests(bot: Bot):
    from tests.benchmarks.release_audit import DOWNLOADS, build

    release = build(bot.fake, 300)
    repo = release.repo
    bot.fake.reset_counts()
    await bot.deliver(bot.fake.webhooks.release(release, "published"))
    data = release_record(repo, repo.tags["v1.1.0"])
    assert data["counts"]["changes"] == 300 and data["conclusion"] == "success", data
    assert bot.fake.count(DOWNLOADS) == 1
    github = bot.fake.count() - bot.fake.count(DOWNLOADS)
    assert github <= 20, bot.fake.counts
    # the tags, the previous release's candidates, the tag and policies, 3 x 100 commits
    assert bot.fake.count("POST /graphql") == 6


async def test_an_asset_served_directly_is_read_as_well(bot: Bot):
    """GitHub's documentation: a client must handle a 302 or a 200 with the bytes."""
    bot.fake.asset_downloads = "stream"
    repo = await project(bot)
    repo.create_tag("v5.6.1")
    files = {**tree_at(repo, "v5.6.1"), "src/xz.c": "changed\n"}
    await publish(bot, repo, "v5.6.1", {"xz-5.6.1.tar.gz": source_tarball(files)})
    (archive,) = release_record(repo, repo.tags["v5.6.1"])["archives"]
    assert archive["flagged"] == [{"path": "src/xz.c", "kind": "differs", "severity": "high"}]
    assert bot.fake.count("GET /_downloads/release-assets/{asset_id}") == 0


async def test_a_previous_release_countersign_never_saw_is_used_with_a_caution(bot: Bot):
    repo = make_repo(bot.fake, files=TREE)
    repo.create_tag("v5.6.0")  # tagged before the App was installed: no record, no release
    await reviewed_merge(bot, repo, "Fix", {"src/xz.c": "fixed\n"})
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["previous"] == "v5.6.0" and data["counts"]["changes"] == 1
    assert data["conclusion"] == "neutral" and "never audited" in data["cautions"][0]
    assert "**Cautions:**" in release_issues(repo)[0].body


async def test_an_audited_release_is_preferred_to_a_later_tag_nobody_saw(bot: Bot):
    repo = await project(bot)
    repo.set_permission("jiat", "write")
    push = repo.push(
        "main", [{"message": "x", "files": {"m4/gettext.m4": "dnl x\n"}}], pusher="jiat"
    )
    await bot.deliver(bot.fake.webhooks.push(push))
    repo.create_tag("v5.6.1rc1")  # pushed with three other tags: GitHub sends no event
    repo.create_tag("v5.6.1")
    await publish(bot, repo, "v5.6.1")
    data = release_record(repo, repo.tags["v5.6.1"])
    assert data["previous"] == "v5.6.0" and data["conclusion"] == "failure"
    assert "v5.6.1rc1 is a release tag countersign never audited" in data["cautions"][0]


async def test_a_prerelease_is_audited_and_a_draft_is_not(bot: Bot):
    repo = await project(bot)
    pr = repo.open_pull(author="alice", title="m4", files={"m4/gettext.m4": "dnl rc\n"})
    await merge_and_deliver(bot, pr, by="alice", method="squash")
    repo.create_tag("v5.6.1rc1")  # the tag exists: only the draft check keeps it unaudited
    draft = repo.create_release("v5.6.1rc1", author="alice", draft=True)
    assert await bot.deliver(bot.fake.webhooks.release(draft, "created")) == 202
    # even a "published" delivery about a release that is still a draft audits nothing
    assert await bot.deliver(bot.fake.webhooks.release(draft, "published")) == 202
    assert release_issues(repo) == [] and not [
        r for r in repo.check_runs.values() if r.name == "countersign release"
    ]
    rc = repo.create_release("v5.6.1rc2", author="alice", prerelease=True)
    assert await bot.deliver(bot.fake.webhooks.release(rc, "prereleased")) == 202
    assert release_run(repo, repo.tags["v5.6.1rc2"]).conclusion == "failure"
    # the audit is counted in the metrics, as a release
    metrics = await (await bot.client.get("/metrics")).text()
    assert 'countersign_audits_total{kind="release",verdict="failure"} 1.0' in metrics
