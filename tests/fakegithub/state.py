"""The fake's world: accounts, apps, installations, repositories and everything inside them.

Plain Python objects with methods for building scenarios. Nothing here knows about HTTP; the REST,
GraphQL and webhook layers read these objects (and the REST layer calls the same methods a test
would, e.g. :meth:`Repository.create_issue`).

Scenario API (all on :class:`~tests.fakegithub.FakeGitHub` too, which delegates here)::

    fake.add_user("alice", name="Alice", email="alice@example.com")   # linked commit e-mail
    fake.add_bot("dependabot[bot]")
    fake.add_team("octo-org", "build-reviewers", members=["bob"], maintainers=["carol"])
    repo = fake.add_repo("octo-org/widgets", default_branch="main", protected=["main", "3.*"],
                         private=False, files={"README.md": "hi"})    # + app installation
    repo.set_permission("bob", "write")                               # admin..none
    repo.set_file(".github/countersign.yml", "x: 1\n")               # a commit on main
    sha = repo.commit("main", message="Direct", author="alice", files={"a.py": b"..."},
                      co_authors=["bob", "Eve <eve@example.com>"])    # moves the branch
    push = repo.push("main", [{"message": "m", "files": {...}}], pusher="dave", forced=True)
    push = repo.push("old-branch", delete=True)                       # -> fake.webhooks.push
    pr = repo.open_pull(author="alice", title="T", files={...})       # or commits=[{...}, sha]
    pr.push_commit("more", files={"a.py": None})                      # None deletes
    review = pr.review("bob", "APPROVED")                             # commit=None: the head
    review.dismiss("stale"); review.edit("new body")
    comment = pr.comment("carol", "/audit approve"); comment.react("bob", "+1")
    pr.edit(title="New", base="3.x"); pr.close(); pr.reopen(); pr.convert_to_draft()
    merge_sha = pr.merge(by="carol", method="merge" | "squash" | "rebase")  # pr.merge_push
    repo.add_check_run(sha, "build", app=fake.add_app("ci"), conclusion="failure")
    issue = repo.create_issue("Audit", author="carol", labels=["audit"])
    push = repo.create_tag("v1.0", "main", pusher="dave")            # refs/tags/v1.0, no commits
    release = repo.create_release("v1.1", author="dave", prerelease=False, target="main")
    asset = release.upload_asset("widgets-1.1.tar.gz", b"...", content_type="application/gzip")
    draft = repo.create_release("v2.0", draft=True); draft.publish()  # the tag comes on publish

Identity rules follow GitHub:

* a commit's author/committer is a git identity (name, e-mail, date); GitHub links it to an account
  by e-mail address, so ``author="alice"`` uses alice's e-mail and is linked to her, while
  ``author="Some One <some@example.com>"`` is linked only if an account owns that address;
* ``Co-authored-by:`` trailers are part of the message (``co_authors=[...]`` appends them);
* merges, squashes and rebases made by :meth:`PullRequest.merge` are committed by ``web-flow``
  (``GitHub <noreply@github.com>``), as on github.com; a squash is authored by the PR author with
  ``Co-authored-by`` trailers for the other commit authors;
* issues and pull requests share one number sequence per repository;
* logins that are mentioned but were never added become users (``...[bot]`` logins become bots).

Ids come from per-kind counters and timestamps from the injected clock, so a scenario built on a
:class:`~tests.fakegithub.clock.FrozenClock` is fully deterministic (SHAs included: they are real
git object ids).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from . import git
from .clock import Clock, SystemClock

AccountType = Literal["User", "Organization", "Bot"]
Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]
FileContent = bytes | str | None  # None deletes the file

PERMISSION_LEVELS: tuple[Permission, ...] = ("none", "read", "triage", "write", "maintain", "admin")
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
DEFAULT_APP_PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
}
DEFAULT_APP_EVENTS = [
    "check_run",
    "check_suite",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "push",
]

_ID_BASES = {
    "account": 1_000,
    "app": 300,
    "installation": 40_000,
    "repository": 700_000,
    "issue": 2_000_000,
    "pull": 3_000_000,
    "review": 4_000_000,
    "comment": 5_000_000,
    "label": 6_000_000,
    "reaction": 7_000_000,
    "check_run": 8_000_000,
    "check_suite": 9_000_000,
    "team": 500,
    "activity": 10_000_000,
    "release": 11_000_000,
    "release_asset": 12_000_000,
    "hook_delivery": 24_000_000_000,
}


def node_id(kind: str, ident: int | str) -> str:
    """A legacy-format GraphQL node id, e.g. ``MDQ6VXNlcjE=`` for ``04:User1``."""
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


def _bytes(content: bytes | str) -> bytes:
    return content.encode() if isinstance(content, str) else content


@dataclass(frozen=True)
class Signature:
    """A git author or committer line."""

    name: str
    email: str
    date: datetime


@dataclass(eq=False)
class Account:
    """A user, organization or bot account."""

    login: str
    id: int
    type: AccountType
    created_at: datetime
    name: str | None = None
    email: str | None = None
    extra_emails: list[str] = field(default_factory=list)

    @property
    def node_id(self) -> str:
        return node_id(self.type, self.id)

    @property
    def commit_email(self) -> str:
        return self.email or f"{self.id}+{self.login}@users.noreply.github.com"

    @property
    def emails(self) -> list[str]:
        return [self.commit_email, *self.extra_emails]

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot"

    def __repr__(self) -> str:
        return f"<{self.type} {self.login}>"


@dataclass(eq=False)
class App:
    """A GitHub App. Its bot account (``<slug>[bot]``) authors what its installations write."""

    id: int
    slug: str
    name: str
    owner: Account
    bot: Account
    created_at: datetime
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_APP_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(DEFAULT_APP_EVENTS))
    description: str | None = None

    def __repr__(self) -> str:
        return f"<App {self.id} {self.slug}>"

    @property
    def node_id(self) -> str:
        return node_id("Integration", self.id)


@dataclass(eq=False)
class Installation:
    """An installation of an app on an account, on all or selected repositories."""

    id: int
    app: App
    account: Account
    created_at: datetime
    repository_selection: Literal["all", "selected"] = "all"
    repositories: list[Repository] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_APP_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(DEFAULT_APP_EVENTS))
    suspended_at: datetime | None = None

    def __repr__(self) -> str:
        return f"<Installation {self.id} {self.app.slug} on {self.account.login}>"

    @property
    def node_id(self) -> str:
        return node_id("IntegrationInstallation", self.id)

    def covers(self, repo: Repository) -> bool:
        if repo.owner is not self.account or self.suspended_at is not None:
            return False
        return self.repository_selection == "all" or repo in self.repositories

    def add_repository(self, repo: Repository) -> None:
        if self.repository_selection == "selected" and repo not in self.repositories:
            self.repositories.append(repo)

    def remove_repository(self, repo: Repository) -> None:
        if self.repository_selection == "all":
            # Removing one repository turns an "all" installation into a selection.
            self.repository_selection = "selected"
            self.repositories = [r for r in self.account_repos() if r is not repo]
        elif repo in self.repositories:
            self.repositories.remove(repo)

    def account_repos(self) -> list[Repository]:
        return [r for r in self._world.repos.values() if r.owner is self.account]

    def has_permission(self, name: str, level: str) -> bool:
        have = self.permissions.get(name)
        if have is None:
            return False
        return level == "read" or have in ("write", "admin")

    _world: World = field(repr=False, default=None)  # type: ignore[assignment]


@dataclass(eq=False)
class Commit:
    sha: str
    tree: dict[str, bytes]
    parents: list[str]
    message: str
    author: Signature
    committer: Signature
    signed_by_github: bool = False
    """Signed with GitHub's web-flow key: only commits GitHub itself makes (merges, squashes,
    rebases, "Update branch"). A commit anyone else makes is unsigned, whatever its committer says."""

    def __repr__(self) -> str:
        return f"<Commit {self.sha[:7]} {self.headline!r}>"

    @property
    def tree_sha(self) -> str:
        return git.tree_sha(self.tree)

    @property
    def headline(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def body(self) -> str:
        parts = self.message.split("\n", 1)
        return parts[1].strip("\n") if len(parts) > 1 else ""


@dataclass(eq=False)
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False

    @property
    def node_id(self) -> str:
        return node_id("Label", self.id)


@dataclass(eq=False)
class Reaction:
    id: int
    user: Account
    content: str
    created_at: datetime

    @property
    def node_id(self) -> str:
        return node_id("Reaction", self.id)


@dataclass(eq=False)
class IssueComment:
    id: int
    issue: Issue
    user: Account
    body: str
    created_at: datetime
    updated_at: datetime
    app: App | None = None  # performed_via_github_app
    reactions: list[Reaction] = field(default_factory=list)
    previous_body: str | None = None  # for the ``edited`` webhook
    deleted: bool = False

    def __repr__(self) -> str:
        return f"<IssueComment {self.id} by {self.user.login}>"

    @property
    def node_id(self) -> str:
        return node_id("IssueComment", self.id)

    def edit(self, body: str) -> IssueComment:
        self.previous_body, self.body = self.body, body
        self.updated_at = self.issue.repo.world.now()
        return self

    def react(self, user: str | Account, content: str) -> tuple[Reaction, bool]:
        """Add a reaction; returns it and whether it is new (GitHub answers 201 vs 200)."""
        if content not in REACTIONS:
            raise ValueError(f"unknown reaction {content!r}")
        account = self.issue.repo.world.account(user)
        for reaction in self.reactions:
            if reaction.user is account and reaction.content == content:
                return reaction, False
        world = self.issue.repo.world
        reaction = Reaction(world.next_id("reaction"), account, content, world.now())
        self.reactions.append(reaction)
        return reaction, True

    def delete(self) -> None:
        self.deleted = True
        if self in self.issue.comments:
            self.issue.comments.remove(self)


@dataclass(eq=False)
class Issue:
    """An issue, or the issue side of a pull request (``pull`` set)."""

    repo: Repository
    number: int
    id: int
    title: str
    body: str | None
    user: Account
    created_at: datetime
    updated_at: datetime
    state: Literal["open", "closed"] = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    closed_by: Account | None = None
    locked: bool = False
    labels: list[Label] = field(default_factory=list)
    comments: list[IssueComment] = field(default_factory=list)
    assignees: list[Account] = field(default_factory=list)
    pull: PullRequest | None = None
    app: App | None = None
    editor: str | None = None
    """The login of whoever last edited the body (GraphQL ``Issue.editor``); None: never edited."""
    last_edited_at: datetime | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # an edit of the body is GitHub's to record: by the REST caller (``edit_body``), or, when
        # a scenario sets ``issue.body`` directly, by someone with write access ("ghost" here)
        if name == "body" and "body" in self.__dict__ and self.__dict__["body"] != value:
            object.__setattr__(self, "editor", self.__dict__.pop("_editing_as", "ghost"))
            object.__setattr__(self, "last_edited_at", self.repo.world.now())
        object.__setattr__(self, name, value)

    def edit_body(self, body: str | None, by: str | Account) -> None:
        """Edit the body as ``by`` (what ``PATCH .../issues/{number}`` does)."""
        self.__dict__["_editing_as"] = by if isinstance(by, str) else by.login
        self.body = body
        self.__dict__.pop("_editing_as", None)

    def __repr__(self) -> str:
        return f"<Issue {self.repo.full_name}#{self.number}>"

    @property
    def node_id(self) -> str:
        return node_id(
            "PullRequest" if self.pull else "Issue", self.pull.id if self.pull else self.id
        )

    def comment(self, user: str | Account, body: str, *, app: App | None = None) -> IssueComment:
        world = self.repo.world
        now = world.now()
        made = IssueComment(
            world.next_id("comment"), self, world.account(user), body, now, now, app
        )
        self.comments.append(made)
        self.repo.comments[made.id] = made
        self.updated_at = now
        return made

    def add_labels(self, *names: str) -> list[Label]:
        for name in names:
            label = self.repo.label(name) or self.repo.add_label(name)
            if label not in self.labels:
                self.labels.append(label)
        self.updated_at = self.repo.world.now()
        return self.labels

    def remove_label(self, name: str) -> bool:
        for label in self.labels:
            if label.name.lower() == name.lower():
                self.labels.remove(label)
                self.updated_at = self.repo.world.now()
                return True
        return False

    def close(self, by: str | Account | None = None, reason: str = "completed") -> Issue:
        self.state, self.state_reason = "closed", reason
        self.closed_at = self.updated_at = self.repo.world.now()
        self.closed_by = self.repo.world.account(by) if by else None
        return self

    def reopen(self) -> Issue:
        self.state, self.state_reason, self.closed_at = "open", "reopened", None
        self.updated_at = self.repo.world.now()
        return self


@dataclass(eq=False)
class Review:
    id: int
    pull: PullRequest
    user: Account
    state: ReviewState
    body: str
    commit_id: str
    submitted_at: datetime
    previous_body: str | None = None  # for the ``edited`` webhook
    dismissal_message: str | None = None

    def __repr__(self) -> str:
        return f"<Review {self.id} {self.user.login} {self.state}>"

    @property
    def node_id(self) -> str:
        return node_id("PullRequestReview", self.id)

    def dismiss(self, message: str = "Dismissed") -> Review:
        self.state = "DISMISSED"
        self.dismissal_message = message
        return self

    def edit(self, body: str) -> Review:
        self.previous_body, self.body = self.body, body
        return self


@dataclass(eq=False)
class Push:
    """What one ``git push`` did to one ref, a branch or a tag (the source of a ``push`` webhook).

    A tag push (:meth:`Repository.create_tag`) has ``ref`` ``refs/tags/<name>``, no ``commits``,
    ``branch`` None and ``tag`` set; ``base_ref`` names the branch whose head is the tagged
    commit, if any."""

    repo: Repository
    ref: str
    before: str
    after: str
    commits: list[str]  # new commits, oldest first
    distinct: set[str]
    pusher: Account
    forced: bool
    created: bool
    deleted: bool
    base_ref: str | None = None
    id: int = 0
    """The push's id in the repository activity list (``GET /repos/{owner}/{repo}/activity``)."""
    pushed_at: datetime | None = None

    def __repr__(self) -> str:
        return f"<Push {self.repo.full_name} {self.ref} {self.before[:7]}..{self.after[:7]}>"

    @property
    def branch(self) -> str | None:
        """The branch pushed to, or None for a tag push (see :attr:`tag`)."""
        if self.ref.startswith("refs/heads/"):
            return self.ref.removeprefix("refs/heads/")
        return None

    @property
    def tag(self) -> str | None:
        """The tag pushed (``v1.0`` for ``refs/tags/v1.0``), or None for a branch push."""
        if self.ref.startswith("refs/tags/"):
            return self.ref.removeprefix("refs/tags/")
        return None


