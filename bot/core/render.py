"""Markdown for check runs and audit issues. Pure: facts and verdicts in, text out.

Everything people wrote (titles, branch names, logins, file paths, commit messages) goes through
:func:`escape` or :func:`login`, so that nothing in it can mention anyone (``@team``), reference or
close an issue (``Fixes #1``, ``owner/repo#1``, ``GH-1``, issue URLs), break the Markdown, or
forge the hidden markers this module writes (``<!-- countersign:... -->``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from bot.core.backport import DIFF_LEGEND
from bot.core.facts import ChangeFacts
from bot.core.judge import (
    ApprovalAssessment,
    RequirementResult,
    Status,
    Verdict,
    staleness,
)
from bot.core.policy import NOTIFY_PATTERN
from bot.core.record import audit_marker, encode_record, fit_record, snapshot, utf8_size

WORD_JOINER: Final = "\u2060"
"""Inserted after ``@`` and ``#`` (and inside ``GH-``, ``://``, ``www.``) to stop GitHub linking."""

MAX_OUTPUT: Final = 65535
"""GitHub's limit for a check run's summary and text, in UTF-8 bytes, and (65536 characters)
for an issue body."""
MAX_TITLE: Final = 256
"""GitHub's limit for an issue title."""

STATUS_TEXT: Final[Mapping[Status, str]] = {
    "reviewed": "Reviewed",
    "unreviewed": "Unreviewed",
    "under-reviewed": "Under-reviewed",
    "direct-push": "Direct push",
    "force-push": "Force push",
}
"""The stable user-visible name of each verdict status."""

CONCLUSION_TEXT: Final[Mapping[str, str]] = {
    "success": "success",
    "failure": "failure",
    "neutral": "neutral",
}


LIST_LIMIT: Final = 50
"""How many entries a list in a summary or an issue shows before "and N more"."""
BINARY_LIMIT: Final = 20

_STRIP = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_GH_REF = re.compile(r"(?i)\b(gh)(-\d)")
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(//)")
_WWW = re.compile(r"(?i)\b(www)(\.)")
_MARKDOWN = frozenset("\\`*_[]#|~$")
"""Characters that start inline Markdown (emphasis, code, links, tables, strike-through, math)."""
_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))")
"""What would make a list item, a heading underline or an ordered list at the start of a line."""
_LOGIN_CHARS = re.compile(r"[^A-Za-z0-9_.\-\[\]/]")
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
_HTTPS = re.compile(r"https://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~%/+:=@!$&,;-]*)?")
_REPOSITORY = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")


# ---------------------------------------------------------------------------------------------
# Escaping
# ---------------------------------------------------------------------------------------------


def escape(text: str, *, plain: bool = False) -> str:
    """User text made inert.

    Control characters and line breaks become spaces, invisible and bidirectional-override
    characters are dropped, a word joiner (U+2060) follows every ``@`` and ``#`` and breaks
    ``GH-1``, ``https://`` and ``www.`` so that nothing pings, references or closes anything.

    For Markdown (the default), HTML and entities are neutralised (``<`` becomes ``&lt;``, so no
    ``<!--`` survives), the characters of inline Markdown are backslash-escaped, and so is what
    would start a list or a heading underline at the beginning of the text. With ``plain=True``
    (issue and check-run titles, which GitHub shows as plain text) only the first part applies,
    so the text stays readable.
    """
    text = _STRIP.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = _GH_REF.sub(rf"\1{WORD_JOINER}\2", text)
    text = _URL.sub(rf"\1:{WORD_JOINER}\2", text)
    text = _WWW.sub(rf"\1{WORD_JOINER}\2", text)
    out: list[str] = []
    for char in text:
        if plain:
            out.append(char)
        elif char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char in _MARKDOWN:
            out.append("\\" + char)
        else:
            out.append(char)
        if char in "@#":
            out.append(WORD_JOINER)
    result = "".join(out)
    if plain:
        return result.replace("<!--", "<!-" + WORD_JOINER + "-")
    return _LINE_START.sub(_escape_line_start, result, count=1)


def _escape_line_start(match: re.Match[str]) -> str:
    if match.group(2):
        return f"{match.group(1)}\\{match.group(2)}"
    return f"{match.group(1)}{match.group(3)}\\{match.group(4)}"


def login(name: str) -> str:
    """A login (or ``org/team``) as a code span, ``@`` included: shown, never pinging."""
    cleaned = _LOGIN_CHARS.sub("", name) or "unknown"
    return f"`@{cleaned}`"


def _logins(names: Iterable[str]) -> str:
    return ", ".join(login(name) for name in names)


