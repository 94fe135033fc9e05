"""What a release archive holds, and how it differs from the tree at the tag. Pure.

:func:`read_archive` reads a source archive (``.tar.gz``, ``.tgz``, ``.tar.xz``, ``.tar.bz2``,
``.tar``, ``.zip``; sdists are one of these) from a stream it is given, as hostile input: nothing
is extracted, nothing but the stream is read, and every regular file is hashed in chunks into
its git blob SHA (``sha1(b"blob <size>\\0" + content)``) without being held. The total
uncompressed size, the member count, each member's size and the compression ratio are bounded;
going past a bound stops reading with an ``archive-bomb`` finding. Links, device files and fifos,
absolute paths, ``..`` components and duplicate paths are findings too and are never followed; a
corrupt archive is an ``unreadable`` finding. Nothing here raises for a bad archive.

Compressed tarballs are decompressed here (``gzip``, ``lzma``, ``bz2``, each asked for a bounded
amount of output at a time) and the decompressed stream is given to ``tarfile`` in streaming
mode (``r|``): ``tarfile``'s own ``r|*`` decompresses a whole input block at once, which a
bzip2 or xz bomb turns into gigabytes of memory before any bound could be checked.

:func:`compare_with_tree` compares what was read with the tree at the tag (path to blob SHA):
files the archive adds, files whose content differs, files of the tree it lacks (expected for
paths ``.gitattributes`` marks ``export-ignore``; ``export-subst`` files may differ). Generated
files are listed as such, except that an added or differing file a sensitive pattern matches is
severity high regardless. Patterns are matched by RE2 in linear time.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import hashlib
import io
import lzma
import re
import stat
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, BinaryIO, Final, Literal, Self, cast

import re2

from bot.core.policy import PathPatterns, PatternError, RegexSet, pattern_regexes

ArchiveSeverity = Literal["none", "low", "high"]
"""How much an entry of a report matters: ``none`` is listed only, ``high`` needs a look."""

SEVERITY_ORDER: Final[tuple[ArchiveSeverity, ...]] = ("none", "low", "high")

Format = Literal["tar.gz", "tar.xz", "tar.bz2", "tar", "zip"]

EMPTY_BLOB: Final = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
"""The git blob SHA of empty content."""

KiB: Final = 1024
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB

CHUNK_BYTES: Final = 64 * KiB
KEEP_BYTES: Final = 1 * MiB
"""The largest file whose content is kept to be checked (an ``export-subst`` file)."""
"""How much content is read (and hashed) at a time."""
MAX_HEADER_BYTES: Final = 1 * MiB
"""The largest tar metadata member (a pax header, a GNU long name) read into memory."""
MAX_LINK_TARGET_BYTES: Final = 4 * KiB
"""The longest symbolic link target read from a zip member."""
HEADER_ALLOWANCE: Final = 2 * KiB
"""Tar bytes allowed per member beyond file content (headers, padding), for the stream bound."""

# Finding kinds reported by read_archive.
ARCHIVE_BOMB: Final = "archive-bomb"
UNREADABLE: Final = "unreadable"
LINK: Final = "link"
SPECIAL_FILE: Final = "special-file"
UNSAFE_PATH: Final = "unsafe-path"
DUPLICATE: Final = "duplicate"
MISMATCH: Final = "format-mismatch"
TRAILING_DATA: Final = "hidden-data"

# Entry kinds added by compare_with_tree.
ADDED: Final = "added"
DIFFERS: Final = "differs"
MISSING: Final = "missing"
GENERATED: Final = "generated"
EXPORT_IGNORED: Final = "export-ignored"
EXPORT_SUBST: Final = "export-subst"
STRAY: Final = "stray"

_FINDING_SEVERITY: Final[Mapping[str, ArchiveSeverity]] = {
    ARCHIVE_BOMB: "high",
    UNREADABLE: "high",
    LINK: "high",
    SPECIAL_FILE: "high",
    UNSAFE_PATH: "high",
    DUPLICATE: "high",
    MISMATCH: "low",
    TRAILING_DATA: "high",
}


@dataclass(frozen=True)
class Limits:
    """The bounds on reading one archive. Going past any stops reading with a finding.

    ``max_ratio`` is uncompressed bytes over compressed bytes read so far, checked once more than
    ``ratio_grace_bytes`` have been uncompressed (small archives of empty files compress very
    well and are harmless). ``max_archive_bytes`` bounds the compressed input read (and a
    non-seekable zip, which is buffered in memory to be read).
    """

    max_total_bytes: int = 2 * GiB
    max_members: int = 100_000
    max_ratio: float = 200.0
    max_member_bytes: int = 1 * GiB
    max_archive_bytes: int = 200 * MiB
    ratio_grace_bytes: int = 8 * MiB


@dataclass(frozen=True)
class ArchiveFile:
    """A regular file of an archive: its path (top-level folder removed), git blob SHA, size."""

    path: str
    blob: str
    size: int


@dataclass(frozen=True)
class ArchiveFinding:
    """Something about an archive worth reporting.

    ``name`` is the member's name as the archive spells it (empty for a finding about the whole
    archive); ``path`` is its normalised path with the top-level folder removed, None where it
    is unsafe or there is no member. ``target`` is a link's target; ``blob`` the git blob SHA
    of a symbolic link's target or of a duplicate's later content.
    """

    kind: str
    name: str
    path: str | None
    reason: str
    target: str | None = None
    blob: str | None = None


@dataclass(frozen=True)
class ArchiveContents:
    """What :func:`read_archive` found. ``complete`` is False when reading stopped early."""

    name: str
    format: Format | None
    files: Mapping[str, ArchiveFile]
    findings: tuple[ArchiveFinding, ...]
    prefix: str | None
    complete: bool
    members: int
    total_bytes: int
    raw_files: Mapping[str, ArchiveFile] = field(default_factory=dict)
    """The regular files by their paths as the archive names them (no folder removed)."""
    raw_findings: tuple[ArchiveFinding, ...] = ()
    others: frozenset[str] = frozenset()
    """Paths (as the archive names them) of links and special files."""
    kept: Mapping[str, bytes] = field(default_factory=dict)
    """The content of the files ``read_archive`` was asked to keep, by path in the archive."""

    def reading(
        self, prefix: str | None
    ) -> tuple[dict[str, ArchiveFile], list[ArchiveFinding], list[str]]:
        """The files and findings with ``prefix/`` removed, and the members outside it."""
        if prefix is None:
            return dict(self.raw_files), list(self.raw_findings), []
        lead = prefix + "/"
        files = {
            path[len(lead) :]: dataclasses.replace(file, path=path[len(lead) :])
            for path, file in self.raw_files.items()
            if path.startswith(lead)
        }
        strays = sorted(
            path
            for path in (*self.raw_files, *self.others)
            if not path.startswith(lead) and path != prefix
        )
        findings = [
            dataclasses.replace(f, path=f.path[len(lead) :])
            if f.path is not None and f.path.startswith(lead)
            else f
            for f in self.raw_findings
        ]
        return files, findings, strays


@dataclass(frozen=True)
class ReportEntry:
    """One line of a comparison: a path, what it is, how much it matters, and why."""

    path: str
    kind: str
    severity: ArchiveSeverity
    reason: str


@dataclass(frozen=True)
class ArchiveReport:
    """The comparison of one archive with the tree at the tag.

    ``entries`` lists everything worth listing (files that match the tree are only counted, in
    ``same``); ``severity`` is the highest of theirs. ``pattern_errors`` names the generated or
    sensitive patterns that could not be used. ``complete`` is False when the archive could not
    be read to its end, in which case files missing from it are not listed.
    """

    archive: str
    entries: tuple[ReportEntry, ...]
    same: int
    complete: bool
    pattern_errors: tuple[str, ...] = ()

    @property
    def severity(self) -> ArchiveSeverity:
        """The highest severity of the entries (``none`` when there are none)."""
        return _highest(entry.severity for entry in self.entries)

    @property
    def counts(self) -> dict[str, int]:
        """How many entries of each kind, plus ``same`` for files identical to the tree."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
        counts["same"] = self.same
        return counts


