"""Git objects and diffs, computed the way git and GitHub compute them.

Blob, tree and commit SHAs are real git object ids (``git hash-object`` agrees). Diffs are computed
between two trees (``path -> bytes`` snapshots) with exact and similarity rename detection, and
rendered as GitHub's per-file ``patch`` (unified hunks without the ``---``/``+++`` header).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

Tree = Mapping[str, bytes]

NULL_SHA = "0" * 40
#: git's binary heuristic: a NUL byte in the first 8,000 bytes.
BINARY_SNIFF_BYTES = 8000
#: Patches larger than this are omitted, as GitHub omits the patch of very large diffs.
MAX_PATCH_BYTES = 400_000
#: Files larger than this are not compared for similarity renames (keeps the fake fast).
MAX_SIMILARITY_BYTES = 64_000


def blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def is_binary(content: bytes) -> bool:
    return b"\0" in content[:BINARY_SNIFF_BYTES]


def tree_sha(tree: Tree) -> str:
    """The id of the root tree object git would write for this snapshot."""
    root: dict[str, object] = {}
    for path, content in tree.items():
        node = root
        *dirs, name = path.split("/")
        for part in dirs:
            child = node.setdefault(part, {})
            assert isinstance(child, dict)
            node = child
        node[name] = content
    return _write_tree(root)


def _write_tree(node: Mapping[str, object]) -> str:
    entries: list[tuple[bytes, bytes]] = []
    for name, value in node.items():
        if isinstance(value, bytes):
            mode, oid = b"100644", blob_sha(value)
            sort_key = name.encode()
        else:
            assert isinstance(value, dict)
            mode, oid = b"40000", _write_tree(value)
            sort_key = name.encode() + b"/"
        entries.append((sort_key, mode + b" " + name.encode() + b"\0" + bytes.fromhex(oid)))
    body = b"".join(entry for _, entry in sorted(entries))
    return hashlib.sha1(b"tree %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


def commit_sha(
    tree: str,
    parents: list[str],
    author: tuple[str, str, datetime],
    committer: tuple[str, str, datetime],
    message: str,
) -> str:
    def person(who: tuple[str, str, datetime]) -> str:
        name, email, when = who
        return f"{name} <{email}> {int(when.timestamp())} +0000"

    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {person(author)}", f"committer {person(committer)}", ""]
    body = ("\n".join(lines) + "\n" + message.rstrip("\n") + "\n").encode()
    return hashlib.sha1(b"commit %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


_TRAILER = re.compile(r"^co-authored-by:\s*(?P<name>.*?)\s*<(?P<email>[^>]+)>\s*$", re.I | re.M)


def co_author_trailers(message: str) -> list[tuple[str, str]]:
    """``(name, email)`` of each ``Co-authored-by:`` trailer, in order."""
    return [(m["name"], m["email"]) for m in _TRAILER.finditer(message)]


@dataclass(frozen=True)
class FileDiff:
    """One file of a diff, with the numbers GitHub reports."""

    filename: str
    status: str  # added | removed | modified | renamed
    additions: int
    deletions: int
    patch: str | None
    blob_sha: str
    previous_filename: str | None = None

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


def _lines(content: bytes) -> list[str]:
    return content.decode("utf-8", "replace").splitlines(keepends=True)


def _patch(old: bytes, new: bytes) -> tuple[str | None, int, int]:
    """(patch or None, additions, deletions) for a text change; None patch for binaries."""
    if is_binary(old) or is_binary(new):
        return None, 0, 0
    out: list[str] = []
    adds = dels = 0
    for i, line in enumerate(difflib.unified_diff(_lines(old), _lines(new), n=3)):
        if i < 2:  # the ---/+++ header, which GitHub leaves out
            continue
        if line.startswith("+"):
            adds += 1
        elif line.startswith("-"):
            dels += 1
        if line.endswith("\n"):
            out.append(line[:-1])
        elif line.startswith("@@"):
            out.append(line)
        else:
            out.extend([line, "\\ No newline at end of file"])
    if not out:
        return None, 0, 0
    text = "\n".join(out)
    if len(text.encode()) > MAX_PATCH_BYTES:
        return None, adds, dels
    return text, adds, dels


def _similar(a: bytes, b: bytes) -> bool:
    if a == b:
        return True
    if len(a) > MAX_SIMILARITY_BYTES or len(b) > MAX_SIMILARITY_BYTES or not a or not b:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.5


def diff_trees(old: Tree, new: Tree) -> list[FileDiff]:
    """The files that differ between two snapshots, sorted by path, renames detected."""
    added = sorted(p for p in new if p not in old)
    removed = sorted(p for p in old if p not in new)
    modified = sorted(p for p in new if p in old and old[p] != new[p])
    renames: dict[str, str] = {}
    for exact in (True, False):
        for path in added:
            if path in renames:
                continue
            for gone in removed:
                if gone in renames.values():
                    continue
                same = old[gone] == new[path]
                if same if exact else _similar(old[gone], new[path]):
                    renames[path] = gone
                    break
    out: list[FileDiff] = []
    for path in added:
        if path in renames:
            before = old[renames[path]]
            patch, adds, dels = _patch(before, new[path])
            out.append(
                FileDiff(path, "renamed", adds, dels, patch, blob_sha(new[path]), renames[path])
            )
        else:
            patch, adds, dels = _patch(b"", new[path])
            out.append(FileDiff(path, "added", adds, dels, patch, blob_sha(new[path])))
    for path in removed:
        if path in renames.values():
            continue
        patch, adds, dels = _patch(old[path], b"")
        out.append(FileDiff(path, "removed", adds, dels, patch, blob_sha(old[path])))
    for path in modified:
        patch, adds, dels = _patch(old[path], new[path])
        out.append(FileDiff(path, "modified", adds, dels, patch, blob_sha(new[path])))
    return sorted(out, key=lambda f: f.filename)
