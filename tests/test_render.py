"""Rendering: nothing users wrote can ping, link, close or forge; limits hold; records
round-trip."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace

import pytest

from bot.core.facts import Actor, ChangeFacts, CommitFacts, FileFacts, ReviewFacts
from bot.core.judge import Verdict, judge
from bot.core.policy import (
    Policy,
    PolicyError,
    PolicySource,
    Requirement,
    default_policy,
    load_policy,
)
from bot.core.record import (
    RECORD_BUDGET,
    audit_marker,
    encode_record,
    find_audit_marker,
    fit_record,
    parse_record,
    snapshot,
)
from bot.core.render import (
    MAX_OUTPUT,
    MAX_TITLE,
    STATUS_TEXT,
    WORD_JOINER,
    audit_issue,
    check_run_output,
    escape,
    login,
)

REPO = "octo-org/cpython"
POLICY = default_policy()


# --- helpers -----------------------------------------------------------------------------------


def pr(
    *,
    title: str = "gh-1: Improve things",
    branch: str = "main",
    files: Sequence[str | FileFacts] = ("Lib/os.py",),
    reviewers: Sequence[str] = (),
    author: str = "alice",
    merged_by: str | None = None,
    commits: Sequence[CommitFacts] = (CommitFacts("c1", "msg", ("p",), "alice", "alice"),),
    number: int = 123,
) -> ChangeFacts:
    return ChangeFacts(
        kind="pull_request",
        repository=REPO,
        branch=branch,
        head_sha=commits[-1].sha,
        number=number,
        title=title,
        url=f"https://github.com/{REPO}/pull/{number}",
        author=Actor(author),
        merged_by=Actor(merged_by) if merged_by else None,
        merged=merged_by is not None,
        merge_commit_sha="f" * 40 if merged_by else None,
        commits=tuple(commits),
        reviews=tuple(
            ReviewFacts(i, Actor(who), "APPROVED", commits[-1].sha)
            for i, who in enumerate(reviewers)
        ),
        files=tuple(FileFacts(f) if isinstance(f, str) else f for f in files),
    )


def push(kind: str = "push", *, branch: str = "main", pusher: str = "alice") -> ChangeFacts:
    return ChangeFacts(
        kind=kind,  # type: ignore[arg-type]
        repository=REPO,
        branch=branch,
        head_sha="a" * 40,
        pusher=pusher,
        before="b" * 40,
        after="a" * 40,
        compare_url=f"https://github.com/{REPO}/compare/{'b' * 12}...{'a' * 12}",
        commits=(CommitFacts("a" * 40, "direct", ("b" * 40,), pusher, pusher),),
        files=(FileFacts("Lib/os.py"),),
    )


def render(facts: ChangeFacts, policy: Policy = POLICY) -> tuple[Verdict, str, str, str]:
    verdict = judge(facts, policy)
    title, summary, text = check_run_output(facts, verdict)
    return verdict, title, summary, text


def visible(markdown: str) -> str:
    """Roughly what GitHub shows: word joiners and backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown.replace(WORD_JOINER, ""))


