"""Reading release archives as hostile input, and comparing them with the tree at the tag."""

from __future__ import annotations

import hashlib
import io
import random
import stat
import tarfile
import tracemalloc
import zipfile
from collections.abc import Iterable

import pytest

from bot.core.archive import (
    EMPTY_BLOB,
    ArchiveContents,
    ArchiveReport,
    Limits,
    blob_sha,
    compare_with_tree,
    read_archive,
)
from bot.core.releases import DEFAULT_GENERATED

Member = tuple[str, bytes]

NOISE = random.Random(0).randbytes(10000)  # incompressible content
TAR_MODES = {"tar.gz": "w:gz", "tgz": "w:gz", "tar.xz": "w:xz", "tar.bz2": "w:bz2", "tar": "w"}


def git_blob(content: bytes) -> str:
    """The blob SHA from its definition, as ``git hash-object`` computes it."""
    return hashlib.sha1(
        b"blob " + str(len(content)).encode() + b"\0" + content, usedforsecurity=False
    ).hexdigest()


def make_tar(
    members: Iterable[Member | tarfile.TarInfo], suffix: str = "tar.gz", **kwargs: object
) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=TAR_MODES[suffix], **kwargs) as archive:  # type: ignore[call-overload]
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
                continue
            name, content = member
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    buf.seek(0)
    return buf


def make_zip(members: Iterable[Member | tuple[zipfile.ZipInfo, bytes]]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    buf.seek(0)
    return buf


def kinds(contents: ArchiveContents) -> list[str]:
    return [finding.kind for finding in contents.findings]


def compare(
    contents: ArchiveContents,
    tree: dict[str, str],
    *,
    gitattributes: str | None = None,
    generated: tuple[str, ...] = DEFAULT_GENERATED,
    sensitive: tuple[str, ...] = ("m4/*.m4",),
) -> ArchiveReport:
    return compare_with_tree(
        contents, tree, gitattributes=gitattributes, generated=generated, sensitive=sensitive
    )


def entry(report: ArchiveReport, path: str) -> tuple[str, str]:
    (found,) = [(e.kind, e.severity) for e in report.entries if e.path == path]
    return found


XZ_FILES: list[Member] = [
    ("xz-5.6.1/README", b"xz utils\n"),
    ("xz-5.6.1/src/liblzma/check/crc64_fast.c", b"int crc64(void) { return 0; }\n"),
    ("xz-5.6.1/tests/files/bad-3-corrupt_lzma2.xz", b"\xfd7zXZ\x00binary test file"),
    ("xz-5.6.1/m4/.gitignore", b"build-to-host.m4\n"),
]
XZ_TREE = {path.split("/", 1)[1]: git_blob(content) for path, content in XZ_FILES}


# --- blob SHAs --------------------------------------------------------------------------------


def test_blob_sha_is_git_hash_object() -> None:
    assert blob_sha(b"") == EMPTY_BLOB == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert blob_sha(b"hello\n") == git_blob(b"hello\n")
    assert blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_archive_files_carry_their_blob_shas_hashed_in_chunks() -> None:
    big = bytes(range(256)) * 1000  # several chunks
    contents = read_archive("p.tar.gz", make_tar([("a", b""), ("b", b"hello\n"), ("c", big)]))
    assert {p: f.blob for p, f in contents.files.items()} == {
        "a": EMPTY_BLOB,
        "b": git_blob(b"hello\n"),
        "c": git_blob(big),
    }
    assert contents.files["c"].size == len(big)
    assert contents.complete and contents.findings == ()


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["tar.gz", "tgz", "tar.xz", "tar.bz2", "tar", "zip"])
def test_every_format_is_read_and_the_top_level_folder_stripped(suffix: str) -> None:
    stream = make_zip(XZ_FILES) if suffix == "zip" else make_tar(XZ_FILES, suffix)
    contents = read_archive(f"xz-5.6.1.{suffix}", stream, Limits())
    assert contents.prefix == "xz-5.6.1"
    assert {p: f.blob for p, f in contents.files.items()} == XZ_TREE
    assert contents.complete and contents.findings == ()
    assert compare(contents, XZ_TREE).entries == ()