def _short(sha: str | None) -> str:
    if not sha:
        return "(none)"
    if _SHA.fullmatch(sha):
        return sha[:7].lower()
    return escape(sha[:12], plain=True)


def _full_sha(sha: str | None) -> str:
    if sha and _SHA.fullmatch(sha):
        return f"`{sha.lower()}`"
    return escape(sha or "(none)")


def _link(label: str, url: str | None) -> str:
    """``[label](url)`` for a plain https URL; just the label otherwise. ``label`` is Markdown."""
    if url and _HTTPS.fullmatch(url):
        return f"[{label}]({url})"
    return label


def _clip(text: str, limit: int, note: str = "\n\n… (truncated)") -> str:
    """``text`` cut to ``limit`` characters, ending with ``note`` where it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(note)] + note


def _clip_bytes(text: str, limit: int, note: str = "\n\n… (truncated)") -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (never inside a character), ending with ``note``
    where it was cut."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    keep = data[: max(0, limit - utf8_size(note))]
    return keep.decode("utf-8", "ignore") + note


def _more(items: Sequence[str], limit: int) -> list[str]:
    """``items`` cut to ``limit`` entries, with an "and N more" line."""
    if len(items) <= limit:
        return list(items)
    return [*items[:limit], f"and {len(items) - limit} more"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------------------------------------
# Check runs
# ---------------------------------------------------------------------------------------------


def _needs(result: RequirementResult) -> str:
    approvals = _plural(result.needed, "approval")
    if result.requirement.is_base and result.requirement.name == "review":
        return f"needs {approvals}"
    return f"{escape(result.requirement.name, plain=True)} needs {approvals}"


def check_run_title(facts: ChangeFacts, verdict: Verdict) -> str:
    """A short title: "Reviewed", "Unreviewed: needs 1 approval", "Direct push to main", ..."""
    branch = escape(facts.branch, plain=True)
    if verdict.status == "direct-push":
        title = f"Direct push to {branch}"
    elif verdict.status == "force-push":
        if facts.kind == "branch_deletion":
            title = f"Deletion of branch {branch}"
        else:
            title = f"Force push to {branch}"
    else:
        title = STATUS_TEXT[verdict.status]
    unmet = verdict.unmet
    if verdict.signed_off and verdict.status != "reviewed":
        title += ", signed off"
    elif unmet and verdict.status in ("unreviewed", "under-reviewed"):
        title += ": " + _needs(unmet[0])
        if len(unmet) > 1:
            title += f" (+{len(unmet) - 1} more)"
    return _clip(title, MAX_TITLE, "…")


def _change_line(facts: ChangeFacts) -> str:
    branch = escape(facts.branch)
    if facts.kind == "pull_request":
        pr = _link(f"Pull request \\#{WORD_JOINER}{facts.number}", facts.url)
        line = f"{pr} {escape(facts.title)}"
        if facts.author:
            line += f" by {login(facts.author.login)}"
        if facts.merged_by:
            line += f", merged by {login(facts.merged_by.login)}"
        return line + f" into {branch}."
    who = f" by {login(facts.pusher)}" if facts.pusher else ""
    if facts.kind == "push":
        return (
            f"Direct push to {branch}{who}: {_full_sha(facts.before)} → {_full_sha(facts.after)}."
        )
    if facts.kind == "branch_deletion":
        return f"Branch {branch} deleted{who}; it pointed at {_full_sha(facts.before)}."
    compare = _link("compare", facts.compare_url)
    return (
        f"Force push to {branch}{who}: {_full_sha(facts.before)} → {_full_sha(facts.after)}"
        f" ({compare})."
    )


def _requirement_lines(result: RequirementResult) -> list[str]:
    mark = "✅" if result.met else "❌"
    name = escape(result.requirement.name)
    severity = "" if result.met else f" (severity {result.requirement.severity})"
    lines = [f"- {mark} **{name}**{severity}: {escape(result.explanation)}"]
    if result.to_satisfy:
        lines.append(f"  - To satisfy: {escape(result.to_satisfy)}")
    return lines


def _stale_lines(approvals: Sequence[ApprovalAssessment]) -> list[str]:
    lines = []
    for approval in approvals:
        why = staleness(approval)
        if why is not None and not approval.signoff:
            lines.append(f"- {login(approval.reviewer)}'s approval is stale: {escape(why)}")
    return lines


def _summary(
    facts: ChangeFacts, verdict: Verdict, note: str | None, conclusion: str | None = None
) -> str:
    parts: list[str] = []
    status = STATUS_TEXT[verdict.status]
    headline = f"**{status}**: conclusion `{conclusion or verdict.conclusion}`"
    if verdict.severity != "none":
        headline += f", severity `{verdict.severity}`"
    if verdict.signed_off:
        headline += f"; signed off by {_logins(verdict.signed_off_by)}"
    parts.append(headline + ".")
    parts.append(_change_line(facts))

    parts.append("### Requirements")
    lines: list[str] = []
    for result in verdict.requirements:
        lines.extend(_requirement_lines(result))
    parts.append("\n".join(lines))
    if facts.unseen:
        parts.append(_unseen_section(facts))
    if facts.backport is not None:
        parts.append(_backport_section(facts, verdict))

    if verdict.not_counting:
        entries = [
            f"- {login(who)}: {escape(why)}" for who, why in verdict.not_counting[:LIST_LIMIT]
        ]
        if len(verdict.not_counting) > LIST_LIMIT:
            entries.append(f"- and {len(verdict.not_counting) - LIST_LIMIT} more")
        parts.append("### Not counted\n" + "\n".join(entries))

    stale = _stale_lines(verdict.approvals)
    if stale:
        parts.append("### Stale approvals\n" + "\n".join(_more(stale, LIST_LIMIT)))

    if verdict.binary_files:
        binaries = [f"- {escape(path)}" for path in verdict.binary_files]
        parts.append("### Binary files\n" + "\n".join(_more(binaries, BINARY_LIMIT)))

    if verdict.policy_errors:
        errors = [f"- {escape(str(error))}" for error in verdict.policy_errors]
        parts.append(
            "### Policy errors\nThese policy files were ignored; the layers below them applied.\n"
            + "\n".join(_more(errors, LIST_LIMIT))
        )
    if note:
        parts.append(escape(note))
    return _clip_bytes("\n\n".join(parts), MAX_OUTPUT)


def _files_table(facts: ChangeFacts, verdict: Verdict, budget: int) -> str:
    rules_of: dict[str, list[str]] = {}
    for result in verdict.requirements:
        if not result.requirement.is_base:
            for path in result.matched_files:
                rules_of.setdefault(path, []).append(result.requirement.name)
    binary = set(verdict.binary_files)
    lines = ["### Files", "", "| File | Binary | Rules |", "| --- | --- | --- |"]
    used = sum(utf8_size(line) + 1 for line in lines)
    for index, file in enumerate(facts.files):
        path = escape(file.path)
        if file.previous_path:
            path = f"{escape(file.previous_path)} → {path}"
        rules = ", ".join(escape(name) for name in rules_of.get(file.path, [])) or "—"
        row = f"| {path} | {'yes' if file.path in binary else ''} | {rules} |"
        rest = len(facts.files) - index
        size = utf8_size(row) + 1
        if used + size > budget - 40:
            lines.append(f"\nand {rest} more {'file' if rest == 1 else 'files'}")
            break
        lines.append(row)
        used += size
    return "\n".join(lines)


def check_run_output(
    facts: ChangeFacts,
    verdict: Verdict,
    policy_source_note: str | None = None,
    *,
    record: Mapping[str, Any] | None = None,
    conclusion: str | None = None,
) -> tuple[str, str, str]:
    """(title, summary, text) of the check run.

    The summary is the human report, ending with ``policy_source_note`` when given. The text
    starts with the hidden machine record (read back by :func:`parse_record`), followed by a table
    of files and the rules they matched. The record is ``snapshot(facts, verdict)`` unless the
    caller passes its own ``record`` (a snapshot with keys added, such as the audit issue and the
    sign-off notes). ``conclusion`` is the one the check run will carry where it is not the
    verdict's own (the pre-merge check's ``inform`` and ``enforce`` modes). File lists in the
    record are shortened when it would not fit. Summary and text each stay within GitHub's
    65,535 bytes of UTF-8 (``MAX_OUTPUT``), whatever the file names and titles are written in.
    """
    title = check_run_title(facts, verdict)
    summary = _summary(facts, verdict, policy_source_note, conclusion)
    data = dict(record) if record is not None else snapshot(facts, verdict)
    marker = encode_record(fit_record(data))
    text = marker
    if facts.files:
        text += "\n\n" + _files_table(facts, verdict, MAX_OUTPUT - utf8_size(marker) - 2)
    return title, summary, text


# ---------------------------------------------------------------------------------------------
# Audit issues
# ---------------------------------------------------------------------------------------------


def _audit_title(facts: ChangeFacts, verdict: Verdict, *, plain: bool) -> str:
    def esc(text: str) -> str:
        return escape(text, plain=plain)

    branch = esc(facts.branch)
    if facts.kind == "pull_request":
        prefix = f"{STATUS_TEXT[verdict.status]} change to {branch}: #{facts.number} "
        if not plain:
            prefix = prefix.replace("#", "\\#" + WORD_JOINER)  # the table links the change
        title = esc(facts.title)
        if plain and len(prefix) + len(title) > MAX_TITLE:
            title = title[: max(0, MAX_TITLE - len(prefix) - 1)] + "…"
        return (prefix + title).strip()
    who = esc(facts.pusher) if facts.pusher else "unknown"
    if facts.kind == "push":
        return f"Direct push to {branch}: {_short(facts.after or facts.head_sha)} by {who}"
    if facts.kind == "branch_deletion":
        return f"Deletion of branch {branch}: {_short(facts.before)} by {who}"
    return f"Force push to {branch}: {_short(facts.before)}..{_short(facts.after)}"


def audit_issue_title(facts: ChangeFacts, verdict: Verdict) -> str:
    """ "Unreviewed change to main: #123 <title>", "Direct push to main: <sha> by <login>", ...

    At most 256 characters (GitHub's limit); user text is escaped for plain text.
    """
    return _clip(_audit_title(facts, verdict, plain=True), MAX_TITLE, "…")


def _approval_line(approval: ApprovalAssessment, counted_for: Sequence[str]) -> str:
    if approval.signoff:
        what = f"- {login(approval.reviewer)} signed off"
    else:
        what = f"- {login(approval.reviewer)} approved {_full_sha(approval.commit_sha)}"
        why = staleness(approval)
        what += f" (stale: {escape(why)})" if why else " (fresh)"
    if approval.excluded_because:
        what += f"; does not count: {escape(approval.excluded_because)}"
    elif counted_for:
        what += "; counted for " + ", ".join(escape(name) for name in counted_for)
    else:
        what += "; counted for no requirement"
    return what


def audit_issue(facts: ChangeFacts, verdict: Verdict) -> tuple[str, str]:
    """(title, body) of the audit issue for a change that did not meet the policy."""
    title = audit_issue_title(facts, verdict)
    parts = [audit_marker(facts.repository, facts.key)]
    parts.append(f"## {_clip(_audit_title(facts, verdict, plain=False), 4000, '…')}")
    parts.append(_change_line(facts))

    rows = ["| | |", "| --- | --- |"]
    repository = (
        facts.repository if _REPOSITORY.fullmatch(facts.repository) else escape(facts.repository)
    )
    rows.append(f"| Repository | {repository} |")
    if facts.kind == "pull_request":
        if _REPOSITORY.fullmatch(facts.repository) and facts.number is not None:
            rows.append(f"| Pull request | {_link(f'{repository}#{facts.number}', facts.url)} |")
        rows.append(f"| Author | {login(facts.author.login) if facts.author else '—'} |")
        rows.append(f"| Merged by | {login(facts.merged_by.login) if facts.merged_by else '—'} |")
        rows.append(f"| Merge commit | {_full_sha(facts.merge_commit_sha)} |")
    else:
        rows.append(f"| Pushed by | {login(facts.pusher) if facts.pusher else '—'} |")
        rows.append(f"| Before | {_full_sha(facts.before)} |")
        rows.append(f"| After | {_full_sha(facts.after)} |")
        if facts.kind in ("force_push", "branch_deletion"):
            rows.append(f"| Compare | {_link('compare', facts.compare_url)} |")
    rows.append(
        f"| Status | {STATUS_TEXT[verdict.status]} (conclusion `{verdict.conclusion}`,"
        f" severity `{verdict.severity}`) |"
    )
    parts.append("\n".join(rows))

    counted: dict[str, list[str]] = {}
    for result in verdict.requirements:
        for who in result.counted:
            counted.setdefault(who.casefold(), []).append(result.requirement.name)
    approvals = [
        _approval_line(a, counted.get(a.reviewer.casefold(), [])) for a in verdict.approvals
    ]
    mergers = [
        f"- implicit review by the merger {login(r.implicit_merger)}"
        f" for {escape(r.requirement.name)}"
        for r in verdict.requirements
        if r.implicit_merger
    ]
    parts.append("### Reviews\n" + ("\n".join(_more(approvals + mergers, LIST_LIMIT)) or "None."))

    rule_lines = [
        f"- **{escape(r.requirement.name)}**: "
        + ", ".join(escape(p) for p in _more(r.matched_files, 20))
        for r in verdict.requirements
        if not r.requirement.is_base and r.matched_files
    ]
    if rule_lines:
        parts.append("### Files per rule\n" + "\n".join(rule_lines))
    if verdict.binary_files:
        binaries = [f"- {escape(path)}" for path in verdict.binary_files]
        parts.append("### Binary files\n" + "\n".join(_more(binaries, BINARY_LIMIT)))

    if facts.unseen:
        parts.append(_unseen_section(facts))
    if facts.backport is not None:
        parts.append(_backport_section(facts, verdict))
    unmet = [line for r in verdict.unmet for line in _requirement_lines(r)]
    if unmet:
        parts.append("### Why this change needs attention\n" + "\n".join(unmet))
    if verdict.not_counting:
        entries = [f"- {login(who)}: {escape(why)}" for who, why in verdict.not_counting]
        parts.append("### Not counted\n" + "\n".join(_more(entries, LIST_LIMIT)))

    notify = [who if NOTIFY_PATTERN.fullmatch(who) else escape(who) for who in verdict.notify]
    if notify:
        parts.append("cc " + " ".join(notify))

    parts.append(_signoff_help(facts, verdict))
    if verdict.policy_errors:
        errors = [f"- {escape(str(error))}" for error in verdict.policy_errors]
        parts.append("### Policy errors\n" + "\n".join(_more(errors, LIST_LIMIT)))
    return title, _clip("\n\n".join(parts), MAX_OUTPUT)


def _backport_section(facts: ChangeFacts, verdict: Verdict) -> str:
    """Whose backport the change is, and how it differs from them: only the lines that differ
    (a diff of the diffs), so that a reviewer reads only what the backporter changed."""
    backport = facts.backport
    assert backport is not None
    if backport.refused is not None or not backport.originals:
        why = escape(backport.refused or "no original could be confirmed")
        return f"### Backport\nNot treated as a backport: {why}. It is judged as any change."
    originals = ", ".join(escape(f"#{o.number}") for o in backport.originals)
    if backport.clean:
        reviewers = list(verdict.backport_reviewers) or sorted(
            {r for o in backport.originals for r in o.reviewers}
        )
        by = f", reviewed by {_logins(reviewers)}" if reviewers else ""
        late = [o for o in backport.originals if not o.in_window]
        note = (
            " Merged too long ago for its review to pass on (`backports.window_days`)."
            if late
            else ""
        )
        return f"### Backport\nClean backport of {originals}{by}.{note}"
    lines = list(backport.differences)
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", "\n".join(lines))), default=0))
    why = (
        "The differences are all in files the original changed too: most likely conflicts "
        "resolved by hand, which need their own review."
        if backport.conflict_resolution
        else "It differs from the original, so it needs its own review."
    )
    return (
        f"### Backport\nBackport of {originals} with changes. {why}\n\n"
        f"{escape(DIFF_LEGEND)}\n\n{fence}diff\n" + "\n".join(lines) + f"\n{fence}"
    )


def _unseen_section(facts: ChangeFacts) -> str:
    """What GitHub could not show of the change: it fails closed (``incomplete-view``)."""
    gaps = [f"- {escape(gap)}" for gap in facts.unseen]
    return (
        "### Not seen\nGitHub could not show all of this change, so nobody can have reviewed "
        "it in full; it needs a sign-off by someone who checked it another way:\n"
        + "\n".join(_more(gaps, LIST_LIMIT))
    )


def _signoff_help(facts: ChangeFacts, verdict: Verdict) -> str:
    needs = []
    for result in verdict.unmet:
        line = f"- {escape(result.requirement.name)}: {_plural(result.missing, 'more person')}"
        line = line.replace("more persons", "more people")
        if result.requirement.teams:
            org = facts.repository.split("/", 1)[0]
            teams = (login(f"{org}/{slug}") for slug in result.requirement.teams)
            line += " from " + " or ".join(teams)
        needs.append(line)
    text = (
        "### Signing off\n"
        "To sign this change off after the fact, comment `/audit approve <note>` on this issue."
        " A sign-off counts when it comes from someone with write permission who is neither the"
        " author, the pusher nor a contributor (author, committer or co-author of a commit) of"
        " the change. Where a requirement asks for N approvals, N different people must have"
        " approved or signed off; each person counts once."
    )
    if needs:
        most = max(result.missing for result in verdict.unmet)
        text += (
            "\n\nStill needed (one person's sign-off counts towards every requirement it can"
            f" meet, so {_plural(most, 'more sign-off')} may be enough):\n" + "\n".join(needs)
        )
    return text
