"""Release tags: their version order, and which release came before a given one.

Pure: nothing here talks to GitHub or reads files. The release audit compares a release with the
release before it; this module decides which tag that is.

A tag is a *release tag* when it matches one of the policy's ``release.tags`` globs (matched
with :func:`fnmatch.fnmatchcase`, default ``["v*", "[0-9]*"]``) and its name parses as a
version, either whole or after the glob's literal start (``release-1.2`` under the glob
``release-*``; that start is the tag's *series*, ``""`` for the default globs). A version is
an optional ``v`` (or ``V``), then dot-separated numbers, then optionally a PEP 440-like
pre-release: ``a``/``alpha``, ``b``/``beta`` or ``rc``/``c``/``pre``/``preview`` and a number,
with an optional ``.``, ``-`` or ``_`` before the label and before the number (``v3.13.0rc2``,
``1.0.0-rc.1``, ``2.0b1``). Anything else (``v1.0-final``, ``latest``, ``v1.0.post1``,
``nightly-2024``) is not a release tag and is ignored.

Versions compare as PEP 440 does for these forms: numbers numerically with trailing zeros
ignored (``v1.0`` equals ``v1.0.0``), and a pre-release before its final release in the order
``a`` < ``b`` < ``rc``.

**The previous release** (:func:`previous_release`) of a release tag is, among the release tags
of the same series (``foo-1.1`` never follows ``bar-1.0``) whose version is lower:

1. the highest on the same *line*, the same major and minor version (``v3.12.1`` follows
   ``v3.12.0`` even when ``v3.13.0`` was tagged in between; ``v3.12.0`` follows the last of its
   own pre-releases, ``v3.12.0rc3``; ``v3.12.0rc2`` follows ``v3.12.0rc1``);
2. where the line has none, the highest *final* release of a lower line (``v3.12.0a1``, and a
   ``v3.12.0`` that had no pre-releases, follow the latest ``v3.11.*``; an abandoned
   ``v1.10.0rc1`` is passed over for ``v1.9.0`` when ``v2.0.0`` is released);
3. where there is no lower final release either, the highest lower pre-release;
4. otherwise None: this is the first release.

A version with one number (``5``, ``20240115``) is on the line ``(5, 0)``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

DEFAULT_RELEASE_TAGS: Final[tuple[str, ...]] = ("v*", "[0-9]*")
"""The default ``release.tags``: the globs a release tag matches."""

DEFAULT_GENERATED: Final[tuple[str, ...]] = (
    "configure",
    "Makefile.in",
    "aclocal.m4",
    "config.h.in",
    "PKG-INFO",
    "*.egg-info/**",
    "build-aux/**",
)
"""The default ``release.generated``: files a release archive normally adds to the tree."""

DEFAULT_MAX_ARCHIVE_MB: Final = 200
"""The default ``release.max_archive_mb``: the largest archive download, in MiB."""

MAX_TAG_CHARS: Final = 255
"""Longer tag names are never parsed as versions (git allows long names; versions are short)."""
MAX_VERSION_PARTS: Final = 10
"""A version with more numbers than this is not a release version."""
MAX_PART_DIGITS: Final = 20
"""A version number with more digits than this is not a release version."""

PreRelease = tuple[int, int]
"""``(phase, number)``: phase 0 for ``a``, 1 for ``b``, 2 for ``rc``."""

_FINAL: Final = (3, 0)
"""Sorts after every pre-release of the same release."""

_PHASES: Final = {
    "a": 0,
    "alpha": 0,
    "b": 1,
    "beta": 1,
    "c": 2,
    "rc": 2,
    "pre": 2,
    "preview": 2,
}
_LABELS: Final = ("a", "b", "rc")

_VERSION: Final = re.compile(
    rf"""
    [vV]?
    (?P<release>[0-9]{{1,{MAX_PART_DIGITS}}}(?:\.[0-9]{{1,{MAX_PART_DIGITS}}})*)
    (?:
        [-_.]?
        (?P<label>alpha|beta|preview|pre|rc|a|b|c)
        [-_.]?
        (?P<number>[0-9]{{1,{MAX_PART_DIGITS}}})?
    )?
    """,
    re.VERBOSE | re.ASCII | re.IGNORECASE,
)


@dataclass(frozen=True)
class ReleaseVersion:
    """A parsed release version: its numbers, and its pre-release (None for a final release).

    >>> v = parse_version("v3.13.0rc2")
    >>> v.release, v.pre, v.line, v.is_prerelease, str(v)
    ((3, 13, 0), (2, 2), (3, 13), True, '3.13.0rc2')
    """

    release: tuple[int, ...]
    pre: PreRelease | None = None

    @property
    def line(self) -> tuple[int, int]:
        """The release line: major and minor version (``(3, 12)`` for ``3.12.4``)."""
        padded = (*self.release, 0)
        return padded[0], padded[1]

    @property
    def is_prerelease(self) -> bool:
        """True for an alpha, beta or release candidate."""
        return self.pre is not None

    @property
    def key(self) -> tuple[tuple[int, ...], PreRelease]:
        """What versions sort by: trailing zeros dropped, a final release after its pre-releases."""
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        return tuple(release), self.pre if self.pre is not None else _FINAL

    def __str__(self) -> str:
        text = ".".join(str(part) for part in self.release)
        if self.pre is not None:
            text += f"{_LABELS[self.pre[0]]}{self.pre[1]}"
        return text


def parse_version(tag: str) -> ReleaseVersion | None:
    """The version a tag names, or None when it names none.

    >>> parse_version("v5.6.1")
    ReleaseVersion(release=(5, 6, 1), pre=None)
    >>> parse_version("1.0.0-RC.1")
    ReleaseVersion(release=(1, 0, 0), pre=(2, 1))
    >>> parse_version("3.12.0b")  # no number: 0, as in PEP 440
    ReleaseVersion(release=(3, 12, 0), pre=(1, 0))
    >>> parse_version("v1.0.post1") is None, parse_version("latest") is None
    (True, True)
    """
    if len(tag) > MAX_TAG_CHARS:
        return None
    match = _VERSION.fullmatch(tag)
    if match is None:
        return None
    release = tuple(int(part) for part in match.group("release").split("."))
    if len(release) > MAX_VERSION_PARTS:
        return None
    label = match.group("label")
    if label is None:
        return ReleaseVersion(release)
    number = match.group("number")
    return ReleaseVersion(release, (_PHASES[label.lower()], int(number) if number else 0))


def matches_globs(tag: str, patterns: Iterable[str]) -> bool:
    """Whether ``tag`` matches one of the fnmatch-style ``patterns`` (case-sensitive).

    >>> matches_globs("v1.0", ["v*"]), matches_globs("release-1.0", ["v*", "[0-9]*"])
    (True, False)
    """
    return any(fnmatch.fnmatchcase(tag, pattern) for pattern in patterns)


def _literal_start(pattern: str) -> str:
    """What a glob starts with before its first wildcard: ``release-`` for ``release-*``."""
    cut = min((pattern.find(char) for char in "*?[" if char in pattern), default=len(pattern))
    return pattern[:cut]


def release_version(
    tag: str, patterns: Sequence[str] = DEFAULT_RELEASE_TAGS
) -> tuple[str, ReleaseVersion] | None:
    """The series and version of a release tag, or None for a tag that is not one.

    >>> release_version("v3.12.0")
    ('', ReleaseVersion(release=(3, 12, 0), pre=None))
    >>> release_version("release-v1.2rc1", ["release-*"])
    ('release-', ReleaseVersion(release=(1, 2), pre=(2, 1)))
    >>> release_version("vacation-2") is None, release_version("vv1.0") is None
    (True, True)
    """
    for pattern in patterns:
        if not fnmatch.fnmatchcase(tag, pattern):
            continue
        version = parse_version(tag)
        if version is not None:
            return "", version
        start = _literal_start(pattern)
        rest = tag[len(start) :]
        if start and (start[-1] not in "vV" or rest[:1].isdigit()):  # never "vv1.0"
            version = parse_version(rest)
            if version is not None:
                return start.removesuffix("v").removesuffix("V"), version
    return None


def is_release_tag(tag: str, patterns: Sequence[str] = DEFAULT_RELEASE_TAGS) -> bool:
    """Whether ``tag`` matches one of ``patterns`` and names a version.

    >>> is_release_tag("v3.12.0"), is_release_tag("3.12.0"), is_release_tag("vacation")
    (True, True, False)
    >>> is_release_tag("v3.12.0", ["release-*"]), is_release_tag("release-3.12", ["release-*"])
    (False, True)
    """
    return release_version(tag, patterns) is not None


def release_tags(
    tags: Iterable[str], patterns: Sequence[str] = DEFAULT_RELEASE_TAGS
) -> list[tuple[str, ReleaseVersion]]:
    """The release tags among ``tags`` with their versions, in version order (oldest first).

    Tags naming the same version (``v1.0`` and ``1.0.0``) keep their order in ``tags``.

    >>> [tag for tag, _ in release_tags(["v1.10.0", "v1.9.0", "v1.10.0rc1", "junk", "v1.2"])]
    ['v1.2', 'v1.9.0', 'v1.10.0rc1', 'v1.10.0']
    """
    return [(tag, version) for tag, _, version in _release_tags(tags, patterns)]


def _release_tags(
    tags: Iterable[str], patterns: Sequence[str]
) -> list[tuple[str, str, ReleaseVersion]]:
    found = []
    for tag in tags:
        parsed = release_version(tag, patterns)
        if parsed is not None:
            found.append((tag, *parsed))
    found.sort(key=lambda item: item[2].key)
    return found


def previous_release(
    tag: str, tags: Sequence[str], patterns: Sequence[str] = DEFAULT_RELEASE_TAGS
) -> str | None:
    """The release before ``tag`` among ``tags`` (see the module's rule), or None.

    Only release tags (see :func:`release_version`) count as earlier releases. ``tag`` itself
    is read as a release tag when it is one, else it only needs to parse as a version (series
    ``""``: a release event names its tag whatever it looks like); otherwise None.

    >>> tags = ["v3.11.8", "v3.11.9", "v3.12.0rc3", "v3.12.0", "v3.12.1", "v3.13.0", "v3.13.0a1"]
    >>> previous_release("v3.12.1", tags, ["v*"])
    'v3.12.0'
    >>> previous_release("v3.12.0", tags, ["v*"])
    'v3.12.0rc3'
    >>> previous_release("v3.12.0rc3", tags, ["v*"])
    'v3.11.9'
    >>> previous_release("v3.13.0a1", tags, ["v*"])
    'v3.12.1'
    >>> previous_release("v3.11.8", tags, ["v*"]) is None
    True
    """
    parsed = release_version(tag, patterns)
    if parsed is None:
        version = parse_version(tag)
        if version is None:
            return None
        parsed = "", version
    series, current = parsed
    earlier = [
        (candidate, version)
        for candidate, its_series, version in _release_tags(tags, patterns)
        if its_series == series and version.key < current.key
    ]
    same_line = [item for item in earlier if item[1].line == current.line]
    if same_line:
        return _highest(same_line)
    lower = [item for item in earlier if item[1].line < current.line]
    finals = [item for item in lower if not item[1].is_prerelease]
    if finals:
        return _highest(finals)
    if lower:
        return _highest(lower)
    return None


def _highest(items: list[tuple[str, ReleaseVersion]]) -> str:
    """The tag with the highest version; among equal versions, the last in the input order."""
    best = items[0]
    for item in items[1:]:
        if item[1].key >= best[1].key:
            best = item
    return best[0]
