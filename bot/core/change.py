"""The identity of a change: what every entry point names, and what work is queued by.

A change is a pull request (``owner/repo#N``) or a push (``owner/repo``, a branch, the SHAs before
and after, and whether it was forced or deleted the branch). Everything about one change (its
merge audit, its pre-merge checks, every sign-off, from the pull request or from its audit issue)
runs under its :attr:`ChangeId.queue_key`, one job at a time; two changes never wait for each
other. The identity is made and parsed here only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

ZERO_SHA = "0" * 40

_SHA = "[0-9a-f]{40}"
_PUSH_KEY = re.compile(rf"push-(?P<branch>.+)-(?P<after>{_SHA})")
_FORCE_KEY = re.compile(rf"force-push-(?P<branch>.+)-(?P<before>{_SHA})-(?P<after>{_SHA})")
_DELETION_KEY = re.compile(rf"deletion-(?P<branch>.+)-(?P<before>{_SHA})")
_PULL_KEY = re.compile(r"pr-(?P<number>[1-9][0-9]*)")


@dataclass(frozen=True)
class ChangeId:
    """A pull request (``number``) or a push (``branch``, ``before``, ``after``)."""

    repo: str
    kind: Literal["pull_request", "push"]
    number: int | None = None
    branch: str | None = None
    before: str = ZERO_SHA
    after: str = ZERO_SHA
    forced: bool = False
    deleted: bool = False

    @classmethod
    def pull_request(cls, repo: str, number: int) -> ChangeId:
        return cls(repo, "pull_request", number=number)

    @classmethod
    def push(
        cls,
        repo: str,
        branch: str,
        before: str,
        after: str,
        *,
        forced: bool = False,
        deleted: bool = False,
    ) -> ChangeId:
        return cls(
            repo,
            "push",
            branch=branch.removeprefix("refs/heads/"),
            before=before or ZERO_SHA,
            after=after or ZERO_SHA,
            forced=forced,
            deleted=deleted,
        )

    @classmethod
    def of_push_payload(cls, payload: dict[str, Any]) -> ChangeId:
        """The push a ``push`` delivery describes."""
        return cls.push(
            str(payload["repository"]["full_name"]),
            str(payload.get("ref", "")),
            str(payload.get("before") or ZERO_SHA),
            str(payload.get("after") or ZERO_SHA),
            forced=bool(payload.get("forced")),
            deleted=bool(payload.get("deleted")),
        )

    @property
    def head(self) -> str:
        """The commit a push's record is written on: the pushed head, or the deleted one."""
        return self.before if self.deleted else self.after

    @property
    def key(self) -> str:
        """The change's name within its repository, as audit issue markers and records write it:
        ``pr-<number>``, ``push-<branch>-<after>``, ``force-push-<branch>-<before>-<after>`` or
        ``deletion-<branch>-<before>``. A rewrite names where it started, so that it is never
        mistaken for an earlier change that ended on the same commit."""
        if self.kind == "pull_request":
            return f"pr-{self.number}"
        if self.deleted:
            return f"deletion-{self.branch}-{self.before}"
        if self.forced:
            return f"force-push-{self.branch}-{self.before}-{self.after}"
        return f"push-{self.branch}-{self.after}"

    @property
    def queue_key(self) -> str:
        """The key work about this change is queued under.

        >>> ChangeId.pull_request("octo/widgets", 7).queue_key
        'octo/widgets#7'
        >>> ChangeId.push("octo/widgets", "refs/heads/main", "a" * 40, "b" * 40).queue_key
        'octo/widgets@main:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

        A push is keyed by its branch and head, the two things its audit issue's marker names, so
        that a sign-off on that issue waits for the push's own audit.
        """
        if self.kind == "pull_request":
            return f"{self.repo}#{self.number}"
        return f"{self.repo}@{self.branch}:{self.head}"


def parse_key(repo: str, key: str) -> ChangeId | None:
    """The change a marker's ``key`` names, as far as the key says (a push's key does not name
    where it started); None for a key countersign never writes.

    >>> parse_key("octo/widgets", "pr-12")
    ChangeId(repo='octo/widgets', kind='pull_request', number=12, branch=None, before='0000000000000000000000000000000000000000', after='0000000000000000000000000000000000000000', forced=False, deleted=False)
    >>> parse_key("octo/widgets", "pr-0x1") is None
    True
    """
    pull = _PULL_KEY.fullmatch(key)
    if pull is not None:
        return ChangeId.pull_request(repo, int(pull["number"]))
    force = _FORCE_KEY.fullmatch(key)
    if force is not None:
        return ChangeId.push(repo, force["branch"], force["before"], force["after"], forced=True)
    deletion = _DELETION_KEY.fullmatch(key)
    if deletion is not None:
        return ChangeId.push(repo, deletion["branch"], deletion["before"], ZERO_SHA, deleted=True)
    push = _PUSH_KEY.fullmatch(key)
    if push is not None:
        return ChangeId.push(repo, push["branch"], ZERO_SHA, push["after"])
    return None


_MERGE_SUBJECT = re.compile(r"Merge pull request #(?P<number>[1-9][0-9]*) from \S")
_SQUASH_SUBJECT = re.compile(r".*\(#(?P<number>[1-9][0-9]*)\)\s*")


def merged_pull_request_number(message: str | None) -> int | None:
    """The pull request a merge or squash commit's message names, as GitHub writes them
    (``Merge pull request #12 from ...``, ``Title (#12)``); None for any other message.

    Only a hint, to queue a merge's push with its pull request and to know which one to read:
    whether the push really is that merge is asked of GitHub.

    >>> merged_pull_request_number("Merge pull request #12 from octo/fix\\n\\nFix")
    12
    >>> merged_pull_request_number("Fix the parser (#7)\\n\\n* one")
    7
    >>> merged_pull_request_number("Fix #7") is None
    True
    """
    subject = (message or "").split("\n", 1)[0]
    found = _MERGE_SUBJECT.match(subject) or _SQUASH_SUBJECT.fullmatch(subject)
    return int(found["number"]) if found else None
