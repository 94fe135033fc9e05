"""Release tags: version parsing and order, and the previous release (``bot.core.releases``)."""

from __future__ import annotations

import random

import pytest

from bot.core.releases import (
    DEFAULT_RELEASE_TAGS,
    ReleaseVersion,
    is_release_tag,
    parse_version,
    previous_release,
    release_tags,
)

CPYTHON = [
    "v3.11.0",
    "v3.11.1",
    "v3.11.9",
    "v3.11.10",
    "v3.12.0a1",
    "v3.12.0a7",
    "v3.12.0b1",
    "v3.12.0b4",
    "v3.12.0rc1",
    "v3.12.0rc3",
    "v3.12.0",
    "v3.12.1",
    "v3.12.4",
    "v3.13.0a1",
    "v3.13.0b1",
    "v3.13.0rc1",
    "v3.13.0rc2",
    # not releases: ignored
    "legacy-trunk",
    "2.0b1-nightly",
]

XZ = ["v5.4.5", "v5.4.6", "v5.6.0", "v5.6.1", "v5.6.2", "v5.4.7"]

NO_V = ["1.0.0", "1.0.1", "1.1.0rc1", "1.1.0", "2.0.0a1", "2.0.0"]

GARBAGE = [
    "",
    "v",
    "vv1.0",
    "latest",
    "nightly-2024-03-29",
    "v1.0-final",
    "v1.0.post1",
    "v1.0.dev3",
    "v1.0rc1rc2",
    "v1..0",
    "v1.0.",
    ".1.0",
    "v1.0+local",
    "v 1.0",
    "1" * 21,
    ".".join(["1"] * 11),
    "v" + "1." * 200 + "1",
    "v1.0\n",
    "release-1.0",
]


@pytest.mark.parametrize(
    ("tag", "release", "pre"),
    [
        ("v3.12.0", (3, 12, 0), None),
        ("V3.12.0", (3, 12, 0), None),
        ("3.12.0", (3, 12, 0), None),
        ("v5.6.1", (5, 6, 1), None),
        ("v3.13.0rc2", (3, 13, 0), (2, 2)),
        ("v3.13.0a1", (3, 13, 0), (0, 1)),
        ("v3.13.0b4", (3, 13, 0), (1, 4)),
        ("1.0.0-rc.1", (1, 0, 0), (2, 1)),
        ("1.0.0-RC1", (1, 0, 0), (2, 1)),
        ("1.0.0_beta2", (1, 0, 0), (1, 2)),
        ("1.0alpha", (1, 0), (0, 0)),
        ("2.0c1", (2, 0), (2, 1)),
        ("2.0pre3", (2, 0), (2, 3)),
        ("2.0.preview.3", (2, 0), (2, 3)),
        ("20240115", (20240115,), None),
        ("2024.01.15", (2024, 1, 15), None),
        ("v1.2.3.4", (1, 2, 3, 4), None),
    ],
)
def test_parse_version(tag: str, release: tuple[int, ...], pre: tuple[int, int] | None) -> None:
    assert parse_version(tag) == ReleaseVersion(release, pre)


@pytest.mark.parametrize("tag", GARBAGE)
def test_garbage_does_not_parse(tag: str) -> None:
    assert parse_version(tag) is None
    assert not is_release_tag(tag)


def test_version_order_follows_pep_440_for_these_forms() -> None:
    ordered = [
        "v1.0a1",
        "v1.0a2",
        "v1.0b1",
        "v1.0rc1",
        "v1.0rc2",
        "v1.0",
        "v1.0.1",
        "v1.1a1",
        "v1.1",
        "v1.2",
        "v1.10",
        "v2.0",
        "v10.0",
    ]
    shuffled = ordered[:]
    random.Random(7).shuffle(shuffled)
    assert [tag for tag, _ in release_tags(shuffled)] == ordered


def test_trailing_zeros_do_not_matter() -> None:
    versions = [parse_version(tag) for tag in ("v1", "v1.0", "1.0.0", "v1.0.0.0")]
    assert all(v is not None for v in versions)
    assert len({v.key for v in versions if v is not None}) == 1
    assert str(parse_version("v1.0.0rc1")) == "1.0.0rc1"


@pytest.mark.parametrize(
    ("tag", "line"),
    [("v3.12.4", (3, 12)), ("v3.13.0rc2", (3, 13)), ("v5", (5, 0)), ("v1.2.3.4", (1, 2))],
)
def test_release_line_is_major_and_minor(tag: str, line: tuple[int, int]) -> None:
    version = parse_version(tag)
    assert version is not None and version.line == line


def test_release_tags_use_the_globs() -> None:
    tags = ["v1.0", "1.1", "release-1.2", "vacation", "v1.0-final"]
    assert [tag for tag, _ in release_tags(tags)] == ["v1.0", "1.1"]
    assert [tag for tag, _ in release_tags(tags, ["v*"])] == ["v1.0"]
    assert [tag for tag, _ in release_tags(tags, ["release-*"])] == ["release-1.2"]
    assert DEFAULT_RELEASE_TAGS == ("v*", "[0-9]*")


# --- the previous release ----------------------------------------------------------------------

