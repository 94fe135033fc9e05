"""The record: the one thing countersign stores, and the hidden markers that find it again.

A change's record is what was true when it landed (:func:`snapshot` of its facts and verdict),
with what is not derived from GitHub merged in from the record before it (the sign-offs and
their notes, the audit issue: :func:`record_of`). It travels as a hidden HTML comment at the
start of the check run's text (:func:`encode_record`, :func:`parse_record`), shortened to fit
GitHub's limits but never dropped (:func:`fit_record`). Audit issues carry a marker naming their
change (:func:`audit_marker`). Markers count only in text this App wrote: callers check that.
Pure: nothing here performs I/O.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, unquote

import yaml

from bot.core.facts import ChangeFacts
from bot.core.people import contributors, fold
from bot.core.policy import (
    HISTORY_REWRITE,
    INCOMPLETE_VIEW,
    Policy,
    PolicyError,
    PolicySource,
    load_policy,
)

if TYPE_CHECKING:  # the record is built from a verdict; reading one needs no judge
    from bot.core.judge import Verdict

SNAPSHOT_SCHEMA: Final = "countersign/record"
SNAPSHOT_VERSION: Final = 1
RECORD_PREFIX: Final = "<!-- countersign:record v1 "
AUDIT_PREFIX: Final = "<!-- countersign:audit "
MARKER_SUFFIX: Final = " -->"
RECORD_BUDGET: Final = 40000
"""How many bytes of the check run's text the embedded record may take (it is ASCII)."""