def test_top_level_folder_kept_when_members_are_not_all_under_one() -> None:
    contents = read_archive("p.tar", make_tar([("a/x", b"1"), ("b/y", b"2")], "tar"))
    assert contents.prefix is None and set(contents.files) == {"a/x", "b/y"}
    contents = read_archive("p.tar", make_tar([("a", b"1")], "tar"))  # a file at the top
    assert contents.prefix is None and set(contents.files) == {"a"}


def test_dot_slash_names_are_normalised() -> None:
    contents = read_archive("p.tar", make_tar([("./p/a", b"1"), ("./p/b", b"2")], "tar"))
    assert contents.prefix == "p" and set(contents.files) == {"a", "b"}


def test_format_is_recognised_by_magic_bytes_when_the_name_lies() -> None:
    contents = read_archive("p-1.tar.gz", make_zip([("p-1/a", b"1")]))
    assert contents.format == "zip" and set(contents.files) == {"a"}
    assert kinds(contents) == ["format-mismatch"]
    contents = read_archive("p-1.tar.gz", make_tar([("p-1/a", b"1")], "tar.xz"))
    assert contents.format == "tar.xz" and set(contents.files) == {"a"}


def test_a_non_seekable_zip_is_read() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            data = self._data.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    stream = OneWay(make_zip([("p/a", b"1")]).getvalue())
    contents = read_archive("p.zip", stream)  # type: ignore[arg-type]
    assert set(contents.files) == {"a"} and contents.complete


# --- comparing with the tree ------------------------------------------------------------------


def test_xz_like_tarball_with_an_extra_m4_file_is_high() -> None:
    payload = ("xz-5.6.1/m4/build-to-host.m4", b"gl_am_configmake=`grep -aErls ...`\n")
    contents = read_archive("xz-5.6.1.tar.gz", make_tar([*XZ_FILES, payload]))
    report = compare(contents, XZ_TREE)
    assert entry(report, "m4/build-to-host.m4") == ("added", "high")
    assert report.severity == "high"
    assert "xz payload" in report.entries[0].reason
    # even where generated patterns match it
    report = compare(contents, XZ_TREE, generated=(*DEFAULT_GENERATED, "m4/**"))
    assert entry(report, "m4/build-to-host.m4") == ("added", "high")
    # without the sensitive rule it is only an added file
    report = compare(contents, XZ_TREE, sensitive=())
    assert entry(report, "m4/build-to-host.m4") == ("added", "low")


def test_generated_configure_is_listed_not_alarmed_on() -> None:
    extra = [("xz-5.6.1/configure", b"#! /bin/sh\n"), ("xz-5.6.1/xz.egg-info/PKG-INFO", b"")]
    contents = read_archive("xz-5.6.1.tar.xz", make_tar([*XZ_FILES, *extra], "tar.xz"))
    report = compare(contents, XZ_TREE)
    assert entry(report, "configure") == ("generated", "none")
    assert entry(report, "xz.egg-info/PKG-INFO") == ("generated", "none")
    assert report.severity == "none" and report.counts["generated"] == 2
    assert entry(compare(contents, XZ_TREE, generated=()), "configure") == ("added", "low")


def test_a_differing_file_is_high_and_counts_are_kept() -> None:
    changed = [(n, b"evil\n" if n.endswith(".c") else c) for n, c in XZ_FILES]
    report = compare(read_archive("xz.zip", make_zip(changed)), XZ_TREE)
    assert entry(report, "src/liblzma/check/crc64_fast.c") == ("differs", "high")
    assert report.counts == {"differs": 1, "same": 3} and report.severity == "high"


