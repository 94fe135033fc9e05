"""The weekly digest's weeks, counts, chart, record and Markdown. Pure: facts in, text out.

One issue per repository and ISO week, ``countersign digest: <owner/repo> <ISO week>``: the week's
landed changes per audited branch, every change neither reviewed nor signed off, audit issues open
longer than 14 days, a Mermaid chart of the last 8 weeks and the dormant privileged accounts. Its
body carries a hidden marker naming the repository and week, and a hidden record of the week's
counts, from which later digests draw their chart (GitHub is the database).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from bot.core.landed import Judged
from bot.core.policy import DigestPolicy
from bot.core.record import MARKER_SUFFIX, encode_record, marker_fields, marker_value, parse_record
from bot.core.render import _clip, _link, escape, login

DIGEST_PREFIX: Final = "<!-- countersign:digest "
DIGEST_SCHEMA: Final = "countersign/digest"
STALE_AFTER: Final = timedelta(days=14)
"""Audit issues open longer than this are listed."""
CHART_WEEKS: Final = 8
ISSUE_LIMIT: Final = 65536
ROWS_LIMIT: Final = 200


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week (weeks start on Monday, in UTC).

    >>> Week.parse("2026-W48").start.isoformat()
    '2026-11-23T00:00:00+00:00'
    >>> Week.of(datetime(2026, 12, 6, tzinfo=UTC)).text, Week.parse("2026-W01").previous().text
    ('2026-W49', '2025-W52')
    """

    year: int
    number: int

    @classmethod
    def of(cls, when: datetime) -> Week:
        year, number, _ = when.astimezone(UTC).isocalendar()
        return cls(year, number)

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2026-W48``; ValueError for anything else (or a week the year does not have)."""
        year, sep, number = text.strip().upper().partition("-W")
        if not sep or not year.isdigit() or not number.isdigit():
            raise ValueError(f"{text!r} is not an ISO week such as 2026-W48")
        week = cls(int(year), int(number))
        try:
            if Week.of(week.start) == week:
                return week
        except ValueError:
            pass
        raise ValueError(f"{text!r} is not a week of {int(year)}")

    @property
    def text(self) -> str:
        return f"{self.year:04d}-W{self.number:02d}"

    @property
    def start(self) -> datetime:
        day = date.fromisocalendar(self.year, self.number, 1)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    def previous(self, weeks: int = 1) -> Week:
        return Week.of(self.start - timedelta(days=7 * weeks))

    def next(self) -> Week:
        return Week.of(self.end)


def due_week(now: datetime, policy: DigestPolicy) -> Week | None:
    """The week whose digest is due at ``now``: the week that ended, once this week's posting time
    (``weekday`` at ``hour_utc``) has come; None before then, or when the digest is off.

    >>> monday_7 = datetime(2026, 11, 30, 7, tzinfo=UTC)
    >>> due_week(monday_7, DigestPolicy()).text
    '2026-W48'
    >>> due_week(monday_7, DigestPolicy(hour_utc=8)) is None
    True
    """
    if not policy.enabled:
        return None
    week = Week.of(now)
    at = week.start + timedelta(days=policy.weekday_number, hours=policy.hour_utc)
    return week.previous() if now >= at else None


# ---------------------------------------------------------------------------------------------
# Facts and counts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleIssue:
    reference: str
    """``owner/repo#N``."""
    title: str
    url: str
    opened_at: str


@dataclass(frozen=True)
class Dormant:
    """A person with write access or more who did nothing in the repository for too long."""

    login: str
    permission: str


