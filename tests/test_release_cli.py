"""Issue 10: ``python -m bot audit-release OWNER/REPO TAG`` against the fake GitHub, read-only."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from bot.cli import audit_release as cli
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub, FakePyPI
from tests.test_archive import make_tar
from tests.test_history_audit import environment

REPO = "octo-org/widgets"
TREE = {"README": "widgets\n", "src/w.c": "int w;\n", "m4/.gitignore": "build-to-host.m4\n"}


def setup(fake: FakeGitHub, *, unreviewed: bool = False) -> Any:
    repo = fake.add_repo(REPO, protected=["main"], files=TREE)
    for login in ("alice", "bob", "carol"):
        repo.set_permission(login, "write")
    repo.create_release("v1.0.0", author="alice")
    pr = repo.open_pull(author="alice", title="Build tweak", files={"m4/x.m4": "dnl x\n"})
    if not unreviewed:
        pr.review("bob", "APPROVED")
        pr.review("carol", "APPROVED")
    pr.merge(by="alice", method="squash")
    repo.create_tag("v1.1.0")
    return repo


def tarball(repo: Any, tag: str, extra: dict[str, str] | None = None) -> bytes:
    tree = {**repo.commit_obj(repo.tags[tag]).tree, **(extra or {})}
    members = [
        (f"widgets-1.1.0/{p}", c.encode() if isinstance(c, str) else c) for p, c in tree.items()
    ]
    return make_tar(members).getvalue()


async def run(fake: FakeGitHub, *args: str, **env: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = await cli.run(
        list(args),
        environment(fake, **env),
        clock=FakeClock(fake.clock),  # type: ignore[arg-type]
        stdout=out,
        stderr=err,
    )
    return status, out.getvalue(), err.getvalue()


WRITES = ("POST /repos/{owner}/{repo}/check-runs", "POST /repos/{owner}/{repo}/issues")


async def test_an_artifact_about_to_be_published_is_checked_before_upload(
    fake_github: FakeGitHub, tmp_path: Path
):
    repo = setup(fake_github)
    artifact = tmp_path / "widgets-1.1.0.tar.gz"
    artifact.write_bytes(tarball(repo, "v1.1.0", {"m4/build-to-host.m4": "dnl payload\n"}))
    status, out, err = await run(
        fake_github,
        REPO,
        "v1.1.0",
        "--artifact",
        str(artifact),
        "--format",
        "json",
        "--fail-on",
        "high",
    )
    assert status == 1, err
    report = json.loads(out)
    assert report["previous"] == "v1.0.0" and report["conclusion"] == "failure"
    (archive,) = report["archives"]
    assert archive["source"] == "local file" and archive["name"] == "widgets-1.1.0.tar.gz"
    flagged = [e for e in archive["entries"] if e["severity"] == "high"]
    assert [(e["path"], e["kind"]) for e in flagged] == [("m4/build-to-host.m4", "added")]
    assert all(fake_github.count(route) == 0 for route in WRITES)


async def test_a_clean_artifact_passes_and_the_fail_on_threshold_decides_the_status(
    fake_github: FakeGitHub, tmp_path: Path
):
    repo = setup(fake_github)
    artifact = tmp_path / "widgets-1.1.0.tar.gz"
    artifact.write_bytes(tarball(repo, "v1.1.0"))
    status, out, err = await run(
        fake_github, REPO, "v1.1.0", "--artifact", str(artifact), "--fail-on", "low"
    )
    assert status == 0, err
    assert "v1.1.0 since v1.0.0: success" in out
    assert "widgets-1.1.0.tar.gz (local file): severity none" in out


async def test_an_unreviewed_change_fails_markdown_and_table_alike(fake_github: FakeGitHub):
    setup(fake_github, unreviewed=True)
    status, out, _ = await run(
        fake_github, REPO, "v1.1.0", "--format", "markdown", "--fail-on", "high"
    )
    assert status == 1
    assert "## countersign release audit" in out and "Build tweak" in out
    status, out, _ = await run(fake_github, REPO, "v1.1.0")
    assert status == 0  # no --fail-on: a report, not a gate
    assert "1 neither reviewed nor signed off" in out and "Build tweak" in out


async def test_the_apps_records_stand_when_its_id_is_given(fake_github: FakeGitHub):
    from bot.core.record import encode_record

    repo = setup(fake_github, unreviewed=True)
    merge = repo.pulls[1].merge_commit_sha
    signed = {
        "kind": "pull_request",
        "merged": True,
        "status": "unreviewed",
        "conclusion": "success",
        "severity": "high",
        "signed_off": True,
        "signed_off_by": ["carol"],
    }
    repo.add_check_run(merge, "countersign", text=encode_record(signed), external_id="pr-1")
    status, out, _ = await run(fake_github, REPO, "v1.1.0", "--format", "json")
    assert status == 0 and json.loads(out)["changes"][0]["recorded"] is False  # judged afresh
    status, out, _ = await run(
        fake_github, REPO, "v1.1.0", "--format", "json", GITHUB_APP_ID=str(fake_github.app_id)
    )
    report = json.loads(out)
    assert status == 0 and report["changes"][0]["recorded"] is True
    assert report["changes"][0]["signed_off"]
    assert report["conclusion"] == "success"


async def test_an_explicit_previous_release_and_the_pypi_sdist(
    fake_github: FakeGitHub, fake_pypi: FakePyPI
):
    repo = setup(fake_github)
    fake_pypi.add_release(
        "widgets", "1.1.0", {"widgets-1.1.0.tar.gz": tarball(repo, "v1.1.0", {"PKG-INFO": "x"})}
    )
    status, out, err = await run(
        fake_github,
        REPO,
        "v1.1.0",
        "--previous",
        "v1.0.0",
        "--pypi",
        "Widgets",
        "--format",
        "json",
        PYPI_URL=fake_pypi.base_url,
    )
    assert status == 0, err
    (archive,) = json.loads(out)["archives"]
    assert archive["source"] == "PyPI sdist" and archive["severity"] == "none"
    assert archive["counts"]["generated"] == 1


async def test_a_missing_tag_or_file_is_a_usage_error(fake_github: FakeGitHub):
    setup(fake_github)
    status, _, err = await run(fake_github, REPO, "v9.9.9")
    assert status == 2 and "has no tag 'v9.9.9'" in err
    status, _, err = await run(fake_github, REPO, "v1.1.0", "--previous", "v0.1")
    assert status == 2 and "has no tag 'v0.1'" in err
    status, _, err = await run(fake_github, REPO, "v1.1.0", "--artifact", "/nonexistent.tgz")
    assert status == 2 and "no such file" in err
