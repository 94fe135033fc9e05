"""The release audit's verdict, record and Markdown: what went into a release (every change since
the previous release, as recorded when it landed) and whether what was shipped (each source
archive) is what the repository holds at the tag. Pure: facts in, verdict and text out.

A release passes (``success``) when every change in it met its policy when it landed or was
signed off since, every archive matches the tree (files a release generates aside), and nothing
went unseen. Otherwise the highest severity decides: ``failure`` for high, ``neutral`` for low.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from bot.core.archive import SEVERITY_ORDER, ArchiveReport, ArchiveSeverity, ReportEntry
from bot.core.landed import Judged
from bot.core.record import MARKER_SUFFIX, encode_record, marker_fields, marker_value, utf8_size
from bot.core.render import _clip, _clip_bytes, _link, _short, escape, login

RELEASE_CHECK_NAME: Final = "countersign release"
"""The name of the release audit's check run, on the tag's commit."""
RELEASE_SCHEMA: Final = "countersign/release"
RELEASE_PREFIX: Final = "<!-- countersign:release "
ISSUE_LIMIT: Final = 65536
"""GitHub's limit on an issue body, in characters."""
OUTPUT_LIMIT: Final = 65535
"""GitHub's limit on a check run's summary and text, in bytes."""
ROWS_LIMIT: Final = 200
"""How many rows a table shows before "and N more"."""

Conclusion = Literal["success", "failure", "neutral"]
Source = Literal["release asset", "PyPI sdist", "local file"]


def release_key(tag: str) -> str:
    """The release's key: the check run's external id and the work queue's.

    >>> release_key("v5.6.1")
    'release-v5.6.1'
    """
    return f"release-{tag}"


# ---------------------------------------------------------------------------------------------
# Facts and verdict
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shipped:
    """One archive that was (or should have been) compared with the tree at the tag.

    ``report`` is None where it could not be read at all; ``problem`` says why (a download that
    failed or was too large, a PyPI file that does not match its digest): severity high, since
    what was shipped could not be checked.
    """

    name: str
    source: Source
    url: str | None = None
    report: ArchiveReport | None = None
    problem: str | None = None
    size: int | None = None

    @property
    def severity(self) -> ArchiveSeverity:
        if self.problem is not None or self.report is None:
            return "high"
        if not self.report.complete:
            return "high"
        return self.report.severity

    @property
    def flagged(self) -> list[ReportEntry]:
        """The entries that matter (severity low or high), highest first."""
        if self.report is None:
            return []
        entries = [e for e in self.report.entries if e.severity != "none"]
        return sorted(entries, key=lambda e: (-SEVERITY_ORDER.index(e.severity), e.path))

    @property
    def listed(self) -> list[ReportEntry]:
        """The entries listed only (generated, export-ignored, export-subst, the tree's link)."""
        if self.report is None:
            return []
        return [e for e in self.report.entries if e.severity == "none"]


@dataclass(frozen=True)
class ReleaseFacts:
    """Everything the release audit read. ``changes`` are every change between ``previous`` and
    ``tag`` (oldest first), each as recorded when it landed or judged afresh; ``archives`` the
    source archives compared; ``unseen`` what GitHub could not show."""

    repository: str
    tag: str
    sha: str
    previous: str | None = None
    previous_sha: str | None = None
    url: str | None = None
    compare_url: str | None = None
    changes: tuple[Judged, ...] = ()
    archives: tuple[Shipped, ...] = ()
    unseen: tuple[str, ...] = ()
    policy_errors: tuple[str, ...] = ()
    cautions: tuple[str, ...] = ()
    """What may make the range shorter than what went in (severity low)."""
    commits: int = 0
    prerelease: bool = False


def is_open(change: Judged) -> bool:
    """Whether a change still needs someone: it did not meet its policy and is not signed off."""
    return not change.signed_off and change.conclusion != "success"


