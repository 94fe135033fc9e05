"""``python -m bot digest``, ``sweep`` and ``redeliver``: the server's periodic jobs, run once,
for cron-style schedulers. They act as the App (``GITHUB_APP_ID``, the private key and, unused here,
the webhook secret, as ``serve`` reads them) on every repository its installations reach, or on
the one ``--repo`` names.

- ``digest [--repo OWNER/NAME] [--week 2026-W48] [--dry-run]``: post (or update) the weekly digest
  of the week given (default: the week that ended); ``--dry-run`` prints the Markdown and writes
  nothing.
- ``sweep [--since 48h]``: audit every change that landed in the window without a record.
- ``redeliver``: ask GitHub to redeliver, once, each delivery of the last 3 days whose every
  attempt failed.

Exit status 0, 1 when a repository's job failed, 2 for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TextIO

from gidgethub import GitHubException

from bot.clock import Clock, SystemClock
from bot.core.digest import Week
from bot.github.client import GitHubApp, GitHubClient
from bot.services import Services
from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

USAGE_ERROR = 2
FAILED = 1
_SINCE = re.compile(r"([1-9][0-9]*)([hd])")
_REPO = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")


def add_parsers(commands: Any) -> None:
    digest = commands.add_parser(
        "digest", help="post the weekly digest now (the App's credentials, as serve reads them)"
    )
    digest.add_argument("--repo", metavar="OWNER/NAME", help="only this repository")
    digest.add_argument("--week", metavar="YYYY-Www", help="the ISO week (default: last week)")
    digest.add_argument("--dry-run", action="store_true", help="print the Markdown, write nothing")
    sweep = commands.add_parser(
        "sweep", help="audit every landed change that has no record yet (the App's credentials)"
    )
    sweep.add_argument("--repo", metavar="OWNER/NAME", help="only this repository")
    sweep.add_argument("--since", default="48h", help="the window: N hours (48h) or days (7d)")
    commands.add_parser(
        "redeliver",
        help="ask GitHub to redeliver, once, the webhook deliveries of the last 3 days whose "
        "every attempt failed (the App's credentials)",
    )


def parse_since(text: str) -> timedelta:
    """``48h`` or ``7d``.

    >>> parse_since("48h"), parse_since("7d").days
    (datetime.timedelta(days=2), 7)
    """
    match = _SINCE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"--since {text!r}: write a number of hours or days, such as 48h or 7d")
    amount, unit = int(match[1]), match[2]
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


async def _targets(app: GitHubApp, repo: str | None) -> list[tuple[GitHubClient, str]]:
    from bot.github import apps

    found = await apps.repositories(app)
    if repo is not None:
        found = [(gh, name) for gh, name in found if name.lower() == repo.lower()]
        if not found:
            raise LookupError(f"{repo}: no installation of the App reaches this repository")
    return found


async def execute(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    from bot import digest, redelivery, sweep

    out, err = stdout or sys.stdout, stderr or sys.stderr
    clock = clock or SystemClock()
    name = f"countersign {args.command}"
    try:
        settings = Settings.from_env(env)
        repo_arg = getattr(args, "repo", None)
        if repo_arg is not None and not _REPO.fullmatch(repo_arg):
            raise ValueError(f"--repo {repo_arg!r} is not OWNER/NAME")
        week = Week.parse(args.week) if getattr(args, "week", None) else None
        if week is not None and week.start > clock.now():
            raise ValueError(f"--week {week.text} has not begun")
        since = parse_since(args.since) if args.command == "sweep" else None
    except (SettingsError, ValueError) as exc:
        print(f"{name}: {exc}", file=err)
        return USAGE_ERROR
    github = GitHubApp(settings, clock)
    services = Services(settings, github, clock)
    failed = 0
    if args.command == "redeliver":
        try:
            done = await redelivery.redeliver_failed(github.app_client(), github.jwt(), clock.now())
        except GitHubException as exc:
            print(f"{name}: {type(exc).__name__}: {exc}", file=err)
            return FAILED
        finally:
            await github.close()
        print(
            f"{done.listed} deliveries of the last 3 days, {len(done.failed)} failed on every "
            f"attempt, {len(done.asked)} redelivered, {len(done.refused)} refused",
            file=out,
        )
        return 0
    try:
        try:
            targets = await _targets(github, args.repo)
        except LookupError as exc:
            print(f"{name}: {exc}", file=err)
            return USAGE_ERROR
        now = clock.now()
        for gh, repo in targets:
            try:
                if since is not None:
                    found = await sweep.sweep_repository(
                        gh, services, repo, now - since, now - sweep.GRACE
                    )
                    print(
                        f"{repo}: {found.landed} landed, {found.recorded} recorded, "
                        f"{len(found.audited)} audited now",
                        file=out,
                    )
                else:
                    if args.repo is None and not await digest.enabled(gh, services, repo):
                        print(f"{repo}: skipped (digest.enabled is false)", file=out)
                        continue
                    outcome = await digest.post_digest(
                        gh, services, repo, week or Week.of(now).previous(), dry_run=args.dry_run
                    )
                    if args.dry_run:
                        print(f"# {outcome.title}\n\n{outcome.body}", file=out)
                    else:
                        what = "opened" if outcome.created else "updated"
                        print(f"{repo}: {outcome.title}: {what} {outcome.issue}", file=out)
            except Exception as exc:  # one repository's failure never stops the others
                failed += 1
                print(f"{name}: {repo}: {type(exc).__name__}: {exc}", file=err)
    finally:
        await github.close()
    return FAILED if failed else 0


async def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``python -m bot digest|sweep ARGV...`` (``argv`` starts with the command)."""
    from bot.cli.audit import run_subcommand

    return await run_subcommand(
        argv[0], add_parsers, execute, argv[1:], env, clock=clock, stdout=stdout, stderr=stderr
    )


def main(args: argparse.Namespace) -> int:
    from bot.settings import environment

    try:
        env = environment(os.environ)  # a .env in the working directory, under the environment
    except SettingsError as exc:
        print(f"countersign {args.command}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return asyncio.run(execute(args, env))