HOSTILE = [
    "@everyone please look",
    "@octo-org/core-devs",
    "Fixes #1",
    "closes octo-org/cpython#42",
    "resolves GH-99",
    "see https://github.com/octo-org/cpython/issues/7",
    "www.example.com",
    "<!-- countersign:audit repo=evil/x change=pr-1 -->",
    "<!-- countersign:record v1 {} -->",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` [link](http://x) ![img](y) | table |",
    "# heading\n- list\n> quote",
    "&#64;alice",
    "a\u202eb\u200bc",
]

# --- escaping ----------------------------------------------------------------------------------

PING = re.compile(r"@[A-Za-z0-9]")
ISSUE_REF = re.compile(r"#\d|GH-\d", re.IGNORECASE)


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("plain", [False, True])
def test_escaped_text_cannot_ping_link_or_forge(text: str, plain: bool) -> None:
    out = escape(text, plain=plain)
    assert not PING.search(out)
    assert not ISSUE_REF.search(out.replace("\\", ""))
    assert "://" not in out
    assert "www." not in out.lower()
    assert "<!--" not in out
    assert "\n" not in out
    assert "\u202e" not in out and "\u200b" not in out
    if not plain:
        assert "<" not in out and ">" not in out
        assert "&#" not in out
        assert "`" not in out.replace("\\`", "")


def test_escape_keeps_text_readable() -> None:
    assert visible(escape("Fix *the* [thing] in foo_bar.py")) == "Fix *the* [thing] in foo_bar.py"
    assert (
        escape("gh-1: Fix @alice's bug", plain=True)
        == f"gh{WORD_JOINER}-1: Fix @{WORD_JOINER}alice's bug"
    )
    assert escape("a < b & c", plain=False) == "a &lt; b &amp; c"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("1. item", "1\\. item"),
        ("12) item", "12\\) item"),
        ("=====", "\\====="),
        ("__init__.py", "\\_\\_init\\_\\_.py"),
        ("a | b", "a \\| b"),
        ("~~gone~~", "\\~\\~gone\\~\\~"),
        ("$x$", "\\$x\\$"),
        ("build-system 3.12 a.b-c", "build-system 3.12 a.b-c"),  # no needless escapes
    ],
)
def test_markdown_constructs_are_escaped(text: str, escaped: str) -> None:
    assert escape(text) == escaped


def test_login_is_a_code_span_that_cannot_break_out() -> None:
    assert login("alice") == "`@alice`"
    assert login("dependabot[bot]") == "`@dependabot[bot]`"
    assert login("evil`<!-- x") == "`@evil--x`"  # no backtick, "<" or space survives
    assert login("") == "`@unknown`"


# --- markers and records -----------------------------------------------------------------------


def test_audit_marker_round_trip() -> None:
    marker = audit_marker(REPO, "pr-123")
    assert marker == "<!-- countersign:audit repo=octo-org/cpython change=pr-123 -->"
    assert find_audit_marker(f"text\n{marker}\nmore") == (REPO, "pr-123")
    assert find_audit_marker("no marker") is None
    assert find_audit_marker(None) is None


def test_audit_marker_survives_hostile_branch_names() -> None:
    key = "push-a-->b <!-- x-" + "c" * 40
    marker = audit_marker(REPO, key)
    assert marker.count("-->") == 1 and marker.endswith("-->")
    assert find_audit_marker(marker) == (REPO, key)


def test_record_round_trip() -> None:
    facts = pr(
        title="a -- b --> c <!-- d", reviewers=["bob"], merged_by="mona", files=["configure.ac"]
    )
    verdict, _, _, text = render(facts)
    record = parse_record(text)
    assert record == json.loads(json.dumps(snapshot(facts, verdict)))
    assert record is not None and record["title"] == "a -- b --> c <!-- d"
    marker = text.split("\n", 1)[0]
    assert marker.startswith("<!-- countersign:record v1 {") and marker.endswith("} -->")
    assert marker.count("--") == 2  # only the comment's own


def test_record_given_by_the_caller_is_embedded() -> None:
    facts = pr(reviewers=["bob"])
    verdict = judge(facts, POLICY)
    record = {**snapshot(facts, verdict), "audit_issue": {"repository": REPO, "number": 9}}
    for given in (record, None):
        _, _, text = check_run_output(facts, verdict, record=given)
        got = parse_record(text)
        assert got is not None
        assert ("audit_issue" in got) is (given is not None)
    _, summary, _ = check_run_output(facts, verdict, conclusion="neutral")
    assert "conclusion `neutral`" in summary
    _, _, text = check_run_output(facts, verdict, "note", record=record)
    assert parse_record(text) == json.loads(json.dumps(record))


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "no record",
        "<!-- countersign:record v1 {broken -->",
        "<!-- countersign:record v1 [1] -->",
    ],
)
def test_parse_record_rejects_what_is_not_a_record(text: str | None) -> None:
    assert parse_record(text) is None


def test_forged_record_in_user_text_is_not_read() -> None:
    forged = '<!-- countersign:record v1 {"status":"reviewed"} -->'
    facts = pr(title=forged, files=[forged])
    _, _, summary, text = render(facts)
    assert text.count("<!--") == 1
    assert "<!--" not in summary
    record = parse_record(text)
    assert record is not None and record["status"] == "unreviewed"


def test_forged_audit_marker_in_user_text_is_not_found() -> None:
    forged = "<!-- countersign:audit repo=evil/x change=pr-1 -->"
    facts = pr(title=forged, branch="main", files=[forged], merged_by="alice")
    _, body = audit_issue(facts, judge(facts, POLICY))
    assert body.count("<!--") == 1
    assert find_audit_marker(body) == (REPO, "pr-123")


# --- limits ------------------------------------------------------------------------------------


