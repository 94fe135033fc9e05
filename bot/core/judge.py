"""Judging a change against the policy.

Everything here is a pure function of its arguments: :class:`~bot.facts.ChangeFacts` and a
:class:`~bot.policy.Policy` in, a :class:`Verdict` out. The same facts always give the same verdict,
so the pre-merge check of an open pull request (``merged_by`` None) and the record written after it
lands never disagree about the same facts.

Who counts
    An approval counts when it is the reviewer's latest review other than a comment (a later
    "changes requested" or a dismissal cancels it), by a human who is neither the pull request's
    author nor an author, committer or co-author of any of its commits. Merges of the base branch
    made by GitHub's "Update branch" button do not make their author a contributor, and GitHub
    itself (the web-flow committer) is no contributor. ``allow_contributors`` relaxes only the
    contributor part: the author never counts.
Fresh
    An approval is stale when a commit that changes the diff was pushed after the commit it
    reviewed, or when that commit is no longer in the pull request. Staleness is always reported;
    it disqualifies the approval only where the requirement says ``fresh: true``.
The merger
    An independent human merger counts as one implicit review where ``merger_counts`` is true,
    unless they are already counted for that requirement (nobody counts twice).
Sign-offs
    People who signed the change off after it landed count as fresh approvals, under the same
    rules (never the author, the pusher, a bot, or, unless ``allow_contributors``, a contributor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

from bot.core.facts import Actor, ChangeFacts, FileFacts, OriginalFacts, ReviewFacts
from bot.core.gitattributes import is_binary
from bot.core.people import contributors, fold, is_update_branch_merge
from bot.core.policy import (
    HISTORY_REWRITE,
    INCOMPLETE_VIEW,
    Policy,
    PolicyError,
    Requirement,
    path_patterns,
)

Status = Literal["reviewed", "unreviewed", "under-reviewed", "direct-push", "force-push"]
Conclusion = Literal["success", "failure", "neutral"]
VerdictSeverity = Literal["none", "low", "high"]
Reason = Literal["author", "contributor", "bot", "pusher", "no write access"]

STATUSES: Final[tuple[Status, ...]] = (
    "reviewed",
    "unreviewed",
    "under-reviewed",
    "direct-push",
    "force-push",
)
CONCLUSIONS: Final[tuple[Conclusion, ...]] = ("success", "failure", "neutral")

FILES_IN_TEXT: Final = 5
"""How many files ``to_satisfy`` names before "and N more"."""


def _signoff_requirement(name: str) -> Requirement:
    """A synthetic requirement: one fresh sign-off (or approval), severity high, an audit issue."""
    return Requirement(
        name=name,
        approvals=1,
        merger_counts=False,
        fresh=True,
        severity="high",
        actions=("check", "issue"),
    )


HISTORY_REWRITE_REQUIREMENT: Final = _signoff_requirement(HISTORY_REWRITE)
"""The synthetic requirement added for a force push or a branch deletion: one sign-off."""

INCOMPLETE_VIEW_REQUIREMENT: Final = _signoff_requirement(INCOMPLETE_VIEW)
"""The synthetic requirement added when GitHub could not show all of a change (``unseen``): what
was not seen cannot have been reviewed, so it fails closed until someone signs it off."""


@dataclass(frozen=True)
class ApprovalAssessment:
    """One person's approval (or sign-off) and what is true of it, whatever the requirement.

    ``independent`` is true when ``excluded_because`` is None. ``stale`` is true when
    ``commits_after`` diff-changing commits came after the reviewed commit, or when that commit is
    ``gone`` from the pull request. A sign-off has no review id and is never stale.
    """

    reviewer: str
    review_id: int | None
    commit_sha: str | None
    independent: bool
    stale: bool
    commits_after: int
    gone: bool
    signoff: bool
    excluded_because: str | None


@dataclass(frozen=True)
class RequirementResult:
    """How one requirement fared. ``counted`` are the logins whose approvals or sign-offs count;
    ``implicit_merger`` the merger counted as an implicit review; ``missing`` how many more
    people are needed; ``to_satisfy`` (None when met) says what would meet it."""

    requirement: Requirement
    met: bool
    counted: tuple[str, ...]
    implicit_merger: str | None
    needed: int
    missing: int
    matched_files: tuple[str, ...]
    explanation: str
    to_satisfy: str | None


@dataclass(frozen=True)
class Verdict:
    """The judgement of one change."""

    status: Status
    conclusion: Conclusion
    severity: VerdictSeverity
    requirements: tuple[RequirementResult, ...]
    approvals: tuple[ApprovalAssessment, ...]
    not_counting: tuple[tuple[str, str], ...]
    actions: frozenset[str]
    notify: tuple[str, ...]
    signed_off: bool
    signed_off_by: tuple[str, ...]
    binary_files: tuple[str, ...]
    policy_errors: tuple[PolicyError, ...]
    backport_reviewers: tuple[str, ...] = ()
    """For a clean backport, who reviewed its originals (from their records or, for one without,
    the judge's own judgement of it)."""

    @property
    def unmet(self) -> tuple[RequirementResult, ...]:
        """The requirements that are not met, in order."""
        return tuple(result for result in self.requirements if not result.met)


# ---------------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------------


def _is_bot(actor: Actor) -> bool:
    return actor.is_bot or actor.login.lower().endswith("[bot]")


@dataclass(frozen=True)
class _People:
    author: str | None
    pusher: str | None
    contributors: frozenset[str]

    @classmethod
    def of(cls, facts: ChangeFacts) -> _People:
        return cls(
            author=fold(facts.author.login) if facts.author else None,
            pusher=fold(facts.pusher) if facts.pusher else None,
            contributors=frozenset(fold(login) for login in contributors(facts)),
        )

    def exclusion(self, actor: Actor, *, can_push: bool = True) -> Reason | None:
        """Why ``actor`` cannot count, or None. ``can_push`` is GitHub's word on whether they have
        write access; it is checked before "contributor", which ``allow_contributors`` waives."""
        key = fold(actor.login)
        if key == self.author:
            return "author"
        if key == self.pusher:
            return "pusher"
        if _is_bot(actor):
            return "bot"
        if not can_push:
            return "no write access"
        if key in self.contributors:
            return "contributor"
        return None


# ---------------------------------------------------------------------------------------------
# Approvals
# ---------------------------------------------------------------------------------------------


def effective_approvals(reviews: Sequence[ReviewFacts]) -> tuple[ReviewFacts, ...]:
    """Each reviewer's latest review other than COMMENTED and PENDING, where it is APPROVED.

    In review order. A later CHANGES_REQUESTED or DISMISSED review cancels an approval; a later
    comment does not.
    """
    latest: dict[str, tuple[int, ReviewFacts]] = {}
    for index, review in enumerate(reviews):
        if review.state in ("COMMENTED", "PENDING"):
            continue
        latest[fold(review.reviewer.login)] = (index, review)
    approved = sorted(
        (pair for pair in latest.values() if pair[1].state == "APPROVED"), key=lambda p: p[0]
    )
    return tuple(review for _, review in approved)


def _assess(facts: ChangeFacts, people: _People) -> tuple[ApprovalAssessment, ...]:
    position = {commit.sha.lower(): index for index, commit in enumerate(facts.commits)}
    changes = [not is_update_branch_merge(c, facts.branch) for c in facts.commits]
    assessed: list[ApprovalAssessment] = []
    if facts.kind == "pull_request":
        for review in effective_approvals(facts.reviews):
            index = position.get((review.commit_sha or "").lower())
            gone = index is None
            after = 0 if index is None else sum(changes[index + 1 :])
            reason = people.exclusion(review.reviewer, can_push=review.author_can_push)
            assessed.append(
                ApprovalAssessment(
                    reviewer=review.reviewer.login,
                    review_id=review.id,
                    commit_sha=review.commit_sha,
                    independent=reason is None,
                    stale=gone or after > 0,
                    commits_after=after,
                    gone=gone,
                    signoff=False,
                    excluded_because=reason,
                )
            )
    seen: set[str] = set()
    for actor in facts.signoffs:
        if fold(actor.login) in seen:
            continue
        seen.add(fold(actor.login))
        reason = people.exclusion(actor)
        assessed.append(
            ApprovalAssessment(
                reviewer=actor.login,
                review_id=None,
                commit_sha=facts.subject_sha,
                independent=reason is None,
                stale=False,
                commits_after=0,
                gone=False,
                signoff=True,
                excluded_because=reason,
            )
        )
    return tuple(assessed)


def staleness(approval: ApprovalAssessment) -> str | None:
    """Why an approval is stale, in words, or None when it is fresh."""
    if approval.gone:
        return "approved a commit that is no longer in the pull request"
    if approval.commits_after:
        n = approval.commits_after
        return f"{n} commit{'s were' if n != 1 else ' was'} pushed after it"
    return None


# ---------------------------------------------------------------------------------------------
# Requirements
# ---------------------------------------------------------------------------------------------


def files_text(paths: Sequence[str], limit: int = FILES_IN_TEXT) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 7 more``."""
    shown = ", ".join(paths[:limit])
    if len(paths) > limit:
        return f"{shown} and {len(paths) - limit} more"
    return shown


def teams_text(repository: str, teams: Sequence[str]) -> str:
    """``@org/a`` or ``@org/a or @org/b``, the org being the repository's owner."""
    org = repository.split("/", 1)[0]
    return " or ".join(f"@{org}/{slug}" for slug in teams)


def _people_text(logins: Sequence[str]) -> str:
    return ", ".join(f"@{login}" for login in logins)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class _Judged:
    result: RequirementResult
    met_by_reviews: bool
    reviewed: bool  # some approval or implicit merger review counted
    counted_signoffs: tuple[str, ...]


def _team_members(facts: ChangeFacts, teams: Sequence[str]) -> frozenset[str] | None:
    if not teams:
        return None
    by_slug = {slug.casefold(): members for slug, members in facts.team_members.items()}
    found: set[str] = set()
    for slug in teams:
        found.update(fold(member) for member in by_slug.get(slug.casefold(), ()))
    return frozenset(found)


def _why_not(
    approval: ApprovalAssessment,
    requirement: Requirement,
    members: frozenset[str] | None,
    team: str,
) -> str | None:
    reason = approval.excluded_because
    if reason is not None and (reason != "contributor" or not requirement.allow_contributors):
        return reason
    if requirement.name == INCOMPLETE_VIEW and not approval.signoff:
        # the reviewer saw no more than GitHub showed: only a sign-off can vouch for the rest
        return "an approval cannot cover what GitHub could not show; a sign-off can"
    if requirement.fresh and approval.stale:
        return f"stale: {staleness(approval)}"
    if members is not None and fold(approval.reviewer) not in members:
        return f"not a member of {team}"
    return None


def _judge_requirement(
    facts: ChangeFacts,
    requirement: Requirement,
    matched: tuple[str, ...],
    approvals: Sequence[ApprovalAssessment],
    merger: Actor | None,
    merger_reason: Reason | None,
) -> _Judged:
    members = _team_members(facts, requirement.teams)
    team = teams_text(facts.repository, requirement.teams)
    landed = facts.kind != "pull_request" or facts.merged_by is not None or facts.merged
    counted: dict[str, str] = {}
    approved: list[str] = []
    signed: list[str] = []
    notes: list[str] = []
    for approval in approvals:
        why = _why_not(approval, requirement, members, team)
        if why is not None:
            kind = "sign-off, " if approval.signoff else ""
            notes.append(f"@{approval.reviewer} ({kind}{why})")
            continue
        if fold(approval.reviewer) in counted:
            continue
        counted[fold(approval.reviewer)] = approval.reviewer
        (signed if approval.signoff else approved).append(approval.reviewer)

    implicit_possible = False
    implicit: str | None = None
    if merger is not None and requirement.merger_counts:
        key = fold(merger.login)
        if merger_reason is not None:
            notes.append(f"@{merger.login} (merged, but is {_reason_words(merger_reason)})")
        elif members is not None and key not in members:
            notes.append(f"@{merger.login} (merged, but is not a member of {team})")
        elif key not in {fold(login) for login in approved}:
            implicit_possible = True
            if key not in counted:
                implicit = merger.login

    total = len(counted) + (1 if implicit else 0)
    needed = requirement.approvals
    met = total >= needed
    missing = max(0, needed - total)
    reviewed = bool(approved) or implicit_possible
    met_by_reviews = len(approved) + (1 if implicit_possible else 0) >= needed

    is_pr = facts.kind == "pull_request"
    noun = ("approval" if is_pr else "sign-off") + ("" if needed == 1 else "s")
    qualified = ("fresh " if requirement.fresh and is_pr else "") + noun
    if requirement.teams:
        qualified += f" from {team}"
    parts = []
    if approved:
        parts.append(f"approved by {_people_text(approved)}")
    if implicit:
        parts.append(f"implicit review by the merger @{implicit}")
    if signed:
        when = "after merge" if facts.kind == "pull_request" else "after the push"
        parts.append(f"signed off {when} by {_people_text(signed)}")
    head = "no approval required" if needed == 0 else f"needs {needed} {qualified}, has {total}"
    explanation = ("met: " if met else "not met: ") + head
    if parts:
        explanation += ": " + "; ".join(parts)
    if notes:
        explanation += "; not counted: " + ", ".join(notes)

    to_satisfy: str | None = None
    if not met:
        word = "approval" if not landed else "sign-off"
        fresh = "fresh " if requirement.fresh and not landed else ""
        more = "more " if total else ""
        to_satisfy = f"needs {missing} {more}{fresh}{word}{'s' if missing != 1 else ''}"
        if requirement.teams:
            to_satisfy += f" from {'a member' if missing == 1 else 'members'} of {team}"
        if not requirement.is_base:
            to_satisfy += f" for {requirement.name} ({files_text(matched)})"
        elif requirement.name != "review":
            to_satisfy += f" for {requirement.name}"
        if not landed and requirement.merger_counts and missing == 1:
            who = f"a member of {team}" if requirement.teams else "someone"
            to_satisfy += f" (or a merge by {who} who is neither the author nor a contributor)"

    result = RequirementResult(
        requirement=requirement,
        met=met,
        counted=tuple(counted.values()),
        implicit_merger=implicit,
        needed=needed,
        missing=missing,
        matched_files=matched,
        explanation=explanation,
        to_satisfy=to_satisfy,
    )
    return _Judged(result, met_by_reviews, reviewed, tuple(signed))


def _inherits(facts: ChangeFacts, policy: Policy) -> bool:
    """Whether a backport passes its originals' reviews on: a clean copy of originals confirmed
    through the API, all merged within the policy's window, where the policy lets reviews pass."""
    backport = facts.backport
    return (
        backport is not None
        and backport.clean
        and bool(backport.originals)
        and all(original.in_window for original in backport.originals)
        and policy.backports.inherit_review
    )


def _originals_judged(facts: ChangeFacts, policy: Policy) -> tuple[OriginalFacts, ...]:
    """The originals with their requirements: as their records say, or, for one countersign has
    no record of, as the judge finds them now."""
    assert facts.backport is not None
    found = []
    for original in facts.backport.originals:
        if not original.requirements and original.facts is not None:
            verdict = judge(original.facts, policy)
            reviewers = {
                login
                for r in verdict.requirements
                for login in (*r.counted, *([r.implicit_merger] if r.implicit_merger else []))
            }
            original = replace(
                original,
                requirements=tuple((r.requirement.name, r.met) for r in verdict.requirements),
                reviewers=tuple(sorted(reviewers, key=fold)),
            )
        found.append(original)
    return tuple(found)


def _inherited(
    judged: _Judged, facts: ChangeFacts, originals: tuple[OriginalFacts, ...]
) -> _Judged:
    """A requirement of a clean backport, met where every original that had it met it: the
    original's review is the backport's (an unmet one stays unmet: the backport of an
    unreviewed change is unreviewed too, unless someone reviews the backport)."""
    result = judged.result
    backport = facts.backport
    if result.met or backport is None:
        return judged
    name = result.requirement.name
    had = [dict(o.requirements) for o in originals if name in dict(o.requirements)]
    if not had or not all(requirements[name] for requirements in had):
        return judged
    numbers = ", ".join(f"#{o.number}" for o in originals)
    reviewers = sorted({r for o in originals for r in o.reviewers}, key=fold)
    by = f" (reviewed by {_people_text(reviewers)})" if reviewers else ""
    inherited = replace(
        result,
        met=True,
        missing=0,
        explanation=f"met: inherited from {numbers}, of which this is a clean backport{by}",
        to_satisfy=None,
    )
    return _Judged(inherited, True, True, judged.counted_signoffs)


def _reason_words(reason: str) -> str:
    return {
        "author": "the author",
        "contributor": "a contributor",
        "bot": "a bot",
        "pusher": "the pusher",
        "no write access": "without write access",
    }.get(reason, reason)


def _matched_files(
    rules: Sequence[Requirement], files: Sequence[FileFacts], binary: dict[str, bool]
) -> list[tuple[str, ...]]:
    """For each rule, the files it matches, as :meth:`Requirement.matches` decides.

    Every rule's ``paths`` are searched in one RE2 pass per path (linear in its length), so a
    judgement costs one pass per changed path (two for a rename), whatever the policy.
    """
    patterns = path_patterns(tuple(rule.paths for rule in rules))
    matched: list[list[str]] = [[] for _ in rules]
    for file in files:
        named = patterns.matching(file.path)
        if file.previous_path is not None:
            before = patterns.matching(file.previous_path)
            named = [now or then for now, then in zip(named, before, strict=True)]
        for index, rule in enumerate(rules):
            if rule.is_base or (rule.binary and binary[file.path]) or named[index]:
                matched[index].append(file.path)
    return [tuple(paths) for paths in matched]


# ---------------------------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------------------------


def judge(facts: ChangeFacts, policy: Policy) -> Verdict:
    """Judge one change against the policy. Pure: the same arguments give the same verdict."""
    people = _People.of(facts)
    binary = {f.path: is_binary(f, facts.gitattributes) for f in facts.files}
    binary_files = tuple(path for path, flag in binary.items() if flag)
    approvals = _assess(facts, people)
    merger = facts.merged_by if facts.kind == "pull_request" else None
    merger_reason = people.exclusion(merger) if merger is not None else None

    applicable: list[tuple[Requirement, tuple[str, ...]]] = [
        (policy.review, tuple(f.path for f in facts.files))
    ]
    for rule, matched in zip(
        policy.rules, _matched_files(policy.rules, facts.files, binary), strict=True
    ):
        if matched:
            applicable.append((rule, matched))
    rewrite = facts.kind in ("force_push", "branch_deletion")
    if rewrite:
        applicable.append((HISTORY_REWRITE_REQUIREMENT, ()))
    if facts.unseen:
        applicable.append((INCOMPLETE_VIEW_REQUIREMENT, ()))

    judged = [
        _judge_requirement(facts, requirement, matched, approvals, merger, merger_reason)
        for requirement, matched in applicable
    ]
    backport_reviewers: tuple[str, ...] = ()
    if _inherits(facts, policy):
        originals = _originals_judged(facts, policy)
        judged = [_inherited(j, facts, originals) for j in judged]
        backport_reviewers = tuple(sorted({r for o in originals for r in o.reviewers}, key=fold))
    results = tuple(j.result for j in judged)
    unmet = [r for r in results if not r.met]

    status: Status
    if facts.kind == "push":
        status = "direct-push"
    elif rewrite:
        status = "force-push"
    elif all(j.met_by_reviews for j in judged):
        status = "reviewed"
    elif any(j.reviewed for j in judged):
        status = "under-reviewed"
    else:
        status = "unreviewed"

    severity: VerdictSeverity = "none"
    if unmet:
        high = rewrite or any(r.requirement.severity == "high" for r in unmet)
        severity = "high" if high else "low"
    conclusion: Conclusion = (
        "success" if not unmet else "failure" if severity == "high" else "neutral"
    )

    actions = {"check"}
    notify: dict[str, None] = {}
    for result in unmet:
        actions.update(result.requirement.actions)
        for who in result.requirement.notify:
            notify.setdefault(who, None)
    if unmet and (rewrite or facts.unseen):
        actions.add("issue")

    counted_signoffs = {fold(login) for j in judged for login in j.counted_signoffs}
    signed_off_by = tuple(
        a.reviewer for a in approvals if a.signoff and fold(a.reviewer) in counted_signoffs
    )

    return Verdict(
        status=status,
        conclusion=conclusion,
        severity=severity,
        requirements=results,
        approvals=approvals,
        not_counting=_not_counting(facts, approvals, applicable, merger, merger_reason),
        actions=frozenset(actions),
        notify=tuple(notify),
        signed_off=not unmet and bool(signed_off_by),
        signed_off_by=signed_off_by,
        binary_files=binary_files,
        policy_errors=policy.errors,
        backport_reviewers=backport_reviewers,
    )


def _not_counting(
    facts: ChangeFacts,
    approvals: Sequence[ApprovalAssessment],
    applicable: Sequence[tuple[Requirement, tuple[str, ...]]],
    merger: Actor | None,
    merger_reason: Reason | None,
) -> tuple[tuple[str, str], ...]:
    """Who cannot count, and why: the author and the pusher always, the contributors where a
    requirement excludes them, and every approver or merger excluded for another reason."""
    contributors_excluded = any(not r.allow_contributors for r, _ in applicable)
    found: dict[str, tuple[str, str]] = {}
    if facts.author is not None:
        found[fold(facts.author.login)] = (facts.author.login, "author")
    if facts.pusher:
        found.setdefault(fold(facts.pusher), (facts.pusher, "pusher"))
    if contributors_excluded:
        for login in sorted(contributors(facts), key=fold):
            found.setdefault(fold(login), (login, "contributor"))
    for approval in approvals:
        reason = approval.excluded_because
        if reason is None or (reason == "contributor" and not contributors_excluded):
            continue
        found.setdefault(fold(approval.reviewer), (approval.reviewer, reason))
    if merger is not None and merger_reason is not None:
        if any(r.merger_counts for r, _ in applicable):
            found.setdefault(fold(merger.login), (merger.login, merger_reason))
    return tuple(found.values())