@dataclass(frozen=True)
class ReleaseVerdict:
    conclusion: Conclusion
    severity: ArchiveSeverity
    open_changes: tuple[Judged, ...]
    """Changes that did not meet their policy and are not signed off."""
    signed_off: tuple[Judged, ...]
    """Changes that did not meet their policy when they landed but were signed off since."""
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.conclusion == "success"


def _highest(values: Sequence[str]) -> ArchiveSeverity:
    found: ArchiveSeverity = "none"
    for value in values:
        if value in SEVERITY_ORDER and SEVERITY_ORDER.index(value) > SEVERITY_ORDER.index(found):
            found = value
    return found


def judge_release(facts: ReleaseFacts) -> ReleaseVerdict:
    """The release's verdict.

    >>> judge_release(ReleaseFacts("o/r", "v1", "a" * 40)).conclusion
    'success'
    >>> judge_release(ReleaseFacts("o/r", "v1", "a" * 40, unseen=("cut",))).conclusion
    'failure'
    """
    open_changes = tuple(c for c in facts.changes if is_open(c))
    signed = tuple(c for c in facts.changes if c.signed_off and c.status != "reviewed")
    severities = [c.severity if c.severity != "none" else "low" for c in open_changes]
    severities += [shipped.severity for shipped in facts.archives]
    if facts.unseen:
        severities.append("high")
    if facts.cautions:
        severities.append("low")
    severity = _highest(severities)
    flagged = any(s != "none" for s in severities)
    conclusion: Conclusion = (
        "success" if not flagged else "failure" if severity == "high" else "neutral"
    )
    counts: dict[str, int] = {"changes": len(facts.changes), "open": len(open_changes)}
    for change in facts.changes:
        counts[change.verdict] = counts.get(change.verdict, 0) + 1
    return ReleaseVerdict(conclusion, severity, open_changes, signed, counts)


# ---------------------------------------------------------------------------------------------
# Record and marker
# ---------------------------------------------------------------------------------------------


def release_marker(repository: str, tag: str) -> str:
    """The hidden marker of a release audit issue: one issue per release."""
    return f"{RELEASE_PREFIX}repo={marker_value(repository)} tag={marker_value(tag)}{MARKER_SUFFIX}"


def find_release_marker(body: str | None) -> tuple[str, str] | None:
    """The (repository, tag) a release audit issue's marker names, if its body has one.

    >>> find_release_marker(release_marker("o/r", "v1.0"))
    ('o/r', 'v1.0')
    >>> find_release_marker("no marker") is None
    True
    """
    fields = marker_fields(body, RELEASE_PREFIX)
    if not fields or "repo" not in fields or "tag" not in fields:
        return None
    return fields["repo"], fields["tag"]


def _archive_json(shipped: Shipped) -> dict[str, Any]:
    return {
        "name": shipped.name,
        "source": shipped.source,
        "severity": shipped.severity,
        "problem": shipped.problem,
        "counts": shipped.report.counts if shipped.report else {},
    }


def _row(change: Judged) -> dict[str, Any]:
    return {
        "key": change.key,
        "status": change.status,
        "severity": change.severity,
        "signed_off": change.signed_off,
        "rules": list(change.rules),
        "recorded": change.recorded,
    }