@dataclass(frozen=True)
class DigestFacts:
    repository: str
    week: Week
    now: datetime
    changes: tuple[Judged, ...] = ()
    issue_states: Mapping[str, str] = field(default_factory=dict)
    """The state (``open``, ``closed``) of each audit issue named by a change, by reference."""
    stale: tuple[StaleIssue, ...] = ()
    history: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Earlier weeks' (reviewed, not reviewed), by week, from their digests' records."""
    dormant: tuple[Dormant, ...] = ()
    dormant_after_days: int = 365
    unseen: tuple[str, ...] = ()
    policy_errors: tuple[str, ...] = ()


COLUMNS: Final = (
    ("landed", "landed"),
    ("reviewed", "reviewed"),
    ("unreviewed", "unreviewed"),
    ("under-reviewed", "under-reviewed"),
    ("direct-push", "direct pushes"),
    ("force-push", "force pushes"),
    ("clean-backport", "clean backports"),
    ("signed-off", "signed off after landing"),
)


def counts(changes: Sequence[Judged]) -> dict[str, int]:
    """How many changes landed, and how many of each kind (a change can be of several: a clean
    backport is reviewed; a signed-off change keeps its status).

    >>> from bot.core.landed import Judged
    >>> row = Judged("pr-1", "pull_request", "main", "", "", "reviewed", "success", "none", True)
    >>> counts([row])["reviewed"], counts([row])["landed"]
    (1, 1)
    """
    found = dict.fromkeys((key for key, _ in COLUMNS), 0)
    for change in changes:
        found["landed"] += 1
        found[change.status] = found.get(change.status, 0) + 1
        if change.backport is not None and change.backport.clean:
            found["clean-backport"] += 1
        if change.signed_off:
            found["signed-off"] += 1
    return found


def by_branch(changes: Sequence[Judged]) -> dict[str, dict[str, int]]:
    branches: dict[str, list[Judged]] = {}
    for change in changes:
        branches.setdefault(change.branch, []).append(change)
    return {branch: counts(rows) for branch, rows in sorted(branches.items())}


def reviewed_split(changes: Sequence[Judged]) -> tuple[int, int]:
    """(reviewed when it landed, not reviewed when it landed) for the chart."""
    reviewed = sum(1 for change in changes if change.status == "reviewed")
    return reviewed, len(changes) - reviewed


# ---------------------------------------------------------------------------------------------
# Marker and record
# ---------------------------------------------------------------------------------------------


def digest_marker(repository: str, week: Week) -> str:
    return f"{DIGEST_PREFIX}repo={marker_value(repository)} week={week.text}{MARKER_SUFFIX}"


def find_digest_marker(body: str | None) -> tuple[str, Week] | None:
    """The (repository, week) a digest issue's marker names.

    >>> find_digest_marker(digest_marker("o/r", Week(2026, 48)))
    ('o/r', Week(year=2026, number=48))
    """
    fields = marker_fields(body, DIGEST_PREFIX) or {}
    try:
        return fields["repo"], Week.parse(fields["week"])
    except (KeyError, ValueError):
        return None


def digest_record(facts: DigestFacts) -> dict[str, Any]:
    reviewed, not_reviewed = reviewed_split(facts.changes)
    return {
        "schema": DIGEST_SCHEMA,
        "version": 1,
        "kind": "digest",
        "repository": facts.repository,
        "week": facts.week.text,
        "reviewed": reviewed,
        "not_reviewed": not_reviewed,
        "counts": counts(facts.changes),
        "open": [c.key for c in facts.changes if c.needs_attention][:500],
    }


def week_split(body: str | None) -> tuple[int, int] | None:
    """(reviewed, not reviewed) from a digest issue's record."""
    record = parse_record(body)
    if not record or record.get("kind") != "digest":
        return None
    reviewed, not_reviewed = record.get("reviewed"), record.get("not_reviewed")
    if _count(reviewed) and _count(not_reviewed):
        return int(reviewed), int(not_reviewed)  # type: ignore[arg-type]
    return None


