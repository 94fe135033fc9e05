"""Backports: recognising a cherry-pick of an earlier change, and comparing the two (pure).

A backport carries a change that was already reviewed on the default branch to a maintenance
branch. Its text says where it came from: cherry_picker (and CPython's miss-islington, which runs
it) titles it ``[3.12] <original title> (GH-123)``, and ``git cherry-pick -x`` ends its message with
``(cherry picked from commit <sha>)``. That text only names a candidate: the caller confirms the
original through the API. Whether the backport is the *same* change is decided here by content,
the idea of ``git patch-id``: file by file, the same added and removed lines, whatever the hunk
positions and the unchanged context around them, with whitespace at line ends ignored. Where they
differ, :class:`Comparison` lists exactly the lines that differ (a diff of the diffs), so that a
reviewer reads only what the backporter changed.

Nothing here performs I/O. User-given title patterns are compiled by RE2, which matches in time
linear in the title whatever the pattern.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, Literal

import re2

from bot.core.patches import LINE_END_SPACE, FilePatch, Line, patch_lines

# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------

_CHERRY_PICK_LINE: Final = re.compile(r"\(cherry picked from commit ([0-9a-fA-F]{7,40})\)")


def cherry_picked_from(*texts: str | None) -> tuple[str, ...]:
    """The commits named by ``(cherry picked from commit <sha>)`` lines, as ``git cherry-pick -x``
    writes them, in the order found over all ``texts`` (a body, commit messages; None is skipped).

    The line must stand on its own (surrounding whitespace aside); the SHA has 7 to 40 hex digits
    and is given in lower case. A SHA that abbreviates one already found (or the other way round)
    is the same commit: it is listed once, at its first place, in its longest form.

    >>> cherry_picked_from("Fix it\\n\\n(cherry picked from commit 0123ABCdef)\\n", None)
    ('0123abcdef',)
    >>> cherry_picked_from("(cherry picked from commit 0123abc)", "(cherry picked from commit 0123abcd)")
    ('0123abcd',)
    >>> cherry_picked_from("see (cherry picked from commit 0123abc) above")
    ()
    """
    found: list[str] = []
    for text in texts:
        for line in (text or "").split("\n"):
            match = _CHERRY_PICK_LINE.fullmatch(line.strip(LINE_END_SPACE))
            if match is None:
                continue
            sha = match.group(1).lower()
            for index, known in enumerate(found):
                if known.startswith(sha) or sha.startswith(known):
                    found[index] = max(known, sha, key=len)
                    break
            else:
                found.append(sha)
    return tuple(found)


DEFAULT_TITLE: Final = r"^(?:\[[^\]]+\] .*\((?i:gh)-|.*\(#)(?P<number>[0-9]+)\)\s*$"
"""The default ``backports.title`` pattern: cherry_picker's ``[3.12] <title> (GH-123)`` (``gh-``
too), or any title ending in ``(#123)``. The number of the original is the group ``number``."""

TITLE_NUMBER_GROUP: Final = "number"
MAX_TITLE_PATTERN_CHARS: Final = 512
"""The longest ``backports.title`` pattern accepted."""
_MAX_NUMBER_DIGITS: Final = 10


def _title_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # errors are reported where the pattern was written
    return options


_TITLE_OPTIONS: Final = _title_options()


@dataclass(frozen=True)
class TitlePattern:
    """A compiled ``backports.title`` pattern (RE2: linear-time matching, no backreferences or
    look-around). Make one with :func:`compile_title`."""

    source: str
    regex: Any = field(repr=False, compare=False)

    def original(self, title: str) -> int | None:
        """The number the pattern's ``number`` group finds in ``title``; None when the pattern
        does not match, the group took no part, or what it found is no pull request number."""
        match = self.regex.search(title)
        if match is None:
            return None
        found = match.group(TITLE_NUMBER_GROUP)
        if not found or len(found) > _MAX_NUMBER_DIGITS or not found.isascii():
            return None
        if not found.isdigit() or int(found) == 0:
            return None
        return int(found)


def compile_title(pattern: str) -> tuple[TitlePattern | None, str | None]:
    """``pattern`` compiled for matching titles, or None and what is wrong with it.

    The message continues a sentence that names the key (``backports.title {pattern!r} ...``),
    as the policy's other messages do. Nothing here raises.

    >>> compile_title(r"\\(GH-(?P<number>\\d+)\\)$")[1] is None
    True
    >>> compile_title(r"(GH-(?P<number>\\d+)$")
    (None, 'is not a valid regular expression (missing ): (GH-(?P<number>\\\\d+)$)')
    >>> compile_title(r"GH-\\d+")
    (None, "has no group named 'number' to find the original's number in")
    """
    if len(pattern) > MAX_TITLE_PATTERN_CHARS:
        return None, f"is longer than {MAX_TITLE_PATTERN_CHARS} characters"
    try:
        regex = re2.compile(pattern, _TITLE_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return None, f"is not a valid regular expression ({detail})"
    if TITLE_NUMBER_GROUP not in regex.groupindex:
        return None, f"has no group named {TITLE_NUMBER_GROUP!r} to find the original's number in"
    return TitlePattern(pattern, regex), None


@lru_cache(maxsize=64)
def _compiled_title(pattern: str) -> TitlePattern | None:
    return compile_title(pattern)[0]


def title_original(title: str, pattern: str | TitlePattern = DEFAULT_TITLE) -> int | None:
    """The number of the original pull request that ``title`` names by ``pattern``, if any.

    An invalid pattern finds nothing (validation reports it; see :func:`compile_title`).

    >>> title_original("[3.12] gh-105987: Fix a leak in _asyncio (GH-105989)")
    105989
    >>> title_original("Fix a leak (#105989)")
    105989
    >>> title_original("[3.12] Fix a leak") is None
    True
    """
    compiled = _compiled_title(pattern) if isinstance(pattern, str) else pattern
    return None if compiled is None else compiled.original(title)


def full_title(title: str, body: str | None) -> str:
    """``title`` rejoined with its end where GitHub cut a long title when the pull request was
    opened from a commit: the title then ends in "…" and the body starts with "…" and the rest.

    >>> full_title("[3.12] gh-1: A very long …", "…title (GH-2)\\n\\nmore")
    '[3.12] gh-1: A very long title (GH-2)'
    >>> full_title("Short (GH-2)", "…unrelated")
    'Short (GH-2)'
    """
    if title.endswith("…") and body and body.startswith("…"):
        return title[:-1] + body[1:].split("\n", 1)[0].rstrip(LINE_END_SPACE)
    return title


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------

DifferenceKind = Literal["extra-file", "missing-file", "lines", "binary"]


@dataclass(frozen=True)
class FileDifference:
    """How the backport's change to one file differs from the original's.

    ``extra_added`` / ``extra_removed``: lines the backport adds / removes that the original does
    not. ``missing_added`` / ``missing_removed``: lines the original adds / removes that the
    backport does not carry over. Each in the order of its patch, one entry per occurrence.

    ``kind``: ``extra-file`` (only the backport changes the file), ``missing-file`` (only the
    original does), ``lines`` (both do, with different lines) or ``binary`` (no patch to compare on
    one side at least, and the resulting files differ). ``detail`` says more where there is more
    to say (a deletion on one side only, a rename's old path). ``path`` is the file's path after
    the change (a renamed file's new path); the old path of a rename counts as a file of its own
    that the rename deletes.
    """

    path: str
    kind: DifferenceKind
    extra_added: tuple[str, ...] = ()
    extra_removed: tuple[str, ...] = ()
    missing_added: tuple[str, ...] = ()
    missing_removed: tuple[str, ...] = ()
    detail: str = ""

    @property
    def description(self) -> str:
        """One plain sentence saying how the file differs."""
        if self.detail:
            return self.detail
        return {
            "extra-file": "only the backport changes this file",
            "missing-file": "the original changes this file; the backport leaves it out",
            "lines": "the changed lines differ from the original's",
            "binary": "no patch to compare (binary or too large) and the result differs",
        }[self.kind]

    def diff_lines(self) -> list[str]:
        """The differing lines, each with two signs as ``git range-diff`` writes a diff of
        diffs: the first says which side has the line (``+`` the backport only, ``-`` the
        original only), the second what that side does with it (adds ``+``, removes ``-``)."""
        out: list[str] = []
        for prefix, lines in (
            ("++", self.extra_added),
            ("+-", self.extra_removed),
            ("-+", self.missing_added),
            ("--", self.missing_removed),
        ):
            out.extend(f"{prefix} {line}" if line else prefix for line in lines)
        return out


DIFF_LEGEND: Final = (
    "++ a line the backport adds that the original does not; "
    "+- a line the backport removes that the original does not; "
    "-+ a line the original adds that the backport does not carry over; "
    "-- a line the original removes that the backport does not"
)
"""What the two signs of :meth:`Comparison.lines_of_concern` mean, for the report."""

MAX_CONCERN_LINES: Final = 200


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`: the files that differ, in path order (none: clean)."""

    differences: tuple[FileDifference, ...] = ()

    @property
    def clean(self) -> bool:
        """True when the backport is the same change as the original(s)."""
        return not self.differences

    @property
    def conflict_resolution(self) -> bool:
        """True when the backport differs, but only in files the original changes too (lines
        changed or left out): the common, honest shape of a conflict resolved by hand. False
        when clean, or when the backport changes a file the original does not."""
        return bool(self.differences) and all(d.kind != "extra-file" for d in self.differences)

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths that differ (for matching the policy's rules against)."""
        return tuple(d.path for d in self.differences)

    def lines_of_concern(self, limit: int = MAX_CONCERN_LINES) -> tuple[str, ...]:
        """The differences as plain text, one ``@@ <path> @@ <description>`` header per file and
        its differing lines (see :meth:`FileDifference.diff_lines` and :data:`DIFF_LEGEND`), at
        most ``limit`` lines and then ``... and N more lines``. Nothing is escaped: rendering does
        that.

        >>> Comparison((FileDifference("a.py", "lines", extra_added=("evil()",)),)).lines_of_concern()
        ("@@ a.py @@ the changed lines differ from the original's", '++ evil()')
        """
        out: list[str] = []
        for difference in self.differences:
            out.append(f"@@ {difference.path} @@ {difference.description}")
            out.extend(difference.diff_lines())
        if len(out) <= limit:
            return tuple(out)
        more = len(out) - limit
        return (*out[:limit], f"... and {more} more line{'s' if more != 1 else ''}")


@dataclass(frozen=True)
class _Entry:
    """One file of one patch list, as the comparison sees it (``lines`` None: no patch)."""

    status: str
    blob_sha: str | None
    lines: tuple[Line, ...] | None
    renamed_to: str | None = None

    @property
    def creates(self) -> bool:
        return self.status in ("added", "renamed", "copied")

    @property
    def deletes(self) -> bool:
        return self.status == "removed"


def _previous_path(file: FilePatch) -> str | None:
    """A renamed file's old path, where the patch carries one (``previous_path``)."""
    previous = getattr(file, "previous_path", None)
    return previous if isinstance(previous, str) and previous else None


def _by_path(files: Sequence[FilePatch]) -> dict[str, list[_Entry]]:
    """The entries for each path, in the order given. A rename whose old path is known also
    deletes that old path."""
    entries: dict[str, list[_Entry]] = {}
    for file in files:
        lines = None if file.patch is None else tuple(patch_lines(file.patch))
        entries.setdefault(file.path, []).append(_Entry(file.status, file.blob_sha, lines))
        previous = _previous_path(file)
        if file.status == "renamed" and previous is not None and previous != file.path:
            gone = _Entry("removed", None, None, renamed_to=file.path)
            entries.setdefault(previous, []).append(gone)
    return entries


def _cross_pairs(per_entry: Sequence[Counter[Line]], text: str) -> int:
    """How many (``+text``, ``-text``) pairs can cancel out between *different* entries: a line one
    commit adds and a later one removes (or the other way round). Within one patch they never
    cancel: there a ``-``/``+`` pair moves the line, which the backport must do as well."""
    plus = [counts[("+", text)] for counts in per_entry]
    minus = [counts[("-", text)] for counts in per_entry]
    most = max(p + m for p, m in zip(plus, minus, strict=True))
    return max(0, min(sum(plus), sum(minus), sum(plus) + sum(minus) - most))


def _in_order(lines: Sequence[Line], budget: Counter[Line], sign: str) -> tuple[str, ...]:
    left = Counter(budget)
    picked: list[str] = []
    for line in lines:
        if line[0] == sign and left[line] > 0:
            left[line] -= 1
            picked.append(line[1])
    return tuple(picked)


def _line_difference(
    path: str, kind: DifferenceKind, mine: Sequence[_Entry], theirs: Sequence[_Entry], detail: str
) -> FileDifference | None:
    """The lines ``mine`` (backport) and ``theirs`` (originals) do not share, or None when the
    same, counting pairs that the originals' separate patches cancel among themselves."""
    my_lines = [line for entry in mine for line in entry.lines or ()]
    their_lines = [line for entry in theirs for line in entry.lines or ()]
    my_counts, their_counts = Counter(my_lines), Counter(their_lines)
    extra, missing = my_counts - their_counts, their_counts - my_counts
    per_entry = [Counter(entry.lines or ()) for entry in theirs]
    for sign, text in list(missing):
        if sign != "+" or missing[("-", text)] == 0:
            continue
        pairs = min(missing[("+", text)], missing[("-", text)], _cross_pairs(per_entry, text))
        missing[("+", text)] -= pairs
        missing[("-", text)] -= pairs
    missing = +missing
    if not extra and not missing and not detail:
        if len(mine) == 1 and len(theirs) == 1 and my_lines != their_lines:
            # the same lines, in another order (a check moved after the return): as git
            # patch-id, the order of a patch's lines is part of the change
            return FileDifference(
                path,
                kind,
                extra_added=tuple(text for sign, text in my_lines if sign == "+"),
                extra_removed=tuple(text for sign, text in my_lines if sign == "-"),
                detail="it adds and removes the original's lines, but in another order",
            )
        return None
    return FileDifference(
        path,
        kind,
        extra_added=_in_order(my_lines, extra, "+"),
        extra_removed=_in_order(my_lines, extra, "-"),
        missing_added=_in_order(their_lines, missing, "+"),
        missing_removed=_in_order(their_lines, missing, "-"),
        detail=detail,
    )


def _only_in_backport(path: str, mine: Sequence[_Entry]) -> FileDifference:
    renamed_to = next((entry.renamed_to for entry in mine if entry.renamed_to), None)
    detail = ""
    if renamed_to is not None:
        detail = f"only the backport changes this file: it renames it to {renamed_to}"
    elif any(entry.lines is None for entry in mine):
        detail = "only the backport changes this file (no patch to show: binary or too large)"
    difference = _line_difference(path, "extra-file", mine, (), detail)
    return difference or FileDifference(path, "extra-file")


def _only_in_originals(path: str, theirs: Sequence[_Entry]) -> FileDifference | None:
    if theirs[0].creates and theirs[-1].deletes:
        return None  # created and deleted again by the originals: nothing to carry over
    renamed_to = next((entry.renamed_to for entry in theirs if entry.renamed_to), None)
    detail = ""
    if renamed_to is not None:
        detail = f"the original renames this file to {renamed_to}; the backport does not"
    elif any(entry.lines is None for entry in theirs):
        detail = (
            "the original changes this file (no patch to show: binary or too large);"
            " the backport leaves it out"
        )
    elif theirs[0].creates or theirs[-1].deletes:
        detail = (
            "the original "
            + ("creates" if theirs[0].creates else "deletes")
            + " this file; the backport does not"
        )
    return _line_difference(path, "missing-file", (), theirs, detail)


def _compare_path(
    path: str, mine: Sequence[_Entry], theirs: Sequence[_Entry]
) -> FileDifference | None:
    if not theirs:
        return _only_in_backport(path, mine)
    if not mine:
        return _only_in_originals(path, theirs)
    my_end, their_end = mine[-1], theirs[-1]
    if my_end.deletes and their_end.deletes:
        return None  # gone on both sides, whatever it held on each branch
    with_patches = all(entry.lines is not None for entry in (*mine, *theirs))
    detail = ""
    if my_end.deletes != their_end.deletes:
        who, other = ("backport", "original") if my_end.deletes else ("original", "backport")
        detail = f"the {who} deletes this file; the {other} does not"
        if my_end.renamed_to or their_end.renamed_to:
            renamed_to = my_end.renamed_to or their_end.renamed_to
            detail = f"the {who} renames this file to {renamed_to}; the {other} does not"
    if with_patches:
        return _line_difference(path, "lines", mine, theirs, detail)
    if not detail and my_end.blob_sha is not None and my_end.blob_sha == their_end.blob_sha:
        return None
    return FileDifference(path, "binary", detail=detail)


def compare(backport: Sequence[FilePatch], originals: Sequence[FilePatch]) -> Comparison:
    """Compare a backport's files with its original's, file by file, by content.

    ``backport`` is the backport's own diff (one entry per file, as GitHub lists a pull
    request's files or a comparison). ``originals`` is the original's files, or several lists
    concatenated in the order they landed (the commits of a merge- or rebase-merged pull request,
    several originals): entries for the same path add up, and a line that one of them adds and a
    later one removes (or the reverse) cancels out, as it does in their combined diff.

    A file is the same when both sides end with it deleted, or when both have patches and the
    backport adds and removes exactly the lines the original(s) do (in any position, with any
    context, whitespace at line ends ignored). Files matched by path: a renamed file by its new
    path, whatever its status on each side; where the patch says a rename's old path
    (``previous_path``), the rename also deletes that path, which must then match too. A file
    without a patch (binary, too large) on either side is the same only when both end as the
    same blob.

    >>> original = [FilePatch("a.py", "modified", "b1", "@@ -10,3 +10,3 @@\\n x\\n-y = 1\\n+y = 2\\n")]
    >>> compare([FilePatch("a.py", "modified", "b2", "@@ -7,2 +7,2 @@\\n-y = 1 \\n+y = 2\\n z\\n")], original).clean
    True
    >>> compare([FilePatch("a.py", "modified", "b3", "@@ -7 +7 @@\\n-y = 1\\n+y = 3\\n")], original).differences
    (FileDifference(path='a.py', kind='lines', extra_added=('y = 3',), extra_removed=(), missing_added=('y = 2',), missing_removed=(), detail=''),)
    """
    mine, theirs = _by_path(backport), _by_path(originals)
    differences = []
    for path in sorted(mine.keys() | theirs.keys()):
        difference = _compare_path(path, mine.get(path, ()), theirs.get(path, ()))
        if difference is not None:
            differences.append(difference)
    return Comparison(tuple(differences))