def release_record(
    facts: ReleaseFacts,
    verdict: ReleaseVerdict,
    issue: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """The machine-readable record of the release audit, kept in its check run."""
    record: dict[str, Any] = {
        "schema": RELEASE_SCHEMA,
        "version": 1,
        "kind": "release",
        "repository": facts.repository,
        "tag": facts.tag,
        "sha": facts.sha,
        "previous": facts.previous,
        "previous_sha": facts.previous_sha,
        "conclusion": verdict.conclusion,
        "severity": verdict.severity,
        "counts": dict(verdict.counts),
        "open": [_row(c) for c in verdict.open_changes],
        "signed_off": [c.key for c in verdict.signed_off],
        "archives": [
            dict(
                _archive_json(shipped),
                flagged=[
                    {"path": e.path, "kind": e.kind, "severity": e.severity}
                    for e in shipped.flagged
                ],
            )
            for shipped in facts.archives
        ],
        "unseen": list(facts.unseen),
        "cautions": list(facts.cautions),
        "issue": {"repository": issue[0], "number": issue[1]} if issue else None,
    }
    return _fit(record)


RECORD_BUDGET: Final = 40000


def _fit(record: dict[str, Any]) -> dict[str, Any]:
    """The record cut to fit its budget: long lists are shortened, never the verdict."""
    for limit in (500, 100, 20, 0):
        if utf8_size(encode_record(record)) <= RECORD_BUDGET:
            return record
        cut = dict(record)
        cut["open"] = record["open"][:limit]
        cut["signed_off"] = record["signed_off"][:limit]
        cut["archives"] = [dict(a, flagged=a["flagged"][:limit]) for a in record["archives"]]
        cut["truncated"] = True
        record = cut
    return record


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------

_ICON: Final[Mapping[str, str]] = {"high": "🔴", "low": "🟡", "none": "⚪"}
_CONCLUSION_TITLE: Final[Mapping[str, str]] = {
    "success": "Release {tag}: everything in it was reviewed, and it ships what was reviewed",
    "neutral": "Release {tag}: needs a look",
    "failure": "Release {tag}: unreviewed or unverified content",
}


def _cell(text: str) -> str:
    return escape(text).replace("|", "\\|").replace("\n", " ")


def _who(change: Judged) -> str:
    if change.kind == "pull_request":
        author = login(change.author) if change.author else "(unknown)"
        merger = login(change.merged_by) if change.merged_by else "(unknown)"
        return f"{author} / merged by {merger}"
    return f"pushed by {login(change.pusher) if change.pusher else '(unknown)'}"


def _change_link(change: Judged) -> str:
    if change.kind == "pull_request" and change.number is not None:
        label = f"#{change.number} {_cell(change.title)}".strip()
        return _link(label, change.url)
    what = {"push": "push", "force_push": "force push", "branch_deletion": "deletion"}.get(
        change.kind, change.kind
    )
    label = f"{what} to {_cell(change.branch)} ({_short(change.after or change.before)})"
    return _link(label, change.url)


def _state(change: Judged) -> str:
    if change.signed_off:
        signers = ", ".join(login(s) for s in change.signed_off_by) or "a maintainer"
        return f"✅ signed off by {signers}"
    text = f"{_ICON.get(change.severity, '🟡')} {escape(change.status, plain=True)}"
    if not change.recorded:
        text += " (judged now: no record)"
    return text


def changes_table(changes: Sequence[Judged], limit: int = ROWS_LIMIT) -> str:
    """The table of changes that did not meet their policy when they landed."""
    if not changes:
        return "Every change in this release met its policy when it landed.\n"
    lines = [
        "| Change | Author / merger or pusher | Rules not met | Severity | State |",
        "|---|---|---|---|---|",
    ]
    for change in changes[:limit]:
        rules = ", ".join(f"`{_cell(rule)}`" for rule in change.rules) or "(none)"
        lines.append(
            f"| {_change_link(change)} | {_who(change)} | {rules} | "
            f"{escape(change.severity, plain=True)} | {_state(change)} |"
        )
    if len(changes) > limit:
        lines.append(f"| and {len(changes) - limit} more | | | | |")
    return "\n".join(lines) + "\n"


def _entry_line(entry: ReportEntry) -> str:
    return (
        f"| `{_cell(entry.path)}` | {escape(entry.kind, plain=True)} | "
        f"{_ICON[entry.severity]} {entry.severity} | {_cell(entry.reason)} |"
    )


def archive_section(shipped: Shipped, limit: int = ROWS_LIMIT) -> str:
    """One archive: what differs from the tree at the tag, and what is only listed."""
    title = f"#### {_ICON[shipped.severity]} `{_cell(shipped.name)}` ({shipped.source})"
    lines = [title, ""]
    if shipped.problem is not None:
        lines.append(f"Not checked: {escape(shipped.problem)}")
        return "\n".join(lines) + "\n"
    report = shipped.report
    if report is None:
        return "\n".join(lines) + "\nNot checked.\n"
    counts = report.counts
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n)
    lines.append(f"{summary or 'empty'}.")
    if not report.complete:
        lines.append(
            "\nThe archive could not be read to its end, so files missing from it are not listed."
        )
    for error in report.pattern_errors:
        lines.append(f"\n{escape(error)}")
    flagged, listed = shipped.flagged, shipped.listed
    if flagged:
        lines += ["", "| Path | What | Severity | Why |", "|---|---|---|---|"]
        lines += [_entry_line(e) for e in flagged[:limit]]
        if len(flagged) > limit:
            lines.append(f"| and {len(flagged) - limit} more | | | |")
    else:
        lines.append("\nEvery file matches the tree at the tag.")
    if listed:
        lines += [
            "",
            f"<details><summary>Listed, not alarmed on ({len(listed)})</summary>",
            "",
            "| Path | What | Severity | Why |",
            "|---|---|---|---|",
        ]
        lines += [_entry_line(e) for e in listed[:limit]]
        if len(listed) > limit:
            lines.append(f"| and {len(listed) - limit} more | | | |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _range_line(facts: ReleaseFacts) -> str:
    tag = f"`{_cell(facts.tag)}` ({_short(facts.sha)})"
    if facts.previous is None:
        since = "the first release tag: every commit up to it"
    else:
        since = f"since `{_cell(facts.previous)}` ({_short(facts.previous_sha)})"
    compare = _link("compare", facts.compare_url) if facts.compare_url else ""
    changes = len(facts.changes)
    return (
        f"Release {tag}, {since}: {changes} change{'s' if changes != 1 else ''} in "
        f"{facts.commits} commit{'s' if facts.commits != 1 else ''}"
        + (f" ({compare})" if compare else "")
        + "."
    )


def _counts_line(verdict: ReleaseVerdict) -> str:
    parts = []
    for name in ("reviewed", "signed-off", "unreviewed", "under-reviewed", "direct-push"):
        if verdict.counts.get(name):
            parts.append(f"{verdict.counts[name]} {name}")
    if verdict.counts.get("force-push"):
        parts.append(f"{verdict.counts['force-push']} force-push")
    return ", ".join(parts) or "no changes"


def _body(facts: ReleaseFacts, verdict: ReleaseVerdict, limit: int) -> str:
    shown = [*verdict.open_changes, *verdict.signed_off]
    shown.sort(key=lambda c: (c.signed_off, -SEVERITY_ORDER.index(_sev(c)), c.landed_at, c.key))
    parts = [
        _range_line(facts),
        "",
        f"**What went in:** {_counts_line(verdict)}.",
        "",
        changes_table(shown, limit),
    ]
    parts.append("**What was shipped:**")
    parts.append("")
    if not facts.archives:
        parts.append(
            "No source archive was attached to this release, so there was nothing to compare "
            "with the tree at the tag.\n"
        )
    for shipped in facts.archives:
        parts.append(archive_section(shipped, limit))
    if facts.unseen:
        parts += ["**Not seen:**", ""]
        parts += [f"- {escape(u)}" for u in facts.unseen]
        parts.append("")
    if facts.cautions:
        parts += ["**Cautions:**", ""]
        parts += [f"- {escape(c)}" for c in facts.cautions]
        parts.append("")
    if facts.policy_errors:
        parts += ["**Policy problems** (the other layers still apply):", ""]
        parts += [f"- {escape(e)}" for e in facts.policy_errors]
        parts.append("")
    return "\n".join(parts)


def _sev(change: Judged) -> ArchiveSeverity:
    return change.severity if change.severity in SEVERITY_ORDER else "low"


def check_run_output(
    facts: ReleaseFacts, verdict: ReleaseVerdict, record: Mapping[str, Any]
) -> tuple[str, str, str]:
    """(title, summary, text) of the ``countersign release`` check run; the record leads the text."""
    title = _CONCLUSION_TITLE[verdict.conclusion].format(tag=facts.tag)[:256]
    summary = _clip_bytes(_body(facts, verdict, ROWS_LIMIT), OUTPUT_LIMIT)
    text = encode_record(record)
    help_text = (
        "\n\nSign off a change in its own pull request or audit issue with `/audit approve`; "
        "then `/audit` in the release audit issue runs this again."
    )
    return title, summary, _clip_bytes(text + help_text, OUTPUT_LIMIT)


def issue_title(tag: str) -> str:
    """``Release audit: <tag>``.

    >>> issue_title("v5.6.1")
    'Release audit: v5.6.1'
    """
    return _clip(f"Release audit: {escape(tag, plain=True)}", 256, "…")


def issue_body(facts: ReleaseFacts, verdict: ReleaseVerdict) -> str:
    """The release audit issue: both tables, how to clear them, and the hidden marker."""
    marker = release_marker(facts.repository, facts.tag)
    footer = "\n---\n" + (
        "Nothing is left: every change is reviewed or signed off and the archives match.\n"
        if verdict.passed
        else "Sign off each change in its own pull request or audit issue with "
        "`/audit approve [note]`, then comment `/audit` here to run this audit again. "
        "This issue closes itself when nothing is left.\n"
    )
    budget = ISSUE_LIMIT - len(marker) - len(footer) - 2
    body = _body(facts, verdict, ROWS_LIMIT)
    if len(body) > budget:
        body = _body(facts, verdict, 50)
    return f"{marker}\n{_clip(body, budget)}{footer}"


def as_json(facts: ReleaseFacts, verdict: ReleaseVerdict) -> dict[str, Any]:
    """Everything the audit found, for ``--format json``."""
    return {
        "repository": facts.repository,
        "tag": facts.tag,
        "sha": facts.sha,
        "previous": facts.previous,
        "previous_sha": facts.previous_sha,
        "conclusion": verdict.conclusion,
        "severity": verdict.severity,
        "counts": dict(verdict.counts),
        "changes": [c.as_json() for c in facts.changes],
        "open": [c.key for c in verdict.open_changes],
        "archives": [
            dict(
                _archive_json(s),
                url=s.url,
                complete=s.report.complete if s.report else False,
                entries=[
                    {"path": e.path, "kind": e.kind, "severity": e.severity, "reason": e.reason}
                    for e in (s.report.entries if s.report else ())
                ],
            )
            for s in facts.archives
        ],
        "unseen": list(facts.unseen),
        "cautions": list(facts.cautions),
        "policy_errors": list(facts.policy_errors),
    }


def dumps(facts: ReleaseFacts, verdict: ReleaseVerdict) -> str:
    return json.dumps(as_json(facts, verdict), indent=2, sort_keys=True)


def release_queue_key(repository: str, tag: str) -> str:
    """The key work about one release is queued under (its events, tag push and commands).

    >>> release_queue_key("tukaani/xz", "v5.6.1")
    'tukaani/xz@release:v5.6.1'
    """
    return f"{repository}@release:{tag}"


def markdown(facts: ReleaseFacts, verdict: ReleaseVerdict) -> str:
    """The report as Markdown (``--format markdown``): what the issue shows, under a heading."""
    heading = f"## countersign release audit: {escape(facts.repository)} `{_cell(facts.tag)}`"
    return f"{heading}\n\n**{verdict.conclusion}** (severity {verdict.severity})\n\n" + _body(
        facts, verdict, ROWS_LIMIT
    )