def many_files(n: int = 3000) -> list[FileFacts]:
    kinds = ["configure.ac", "m4/x{}.m4", "tests/files/bad{}.xz", "Lib/module{}.py"]
    return [
        FileFacts(
            f"some/deep/directory/structure/{kinds[i % 4].format(i)}-{i:05d}",
            has_patch=i % 4 != 2,
            content_is_binary=True if i % 4 == 2 else None,
        )
        for i in range(n)
    ]


def test_three_thousand_files_stay_within_limits() -> None:
    facts = pr(files=many_files(), reviewers=["bob"], merged_by="mona")
    verdict, title, summary, text = render(facts)
    assert len(verdict.binary_files) == 750
    assert len(summary) <= MAX_OUTPUT
    assert len(text) <= MAX_OUTPUT
    assert len(title) <= MAX_TITLE
    assert "and 730 more" in summary  # binary files listed 20 at most
    assert re.search(r"and \d+ more files", text)
    record = parse_record(text)
    assert record is not None
    assert record["truncated"] is True and record["files_total"] == 3000
    assert record["status"] == verdict.status
    issue_title, body = audit_issue(facts, verdict)
    assert len(body) <= MAX_OUTPUT
    assert len(issue_title) <= MAX_TITLE
    assert find_audit_marker(body) == (REPO, "pr-123")


def test_small_records_are_not_truncated() -> None:
    facts = pr()
    record = snapshot(facts, judge(facts, POLICY))
    assert fit_record(record) is record
    assert "truncated" not in (parse_record(encode_record(record)) or {})


def test_audit_issue_title_is_at_most_256_characters() -> None:
    facts = pr(title="x" * 1000)
    title, _ = audit_issue(facts, judge(facts, POLICY))
    assert len(title) == MAX_TITLE
    assert title.startswith("Unreviewed change to main: #123 xxx")
    assert title.endswith("…")


# --- titles ------------------------------------------------------------------------------------

UNDER = load_policy(
    [
        PolicySource(
            "t.yml",
            "rules:\n  - name: build-system\n    paths: ['configure*']\n    approvals: 2\n",
        )
    ]
)


@pytest.mark.parametrize(
    ("facts", "policy", "title"),
    [
        (pr(reviewers=["bob"]), POLICY, "Reviewed"),
        (pr(), POLICY, "Unreviewed: needs 1 approval"),
        (
            pr(files=["configure.ac"], reviewers=["bob"]),
            UNDER,
            "Under-reviewed: build-system needs 2 approvals",
        ),
        (pr(files=["configure.ac"]), POLICY, "Unreviewed: needs 1 approval (+1 more)"),
        (push(), POLICY, "Direct push to main"),
        (push("force_push"), POLICY, "Force push to main"),
        (push("branch_deletion"), POLICY, "Deletion of branch main"),
        (replace(push(), signoffs=(Actor("bob"),)), POLICY, "Direct push to main, signed off"),
        (
            replace(pr(merged_by="alice"), signoffs=(Actor("bob"),)),
            POLICY,
            "Unreviewed, signed off",
        ),
    ],
)
def test_check_run_titles(facts: ChangeFacts, policy: Policy, title: str) -> None:
    assert render(facts, policy)[1] == title


@pytest.mark.parametrize(
    ("facts", "title"),
    [
        (pr(), "Unreviewed change to main: #123 gh\u2060-1: Improve things"),
        (
            pr(branch="3.12", files=["configure.ac"], reviewers=["bob"]),
            "Under-reviewed change to 3.12: #123 gh\u2060-1: Improve things",
        ),
        (push(), "Direct push to main: aaaaaaa by alice"),
        (push("force_push"), "Force push to main: bbbbbbb..aaaaaaa"),
        (push("branch_deletion"), "Deletion of branch main: bbbbbbb by alice"),
    ],
)
def test_audit_issue_titles(facts: ChangeFacts, title: str) -> None:
    assert audit_issue(facts, judge(facts, POLICY))[0] == title


def test_status_text_names_every_status() -> None:
    assert STATUS_TEXT == {
        "reviewed": "Reviewed",
        "unreviewed": "Unreviewed",
        "under-reviewed": "Under-reviewed",
        "direct-push": "Direct push",
        "force-push": "Force push",
    }


# --- summaries and issues ----------------------------------------------------------------------


def test_merger_is_worded_as_implicit_review() -> None:
    facts = pr(merged_by="mona")
    verdict, _, summary, _ = render(facts)
    assert "implicit review by the merger" in summary
    assert "approved by @\u2060mona" not in summary
    _, body = audit_issue(facts, verdict)
    assert "implicit review by the merger `@mona`" in body
    assert "`@mona` approved" not in body