@dataclass(eq=False)
class PullRequest:
    repo: Repository
    issue: Issue
    id: int
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_by: Account | None = None
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    commits: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    landed: list[str] = field(default_factory=list)  # SHAs that reached the base branch
    last_push: Push | None = None
    merge_push: Push | None = None
    previous: dict[str, Any] = field(default_factory=dict)  # what ``edit`` changed
    _frozen_files: list[git.FileDiff] | None = None

    # -- the issue side ---------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<PullRequest {self.repo.full_name}#{self.number} {self.state}>"

    @property
    def number(self) -> int:
        return self.issue.number

    @property
    def title(self) -> str:
        return self.issue.title

    @property
    def body(self) -> str | None:
        return self.issue.body

    @property
    def author(self) -> Account:
        return self.issue.user

    @property
    def state(self) -> Literal["open", "closed"]:
        return self.issue.state

    @property
    def labels(self) -> list[Label]:
        return self.issue.labels

    @property
    def created_at(self) -> datetime:
        return self.issue.created_at

    @property
    def node_id(self) -> str:
        return node_id("PullRequest", self.id)

    @property
    def world(self) -> World:
        return self.repo.world

    def _touch(self) -> None:
        self.issue.updated_at = self.world.now()

    # -- content ------------------------------------------------------------------------------
    def merge_base(self) -> str:
        return self.repo.merge_base(self.base_sha, self.head_sha) or self.base_sha

    def files(self) -> list[git.FileDiff]:
        """The three-dot diff GitHub shows (frozen once merged)."""
        if self._frozen_files is not None:
            return self._frozen_files
        base = self.repo.commit_obj(self.merge_base()).tree
        return git.diff_trees(base, self.repo.commit_obj(self.head_sha).tree)

    def commit_objs(self) -> list[Commit]:
        return [self.repo.commit_obj(sha) for sha in self.commits]

    # -- scenario actions -----------------------------------------------------------------------
    def push_commit(
        self,
        message: str = "Update",
        *,
        files: Mapping[str, FileContent] | None = None,
        author: str | Account | None = None,
        committer: str | Account | None = None,
        co_authors: Sequence[str | Account] = (),
        renames: Mapping[str, str] | None = None,
        pusher: str | Account | None = None,
    ) -> str:
        """Commit on the head branch (author defaults to the PR author); returns the new SHA."""
        if self.state != "open":
            raise ValueError("cannot push to a closed pull request in this fake")
        push = self.repo.push(
            self.head_ref,
            [
                dict(
                    message=message,
                    files=files,
                    author=author or self.author,
                    committer=committer,
                    co_authors=co_authors,
                    renames=renames,
                )
            ],
            pusher=pusher or author or self.author,
        )
        return push.after

    def _on_head_moved(self, push: Push) -> None:
        self.last_push = push
        self.head_sha = push.after
        self.base_sha = self.repo.branches.get(self.base_ref, self.base_sha)
        # GitHub lists the head's commits that are not on the base: after "Update branch" the
        # base's own commits are not the pull request's
        self.commits = self.repo.rev_list(push.after, exclude=self.base_sha)
        self._touch()

    def review(
        self,
        user: str | Account,
        state: ReviewState = "APPROVED",
        *,
        body: str = "",
        commit: str | None = None,
        allow_self: bool = False,
    ) -> Review:
        """Submit a review on ``commit`` (default: the current head)."""
        account = self.world.account(user)
        if state not in ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"):
            raise ValueError(f"unknown review state {state!r}")
        if account is self.author and state != "COMMENTED" and not allow_self:
            # GitHub: "Can not approve your own pull request" / request changes on it.
            raise ValueError("GitHub does not let authors approve or request changes on their PR")
        if state == "CHANGES_REQUESTED" and not body:
            body = "Please change this."
        made = Review(
            self.world.next_id("review"),
            self,
            account,
            state,
            body,
            commit or self.head_sha,
            self.world.now(),
        )
        self.reviews.append(made)
        self._touch()
        return made

    def comment(self, user: str | Account, body: str) -> IssueComment:
        return self.issue.comment(user, body)

    def add_labels(self, *names: str) -> list[Label]:
        return self.issue.add_labels(*names)

    def close(self, by: str | Account | None = None) -> PullRequest:
        self.issue.close(by)
        self._frozen_files = self.files()
        return self

    def reopen(self) -> PullRequest:
        if self.merged:
            raise ValueError("a merged pull request cannot be reopened")
        self.issue.reopen()
        self._frozen_files = None
        return self

    def ready_for_review(self) -> PullRequest:
        self.draft = False
        self._touch()
        return self

    def convert_to_draft(self) -> PullRequest:
        self.draft = True
        self._touch()
        return self

    def edit(
        self, *, title: str | None = None, body: str | None = None, base: str | None = None
    ) -> PullRequest:
        """Change title, body or base branch; ``previous`` keeps the old values for webhooks."""
        self.previous = {}
        if title is not None:
            self.previous["title"], self.issue.title = self.issue.title, title
        if body is not None:
            self.previous["body"], self.issue.body = self.issue.body or "", body
        if base is not None:
            self.previous["base"] = {"ref": self.base_ref, "sha": self.base_sha}
            self.base_ref, self.base_sha = base, self.repo.branches[base]
            self.commits = self.repo.rev_list(self.head_sha, exclude=self.base_sha)
        self._touch()
        return self

    def _merged_tree(self, base_head: str) -> dict[str, bytes]:
        """The base's tree with the pull request's changes applied."""
        tree = dict(self.repo.commit_obj(base_head).tree)
        head_tree = self.repo.commit_obj(self.head_sha).tree
        for f in self.files():
            if f.previous_filename:
                tree.pop(f.previous_filename, None)
            if f.status == "removed":
                tree.pop(f.filename, None)
            else:
                tree[f.filename] = head_tree[f.filename]
        return tree

    def update_branch(self, by: str | Account) -> str:
        """GitHub's "Update branch" button: merge the base branch into the head branch, committed
        and signed by GitHub (web-flow), authored by ``by``; returns the merge commit's SHA."""
        if self.state != "open":
            raise ValueError("pull request is not open")
        repo = self.repo
        base_head = repo.branches[self.base_ref]
        sha = repo._make_commit(
            self._merged_tree(base_head),
            [self.head_sha, base_head],
            f"Merge branch '{self.base_ref}' into {self.head_ref}",
            repo._identity(by),
            self.world.web_flow,
            signed_by_github=True,
        )
        return repo.push(self.head_ref, [sha], pusher=by).after

    def merge(
        self,
        by: str | Account,
        method: Literal["merge", "squash", "rebase"] = "merge",
        *,
        message: str | None = None,
        delete_branch: bool = False,
    ) -> str:
        """Merge as GitHub does; returns the merge commit SHA (for rebase: the last rebased one).

        Moves the base branch (``merge_push`` records that push for a ``push`` webhook), closes
        the pull request and marks it merged.
        """
        if self.state != "open" or self.merged:
            raise ValueError("pull request is not open")
        world, repo = self.world, self.repo
        merger = world.account(by)
        base_head = repo.branches[self.base_ref]
        tree = self._merged_tree(base_head)
        web_flow = world.web_flow
        landed: list[str]
        if method == "merge":
            msg = message or (
                f"Merge pull request #{self.number} from "
                f"{repo.owner.login}/{self.head_ref}\n\n{self.title}"
            )
            sha = repo._make_commit(
                tree,
                [base_head, self.head_sha],
                msg,
                repo._identity(merger),
                web_flow,
                signed_by_github=True,
            )
            landed = [sha]
        elif method == "squash":
            lines = [f"* {c.headline}" for c in self.commit_objs()]
            msg = message or f"{self.title} (#{self.number})\n\n" + "\n\n".join(lines)
            trailers = []
            seen = {self.author.commit_email.lower()}
            for c in self.commit_objs():
                people = [(c.author.name, c.author.email), *git.co_author_trailers(c.message)]
                for name, email in people:
                    if email.lower() not in seen:
                        seen.add(email.lower())
                        trailers.append(f"Co-authored-by: {name} <{email}>")
            if trailers:
                msg += "\n\n" + "\n".join(trailers)
            sha = repo._make_commit(
                tree, [base_head], msg, repo._identity(self.author), web_flow, signed_by_github=True
            )
            landed = [sha]
        elif method == "rebase":
            parent = base_head
            landed = []
            for c in self.commit_objs():
                step = dict(repo.commit_obj(parent).tree)
                for f in git.diff_trees(
                    repo.commit_obj(c.parents[0]).tree if c.parents else {}, c.tree
                ):
                    if f.previous_filename:
                        step.pop(f.previous_filename, None)
                    if f.status == "removed":
                        step.pop(f.filename, None)
                    else:
                        step[f.filename] = c.tree[f.filename]
                author = Signature(c.author.name, c.author.email, c.author.date)
                parent = repo._make_commit(
                    step, [parent], c.message, author, web_flow, signed_by_github=True
                )
                landed.append(parent)
            sha = parent
        else:
            raise ValueError(f"unknown merge method {method!r}")
        self._frozen_files = self.files()
        self.merge_push = repo.push(self.base_ref, [sha], pusher=merger)
        self.merged, self.merged_by, self.merge_commit_sha = True, merger, sha
        self.landed = landed
        self.merged_at = world.now()
        self.issue.close(merger)
        if delete_branch and self.head_ref in repo.branches:
            repo.push(self.head_ref, delete=True, pusher=merger)
        return sha