def test_missing_files_expected_only_when_export_ignored() -> None:
    tree = {
        **XZ_TREE,
        ".github/workflows/ci.yml": git_blob(b"on: push\n"),
        "doc/internal/notes.txt": git_blob(b"n"),
        "scripts/dev.sh": git_blob(b"s"),
        "HACKING": git_blob(b"h"),
    }
    attributes = "\n".join(
        [
            "# export rules",
            ".github export-ignore",  # a directory, and everything below it
            "doc/internal/ export-ignore",  # directory-only pattern
            "[attr]dev export-ignore",
            "scripts/*.sh dev",  # through a macro
        ]
    )
    report = compare(read_archive("xz.tar.gz", make_tar(XZ_FILES)), tree, gitattributes=attributes)
    assert entry(report, ".github/workflows/ci.yml") == ("export-ignored", "none")
    assert entry(report, "doc/internal/notes.txt") == ("export-ignored", "none")
    assert entry(report, "scripts/dev.sh") == ("export-ignored", "none")
    assert entry(report, "HACKING") == ("missing", "low")
    report = compare(read_archive("xz.tar.gz", make_tar(XZ_FILES)), tree, gitattributes=None)
    assert entry(report, ".github/workflows/ci.yml") == ("missing", "low")


def test_export_subst_files_may_differ_only_in_their_placeholders() -> None:
    text = b"$Format:%H$\n"
    tree = {"version.txt": git_blob(text)}
    attributes = "version.txt export-subst\n"

    def report_of(shipped: bytes, texts: dict[str, bytes] | None) -> ArchiveReport:
        contents = read_archive(
            "p.tar",
            make_tar([("p/version.txt", shipped)], "tar"),
            keep=lambda path: path.endswith("version.txt"),
        )
        return compare_with_tree(
            contents, tree, gitattributes=attributes, generated=(), sensitive=(), texts=texts
        )

    report = report_of(b"0123abcd\n", {"version.txt": text})
    assert entry(report, "version.txt") == ("export-subst", "none")
    assert "placeholders" in report.entries[0].reason
    tampered = report_of(b"0123abcd\nimport payload\n", {"version.txt": text})
    assert entry(tampered, "version.txt") == ("differs", "high")
    # without the tree's text it cannot be checked: listed, not silently passed
    assert entry(report_of(b"0123abcd\n", None), "version.txt") == ("export-subst", "low")
    contents = read_archive("p.tar", make_tar([("p/version.txt", b"0123abcd\n")], "tar"))
    assert entry(compare(contents, tree), "version.txt") == ("differs", "high")


def test_invalid_patterns_are_reported_not_raised() -> None:
    contents = read_archive("p.tar", make_tar([("p/configure", b"x"), ("p/a", b"1")], "tar"))
    report = compare(contents, {"a": git_blob(b"1")}, generated=("[z-a]", "configure"))
    assert len(report.pattern_errors) == 1 and "[z-a]" in report.pattern_errors[0]
    assert entry(report, "configure") == ("generated", "none")


# --- bombs ------------------------------------------------------------------------------------


def zip_of_zeros(size: int) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb/zeros.bin", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    buf.seek(0)
    return buf