def test_summary_reports_requirements_people_staleness_binaries_and_errors() -> None:
    commits = (
        CommitFacts("c1", "m", ("p",), "alice", "alice"),
        CommitFacts("c2", "m", ("c1",), "carol", "carol"),
        CommitFacts("c3", "m", ("c2",), "alice", "alice"),
    )
    facts = replace(
        pr(
            files=["configure.ac", FileFacts("blob.dat", has_patch=False, content_is_binary=True)],
            commits=commits,
        ),
        reviews=(
            ReviewFacts(1, Actor("bob"), "APPROVED", "c1"),
            ReviewFacts(2, Actor("carol"), "APPROVED", "c3"),
        ),
    )
    broken = load_policy([PolicySource(".github/countersign.yml", "review:\n  aprovals: 2\n")])
    policy = replace(POLICY, errors=broken.errors)
    verdict = judge(facts, policy)
    _, summary, _ = check_run_output(facts, verdict, "Policy from octo-org/cpython@main")
    plain = visible(summary)
    assert "**Under-reviewed**" in summary
    assert "✅ **review**" in summary and "❌ **build-system** (severity high)" in plain
    assert "To satisfy: needs 2 fresh approvals for build-system (configure.ac)" in plain
    assert "`@carol`: contributor" in summary
    assert "`@bob`'s approval is stale: 2 commits were pushed after it" in summary
    assert "blob.dat" in plain
    assert ".github/countersign.yml:2: unknown key 'aprovals' in review" in plain
    assert "Policy from octo-org/cpython@main" in plain


def test_stale_gone_approval_is_reported() -> None:
    facts = replace(pr(), reviews=(ReviewFacts(1, Actor("bob"), "APPROVED", "old"),))
    _, _, summary, _ = render(facts)
    assert (
        "`@bob`'s approval is stale: approved a commit that is no longer in the pull request"
        in visible(summary)
    )


def test_summary_never_pings_reviewers_or_teams() -> None:
    facts = replace(
        pr(files=["configure.ac"], reviewers=["bob"]), team_members={"build": frozenset()}
    )
    policy = replace(POLICY, rules=(replace(POLICY.rules[0], teams=("build",)),))
    verdict = judge(facts, policy)
    _, summary, _ = check_run_output(facts, verdict)
    assert "@octo-org/build" in visible(summary)
    outside_code = re.sub(r"`[^`]*`", "", summary)
    assert not PING.search(outside_code)


def test_audit_issue_body() -> None:
    facts = pr(files=["configure.ac"], reviewers=["bob"], merged_by="mona", title="Fixes #9 @team")
    verdict = judge(facts, POLICY)
    policy = replace(POLICY, rules=(replace(POLICY.rules[0], notify=("@python/build-team",)),))
    verdict = judge(facts, policy)
    _, body = audit_issue(facts, verdict)
    assert body.startswith(audit_marker(REPO, "pr-123"))
    assert "cc @python/build-team" in body  # the policy's own mentions do ping
    assert "comment `/audit approve <note>` on this issue" in body
    assert "write permission" in body and "neither the author" in body
    assert "build-system: 1 more person" in visible(body)
    assert "`@alice`" in body and "`@mona`" in body
    outside = re.sub(r"`[^`]*`", "", body).replace("@python/build-team", "")
    assert not PING.search(outside)
    assert not ISSUE_REF.search(outside.replace("\\", "").replace(f"{REPO}#123", ""))


def test_audit_issue_for_force_push_has_shas_and_compare_link() -> None:
    facts = push("force_push")
    _, body = audit_issue(facts, judge(facts, POLICY))
    assert "b" * 40 in body and "a" * 40 in body
    assert f"[compare]({facts.compare_url})" in body
    assert find_audit_marker(body) == (REPO, facts.key)


def test_unsafe_links_are_not_rendered() -> None:
    facts = replace(push("force_push"), compare_url="javascript:alert(1)")
    _, body = audit_issue(facts, judge(facts, POLICY))
    assert "javascript" not in body


def test_invalid_notify_entries_are_escaped() -> None:
    facts = pr(files=["configure.ac"])
    bad = Requirement(name="x", paths=("configure*",), approvals=2, notify=("@evil <!-- x",))
    verdict = judge(facts, replace(POLICY, rules=(bad,)))
    _, body = audit_issue(facts, verdict)
    assert body.count("<!--") == 1


