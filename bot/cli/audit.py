"""``python -m bot audit OWNER/REPO``: the history audit on the command line.

Reads ``GITHUB_TOKEN`` (a personal access token, fine-grained or classic; read access is enough),
``GITHUB_API_URL`` and ``GITHUB_GRAPHQL_URL`` (GitHub Enterprise Server) and, when set,
``GITHUB_APP_ID`` (so that the App's own records are found and stand). Prints a table, Markdown or
JSON; exits 0, 1 when a change at or above ``--fail-on`` was found, 2 for a usage or access error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import cachetools
from gidgethub import BadGraphQLRequest, BadRequest, GitHubException, QueryError, RateLimitExceeded
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table

from bot import history
from bot.clock import Clock, SystemClock
from bot.core.landed import Judged
from bot.core.policy import PolicySource, check_config, load_policy, shipped_default
from bot.core.render import escape, login
from bot.github.client import GitHubApp
from bot.history import Options, ReadOnlyClient, Report
from bot.services import Services
from bot.settings import DEFAULT_API_URL, DEFAULT_PYPI_URL, Settings, graphql_url_for

USAGE_ERROR = 2
FOUND = 1

_DAYS = re.compile(r"([0-9]+)d")
_REPO = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")

VERDICTS = {
    "reviewed": "Reviewed",
    "signed-off": "Signed off",
    "unreviewed": "Unreviewed",
    "under-reviewed": "Under-reviewed",
    "direct-push": "Direct push",
    "force-push": "Force push",
}


class UsageError(Exception):
    """A bad argument or environment; the message says which and how to fix it."""


def add_parser(commands: Any) -> None:
    """The ``audit`` subcommand of ``python -m bot``."""
    parser = commands.add_parser(
        "audit",
        help="judge a repository's history read-only (token in GITHUB_TOKEN)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("repo", metavar="OWNER/REPO")
    parser.add_argument(
        "--since", default="90d", help="start of the window: N days ago (90d) or a date"
    )
    parser.add_argument("--until", help="end of the window: a date or time (default: now)")
    parser.add_argument(
        "--branch",
        action="append",
        default=[],
        metavar="NAME",
        help="audit this branch (a glob; repeat for more) instead of the policy's branches",
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help="judge by this policy file (layered over the shipped default) instead of the "
        "repository's own",
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.add_argument(
        "--fail-on", choices=("low", "high"), help="exit 1 when a change this severe is found"
    )


def parse_when(text: str, now: datetime, *, end: bool = False) -> datetime:
    """``90d`` (days before ``now``), a date (its start, or with ``end`` its end) or a time, in UTC
    unless it says otherwise.

    >>> now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    >>> parse_when("90d", now).isoformat()
    '2024-04-01T12:00:00+00:00'
    >>> parse_when("2024-06-01", now, end=True).isoformat()
    '2024-06-01T23:59:59.999999+00:00'
    """
    days = _DAYS.fullmatch(text.strip())
    if days:
        return now - timedelta(days=int(days[1]))
    try:
        if len(text.strip()) == 10:
            day = datetime.fromisoformat(text.strip()).date()
            return datetime.combine(day, time.max if end else time.min, UTC)
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{text!r} is neither a number of days (90d) nor a date (2024-06-30) "
            "or time (2024-06-30T12:00:00Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _options(args: argparse.Namespace, env: Mapping[str, str], now: datetime) -> Options:
    if not _REPO.fullmatch(args.repo):
        raise UsageError(f"{args.repo!r} is not OWNER/REPO")
    since = parse_when(args.since, now)
    until = parse_when(args.until, now, end=True) if args.until else now
    if since > until:
        raise UsageError(f"--since ({since.isoformat()}) is after --until ({until.isoformat()})")
    policy = None
    if args.policy:
        path = Path(args.policy)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--policy: cannot read {args.policy!r}: {exc}") from None
        errors = check_config(args.policy)
        if errors:
            raise UsageError("\n".join(str(error) for error in errors))
        policy = load_policy([shipped_default(), PolicySource(args.policy, text)])
    app_id = app_id_from(env)
    return Options(
        repo=args.repo,
        since=since,
        until=until,
        branches=tuple(args.branch),
        policy=policy,
        app_id=app_id,
    )


class _Bar(history.Progress):
    """A progress bar on the terminal (standard error, so that standard output stays the report)."""

    def __init__(self, bar: RichProgress) -> None:
        self.bar = bar
        self.task = bar.add_task("Judging changes", total=None)

    def found(self, count: int) -> None:
        total = self.bar.tasks[0].total or 0
        self.bar.update(self.task, total=total + count)

    def judged(self) -> None:
        self.bar.advance(self.task)


async def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``python -m bot audit ARGV...``; returns the exit status."""
    return await run_subcommand(
        "audit", add_parser, execute, argv, env, clock=clock, stdout=stdout, stderr=stderr
    )