PREVIOUS_CASES = [
    # (tags, tag, patterns, expected previous)
    # CPython: the same line first, its pre-releases included
    (CPYTHON, "v3.12.1", ["v*"], "v3.12.0"),
    (CPYTHON, "v3.12.4", ["v*"], "v3.12.1"),
    (CPYTHON, "v3.12.5", ["v*"], "v3.12.4"),  # a tag not yet in the list
    (CPYTHON, "v3.12.0", ["v*"], "v3.12.0rc3"),
    (CPYTHON, "v3.12.0rc3", ["v*"], "v3.12.0rc1"),
    (CPYTHON, "v3.12.0rc1", ["v*"], "v3.12.0b4"),
    (CPYTHON, "v3.12.0b1", ["v*"], "v3.12.0a7"),
    (CPYTHON, "v3.13.0rc2", ["v*"], "v3.13.0rc1"),
    (CPYTHON, "v3.13.0", ["v*"], "v3.13.0rc2"),
    # the first of a line: the latest final release of a lower line, by version not by date
    (CPYTHON, "v3.12.0a1", ["v*"], "v3.11.10"),
    (CPYTHON, "v3.13.0a1", ["v*"], "v3.12.4"),
    (CPYTHON, "v3.11.1", ["v*"], "v3.11.0"),
    (CPYTHON, "v3.11.0", ["v*"], None),  # the first release
    (CPYTHON, "v3.10.0", ["v*"], None),
    # xz: a bugfix release on an older line follows its own line, not the newest tag
    (XZ, "v5.6.1", ["v*"], "v5.6.0"),
    (XZ, "v5.6.0", ["v*"], "v5.4.7"),
    (XZ, "v5.4.7", ["v*"], "v5.4.6"),
    (XZ, "v5.6.2", DEFAULT_RELEASE_TAGS, "v5.6.1"),
    # tags without v, and the default globs
    (NO_V, "1.0.1", DEFAULT_RELEASE_TAGS, "1.0.0"),
    (NO_V, "1.1.0", DEFAULT_RELEASE_TAGS, "1.1.0rc1"),
    (NO_V, "1.1.0rc1", DEFAULT_RELEASE_TAGS, "1.0.1"),
    (NO_V, "2.0.0a1", DEFAULT_RELEASE_TAGS, "1.1.0"),
    (NO_V, "2.0.0", DEFAULT_RELEASE_TAGS, "2.0.0a1"),
    (NO_V, "2.0.0", ["v*"], None),  # the globs exclude every other tag
    # a v-less tag follows v-tags and the other way round when the globs allow both
    (["v1.0.0", "1.0.1"], "v1.0.2", DEFAULT_RELEASE_TAGS, "1.0.1"),
    # an abandoned pre-release of a lower line is passed over for a final release
    (["v1.9.0", "v1.10.0rc1"], "v2.0.0", ["v*"], "v1.9.0"),
    (["v1.9.0", "v1.10.0rc1"], "v2.0.0a1", ["v*"], "v1.9.0"),
    # ...unless a lower line has only pre-releases
    (["v0.1.0rc1", "v0.1.0rc2"], "v0.2.0", ["v*"], "v0.1.0rc2"),
    # later versions and equal versions are never the previous release
    (["v2.0", "v1.0", "1.0.0"], "v1.0", DEFAULT_RELEASE_TAGS, None),
    (["v1.0.0", "v1.0", "v0.9"], "1.0", DEFAULT_RELEASE_TAGS, "v0.9"),
    # garbage is ignored
    ([*GARBAGE, "v1.0"], "v1.1", DEFAULT_RELEASE_TAGS, "v1.0"),
    (GARBAGE, "v1.1", DEFAULT_RELEASE_TAGS, None),
    # one-number and date versions
    (["1", "2", "3"], "4", DEFAULT_RELEASE_TAGS, "3"),
    (["2024.01.15", "2024.02.01", "2023.12.30"], "2024.02.20", DEFAULT_RELEASE_TAGS, "2024.02.01"),
    (["2024.01.15", "2023.12.30"], "2024.02.01", DEFAULT_RELEASE_TAGS, "2024.01.15"),
    # custom globs: the version follows the glob's literal start, which names a series
    (["release-1.0", "v1.0"], "v1.1", ["release-*"], None),
    (["release-1.0", "v1.0", "release-1.2"], "release-1.1", ["release-*", "v*"], "release-1.0"),
    (["release-v1.0", "release-1.0.1"], "release-v1.0.2", ["release-*"], "release-1.0.1"),
    (["foo-1.0", "bar-1.1", "foo-1.1rc1"], "foo-1.1", ["foo-*", "bar-*"], "foo-1.1rc1"),
    (["foo-1.0", "bar-1.1"], "bar-1.2", ["foo-*", "bar-*"], "bar-1.1"),
    (["foo-1.0", "bar-1.1"], "bar-1.1", ["foo-*", "bar-*"], None),
    (["xz-5.6.0", "xz-5.4.6"], "xz-5.6.1", ["xz-[0-9]*"], "xz-5.6.0"),
    ([], "v1.0", DEFAULT_RELEASE_TAGS, None),
]


@pytest.mark.parametrize(("tags", "tag", "patterns", "expected"), PREVIOUS_CASES)
def test_previous_release(
    tags: list[str], tag: str, patterns: list[str], expected: str | None
) -> None:
    assert previous_release(tag, tags, patterns) == expected
    # the order of the tags does not matter
    assert previous_release(tag, list(reversed(tags)), patterns) == expected


def test_the_tag_itself_need_only_parse() -> None:
    assert previous_release("release-1.1", ["v1.0"], ["v*"]) is None  # does not parse
    assert previous_release("V1.1", ["v1.0"], ["v*"]) == "v1.0"  # parses, though not matched
    assert previous_release("garbage", CPYTHON, ["v*"]) is None


def test_equal_versions_pick_the_last_listed() -> None:
    assert previous_release("v1.1", ["v1.0", "1.0.0"]) == "1.0.0"
    assert previous_release("v1.1", ["1.0.0", "v1.0"]) == "v1.0"


def test_many_tags_are_fast() -> None:
    tags = [f"v{a}.{b}.{c}" for a in range(5) for b in range(40) for c in range(25)]
    assert previous_release("v4.39.25", tags) == "v4.39.24"
    assert previous_release("v4.0.0rc1", tags) == "v3.39.24"
