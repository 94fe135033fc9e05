"""``python -m bot audit-release OWNER/REPO TAG``: the release audit on the command line, read-only.

The same audit the App runs when a release is published: every change since the previous release
as recorded when it landed (judged afresh where there is no record), and each source archive
compared with the tree at the tag. ``--artifact FILE`` compares local files instead of the
release's assets, so that a maintainer (or a release workflow, before upload) can check what they
are about to publish. Reads ``GITHUB_TOKEN``, ``GITHUB_API_URL``, ``GITHUB_GRAPHQL_URL``,
``GITHUB_APP_ID`` (so that the App's records are found and stand) and ``PYPI_URL``. Exits 0, 1 when
something at or above ``--fail-on`` was found, 2 for a usage or access error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from gidgethub import GitHubException
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from bot import release
from bot.cli.audit import (
    FOUND,
    USAGE_ERROR,
    UsageError,
    access_error,
    app_id_from,
    read_only_client,
    run_subcommand,
    token_from,
)
from bot.clock import Clock, SystemClock
from bot.core import release_audit
from bot.core.release_audit import ReleaseFacts, ReleaseVerdict
from bot.github.releases import Artifact, ReleaseNotFound
from bot.history import severity_at_least

_REPO = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")


def add_parser(commands: Any) -> None:
    """The ``audit-release`` subcommand of ``python -m bot``."""
    parser = commands.add_parser(
        "audit-release",
        help="audit a release read-only: what went in, and what was shipped (GITHUB_TOKEN)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("repo", metavar="OWNER/REPO")
    parser.add_argument("tag", metavar="TAG")
    parser.add_argument(
        "--previous", metavar="TAG", help="the release to compare with (default: the one before)"
    )
    parser.add_argument(
        "--artifact",
        action="append",
        default=[],
        metavar="FILE",
        help="compare this local archive with the tree at the tag instead of the release's "
        "assets (repeat for more)",
    )
    parser.add_argument(
        "--pypi", metavar="NAME", help="compare this PyPI project's sdist of the version too"
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.add_argument(
        "--fail-on", choices=("low", "high"), help="exit 1 when something this severe is found"
    )


def _artifacts(paths: Sequence[str]) -> list[Artifact] | None:
    if not paths:
        return None
    found = []
    for path in paths:
        file = Path(path)
        if not file.is_file():
            raise UsageError(f"--artifact: no such file {path!r}")
        found.append(Artifact(path=str(file), name=file.name))
    return found


async def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``python -m bot audit-release ARGV...``; returns the exit status."""
    return await run_subcommand(
        "audit-release", add_parser, execute, argv, env, clock=clock, stdout=stdout, stderr=stderr
    )


async def execute(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the parsed ``audit-release`` command; returns the exit status."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    clock = clock or SystemClock()
    try:
        if not _REPO.fullmatch(args.repo):
            raise UsageError(f"{args.repo!r} is not OWNER/REPO")
        artifacts = _artifacts(args.artifact)
        app_id = app_id_from(env)
        token = token_from(env)
    except UsageError as exc:
        print(f"countersign audit-release: {exc}", file=err)
        return USAGE_ERROR
    async with aiohttp.ClientSession() as session:
        services, gh = read_only_client(env, session, clock, token, app_id, "release")
        try:
            outcome = await release.audit_release(
                gh,
                services,
                args.repo,
                args.tag,
                previous=args.previous,
                artifacts=artifacts,
                pypi=args.pypi,
                write=False,
            )
        except ReleaseNotFound as exc:
            print(f"countersign audit-release: {exc}", file=err)
            return USAGE_ERROR
        except (TimeoutError, GitHubException, aiohttp.ClientError) as exc:
            message = access_error(exc, args.repo, gh, clock)
            print(f"countersign audit-release: {message}", file=err)
            return USAGE_ERROR
    write_report(outcome.facts, outcome.verdict, args.format, out)
    if args.fail_on and severity_at_least(outcome.verdict.severity, args.fail_on):
        return FOUND
    return 0


def write_report(facts: ReleaseFacts, verdict: ReleaseVerdict, form: str, out: TextIO) -> None:
    if form == "json":
        out.write(release_audit.dumps(facts, verdict) + "\n")
    elif form == "markdown":
        out.write(release_audit.markdown(facts, verdict))
    else:
        write_table(facts, verdict, out)


def write_table(facts: ReleaseFacts, verdict: ReleaseVerdict, out: TextIO) -> None:
    tty = out.isatty()
    console = Console(file=out, width=None if tty else 1000, highlight=False, soft_wrap=False)
    since = f"since {facts.previous}" if facts.previous else "(first release)"
    console.print(
        f"countersign release audit of {rich_escape(facts.repository)} "
        f"{rich_escape(facts.tag)} {rich_escape(since)}: {verdict.conclusion} "
        f"(severity {verdict.severity}); {len(facts.changes)} changes in {facts.commits} "
        f"commits, {len(verdict.open_changes)} neither reviewed nor signed off"
    )
    if verdict.open_changes:
        table = Table(title="What went in: not reviewed, not signed off")
        for title in ("change", "author", "merged/pushed by", "verdict", "severity", "rules"):
            table.add_column(title, overflow="fold")
        table.add_column("link", no_wrap=True)
        for change in verdict.open_changes:
            label = f"#{change.number}" if change.number is not None else change.key
            by = change.merged_by if change.kind == "pull_request" else change.pusher
            table.add_row(
                rich_escape(f"{label} {change.title}".strip()),
                rich_escape(change.author or ""),
                rich_escape(by or ""),
                change.verdict,
                change.severity,
                rich_escape(", ".join(change.rules)),
                rich_escape(change.url),
            )
        console.print(table)
    if not facts.archives:
        console.print("What was shipped: no source archive to compare.")
    for shipped in facts.archives:
        head = f"{shipped.name} ({shipped.source}): severity {shipped.severity}"
        if shipped.problem:
            console.print(rich_escape(f"{head}: {shipped.problem}"))
            continue
        counts = shipped.report.counts if shipped.report else {}
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n)
        console.print(rich_escape(f"{head}: {summary}"))
        if shipped.flagged or shipped.listed:
            table = Table()
            for title in ("path", "what", "severity", "why"):
                table.add_column(title, overflow="fold")
            for entry in [*shipped.flagged, *shipped.listed]:
                table.add_row(
                    rich_escape(entry.path),
                    entry.kind,
                    entry.severity,
                    rich_escape(entry.reason),
                )
            console.print(table)
    for line in facts.unseen:
        console.print(rich_escape(f"not seen: {line}"))
    for error in facts.policy_errors:
        console.print(rich_escape(f"policy error: {error}"))


def main(args: argparse.Namespace) -> int:
    """``python -m bot audit-release``, from the arguments ``bot.__main__`` parsed."""
    return asyncio.run(execute(args, os.environ))