def test_zip_bomb_stops_on_the_ratio_with_bounded_memory() -> None:
    stream = zip_of_zeros(64 << 20)
    assert len(stream.getvalue()) < 200_000
    tracemalloc.start()
    try:
        contents = read_archive("bomb.zip", stream, Limits(ratio_grace_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kinds(contents) == ["archive-bomb"] and "ratio" in contents.findings[0].reason
    assert not contents.complete and contents.files == {}
    assert contents.total_bytes < 16 << 20  # stopped at 200 x the compressed size, not 64 MiB
    assert peak < 8 << 20
    assert compare(contents, {}).severity == "high"


def test_zip_bomb_stops_on_the_total_size() -> None:
    contents = read_archive(
        "bomb.zip", zip_of_zeros(4 << 20), Limits(max_total_bytes=1 << 20, max_ratio=1e9)
    )
    assert kinds(contents) == ["archive-bomb"] and not contents.complete


def test_tar_bomb_stops_on_the_ratio() -> None:
    stream = make_tar([("bomb/zeros", b"\0" * (16 << 20))], "tar.bz2")
    contents = read_archive("bomb.tar.bz2", stream, Limits(ratio_grace_bytes=1 << 20))
    assert kinds(contents) == ["archive-bomb"] and "ratio" in contents.findings[0].reason
    assert not contents.complete


def test_tar_member_larger_than_the_bound_is_refused_before_reading() -> None:
    stream = make_tar([("p/ok", b"1"), ("p/zeros", b"\0" * (2 << 20))])
    contents = read_archive("p.tar.gz", stream, Limits(max_member_bytes=1 << 20))
    assert kinds(contents) == ["archive-bomb"] and contents.total_bytes == 1
    assert set(contents.files) == {"ok"}


def test_too_many_members_is_a_bomb() -> None:
    stream = make_tar([(f"p/{i}", b"") for i in range(20)])
    contents = read_archive("p.tar.gz", stream, Limits(max_members=10))
    assert kinds(contents) == ["archive-bomb"] and contents.members == 11
    zipped = read_archive(
        "p.zip", make_zip([(f"p/{i}", b"") for i in range(20)]), Limits(max_members=10)
    )
    assert kinds(zipped) == ["archive-bomb"]


def test_huge_pax_header_is_refused() -> None:
    stream = make_tar(
        [("p/a", b"1")],
        "tar.gz",
        format=tarfile.PAX_FORMAT,
        pax_headers={"comment": "x" * (2 << 20)},
    )
    contents = read_archive("p.tar.gz", stream)
    assert kinds(contents) == ["archive-bomb"] and "metadata" in contents.findings[0].reason


def test_archive_larger_than_the_download_bound_is_refused() -> None:
    stream = make_tar([("p/a", bytes(range(256)) * 4096)], "tar")
    contents = read_archive("p.tar", stream, Limits(max_archive_bytes=100_000))
    assert kinds(contents) == ["archive-bomb"] and not contents.complete


# --- hostile members --------------------------------------------------------------------------


def test_path_traversal_members_are_findings_and_not_read() -> None:
    names = ["../evil", "/etc/passwd", "p/../../up", "C:/windows", "p/..\\..\\win"]
    for stream, name in [
        (make_tar([(n, b"x") for n in names] + [("p/ok", b"1")]), "p.tar.gz"),
        (make_zip([(n, b"x") for n in names] + [("p/ok", b"1")]), "p.zip"),
    ]:
        contents = read_archive(name, stream)
        assert kinds(contents) == ["unsafe-path"] * len(names)
        assert set(contents.files) == {"ok"}  # unsafe members do not count for the prefix
        assert compare(contents, {}).severity == "high"


def link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_symlinks_and_hard_links_are_findings_never_followed() -> None:
    stream = make_tar(
        [
            ("p/a", b"1"),
            link("p/passwd", "/etc/passwd", tarfile.SYMTYPE),
            link("p/hard", "/etc/shadow", tarfile.LNKTYPE),
        ]
    )
    contents = read_archive("p.tar.gz", stream)
    assert kinds(contents) == ["link", "link"]
    assert [(f.path, f.target) for f in contents.findings] == [
        ("passwd", "/etc/passwd"),
        ("hard", "/etc/shadow"),
    ]
    assert set(contents.files) == {"a"}
    report = compare(contents, {"a": git_blob(b"1")})
    assert entry(report, "passwd") == ("link", "high") and entry(report, "hard") == ("link", "high")
    # a symbolic link the tree has too (its blob is the target) is listed, not alarmed on
    report = compare(contents, {"a": git_blob(b"1"), "passwd": git_blob(b"/etc/passwd")})
    assert entry(report, "passwd") == ("link", "none")


def test_zip_symlink_is_a_finding() -> None:
    info = zipfile.ZipInfo("p/passwd")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(info, "/etc/passwd")
        archive.writestr("p/a", "1")
    buf.seek(0)
    contents = read_archive("p.zip", buf)
    assert kinds(contents) == ["link"] and contents.findings[0].target == "/etc/passwd"
    assert set(contents.files) == {"a"}


def test_fifos_and_devices_are_special_files() -> None:
    fifo = link("p/fifo", "", tarfile.FIFOTYPE)
    device = link("p/null", "", tarfile.CHRTYPE)
    contents = read_archive("p.tar", make_tar([("p/a", b"1"), fifo, device], "tar"))
    assert kinds(contents) == ["special-file", "special-file"]
    assert "fifo" in contents.findings[0].reason
    assert "character device" in contents.findings[1].reason
    assert entry(compare(contents, {}), "fifo") == ("special-file", "high")


def test_duplicate_members_are_findings() -> None:
    stream = make_tar([("p/a", b"reviewed"), ("p/a", b"evil")])
    contents = read_archive("p.tar.gz", stream)
    assert kinds(contents) == ["duplicate"]
    assert contents.files["a"].blob == git_blob(b"reviewed")
    assert contents.findings[0].blob == git_blob(b"evil")
    assert compare(contents, {"a": git_blob(b"reviewed")}).severity == "high"
    with pytest.warns(UserWarning, match="Duplicate name"):
        zipped = make_zip([("p/a", b"1"), ("p/a", b"2")])
    assert kinds(read_archive("p.zip", zipped)) == ["duplicate"]


# --- corrupt archives -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("p.tar.gz", b"\x1f\x8b" + b"not really gzip" * 10),
        ("p.tar.gz", make_tar([("p/a", NOISE)]).getvalue()[:3000]),  # truncated
        ("p.tar.xz", make_tar([("p/a", NOISE)], "tar.xz").getvalue()[:3000]),
        ("p.tar.bz2", b"BZh9" + b"\0" * 100),
        ("p.tar", b"garbage" * 100),
        ("p.zip", b"PK\x03\x04" + b"\0" * 100),
        ("p.zip", make_zip([("p/a", b"x" * 1000)]).getvalue()[:-30]),
        ("p.tar.gz", b""),
        ("notes.txt", b"just text"),
    ],
)
def test_a_corrupt_archive_is_a_finding_not_a_crash(name: str, data: bytes) -> None:
    contents = read_archive(name, io.BytesIO(data))
    assert kinds(contents) == ["unreadable"] and not contents.complete
    assert compare(contents, {"a": EMPTY_BLOB}).severity == "high"


