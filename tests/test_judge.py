"""The judge: who counts, freshness, the merger, teams, sign-offs, pushes, binaries, verdicts."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from bot.core.facts import Actor, ChangeFacts, CommitFacts, FileFacts, ReviewFacts
from bot.core.gitattributes import MAX_ATTRIBUTE_LINES, is_binary
from bot.core.judge import (
    HISTORY_REWRITE_REQUIREMENT,
    RequirementResult,
    Verdict,
    effective_approvals,
    judge,
)
from bot.core.people import contributors, is_update_branch_merge, login_from_email
from bot.core.policy import Policy, PolicySource, default_policy, is_audited_branch, load_policy
from bot.core.record import snapshot

REPO = "octo-org/cpython"


# --- helpers -----------------------------------------------------------------------------------


def policy(text: str = "") -> Policy:
    """A policy with only what ``text`` says (no shipped rules): base review 1 approval."""
    loaded = load_policy([PolicySource("test.yml", textwrap.dedent(text))])
    assert loaded.errors == (), loaded.errors
    return loaded


ONE = policy()
STRICT_RULE = policy(
    """
    rules:
      - name: build-system
        paths: ["configure*", "**/*.m4"]
        approvals: 2
        fresh: true
        merger_counts: false
        severity: high
        actions: [check, issue, label]
        notify: ["@octo-org/build-team"]
    """
)


def commit(
    sha: str,
    author: str | None = "alice",
    *,
    committer: str | None = None,
    parents: Sequence[str] = ("p",),
    co_authors: Sequence[str] = (),
    emails: Sequence[str] = (),
    by_github: bool = False,
    message: str = "Change things",
) -> CommitFacts:
    return CommitFacts(
        sha=sha,
        message=message,
        parents=tuple(parents),
        author=author,
        committer=committer if committer is not None else author,
        co_authors=tuple(co_authors),
        co_author_emails=tuple(emails),
        committed_by_github=by_github,
    )


def approve(review_id: int, who: str, sha: str = "c1", state: str = "APPROVED") -> ReviewFacts:
    return ReviewFacts(id=review_id, reviewer=Actor.of(who), state=state, commit_sha=sha)  # type: ignore[arg-type]


def pr(
    *,
    commits: Sequence[CommitFacts] | None = None,
    reviews: Sequence[ReviewFacts] = (),
    files: Sequence[str | FileFacts] = ("Lib/os.py",),
    author: str = "alice",
    merged_by: str | None = None,
    signoffs: Sequence[str] = (),
    team_members: dict[str, frozenset[str]] | None = None,
    gitattributes: str | None = None,
) -> ChangeFacts:
    commits = tuple(commits) if commits is not None else (commit("c1"),)
    return ChangeFacts(
        kind="pull_request",
        repository=REPO,
        branch="main",
        head_sha=commits[-1].sha if commits else "c1",
        number=123,
        title="gh-1: Improve things",
        url=f"https://github.com/{REPO}/pull/123",
        author=Actor.of(author),
        merged_by=Actor.of(merged_by) if merged_by else None,
        merged=merged_by is not None,
        merge_commit_sha="m1" if merged_by else None,
        commits=commits,
        reviews=tuple(reviews),
        files=tuple(FileFacts(f) if isinstance(f, str) else f for f in files),
        gitattributes=gitattributes,
        signoffs=tuple(Actor.of(s) for s in signoffs),
        team_members=team_members or {},
    )


def push(
    kind: str = "push",
    *,
    pusher: str = "alice",
    files: Sequence[str] = ("Lib/os.py",),
    signoffs: Sequence[str] = (),
    commits: Sequence[CommitFacts] | None = None,
) -> ChangeFacts:
    return ChangeFacts(
        kind=kind,  # type: ignore[arg-type]
        repository=REPO,
        branch="main",
        head_sha="a" * 40,
        pusher=pusher,
        before="b" * 40,
        after="a" * 40 if kind != "branch_deletion" else "0" * 40,
        compare_url=f"https://github.com/{REPO}/compare/bbbbbbb...aaaaaaa",
        commits=tuple(commits) if commits is not None else (commit("a" * 40, pusher),),
        files=tuple(FileFacts(f) for f in files),
        signoffs=tuple(Actor.of(s) for s in signoffs),
    )


def result(verdict: Verdict, name: str = "review") -> RequirementResult:
    for found in verdict.requirements:
        if found.requirement.name == name:
            return found
    raise AssertionError(
        f"no requirement {name}: {[r.requirement.name for r in verdict.requirements]}"
    )


def counted(facts: ChangeFacts, pol: Policy = ONE, name: str = "review") -> tuple[str, ...]:
    return result(judge(facts, pol), name).counted


# --- independence ------------------------------------------------------------------------------


def test_independent_approval_counts() -> None:
    verdict = judge(pr(reviews=[approve(1, "bob")]), ONE)
    assert result(verdict).counted == ("bob",)
    assert verdict.status == "reviewed"
    assert verdict.conclusion == "success"
    assert verdict.severity == "none"


def test_self_approval_does_not_count() -> None:
    verdict = judge(pr(reviews=[approve(1, "alice")]), ONE)
    assert result(verdict).counted == ()
    assert verdict.status == "unreviewed"
    assert verdict.approvals[0].excluded_because == "author"
    assert verdict.not_counting == (("alice", "author"),)


def test_author_comparison_ignores_case() -> None:
    assert counted(pr(author="Alice", reviews=[approve(1, "alice")])) == ()


@pytest.mark.parametrize(
    "commit_",
    [
        commit("c1", "bob"),  # commit author
        commit("c1", "alice", committer="bob"),  # committer
        commit("c1", "alice", co_authors=["bob"]),  # resolved Co-authored-by
        commit("c1", "alice", emails=["12345+bob@users.noreply.github.com"]),
        commit("c1", "alice", emails=["bob@users.noreply.github.com"]),
        commit("c1", "alice", emails=["Bob <BOB@users.noreply.github.com>"]),
    ],
    ids=["author", "committer", "co-author", "noreply-id", "noreply", "noreply-named"],
)
def test_contributor_approval_does_not_count(commit_: CommitFacts) -> None:
    facts = pr(commits=[commit_], reviews=[approve(1, "bob")])
    verdict = judge(facts, ONE)
    assert result(verdict).counted == ()
    assert verdict.approvals[0].excluded_because == "contributor"
    assert ("bob", "contributor") in {(who.lower(), why) for who, why in verdict.not_counting}
    assert verdict.status == "unreviewed"


def test_co_author_email_that_is_not_noreply_names_nobody() -> None:
    assert login_from_email("bob@example.com") is None
    assert login_from_email("1+bob@users.noreply.github.com") == "bob"
    facts = pr(commits=[commit("c1", emails=["bob@example.com"])], reviews=[approve(1, "bob")])
    assert counted(facts) == ("bob",)


@pytest.mark.parametrize("who", ["dependabot[bot]", "renovate[bot]"])
def test_bot_approval_does_not_count(who: str) -> None:
    verdict = judge(pr(reviews=[approve(1, who)]), ONE)
    assert result(verdict).counted == ()
    assert verdict.not_counting == (("alice", "author"), (who, "bot"))


def test_bot_flag_alone_makes_a_bot() -> None:
    review = ReviewFacts(1, Actor("helper", is_bot=True), "APPROVED", "c1")
    assert counted(pr(reviews=[review])) == ()


def test_github_as_committer_is_not_a_contributor() -> None:
    facts = pr(commits=[commit("c1", "alice", committer="web-flow", by_github=True)])
    assert contributors(facts) == frozenset({"alice"})
    # and a web-flow committer login never counts even without the flag
    facts = pr(commits=[commit("c1", "alice", committer="web-flow")])
    assert contributors(facts) == frozenset({"alice"})


def update_merge(sha: str, who: str, base: str = "main", by_github: bool = True) -> CommitFacts:
    return commit(
        sha,
        who,
        committer="web-flow",
        parents=("c1", "base9"),
        by_github=by_github,
        message=f"Merge branch '{base}' into feature\n",
    )


def test_update_branch_merge_does_not_make_a_contributor() -> None:
    facts = pr(commits=[commit("c1"), update_merge("c2", "bob")], reviews=[approve(1, "bob", "c2")])
    assert "bob" not in contributors(facts)
    assert counted(facts) == ("bob",)


def test_remote_tracking_merge_of_the_base_is_an_update_merge() -> None:
    merge = replace(
        update_merge("c2", "bob"), message="Merge remote-tracking branch 'origin/main' into x"
    )
    assert is_update_branch_merge(merge, "main")
    assert not is_update_branch_merge(merge, "3.12")


@pytest.mark.parametrize(
    "merge",
    [
        update_merge("c2", "bob", by_github=False),  # made locally: bob is a contributor
        update_merge("c2", "bob", base="feature-2"),  # merged another branch in
        replace(update_merge("c2", "bob"), parents=("c1",)),  # not a merge
    ],
    ids=["local", "other-branch", "one-parent"],
)
def test_other_merges_make_contributors(merge: CommitFacts) -> None:
    facts = pr(commits=[commit("c1"), merge], reviews=[approve(1, "bob", "c2")])
    assert "bob" in contributors(facts)
    assert counted(facts) == ()


# --- which review is the reviewer's ---------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "counts"),
    [
        (["APPROVED"], True),
        (["APPROVED", "CHANGES_REQUESTED"], False),
        (["APPROVED", "DISMISSED"], False),
        (["APPROVED", "COMMENTED"], True),
        (["APPROVED", "PENDING"], True),
        (["CHANGES_REQUESTED", "APPROVED"], True),
        (["CHANGES_REQUESTED", "APPROVED", "COMMENTED"], True),
        (["COMMENTED"], False),
        (["DISMISSED"], False),
        (["PENDING"], False),
    ],
)
def test_latest_decisive_review_wins(states: list[str], counts: bool) -> None:
    reviews = [approve(i, "bob", state=state) for i, state in enumerate(states)]
    assert counted(pr(reviews=reviews)) == (("bob",) if counts else ())


def test_other_reviewers_do_not_cancel() -> None:
    reviews = [approve(1, "bob"), approve(2, "carol", state="CHANGES_REQUESTED")]
    assert [r.reviewer.login for r in effective_approvals(reviews)] == ["bob"]


def test_a_person_counts_once_however_often_they_approve() -> None:
    facts = pr(reviews=[approve(1, "bob"), approve(2, "Bob")])
    verdict = judge(facts, policy("review: {approvals: 2}"))
    assert len(result(verdict).counted) == 1
    assert result(verdict).missing == 1


# --- freshness ---------------------------------------------------------------------------------


def two_commits(**kwargs: Any) -> ChangeFacts:
    return pr(commits=[commit("c1"), commit("c2"), commit("c3")], **kwargs)


def test_stale_approval_counts_where_freshness_is_not_required() -> None:
    verdict = judge(two_commits(reviews=[approve(1, "bob", "c1")]), ONE)
    approval = verdict.approvals[0]
    assert approval.stale and approval.commits_after == 2 and not approval.gone
    assert result(verdict).counted == ("bob",)


def test_stale_approval_does_not_count_where_freshness_is_required() -> None:
    verdict = judge(two_commits(reviews=[approve(1, "bob", "c1")]), policy("review: {fresh: true}"))
    assert result(verdict).counted == ()
    assert "stale: 2 commits were pushed after it" in result(verdict).explanation


def test_approval_of_the_head_is_fresh() -> None:
    verdict = judge(two_commits(reviews=[approve(1, "bob", "c3")]), policy("review: {fresh: true}"))
    assert not verdict.approvals[0].stale
    assert result(verdict).counted == ("bob",)


def test_force_pushed_away_commit_makes_the_approval_stale() -> None:
    verdict = judge(pr(reviews=[approve(1, "bob", "gone1")]), policy("review: {fresh: true}"))
    approval = verdict.approvals[0]
    assert approval.gone and approval.stale
    assert "no longer in the pull request" in result(verdict).explanation
    assert result(verdict).counted == ()
    assert counted(pr(reviews=[approve(1, "bob", "gone1")])) == ("bob",)  # not fresh: counts


def test_update_branch_merge_does_not_make_an_approval_stale() -> None:
    facts = pr(commits=[commit("c1"), update_merge("c2", "alice")], reviews=[approve(1, "bob")])
    verdict = judge(facts, policy("review: {fresh: true}"))
    assert verdict.approvals[0].commits_after == 0
    assert result(verdict).counted == ("bob",)


def test_a_real_merge_after_the_approval_makes_it_stale() -> None:
    merge = update_merge("c2", "alice", base="other")
    facts = pr(commits=[commit("c1"), merge], reviews=[approve(1, "bob")])
    assert judge(facts, ONE).approvals[0].commits_after == 1


# --- the merger --------------------------------------------------------------------------------


def test_merger_counts_as_implicit_review() -> None:
    verdict = judge(pr(merged_by="mona"), ONE)
    review = result(verdict)
    assert review.implicit_merger == "mona"
    assert review.counted == ()
    assert review.met
    assert verdict.status == "reviewed"
    assert "implicit review by the merger @mona" in review.explanation
    assert "approved by @mona" not in review.explanation


def test_merger_who_is_the_author_does_not_count() -> None:
    verdict = judge(pr(merged_by="alice"), ONE)
    assert result(verdict).implicit_merger is None
    assert verdict.status == "unreviewed"
    assert verdict.not_counting == (("alice", "author"),)


def test_merger_who_is_a_contributor_does_not_count() -> None:
    facts = pr(commits=[commit("c1"), commit("c2", "mona")], merged_by="mona")
    assert result(judge(facts, ONE)).implicit_merger is None


def test_bot_merger_does_not_count() -> None:
    assert result(judge(pr(merged_by="mergify[bot]"), ONE)).implicit_merger is None


def test_merger_who_approved_is_not_counted_twice() -> None:
    facts = pr(reviews=[approve(1, "mona")], merged_by="mona")
    review = result(judge(facts, policy("review: {approvals: 2}")))
    assert review.counted == ("mona",)
    assert review.implicit_merger is None
    assert review.missing == 1


def test_merger_with_stale_approval_counts_once_as_implicit_review() -> None:
    facts = two_commits(reviews=[approve(1, "mona", "c1")], merged_by="mona")
    review = result(judge(facts, policy("review: {fresh: true}")))
    assert review.counted == ()
    assert review.implicit_merger == "mona"
    assert review.met


def test_merger_does_not_count_where_merger_counts_is_false() -> None:
    verdict = judge(pr(merged_by="mona"), policy("review: {merger_counts: false}"))
    assert result(verdict).implicit_merger is None
    assert verdict.status == "unreviewed"


def test_merger_adds_to_one_approval() -> None:
    facts = pr(reviews=[approve(1, "bob")], merged_by="mona")
    review = result(judge(facts, policy("review: {approvals: 2}")))
    assert review.met and review.counted == ("bob",) and review.implicit_merger == "mona"


def test_open_pull_request_has_no_merger_and_says_how_to_satisfy() -> None:
    verdict = judge(pr(), ONE)
    review = result(verdict)
    assert review.to_satisfy is not None
    assert review.to_satisfy.startswith("needs 1 approval")
    assert "or a merge by someone who is neither the author nor a contributor" in (
        review.to_satisfy
    )


def test_same_facts_same_verdict() -> None:
    facts = pr(reviews=[approve(1, "bob")])
    assert judge(facts, default_policy()) == judge(facts, default_policy())


# --- teams -------------------------------------------------------------------------------------

TEAM_POLICY = policy(
    """
    review:
      approvals: 1
    rules:
      - name: build-system
        paths: ["configure*"]
        approvals: 2
        teams: ["build-reviewers"]
    """
)
MEMBERS = {"build-reviewers": frozenset({"bob", "Mona"})}


def test_only_team_members_count_for_a_team_rule() -> None:
    facts = pr(
        files=["configure.ac"],
        reviews=[approve(1, "bob"), approve(2, "carol")],
        team_members=MEMBERS,
    )
    verdict = judge(facts, TEAM_POLICY)
    build = result(verdict, "build-system")
    assert build.counted == ("bob",)
    assert not build.met
    assert "needs 2 approvals from @octo-org/build-reviewers, has 1" in build.explanation
    assert "@carol (not a member of @octo-org/build-reviewers)" in build.explanation
    assert build.to_satisfy is not None
    assert "from a member of @octo-org/build-reviewers for build-system (configure.ac)" in (
        build.to_satisfy
    )
    assert result(verdict).counted == ("bob", "carol")  # the base has no team
    assert verdict.status == "under-reviewed"


def test_merger_counts_for_a_team_rule_only_as_a_member() -> None:
    member = pr(files=["configure.ac"], reviews=[approve(1, "bob")], merged_by="mona")
    member = replace(member, team_members=MEMBERS)
    assert result(judge(member, TEAM_POLICY), "build-system").implicit_merger == "mona"
    other = replace(member, merged_by=Actor("zed"))
    build = result(judge(other, TEAM_POLICY), "build-system")
    assert build.implicit_merger is None
    assert "not a member" in build.explanation


def test_team_without_known_members_counts_nobody() -> None:
    facts = pr(files=["configure.ac"], reviews=[approve(1, "bob"), approve(2, "carol")])
    assert counted(facts, TEAM_POLICY, "build-system") == ()


# --- allow_contributors ------------------------------------------------------------------------


def test_allow_contributors_lets_contributors_count_but_never_the_author() -> None:
    lenient = policy("review: {allow_contributors: true}")
    facts = pr(commits=[commit("c1"), commit("c2", "bob")], reviews=[approve(1, "bob")])
    assert counted(facts, lenient) == ("bob",)
    assert counted(facts, ONE) == ()
    assert counted(pr(reviews=[approve(1, "alice")]), lenient) == ()


def test_contributor_not_reported_as_not_counting_when_every_requirement_allows() -> None:
    lenient = policy("review: {allow_contributors: true}")
    facts = pr(commits=[commit("c1"), commit("c2", "bob")], reviews=[approve(1, "bob")])
    assert judge(facts, lenient).not_counting == (("alice", "author"),)


# --- sign-offs ---------------------------------------------------------------------------------


def test_sign_off_completes_an_unreviewed_merge() -> None:
    facts = pr(merged_by="alice", signoffs=["erin"])
    verdict = judge(facts, ONE)
    assert verdict.status == "unreviewed"  # keeps its review-based value
    assert verdict.signed_off is True
    assert verdict.signed_off_by == ("erin",)
    assert verdict.conclusion == "success"
    assert verdict.severity == "none"
    assert "signed off after merge by @erin" in result(verdict).explanation


@pytest.mark.parametrize(
    ("signer", "reason"),
    [("alice", "author"), ("bob", "contributor"), ("helper[bot]", "bot")],
)
def test_sign_off_by_someone_not_independent_does_not_count(signer: str, reason: str) -> None:
    facts = pr(commits=[commit("c1"), commit("c2", "bob")], merged_by="alice", signoffs=[signer])
    verdict = judge(facts, ONE)
    assert not verdict.signed_off
    assert verdict.signed_off_by == ()
    assert (signer, reason) in verdict.not_counting
    assert verdict.conclusion == "neutral"


def test_sign_off_and_approval_by_one_person_count_once() -> None:
    facts = pr(files=["configure.ac"], reviews=[approve(1, "bob")], signoffs=["bob"])
    facts = replace(facts, merged_by=Actor("mona"), merged=True)
    build = result(judge(facts, STRICT_RULE), "build-system")
    assert build.counted == ("bob",)
    assert build.missing == 1


def test_sign_off_counts_as_fresh_where_the_approval_was_stale() -> None:
    facts = two_commits(files=["configure.ac"], reviews=[approve(1, "bob", "c1")], signoffs=["bob"])
    build = result(judge(replace(facts, merged_by=Actor("mona")), STRICT_RULE), "build-system")
    assert build.counted == ("bob",)


def test_two_sign_offs_meet_a_two_approval_rule() -> None:
    facts = pr(files=["configure.ac"], merged_by="mona", signoffs=["erin", "frank"])
    verdict = judge(facts, STRICT_RULE)
    assert verdict.conclusion == "success"
    assert verdict.signed_off
    # the status is review-based: the merger met the base, reviews did not meet the rule
    assert verdict.status == "under-reviewed"
    assert result(verdict, "build-system").counted == ("erin", "frank")


def test_sign_offs_respect_teams() -> None:
    facts = pr(files=["configure.ac"], merged_by="alice", signoffs=["carol", "bob"])
    facts = replace(facts, team_members=MEMBERS)
    build = result(judge(facts, TEAM_POLICY), "build-system")
    assert build.counted == ("bob",)


# --- pushes ------------------------------------------------------------------------------------


def test_direct_push_has_no_reviews() -> None:
    verdict = judge(push(), ONE)
    assert verdict.status == "direct-push"
    assert verdict.conclusion == "neutral"  # the base requirement is low
    assert result(verdict).missing == 1
    assert result(verdict).to_satisfy == "needs 1 sign-off"


def test_direct_push_signed_off() -> None:
    verdict = judge(push(signoffs=["bob"]), ONE)
    assert verdict.status == "direct-push"
    assert verdict.signed_off and verdict.conclusion == "success"


def test_pusher_cannot_sign_off() -> None:
    verdict = judge(
        push(pusher="carol", commits=[commit("a" * 40, "alice")], signoffs=["carol"]), ONE
    )
    assert not verdict.signed_off
    assert ("carol", "pusher") in verdict.not_counting


def test_direct_push_touching_build_files_is_severe() -> None:
    verdict = judge(push(files=["configure.ac"]), STRICT_RULE)
    assert verdict.conclusion == "failure"
    assert verdict.actions == frozenset({"check", "issue", "label"})
    assert verdict.notify == ("@octo-org/build-team",)


@pytest.mark.parametrize("kind", ["force_push", "branch_deletion"])
def test_force_push_is_always_severe(kind: str) -> None:
    lenient = policy("review: {approvals: 0, actions: [check]}")
    verdict = judge(push(kind), lenient)
    assert verdict.status == "force-push"
    assert verdict.severity == "high"
    assert verdict.conclusion == "failure"
    assert {"check", "issue"} <= verdict.actions
    rewrite = result(verdict, "history-rewrite")
    assert rewrite.requirement == HISTORY_REWRITE_REQUIREMENT
    assert rewrite.needed == 1 and not rewrite.met


def test_force_push_signed_off() -> None:
    verdict = judge(push("force_push", signoffs=["bob"]), ONE)
    assert verdict.signed_off
    assert verdict.conclusion == "success"
    assert verdict.severity == "none"
    assert verdict.status == "force-push"


# --- binary files ------------------------------------------------------------------------------

ATTRIBUTES = """\
# test data
*.dat binary
*.lzma -diff
docs diff=false
special.dat diff
*.blob -diff
keep.blob !diff
tests/files/** -diff
"quoted name.bin" -diff
[attr]nodiff -diff -merge
*.raw nodiff
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/b/x.dat", True),  # binary macro
        ("good-1.lzma", True),  # -diff
        ("sub/special.dat", False),  # a later line sets diff again
        ("x.blob", True),
        ("keep.blob", False),  # !diff unsets
        ("docs/readme.md", False),  # diff=false is a driver, and dirs do not cover files
        ("tests/files/bad.xz", True),
        ("quoted name.bin", True),
        ("img.raw", True),  # a macro defined in the file
        ("Lib/os.py", False),
    ],
)
def test_binary_by_gitattributes(path: str, expected: bool) -> None:
    assert is_binary(FileFacts(path), ATTRIBUTES) is expected


def test_directory_pattern_does_not_mark_files_inside() -> None:
    assert not is_binary(FileFacts("tests/x.txt"), "tests -diff\n")
    assert is_binary(FileFacts("tests/x.txt"), "tests/** -diff\n")


def test_negative_patterns_are_ignored_like_git() -> None:
    assert not is_binary(FileFacts("x.txt"), "!x.txt -diff\n")


def test_binary_by_nul_byte() -> None:
    assert is_binary(FileFacts("x.txt", has_patch=False, content_is_binary=True), None)
    assert not is_binary(FileFacts("x.txt", has_patch=False, content_is_binary=False), None)
    assert not is_binary(FileFacts("x.txt", has_patch=False), None)


def test_renamed_file_is_binary_by_its_old_path() -> None:
    renamed = FileFacts("x.txt", status="renamed", previous_path="x.dat")
    assert is_binary(renamed, "*.dat binary\n")


def test_binary_rule_applies_to_binary_files_whatever_their_name() -> None:
    facts = pr(
        files=[
            FileFacts(
                "tests/files/good-1-block_header.lzma", has_patch=False, content_is_binary=True
            )
        ],
        reviews=[approve(1, "bob")],
    )
    verdict = judge(facts, default_policy())
    assert verdict.binary_files == ("tests/files/good-1-block_header.lzma",)
    assert result(verdict, "binaries").matched_files == ("tests/files/good-1-block_header.lzma",)
    assert verdict.status == "under-reviewed"
    facts = replace(facts, gitattributes="*.lzma binary\n", files=(FileFacts("a/b.lzma"),))
    assert judge(facts, default_policy()).binary_files == ("a/b.lzma",)


# --- audited branches -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("branches", "branch", "expected"),
    [
        (None, "main", True),  # default branch
        (None, "3.12", True),  # protected
        (None, "feature", False),
        (None, "refs/heads/main", True),
        (None, "refs/tags/v1.0", False),
        ("['main', '3.*']", "3.12", True),
        ("['main', '3.*']", "main", True),
        ("['main', '3.*']", "feature", False),
        ("['main', '3.*']", "2.7", False),
        ("['release/*']", "release/2024", True),
        ("['*']", "refs/tags/v1", False),  # tags never
        (None, "3.11", True),  # a protection rule pattern
        (None, "4.0", False),
    ],
)
def test_audited_branches(branches: str | None, branch: str, expected: bool) -> None:
    pol = policy(f"branches: {branches}\n") if branches else ONE
    assert is_audited_branch(branch, pol, "main", ["3.12", "3.1[0-9]"]) is expected


# --- statuses, conclusions, severity, actions -------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "pol", "status", "conclusion", "severity"),
    [
        (pr(reviews=[approve(1, "bob")]), ONE, "reviewed", "success", "none"),
        (pr(), ONE, "unreviewed", "neutral", "low"),
        (pr(files=["configure.ac"]), STRICT_RULE, "unreviewed", "failure", "high"),
        (
            pr(files=["configure.ac"], reviews=[approve(1, "bob")]),
            STRICT_RULE,
            "under-reviewed",
            "failure",
            "high",
        ),
        (
            pr(files=["configure.ac"], reviews=[approve(1, "bob"), approve(2, "carol")]),
            STRICT_RULE,
            "reviewed",
            "success",
            "none",
        ),
        (pr(), policy("review: {approvals: 0}"), "reviewed", "success", "none"),
        (
            pr(reviews=[approve(1, "bob")]),
            policy("review: {approvals: 2}"),
            "under-reviewed",
            "neutral",
            "low",
        ),
        (push(), ONE, "direct-push", "neutral", "low"),
        (push("force_push"), ONE, "force-push", "failure", "high"),
    ],
)
def test_status_conclusion_severity(
    facts: ChangeFacts, pol: Policy, status: str, conclusion: str, severity: str
) -> None:
    verdict = judge(facts, pol)
    assert (verdict.status, verdict.conclusion, verdict.severity) == (status, conclusion, severity)


def test_two_approval_rule_with_one_approval() -> None:
    facts = pr(
        files=["configure.ac", "m4/ax_check.m4"], reviews=[approve(1, "bob")], merged_by="mona"
    )
    verdict = judge(facts, STRICT_RULE)
    build = result(verdict, "build-system")
    assert (build.needed, build.missing, build.met) == (2, 1, False)
    assert build.counted == ("bob",)
    assert build.implicit_merger is None  # merger_counts: false
    assert (
        build.to_satisfy == "needs 1 more sign-off for build-system (configure.ac, m4/ax_check.m4)"
    )
    assert result(verdict).met


def test_open_pull_request_asks_for_fresh_approvals() -> None:
    facts = pr(files=["configure.ac"], reviews=[approve(1, "bob")])
    build = result(judge(facts, STRICT_RULE), "build-system")
    assert build.to_satisfy == "needs 1 more fresh approval for build-system (configure.ac)"


def test_to_satisfy_lists_at_most_five_files() -> None:
    files = [f"m4/macro{i}.m4" for i in range(8)]
    build = result(judge(pr(files=files), STRICT_RULE), "build-system")
    assert build.to_satisfy is not None
    assert build.to_satisfy.endswith("m4/macro4.m4 and 3 more)")


MULTI = policy(
    """
    review:
      notify: ["@octo-org/everyone"]
    rules:
      - name: a
        paths: ["a/**"]
        approvals: 2
        severity: low
        actions: [label]
        notify: ["@octo-org/a-team", "@carol"]
      - name: b
        paths: ["b/**"]
        approvals: 2
        severity: high
        actions: [issue]
        notify: ["@carol", "@octo-org/b-team"]
      - name: c
        paths: ["c/**"]
        approvals: 0
        actions: [issue, label]
        notify: ["@nobody"]
    """
)


def test_actions_and_notify_are_unions_of_unmet_requirements() -> None:
    facts = pr(files=["a/x", "b/x", "c/x"], reviews=[approve(1, "bob")])
    verdict = judge(facts, MULTI)
    assert result(verdict).met and result(verdict, "c").met
    assert verdict.actions == frozenset({"check", "issue", "label"})
    assert verdict.notify == ("@octo-org/a-team", "@carol", "@octo-org/b-team")
    assert verdict.severity == "high"


def test_low_unmet_requirements_are_neutral_and_met_ones_add_no_actions() -> None:
    verdict = judge(pr(files=["a/x"], reviews=[approve(1, "bob")]), MULTI)
    assert verdict.actions == frozenset({"check", "label"})
    assert verdict.conclusion == "neutral"
    assert verdict.severity == "low"
    verdict = judge(pr(files=["c/x"], reviews=[approve(1, "bob")]), MULTI)
    assert verdict.actions == frozenset({"check"})
    assert verdict.notify == ()


def test_rules_apply_only_when_files_match() -> None:
    verdict = judge(pr(files=["Lib/os.py"]), STRICT_RULE)
    assert [r.requirement.name for r in verdict.requirements] == ["review"]


def test_policy_errors_are_carried_into_the_verdict() -> None:
    pol = load_policy([PolicySource("bad.yml", "review: [")])
    assert judge(pr(), pol).policy_errors == pol.errors


# --- the snapshot ------------------------------------------------------------------------------


def test_snapshot_is_json_serialisable_and_complete() -> None:
    facts = two_commits(
        files=["configure.ac", FileFacts("x.bin", has_patch=False, content_is_binary=True)],
        reviews=[approve(1, "bob", "c1"), approve(2, "alice")],
        merged_by="mona",
        signoffs=["erin"],
    )
    verdict = judge(facts, default_policy())
    record = json.loads(json.dumps(snapshot(facts, verdict)))
    assert record["version"] == 1
    assert record["schema"] == "countersign/record"
    for key in (
        "repository",
        "kind",
        "branch",
        "number",
        "title",
        "head_sha",
        "merge_commit_sha",
        "subject_sha",
        "author",
        "merged_by",
        "pusher",
        "before",
        "after",
        "contributors",
        "approvals",
        "signoffs",
        "files",
        "requirements",
        "status",
        "conclusion",
        "severity",
    ):
        assert key in record, key
    assert record["subject_sha"] == "m1"
    assert record["contributors"] == ["alice"]
    bob = record["approvals"][0]
    assert (bob["reviewer"], bob["commit"], bob["stale"], bob["commits_after"]) == (
        "bob",
        "c1",
        True,
        2,
    )
    assert bob["counted_for"] == ["review"]
    assert record["signoffs"][0]["login"] == "erin"
    files = {f["path"]: f for f in record["files"]}
    assert files["configure.ac"]["rules"] == ["build-system"]
    assert files["x.bin"]["binary"] is True and files["x.bin"]["rules"] == ["binaries"]
    names = {r["name"]: r for r in record["requirements"]}
    assert names["build-system"]["matched_files"] == ["configure.ac"]
    assert names["review"]["implicit_merger"] == "mona"
    # bob's approval is stale, alice is the author: only erin's sign-off counts
    assert names["build-system"]["counted"] == ["erin"]
    assert names["build-system"]["met"] is False
    assert record["status"] == "under-reviewed"


# --- counting each person once, and what is always severe ------------------------------------


def test_github_committed_commit_does_not_make_its_committer_a_contributor() -> None:
    facts = pr(commits=[commit("c1", "alice", committer="bob", by_github=True)])
    assert contributors(facts) == frozenset({"alice"})


def test_merger_who_approved_does_not_make_a_two_approval_review() -> None:
    facts = pr(reviews=[approve(1, "mona")], merged_by="mona")
    verdict = judge(facts, policy("review: {approvals: 2}"))
    assert verdict.status == "under-reviewed"
    assert verdict.conclusion == "neutral"


def test_merger_who_signed_off_counts_once() -> None:
    facts = pr(merged_by="mona", signoffs=["mona"])
    review = result(judge(facts, policy("review: {approvals: 2}")))
    assert review.counted == ("mona",)
    assert review.implicit_merger is None
    assert review.missing == 1


def test_approval_and_sign_off_by_one_person_are_reported_once() -> None:
    facts = pr(reviews=[approve(1, "bob")], merged_by="alice", signoffs=["bob"])
    review = result(judge(facts, ONE))
    assert review.explanation.startswith("met: needs 1 approval, has 1: approved by @bob;")
    assert "signed off" not in review.explanation


def test_force_push_is_severe_even_where_only_low_requirements_are_unmet() -> None:
    facts = push("force_push", signoffs=["bob"])  # meets history-rewrite, not the base
    verdict = judge(facts, policy("review: {approvals: 2, actions: [check]}"))
    assert result(verdict, "history-rewrite").met
    assert not result(verdict).met
    assert verdict.severity == "high"
    assert verdict.conclusion == "failure"
    assert "issue" in verdict.actions


def test_partial_sign_off_is_not_signed_off() -> None:
    verdict = judge(pr(merged_by="alice", signoffs=["bob"]), policy("review: {approvals: 2}"))
    assert not verdict.signed_off
    assert verdict.signed_off_by == ("bob",)
    assert verdict.conclusion == "neutral"


# --- bad patterns never stop judging -----------------------------------------------------------


def test_gitattributes_lines_git_cannot_parse_are_skipped() -> None:
    text = "[z-a] binary\n*.[9-0] -diff\nfoo\\ -diff\n*.dat binary\n"
    assert is_binary(FileFacts("x/sample.dat"), text)
    assert not is_binary(FileFacts("z"), text)
    assert not is_binary(FileFacts("a.5"), text)
    facts = pr(files=["x/sample.dat", "Lib/os.py"], reviews=[approve(1, "bob")], gitattributes=text)
    verdict = judge(facts, default_policy())
    assert verdict.binary_files == ("x/sample.dat",)
    assert result(verdict, "binaries").matched_files == ("x/sample.dat",)


def test_gitattributes_pattern_length_and_lines_are_bounded() -> None:
    long = "a" * 600
    assert not is_binary(FileFacts(long), f"{long} -diff\n")
    lines = "".join(f"f{n} -diff\n" for n in range(MAX_ATTRIBUTE_LINES))
    assert is_binary(FileFacts(f"f{MAX_ATTRIBUTE_LINES - 1}"), lines)
    assert not is_binary(FileFacts("late"), lines + "late -diff\n")


CATASTROPHIC = "*a*a*a*a*a*a*a*a*b"


def test_catastrophic_patterns_are_judged_in_linear_time() -> None:
    long = "a" * 5000
    assert not is_binary(FileFacts(long), f"{CATASTROPHIC} -diff\n")
    assert is_binary(FileFacts(long + "b"), f"{CATASTROPHIC} -diff\n")
    rules = policy(
        f"""
        rules:
          - name: odd
            paths: ['{CATASTROPHIC}']
            approvals: 2
          - name: dirs
            paths: ['dir/', '!dir/a*', 'x.*', '!*.py']
        """
    )
    files = [long, f"dir/{long}", "dir/x", FileFacts("x.py", previous_path=f"dir/{long}b")]
    facts = pr(files=files, reviews=[approve(1, "bob")], gitattributes=f"{CATASTROPHIC} -diff\n")
    verdict = judge(facts, rules)
    assert result(verdict, "odd").matched_files == ("x.py",)
    assert result(verdict, "dirs").matched_files == ("dir/x",)
    assert verdict.binary_files == ("x.py",)
    assert verdict.status == "under-reviewed"