def _highest(severities: Iterator[ArchiveSeverity] | Sequence[ArchiveSeverity]) -> ArchiveSeverity:
    return max(severities, key=SEVERITY_ORDER.index, default="none")


# ---------------------------------------------------------------------------------------------
# Blob hashing
# ---------------------------------------------------------------------------------------------


def blob_sha(content: bytes) -> str:
    """The git blob SHA of ``content``, as ``git hash-object`` computes it.

    >>> blob_sha(b"")
    'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
    """
    hasher = hashlib.sha1(b"blob %d\0" % len(content), usedforsecurity=False)
    hasher.update(content)
    return hasher.hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Reading stops here, with this finding."""

    def __init__(self, kind: str, reason: str, name: str = "") -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.name = name


class _Counting(io.RawIOBase):
    """The compressed input, counted and capped at ``limit`` bytes."""

    def __init__(self, stream: BinaryIO, head: bytes, limit: int) -> None:
        self._stream = stream
        self._head = head
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(buffer)
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
        else:
            data = self._stream.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise _Stop(ARCHIVE_BOMB, f"the archive is larger than {self._limit} bytes")
        buffer[: len(data)] = data
        return len(data)


class _Bounded(io.RawIOBase):
    """The decompressed tar stream: counted, checked against the stream size and ratio bounds."""

    def __init__(self, source: BinaryIO, compressed: _Counting | None, limits: Limits) -> None:
        self._source = source
        self._compressed = compressed
        self._limits = limits
        self._cap = limits.max_total_bytes + HEADER_ALLOWANCE * limits.max_members
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        self.count += len(data)
        if self.count > self._cap:
            raise _Stop(ARCHIVE_BOMB, f"the uncompressed archive is larger than {self._cap} bytes")
        if self._compressed is not None:
            _check_ratio(self.count, self._compressed.count, self._limits)
        buffer[: len(data)] = data
        return len(data)


def _check_ratio(uncompressed: int, compressed: int, limits: Limits, name: str = "") -> None:
    if uncompressed > limits.ratio_grace_bytes and uncompressed > limits.max_ratio * max(
        compressed, 1
    ):
        raise _Stop(
            ARCHIVE_BOMB,
            f"{uncompressed} bytes came out of {compressed} compressed bytes, a ratio over "
            f"{limits.max_ratio:g}",
            name,
        )


class _BoundedTarInfo(tarfile.TarInfo):
    """A tar header whose metadata members (pax headers, GNU long names) are kept small:
    ``tarfile`` reads those into memory whole."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        info = super().frombuf(buf, encoding, errors)
        if info.type in _METADATA_TYPES and info.size > MAX_HEADER_BYTES:
            raise _Stop(
                ARCHIVE_BOMB,
                f"a tar metadata header of {info.size} bytes is larger than {MAX_HEADER_BYTES}",
                info.name,
            )
        return info