def _count(value: Any) -> bool:
    """A whole number of changes (``true`` is not one, nor a negative number).

    >>> _count(3), _count(True), _count(-1), _count(2.0)
    (True, False, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


def title(repository: str, week: Week) -> str:
    """``countersign digest: <owner/repo> <ISO week>``.

    >>> title("octo-org/widgets", Week(2026, 48))
    'countersign digest: octo-org/widgets 2026-W48'
    """
    return f"countersign digest: {repository} {week.text}"


def chart(facts: DigestFacts) -> str:
    """A Mermaid ``xychart-beta`` of reviewed and not reviewed changes, the last 8 weeks."""
    weeks = [facts.week.previous(n) for n in range(CHART_WEEKS - 1, -1, -1)]
    splits = [
        reviewed_split(facts.changes)
        if week == facts.week
        else facts.history.get(week.text, (0, 0))
        for week in weeks
    ]
    top = max([1, *(r + n for r, n in splits)])
    labels = ", ".join(f'"{week.text}"' for week in weeks)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            '    title "Changes landed per week: reviewed, then not reviewed"',
            f"    x-axis [{labels}]",
            f'    y-axis "changes" 0 --> {top}',
            f"    bar [{', '.join(str(r) for r, _ in splits)}]",
            f"    bar [{', '.join(str(n) for _, n in splits)}]",
            "```",
        ]
    )


def _cell(text: str) -> str:
    return escape(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """A branch name as a code span: shown as written, never Markdown."""
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _change_cell(change: Judged) -> str:
    if change.kind == "pull_request" and change.number is not None:
        return _link(f"#{change.number} {_cell(change.title)}".strip(), change.url)
    what = {"push": "push", "force_push": "force push", "branch_deletion": "deletion"}.get(
        change.kind, change.kind
    )
    sha = (change.after if change.kind != "branch_deletion" else change.before) or ""
    return _link(f"{what} {sha[:7]}", change.url)


def _issue_cell(change: Judged, states: Mapping[str, str]) -> str:
    if change.audit_issue is None:
        return "(none)"
    state = states.get(change.audit_issue, "unknown")
    return f"{escape(change.audit_issue)} ({state})"


def _by(change: Judged) -> str:
    who = change.merged_by if change.kind == "pull_request" else change.pusher
    return login(who) if who else "(unknown)"


def body(facts: DigestFacts) -> str:
    """The digest issue's body: marker, record, counts, table, stale issues, chart, dormant."""
    week = facts.week
    head = [
        digest_marker(facts.repository, week),
        encode_record(digest_record(facts)),
        f"## countersign digest: {escape(facts.repository)}, week {week.text}",
        "",
        f"{week.start:%Y-%m-%d} to {week.end - timedelta(days=1):%Y-%m-%d} (UTC): changes that "
        "landed on audited branches, as recorded when they landed (or judged now where no "
        "record was written).",
        "",
        "### Landed changes",
        "",
    ]
    branches = by_branch(facts.changes)
    if branches:
        head.append("| branch | " + " | ".join(name for _, name in COLUMNS) + " |")
        head.append("|---" * (len(COLUMNS) + 1) + "|")
        for branch, found in branches.items():
            cells = " | ".join(str(found.get(key, 0)) for key, _ in COLUMNS)
            head.append(f"| {_code(branch)} | {cells} |")
    else:
        head.append("Nothing landed on an audited branch this week.")
    open_changes = [c for c in facts.changes if c.needs_attention]
    head += ["", f"### Neither reviewed nor signed off ({len(open_changes)})", ""]
    if open_changes:
        head += [
            "| change | branch | author | merged or pushed by | rules not met | severity | "
            "audit issue |",
            "|---|---|---|---|---|---|---|",
        ]
        for change in open_changes[:ROWS_LIMIT]:
            rules = ", ".join(f"`{_cell(r)}`" for r in change.rules) or "(none)"
            author = login(change.author) if change.author else ""
            head.append(
                f"| {_change_cell(change)} | {_code(change.branch)} | {author} | {_by(change)} "
                f"| {rules} | {escape(change.severity, plain=True)} | "
                f"{_issue_cell(change, facts.issue_states)} |"
            )
        if len(open_changes) > ROWS_LIMIT:
            head.append(f"| and {len(open_changes) - ROWS_LIMIT} more | | | | | | |")
    else:
        head.append("Every change of the week was reviewed or signed off.")
    head += [
        "",
        f"### Audit issues open longer than {STALE_AFTER.days} days ({len(facts.stale)})",
        "",
    ]
    if facts.stale:
        head += [
            f"- {_link(escape(issue.reference), issue.url)} {_cell(issue.title)}, opened "
            f"{issue.opened_at[:10]}"
            for issue in facts.stale[:ROWS_LIMIT]
        ]
    else:
        head.append("None.")
    head += ["", f"### The last {CHART_WEEKS} weeks", "", chart(facts), ""]
    head.append(
        "First bars: reviewed when they landed; second bars: not reviewed when they landed "
        "(weeks before countersign's first digest count as 0)."
    )
    head += [
        "",
        f"### Dormant privileged accounts ({len(facts.dormant)})",
        "",
    ]
    if facts.dormant:
        head.append(
            f"People with write access or more who did nothing in the repository (no commit, "
            f"merge, review, comment or issue) for {facts.dormant_after_days} days. An unattended "
            "privileged account can be taken over unnoticed: consider removing its access."
        )
        head.append("")
        head += [f"- {login(d.login)} ({escape(d.permission)})" for d in facts.dormant]
    else:
        head.append("None.")
    if facts.unseen:
        head += ["", "### Not seen", ""] + [f"- {escape(u)}" for u in facts.unseen]
    if facts.policy_errors:
        head += ["", "### Policy problems", ""] + [f"- {escape(e)}" for e in facts.policy_errors]
    return _clip("\n".join(head) + "\n", ISSUE_LIMIT)
