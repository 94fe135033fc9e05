"""Facts about a change, as gathered from GitHub.

These plain, immutable records are the boundary between the I/O layer (``bot.gather``), which fills
them in from GitHub's API, and the pure judging layer (``bot.judge``), which reads nothing else.
Nothing here performs I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.core.change import ZERO_SHA, ChangeId

ChangeKind = Literal["pull_request", "push", "force_push", "branch_deletion"]
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]
FileStatus = Literal["added", "removed", "modified", "renamed", "copied", "changed", "unchanged"]


@dataclass(frozen=True)
class Actor:
    """A GitHub account. ``is_bot`` is true for Bot accounts and logins ending in ``[bot]``."""

    login: str
    is_bot: bool = False

    @classmethod
    def of(cls, login: str, typename: str | None = None) -> Actor:
        return cls(login=login, is_bot=typename == "Bot" or login.lower().endswith("[bot]"))


@dataclass(frozen=True)
class CommitFacts:
    """One commit of a pull request or push.

    ``author`` and ``committer`` are the GitHub logins linked to the git author and committer (None
    when the e-mail address is not linked to an account). ``co_authors`` holds the logins of
    ``Co-authored-by`` trailers that GitHub could resolve, and ``co_author_emails`` every trailer's
    e-mail address (for the ones it could not). ``committed_by_github`` is true only when GitHub
    itself made the commit (web edits, the "Update branch" button, merges): the committer is
    GitHub's ``web-flow`` account *and* GitHub says the commit carries a valid signature made with
    its own key. A committer name or e-mail address is text anyone can write; the signature is not.
    ``brings_only_the_base`` is false for a merge GitHub made that adds lines the base branch's
    own changes do not have: a conflict resolved in GitHub's editor with new code (GitHub signs
    those too), which is then an ordinary commit.
    """

    sha: str
    message: str
    parents: tuple[str, ...] = ()
    author: str | None = None
    committer: str | None = None
    co_authors: tuple[str, ...] = ()
    co_author_emails: tuple[str, ...] = ()
    committed_by_github: bool = False
    committed_at: str | None = None
    brings_only_the_base: bool = True


@dataclass(frozen=True)
class ReviewFacts:
    """A submitted pull-request review, in submission order within ``ChangeFacts.reviews``.

    ``author_can_push`` is GitHub's word (``PullRequestReview.authorCanPushToRepository``) on
    whether the reviewer has write access or more: only then can their approval count, as in
    branch protection. On a public repository anybody can press "Approve".
    """

    id: int
    reviewer: Actor
    state: ReviewState
    commit_sha: str | None
    submitted_at: str | None = None
    author_can_push: bool = True


@dataclass(frozen=True)
class FileFacts:
    """A file the change touched.

    ``has_patch`` is false where GitHub gave no textual patch (binary or too large);
    ``content_is_binary`` is the result of git's own test (a NUL byte in the first 8,000 bytes of the
    blob), read only for files without a patch, and None where it was not read.
    """

    path: str
    status: FileStatus = "modified"
    previous_path: str | None = None
    has_patch: bool = True
    content_is_binary: bool | None = None
    blob_sha: str | None = None


@dataclass(frozen=True)
class OriginalFacts:
    """A change a backport copies, as GitHub confirmed it: a pull request merged into an audited
    branch. ``requirements`` maps each of its requirements to whether it was met (from its
    record, or a fresh judgement where there is none); ``reviewers`` counted for it.
    ``in_window`` is false when it merged longer before the backport than the policy allows."""

    number: int
    url: str = ""
    merged_at: str | None = None
    requirements: tuple[tuple[str, bool], ...] = ()
    reviewers: tuple[str, ...] = ()
    in_window: bool = True
    facts: ChangeFacts | None = None
    """Where countersign has no record of the original (it merged before the App was installed):
    its facts, for the judge to judge it as it judges any change."""


@dataclass(frozen=True)
class BackportFacts:
    """What a backport candidate is a backport of.

    ``originals`` are the changes confirmed through the API (none where ``refused`` says why the
    candidate is an ordinary change: a cherry-pick line naming a commit on no audited branch, a
    title naming a pull request that never merged). ``clean`` is true when the backport's diff is
    the originals' (file by file, the same lines added and removed); ``differences`` are the
    lines that differ otherwise (a diff of the diffs), ``conflict_resolution`` true when they are
    all in files the originals changed too (the common, honest case)."""

    originals: tuple[OriginalFacts, ...] = ()
    found_by: str = ""
    refused: str | None = None
    clean: bool = False
    differences: tuple[str, ...] = ()
    conflict_resolution: bool = False


@dataclass(frozen=True)
class ChangeFacts:
    """Everything the judge needs to know about one change to one branch.

    For a pull request: ``number``, ``title``, ``author``, ``merged_by`` (None while open),
    ``merge_commit_sha``, ``head_sha``, ``commits``, ``reviews`` and ``files``.
    For a push: ``pusher``, ``before``, ``after`` (``head_sha`` equals ``after``), ``commits`` (those
    that did not arrive by a merged pull request) and ``files``.
    ``signoffs`` are the people who signed the change off after it landed (``/audit approve``), in
    order, one entry per person; they count as fresh approvals where they are independent.
    ``team_members`` maps each team slug that the policy names to the logins of its members.
    ``removed_commits`` are the commits a force push or a branch deletion took off the branch:
    their authors and committers are contributors too. ``unseen`` says, one sentence each, what
    part of the change GitHub could not show (a listing cut at its limit, an answer missing): a
    change with anything unseen fails closed.
    """

    kind: ChangeKind
    repository: str
    branch: str
    head_sha: str
    number: int | None = None
    title: str = ""
    url: str = ""
    author: Actor | None = None
    merged_by: Actor | None = None
    merged: bool = False
    merge_commit_sha: str | None = None
    merged_at: str | None = None
    pusher: str | None = None
    before: str | None = None
    after: str | None = None
    compare_url: str | None = None
    commits: tuple[CommitFacts, ...] = ()
    reviews: tuple[ReviewFacts, ...] = ()
    files: tuple[FileFacts, ...] = ()
    gitattributes: str | None = None
    signoffs: tuple[Actor, ...] = ()
    team_members: dict[str, frozenset[str]] = field(default_factory=dict)
    removed_commits: tuple[CommitFacts, ...] = ()
    unseen: tuple[str, ...] = ()
    backport: BackportFacts | None = None

    @property
    def subject_sha(self) -> str:
        """The commit that carries the record: the merge commit, else the head."""
        return self.merge_commit_sha or self.head_sha

    @property
    def change(self) -> ChangeId:
        """The identity of the change these facts are about."""
        if self.kind == "pull_request":
            return ChangeId.pull_request(self.repository, int(self.number or 0))
        return ChangeId.push(
            self.repository,
            self.branch,
            self.before or ZERO_SHA,
            self.after or ZERO_SHA,
            forced=self.kind == "force_push",
            deleted=self.kind == "branch_deletion",
        )

    @property
    def key(self) -> str:
        """A stable identifier of the change within its repository, used in hidden markers."""
        return self.change.key