def utf8_size(text: str) -> int:
    """How many bytes ``text`` takes in UTF-8: what GitHub's check-run limits count."""
    return len(text.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------------------------------------
# Hidden markers
# ---------------------------------------------------------------------------------------------


def marker_value(value: str) -> str:
    # quote() leaves only letters, digits, "_.-~" and "/": no space, "<", ">" or "!" can end the
    # comment, and "--" is encoded as well.
    return quote(value, safe="/").replace("--", "-%2D")


def audit_marker(repository: str, change_key: str) -> str:
    """The hidden marker that identifies an audit issue: one issue per change."""
    return (
        f"{AUDIT_PREFIX}repo={marker_value(repository)} "
        f"change={marker_value(change_key)}{MARKER_SUFFIX}"
    )


def marker_fields(body: str | None, prefix: str) -> dict[str, str] | None:
    """The ``key=value`` fields of the first hidden marker starting with ``prefix`` in ``body``
    (values unquoted), or None where there is none.

    >>> marker_fields("x <!-- countersign:digest repo=o/r week=2026-W48 --> y", "<!-- countersign:digest ")
    {'repo': 'o/r', 'week': '2026-W48'}
    """
    if not body:
        return None
    start = body.find(prefix)
    if start < 0:
        return None
    end = body.find(MARKER_SUFFIX, start)
    if end < 0:
        return None
    return {
        key: unquote(value)
        for key, _, value in (
            part.partition("=") for part in body[start + len(prefix) : end].split()
        )
        if value
    }


_AUDIT_MARKER = re.compile(r"<!-- countersign:audit repo=(\S+) change=(\S+) -->")


def find_audit_marker(body: str | None) -> tuple[str, str] | None:
    """The (repository, change key) of the audit marker in an issue body, if there is one."""
    if not body:
        return None
    match = _AUDIT_MARKER.search(body)
    if match is None:
        return None
    return unquote(match.group(1)), unquote(match.group(2))


_RECORD_ESCAPES: Final = str.maketrans(
    {"@": "\\u0040", "#": "\\u0023", "<": "\\u003c", ">": "\\u003e"}
)


def encode_record(record: Mapping[str, Any]) -> str:
    """The hidden record marker: JSON, ASCII only, with ``@``, ``#``, ``<`` and ``>`` written
    ``\\u0040``, ``\\u0023``, ``\\u003c``, ``\\u003e``, and every ``--`` ``\\u002d\\u002d``.

    JSON has these characters only inside strings, where the escapes are valid, so the JSON
    reads back unchanged; and the marker, wherever it is copied, can never be closed early
    (``-->``), open another comment or tag, mention anyone (``@login``) or reference an issue
    (``#123``). :func:`parse_record` reads records written before these escapes as well.
    """
    payload = json.dumps(record, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    payload = payload.translate(_RECORD_ESCAPES).replace("--", "\\u002d\\u002d")
    return f"{RECORD_PREFIX}{payload}{MARKER_SUFFIX}"


def parse_record(text: str | None) -> dict[str, Any] | None:
    """The record embedded in a check run's text, or None when there is none (or it is broken)."""
    if not text:
        return None
    start = text.find(RECORD_PREFIX)
    if start < 0:
        return None
    start += len(RECORD_PREFIX)
    end = text.find(MARKER_SUFFIX, start)
    if end < 0:
        return None
    try:
        record = json.loads(text[start:end])
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _record_size(record: Mapping[str, Any]) -> int:
    return utf8_size(encode_record(record))


_RECORD_KEYS: Final = (
    "schema",
    "version",
    "repository",
    "kind",
    "branch",
    "number",
    "head_sha",
    "merge_commit_sha",
    "subject_sha",
    "merged",
    "merged_at",
    "author",
    "merged_by",
    "pusher",
    "before",
    "after",
    "status",
    "conclusion",
    "severity",
    "signed_off",
    "audit_issue",
)
"""What a record keeps when nothing else fits: the change, the verdict and the audit issue."""


def _shorten(value: Any, items: int, chars: int) -> Any:
    """``value`` with every list cut to ``items`` entries and every string to ``chars``."""
    if isinstance(value, str):
        return value if len(value) <= chars else value[:chars] + "…"
    if isinstance(value, list):
        return [_shorten(item, items, chars) for item in value[:items]]
    if isinstance(value, dict):
        return {key: _shorten(item, items, chars) for key, item in value.items()}
    return value


def _shorten_record(record: Mapping[str, Any], items: int, chars: int) -> dict[str, Any]:
    shortened = {key: _shorten(value, items, chars) for key, value in record.items()}
    signoffs = record.get("signoffs")
    if isinstance(signoffs, list):  # who signed off is not derived from GitHub: keep them all
        shortened["signoffs"] = [_shorten(entry, items, chars) for entry in signoffs]
    shortened["truncated"] = True
    return shortened


def fit_record(record: dict[str, Any], budget: int = RECORD_BUDGET) -> dict[str, Any]:
    """``record`` shortened until its marker fits in ``budget`` bytes.

    First its file lists are shortened (``"truncated": true``, with ``"files_total"``, the full
    number of files); if that is not enough, every other list and long text (many approvals,
    policy errors, notes); at last only the change, the verdict, the audit issue and who signed
    off are kept. The record is never dropped.
    """
    if _record_size(record) <= budget:
        return record
    files = list(record.get("files", []))
    keep = len(files)
    while True:
        keep //= 2
        trimmed = dict(record)
        trimmed["truncated"] = True
        trimmed["files_total"] = len(files)
        trimmed["files"] = files[:keep]
        requirements = []
        for requirement in record.get("requirements", []):
            requirement = dict(requirement)
            matched = list(requirement.get("matched_files", []))
            requirement["matched_files_total"] = len(matched)
            requirement["matched_files"] = matched[:keep]
            requirements.append(requirement)
        trimmed["requirements"] = requirements
        trimmed["binary_files"] = list(record.get("binary_files", []))[:keep]
        trimmed["binary_files_total"] = len(record.get("binary_files", []))
        if _record_size(trimmed) <= budget:
            return trimmed
        if keep == 0:
            break
    for items, chars in ((20, 1000), (5, 200), (0, 100)):
        shortened = _shorten_record(trimmed, items, chars)
        if _record_size(shortened) <= budget:
            return shortened
    essential: dict[str, Any] = {
        key: _shorten(record[key], 0, 100) for key in _RECORD_KEYS if key in record
    }
    essential["truncated"] = True
    signoffs = [
        {"login": _shorten(entry.get("login"), 0, 100)}
        for entry in record.get("signoffs") or []
        if isinstance(entry, dict)
    ]
    if _record_size({**essential, "signoffs": signoffs}) <= budget:
        essential["signoffs"] = signoffs
    return essential


def snapshot(facts: ChangeFacts, verdict: Verdict) -> dict[str, Any]:
    """The machine-readable record of what was true when the change landed (schema version 1).

    Only JSON types: it goes into the check run and is read back by :func:`bot.render.parse_record`.
    """
    rules_of: dict[str, list[str]] = {}
    for result in verdict.requirements:
        if result.requirement.is_base:
            continue
        for path in result.matched_files:
            rules_of.setdefault(path, []).append(result.requirement.name)
    binary = set(verdict.binary_files)

    def counted_for(login: str) -> list[str]:
        key = fold(login)
        return [
            r.requirement.name
            for r in verdict.requirements
            if key in {fold(c) for c in r.counted}
            or (r.implicit_merger is not None and fold(r.implicit_merger) == key)
        ]

    return {
        "schema": SNAPSHOT_SCHEMA,
        "version": SNAPSHOT_VERSION,
        "repository": facts.repository,
        "kind": facts.kind,
        "branch": facts.branch,
        "number": facts.number,
        "title": facts.title,
        "url": facts.url,
        "head_sha": facts.head_sha,
        "merge_commit_sha": facts.merge_commit_sha,
        "subject_sha": facts.subject_sha,
        "merged": facts.merged or facts.merged_by is not None,
        "merged_at": facts.merged_at,
        "author": facts.author.login if facts.author else None,
        "merged_by": facts.merged_by.login if facts.merged_by else None,
        "pusher": facts.pusher,
        "before": facts.before,
        "after": facts.after,
        "compare_url": facts.compare_url,
        "contributors": sorted(contributors(facts), key=fold),
        "commits": len(facts.commits),
        "removed_commits": len(facts.removed_commits),
        "unseen": list(facts.unseen),
        "backport": backport_record(facts, verdict),
        "approvals": [
            {
                "reviewer": a.reviewer,
                "review_id": a.review_id,
                "commit": a.commit_sha,
                "fresh": not a.stale,
                "stale": a.stale,
                "commits_after": a.commits_after,
                "gone": a.gone,
                "independent": a.independent,
                "excluded_because": a.excluded_because,
                "counted_for": counted_for(a.reviewer),
            }
            for a in verdict.approvals
            if not a.signoff
        ],
        "signoffs": [
            {
                "login": a.reviewer,
                "independent": a.independent,
                "excluded_because": a.excluded_because,
                "counted_for": counted_for(a.reviewer),
            }
            for a in verdict.approvals
            if a.signoff
        ],
        "files": [
            {
                "path": f.path,
                "previous_path": f.previous_path,
                "status": f.status,
                "binary": f.path in binary,
                "rules": rules_of.get(f.path, []),
            }
            for f in facts.files
        ],
        "requirements": [
            {
                "name": r.requirement.name,
                "met": r.met,
                "needed": r.needed,
                "missing": r.missing,
                "counted": list(r.counted),
                "implicit_merger": r.implicit_merger,
                "severity": r.requirement.severity,
                "fresh": r.requirement.fresh,
                "merger_counts": r.requirement.merger_counts,
                "allow_contributors": r.requirement.allow_contributors,
                "teams": list(r.requirement.teams),
                "actions": list(r.requirement.actions),
                "notify": list(r.requirement.notify),
                "scope": "all" if r.requirement.is_base else "matched",
                "matched_files": [] if r.requirement.is_base else list(r.matched_files),
                "explanation": r.explanation,
                "to_satisfy": r.to_satisfy,
            }
            for r in verdict.requirements
        ],
        "status": verdict.status,
        "conclusion": verdict.conclusion,
        "severity": verdict.severity,
        "signed_off": verdict.signed_off,
        "signed_off_by": list(verdict.signed_off_by),
        "not_counting": [{"login": who, "reason": why} for who, why in verdict.not_counting],
        "actions": sorted(verdict.actions),
        "notify": list(verdict.notify),
        "binary_files": list(verdict.binary_files),
        "policy_errors": [str(error) for error in verdict.policy_errors],
    }


def record_of(
    facts: ChangeFacts,
    verdict: Verdict,
    audit_repo: str | None,
    issue: int | None,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """The machine-readable record: the verdict's snapshot, the audit issue, and the sign-offs
    carried over from the previous record (they are the only thing not derived from GitHub)."""
    record = snapshot(facts, verdict)
    if issue is not None and audit_repo is not None:
        record["audit_issue"] = {"repository": audit_repo, "number": issue}
    elif previous and isinstance(previous.get("audit_issue"), dict):
        record["audit_issue"] = previous["audit_issue"]
    notes = {
        str(entry.get("login")): entry
        for entry in (previous or {}).get("signoffs") or []
        if isinstance(entry, dict)
    }
    record["signoffs"] = [
        {
            **entry,
            **{k: v for k, v in notes.get(str(entry["login"]), {}).items() if k in ("at", "note")},
        }
        for entry in record.get("signoffs") or []
    ]
    return record


def is_landed(record: Mapping[str, Any] | None) -> bool:
    """Whether ``record`` is the record of a change as it landed (not a pre-merge check's): what
    was true then, which later runs may add sign-offs to but never judge again."""
    record = record or {}
    return record.get("kind") in ("push", "force_push", "branch_deletion") or (
        record.get("kind") == "pull_request" and record.get("merged") is True
    )


def backport_record(facts: ChangeFacts, verdict: Verdict) -> dict[str, Any] | None:
    backport = facts.backport
    if backport is None:
        return None
    return {
        "of": [original.number for original in backport.originals],
        "found_by": backport.found_by,
        "refused": backport.refused,
        "clean": backport.clean,
        "conflict_resolution": backport.conflict_resolution,
        "reviewers": list(verdict.backport_reviewers)
        or sorted({r for o in backport.originals for r in o.reviewers}),
        "inherited": [
            r.requirement.name
            for r in verdict.requirements
            if r.explanation.startswith("met: inherited from")
        ],
        "differences": list(backport.differences[:200]),
    }


_SYNTHETIC: Final = frozenset({HISTORY_REWRITE, INCOMPLETE_VIEW})
_RECORDED_ERROR = re.compile(r"(?P<source>.*?):(?:(?P<line>\d+):)? (?P<message>.*)", re.S)


def _literal(path: str) -> str:
    """A gitignore-style pattern that matches exactly ``path`` from the repository's root."""
    return "/" + re.sub(r"([\\*?\[\]])", r"\\\1", path)


def recorded_policy(record: Mapping[str, Any] | None, current: Policy) -> Policy:
    """The policy a landed change was judged by, as its record holds it: each requirement as it
    stood, each rule matching exactly the files it matched then. A sign-off is judged by it, so a
    later policy (today's organisation layer, or today's policy for a change to a branch other
    than the default) never re-judges the change. ``current`` supplies what a record does not
    hold (where audit issues go); it is returned as it is for a record that cannot be read back
    (written before requirements kept their actions, or shortened to fit).
    """
    record = record or {}
    requirements = record.get("requirements")
    if not isinstance(requirements, list) or record.get("truncated"):
        return current
    review: dict[str, Any] | None = None
    rules: list[dict[str, Any]] = []
    for entry in requirements:
        if not isinstance(entry, dict) or entry.get("name") in _SYNTHETIC:
            continue
        if "actions" not in entry:
            return current
        keys = {
            "approvals": entry.get("needed"),
            "merger_counts": entry.get("merger_counts"),
            "fresh": entry.get("fresh"),
            "allow_contributors": entry.get("allow_contributors"),
            "teams": entry.get("teams") or [],
            "severity": entry.get("severity"),
            "actions": entry.get("actions"),
            "notify": entry.get("notify") or [],
        }
        if entry.get("scope") == "all":
            review = keys
        else:
            paths = [_literal(str(path)) for path in entry.get("matched_files") or []]
            rules.append({"name": entry.get("name"), "paths": paths, **keys})
    if review is None:
        return current
    document: dict[str, Any] = {"review": review, "rules": rules, "pre_merge": current.pre_merge}
    audit: dict[str, Any] = {"labels": list(current.audit_labels)}
    if current.audit_repository:
        audit["repository"] = current.audit_repository
    document["audit"] = audit
    source = f"the record of {record.get('repository')} {record.get('kind')}"
    recorded = load_policy([PolicySource(source, yaml.safe_dump(document, sort_keys=False))])
    if recorded.errors:
        return current
    errors = []
    for text in record.get("policy_errors") or []:
        found = _RECORDED_ERROR.fullmatch(str(text))
        if found:
            line = found["line"]
            errors.append(
                PolicyError(found["source"], int(line) if line else None, found["message"])
            )
    return dataclasses.replace(
        recorded,
        branches=current.branches,
        backports=current.backports,
        errors=tuple(errors),
        sources=(source,),
    )