async def run_subcommand(
    name: str,
    add: Callable[[Any], None],
    execute: Callable[..., Awaitable[int]],
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Parse ``python -m bot NAME ARGV...`` (usage errors go to ``stderr``) and run it."""
    parser = argparse.ArgumentParser(prog="python -m bot")
    add(parser.add_subparsers(dest="command"))
    try:
        with (
            contextlib.redirect_stderr(stderr or sys.stderr),
            contextlib.redirect_stdout(stdout or sys.stdout),
        ):
            args = parser.parse_args([name, *argv])
    except SystemExit as exc:
        return int(exc.code or 0)
    return await execute(args, env, clock=clock, stdout=stdout, stderr=stderr)


def token_from(env: Mapping[str, str]) -> str:
    """``GITHUB_TOKEN``; a :class:`UsageError` that says what to give when it is not set."""
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "GITHUB_TOKEN is not set: give a token that can read the repository "
            "(fine-grained: Contents, Metadata and Pull requests read; classic: repo or "
            "public_repo)"
        )
    return token


def app_id_from(env: Mapping[str, str]) -> str | None:
    """``GITHUB_APP_ID`` when set (so that the App's records are read); it must be a number."""
    app_id = env.get("GITHUB_APP_ID", "").strip() or None
    if app_id is not None and not app_id.isdigit():
        raise UsageError(f"GITHUB_APP_ID: not a number: {app_id!r}")
    return app_id


async def execute(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the parsed ``audit`` command; returns the exit status."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    clock = clock or SystemClock()
    try:
        options = _options(args, env, clock.now())
        token = token_from(env)
    except UsageError as exc:
        print(f"countersign audit: {exc}", file=err)
        return USAGE_ERROR
    async with aiohttp.ClientSession() as session:
        services, gh = read_only_client(env, session, clock, token, options.app_id, "history")
        try:
            report = await _audit(gh, services, options, err)
        except (TimeoutError, GitHubException, aiohttp.ClientError) as exc:
            print(f"countersign audit: {access_error(exc, options.repo, gh, clock)}", file=err)
            return USAGE_ERROR
    write_report(report, args.format, out)
    if args.fail_on and any(
        history.severity_at_least(change.severity, args.fail_on) for change in report.changes
    ):
        return FOUND
    return 0


def read_only_client(
    env: Mapping[str, str],
    session: aiohttp.ClientSession,
    clock: Clock,
    token: str,
    app_id: str | None,
    what: str,
) -> tuple[Services, ReadOnlyClient]:
    """The services and read-only client of a command-line audit, from the environment:
    ``GITHUB_API_URL``, ``GITHUB_GRAPHQL_URL`` and ``PYPI_URL``."""
    api_url = (env.get("GITHUB_API_URL", "") or DEFAULT_API_URL).rstrip("/")
    settings = Settings(
        app_id=app_id or "0",
        private_key="",
        webhook_secret="",
        api_url=api_url,
        graphql_url=env.get("GITHUB_GRAPHQL_URL", "") or graphql_url_for(api_url),
        user_agent=f"countersign-{what}-audit",
        pypi_url=(env.get("PYPI_URL", "") or DEFAULT_PYPI_URL).rstrip("/"),
    )
    services = Services(settings, GitHubApp(settings, clock, session=session), clock)
    gh = ReadOnlyClient(
        session,
        settings=settings,
        clock=clock,
        cache=cachetools.LRUCache(maxsize=1000),
        limiter=asyncio.Semaphore(settings.per_installation_requests),
        oauth_token=token,
    )
    return services, gh


async def _audit(gh: ReadOnlyClient, services: Services, options: Options, err: TextIO) -> Report:
    if not err.isatty():
        return await history.audit_history(gh, services, options)
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns, console=Console(file=err), transient=True) as bar:
        return await history.audit_history(gh, services, options, _Bar(bar))


def access_error(exc: BaseException, repo: str, gh: ReadOnlyClient, clock: Clock) -> str:
    """What went wrong talking to GitHub, said so that someone knows what to do."""
    headers: Mapping[str, str] = getattr(exc, "headers", None) or gh.last_headers
    status = int(getattr(exc, "status_code", 0) or 0)
    kinds: set[str] = set()
    if isinstance(exc, QueryError) and isinstance(exc.response, dict):
        kinds = {
            str(e.get("type")) for e in exc.response.get("errors") or [] if isinstance(e, dict)
        }
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return f"cannot reach GitHub at {gh.base_url}: {exc or type(exc).__name__}"
    if status == 401 or (isinstance(exc, BadGraphQLRequest) and status == 401):
        return (
            "GitHub refused the token (401 Bad credentials): GITHUB_TOKEN is wrong, expired or "
            "revoked"
        )
    if isinstance(exc, RateLimitExceeded) or "RATE_LIMITED" in kinds or status == 429:
        return _rate_limited(headers, clock)
    if status == 403 and (
        "retry-after" in {k.lower() for k in headers} or "rate limit" in str(exc).lower()
    ):
        return _rate_limited(headers, clock)
    if status == 404 or "NOT_FOUND" in kinds:
        return (
            f"{repo}: not found, or the token may not read it (404): give GITHUB_TOKEN read "
            "access to the repository"
        )
    if status == 403 or "FORBIDDEN" in kinds:
        return (
            f"{repo}: the token may not read this (403 {exc}): give GITHUB_TOKEN read access to "
            "contents, metadata and pull requests"
        )
    if isinstance(exc, BadRequest):
        return f"GitHub answered {status}: {exc}"
    return f"GitHub answered with an error: {exc}"


def _rate_limited(headers: Mapping[str, str], clock: Clock) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    retry = lowered.get("retry-after")
    if retry and retry.isdigit():
        return f"rate limited by GitHub (secondary limit): try again in {int(retry)} s"
    reset = lowered.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        when = datetime.fromtimestamp(int(reset), UTC)
        minutes = max(0, round((when - clock.now()).total_seconds() / 60))
        return (
            f"rate limited by GitHub: the limit resets at {when.strftime('%Y-%m-%d %H:%M:%S')} "
            f"UTC (in {minutes} min)"
        )
    return "rate limited by GitHub: try again later"


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def write_report(report: Report, form: str, out: TextIO) -> None:
    if form == "json":
        json.dump(as_json(report), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif form == "markdown":
        out.write(as_markdown(report))
    else:
        write_table(report, out)


def as_json(report: Report) -> dict[str, Any]:
    """The report as a stable JSON object (schema ``countersign/history-audit``, version 1)."""
    return {
        "schema": "countersign/history-audit",
        "version": 1,
        "repository": report.repository,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "default_branch": report.default_branch,
        "policy": {"sources": list(report.policy_sources), "errors": list(report.policy_errors)},
        "changes": [change.as_json() for change in report.changes],
        "totals": report.totals(),
    }


def _change_label(change: Judged) -> str:
    if change.kind == "pull_request":
        return f"#{change.number}"
    if change.kind == "branch_deletion":
        return f"deleted {(change.before or '')[:7]}"
    return f"{(change.before or '')[:7]}..{(change.after or '')[:7]}"


def _by(change: Judged) -> str:
    return (change.merged_by if change.kind == "pull_request" else change.pusher) or ""


def _verdict(change: Judged) -> str:
    return VERDICTS.get(change.verdict, change.verdict)


def _backport(change: Judged) -> str:
    """``clean backport of #12``, ``backport of #12 with changes``, ``not a backport: <why>``, or
    nothing for a change that is no backport candidate."""
    return change.backport.text if change.backport is not None else ""


def write_table(report: Report, out: TextIO) -> None:
    tty = out.isatty()
    # piped, the table keeps its natural width: nothing is cut or folded
    console = Console(file=out, width=None if tty else 1000, highlight=False, soft_wrap=False)
    listed = [change for change in report.changes if change.needs_attention]
    console.print(
        f"countersign history audit of {rich_escape(report.repository)}: "
        f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC, "
        f"{len(report.changes)} changes judged, {len(listed)} neither reviewed nor signed off"
    )
    if listed:
        table = Table(show_lines=False)
        for title in ("change", "branch", "author", "merged/pushed by", "verdict", "severity"):
            table.add_column(title, no_wrap=True)
        table.add_column("rules", overflow="fold")
        noted = any(change.backport is not None for change in listed)
        if noted:
            table.add_column("backport", overflow="fold")
        table.add_column("link", no_wrap=True)
        for change in listed:
            table.add_row(
                rich_escape(_change_label(change)),
                rich_escape(change.branch),
                rich_escape(change.author or ""),
                rich_escape(_by(change)),
                _verdict(change),
                change.severity,
                rich_escape(", ".join(change.rules)),
                *([rich_escape(_backport(change))] if noted else []),
                rich_escape(change.url),
            )
        console.print(table)
    backports = [change for change in report.changes if change.backport is not None]
    if backports:
        console.print("Backports:")
        for change in backports:
            console.print(
                f"  {rich_escape(_change_label(change))} into {rich_escape(change.branch)}: "
                f"{rich_escape(_backport(change))} ({_verdict(change)}) {rich_escape(change.url)}"
            )
    console.print(_totals_line(report))
    for error in report.policy_errors:
        console.print(f"policy error: {rich_escape(error)}")


def _totals_line(report: Report) -> str:
    totals = report.totals()
    parts = [f"{VERDICTS[name]}: {count}" for name, count in totals.items() if count]
    return "Totals: " + (", ".join(parts) if parts else "no change")


def _markdown_label(change: Judged) -> str:
    label = escape(_change_label(change))
    if change.title:
        label += " " + escape(change.title)
    return label


def as_markdown(report: Report) -> str:
    listed = [change for change in report.changes if change.needs_attention]
    lines = [
        f"## countersign history audit of {escape(report.repository)}",
        "",
        f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC: "
        f"{len(report.changes)} changes judged, {len(listed)} neither reviewed nor signed off.",
        "",
    ]
    if listed:
        noted = any(change.backport is not None for change in listed)
        columns = ["change", "branch", "author", "merged or pushed by", "verdict", "severity"]
        columns += ["rules", "backport"] if noted else ["rules"]
        lines += [
            "| " + " | ".join(columns) + " |",
            "| " + " | ".join("---" for _ in columns) + " |",
        ]
        for change in listed:
            note = f" {escape(_backport(change))} |" if noted else ""
            lines.append(
                f"| [{_markdown_label(change)}]({change.url}) | {escape(change.branch)} | "
                f"{login(change.author) if change.author else ''} | "
                f"{login(_by(change)) if _by(change) else ''} | {_verdict(change)} | "
                f"{change.severity} | {escape(', '.join(change.rules))} |{note}"
            )
        lines.append("")
    backports = [change for change in report.changes if change.backport is not None]
    if backports:
        lines += ["### Backports", ""]
        lines += [
            f"- [{_markdown_label(change)}]({change.url}) into {escape(change.branch)}: "
            f"{escape(_backport(change))} ({_verdict(change)})"
            for change in backports
        ]
        lines.append("")
    lines += ["| verdict | changes |", "| --- | --- |"]
    lines += [f"| {VERDICTS[name]} | {count} |" for name, count in report.totals().items()]
    lines.append("")
    for error in report.policy_errors:
        lines.append(f"- policy error: {escape(error)}")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    """``python -m bot audit``, from the arguments ``bot.__main__`` parsed."""
    return asyncio.run(execute(args, os.environ))
