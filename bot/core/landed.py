"""A change that landed, as a row of a report: the App's record of it where it wrote one, else a
fresh judgement. Shared by the history audit, the release audit and the digest. Pure.

:func:`from_record` reads a record this App wrote (its verdict stands, sign-offs included);
:func:`from_verdict` makes the row from facts and a fresh verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.change import ChangeId
from bot.core.facts import ChangeFacts
from bot.core.judge import Verdict
from bot.core.record import backport_record

ChangeKind = Literal["pull_request", "push", "force_push", "branch_deletion"]


@dataclass(frozen=True)
class BackportNote:
    """What a backport candidate is a backport of, in the shape of the App's record (read from
    it where the record stands, made from the fresh judgement otherwise): ``of`` the numbers
    of its originals (none where ``refused`` says why it is judged as an ordinary change),
    ``clean`` whether it is the same change as they are, ``inherited`` the requirements it met by
    their review and ``reviewers`` who reviewed them."""

    of: tuple[int, ...] = ()
    clean: bool = False
    refused: str | None = None
    inherited: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, entry: Any) -> BackportNote | None:
        """The note a record's ``backport`` entry makes (None where there is none).

        >>> BackportNote.from_record({"of": [12], "clean": True, "inherited": ["review"]}).text
        'clean backport of #12'
        >>> BackportNote.from_record(None) is None
        True
        """
        if not isinstance(entry, Mapping):
            return None
        refused = entry.get("refused")
        return cls(
            of=tuple(
                n for n in entry.get("of") or () if isinstance(n, int) and not isinstance(n, bool)
            ),
            clean=entry.get("clean") is True,
            refused=None if refused is None else str(refused),
            inherited=tuple(str(name) for name in entry.get("inherited") or ()),
            reviewers=tuple(str(login) for login in entry.get("reviewers") or ()),
        )

    @property
    def text(self) -> str:
        """A short note for a table: ``clean backport of #12``, ``backport of #12 with changes``
        or ``not a backport: <why>``.

        >>> BackportNote(of=(12, 13)).text
        'backport of #12, #13 with changes'
        >>> BackportNote(refused="its title names #9, which was never merged").text
        'not a backport: its title names #9, which was never merged'
        """
        if self.refused is not None or not self.of:
            return f"not a backport: {self.refused or 'no original could be confirmed'}"
        originals = ", ".join(f"#{number}" for number in self.of)
        if self.clean:
            return f"clean backport of {originals}"
        return f"backport of {originals} with changes"

    def as_json(self) -> dict[str, Any]:
        return {
            "of": list(self.of),
            "clean": self.clean,
            "refused": self.refused,
            "inherited": list(self.inherited),
            "reviewers": list(self.reviewers),
        }


@dataclass(frozen=True)
class Judged:
    """One change and its verdict: the App's record where it wrote one, else a fresh judgement."""

    key: str
    kind: ChangeKind
    branch: str
    url: str
    landed_at: str
    status: str
    conclusion: str
    severity: str
    recorded: bool
    signed_off: bool = False
    signed_off_by: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    number: int | None = None
    title: str = ""
    author: str | None = None
    merged_by: str | None = None
    pusher: str | None = None
    before: str | None = None
    after: str | None = None
    unseen: tuple[str, ...] = ()
    backport: BackportNote | None = None
    audit_issue: str | None = None
    """The audit issue the record names (``owner/repo#N``), where there is one."""

    @property
    def needs_attention(self) -> bool:
        """Neither reviewed nor signed off."""
        return self.status != "reviewed" and not self.signed_off

    @property
    def verdict(self) -> str:
        """``signed off`` where sign-offs met every requirement, else the status."""
        return "signed-off" if self.signed_off else self.status

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "kind": self.kind, "branch": self.branch}
        if self.kind == "pull_request":
            out.update(number=self.number, title=self.title, author=self.author)
            out["merged_by"] = self.merged_by
        else:
            out.update(before=self.before, after=self.after, pusher=self.pusher)
        out.update(
            url=self.url,
            landed_at=self.landed_at,
            status=self.status,
            conclusion=self.conclusion,
            severity=self.severity,
            signed_off=self.signed_off,
            signed_off_by=list(self.signed_off_by),
            rules=list(self.rules),
            unseen=list(self.unseen),
            backport=self.backport.as_json() if self.backport is not None else None,
            audit_issue=self.audit_issue,
            recorded=self.recorded,
        )
        return out


def _audit_issue(record: Mapping[str, Any]) -> str | None:
    issue = record.get("audit_issue")
    if isinstance(issue, Mapping) and issue.get("repository") and issue.get("number"):
        return f"{issue['repository']}#{issue['number']}"
    return None


def from_verdict(
    facts: ChangeFacts, verdict: Verdict, *, landed_at: str = "", url: str | None = None
) -> Judged:
    """The row of a change judged afresh (nothing recorded it)."""
    common: dict[str, Any] = dict(
        key=facts.key,
        kind=facts.kind,
        branch=facts.branch,
        url=url if url is not None else facts.url,
        status=verdict.status,
        conclusion=verdict.conclusion,
        severity=verdict.severity,
        recorded=False,
        signed_off=verdict.signed_off,
        signed_off_by=verdict.signed_off_by,
        rules=tuple(result.requirement.name for result in verdict.unmet),
        unseen=facts.unseen,
        backport=BackportNote.from_record(backport_record(facts, verdict)),
    )
    if facts.kind == "pull_request":
        return Judged(
            landed_at=str(facts.merged_at or landed_at),
            number=facts.number,
            title=facts.title,
            author=facts.author.login if facts.author else None,
            merged_by=facts.merged_by.login if facts.merged_by else None,
            **common,
        )
    return Judged(
        landed_at=landed_at,
        pusher=facts.pusher,
        before=facts.before,
        after=facts.after,
        **common,
    )


def from_record(
    record: Mapping[str, Any],
    change: ChangeId,
    *,
    url: str,
    landed_at: str = "",
    title: str = "",
    branch: str | None = None,
) -> Judged:
    """The row of a change as this App recorded it: the record stands, sign-offs included.
    ``branch`` is where GitHub says it landed, for a record that does not say."""
    unmet = tuple(
        str(r.get("name"))
        for r in record.get("requirements") or []
        if isinstance(r, dict) and not r.get("met")
    )
    common: dict[str, Any] = dict(
        key=change.key,
        branch=str(record.get("branch") or branch or change.branch or ""),
        url=url or str(record.get("url") or ""),
        landed_at=landed_at,
        status=str(record.get("status")),
        conclusion=str(record.get("conclusion")),
        severity=str(record.get("severity")),
        recorded=True,
        signed_off=bool(record.get("signed_off")),
        signed_off_by=tuple(str(s) for s in record.get("signed_off_by") or []),
        rules=unmet,
        unseen=tuple(str(u) for u in record.get("unseen") or []),
        backport=BackportNote.from_record(record.get("backport")),
        audit_issue=_audit_issue(record),
    )
    if change.kind == "pull_request":
        return Judged(
            kind="pull_request",
            number=change.number,
            title=title or str(record.get("title") or ""),
            author=record.get("author"),
            merged_by=record.get("merged_by"),
            **common,
        )
    kind = record.get("kind")
    return Judged(
        kind=kind if kind in ("push", "force_push", "branch_deletion") else "push",
        pusher=record.get("pusher"),
        before=change.before,
        after=change.after,
        **common,
    )


def needs_attention(changes: Any) -> list[Judged]:
    """The changes neither reviewed nor signed off, in order."""
    return [change for change in changes if change.needs_attention]
