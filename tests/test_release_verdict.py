"""Issue 10: the release audit's verdict, record and Markdown (pure: no GitHub)."""

from __future__ import annotations

import pytest

from bot.core.archive import compare_with_tree, read_archive
from bot.core.landed import Judged
from bot.core.record import RECORD_PREFIX, parse_record, utf8_size
from bot.core.release_audit import (
    ISSUE_LIMIT,
    OUTPUT_LIMIT,
    ReleaseFacts,
    Shipped,
    check_run_output,
    find_release_marker,
    issue_body,
    judge_release,
    release_marker,
    release_record,
)
from tests.test_archive import make_tar

SHA = "a" * 40


def change(n: int, **fields: object) -> Judged:
    values: dict[str, object] = dict(
        key=f"pr-{n}",
        kind="pull_request",
        branch="main",
        url=f"https://github.com/o/r/pull/{n}",
        landed_at=f"2026-11-{n % 28 + 1:02d}T00:00:00Z",
        status="reviewed",
        conclusion="success",
        severity="none",
        recorded=True,
        number=n,
        title=f"Change {n}",
        author="alice",
        merged_by="alice",
    )
    values.update(fields)
    return Judged(**values)  # type: ignore[arg-type]


def unreviewed(n: int, severity: str = "high", **fields: object) -> Judged:
    return change(
        n,
        status="unreviewed",
        conclusion="failure" if severity == "high" else "neutral",
        severity=severity,
        rules=("review", "build-system"),
        **fields,
    )


def shipped(files: dict[str, bytes], tree: dict[str, bytes]) -> Shipped:
    from bot.core.archive import blob_sha

    contents = read_archive(
        "pkg-1.0.tar.gz", make_tar((f"pkg-1.0/{p}", c) for p, c in files.items())
    )
    report = compare_with_tree(
        contents,
        {path: blob_sha(content) for path, content in tree.items()},
        gitattributes=None,
        generated=("configure",),
        sensitive=("m4/*.m4",),
    )
    return Shipped("pkg-1.0.tar.gz", "release asset", report=report)


TREE = {"README": b"hello\n", "m4/.gitignore": b"build-to-host.m4\n"}


def test_a_release_of_reviewed_changes_whose_archive_matches_passes():
    facts = ReleaseFacts(
        "o/r", "v1.1", SHA, "v1.0", changes=(change(1), change(2)), archives=(shipped(TREE, TREE),)
    )
    verdict = judge_release(facts)
    assert verdict.conclusion == "success" and verdict.severity == "none"
    assert verdict.open_changes == ()


def test_an_unreviewed_sensitive_change_fails_the_release():
    facts = ReleaseFacts("o/r", "v1.1", SHA, "v1.0", changes=(change(1), unreviewed(2)))
    verdict = judge_release(facts)
    assert verdict.conclusion == "failure" and verdict.severity == "high"
    assert [c.key for c in verdict.open_changes] == ["pr-2"]


def test_an_unreviewed_low_change_makes_it_neutral():
    facts = ReleaseFacts("o/r", "v1.1", SHA, "v1.0", changes=(unreviewed(2, "low"),))
    assert judge_release(facts).conclusion == "neutral"


def test_a_signed_off_change_turns_its_row_green_and_passes():
    signed = unreviewed(2, signed_off=True, signed_off_by=("carol",))
    facts = ReleaseFacts("o/r", "v1.1", SHA, "v1.0", changes=(signed,))
    verdict = judge_release(facts)
    assert verdict.conclusion == "success"
    assert verdict.signed_off == (signed,)
    assert "✅ signed off by `@carol`" in issue_body(facts, verdict)


def test_an_extra_m4_file_in_the_tarball_is_high_even_with_generated_files_expected():
    archive = shipped({**TREE, "configure": b"#!/bin/sh\n", "m4/build-to-host.m4": b"evil"}, TREE)
    facts = ReleaseFacts("o/r", "v5.6.1", SHA, "v5.6.0", archives=(archive,))
    verdict = judge_release(facts)
    assert verdict.conclusion == "failure"
    kinds = {(e.path, e.kind, e.severity) for e in archive.report.entries}  # type: ignore[union-attr]
    assert ("m4/build-to-host.m4", "added", "high") in kinds
    assert ("configure", "generated", "none") in kinds
    body = issue_body(facts, verdict)
    assert "`m4/build-to-host.m4`" in body
    assert "Listed, not alarmed on (1)" in body


def test_a_generated_file_alone_is_listed_not_alarmed_on():
    archive = shipped({**TREE, "configure": b"#!/bin/sh\n"}, TREE)
    facts = ReleaseFacts("o/r", "v1.1", SHA, "v1.0", archives=(archive,))
    assert judge_release(facts).conclusion == "success"


def test_an_archive_that_could_not_be_read_fails_closed():
    problem = Shipped("pkg.tar.gz", "PyPI sdist", problem="the download answered HTTP 500")
    verdict = judge_release(ReleaseFacts("o/r", "v1.1", SHA, "v1.0", archives=(problem,)))
    assert verdict.conclusion == "failure"


def test_what_was_not_seen_fails_closed_and_is_said():
    facts = ReleaseFacts("o/r", "v1.1", SHA, "v1.0", unseen=("GitHub could not compare",))
    verdict = judge_release(facts)
    assert verdict.conclusion == "failure"
    assert "**Not seen:**" in issue_body(facts, verdict)


def test_the_marker_round_trips_and_survives_hostile_tags():
    for tag in ("v1.0", "v1 --> <b>", "release/2026-12"):
        assert find_release_marker("text\n" + release_marker("o/r", tag)) == ("o/r", tag)
    assert find_release_marker("<!-- countersign:release repo=o/r -->") is None


def test_the_record_is_in_the_check_run_and_fits_with_thousands_of_changes():
    changes = tuple(unreviewed(n) for n in range(1, 3001))
    facts = ReleaseFacts("o/r", "v2.0", SHA, "v1.0", changes=changes)
    verdict = judge_release(facts)
    record = release_record(facts, verdict, ("o/r", 7))
    title, summary, text = check_run_output(facts, verdict, record)
    assert title == "Release v2.0: unreviewed or unverified content"
    assert utf8_size(summary) <= OUTPUT_LIMIT and utf8_size(text) <= OUTPUT_LIMIT
    assert text.startswith(RECORD_PREFIX)
    parsed = parse_record(text)
    assert parsed is not None
    assert parsed["kind"] == "release" and parsed["conclusion"] == "failure"
    assert parsed["issue"] == {"repository": "o/r", "number": 7}
    assert parsed["counts"]["open"] == 3000
    assert len(issue_body(facts, verdict)) <= ISSUE_LIMIT


@pytest.mark.parametrize("title", ["@everyone fixes #1", "closes #2 <!-- x -->", "`x` | y"])
def test_user_text_cannot_ping_close_or_break_the_table(title: str):
    facts = ReleaseFacts("o/r", "v1.1", SHA, "v1.0", changes=(unreviewed(5, title=title),))
    body = issue_body(facts, judge_release(facts))
    row = next(line for line in body.splitlines() if line.startswith("| [#5"))
    assert "@everyone" not in row and "#1 " not in row and "<!--" not in row
    assert row.count(" | ") == 4  # five cells, none split by the title