_METADATA_TYPES: Final = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)

_NAME_FORMATS: Final[tuple[tuple[str, Format], ...]] = (
    (".tar.gz", "tar.gz"),
    (".tgz", "tar.gz"),
    (".tar.xz", "tar.xz"),
    (".txz", "tar.xz"),
    (".tar.bz2", "tar.bz2"),
    (".tbz2", "tar.bz2"),
    (".tar", "tar"),
    (".zip", "zip"),
)


def format_from_name(name: str) -> Format | None:
    """The archive format a file name says, or None.

    >>> format_from_name("xz-5.6.1.tar.gz"), format_from_name("pkg-1.0.zip")
    ('tar.gz', 'zip')
    """
    lowered = name.lower()
    for suffix, fmt in _NAME_FORMATS:
        if lowered.endswith(suffix):
            return fmt
    return None


def format_from_magic(head: bytes) -> Format | None:
    """The archive format the first bytes of a file show, or None."""
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "tar.xz"
    if head.startswith(b"BZh"):
        return "tar.bz2"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def _normalise(name: str) -> tuple[str | None, str | None]:
    """``name`` as a relative path without ``.`` or empty parts, else why it is unsafe.

    (None, None) for the archive's root (``./``).
    """
    if "\0" in name:
        return None, "has a NUL character in its name"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        return None, "is an absolute path"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(".." in part.split("\\") for part in parts):
        return None, "has a '..' component"
    if not parts:
        return None, None
    return "/".join(parts), None


