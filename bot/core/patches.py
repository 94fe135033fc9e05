"""Comparing changes by their content: the lines a patch adds and removes (pure).

The idea of ``git patch-id``: two changes to a file are the same change when they add and remove
the same lines, wherever the hunks sit and whatever context surrounds them, with whitespace at
line ends ignored. Files without a patch (binary, too large) are the same only when they end as
the same blob.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class FilePatch:
    """One file of a change as GitHub lists it: its path, status, resulting blob and patch."""

    path: str
    status: str
    blob_sha: str | None
    patch: str | None
    previous_path: str | None = None

    @classmethod
    def from_rest(cls, item: Mapping[str, Any]) -> FilePatch:
        return cls(
            path=str(item["filename"]),
            status=str(item.get("status") or "modified"),
            blob_sha=item.get("sha"),
            patch=item.get("patch"),
            previous_path=item.get("previous_filename"),
        )


LINE_END_SPACE: Final = " \t\r\f\v"
"""The whitespace stripped at line ends: ASCII only, as git's own whitespace options."""

Line = tuple[str, str]
"""``("+" or "-", the line without its sign, whitespace at its end stripped)``."""


def patch_lines(patch: str) -> list[Line]:
    """The lines a GitHub-style patch adds (``+``) and removes (``-``), in order, whitespace at
    line ends stripped; hunk headers, context and "\\\\ No newline" markers are left out.

    Lines split at ``\\n`` only, as git does: a line holding another line separator (``\\u2028``,
    a line end to JavaScript) stays one line. Inside a hunk, a line is content whatever follows
    its sign (``+++i;`` adds ``++i;``); only text before the first hunk header (a full ``git diff``
    file header) is skipped.

    >>> patch_lines("@@ -1,3 +1,3 @@\\n keep\\n-old  \\n+new\\n+++i;\\n\\\\ No newline at end of file")
    [('-', 'old'), ('+', 'new'), ('+', '++i;')]
    """
    rows = patch.split("\n")
    start = next((i + 1 for i, row in enumerate(rows) if row.startswith("@@")), 0)
    found: list[Line] = []
    for row in rows[start:]:
        if row[:1] in ("+", "-"):
            found.append((row[0], row[1:].rstrip(LINE_END_SPACE)))
    return found


def changed_lines(patch: str) -> Counter[tuple[str, str]]:
    """The lines a patch adds and removes (:func:`patch_lines`) as a multiset.

    >>> sorted(changed_lines("@@ -1,2 +1,2 @@\\n keep\\n-old  \\n+new\\n+++i;\\n").items())
    [(('+', '++i;'), 1), (('+', 'new'), 1), (('-', 'old'), 1)]
    """
    return Counter(patch_lines(patch))


def brings_only(change: Iterable[FilePatch], source: Iterable[FilePatch]) -> bool:
    """Whether ``change`` adds or removes nothing that ``source`` does not: every file it touches
    is one ``source`` touches too, and either ends as the same blob, or its added and removed
    lines are among ``source``'s for that file. A merge of the base branch into a pull request
    that brings only the base's own changes passes; one whose conflicts were resolved with new
    lines does not.

    >>> base = [FilePatch("a.py", "modified", "b1", "@@ -1 +1 @@\\n-x = 1\\n+x = 2\\n")]
    >>> brings_only([FilePatch("a.py", "modified", "m1", "@@ -5 +5 @@\\n-x = 1\\n+x = 2\\n")], base)
    True
    >>> brings_only([FilePatch("a.py", "modified", "m2", "@@ -1 +1 @@\\n-x = 1\\n+evil()\\n")], base)
    False
    """
    by_path = {file.path: file for file in source}
    for file in change:
        theirs = by_path.get(file.path)
        if theirs is None:
            return False
        if file.blob_sha is not None and file.blob_sha == theirs.blob_sha:
            continue
        if file.status == "removed" and theirs.status == "removed":
            continue
        if file.patch is None or theirs.patch is None:
            return False
        mine, base = changed_lines(file.patch), changed_lines(theirs.patch)
        if any(count > base[line] for line, count in mine.items()):
            return False
    return True
