"""Benchmark: what the release audit costs for a release of many changes.

Builds a repository in the fake GitHub with a release ``v1.0.0``, then N merged pull requests,
each with this App's landed record on its merge commit (as the merge audit would have written
it), then ``v1.1.0`` with a release whose source tarball is the tree at the tag. Injects latency
into every request, runs ``python -m bot audit-release`` over it (in this process, JSON output,
with the App's id so that the records stand) and prints the GitHub requests it made (in all and
per route), the downloads, and the seconds it took.

    python -m tests.benchmarks.release_audit [--changes 300] [--latency 0.05]

Target: at most 20 GitHub requests for 300 changes, plus one download per archive.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from datetime import UTC, datetime
from typing import Any

from bot.cli import audit_release as cli
from bot.core.record import encode_record
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub, FrozenClock
from tests.test_archive import make_tar

REPO = "octo-org/widgets"
DOWNLOADS = "GET /_downloads/release-assets/{asset_id}"
LANDED = {
    "kind": "pull_request",
    "merged": True,
    "status": "reviewed",
    "conclusion": "success",
    "severity": "none",
    "signed_off": False,
}


def build(fake: FakeGitHub, changes: int) -> Any:
    """The repository, with ``v1.0.0``, ``changes`` recorded merges and a released ``v1.1.0``."""
    repo = fake.add_repo(REPO, protected=["main"], files={"README": "widgets\n"})
    for login in ("alice", "bob"):
        repo.set_permission(login, "write")
    repo.create_release("v1.0.0", author="alice")
    for n in range(changes):
        pr = repo.open_pull(author="alice", title=f"Change {n}", files={f"src/f{n}.c": f"{n}\n"})
        sha = pr.merge(by="bob", method="squash")
        repo.add_check_run(
            sha, "countersign", text=encode_record(LANDED), external_id=f"pr-{pr.number}"
        )
    repo.create_tag("v1.1.0")
    tree = repo.commit_obj(repo.tags["v1.1.0"]).tree
    tarball = make_tar((f"widgets-1.1.0/{path}", content) for path, content in tree.items())
    release = repo.create_release("v1.1.0", author="alice")
    release.upload_asset("widgets-1.1.0.tar.gz", tarball.getvalue())
    return release


async def main(changes: int, latency: float) -> None:
    fake = FakeGitHub(clock=FrozenClock(datetime.now(UTC).replace(microsecond=0)))
    await fake.start()
    try:
        started = time.perf_counter()
        build(fake, changes)
        built = time.perf_counter() - started
        token = fake.tokens.issue(
            fake.installation("octo-org"),
            permissions={"contents": "read", "metadata": "read", "pull_requests": "read"},
        ).token
        env = {
            "GITHUB_TOKEN": token,
            "GITHUB_API_URL": fake.base_url,
            "GITHUB_APP_ID": str(fake.app_id),
        }
        fake.reset_counts()
        fake.latency = latency
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        status = await cli.run(
            [REPO, "v1.1.0", "--format", "json"],
            env,
            clock=FakeClock(fake.clock),  # type: ignore[arg-type]
            stdout=out,
            stderr=err,
        )
        elapsed = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"audit-release failed ({status}): {err.getvalue()}")
        report = json.loads(out.getvalue())
        downloads = fake.count(DOWNLOADS)
        print(f"built {changes} recorded merges in {built:.1f} s")
        print(
            f"release audit of {len(report['changes'])} changes: {report['conclusion']}, "
            f"{fake.count() - downloads} GitHub requests, {downloads} download(s), "
            f"{elapsed:.2f} s at {latency * 1000:.0f} ms latency"
        )
        for route, count in sorted(fake.counts.items()):
            print(f"  {count:4d}  {route}")
    finally:
        await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    options = parser.parse_args()
    asyncio.run(main(options.changes, options.latency))