@dataclass
class _State:
    limits: Limits
    files: dict[str, ArchiveFile] = field(default_factory=dict)
    findings: list[ArchiveFinding] = field(default_factory=list)
    dirs: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)  # links, special files: paths, not files
    keep: Callable[[str], bool] | None = None
    """Which files' content is kept (by path as the archive names it), up to :data:`KEEP_BYTES`."""
    kept: dict[str, bytes] = field(default_factory=dict)
    folded: dict[str, str] = field(default_factory=dict)
    """Each path taken, by its case-folded NFC form: what one path is on macOS and Windows."""
    members: int = 0
    total: int = 0

    def member(self, name: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise _Stop(
                ARCHIVE_BOMB, f"the archive has more than {self.limits.max_members} members", name
            )

    def check_size(self, name: str, size: int) -> None:
        """Refuse a member whose stated size is already past a bound, before reading it."""
        if size > self.limits.max_member_bytes:
            raise _Stop(
                ARCHIVE_BOMB,
                f"{name} is {size} bytes, more than {self.limits.max_member_bytes} for one file",
                name,
            )
        if self.total + size > self.limits.max_total_bytes:
            raise _Stop(
                ARCHIVE_BOMB,
                f"the files add up to more than {self.limits.max_total_bytes} bytes",
                name,
            )

    def find(self, kind: str, name: str, path: str | None, reason: str, **extra: str) -> None:
        self.findings.append(ArchiveFinding(kind, name, path, reason, **extra))

    def path_of(self, name: str) -> str | None:
        path, problem = _normalise(name)
        if problem is not None:
            self.find(UNSAFE_PATH, name, None, f"{name!r} {problem}; it was not read")
        return path

    def claim(self, name: str, path: str) -> bool:
        """Record ``path`` as taken; False (and a finding) when another member had it, or one
        whose path differs only by case or Unicode normalisation: extracted on macOS or Windows,
        one overwrites the other."""
        if path in self.files or path in self.others:
            self.find(DUPLICATE, name, path, f"{path} appears more than once in the archive")
            return False
        key = unicodedata.normalize("NFC", path).casefold()
        other = self.folded.get(key)
        if other is not None:
            self.find(
                DUPLICATE,
                name,
                path,
                f"{path} and {other} are one file on a case-insensitive or normalising file "
                "system (macOS, Windows): extracted there, one overwrites the other",
            )
            return False
        self.folded[key] = path
        return True

    def add_file(self, name: str, path: str, chunks: Iterator[bytes], size: int) -> None:
        hasher = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
        read = 0
        keeping: list[bytes] | None = (
            [] if self.keep is not None and size <= KEEP_BYTES and self.keep(path) else None
        )
        for chunk in chunks:
            if keeping is not None:
                keeping.append(chunk)
            read += len(chunk)
            self.total += len(chunk)
            if read > size or read > self.limits.max_member_bytes:
                raise _Stop(ARCHIVE_BOMB, f"{name} holds more than its stated {size} bytes", name)
            if self.total > self.limits.max_total_bytes:
                raise _Stop(
                    ARCHIVE_BOMB,
                    f"the files add up to more than {self.limits.max_total_bytes} bytes",
                    name,
                )
            hasher.update(chunk)
        if read != size:
            raise _Stop(UNREADABLE, f"{name} ends after {read} of its {size} bytes", name)
        blob = hasher.hexdigest()
        if self.claim(name, path):
            self.files[path] = ArchiveFile(path, blob, size)
            if keeping is not None:
                self.kept[path] = b"".join(keeping)
        else:
            self.findings[-1] = dataclasses.replace(self.findings[-1], blob=blob)


def _chunks(read: IO[bytes]) -> Iterator[bytes]:
    while chunk := read.read(CHUNK_BYTES):
        yield chunk


def _read_tar(state: _State, stream: BinaryIO, compressed: _Counting | None) -> None:
    bounded = _Bounded(stream, compressed, state.limits)
    with tarfile.open(
        fileobj=cast(BinaryIO, bounded), mode="r|", tarinfo=_BoundedTarInfo
    ) as archive:
        for info in archive:
            name = info.name
            state.member(name)
            path = state.path_of(name)
            if path is None:
                continue
            if info.isdir():
                state.dirs.add(path)
                continue
            if info.issym() or info.islnk():
                if state.claim(name, path):
                    state.others.add(path)
                    _link_finding(state, name, path, info.linkname, symbolic=info.issym())
                continue
            if not info.isreg() or info.issparse():
                if state.claim(name, path):
                    state.others.add(path)
                    state.find(
                        SPECIAL_FILE,
                        name,
                        path,
                        f"{name} is a {_tar_kind(info)}, not a regular file; it was not read",
                    )
                continue
            state.check_size(name, info.size)
            content = archive.extractfile(info)
            if content is None:  # pragma: no cover - isreg() members always have content
                continue
            with content:
                state.add_file(name, path, _chunks(content), info.size)
    _check_tail(state, bounded)


TAIL_BYTES: Final = 1 * MiB
"""How much of what follows a tar's end is read to check it is only padding."""


def _check_tail(state: _State, stream: io.RawIOBase) -> None:
    """What follows the tar's end-of-archive marker must be zeros (padding): GNU tar with
    ``--ignore-zeros``, some unpackers and a second gzip member would read anything else."""
    read = 0
    try:
        while read < TAIL_BYTES:
            chunk = stream.read(min(CHUNK_BYTES, TAIL_BYTES - read))
            if not chunk:
                return
            read += len(chunk)
            if chunk.strip(b"\0"):
                break
        else:
            return
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        reason = (
            f"data after the archive's end that is not part of it ({exc or type(exc).__name__})"
        )
    else:
        reason = "data after the tar's end-of-archive marker (a second archive, or hidden bytes)"
    state.find(TRAILING_DATA, "", None, reason)


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.ischr():
        return "character device"
    if info.isblk():
        return "block device"
    if info.isfifo():
        return "fifo"
    if info.issparse():
        return "sparse file"
    return f"member of tar type {info.type!r}"


def _link_finding(state: _State, name: str, path: str, target: str, *, symbolic: bool) -> None:
    if symbolic:
        state.find(
            LINK,
            name,
            path,
            f"{name} is a symbolic link to {target!r}; it was not followed",
            target=target,
            blob=blob_sha(target.encode("utf-8", "surrogateescape")),
        )
    else:
        state.find(
            LINK,
            name,
            path,
            f"{name} is a hard link to {target!r}; it was not followed",
            target=target,
        )


_ZIP_BOUNDED_METHODS: Final = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def _read_zip(state: _State, stream: BinaryIO, size: int) -> None:
    limits = state.limits
    with zipfile.ZipFile(stream) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise _Stop(ARCHIVE_BOMB, f"the archive has more than {limits.max_members} members")
        for info in infos:
            name = info.filename
            state.member(name)
            path = state.path_of(name)
            if path is None:
                continue
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            if info.is_dir() or stat.S_ISDIR(mode):
                state.dirs.add(path)
                continue
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFLNK):
                if state.claim(name, path):
                    state.others.add(path)
                    state.find(
                        SPECIAL_FILE,
                        name,
                        path,
                        f"{name} is a special file (mode {mode:o}), not a regular file; "
                        "it was not read",
                    )
                continue
            if info.flag_bits & 0x1:
                state.find(UNREADABLE, name, path, f"{name} is encrypted; it was not read")
                continue
            if info.compress_type not in _ZIP_BOUNDED_METHODS:
                state.find(
                    UNREADABLE,
                    name,
                    path,
                    f"{name} uses zip compression method {info.compress_type}, which is not "
                    "read (only stored and deflated members can be read with bounded memory)",
                )
                continue
            if stat.S_ISLNK(mode):
                if info.file_size > MAX_LINK_TARGET_BYTES:
                    state.find(UNREADABLE, name, path, f"{name} is a link with a huge target")
                    continue
                with archive.open(info) as content:
                    target = content.read(MAX_LINK_TARGET_BYTES + 1)
                if state.claim(name, path):
                    state.others.add(path)
                    _link_finding(
                        state, name, path, target.decode("utf-8", "surrogateescape"), symbolic=True
                    )
                continue
            state.check_size(name, info.file_size)
            with archive.open(info) as content:
                state.add_file(
                    name,
                    path,
                    _ratio_checked(_chunks(content), state, info.compress_size, size, name),
                    info.file_size,
                )
        _check_zip_gaps(state, stream, infos, archive.start_dir)


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
DESCRIPTOR_ALLOWANCE: Final = 24
"""Bytes a data descriptor (with or without its signature, ZIP64 sizes) may take after a member."""


