"""Backports: the cherry-pick line, the title, and the content comparison with its original."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from bot.core.backport import (
    DEFAULT_TITLE,
    MAX_TITLE_PATTERN_CHARS,
    Comparison,
    FileDifference,
    cherry_picked_from,
    compare,
    compile_title,
    full_title,
    patch_lines,
    title_original,
)
from bot.core.patches import FilePatch


def patch(*rows: str) -> str:
    """A patch as GitHub gives it: hunks without the ``---``/``+++`` header, no final newline."""
    return "\n".join(rows)


def modified(path: str, text: str | None, blob: str = "blob") -> FilePatch:
    return FilePatch(path, "modified", blob, text)


@dataclass(frozen=True)
class RenamedPatch(FilePatch):
    """A FilePatch that also says a rename's old path (as GitHub's ``previous_filename``)."""

    previous_path: str | None = None


# --- shapes: a CPython fix on main and its 3.12 backport ------------------------------------------

TASKS = "Lib/asyncio/tasks.py"
NEWS = "Misc/NEWS.d/next/Library/2023-06-20-13-31-25.gh-issue-105987.MyVtNW.rst"

ORIGINAL_TASKS = patch(
    "@@ -418,7 +418,9 @@ async def wait_for(fut, timeout):",
    "     loop = events.get_running_loop()",
    " ",
    "     if timeout is not None and timeout <= 0:",
    "-        fut = ensure_future(fut, loop=loop)",
    "+        fut = ensure_future(fut)",
    "+        if fut.done():",
    "+            return fut.result()",
    " ",
    "         await _cancel_and_wait(fut)",
    "         try:",
)
ORIGINAL_NEWS = patch(
    "@@ -0,0 +1,2 @@",
    "+Fix :func:`asyncio.wait_for` with a zero timeout for a future that",
    "+is already done.",
)
ORIGINAL = [
    modified(TASKS, ORIGINAL_TASKS, "t-main"),
    FilePatch(NEWS, "added", "n1", ORIGINAL_NEWS),
]

# The same lines on 3.12: other line numbers, other context (the branch has other changes).
SHIFTED_TASKS = patch(
    "@@ -402,6 +402,8 @@ async def wait_for(fut, timeout, *, loop=None):",
    "     if timeout is not None and timeout <= 0:",
    "-        fut = ensure_future(fut, loop=loop)",
    "+        fut = ensure_future(fut)",
    "+        if fut.done():",
    "+            return fut.result()",
    " ",
    "         await _cancel_and_wait(fut, loop=loop)",
)
BACKPORT = [modified(TASKS, SHIFTED_TASKS, "t-312"), FilePatch(NEWS, "added", "n1", ORIGINAL_NEWS)]

# The same again with whitespace at line ends: spaces, a tab, CRLF, a missing final newline.
WHITESPACE_TASKS = patch(
    "@@ -402,6 +402,8 @@",
    "     if timeout is not None and timeout <= 0:",
    "-        fut = ensure_future(fut, loop=loop)   ",
    "+        fut = ensure_future(fut)\t",
    "+        if fut.done():\r",
    "+            return fut.result()",
    "\\ No newline at end of file",
)

EXTRA_HUNK_TASKS = patch(
    SHIFTED_TASKS,
    "@@ -470,6 +472,7 @@ async def wait_for(fut, timeout, *, loop=None):",
    "     try:",
    "+        _trace_hook(fut)",
    "         return fut.result()",
)

# A merge-merged (or rebase-merged) original: its commits, each with its own patch.
COMMIT_1 = [
    modified(
        TASKS,
        patch(
            "@@ -418,4 +418,6 @@",
            "-        fut = ensure_future(fut, loop=loop)",
            "+        fut = ensure_future(fut)",
            "+        if fut.done(): return fut.result()",
        ),
    ),
    FilePatch("Lib/test/scratch.py", "added", "s1", patch("@@ -0,0 +1 @@", "+print('debug')")),
]
COMMIT_2 = [  # review follow-up: the one-liner split in two, the scratch file dropped
    modified(
        TASKS,
        patch(
            "@@ -419,2 +419,3 @@",
            "-        if fut.done(): return fut.result()",
            "+        if fut.done():",
            "+            return fut.result()",
        ),
    ),
    FilePatch("Lib/test/scratch.py", "removed", "s1", patch("@@ -1 +0,0 @@", "-print('debug')")),
]
COMMIT_3 = [FilePatch(NEWS, "added", "n1", ORIGINAL_NEWS)]

# A second original on the same file (one backport pull request carrying two cherry-pick lines).
SECOND_TASKS = patch(
    "@@ -90,3 +90,3 @@ def _release_waiter(waiter, *args):",
    "-    if not waiter.done():",
    "+    if waiter is not None and not waiter.done():",
)
SECOND = [
    modified(TASKS, SECOND_TASKS),
    modified("Lib/asyncio/events.py", patch("@@ -1 +1 @@", "-a", "+b")),
]
BOTH_TASKS = patch(
    "@@ -80,3 +80,3 @@",
    "-    if not waiter.done():",
    "+    if waiter is not None and not waiter.done():",
    "@@ -402,6 +402,8 @@",
    "-        fut = ensure_future(fut, loop=loop)",
    "+        fut = ensure_future(fut)",
    "+        if fut.done():",
    "+            return fut.result()",
)

IMPORTS_REORDERED = patch(  # one patch that moves a line: -/+ of the same text
    "@@ -1,3 +1,3 @@",
    "-import os",
    " import sys",
    "+import os",
    "+import warnings",
)


CLEAN_CASES = {
    "context shifted by other changes": (BACKPORT, ORIGINAL),
    "whitespace at line ends": (
        [modified(TASKS, WHITESPACE_TASKS), FilePatch(NEWS, "added", "n9", ORIGINAL_NEWS + "  ")],
        ORIGINAL,
    ),
    "files listed in another order": (list(reversed(BACKPORT)), ORIGINAL),
    "renamed on both sides": (
        [FilePatch("Lib/new.py", "renamed", "r2", patch("@@ -3 +3 @@", "-x = 1", "+x = 2"))],
        [FilePatch("Lib/new.py", "renamed", "r1", patch("@@ -9 +9 @@", "-x = 1", "+x = 2"))],
    ),
    "renamed in the original, modified in the backport": (
        [modified("Lib/new.py", patch("@@ -3 +3 @@", "-x = 1", "+x = 2"))],
        [FilePatch("Lib/new.py", "renamed", "r1", patch("@@ -9 +9 @@", "-x = 1", "+x = 2"))],
    ),
    "renamed from the same old path": (
        [RenamedPatch("b.py", "renamed", "r2", patch("@@ -1 +1 @@", "-x", "+y"), "a.py")],
        [RenamedPatch("b.py", "renamed", "r1", patch("@@ -5 +5 @@", "-x", "+y"), "a.py")],
    ),
    "binary file, same blob": (
        [modified("Doc/logo.png", None, "png-2")],
        [modified("Doc/logo.png", None, "png-2")],
    ),
    "deleted on both sides, other content on each branch": (
        [FilePatch("Lib/old.py", "removed", "o312", patch("@@ -1,2 +0,0 @@", "-a", "-b"))],
        [FilePatch("Lib/old.py", "removed", "omain", patch("@@ -1,3 +0,0 @@", "-a", "-b", "-c"))],
    ),
    "squash-merged original": (BACKPORT, ORIGINAL),
    "merge-merged original: its commits' patches concatenated": (
        BACKPORT,
        [*COMMIT_1, *COMMIT_2, *COMMIT_3],
    ),
    "rebase-merged original: one commit per file": (
        BACKPORT,
        [modified(TASKS, ORIGINAL_TASKS), *COMMIT_3],
    ),
    "several originals, the same file in both": (
        [modified(TASKS, BOTH_TASKS), *SECOND[1:], BACKPORT[1]],
        [*ORIGINAL, *SECOND],
    ),
    "a line moved in one patch, moved in the backport too": (
        [
            modified(
                "Lib/x.py",
                patch(
                    "@@ -4,3 +4,3 @@", "-import os", " import sys", "+import os", "+import warnings"
                ),
            )
        ],
        [modified("Lib/x.py", IMPORTS_REORDERED)],
    ),
}


@pytest.mark.parametrize(("backport", "originals"), CLEAN_CASES.values(), ids=CLEAN_CASES.keys())
def test_clean_backports(backport: list[FilePatch], originals: list[FilePatch]) -> None:
    comparison = compare(backport, originals)
    assert comparison.differences == ()
    assert comparison.clean
    assert not comparison.conflict_resolution
    assert comparison.lines_of_concern() == ()


DIVERGENT_CASES = {
    "an extra hunk": (
        [modified(TASKS, EXTRA_HUNK_TASKS), BACKPORT[1]],
        ORIGINAL,
        [FileDifference(TASKS, "lines", extra_added=("        _trace_hook(fut)",))],
    ),
    "a line changed differently": (
        [modified(TASKS, SHIFTED_TASKS.replace("+        if fut.done():", "+        if True:"))],
        [ORIGINAL[0]],
        [
            FileDifference(
                TASKS,
                "lines",
                extra_added=("        if True:",),
                missing_added=("        if fut.done():",),
            )
        ],
    ),
    "a file left out": (
        [BACKPORT[0]],
        ORIGINAL,
        [
            FileDifference(
                NEWS,
                "missing-file",
                missing_added=(
                    "Fix :func:`asyncio.wait_for` with a zero timeout for a future that",
                    "is already done.",
                ),
                detail="the original creates this file; the backport does not",
            )
        ],
    ),
    "an extra file": (
        [
            *BACKPORT,
            modified(
                "Lib/ssl.py", patch("@@ -5 +5 @@", "-CERT_REQUIRED = 2", "+CERT_REQUIRED = 0")
            ),
        ],
        ORIGINAL,
        [
            FileDifference(
                "Lib/ssl.py",
                "extra-file",
                extra_added=("CERT_REQUIRED = 0",),
                extra_removed=("CERT_REQUIRED = 2",),
            )
        ],
    ),
    "binary file, another blob": (
        [modified("Doc/logo.png", None, "png-evil")],
        [modified("Doc/logo.png", None, "png-2")],
        [FileDifference("Doc/logo.png", "binary")],
    ),
    "a patch on one side only, another blob": (
        [modified("Lib/big.py", None, "big-312")],
        [modified("Lib/big.py", patch("@@ -1 +1 @@", "-a", "+b"), "big-main")],
        [FileDifference("Lib/big.py", "binary")],
    ),
    "deleted by the backport only": (
        [FilePatch("Lib/x.py", "removed", "x0", patch("@@ -1 +0,0 @@", "-x = 1"))],
        [modified("Lib/x.py", patch("@@ -1 +1,0 @@", "-x = 1"))],
        [
            FileDifference(
                "Lib/x.py", "lines", detail="the backport deletes this file; the original does not"
            )
        ],
    ),
    "a move the backport does not make (no cancelling within one patch)": (
        [modified("Lib/x.py", patch("@@ -1,2 +1,3 @@", " import sys", "+import warnings"))],
        [modified("Lib/x.py", IMPORTS_REORDERED)],
        [
            FileDifference(
                "Lib/x.py", "lines", missing_added=("import os",), missing_removed=("import os",)
            )
        ],
    ),
    "content lines that start with the sign again": (
        [
            modified(
                "Lib/db.sql",
                patch(
                    "@@ -1,3 +1,3 @@", "--- keep the grant", "-GRANT x;", "+++count;", "+GRANT y;"
                ),
            )
        ],
        [modified("Lib/db.sql", patch("@@ -2 +2 @@", "-GRANT x;", "+GRANT y;"))],
        [
            FileDifference(
                "Lib/db.sql",
                "lines",
                extra_added=("++count;",),
                extra_removed=("-- keep the grant",),
            )
        ],
    ),
    "a line separator inside a line (a line end to JavaScript)": (
        [modified("Doc/x.js", patch("@@ -1 +1 @@", "-// old", "+// ok\u2028evil()"))],
        [modified("Doc/x.js", patch("@@ -1 +1 @@", "-// old", "+// ok"))],
        [
            FileDifference(
                "Doc/x.js", "lines", extra_added=("// ok\u2028evil()",), missing_added=("// ok",)
            )
        ],
    ),
    "renamed from another old path": (
        [RenamedPatch("b.py", "renamed", "r2", patch("@@ -1 +1 @@", "-x", "+y"), "secure.py")],
        [RenamedPatch("b.py", "renamed", "r1", patch("@@ -5 +5 @@", "-x", "+y"), "a.py")],
        [
            FileDifference(
                "a.py",
                "missing-file",
                detail="the original renames this file to b.py; the backport does not",
            ),
            FileDifference(
                "secure.py",
                "extra-file",
                detail="only the backport changes this file: it renames it to b.py",
            ),
        ],
    ),
    "several originals, the backport carries one": (
        BACKPORT,
        [*ORIGINAL, *SECOND],
        [
            FileDifference(
                "Lib/asyncio/events.py",
                "missing-file",
                missing_added=("b",),
                missing_removed=("a",),
            ),
            FileDifference(
                TASKS,
                "lines",
                missing_added=("    if waiter is not None and not waiter.done():",),
                missing_removed=("    if not waiter.done():",),
            ),
        ],
    ),
    "merge-merged original, the backport keeps a line a later commit changed": (
        [
            modified(TASKS, patch(ORIGINAL_TASKS, "+        _debug = True")),
            BACKPORT[1],
        ],
        [*COMMIT_1, *COMMIT_2, *COMMIT_3],
        [FileDifference(TASKS, "lines", extra_added=("        _debug = True",))],
    ),
}


@pytest.mark.parametrize(
    ("backport", "originals", "expected"), DIVERGENT_CASES.values(), ids=DIVERGENT_CASES.keys()
)
def test_divergent_backports(
    backport: list[FilePatch], originals: list[FilePatch], expected: list[FileDifference]
) -> None:
    comparison = compare(backport, originals)
    assert list(comparison.differences) == expected
    assert not comparison.clean


def test_a_file_the_originals_create_and_delete_again_need_not_be_carried() -> None:
    scratch = [d.path for d in compare(BACKPORT, [*COMMIT_1, *COMMIT_2, *COMMIT_3]).differences]
    assert scratch == []
    # ...but a file the original creates and keeps must be
    assert "Lib/test/scratch.py" in compare(BACKPORT, [*COMMIT_1, *COMMIT_3]).paths


def test_a_pure_rename_left_out_is_a_difference() -> None:
    """A rename with no changed lines (GitHub gives no patch, or an empty one) still creates a
    file: a backport that does not make it differs."""
    for text in (None, ""):
        original = [FilePatch("Lib/new.py", "renamed", "r1", text)]
        assert compare([], original).paths == ("Lib/new.py",)


def test_conflict_resolution_when_every_difference_is_in_the_originals_files() -> None:
    resolved = compare([modified(TASKS, EXTRA_HUNK_TASKS)], ORIGINAL)  # a hunk added, NEWS left out
    assert [d.kind for d in resolved.differences] == ["lines", "missing-file"]
    assert resolved.conflict_resolution
    extra = compare([*BACKPORT, modified("Lib/ssl.py", patch("@@ -1 +1 @@", "+x"))], ORIGINAL)
    assert not extra.conflict_resolution
    assert not compare(BACKPORT, ORIGINAL).conflict_resolution


def test_lines_of_concern_is_a_plain_diff_of_the_diffs() -> None:
    comparison = compare(
        [
            modified(TASKS, SHIFTED_TASKS.replace("+        if fut.done():", "+        if True:")),
            modified("Lib/<script>|`x`.py", patch("@@ -1 +1,2 @@", "+", "+a = '<b>'")),
            modified("Doc/logo.png", None, "png-evil"),
        ],
        [*ORIGINAL, modified("Doc/logo.png", None, "png-2")],
    )
    assert comparison.lines_of_concern() == (
        "@@ Doc/logo.png @@ no patch to compare (binary or too large) and the result differs",
        "@@ Lib/<script>|`x`.py @@ only the backport changes this file",
        "++",
        "++ a = '<b>'",
        "@@ Lib/asyncio/tasks.py @@ the changed lines differ from the original's",
        "++         if True:",
        "-+         if fut.done():",
        "@@ Misc/NEWS.d/next/Library/2023-06-20-13-31-25.gh-issue-105987.MyVtNW.rst @@ the original"
        " creates this file; the backport does not",
        "-+ Fix :func:`asyncio.wait_for` with a zero timeout for a future that",
        "-+ is already done.",
    )


def test_lines_of_concern_is_capped() -> None:
    many = patch("@@ -1,0 +1,500 @@", *(f"+line {i}" for i in range(500)))
    lines = compare([modified("Lib/x.py", many)], []).lines_of_concern(limit=200)
    assert len(lines) == 201
    assert lines[199] == "++ line 198"
    assert lines[-1] == "... and 301 more lines"
    one_more = Comparison((FileDifference("a", "lines", extra_added=("x", "y")),))
    assert one_more.lines_of_concern(limit=2)[-1] == "... and 1 more line"


def test_patch_lines_skip_only_what_precedes_the_first_hunk() -> None:
    git_diff = patch("--- a/x.py", "+++ b/x.py", "@@ -1 +1 @@", "--- x", "+++ y")
    assert patch_lines(git_diff) == [("-", "-- x"), ("+", "++ y")]
    assert patch_lines(patch("-x", "+y")) == [("-", "x"), ("+", "y")]  # no header: every line


# --- detection ---------------------------------------------------------------------------------

MISS_ISLINGTON_TITLE = (
    "[3.12] gh-105987: Fix reference counting in _asyncio._swap_current_task (GH-105989)"
)
MISS_ISLINGTON_BODY = (
    "Fix the reference count of the task swapped out.\r\n"
    "\r\n"
    "(cherry picked from commit d2cbb6e918d9ea39f0dd44acb53270f2dac07454)\r\n"
    "\r\n"
    "Co-authored-by: Itamar Oren <itamarost@example.com>\r\n"
    "<!-- gh-issue-number: gh-105987 -->\r\n"
    "* Issue: gh-105987\r\n"
    "<!-- /gh-issue-number -->\r\n"
)


def test_cherry_picked_from_a_miss_islington_body() -> None:
    assert cherry_picked_from(MISS_ISLINGTON_BODY) == ("d2cbb6e918d9ea39f0dd44acb53270f2dac07454",)


def test_cherry_picked_from_two_lines_in_order_without_repeats() -> None:
    message = (
        "[3.12] Two fixes\n\n"
        "(cherry picked from commit 1111111aaaa)\n"
        "(cherry picked from commit 22222222bbbbbbbb)\n"
        "  (cherry picked from commit 1111111AAAA)  \n"
    )
    assert cherry_picked_from(message) == ("1111111aaaa", "22222222bbbbbbbb")
    # the body and the commit messages together: an abbreviation is the same commit
    assert cherry_picked_from(None, "(cherry picked from commit 1111111)", message) == (
        "1111111aaaa",
        "22222222bbbbbbbb",
    )


@pytest.mark.parametrize(
    "text",
    [
        "(cherry picked from commit 123456)",  # 6 hex digits: too short
        "(cherry picked from commit " + "a" * 41 + ")",  # too long
        "(cherry picked from commit 0123abg)",
        "Reverts (cherry picked from commit 0123abc) in passing",  # not a line of its own
        "> (cherry picked from commit 0123abc)",
        "",
    ],
)
def test_cherry_picked_from_ignores_other_text(text: str) -> None:
    assert cherry_picked_from(text) == ()


@pytest.mark.parametrize(
    ("title", "number"),
    [
        (MISS_ISLINGTON_TITLE, 105989),
        ("[3.11] gh-99: Mention (GH-1) then fix it (GH-105990)", 105990),
        ("[3.12] Docs: fix a typo (gh-42)", 42),
        ("[backport 2.x] Fix a typo (#1234)", 1234),
        ("Fix a typo (#1234)", 1234),
        ("Fix a typo (#1234)  ", 1234),
        ("[3.12] Fix a typo", None),
        ("Fix a typo (GH-1234)", None),  # no [branch] prefix: not cherry_picker's shape
        ("Fix #1234 in passing", None),
        ("Fix a typo (#0)", None),
        ("[3.12] Fix a typo (GH-" + "9" * 5000 + ")", None),  # no pull request has that number
        ("", None),
    ],
)
def test_title_original(title: str, number: int | None) -> None:
    assert title_original(title) == number
    assert title_original(title, DEFAULT_TITLE) == number


def test_title_original_with_a_custom_pattern() -> None:
    pattern, error = compile_title(r"^Backport of !(?P<number>\d+)")
    assert error is None and pattern is not None
    assert title_original("Backport of !77: fix", pattern) == 77
    assert title_original("Backport of !77: fix", r"^Backport of !(?P<number>\d+)") == 77
    assert title_original("[3.12] Fix (GH-5)", pattern) is None
    optional, _ = compile_title(r"Backport(?: of !(?P<number>\d+))?")
    assert optional is not None
    assert title_original("Backport", optional) is None  # the group took no part


def test_a_hostile_title_pattern_runs_in_linear_time() -> None:
    pattern, error = compile_title(r"^(a*)*(a|aa)*(?P<number>[0-9]+)b$")
    assert error is None and pattern is not None
    title = "a" * 100_000 + "!"
    started = time.perf_counter()
    assert pattern.original(title) is None
    assert title_original(title, r"^(a+)+(?P<number>[0-9]+)$") is None
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(GH-(?P<number>\d+)", "is not a valid regular expression (missing ): "),
        (r"(?<=GH-)(?P<number>\d+)", "is not a valid regular expression (invalid perl operator"),
        (r"(?P<number>\d+) \1", "is not a valid regular expression (invalid escape sequence"),
        (r"\(GH-\d+\)", "has no group named 'number'"),
        ("(?P<number>x)" + "x" * MAX_TITLE_PATTERN_CHARS, "is longer than 512 characters"),
    ],
)
def test_an_invalid_title_pattern_gives_an_error_not_an_exception(
    pattern: str, message: str
) -> None:
    compiled, error = compile_title(pattern)
    assert compiled is None
    assert error is not None and error.startswith(message)
    assert title_original("[3.12] Fix (GH-5)", pattern) is None


def test_full_title_rejoins_a_title_github_cut() -> None:
    body = "…current_task (GH-105989)\r\n\r\n(cherry picked from commit d2cbb6e)"
    title = full_title("[3.12] gh-105987: Fix reference counting in _asyncio._swap_…", body)
    assert title.endswith("_swap_current_task (GH-105989)")
    assert title_original(title) == 105989
    assert full_title("Fix (GH-1)", None) == "Fix (GH-1)"