def test_audit_issue_title_limit_holds_for_long_branch_names() -> None:
    facts = push(branch="feature/" + "b" * 300)
    title, _ = audit_issue(facts, judge(facts, POLICY))
    assert len(title) <= MAX_TITLE
    assert title.startswith("Direct push to feature/bbb")


# --- GitHub's limits are in bytes; the record is always there ---------------------------------


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_non_ascii_file_names_stay_within_githubs_byte_limits() -> None:
    names = ["漢字のファイル名", "😀🚀✨", "Ünïcödé-名前"]
    files = [FileFacts(f"資料/{names[i % 3] * 4}/{i:05d}-{'テスト' * 5}.txt") for i in range(3000)]
    facts = pr(title="修正: 😀 " * 30, branch="機能/分岐", files=files, merged_by="mona")
    _, _, summary, text = render(facts)
    assert size(text) <= MAX_OUTPUT and size(summary) <= MAX_OUTPUT
    assert size(text) > len(text) + 15000  # the file table is mostly multi-byte characters
    assert re.search(r"and \d+ more files", text)
    record = parse_record(text)
    assert record is not None
    assert record["truncated"] is True and record["files_total"] == 3000
    assert record["title"] == facts.title and record["branch"] == "機能/分岐"
    assert record["files"][0]["path"] == files[0].path


def test_summary_is_cut_by_bytes_never_inside_a_character() -> None:
    errors = tuple(PolicyError("x.yml", n, "漢" * 1000) for n in range(50))
    verdict = replace(judge(pr(), POLICY), policy_errors=errors)
    _, summary, text = check_run_output(pr(), verdict)
    assert len(summary) < MAX_OUTPUT < size("\n".join(f"- {e}" for e in errors))
    assert size(summary) <= MAX_OUTPUT
    assert summary.endswith("… (truncated)")
    assert parse_record(text) is not None


def test_the_record_is_never_lost_however_much_there_is_to_say() -> None:
    facts = pr(title="@team " * 40, reviewers=[f"user{n}" for n in range(800)], merged_by="mona")
    verdict = judge(facts, POLICY)
    errors = tuple(PolicyError(f"f{n}.yml", n, "<@#>--" * 50) for n in range(2000))
    verdict = replace(verdict, policy_errors=errors)
    record = {
        **snapshot(facts, verdict),
        "audit_issue": {"repository": REPO, "number": 9},
        "signoffs": [
            {"login": f"signer{n}", "at": "2024-01-01", "note": "ok " * 500} for n in range(5)
        ],
    }
    _, summary, text = check_run_output(facts, verdict, record=record)
    assert size(text) <= MAX_OUTPUT and size(summary) <= MAX_OUTPUT
    got = parse_record(text)
    assert got is not None and got["truncated"] is True
    assert got["status"] == verdict.status and got["conclusion"] == verdict.conclusion
    assert got["audit_issue"] == {"repository": REPO, "number": 9}
    assert [s["login"] for s in got["signoffs"]] == [f"signer{n}" for n in range(5)]
    assert size(encode_record(fit_record(record))) <= RECORD_BUDGET


def test_the_record_escapes_mentions_references_and_markers() -> None:
    title = "Fix --> @alice #12 <!-- countersign:audit repo=evil/x change=pr-1 --> <b>x</b>"
    facts = pr(title=title, branch="@bob#3", files=["a/@carol/#4.py"], reviewers=["bob"])
    verdict, _, _, text = render(facts)
    marker = text.split("\n", 1)[0]
    payload = marker.removeprefix("<!-- countersign:record v1 ").removesuffix(" -->")
    assert marker == f"<!-- countersign:record v1 {payload} -->"
    for forbidden in ("@", "#", "<", ">", "--"):
        assert forbidden not in payload, forbidden
    assert "\\u0040alice \\u0023" in payload and "\\u003c!\\u002d\\u002d" in payload
    record = parse_record(text)
    assert record == json.loads(json.dumps(snapshot(facts, verdict)))
    assert record is not None and record["title"] == title and record["branch"] == "@bob#3"
    # records written before these escapes (only "--" escaped) still read back
    old = json.dumps(record, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    old = old.replace("--", "\\u002d\\u002d")
    old_marker = f"<!-- countersign:record v1 {old} -->"
    assert "@alice" in old_marker
    assert parse_record(old_marker) == record