def _check_zip_gaps(
    state: _State, stream: BinaryIO, infos: Sequence[zipfile.ZipInfo], start_dir: int
) -> None:
    """The central directory must account for every byte before it: a local entry it does not
    list is read by streaming unzippers (and some installers) but not by ``zipfile``."""
    position = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset - position > (DESCRIPTOR_ALLOWANCE if position else 0):
            break
        stream.seek(info.header_offset)
        header = stream.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size:
            break
        fields = _LOCAL_HEADER.unpack(header)
        position = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
        position += info.compress_size
    else:
        if start_dir - position <= (DESCRIPTOR_ALLOWANCE if infos else 0):
            return
    state.find(
        TRAILING_DATA,
        "",
        None,
        "the zip holds data its central directory does not list (a hidden entry that streaming "
        "unzippers would extract)",
    )


def _ratio_checked(
    chunks: Iterator[bytes], state: _State, member_compressed: int, archive_size: int, name: str
) -> Iterator[bytes]:
    """The chunks of a zip member, stopping once its or the archive's ratio is past the bound
    (members that share compressed data only show in the archive's ratio)."""
    read = 0
    for chunk in chunks:
        read += len(chunk)
        _check_ratio(read, member_compressed, state.limits, name)
        _check_ratio(state.total + len(chunk), archive_size, state.limits, name)
        yield chunk


def _strip_prefix(state: _State) -> str | None:
    """The single top-level folder every member is under, or None."""
    paths = [*state.files, *state.others, *state.dirs]
    paths.extend(f.path for f in state.findings if f.path is not None)
    if not paths:
        return None
    tops = {path.split("/", 1)[0] for path in paths}
    if len(tops) != 1:
        return None
    (top,) = tops
    if top in state.files or top in state.others:  # a file, not a folder, at the top
        return None
    return top


def _without(prefix: str | None, path: str) -> str:
    if prefix is None:
        return path
    return path[len(prefix) + 1 :]


