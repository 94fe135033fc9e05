"""People: who made a change, and how logins compare. Pure.

A contributor is anyone who authored, committed or co-authored a commit of the change; GitHub
itself (the ``web-flow`` committer of merges it made) is none, and neither is the person who
pressed "Update branch" for a merge GitHub made that brings only the base branch's changes.
"""

from __future__ import annotations

import re
from typing import Final

from bot.core.facts import ChangeFacts, CommitFacts

GITHUB_COMMITTER: Final = "web-flow"
"""The login GitHub commits as (web edits, "Update branch", merges): never a contributor."""


_NOREPLY = re.compile(
    r"(?:\d+\+)?(?P<login>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))@users\.noreply\.github\.com",
    re.IGNORECASE,
)


def fold(login: str) -> str:
    """The form logins are compared in: GitHub logins are case-insensitive."""
    return login.casefold()


def login_from_email(email: str) -> str | None:
    """The login a GitHub no-reply address names (``<id>+<login>@users.noreply.github.com``)."""
    address = email.strip()
    if "<" in address and address.endswith(">"):
        address = address[address.rindex("<") + 1 : -1].strip()
    match = _NOREPLY.fullmatch(address)
    return match.group("login") if match else None


def is_update_branch_merge(commit: CommitFacts, base: str) -> bool:
    """Whether ``commit`` is a merge of the base branch made by GitHub ("Update branch").

    Such a merge brings in what is already on the base branch: it changes nothing in the pull
    request's diff, and the person who pressed the button does not become a contributor by it.
    A merge GitHub made that brings more than the base's changes (a conflict resolved with new
    code in GitHub's editor) is not one.
    """
    if len(commit.parents) < 2 or not commit.committed_by_github or not commit.brings_only_the_base:
        return False
    subject = commit.message.split("\n", 1)[0]
    if subject.startswith(f"Merge branch '{base}'"):
        return True
    remote = re.match(r"Merge remote-tracking branch '(?:[^']*/)?(?P<branch>[^'/]*)'", subject)
    return remote is not None and remote.group("branch") == base


def contributors(facts: ChangeFacts) -> frozenset[str]:
    """The logins of everyone who authored, committed or co-authored a commit of the change.

    "Update branch" merges of the base branch are skipped, and so is GitHub as committer.
    """
    found: dict[str, str] = {}

    def add(login: str | None) -> None:
        if login and fold(login) != GITHUB_COMMITTER:
            found.setdefault(fold(login), login)

    for commit in (*facts.commits, *facts.removed_commits):
        if is_update_branch_merge(commit, facts.branch):
            continue
        add(commit.author)
        if not commit.committed_by_github:
            add(commit.committer)
        for co_author in commit.co_authors:
            add(co_author)
        for email in commit.co_author_emails:
            add(login_from_email(email))
    return frozenset(found.values())
