"""Benchmark: what the history audit costs for a busy repository.

Builds a repository with 1,000 reviewed, merged pull requests in the fake GitHub, injects 50 ms of
latency into every request, runs ``python -m bot audit`` over it (in this process, JSON output)
and prints the GitHub requests it made (in all and per route) and the seconds it took.

    python -m tests.benchmarks.history_audit [--pull-requests 1000] [--latency 0.05]

Target: at most 40 requests for 1,000 merged pull requests.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from datetime import UTC, datetime

from bot.cli import audit as cli_audit
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub, FrozenClock

REPO = "octo-org/widgets"


def build(fake: FakeGitHub, pull_requests: int) -> None:
    repo = fake.add_repo(REPO, protected=["main"])
    for login in ("alice", "bob", "carol"):
        repo.set_permission(login, "write")
    for n in range(pull_requests):
        pr = repo.open_pull(author="alice", title=f"Change {n}", files={f"src/f{n}.py": f"{n}\n"})
        pr.review("bob", "APPROVED")
        pr.merge(by="carol", delete_branch=True)


async def main(pull_requests: int, latency: float) -> None:
    fake = FakeGitHub(clock=FrozenClock(datetime.now(UTC).replace(microsecond=0)))
    await fake.start()
    try:
        started = time.perf_counter()
        build(fake, pull_requests)
        built = time.perf_counter() - started
        installation = fake.installation("octo-org")
        token = fake.tokens.issue(
            installation,
            permissions={"contents": "read", "metadata": "read", "pull_requests": "read"},
        ).token
        env = {"GITHUB_TOKEN": token, "GITHUB_API_URL": fake.base_url}
        fake.reset_counts()
        fake.latency = latency
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        status = await cli_audit.run(
            [REPO, "--format", "json"],
            env,
            clock=FakeClock(fake.clock),  # type: ignore[arg-type]
            stdout=out,
            stderr=err,
        )
        seconds = time.perf_counter() - started
    finally:
        await fake.close()
    if status != 0:
        raise SystemExit(f"the audit failed ({status}): {err.getvalue()}")
    report = json.loads(out.getvalue())
    print(f"history built: {pull_requests:,} merged pull requests in {built:.1f} s")
    print(
        f"history audit: {len(report['changes']):,} changes judged, "
        f"{report['totals']['reviewed']:,} reviewed"
    )
    print(f"GitHub requests: {fake.count()} ({latency * 1000:.0f} ms of latency each)")
    for route, count in sorted(fake.counts.items()):
        print(f"  {count:4}  {route}")
    print(f"seconds: {seconds:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pull-requests", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(main(args.pull_requests, args.latency))