def read_archive(
    name: str,
    stream: BinaryIO,
    limits: Limits | None = None,
    keep: Callable[[str], bool] | None = None,
) -> ArchiveContents:
    """Read the archive ``name`` from ``stream``, as described in the module's docstring.
    ``keep`` names the files (by their path in the archive) whose content is kept, up to
    :data:`KEEP_BYTES` each: those ``export-subst`` may have rewritten.

    Never raises for what the archive holds: a corrupt archive, or one past ``limits``, gives
    an ``unreadable`` or ``archive-bomb`` finding and ``complete=False``.
    """
    limits = limits or Limits()
    state = _State(limits, keep=keep)
    by_name = format_from_name(name)
    complete = True
    fmt: Format | None = None
    try:
        start = stream.tell() if stream.seekable() else None
        head = stream.read(512)
        by_magic = format_from_magic(head)
        fmt = by_magic or by_name
        if by_magic is not None and by_name is not None and by_magic != by_name:
            state.find(
                MISMATCH,
                "",
                None,
                f"{name} is named like a {by_name} archive but its content is {by_magic}; "
                f"it was read as {by_magic}",
            )
        elif by_magic is None and by_name not in (None, "tar", "zip"):
            fmt = None
        if fmt is None:
            raise _Stop(UNREADABLE, f"{name} is not a recognised archive")
        if fmt == "zip":
            if start is not None:
                stream.seek(start)
                seekable = stream
                size = stream.seek(0, io.SEEK_END) - start
                stream.seek(start)
            else:
                counting = _Counting(stream, head, limits.max_archive_bytes)
                seekable = io.BytesIO(counting.read())  # bounded by max_archive_bytes
                size = len(seekable.getvalue())
            _read_zip(state, seekable, size)
        else:
            counting = _Counting(stream, head, limits.max_archive_bytes)
            raw = cast(BinaryIO, io.BufferedReader(counting, CHUNK_BYTES))
            if fmt == "tar.gz":
                _read_tar(state, cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb")), counting)
            elif fmt == "tar.xz":
                _read_tar(state, cast(BinaryIO, lzma.LZMAFile(raw)), counting)
            elif fmt == "tar.bz2":
                _read_tar(state, cast(BinaryIO, bz2.BZ2File(raw)), counting)
            else:
                _read_tar(state, raw, None)
    except _Stop as stop:
        complete = False
        state.find(stop.kind, stop.name, None, stop.reason)
    except Exception as exc:  # hostile input reaches odd corners of tarfile, zipfile, zlib...
        complete = False
        detail = str(exc) or type(exc).__name__
        state.find(UNREADABLE, "", None, f"{name} could not be read: {detail}")
    prefix = _strip_prefix(state)
    files = {
        _without(prefix, path): ArchiveFile(_without(prefix, path), file.blob, file.size)
        for path, file in state.files.items()
        if path != prefix
    }
    findings = tuple(
        dataclasses.replace(f, path=_without(prefix, f.path)) if f.path is not None else f
        for f in state.findings
    )
    return ArchiveContents(
        name=name,
        format=fmt,
        files=files,
        findings=findings,
        prefix=prefix,
        complete=complete,
        members=state.members,
        total_bytes=state.total,
        raw_files=dict(state.files),
        kept=dict(state.kept),
        raw_findings=tuple(state.findings),
        others=frozenset(state.others),
    )


# ---------------------------------------------------------------------------------------------
# .gitattributes: export-ignore and export-subst
# ---------------------------------------------------------------------------------------------

_Value = bool | str | None  # True set, False unset, None unspecified ("!attr"), str a value
_EXPORT_ATTRIBUTES: Final = ("export-ignore", "export-subst")
MAX_EXPORT_LINES: Final = 2000
"""How many ``.gitattributes`` lines touching export attributes are read; later ones are not."""


def _expand(
    tokens: Sequence[str], macros: Mapping[str, list[tuple[str, _Value]]]
) -> list[tuple[str, _Value]]:
    assignments: list[tuple[str, _Value]] = []
    for token in tokens:
        if token[:1] == "-":
            assignments.append((token[1:], False))
        elif token[:1] == "!":
            assignments.append((token[1:], None))
        elif "=" in token:
            key, value = token.split("=", 1)
            assignments.append((key, value))
        else:
            assignments.append((token, True))
            assignments.extend(macros.get(token, ()))
    return assignments


def _pattern_and_tokens(line: str) -> tuple[str, list[str]]:
    if not line.startswith('"'):
        pattern, *tokens = line.split()
        return pattern, tokens
    chars: list[str] = []
    index = 1
    while index < len(line) and line[index] != '"':
        if line[index] == "\\" and index + 1 < len(line):
            index += 1
        chars.append(line[index])
        index += 1
    return "".join(chars), line[index + 1 :].split()


class ExportAttributes:
    """The ``export-ignore`` and ``export-subst`` attributes a root ``.gitattributes`` gives.

    The last line matching a path decides, as in git. ``git archive`` leaves out a file whose
    own ``export-ignore`` is set or that is inside a directory whose ``export-ignore`` is set; a
    pattern naming a directory (``dir/``) matches that directory, not the files inside it. A
    line git could not parse, or a negative pattern, is skipped.
    """

    def __init__(self, text: str | None) -> None:
        self._values: list[dict[str, _Value]] = []
        file_regexes: list[str] = []
        self._file_lines: list[int] = []
        dir_regexes: list[str] = []
        self._dir_lines: list[int] = []
        macros: dict[str, list[tuple[str, _Value]]] = {}
        for raw in (text or "").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[attr]"):
                macro, *tokens = line[len("[attr]") :].split() or [""]
                if macro:
                    macros[macro] = _expand(tokens, macros)
                continue
            pattern, tokens = _pattern_and_tokens(line)
            if not pattern or pattern.startswith("!"):
                continue
            values = {
                key: value for key, value in _expand(tokens, macros) if key in _EXPORT_ATTRIBUTES
            }
            if not values:
                continue
            if len(self._values) >= MAX_EXPORT_LINES:
                break
            try:
                translated = pattern_regexes(pattern)
            except PatternError:
                continue
            if translated is None or not translated.include:
                continue
            index = len(self._values)
            self._values.append(values)
            if translated.file is not None:
                file_regexes.append(translated.file)
                self._file_lines.append(index)
            elif translated.directory is not None:
                directory = translated.directory
                dir_regexes.append(directory + "$" if directory.endswith("/") else directory)
                self._dir_lines.append(index)
        self._files = RegexSet(file_regexes)
        self._dirs = RegexSet(dir_regexes)

    def value(self, attribute: str, path: str, *, is_dir: bool = False) -> _Value:
        """``attribute`` for ``path`` as the last line matching it leaves it (None: no line)."""
        lines = {self._file_lines[hit] for hit in self._files.search(path)}
        if is_dir:
            lines.update(self._dir_lines[hit] for hit in self._dirs.search(path + "/"))
        for index in sorted(lines, reverse=True):
            if attribute in self._values[index]:
                return self._values[index][attribute]
        return None

    def ignored(self, path: str) -> bool:
        """Whether ``git archive`` leaves ``path`` out (it, or a directory above, is ignored)."""
        parts = path.split("/")
        for depth in range(1, len(parts)):
            if self.value("export-ignore", "/".join(parts[:depth]), is_dir=True) is True:
                return True
        return self.value("export-ignore", path) is True

    def substituted(self, path: str) -> bool:
        """Whether ``git archive`` rewrites ``$Format:...$`` placeholders in ``path``."""
        return self.value("export-subst", path) is True


# ---------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------


def _valid_patterns(what: str, patterns: Sequence[str], errors: list[str]) -> tuple[str, ...]:
    valid: list[str] = []
    for pattern in patterns:
        try:
            pattern_regexes(pattern)
        except PatternError as exc:
            errors.append(f"{what} pattern {pattern!r} {exc}; it was not used")
            continue
        valid.append(pattern)
    return tuple(valid)


_SENSITIVE_REASON: Final = (
    "matches a sensitive pattern (the build system), so it is severity high even where "
    "generated files are expected: that is exactly where the xz payload hid"
)


def _finding_entry(finding: ArchiveFinding, tree: Mapping[str, str]) -> ReportEntry:
    path = finding.path if finding.path is not None else (finding.name or "(archive)")
    severity = _FINDING_SEVERITY.get(finding.kind, "high")
    reason = finding.reason
    if (
        finding.kind == LINK
        and finding.path is not None
        and finding.blob is not None
        and tree.get(finding.path) == finding.blob
        and finding.target is not None
    ):
        severity = "none"
        reason += "; the tree has the same symbolic link"
    return ReportEntry(path, finding.kind, severity, reason)


PREFIX_CANDIDATES: Final = 3
"""How many of the archive's largest top-level folders are tried as its top folder."""


def choose_prefix(contents: ArchiveContents, tree: Mapping[str, str]) -> str | None:
    """The top-level folder to remove from the archive's paths before comparing: the reading
    (no folder removed, or one of its top-level folders removed) whose files match the tree's
    content best, then its paths. A stray member next to the folder never keeps it from being
    removed (it is reported), and a tree that lives under one folder is not mistaken for the
    archive's own top-level folder.

    >>> from bot.core.archive import ArchiveContents, ArchiveFile
    >>> raw = {"lib/a.c": ArchiveFile("lib/a.c", "1", 1), "lib/b.c": ArchiveFile("lib/b.c", "2", 1)}
    >>> contents = ArchiveContents("x", "tar", {}, (), "lib", True, 2, 2, raw_files=raw)
    >>> choose_prefix(contents, {"lib/a.c": "9", "lib/b.c": "2"}) is None
    True
    >>> choose_prefix(contents, {"a.c": "1"})
    'lib'
    """
    counts = Counter(path.split("/", 1)[0] for path in contents.raw_files if "/" in path)
    tops = [top for top, _ in counts.most_common(PREFIX_CANDIDATES)]

    def score(prefix: str | None) -> tuple[int, int, int]:
        lead = "" if prefix is None else prefix + "/"
        same = known = 0
        for path, file in contents.raw_files.items():
            if not path.startswith(lead):
                continue
            expected = tree.get(path[len(lead) :])
            if expected is not None:
                known += 1
                same += expected == file.blob
        return same, known, int(prefix == contents.prefix)

    return max([None, *sorted(tops)], key=score)


_FORMAT = re.compile(rb"\$Format:[^$]*\$")


def substitution_matches(tree: bytes, shipped: bytes) -> bool:
    r"""Whether ``shipped`` is ``tree`` with only its ``$Format:...$`` placeholders rewritten (as
    ``git archive`` does for ``export-subst``). A file with no placeholder must be the same.

    >>> substitution_matches(b'V = "$Format:%H$"\n', b'V = "0a1b2c"\n')
    True
    >>> substitution_matches(b'V = "$Format:%H$"\n', b'V = "0a1b2c"\nimport payload\n')
    False
    """
    parts = _FORMAT.split(tree)
    pattern = rb"[^\n]*".join(re.escape(part) for part in parts)
    # RE2: linear in the shipped file whatever its content
    return re2.compile(pattern).fullmatch(shipped) is not None


def _substituted(path: str, what: str, tree: bytes | None, shipped: bytes | None) -> ReportEntry:
    if tree is not None and shipped is not None:
        if substitution_matches(tree, shipped):
            return ReportEntry(
                path,
                EXPORT_SUBST,
                "none",
                f"{what} only in the $Format$ placeholders git archive rewrites "
                "(.gitattributes marks it export-subst)",
            )
        return ReportEntry(
            path,
            DIFFERS,
            "high",
            f"{what} beyond the $Format$ placeholders export-subst lets git archive rewrite: "
            "what was shipped is not what was reviewed",
        )
    return ReportEntry(
        path,
        EXPORT_SUBST,
        "low",
        f"{what}; .gitattributes marks it export-subst, but its content could not be checked "
        "against the tree's",
    )


def compare_with_tree(
    contents: ArchiveContents,
    tree: Mapping[str, str],
    *,
    gitattributes: str | None,
    generated: Sequence[str],
    sensitive: Sequence[str],
    texts: Mapping[str, bytes] | None = None,
) -> ArchiveReport:
    """Compare an archive with the tree at the tag (path to git blob SHA).

    Severities: an added or differing file matching ``sensitive`` is high, unless a
    ``generated`` pattern without wildcards names exactly its path from the archive's top
    (``configure``, ``aclocal.m4``: a release adds exactly these, not ``m4/aclocal.m4``);
    otherwise a file matching ``generated`` is listed as ``generated`` (none); an ``export-subst`` file that
    differs is listed (none: ``git archive`` rewrites it); any other differing file is high (the
    shipped content is not what was reviewed); any other added file is low (shipped, never
    reviewed, but only reachable through the build, whose files are sensitive); a file of the
    tree missing from the archive is low, or none when ``export-ignore`` leaves it out. Archive
    findings (links, special files, unsafe paths, duplicates, bombs, unreadable) are high,
    except a symbolic link the tree has too. Invalid patterns are reported in
    ``pattern_errors`` and skipped.
    """
    errors: list[str] = []
    valid_generated = _valid_patterns("generated", generated, errors)
    groups = (valid_generated, _valid_patterns("sensitive", sensitive, errors))
    matcher = PathPatterns(groups)
    # a pattern without wildcards names one file at the archive's top (configure, aclocal.m4),
    # never the same name deeper down (m4/aclocal.m4 is a macro aclocal picks up)
    exact = {p.strip("/") for p in valid_generated if not any(c in p for c in "*?[\\")}
    attributes = ExportAttributes(gitattributes)
    prefix = choose_prefix(contents, tree)
    files, findings, strays = contents.reading(prefix)
    lead = "" if prefix is None else prefix + "/"
    entries = [_finding_entry(finding, tree) for finding in findings]
    entries += [
        ReportEntry(
            path,
            STRAY,
            "high",
            "outside the archive's top-level folder: extracted, it lands beside the release, "
            "and it is not compared with the tree",
        )
        for path in strays
    ]
    linked = {f.path for f in findings if f.path is not None}
    same = 0
    for path in sorted(files.keys() | tree.keys()):
        file = files.get(path)
        expected = tree.get(path)
        if file is not None and file.blob == expected:
            same += 1
            continue
        if file is None:
            if not contents.complete or path in linked:
                continue  # not read, or already reported as a finding
            if attributes.ignored(path):
                entries.append(
                    ReportEntry(
                        path,
                        EXPORT_IGNORED,
                        "none",
                        ".gitattributes marks it export-ignore, so git archive leaves it out",
                    )
                )
            else:
                entries.append(
                    ReportEntry(
                        path, MISSING, "low", "the tree at the tag has it; the archive does not"
                    )
                )
            continue
        is_generated, is_sensitive = matcher.matching(path)
        named = path in exact
        # a generated file a pattern names exactly (configure, aclocal.m4) is the release's to
        # add; a wildcard (m4/**) never excuses a sensitive path
        is_sensitive = is_sensitive and not named
        what = "not in the tree at the tag" if expected is None else "differs from the tree's blob"
        kind = ADDED if expected is None else DIFFERS
        if is_sensitive:
            entries.append(ReportEntry(path, kind, "high", f"{what}, and {_SENSITIVE_REASON}"))
        elif expected is not None and attributes.substituted(path):
            entries.append(
                _substituted(path, what, (texts or {}).get(path), contents.kept.get(lead + path))
            )
        elif is_generated:
            entries.append(
                ReportEntry(
                    path, GENERATED, "none", f"{what}; it is a generated file a release adds"
                )
            )
        elif expected is None:
            entries.append(
                ReportEntry(
                    path, ADDED, "low", f"{what}: shipped, but never reviewed in the repository"
                )
            )
        else:
            entries.append(
                ReportEntry(
                    path, DIFFERS, "high", f"{what}: what was shipped is not what was reviewed"
                )
            )
    return ArchiveReport(
        archive=contents.name,
        entries=tuple(entries),
        same=same,
        complete=contents.complete,
        pattern_errors=tuple(errors),
    )