@dataclass(eq=False)
class CheckSuite:
    id: int
    repo: Repository
    app: App
    head_sha: str
    head_branch: str | None
    created_at: datetime
    updated_at: datetime
    before: str | None = None
    after: str | None = None

    def __repr__(self) -> str:
        return f"<CheckSuite {self.id} {self.app.slug} {self.head_sha[:7]}>"

    @property
    def node_id(self) -> str:
        return node_id("CheckSuite", self.id)

    @property
    def runs(self) -> list[CheckRun]:
        return [r for r in self.repo.check_runs.values() if r.suite is self]

    @property
    def status(self) -> str:
        runs = self.runs
        if not runs:
            return "queued"
        if all(r.status == "completed" for r in runs):
            return "completed"
        return "in_progress" if any(r.status != "queued" for r in runs) else "queued"

    @property
    def conclusion(self) -> str | None:
        if self.status != "completed":
            return None
        order = ["action_required", "timed_out", "failure", "cancelled", "stale", "neutral"]
        found = {r.conclusion for r in self.runs}
        for c in order:
            if c in found:
                return c
        return "success" if "success" in found else "neutral"


@dataclass(eq=False)
class CheckRun:
    id: int
    repo: Repository
    suite: CheckSuite
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    external_id: str | None = ""
    details_url: str | None = None
    actions: list[dict[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<CheckRun {self.id} {self.name} {self.status}/{self.conclusion}>"

    @property
    def app(self) -> App:
        return self.suite.app

    @property
    def node_id(self) -> str:
        return node_id("CheckRun", self.id)


@dataclass(eq=False)
class Team:
    id: int
    org: Account
    slug: str
    name: str
    members: list[Account] = field(default_factory=list)
    maintainers: list[Account] = field(default_factory=list)
    privacy: str = "closed"

    def __repr__(self) -> str:
        return f"<Team {self.org.login}/{self.slug}>"

    @property
    def node_id(self) -> str:
        return node_id("Team", self.id)

    def add_member(self, login: str | Account, *, role: str = "member") -> None:
        account = self._world.account(login)
        if account not in self.members:
            self.members.append(account)
        if role == "maintainer" and account not in self.maintainers:
            self.maintainers.append(account)

    def remove_member(self, login: str | Account) -> None:
        account = self._world.account(login)
        for group in (self.members, self.maintainers):
            if account in group:
                group.remove(account)

    _world: World = field(repr=False, default=None)  # type: ignore[assignment]


_ASSET_NAME_ODD = re.compile(r"[^A-Za-z0-9._+@=,()\[\]-]")


def asset_file_name(name: str) -> str:
    """The name GitHub gives an uploaded asset: its docs say it "renames asset filenames that have
    special characters, non-alphanumeric characters, and leading or trailing periods". The fake
    turns each character outside a conservative safe set into ``.`` and strips periods at the
    ends (``my file.zip`` -> ``my.file.zip``)."""
    renamed = _ASSET_NAME_ODD.sub(".", name).strip(".")
    if not renamed:
        raise ValueError(f"asset name {name!r} has nothing GitHub would keep")
    return renamed


@dataclass(eq=False)
class ReleaseAsset:
    """A file attached to a release. ``digest`` is GitHub's ``sha256:<hex>`` of the uploaded bytes."""

    id: int
    release: Release = field(repr=False)
    name: str
    content: bytes = field(repr=False)
    content_type: str
    created_at: datetime
    updated_at: datetime
    uploader: Account | None
    label: str | None = None
    download_count: int = 0
    state: Literal["uploaded", "open"] = "uploaded"
    digest: str = ""

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = "sha256:" + hashlib.sha256(self.content).hexdigest()

    def __repr__(self) -> str:
        return f"<ReleaseAsset {self.id} {self.name} ({self.size} bytes)>"

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def node_id(self) -> str:
        return node_id("ReleaseAsset", self.id)

    @property
    def repo(self) -> Repository:
        return self.release.repo

    def replace_content(self, content: bytes, *, keep_digest: bool = False) -> ReleaseAsset:
        """Serve other bytes from now on (GitHub offers no such thing: for tampering tests).
        With ``keep_digest`` the advertised ``digest`` stays that of the old bytes."""
        self.content = content
        if not keep_digest:
            self.digest = "sha256:" + hashlib.sha256(content).hexdigest()
        return self


@dataclass(eq=False)
class Release:
    """A GitHub release of a tag, with its assets.

    ``created_at`` is, as GitHub's docs put it, "the date of the commit used for the release, and
    not the date when the release was drafted or published"; ``published_at`` is None while the
    release is a draft. A draft's tag is only created when it is published (:meth:`publish`)."""

    repo: Repository = field(repr=False)
    id: int
    tag_name: str
    name: str | None
    body: str
    draft: bool
    prerelease: bool
    created_at: datetime
    published_at: datetime | None
    author: Account
    target_commitish: str
    assets: list[ReleaseAsset] = field(default_factory=list)
    updated_at: datetime | None = None
    immutable: bool = False
    previous: dict[str, Any] = field(default_factory=dict)
    """What :meth:`edit` changed (old values), for the ``edited`` webhook."""
    tag_push: Push | None = None
    """The push that created the tag, when the release created it."""
    deleted: bool = False

    def __repr__(self) -> str:
        state = "draft" if self.draft else "prerelease" if self.prerelease else "release"
        return f"<Release {self.id} {self.tag_name} {state}>"

    @property
    def node_id(self) -> str:
        return node_id("Release", self.id)

    @property
    def world(self) -> World:
        return self.repo.world

    @property
    def commit(self) -> str | None:
        """The SHA the release's tag points at (for a draft: what its target resolves to)."""
        sha = self.repo.tags.get(self.tag_name)
        if sha is None and self.draft:
            sha = self.repo.resolve(self.target_commitish)
        return sha

    @property
    def untagged_name(self) -> str:
        """What GitHub's web URLs call a draft (``untagged-<hex>``) until it is published."""
        return f"untagged-{hashlib.sha1(str(self.id).encode()).hexdigest()[:20]}"  # noqa: S324

    @property
    def url_tag(self) -> str:
        """The tag in the release's web and download URLs."""
        return self.untagged_name if self.draft else self.tag_name

    def asset(self, name: str) -> ReleaseAsset | None:
        return next((a for a in self.assets if a.name == name), None)

    def upload_asset(
        self,
        name: str,
        content: bytes,
        *,
        content_type: str = "application/octet-stream",
        uploader: str | Account | None = None,
        label: str | None = None,
    ) -> ReleaseAsset:
        """Attach a file, as ``POST {upload_url}?name=...`` does. The name is renamed as GitHub
        renames it (:func:`asset_file_name`); an asset of that name already on the release is
        refused (GitHub answers 422 ``already_exists``; here: ValueError)."""
        if self.deleted:
            raise ValueError("the release was deleted")
        final = asset_file_name(name)
        if self.asset(final) is not None:
            raise ValueError(f"release {self.tag_name} already has an asset named {final!r}")
        world = self.world
        now = world.now()
        made = ReleaseAsset(
            id=world.next_id("release_asset"),
            release=self,
            name=final,
            content=bytes(content),
            content_type=content_type,
            created_at=now,
            updated_at=now,
            uploader=world.account(uploader) if uploader else self.author,
            label=label,
        )
        self.assets.append(made)
        self.updated_at = now
        return made

    def delete_asset(self, name: str) -> ReleaseAsset:
        found = self.asset(name)
        if found is None:
            raise ValueError(f"no asset {name!r} on release {self.tag_name}")
        self.assets.remove(found)
        return found

    def publish(self, *, pusher: str | Account | None = None) -> Release:
        """Publish a draft: its tag is created (at its target) if it does not exist yet."""
        if not self.draft:
            return self
        if self.tag_name not in self.repo.tags:
            self.tag_push = self.repo.create_tag(
                self.tag_name, self.target_commitish, pusher=pusher or self.author
            )
        self.draft = False
        self.published_at = self.updated_at = self.world.now()
        return self

    def edit(
        self,
        *,
        name: str | None = None,
        body: str | None = None,
        prerelease: bool | None = None,
    ) -> Release:
        """Change the name, body or prerelease flag; ``previous`` keeps the old values."""
        self.previous = {}
        if name is not None:
            self.previous["name"], self.name = self.name, name
        if body is not None:
            self.previous["body"], self.body = self.body, body
        if prerelease is not None:
            self.previous["prerelease"], self.prerelease = self.prerelease, prerelease
        self.updated_at = self.world.now()
        return self


class Repository:
    """A repository: refs, commits, blobs, issues, pull requests, labels, checks, permissions."""

    def __init__(
        self,
        world: World,
        owner: Account,
        name: str,
        *,
        default_branch: str,
        private: bool,
        protected: Iterable[str],
    ) -> None:
        self.world = world
        self.owner = owner
        self.name = name
        self.id = world.next_id("repository")
        self.default_branch = default_branch
        self.private = private
        self.created_at = world.now()
        self.pushed_at = self.created_at
        self.branches: dict[str, str] = {}
        self.objects: dict[str, Commit] = {}
        self.blobs: dict[str, bytes] = {}
        self.protection_patterns: list[str] = list(protected)
        self.issues: dict[int, Issue] = {}
        self.comments: dict[int, IssueComment] = {}
        self.labels: dict[str, Label] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.check_suites: dict[int, CheckSuite] = {}
        self.permissions: dict[str, Permission] = {}
        self.pushes: list[Push] = []
        """Every push, oldest first: the repository activity list."""
        self.tags: dict[str, str] = {}
        """Tag name -> commit SHA (lightweight tags)."""
        self.releases: list[Release] = []
        """Releases, oldest first (drafts included; deleted ones removed)."""
        self._numbers = itertools.count(1)

    def __repr__(self) -> str:
        return f"<Repository {self.full_name}>"

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def node_id(self) -> str:
        return node_id("Repository", self.id)

    @property
    def pulls(self) -> dict[int, PullRequest]:
        return {n: i.pull for n, i in self.issues.items() if i.pull is not None}

    @property
    def installation(self) -> Installation | None:
        """The installation of the fake's own app that covers this repository, if any."""
        return self.world.installation_for(self)

    # -- protection and permissions ------------------------------------------------------------
    def protect(self, *patterns: str) -> None:
        """Add branch-protection rules (fnmatch-style patterns such as ``main`` or ``3.*``)."""
        self.protection_patterns.extend(p for p in patterns if p not in self.protection_patterns)

    def unprotect(self, pattern: str) -> None:
        self.protection_patterns.remove(pattern)

    def protection_rule(self, branch: str) -> str | None:
        for pattern in self.protection_patterns:
            if fnmatch.fnmatchcase(branch, pattern):
                return pattern
        return None

    def is_protected(self, branch: str) -> bool:
        return self.protection_rule(branch) is not None

    def set_permission(self, login: str | Account, permission: Permission) -> None:
        if permission not in PERMISSION_LEVELS:
            raise ValueError(f"unknown permission {permission!r}")
        self.permissions[self.world.account(login).login.lower()] = permission

    def permission_of(self, login: str | Account) -> Permission:
        account = self.world.account(login)
        explicit = self.permissions.get(account.login.lower())
        if explicit is not None:
            return explicit
        if account is self.owner:
            return "admin"
        return "none" if self.private else "read"

    # -- git -----------------------------------------------------------------------------------------
    def _identity(self, who: str | Account | Signature) -> Signature:
        if isinstance(who, Signature):
            return who
        if isinstance(who, str) and "<" in who:
            name, _, rest = who.partition("<")
            return Signature(name.strip(), rest.rstrip(">").strip(), self.world.now())
        account = self.world.account(who)
        return Signature(account.name or account.login, account.commit_email, self.world.now())

    def _make_commit(
        self,
        tree: Mapping[str, bytes],
        parents: list[str],
        message: str,
        author: Signature,
        committer: str | Account | Signature,
        *,
        signed_by_github: bool = False,
    ) -> str:
        committer_sig = self._identity(committer)
        snapshot = dict(tree)
        for content in snapshot.values():
            self.blobs[git.blob_sha(content)] = content
        sha = git.commit_sha(
            git.tree_sha(snapshot),
            parents,
            (author.name, author.email, author.date),
            (committer_sig.name, committer_sig.email, committer_sig.date),
            message,
        )
        self.objects.setdefault(
            sha,
            Commit(sha, snapshot, parents, message, author, committer_sig, signed_by_github),
        )
        return sha

    def commit(
        self,
        branch: str | None = None,
        *,
        message: str = "Update",
        author: str | Account | None = None,
        committer: str | Account | None = None,
        files: Mapping[str, FileContent] | None = None,
        renames: Mapping[str, str] | None = None,
        co_authors: Sequence[str | Account] = (),
        parent: str | None = None,
        parents: Sequence[str] | None = None,
    ) -> str:
        """Create a commit and (when ``branch`` is given) move that branch to it.

        The commit builds on ``parents``/``parent``, else the branch head, else the default
        branch head (a missing ``branch`` is created from there). ``files`` maps paths to new
        content (``None`` deletes); ``renames`` maps new path -> old path (content moves unless
        ``files`` also gives it). Returns the SHA.
        """
        if parents is None:
            start = parent or (branch and self.branches.get(branch)) or self.head()
            parents = [start] if start else []
        base_tree = self.commit_obj(parents[0]).tree if parents else {}
        tree = dict(base_tree)
        for new, old in (renames or {}).items():
            tree[new] = tree.pop(old)
        for path, content in (files or {}).items():
            if content is None:
                tree.pop(path, None)
            else:
                tree[path] = _bytes(content)
        author_acc = author if author is not None else self.world.default_author
        if co_authors:
            lines = []
            for co in co_authors:
                sig = self._identity(co)
                lines.append(f"Co-authored-by: {sig.name} <{sig.email}>")
            message = message.rstrip("\n") + "\n\n" + "\n".join(lines)
        author_sig = self._identity(author_acc)
        sha = self._make_commit(
            tree, list(parents), message, author_sig, committer if committer else author_sig
        )
        if branch is not None:
            self.branches[branch] = sha
            self.pushed_at = self.world.now()
        return sha

    def set_file(
        self,
        path: str,
        content: FileContent,
        ref: str | None = None,
        *,
        author: str | Account | None = None,
        message: str | None = None,
    ) -> str:
        """Commit one file change on a branch (default: the default branch); returns the SHA."""
        return self.commit(
            ref or self.default_branch,
            message=message or f"Update {path}",
            author=author,
            files={path: content},
        )

    def create_branch(self, name: str, from_ref: str | None = None) -> str:
        sha = self.resolve(from_ref) if from_ref else self.head()
        if sha is None:
            raise ValueError("cannot branch from an empty repository")
        self.branches[name] = sha
        return sha

    def head(self, branch: str | None = None) -> str | None:
        return self.branches.get(branch or self.default_branch)

    def commit_obj(self, sha: str) -> Commit:
        return self.objects[sha]

    def resolve(self, ref: str) -> str | None:
        """A branch name (``main``, ``heads/main``, ``refs/heads/main``), a tag name (``v1.0``,
        ``tags/v1.0``, ``refs/tags/v1.0``), ``HEAD`` or a SHA, optionally followed by ``~N`` (the
        N-th first-parent ancestor), as rev-parse reads it. A name that is both a branch and a tag
        is the branch, as on GitHub (git itself would pick the tag, with a warning)."""
        base, tilde, steps = ref.rpartition("~")
        if tilde and steps.isdigit():
            sha = self.resolve(base)
            for _ in range(int(steps)):
                parents = self.objects[sha].parents if sha else []
                sha = parents[0] if parents else None
            return sha
        if ref == "HEAD":
            return self.head()
        if ref.startswith("refs/heads/"):
            return self.branches.get(ref.removeprefix("refs/heads/"))
        if ref.startswith("refs/tags/"):
            return self.tags.get(ref.removeprefix("refs/tags/"))
        if ref in self.branches:
            return self.branches[ref]
        if ref.startswith("heads/") and ref.removeprefix("heads/") in self.branches:
            return self.branches[ref.removeprefix("heads/")]
        if ref in self.tags:
            return self.tags[ref]
        if ref.startswith("tags/") and ref.removeprefix("tags/") in self.tags:
            return self.tags[ref.removeprefix("tags/")]
        if ref in self.objects:
            return ref
        if 4 <= len(ref) < 40 and all(c in "0123456789abcdef" for c in ref.lower()):
            found = [sha for sha in self.objects if sha.startswith(ref.lower())]
            if len(found) == 1:
                return found[0]
        return None

    def ancestors(self, sha: str) -> set[str]:
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.objects:
                continue
            seen.add(current)
            todo.extend(self.objects[current].parents)
        return seen

    def is_ancestor(self, maybe: str, of: str) -> bool:
        return maybe in self.ancestors(of)

    def merge_base(self, a: str, b: str) -> str | None:
        mine = self.ancestors(a)
        queue, seen = [b], set()
        while queue:
            current = queue.pop(0)
            if current in mine:
                return current
            if current in seen or current not in self.objects:
                continue
            seen.add(current)
            queue.extend(self.objects[current].parents)
        return None

    def rev_list(self, head: str, *, exclude: str | None = None) -> list[str]:
        """Commits reachable from ``head`` but not from ``exclude``, oldest first."""
        hidden = self.ancestors(exclude) if exclude else set()
        wanted = self.ancestors(head) - hidden
        order: list[str] = []
        placed: set[str] = set()

        def visit(sha: str) -> None:
            stack = [(sha, False)]
            while stack:
                current, done = stack.pop()
                if done:
                    if current not in placed:
                        placed.add(current)
                        order.append(current)
                    continue
                if current in placed or current not in wanted:
                    continue
                stack.append((current, True))
                for parent in reversed(self.objects[current].parents):
                    if parent in wanted and parent not in placed:
                        stack.append((parent, False))

        visit(head)
        return order

    def push(
        self,
        branch: str,
        commits: Sequence[str | Mapping[str, Any]] = (),
        *,
        pusher: str | Account | None = None,
        forced: bool = False,
        onto: str | None = None,
        from_ref: str | None = None,
        delete: bool = False,
    ) -> Push:
        """Push to ``branch`` and return the :class:`Push` (feed it to the push webhook builder).

        ``commits`` are SHAs already created (the last one becomes the head) or mappings of
        :meth:`commit` keywords, created in order. They build on the branch head; a new branch
        starts from ``from_ref`` (default: the default branch). With ``forced=True`` they build
        on ``onto`` (default: the first parent of the current head), rewriting history.
        ``delete=True`` deletes the branch.
        """
        world = self.world
        pusher_acc = world.account(pusher) if pusher else world.account(world.default_author)
        ref = f"refs/heads/{branch}"
        before = self.branches.get(branch)
        others = set().union(
            *(self.ancestors(sha) for name, sha in self.branches.items() if name != branch)
        )
        if delete:
            if before is None:
                raise ValueError(f"no branch {branch!r}")
            del self.branches[branch]
            return self._recorded(
                Push(self, ref, before, git.NULL_SHA, [], set(), pusher_acc, False, False, True)
            )
        if forced:
            start = onto or (
                self.commit_obj(before).parents[0]
                if before and self.commit_obj(before).parents
                else None
            )
        elif before is not None:
            start = before
        else:
            start = self.resolve(from_ref) if from_ref else self.head()
        after = start
        for item in commits:
            if isinstance(item, str):
                after = item
            else:
                spec = dict(item)
                after = self.commit(None, parents=[after] if after else [], **spec)
        if after is None:
            raise ValueError("nothing to push")
        self.branches[branch] = after
        self.pushed_at = world.now()
        if before is None:
            new = [sha for sha in self.rev_list(after) if sha not in others]
        else:
            new = self.rev_list(after, exclude=before)
        push = Push(
            repo=self,
            ref=ref,
            before=before or git.NULL_SHA,
            after=after,
            commits=new,
            distinct={sha for sha in new if sha not in others},
            pusher=pusher_acc,
            forced=before is not None and not self.is_ancestor(before, after),
            created=before is None,
            deleted=False,
        )
        for pr in self.pulls.values():
            if pr.state == "open" and pr.head_ref == branch:
                pr._on_head_moved(push)
        return self._recorded(push)

    def _recorded(self, push: Push) -> Push:
        """``push``, stamped and added to the activity list."""
        push.id, push.pushed_at = self.world.next_id("activity"), self.world.now()
        self.pushes.append(push)
        return push

    # -- tags and releases -------------------------------------------------------------------------
    def create_tag(
        self, name: str, ref: str | None = None, *, pusher: str | Account | None = None
    ) -> Push:
        """Push a new lightweight tag ``refs/tags/<name>`` at ``ref`` (a branch, tag or SHA;
        default: the default branch head) and return the :class:`Push` (for the push webhook).

        Like a real tag push it lists no commits; ``base_ref`` names a branch whose head is the
        tagged commit (the default branch first), or is None. An existing tag is refused, as
        ``git push`` refuses to move a tag without force."""
        _check_ref_name(name)
        if name in self.tags:
            raise ValueError(f"tag {name!r} exists")
        sha = self.resolve(ref) if ref is not None else self.head()
        if sha is None:
            raise ValueError(f"cannot resolve {ref!r}")
        world = self.world
        heads = sorted(b for b, head in self.branches.items() if head == sha)
        if self.default_branch in heads:
            heads.remove(self.default_branch)
            heads.insert(0, self.default_branch)
        self.tags[name] = sha
        self.pushed_at = world.now()
        pusher_acc = world.account(pusher) if pusher else world.account(world.default_author)
        push = Push(
            repo=self,
            ref=f"refs/tags/{name}",
            before=git.NULL_SHA,
            after=sha,
            commits=[],
            distinct=set(),
            pusher=pusher_acc,
            forced=False,
            created=True,
            deleted=False,
            base_ref=f"refs/heads/{heads[0]}" if heads else None,
        )
        return self._recorded(push)

    def delete_tag(self, name: str, *, pusher: str | Account | None = None) -> Push:
        """Delete a tag (``git push --delete origin <tag>``); returns the :class:`Push`."""
        if name not in self.tags:
            raise ValueError(f"no tag {name!r}")
        world = self.world
        before = self.tags.pop(name)
        pusher_acc = world.account(pusher) if pusher else world.account(world.default_author)
        return self._recorded(
            Push(
                self,
                f"refs/tags/{name}",
                before,
                git.NULL_SHA,
                [],
                set(),
                pusher_acc,
                False,
                False,
                True,
            )
        )

    def create_release(
        self,
        tag: str,
        *,
        author: str | Account | None = None,
        name: str | None = None,
        body: str = "",
        draft: bool = False,
        prerelease: bool = False,
        target: str | None = None,
    ) -> Release:
        """A release of ``tag``, as ``POST /repos/{owner}/{repo}/releases`` makes one.

        A missing tag is created at ``target`` (default: the default branch) and the push is kept
        in ``release.tag_push``; for a draft the tag waits for :meth:`Release.publish`, as on
        GitHub. ``target_commitish`` is ``target`` or the default branch (GitHub ignores it when
        the tag exists). A tag that already has a release is refused (GitHub: 422
        ``already_exists``)."""
        _check_ref_name(tag)
        if any(r.tag_name == tag for r in self.releases):
            raise ValueError(f"tag {tag!r} already has a release")
        world = self.world
        author_acc = world.account(author if author is not None else world.default_author)
        target_commitish = target or self.default_branch
        sha = self.tags.get(tag) or self.resolve(target_commitish)
        if sha is None:
            raise ValueError(f"cannot resolve target {target_commitish!r}")
        now = world.now()
        release = Release(
            repo=self,
            id=world.next_id("release"),
            tag_name=tag,
            name=name,
            body=body,
            draft=draft,
            prerelease=prerelease,
            created_at=self.commit_obj(sha).committer.date,
            published_at=None if draft else now,
            author=author_acc,
            target_commitish=target_commitish,
            updated_at=now,
        )
        if not draft and tag not in self.tags:
            release.tag_push = self.create_tag(tag, target_commitish, pusher=author_acc)
        self.releases.append(release)
        return release

    def release_by_tag(self, tag: str) -> Release | None:
        return next((r for r in self.releases if r.tag_name == tag), None)

    def release_by_id(self, ident: int) -> Release | None:
        return next((r for r in self.releases if r.id == ident), None)

    def latest_release(self) -> Release | None:
        """GitHub's "latest release": "the most recent non-prerelease, non-draft release, sorted
        by the created_at attribute" (the later-made release wins a tie)."""
        full = [r for r in self.releases if not r.draft and not r.prerelease]
        return max(full, key=lambda r: (r.created_at, r.id), default=None)

    def delete_release(self, release: Release) -> Release:
        """Delete a release (its tag stays, as on GitHub); its assets are gone."""
        self.releases.remove(release)
        release.deleted = True
        return release

    # -- issues, pull requests, labels ---------------------------------------------------------
    def _new_issue(self, title: str, body: str | None, author: str | Account) -> Issue:
        world = self.world
        now = world.now()
        issue = Issue(
            self,
            next(self._numbers),
            world.next_id("issue"),
            title,
            body,
            world.account(author),
            now,
            now,
        )
        self.issues[issue.number] = issue
        return issue

    def create_issue(
        self,
        title: str,
        *,
        author: str | Account | None = None,
        body: str | None = None,
        labels: Iterable[str] = (),
        app: App | None = None,
    ) -> Issue:
        issue = self._new_issue(title, body, author or self.world.default_author)
        issue.app = app
        issue.add_labels(*labels)
        return issue

    def issue(self, number: int) -> Issue | None:
        return self.issues.get(number)

    def pull(self, number: int) -> PullRequest | None:
        issue = self.issues.get(number)
        return issue.pull if issue else None

    def open_pull(
        self,
        *,
        author: str | Account,
        title: str = "Change things",
        body: str | None = "",
        head: str | None = None,
        base: str | None = None,
        files: Mapping[str, FileContent] | None = None,
        commits: Sequence[str | Mapping[str, Any]] | None = None,
        message: str | None = None,
        co_authors: Sequence[str | Account] = (),
        draft: bool = False,
        labels: Iterable[str] = (),
    ) -> PullRequest:
        """Open a pull request from a new (or existing) head branch.

        Give ``files`` for a single commit by the author, or ``commits`` (SHAs or mappings of
        :meth:`commit` keywords) for several. The head branch defaults to
        ``<author>/patch-<number>``; the base to the default branch.
        """
        world = self.world
        account = world.account(author)
        base = base or self.default_branch
        if base not in self.branches:
            raise ValueError(f"no base branch {base!r}")
        number_hint = len(self.issues) + 1
        head = head or f"{account.login.removesuffix('[bot]')}/patch-{number_hint}"
        specs: list[str | Mapping[str, Any]] = [
            c if isinstance(c, str) else {"author": account, **c} for c in commits or []
        ]
        if files is not None:
            first = {"message": message or title, "files": files, "author": account}
            specs.insert(0, {**first, "co_authors": co_authors})
        if not specs and head not in self.branches:
            raise ValueError("a pull request needs files or commits")
        if head not in self.branches:
            self.create_branch(head, base)
        base_sha = self.branches[base]
        if specs:
            self.push(head, specs, pusher=account)
        head_sha = self.branches[head]
        issue = self._new_issue(title, body, account)
        pr = PullRequest(
            repo=self,
            issue=issue,
            id=world.next_id("pull"),
            head_ref=head,
            base_ref=base,
            head_sha=head_sha,
            base_sha=base_sha,
            draft=draft,
            commits=self.rev_list(head_sha, exclude=base_sha),
        )
        issue.pull = pr
        issue.add_labels(*labels)
        return pr

    def pulls_for_commit(self, sha: str) -> list[PullRequest]:
        """Pull requests associated with a commit, as GitHub lists them."""
        found = []
        for pr in self.pulls.values():
            if sha in pr.commits or sha == pr.merge_commit_sha or sha in pr.landed:
                found.append(pr)
            elif pr.state == "open" and sha == pr.head_sha:
                found.append(pr)
        return found

    def label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())

    def add_label(self, name: str, color: str = "ededed", description: str | None = None) -> Label:
        made = Label(self.world.next_id("label"), name, color, description)
        self.labels[name.lower()] = made
        return made

    # -- checks ----------------------------------------------------------------------------------
    def check_suite_for(self, app: App, head_sha: str) -> CheckSuite:
        for suite in self.check_suites.values():
            if suite.app is app and suite.head_sha == head_sha:
                return suite
        now = self.world.now()
        branch = next((b for b, sha in self.branches.items() if sha == head_sha), None)
        suite = CheckSuite(self.world.next_id("check_suite"), self, app, head_sha, branch, now, now)
        self.check_suites[suite.id] = suite
        return suite

    def add_check_run(
        self,
        head_sha: str,
        name: str,
        *,
        app: App | None = None,
        status: str = "completed",
        conclusion: str | None = "success",
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        external_id: str | None = "",
        details_url: str | None = None,
        actions: Sequence[Mapping[str, str]] = (),
    ) -> CheckRun:
        """Record a check run (as if ``app`` had created it; default: the fake's own app)."""
        world = self.world
        app = app or world.app
        if status not in CHECK_STATUSES:
            raise ValueError(f"bad status {status!r}")
        if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
            raise ValueError(f"bad conclusion {conclusion!r}")
        if conclusion is not None:
            status = "completed"
        now = world.now()
        suite = self.check_suite_for(app, head_sha)
        run = CheckRun(
            id=world.next_id("check_run"),
            repo=self,
            suite=suite,
            name=name,
            head_sha=head_sha,
            status=status,
            conclusion=conclusion if status == "completed" else None,
            started_at=now,
            completed_at=now if status == "completed" else None,
            title=title,
            summary=summary,
            text=text,
            external_id=external_id,
            details_url=details_url,
            actions=[dict(a) for a in actions],
        )
        self.check_runs[run.id] = run
        suite.updated_at = now
        return run


@dataclass(eq=False)
class HookDelivery:
    """One attempt to deliver a webhook event to the app's webhook URL, as GitHub's "List
    deliveries for an app webhook" / "Get a delivery for an app webhook" show it.

    ``guid`` is the event's ``X-GitHub-Delivery`` (shared by the redeliveries of that event);
    ``id`` grows with every attempt. ``status`` is GitHub's wording: ``OK`` for a 2xx answer,
    ``Invalid HTTP Response: <code>`` for another answer, ``timed out`` (``status_code`` 0) when the
    receiver did not answer in time, ``failed to connect to host`` (0) when nothing listened.
    ``request_body`` keeps the exact bytes sent, so a redelivery sends them again."""

    id: int
    guid: str
    delivered_at: datetime
    redelivery: bool
    duration: float
    status: str
    status_code: int
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    url: str | None = None
    throttled_at: datetime | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_payload: dict[str, Any] = field(default_factory=dict)
    request_body: bytes = field(default=b"", repr=False)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None

    def __repr__(self) -> str:
        kind = "redelivery" if self.redelivery else "delivery"
        return f"<HookDelivery {self.id} {kind} {self.event}/{self.action} {self.status_code}>"

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx (the ``status=success`` filter)."""
        return 200 <= self.status_code < 300


_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def _check_ref_name(name: str) -> None:
    """The main rules of ``git check-ref-format`` for a branch or tag name."""
    if (
        not name
        or _BAD_REF_CHARS.search(name)
        or ".." in name
        or "@{" in name
        or "//" in name
        or name.startswith(("-", "/", "."))
        or name.endswith(("/", ".", ".lock"))
        or "/." in name
        or name == "@"
    ):
        raise ValueError(f"{name!r} is not a valid ref name")


class World:
    """Everything the fake knows. :class:`~tests.fakegithub.FakeGitHub` delegates to this."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        app_id: int | None = None,
        app_slug: str = "countersign",
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._counters: dict[str, itertools.count[int]] = {
            kind: itertools.count(base + 1) for kind, base in _ID_BASES.items()
        }
        self.accounts: dict[str, Account] = {}
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.repos: dict[str, Repository] = {}
        self.teams: dict[tuple[str, str], Team] = {}
        self.hook_deliveries: list[HookDelivery] = []
        """Every delivery attempt of the app's webhook, oldest first (redeliveries included)."""
        self.web_flow = self._add_account("web-flow", "User", name="GitHub", ident=19864447)
        self.web_flow.email = "noreply@github.com"
        self.default_author = "octocat"
        owner = self._add_account("countersign-dev", "Organization")
        self.app = self.add_app(app_slug, owner=owner, app_id=app_id)

    # -- basics ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        now = self.clock.now()
        if now.tzinfo is None:
            raise ValueError("the clock must return aware datetimes")
        return now

    def next_id(self, kind: str) -> int:
        return next(self._counters[kind])

    # -- accounts ----------------------------------------------------------------------------------
    def _add_account(
        self,
        login: str,
        type_: AccountType,
        *,
        name: str | None = None,
        email: str | None = None,
        ident: int | None = None,
    ) -> Account:
        if login.lower() in self.accounts:
            raise ValueError(f"account {login!r} exists")
        account = Account(
            login, ident or self.next_id("account"), type_, self.now(), name=name, email=email
        )
        self.accounts[login.lower()] = account
        return account

    def add_user(
        self,
        login: str,
        *,
        name: str | None = None,
        email: str | None = None,
        emails: Iterable[str] = (),
    ) -> Account:
        """A user. ``email`` is used for their commits; ``emails`` are further linked addresses."""
        account = self._add_account(login, "User", name=name, email=email)
        account.extra_emails.extend(emails)
        return account

    def add_bot(self, login: str) -> Account:
        """A bot account such as ``dependabot[bot]``."""
        if not login.endswith("[bot]"):
            login += "[bot]"
        return self._add_account(login, "Bot")

    def add_org(self, login: str, *, name: str | None = None) -> Account:
        return self._add_account(login, "Organization", name=name)

    def find_account(self, login: str) -> Account | None:
        return self.accounts.get(login.lower())

    def account(self, who: str | Account) -> Account:
        """The account for a login, created on first mention (``...[bot]`` logins are bots)."""
        if isinstance(who, Account):
            return who
        if "<" in who:
            raise ValueError(f"{who!r} is a git identity, not a login")
        found = self.find_account(who)
        if found is not None:
            return found
        return self.add_bot(who) if who.endswith("[bot]") else self.add_user(who)

    def account_for_email(self, email: str) -> Account | None:
        wanted = email.lower()
        for account in self.accounts.values():
            if any(e.lower() == wanted for e in account.emails):
                return account
        return None

    # -- apps and installations -------------------------------------------------------------------
    def add_app(
        self, slug: str, *, owner: str | Account | None = None, app_id: int | None = None
    ) -> App:
        owner_acc = self.account(owner) if owner else self.account(self.default_author)
        bot = self._add_account(f"{slug}[bot]", "Bot")
        app = App(
            app_id or self.next_id("app"),
            slug,
            slug.replace("-", " ").title(),
            owner_acc,
            bot,
            self.now(),
        )
        self.apps[app.id] = app
        return app

    def install(
        self,
        account: str | Account,
        *,
        app: App | None = None,
        repositories: Iterable[Repository | str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> Installation:
        """Install an app (default: the fake's own) on all, or the given, repositories."""
        app = app or self.app
        owner = self.account(account)
        inst = Installation(
            self.next_id("installation"),
            app,
            owner,
            self.now(),
            repository_selection="all" if repositories is None else "selected",
            repositories=[self.repo(r) if isinstance(r, str) else r for r in repositories or []],
            permissions=dict(permissions or app.permissions),
            events=list(app.events),
        )
        inst._world = self
        self.installations[inst.id] = inst
        return inst

    def installation_for(self, repo: Repository, app: App | None = None) -> Installation | None:
        app = app or self.app
        for inst in self.installations.values():
            if inst.app is app and inst.covers(repo):
                return inst
        return None

    def installation_of(self, account: Account, app: App | None = None) -> Installation | None:
        app = app or self.app
        for inst in self.installations.values():
            if inst.app is app and inst.account is account:
                return inst
        return None

    # -- repositories and teams ---------------------------------------------------------------------
    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        protected: Iterable[str] = (),
        owner_type: Literal["User", "Organization"] | None = None,
        installed: bool = True,
        files: Mapping[str, FileContent] | None = None,
    ) -> Repository:
        """A repository with one initial commit on ``default_branch``.

        The owner is created if needed (an organization unless ``owner_type="User"``). With
        ``installed`` (the default) the fake's app gets an installation on the owner covering it.
        """
        owner_login, _, name = full_name.partition("/")
        if not name:
            raise ValueError("use owner/name")
        owner = self.find_account(owner_login)
        if owner is None:
            if owner_type == "User":
                owner = self.add_user(owner_login)
            else:
                owner = self.add_org(owner_login)
        if full_name.lower() in self.repos:
            raise ValueError(f"{full_name} exists")
        repo = Repository(
            self,
            owner,
            name,
            default_branch=default_branch,
            private=private,
            protected=protected,
        )
        self.repos[full_name.lower()] = repo
        initial = {"README.md": f"# {name}\n".encode()}
        initial.update({p: _bytes(c) for p, c in (files or {}).items() if c is not None})
        repo.commit(default_branch, message="Initial commit", files=initial)
        if installed:
            inst = self.installation_of(owner)
            if inst is None:
                self.install(owner)
            else:
                inst.add_repository(repo)
        return repo

    def repo(self, full_name: str) -> Repository:
        return self.repos[full_name.lower()]

    def find_repo(self, owner: str, name: str) -> Repository | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def release_asset(self, asset_id: int) -> ReleaseAsset | None:
        """A release asset of any repository, by id (None once its release is deleted)."""
        for repo in self.repos.values():
            for release in repo.releases:
                for asset in release.assets:
                    if asset.id == asset_id:
                        return asset
        return None

    def add_team(
        self,
        org: str | Account,
        slug: str,
        *,
        members: Iterable[str | Account] = (),
        maintainers: Iterable[str | Account] = (),
        name: str | None = None,
    ) -> Team:
        org_acc = self.account(org) if not isinstance(org, str) else self.find_account(org)
        if org_acc is None:
            org_acc = self.add_org(org if isinstance(org, str) else org.login)
        team = Team(self.next_id("team"), org_acc, slug, name or slug)
        team._world = self
        for login in members:
            team.add_member(login)
        for login in maintainers:
            team.add_member(login, role="maintainer")
        self.teams[(org_acc.login.lower(), slug.lower())] = team
        return team

    def team(self, org: str, slug: str) -> Team | None:
        return self.teams.get((org.lower(), slug.lower()))