def test_missing_files_are_not_listed_from_an_archive_read_partway() -> None:
    data = make_tar([("p/a", b"1"), ("p/b", bytes(range(256)) * 400)], "tar").getvalue()
    contents = read_archive("p.tar", io.BytesIO(data[:4000]))
    assert not contents.complete
    report = compare(contents, {"a": git_blob(b"1"), "b": EMPTY_BLOB, "c": EMPTY_BLOB})
    assert [e.kind for e in report.entries] == ["unreadable"] and not report.complete


def test_a_generated_file_named_exactly_beats_a_broad_sensitive_pattern_but_a_glob_never() -> None:
    """The shipped build-system rule matches ``configure`` and ``*.m4``: a release's generated
    ``configure`` and ``aclocal.m4`` are listed, while ``m4/build-to-host.m4`` stays high even
    when a generated glob (``m4/**``, ``*.m4``) covers it."""
    extra = [
        ("xz-5.6.1/configure", b"#! /bin/sh\n"),
        ("xz-5.6.1/aclocal.m4", b"dnl generated\n"),
        ("xz-5.6.1/m4/build-to-host.m4", b"dnl payload\n"),
    ]
    contents = read_archive("xz-5.6.1.tar.gz", make_tar([*XZ_FILES, *extra]))
    broad = ("configure", "*.m4", "Makefile*")
    report = compare(contents, XZ_TREE, sensitive=broad, generated=(*DEFAULT_GENERATED, "*.m4"))
    assert entry(report, "configure") == ("generated", "none")
    assert entry(report, "aclocal.m4") == ("generated", "none")
    assert entry(report, "m4/build-to-host.m4") == ("added", "high")
