"""The review policy: ``.github/countersign.yml``, validated and layered.

A policy is assembled from layers, lowest first: the shipped ``config/default.yml``, the
organisation's ``.github`` repository's ``.github/countersign.yml``, and the repository's own
``.github/countersign.yml`` as it is on the default branch (a pull request can never weaken the
policy that judges it). Each layer is validated on its own; a layer with any error is ignored
entirely, its errors are kept in :attr:`Policy.errors`, and the layers below it still apply, so a
broken file never switches auditing off.

Nothing here talks to GitHub: the caller fetches the texts and passes them in as
:class:`PolicySource` values. The only file reads are :func:`shipped_default` and
:func:`check_config`, which read local paths.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypedDict, TypeVar

import re2
import yaml
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern
from pathspec.util import normalize_file
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.backport import DEFAULT_TITLE, MAX_TITLE_PATTERN_CHARS, TitlePattern, compile_title
from bot.core.facts import FileFacts
from bot.core.releases import (
    DEFAULT_GENERATED,
    DEFAULT_MAX_ARCHIVE_MB,
    DEFAULT_RELEASE_TAGS,
    is_release_tag,
    previous_release,
)

REPO_POLICY_PATH: Final = ".github/countersign.yml"
"""Where the policy lives in a repository (and in the organisation's ``.github`` repository)."""

ORG_POLICY_REPOSITORY: Final = ".github"
"""The name of the organisation-wide repository whose policy file is the middle layer."""

CONFIG_DIR: Final = Path(__file__).resolve().parents[2] / "config"
"""The repository's ``config/`` folder (a checkout, or an editable install)."""
CONFIG_PACKAGE: Final = "bot.config"
"""Where an installed package has the ``config/`` folder (see ``[tool.setuptools]``)."""
SHIPPED_DEFAULT_PATH: Final = CONFIG_DIR / "default.yml"
SHIPPED_DEFAULT_SOURCE: Final = "config/default.yml"
"""How the shipped default is named in errors and in :attr:`Policy.sources`."""

MAX_POLICY_CHARS: Final = 256 * 1024

BASE_REQUIREMENT: Final = "review"
"""The name of the base requirement, which applies to every change."""
HISTORY_REWRITE: Final = "history-rewrite"
"""The name of the synthetic requirement the judge adds for force pushes and branch deletions."""
INCOMPLETE_VIEW: Final = "incomplete-view"
"""The requirement added when GitHub could not show all of a change: one sign-off, severity high."""
RESERVED_NAMES: Final = frozenset({BASE_REQUIREMENT, HISTORY_REWRITE, INCOMPLETE_VIEW})

Severity = Literal["low", "high"]
PreMerge = Literal["inform", "enforce", "off"]
Action = Literal["check", "issue", "label"]

SEVERITIES: Final[tuple[Severity, ...]] = ("low", "high")
PRE_MERGE_MODES: Final[tuple[PreMerge, ...]] = ("inform", "enforce", "off")
ACTIONS: Final[tuple[Action, ...]] = ("check", "issue", "label")

TOP_LEVEL_KEYS: Final = (
    "branches",
    "pre_merge",
    "review",
    "rules",
    "audit",
    "backports",
    "release",
    "digest",
)
REQUIREMENT_KEYS: Final = (
    "approvals",
    "merger_counts",
    "fresh",
    "allow_contributors",
    "teams",
    "severity",
    "actions",
    "notify",
)
REVIEW_KEYS: Final = REQUIREMENT_KEYS
RULE_KEYS: Final = ("name", "paths", "binary", *REQUIREMENT_KEYS)
AUDIT_KEYS: Final = ("repository", "labels")
BACKPORT_KEYS: Final = ("inherit_review", "window_days", "title", "labels")
RELEASE_KEYS: Final = ("tags", "generated", "pypi", "max_archive_mb")
DIGEST_KEYS: Final = ("enabled", "weekday", "hour_utc", "repository", "dormant_after_days")
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DORMANT_DAYS: Final = 36500
"""The largest ``digest.dormant_after_days`` accepted (a century)."""

DEFAULT_BACKPORT_WINDOW_DAYS: Final = 180
MAX_BACKPORT_WINDOW_DAYS: Final = 36500
"""The largest ``backports.window_days`` accepted (a century: any date arithmetic stays in range)."""
MAX_ARCHIVE_MB: Final = 10240
"""The largest ``release.max_archive_mb`` accepted (10 GiB)."""
MAX_TAG_GLOBS: Final = 50
"""The most globs ``release.tags`` may list."""

_PYPI_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
"""A project name as PEP 508 allows it (letters, digits, ``.``, ``_``, ``-``; alphanumeric ends)."""
_MAX_PYPI_NAME: Final = 200
_TAG_GLOB_FORBIDDEN: Final = frozenset(" ~^:\\")
"""Characters git forbids in a tag name: a glob containing one could never match."""

_RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
_TEAM = re.compile(
    r"(?:@?(?P<org>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/)?(?P<slug>[A-Za-z0-9][A-Za-z0-9_.-]*)"
)
NOTIFY_PATTERN: Final = re.compile(r"@[A-Za-z0-9-]+(?:/[A-Za-z0-9._-]+)?")
"""What a ``notify`` entry must look like: ``@user`` or ``@org/team``."""
_REPOSITORY = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
_MAX_LABEL = 50

_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_SCALAR_AS_TEXT = frozenset({_STR, _INT, _FLOAT, _BOOL})


@dataclass(frozen=True)
class PolicyError:
    """One problem in one policy file. ``line`` is 1-based, None where no line applies."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.source}: {self.message}"
        return f"{self.source}:{self.line}: {self.message}"


# ---------------------------------------------------------------------------------------------
# Path patterns
# ---------------------------------------------------------------------------------------------

MAX_PATTERN_CHARS: Final = 512
"""The longest path pattern (in a policy's ``paths`` or a ``.gitattributes`` line)."""
MAX_PATTERNS: Final = 500
"""The most path patterns one policy file may have, over all its rules."""

_DIR_MARK: Final = "(?P<ps_d>/)"
"""How pathspec marks, in a pattern's regex, the slash after a matching directory."""
_DIR_MARK_OPTIONAL: Final = f"(?:{_DIR_MARK}|$)"


class PatternError(ValueError):
    """A path pattern countersign cannot match: invalid, or longer than ``MAX_PATTERN_CHARS``."""


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # errors are reported where the pattern was written
    options.never_capture = True
    return options


_RE2_OPTIONS: Final = _re2_options()


def _re2_message(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail)


def _compile_regex(regex: str) -> Any:
    """``regex`` compiled by RE2 (linear-time matching); PatternError when RE2 refuses it."""
    try:
        return re2.compile(regex, _RE2_OPTIONS)
    except re2.error as exc:
        raise PatternError(_re2_message(exc)) from None


@dataclass(frozen=True)
class PatternRegexes:
    """What a gitignore-style pattern matches, as regular expressions searched in a path.

    ``file`` matches a path the pattern names itself; ``directory`` matches a path inside a
    directory the pattern names (None where the pattern has no such form). ``include`` is False
    for a ``!pattern``.
    """

    include: bool
    file: str | None
    directory: str | None


def pattern_regexes(pattern: str) -> PatternRegexes | None:
    """Translate a gitignore-style pattern (pathspec's gitignore semantics) for RE2.

    None for a pattern that matches nothing (a comment, a blank). Raises :class:`PatternError`
    for an invalid pattern, one RE2 cannot compile (``[z-a]``), or one longer than
    ``MAX_PATTERN_CHARS``. Nothing here compiles with Python's ``re``, whose backtracking can
    take exponential time (``*a*a*a*a*a*a*a*a*b`` against a long name).
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"is longer than {MAX_PATTERN_CHARS} characters")
    try:
        regex, include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
    except ValueError:  # GitIgnorePatternError, or a trailing backslash
        raise PatternError("is not a valid gitignore-style pattern") from None
    if regex is None or include is None:
        return None
    file: str | None
    directory: str | None
    if regex.endswith(_DIR_MARK_OPTIONAL):
        stem = regex[: -len(_DIR_MARK_OPTIONAL)]
        file, directory = f"{stem}$", f"{stem}/"
    elif _DIR_MARK in regex:
        file, directory = None, regex.replace(_DIR_MARK, "/")
    else:
        file, directory = regex, None
    for form in (file, directory):
        if form is not None:
            try:
                _compile_regex(form)
            except PatternError as exc:
                raise PatternError(f"is not a valid gitignore-style pattern ({exc})") from None
    return PatternRegexes(include, file, directory)


class RegexSet:
    """Regular expressions searched for together by RE2, in time linear in the text.

    They are compiled into RE2 sets, split where one set would exceed RE2's memory budget.
    Each set starts with an expression that always matches: a search that finds nothing at all
    means RE2's DFA gave up, and that set's expressions are then searched one by one (RE2 again,
    still linear), so a match is never lost.
    """

    def __init__(self, regexes: Sequence[str]) -> None:
        self._regexes = tuple(regexes)
        self._sets: list[tuple[int, int, Any]] = []
        self._single: dict[int, Any] = {}
        if self._regexes:
            self._compile(0, len(self._regexes))

    def _compile(self, start: int, end: int) -> None:
        compiled = re2.Set.SearchSet(_RE2_OPTIONS)
        try:
            compiled.Add("")
            for regex in self._regexes[start:end]:
                compiled.Add(regex)
            compiled.Compile()
        except re2.error:
            if end - start == 1:
                self._sets.append((start, end, None))
                return
            middle = (start + end) // 2
            self._compile(start, middle)
            self._compile(middle, end)
            return
        self._sets.append((start, end, compiled))

    def _one(self, index: int) -> Any:
        if index not in self._single:
            self._single[index] = _compile_regex(self._regexes[index])
        return self._single[index]

    def search(self, text: str) -> list[int]:
        """The indices, in order, of the expressions found in ``text``."""
        found: list[int] = []
        for start, end, compiled in self._sets:
            hits = compiled.Match(text) if compiled is not None else None
            if hits:
                found.extend(start + hit - 1 for hit in hits if hit)
            else:
                found.extend(i for i in range(start, end) if self._one(i).search(text))
        return sorted(found)


class PathPatterns:
    """Lists of gitignore-style patterns (one per rule), all matched in one pass over a path.

    Each list decides as ``pathspec.GitIgnoreSpec`` does: the last pattern that names the path
    itself wins (``!pattern`` excludes again); where none does, the last pattern that names a
    directory above it. Raises :class:`PatternError` for a pattern :func:`pattern_regexes`
    refuses (validation reports those first).
    """

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        regexes: list[str] = []
        self._forms: list[tuple[int, int, bool]] = []  # (group, pattern, is a directory form)
        self._include: dict[tuple[int, int], bool] = {}
        for group, patterns in enumerate(groups):
            for index, pattern in enumerate(patterns):
                translated = pattern_regexes(pattern)
                if translated is None:
                    continue
                self._include[group, index] = translated.include
                for regex, is_dir in ((translated.file, False), (translated.directory, True)):
                    if regex is not None:
                        regexes.append(regex)
                        self._forms.append((group, index, is_dir))
        self._groups = len(groups)
        self._set = RegexSet(regexes)

    def matching(self, path: str) -> list[bool]:
        """For each list, whether it includes ``path``."""
        named: dict[tuple[int, int], bool] = {}  # pattern -> matched the path itself
        for hit in self._set.search(normalize_file(path)):
            group, index, is_dir = self._forms[hit]
            named[group, index] = named.get((group, index), False) or not is_dir
        decided: list[tuple[bool, int, bool]] = [(False, -1, False)] * self._groups
        for (group, index), itself in named.items():
            # the last pattern naming the path itself, else the last naming a directory above
            if (itself, index) > decided[group][:2]:
                decided[group] = (itself, index, self._include[group, index])
        return [include for _, _, include in decided]


@lru_cache(maxsize=256)
def path_patterns(groups: tuple[tuple[str, ...], ...]) -> PathPatterns:
    """The compiled matcher for lists of gitignore-style patterns (cached)."""
    return PathPatterns(groups)


@dataclass(frozen=True)
class Requirement:
    """What a change (or the part of it a rule matches) needs before it counts as reviewed.

    The base requirement is named ``review`` and has neither ``paths`` nor ``binary``: it matches
    every file. A rule always has ``paths`` or ``binary: true`` (validation makes sure of it).
    """

    name: str
    paths: tuple[str, ...] = ()
    binary: bool = False
    approvals: int = 1
    merger_counts: bool = True
    fresh: bool = False
    allow_contributors: bool = False
    teams: tuple[str, ...] = ()
    severity: Severity = "low"
    actions: tuple[str, ...] = ("check",)
    notify: tuple[str, ...] = ()

    @property
    def is_base(self) -> bool:
        """True for a requirement that applies to every file (the base ``review``)."""
        return not self.paths and not self.binary

    def matches(self, file: FileFacts, is_binary: bool) -> bool:
        """Whether this requirement covers ``file``.

        A renamed (or copied) file matches by its new path and by its old one; a deleted file by
        its path. A rule with ``binary: true`` matches every binary file whatever its name.
        """
        if self.is_base:
            return True
        if self.binary and is_binary:
            return True
        if not self.paths:
            return False
        patterns = path_patterns((self.paths,))
        if patterns.matching(file.path)[0]:
            return True
        return file.previous_path is not None and patterns.matching(file.previous_path)[0]


def _default_title() -> TitlePattern:
    title, error = compile_title(DEFAULT_TITLE)
    if title is None:  # pragma: no cover - the shipped pattern is tested
        raise RuntimeError(f"the default backports.title {DEFAULT_TITLE!r} {error}")
    return title


@dataclass(frozen=True)
class BackportPolicy:
    """The ``backports`` keys of the policy: how backports are recognised and what they inherit.

    ``inherit_review``: whether a clean backport inherits its original's review.
    ``window_days``: originals merged longer ago than this do not pass their review on.
    ``title``: the compiled pattern whose group ``number`` names the original in a title.
    ``labels``: labels that mark a pull request as a backport (as written; GitHub compares
    label names without regard to case, and so does :meth:`labelled`).
    """

    inherit_review: bool = True
    window_days: int = DEFAULT_BACKPORT_WINDOW_DAYS
    title: TitlePattern = field(default_factory=_default_title)
    labels: tuple[str, ...] = ()

    def labelled(self, labels: Iterable[str]) -> bool:
        """Whether any of ``labels`` (a pull request's label names) is one of :attr:`labels`,
        compared without regard to case as GitHub does.

        >>> BackportPolicy(labels=("Backport",)).labelled(["bug", "backport"])
        True
        >>> BackportPolicy().labelled(["backport"])
        False
        """
        wanted = {label.casefold() for label in self.labels}
        return any(label.casefold() in wanted for label in labels)


DEFAULT_BACKPORTS: Final = BackportPolicy()
"""The ``backports`` policy when no layer sets any of its keys."""


@dataclass(frozen=True)
class ReleasePolicy:
    """The ``release`` keys of the policy: what a release is and what its archives may add.

    ``tags``: fnmatch-style globs a release tag's name matches (``v*``).
    ``generated``: gitignore-style patterns of files a release archive normally adds to the tree
    (``configure``): listed as generated, not alarmed on.
    ``pypi``: the PyPI project whose sdist of the same version is compared too (None: none).
    ``max_archive_mb``: the largest archive download, in MiB.

    >>> release = ReleasePolicy()
    >>> release.is_release_tag("v3.12.0"), release.is_release_tag("nightly")
    (True, False)
    >>> release.previous_release("v3.12.1", ["v3.12.0", "v3.13.0", "v3.12.1"])
    'v3.12.0'
    >>> release.is_generated("configure"), release.is_generated("xz-5.6.1.egg-info/PKG-INFO")
    (True, True)
    >>> release.is_generated("m4/build-to-host.m4")
    False
    """

    tags: tuple[str, ...] = DEFAULT_RELEASE_TAGS
    generated: tuple[str, ...] = DEFAULT_GENERATED
    pypi: str | None = None
    max_archive_mb: int = DEFAULT_MAX_ARCHIVE_MB

    @property
    def max_archive_bytes(self) -> int:
        """:attr:`max_archive_mb` in bytes."""
        return self.max_archive_mb * 1024 * 1024

    def is_release_tag(self, tag: str) -> bool:
        """Whether ``tag`` matches :attr:`tags` and names a version."""
        return is_release_tag(tag, self.tags)

    def previous_release(self, tag: str, tags: Sequence[str]) -> str | None:
        """The release before ``tag`` among ``tags``: see :mod:`bot.core.releases`."""
        return previous_release(tag, tags, self.tags)

    def is_generated(self, path: str) -> bool:
        """Whether :attr:`generated` names ``path`` (relative to the archive's top folder)."""
        if not self.generated:
            return False
        return path_patterns((self.generated,)).matching(path)[0]


DEFAULT_RELEASE: Final = ReleasePolicy()
"""The ``release`` policy when no layer sets any of its keys."""


@dataclass(frozen=True)
class DigestPolicy:
    """The ``digest`` keys: when the weekly digest is posted, where, and who counts as dormant.

    ``enabled``: whether it is posted at all. ``weekday`` and ``hour_utc``: when (the digest of
    the ISO week that just ended). ``repository``: where its issue opens (None: the repository
    itself). ``dormant_after_days``: a person with write access or more who did nothing in the
    repository for this long is listed as a dormant privileged account.

    >>> DigestPolicy().weekday_number, DigestPolicy(weekday="sunday").weekday_number
    (0, 6)
    """

    enabled: bool = True
    weekday: str = "monday"
    hour_utc: int = 6
    repository: str | None = None
    dormant_after_days: int = 365

    @property
    def weekday_number(self) -> int:
        """Monday is 0, as :meth:`datetime.weekday` counts."""
        return WEEKDAYS.index(self.weekday)


DEFAULT_DIGEST: Final = DigestPolicy()
"""The ``digest`` policy when no layer sets any of its keys."""


@dataclass(frozen=True)
class Policy:
    """The effective policy for one repository. ``sources`` names the layers that applied."""

    branches: tuple[str, ...] | None
    review: Requirement
    rules: tuple[Requirement, ...]
    audit_repository: str | None
    audit_labels: tuple[str, ...]
    pre_merge: PreMerge
    backports: BackportPolicy = DEFAULT_BACKPORTS
    release: ReleasePolicy = DEFAULT_RELEASE
    digest: DigestPolicy = DEFAULT_DIGEST
    errors: tuple[PolicyError, ...] = ()
    sources: tuple[str, ...] = ()

    def rule(self, name: str) -> Requirement | None:
        """The rule called ``name``, if any."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        return None

    @property
    def teams(self) -> tuple[str, ...]:
        """Every team slug the policy names, in order: what the gatherer must look up."""
        seen: dict[str, None] = {}
        for requirement in (self.review, *self.rules):
            for slug in requirement.teams:
                seen.setdefault(slug, None)
        return tuple(seen)


@dataclass(frozen=True)
class PolicySource:
    """One layer's text as read from ``path``; ``text`` is None when the file does not exist."""

    path: str
    text: str | None


# ---------------------------------------------------------------------------------------------
# Parsing one layer
# ---------------------------------------------------------------------------------------------


class _ReqKeys(TypedDict, total=False):
    paths: tuple[str, ...]
    binary: bool
    approvals: int
    merger_counts: bool
    fresh: bool
    allow_contributors: bool
    teams: tuple[str, ...]
    severity: Severity
    actions: tuple[str, ...]
    notify: tuple[str, ...]


class _BackportKeys(TypedDict, total=False):
    inherit_review: bool
    window_days: int
    title: TitlePattern
    labels: tuple[str, ...]


class _ReleaseKeys(TypedDict, total=False):
    tags: tuple[str, ...]
    generated: tuple[str, ...]
    pypi: str | None
    max_archive_mb: int


class _DigestKeys(TypedDict, total=False):
    enabled: bool
    weekday: str
    hour_utc: int
    repository: str | None
    dormant_after_days: int


_BUILTIN_REVIEW: Final[_ReqKeys] = {
    "approvals": 1,
    "merger_counts": True,
    "fresh": False,
    "allow_contributors": False,
    "teams": (),
    "severity": "low",
    "actions": ("check",),
    "notify": (),
}


@dataclass
class _Rule:
    name: str
    line: int | None
    keys: _ReqKeys
    written: frozenset[str] = frozenset()  # the keys the file sets, valid or not


@dataclass
class _Layer:
    source: str
    branches_set: bool = False
    branches: tuple[str, ...] | None = None
    pre_merge: PreMerge | None = None
    review: _ReqKeys = field(default_factory=lambda: _ReqKeys())
    rules: list[_Rule] = field(default_factory=list)
    audit_repository_set: bool = False
    audit_repository: str | None = None
    audit_labels: tuple[str, ...] | None = None
    backports: _BackportKeys = field(default_factory=lambda: _BackportKeys())
    release: _ReleaseKeys = field(default_factory=lambda: _ReleaseKeys())
    digest: _DigestKeys = field(default_factory=lambda: _DigestKeys())


class _Invalid(Exception):
    """A value is wrong; raised by the validators, caught and recorded by the parser."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


_T = TypeVar("_T")


def _line(node: Node | None) -> int | None:
    if node is None or node.start_mark is None:
        return None
    return int(node.start_mark.line) + 1


def _describe(node: Node) -> str:
    """Say what a node is, for error messages: "a string 'x'", "a list", ..."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if not isinstance(node, ScalarNode):  # pragma: no cover - compose yields only these
        return "a value"
    text = str(node.value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    if node.tag == _NULL:
        return "nothing (null)"
    if node.tag == _BOOL:
        return f"a boolean ({shown})"
    if node.tag == _INT:
        return f"an integer ({shown})"
    if node.tag == _FLOAT:
        return f"a number ({shown})"
    if node.tag == _STR:
        return f"a string {shown!r}"
    return f"a value tagged {node.tag}"


def _suggest(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _text(node: Node, what: str) -> str:
    """A scalar as the text that was written: ``3.10`` stays "3.10", ``off`` stays "off"."""
    if not isinstance(node, ScalarNode) or node.tag not in _SCALAR_AS_TEXT:
        raise _Invalid(node, f"{what} must be a string, got {_describe(node)}")
    value = str(node.value)
    if not value.strip():
        raise _Invalid(node, f"{what} must not be empty")
    if any(ord(ch) < 32 for ch in value):
        raise _Invalid(node, f"{what} must not contain control characters")
    return value


def _bool(node: Node, what: str) -> bool:
    if not isinstance(node, ScalarNode) or node.tag != _BOOL:
        raise _Invalid(node, f"{what} must be true or false, got {_describe(node)}")
    return bool(SafeConstructor.bool_values[str(node.value).lower()])


def _approvals(node: Node, what: str) -> int:
    if isinstance(node, ScalarNode) and node.tag == _INT:
        value = SafeConstructor().construct_yaml_int(node)
        if value >= 0:
            return value
        raise _Invalid(node, f"{what} must be a non-negative integer, got {node.value}")
    raise _Invalid(node, f"{what} must be a non-negative integer, got {_describe(node)}")


def _window_days(node: Node, what: str) -> int:
    if isinstance(node, ScalarNode) and node.tag == _INT:
        value = SafeConstructor().construct_yaml_int(node)
        if value > MAX_BACKPORT_WINDOW_DAYS:
            raise _Invalid(
                node, f"{what} must be at most {MAX_BACKPORT_WINDOW_DAYS} days, got {node.value}"
            )
        if value > 0:
            return value
        raise _Invalid(node, f"{what} must be a positive integer (days), got {node.value}")
    raise _Invalid(node, f"{what} must be a positive integer (days), got {_describe(node)}")


def _max_archive_mb(node: Node, what: str) -> int:
    if isinstance(node, ScalarNode) and node.tag == _INT:
        value = SafeConstructor().construct_yaml_int(node)
        if value > MAX_ARCHIVE_MB:
            raise _Invalid(node, f"{what} must be at most {MAX_ARCHIVE_MB} (MiB), got {node.value}")
        if value > 0:
            return value
        raise _Invalid(node, f"{what} must be a positive integer (MiB), got {node.value}")
    raise _Invalid(node, f"{what} must be a positive integer (MiB), got {_describe(node)}")


def _weekday(node: Node, what: str) -> str:
    text = _text(node, what)
    if text not in WEEKDAYS:
        raise _Invalid(node, f"{what} must be one of {', '.join(WEEKDAYS)}, got {text!r}")
    return text


def _hour(node: Node, what: str) -> int:
    if isinstance(node, ScalarNode) and node.tag == _INT:
        value = SafeConstructor().construct_yaml_int(node)
        if 0 <= value <= 23:
            return value
    raise _Invalid(node, f"{what} must be an hour from 0 to 23, got {_describe(node)}")


def _dormant_days(node: Node, what: str) -> int:
    if isinstance(node, ScalarNode) and node.tag == _INT:
        value = SafeConstructor().construct_yaml_int(node)
        if 0 < value <= MAX_DORMANT_DAYS:
            return value
    raise _Invalid(
        node, f"{what} must be a number of days from 1 to {MAX_DORMANT_DAYS}, got {_describe(node)}"
    )


def _tag_glob(node: Node, what: str) -> str:
    text = _text(node, what)
    if len(text) > MAX_PATTERN_CHARS:
        raise _Invalid(node, f"{what} is longer than {MAX_PATTERN_CHARS} characters")
    if text.startswith("refs/"):
        bare = text.removeprefix("refs/tags/")
        raise _Invalid(
            node, f"{what} {text!r} must name tags without 'refs/tags/' (write {bare!r})"
        )
    forbidden = sorted(_TAG_GLOB_FORBIDDEN.intersection(text))
    if forbidden:
        raise _Invalid(
            node, f"{what} {text!r} can match no tag: git forbids {forbidden[0]!r} in tag names"
        )
    return text


def _pypi_name(node: Node, what: str) -> str:
    text = _text(node, what)
    if len(text) > _MAX_PYPI_NAME or _PYPI_NAME.fullmatch(text) is None:
        shown = f" {text!r}" if len(text) <= 80 else ""
        raise _Invalid(
            node,
            f"{what}{shown} is not a PyPI project name: letters, digits, '.', '_' and '-',"
            " starting and ending with a letter or digit",
        )
    return text


def _title(node: Node, what: str) -> TitlePattern:
    text = _text(node, what)
    title, error = compile_title(text)
    if title is None:
        shown = "" if len(text) > MAX_TITLE_PATTERN_CHARS else f" {text!r}"
        raise _Invalid(node, f"{what}{shown} {error}")
    return title


def _choice(choices: Sequence[_T]) -> Callable[[Node, str], _T]:
    def validate(node: Node, what: str) -> _T:
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_AS_TEXT:
            for choice in choices:
                if str(node.value) == choice:
                    return choice
        allowed = ", ".join(str(choice) for choice in choices)
        raise _Invalid(node, f"{what} must be one of {allowed}; got {_describe(node)}")

    return validate


def _items(node: Node, what: str, *, allow_empty: bool = True) -> list[Node]:
    if isinstance(node, ScalarNode) and node.tag == _STR:
        raise _Invalid(
            node, f"{what} must be a list, got {_describe(node)} (write [{node.value!r}])"
        )
    if not isinstance(node, SequenceNode):
        raise _Invalid(node, f"{what} must be a list, got {_describe(node)}")
    items = list(node.value)
    if not items and not allow_empty:
        raise _Invalid(node, f"{what} must not be empty")
    return items


class _Parser:
    """Validates one layer's node tree, recording every problem with its line."""

    def __init__(self, source: str, loader: yaml.SafeLoader) -> None:
        self.source = source
        self.loader = loader
        self.errors: list[PolicyError] = []
        self.patterns = 0  # path patterns seen so far, over all rules

    def error(self, node: Node | None, message: str) -> None:
        self.errors.append(PolicyError(self.source, _line(node), message))

    def value(self, validate: Callable[[Node, str], _T], node: Node, what: str) -> _T | None:
        try:
            return validate(node, what)
        except _Invalid as exc:
            self.error(exc.node, exc.message)
            return None

    def mapping(self, node: Node, what: str, known: Sequence[str]) -> list[tuple[str, Node]]:
        """The key/value pairs of a mapping, flagging unknown, duplicate and non-string keys."""
        if _is_null(node):
            return []
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping, got {_describe(node)}")
            return []
        first: dict[str, int | None] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _STR:
                key = str(key_node.value)
                if key in first:
                    where = f" (first at line {first[key]})" if first[key] else ""
                    self.error(key_node, f"duplicate key '{key}' in {what}{where}")
                else:
                    first[key] = _line(key_node)
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else _line(node)
            self.errors.append(PolicyError(self.source, line, f"invalid merge key: {exc.problem}"))
            return []
        pairs: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
                self.error(key_node, f"keys in {what} must be strings, got {_describe(key_node)}")
                continue
            key = str(key_node.value)
            if key not in known:
                self.error(key_node, f"unknown key '{key}' in {what}{_suggest(key, known)}")
                continue
            pairs[key] = (key_node, value_node)
        return [(key, value_node) for key, (_, value_node) in pairs.items()]

    def strings(
        self,
        node: Node,
        what: str,
        check: Callable[[Node, str], str] = _text,
        *,
        allow_empty: bool = True,
    ) -> tuple[str, ...] | None:
        items = self.value(lambda n, w: _items(n, w, allow_empty=allow_empty), node, what)
        if items is None:
            return None
        values: list[str] = []
        ok = True
        for index, item in enumerate(items):
            value = self.value(check, item, f"{what}[{index}]")
            if value is None:
                ok = False
            elif value not in values:
                values.append(value)
        return tuple(values) if ok else None

    def requirement_keys(self, pairs: list[tuple[str, Node]], prefix: str, keys: _ReqKeys) -> None:
        """Validate the keys a requirement may set (shared by ``review`` and rules)."""
        for key, node in pairs:
            what = f"{prefix}.{key}"
            if key == "approvals":
                approvals = self.value(_approvals, node, what)
                if approvals is not None:
                    keys["approvals"] = approvals
            elif key in ("merger_counts", "fresh", "allow_contributors", "binary"):
                flag = self.value(_bool, node, what)
                if flag is not None:
                    keys[key] = flag  # type: ignore[literal-required]
            elif key == "severity":
                severity = self.value(_choice(SEVERITIES), node, what)
                if severity is not None:
                    keys["severity"] = severity
            elif key == "actions":
                actions = self.strings(node, what, _action)
                if actions is not None:
                    keys["actions"] = normalise_actions(actions)
            elif key == "teams":
                teams = self.strings(node, what, _team)
                if teams is not None:
                    keys["teams"] = teams
            elif key == "notify":
                notify = self.strings(node, what, _notify)
                if notify is not None:
                    keys["notify"] = notify
            elif key == "paths":
                paths = self.strings(node, what, _pattern, allow_empty=False)
                if paths is not None:
                    keys["paths"] = paths
                    before, self.patterns = self.patterns, self.patterns + len(paths)
                    if before <= MAX_PATTERNS < self.patterns:
                        self.error(
                            node,
                            f"{what}: too many path patterns (at most {MAX_PATTERNS} in a file)",
                        )

    def layer(self, root: Node | None) -> _Layer:
        layer = _Layer(self.source)
        if root is None:  # an empty file (or only comments): valid, sets nothing
            return layer
        if not isinstance(root, MappingNode):
            self.error(root, f"the policy must be a mapping of keys, got {_describe(root)}")
            return layer
        for key, node in self.mapping(root, "the policy", TOP_LEVEL_KEYS):
            if key == "branches":
                layer.branches_set = True
                if not _is_null(node):
                    layer.branches = self.strings(node, "branches", allow_empty=False)
            elif key == "pre_merge":
                layer.pre_merge = self.value(_choice(PRE_MERGE_MODES), node, "pre_merge")
            elif key == "review":
                pairs = self.mapping(node, "review", REVIEW_KEYS)
                self.requirement_keys(pairs, "review", layer.review)
            elif key == "rules":
                self.rules(node, layer)
            elif key == "audit":
                for audit_key, value in self.mapping(node, "audit", AUDIT_KEYS):
                    if audit_key == "repository":
                        layer.audit_repository_set = True
                        if not _is_null(value):
                            layer.audit_repository = self.value(
                                _repository, value, "audit.repository"
                            )
                    else:
                        layer.audit_labels = self.strings(value, "audit.labels", _label)
            elif key == "backports":
                self.backports(node, layer.backports)
            elif key == "release":
                self.release(node, layer.release)
            elif key == "digest":
                self.digest(node, layer.digest)
        return layer

    def digest(self, node: Node, keys: _DigestKeys) -> None:
        for key, value in self.mapping(node, "digest", DIGEST_KEYS):
            what = f"digest.{key}"
            if key == "enabled":
                enabled = self.value(_bool, value, what)
                if enabled is not None:
                    keys["enabled"] = enabled
            elif key == "weekday":
                weekday = self.value(_weekday, value, what)
                if weekday is not None:
                    keys["weekday"] = weekday
            elif key == "hour_utc":
                hour = self.value(_hour, value, what)
                if hour is not None:
                    keys["hour_utc"] = hour
            elif key == "repository":
                if _is_null(value):
                    keys["repository"] = None
                else:
                    repository = self.value(_repository, value, what)
                    if repository is not None:
                        keys["repository"] = repository
            else:
                days = self.value(_dormant_days, value, what)
                if days is not None:
                    keys["dormant_after_days"] = days

    def release(self, node: Node, keys: _ReleaseKeys) -> None:
        for key, value in self.mapping(node, "release", RELEASE_KEYS):
            what = f"release.{key}"
            if key == "tags":
                tags = self.strings(value, what, _tag_glob, allow_empty=False)
                if tags is not None and len(tags) > MAX_TAG_GLOBS:
                    self.error(value, f"{what}: too many globs (at most {MAX_TAG_GLOBS})")
                elif tags is not None:
                    keys["tags"] = tags
            elif key == "generated":
                generated = self.strings(value, what, _pattern)
                if generated is not None:
                    keys["generated"] = generated
                    before, self.patterns = self.patterns, self.patterns + len(generated)
                    if before <= MAX_PATTERNS < self.patterns:
                        self.error(
                            value,
                            f"{what}: too many path patterns (at most {MAX_PATTERNS} in a file)",
                        )
            elif key == "pypi":
                if _is_null(value):
                    keys["pypi"] = None
                else:
                    name = self.value(_pypi_name, value, what)
                    if name is not None:
                        keys["pypi"] = name
            else:
                megabytes = self.value(_max_archive_mb, value, what)
                if megabytes is not None:
                    keys["max_archive_mb"] = megabytes

    def backports(self, node: Node, keys: _BackportKeys) -> None:
        for key, value in self.mapping(node, "backports", BACKPORT_KEYS):
            what = f"backports.{key}"
            if key == "inherit_review":
                inherit = self.value(_bool, value, what)
                if inherit is not None:
                    keys["inherit_review"] = inherit
            elif key == "window_days":
                days = self.value(_window_days, value, what)
                if days is not None:
                    keys["window_days"] = days
            elif key == "title":
                title = self.value(_title, value, what)
                if title is not None:
                    keys["title"] = title
            else:
                labels = self.strings(value, what, _label)
                if labels is not None:
                    keys["labels"] = labels

    def rules(self, node: Node, layer: _Layer) -> None:
        if _is_null(node):
            return
        items = self.value(_items, node, "rules")
        if items is None:
            return
        seen: dict[str, int | None] = {}
        for index, item in enumerate(items):
            if not isinstance(item, MappingNode):
                self.error(item, f"rules[{index}] must be a mapping, got {_describe(item)}")
                continue
            pairs = self.mapping(item, f"rules[{index}]", RULE_KEYS)
            name_node = next((value for key, value in pairs if key == "name"), None)
            if name_node is None:
                self.error(item, f"rules[{index}] has no name")
                continue
            name = self.value(_rule_name, name_node, f"rules[{index}].name")
            if name is None:
                continue
            if name in seen:
                where = f" (first at line {seen[name]})" if seen[name] else ""
                self.error(name_node, f"duplicate rule name '{name}'{where}")
                continue
            seen[name] = _line(name_node)
            keys = _ReqKeys()
            self.requirement_keys([p for p in pairs if p[0] != "name"], f"rules[{name}]", keys)
            written = frozenset(key for key, _ in pairs)
            layer.rules.append(_Rule(name, _line(item), keys, written))


def _action(node: Node, what: str) -> str:
    return _choice(ACTIONS)(node, what)


def normalise_actions(actions: Iterable[str]) -> tuple[str, ...]:
    """Known actions in canonical order, ``check`` always included."""
    wanted = {*actions, "check"}
    return tuple(action for action in ACTIONS if action in wanted)


def _team(node: Node, what: str) -> str:
    text = _text(node, what)
    match = _TEAM.fullmatch(text)
    if match is None or (text.startswith("@") and match.group("org") is None):
        raise _Invalid(
            node, f"{what} {text!r} is not a team: write 'slug', 'org/slug' or '@org/slug'"
        )
    return match.group("slug").lower()


def _notify(node: Node, what: str) -> str:
    text = _text(node, what)
    if NOTIFY_PATTERN.fullmatch(text) is None:
        raise _Invalid(node, f"{what} {text!r} must be '@user' or '@org/team'")
    return text


def _pattern(node: Node, what: str) -> str:
    text = _text(node, what)
    if len(text) > MAX_PATTERN_CHARS:
        raise _Invalid(node, f"{what} is longer than {MAX_PATTERN_CHARS} characters")
    try:
        translated = pattern_regexes(text)
    except PatternError as exc:
        raise _Invalid(node, f"{what} {text!r} {exc}") from None
    if translated is None:
        raise _Invalid(node, f"{what} {text!r} matches nothing (a comment or an empty pattern?)")
    return text


def _rule_name(node: Node, what: str) -> str:
    text = _text(node, what)
    if _RULE_NAME.fullmatch(text) is None:
        raise _Invalid(
            node,
            f"{what} {text!r} must start with a letter or digit and use only letters, digits,"
            " spaces, '.', '_' and '-' (at most 64 characters)",
        )
    if text in RESERVED_NAMES:
        raise _Invalid(node, f"{what} {text!r} is reserved")
    return text


def _repository(node: Node, what: str) -> str:
    text = _text(node, what)
    if _REPOSITORY.fullmatch(text) is None:
        raise _Invalid(node, f"{what} {text!r} must be 'owner/name'")
    return text


def _label(node: Node, what: str) -> str:
    text = _text(node, what)
    if len(text) > _MAX_LABEL:
        raise _Invalid(node, f"{what} is longer than {_MAX_LABEL} characters")
    return text


def _parse(source: PolicySource) -> tuple[_Layer | None, list[PolicyError]]:
    text = source.text or ""
    if len(text) > MAX_POLICY_CHARS:
        return None, [
            PolicyError(source.path, None, f"file is larger than {MAX_POLICY_CHARS} characters")
        ]
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        return None, [PolicyError(source.path, None, f"invalid YAML: {exc}")]
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else None
            problem = exc.problem or exc.context or "cannot parse"
            if exc.context and exc.problem:
                problem = f"{problem} ({exc.context})"
            return None, [PolicyError(source.path, line, f"invalid YAML: {problem}")]
        except yaml.YAMLError as exc:
            message = str(exc).splitlines()[0] if str(exc) else "cannot parse"
            return None, [PolicyError(source.path, None, f"invalid YAML: {message}")]
        except RecursionError:
            return None, [PolicyError(source.path, None, "invalid YAML: nested too deeply")]
        parser = _Parser(source.path, loader)
        try:
            layer = parser.layer(root)
        except RecursionError:
            return None, [PolicyError(source.path, None, "nested too deeply to be a policy")]
        return layer, parser.errors
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------
# Layering
# ---------------------------------------------------------------------------------------------


@dataclass
class _Merged:
    branches: tuple[str, ...] | None = None
    pre_merge: PreMerge = "inform"
    review: _ReqKeys = field(default_factory=lambda: _ReqKeys())
    rules: dict[str, _ReqKeys] = field(default_factory=dict)
    audit_repository: str | None = None
    audit_labels: tuple[str, ...] = ()
    backports: _BackportKeys = field(default_factory=lambda: _BackportKeys())
    release: _ReleaseKeys = field(default_factory=lambda: _ReleaseKeys())
    digest: _DigestKeys = field(default_factory=lambda: _DigestKeys())

    def conflicts(self, layer: _Layer) -> list[PolicyError]:
        """Errors that only show against the layers below: a rule that would match nothing."""
        errors = []
        for rule in layer.rules:
            if any(key in rule.written and key not in rule.keys for key in ("paths", "binary")):
                continue  # already reported as invalid
            merged: _ReqKeys = {**self.rules.get(rule.name, _ReqKeys()), **rule.keys}
            if not merged.get("paths") and not merged.get("binary"):
                if rule.name in self.rules:
                    message = f"rule '{rule.name}' would match no file: give it paths or binary"
                else:
                    message = f"rule '{rule.name}' needs paths or binary: true"
                errors.append(PolicyError(layer.source, rule.line, message))
        return errors

    def apply(self, layer: _Layer) -> None:
        if layer.branches_set:
            self.branches = layer.branches
        if layer.pre_merge is not None:
            self.pre_merge = layer.pre_merge
        self.review.update(layer.review)
        for rule in layer.rules:
            self.rules[rule.name] = {**self.rules.get(rule.name, _ReqKeys()), **rule.keys}
        if layer.audit_repository_set:
            self.audit_repository = layer.audit_repository
        if layer.audit_labels is not None:
            self.audit_labels = layer.audit_labels
        self.backports.update(layer.backports)
        self.release.update(layer.release)
        self.digest.update(layer.digest)


def _requirement(name: str, keys: _ReqKeys) -> Requirement:
    return Requirement(
        name=name,
        paths=keys.get("paths", ()),
        binary=keys.get("binary", False),
        approvals=keys.get("approvals", 1),
        merger_counts=keys.get("merger_counts", True),
        fresh=keys.get("fresh", False),
        allow_contributors=keys.get("allow_contributors", False),
        teams=keys.get("teams", ()),
        severity=keys.get("severity", "low"),
        actions=normalise_actions(keys.get("actions", ())),
        notify=keys.get("notify", ()),
    )


def with_default_branch(policy: Policy, default_branch: str) -> Policy:
    """``policy`` with an error when its ``branches`` leave out the repository's default branch.

    The default branch is always audited, whatever ``branches`` says (see
    :func:`bot.judge.is_audited_branch`); a list that leaves it out is reported, not obeyed.
    """
    if policy.branches is None or any(
        fnmatch.fnmatchcase(default_branch, glob) for glob in policy.branches
    ):
        return policy
    error = PolicyError(
        policy.sources[-1] if policy.sources else "policy",
        None,
        f"branches leaves out the default branch {default_branch!r}: it is audited all the same",
    )
    return dataclasses.replace(policy, errors=(*policy.errors, error))


def load_policy(layers: Sequence[PolicySource]) -> Policy:
    """Validate and layer policy files, lowest first: [shipped default, organisation, repository].

    An absent layer (``text`` None) is skipped silently; a layer with any error is skipped with
    its errors kept in :attr:`Policy.errors`.
    """
    merged = _Merged()
    errors: list[PolicyError] = []
    sources: list[str] = []
    for source in layers:
        if source.text is None:
            continue
        layer, layer_errors = _parse(source)
        if layer is not None:
            layer_errors.extend(merged.conflicts(layer))
        if layer is None or layer_errors:
            errors.extend(sorted(layer_errors, key=lambda error: error.line or 0))
            continue
        merged.apply(layer)
        sources.append(source.path)
    review_keys: _ReqKeys = {**_BUILTIN_REVIEW, **merged.review}
    rules = tuple(
        _requirement(name, {**review_keys, **keys}) for name, keys in merged.rules.items()
    )
    return Policy(
        branches=merged.branches,
        review=_requirement(BASE_REQUIREMENT, review_keys),
        rules=rules,
        audit_repository=merged.audit_repository,
        audit_labels=merged.audit_labels,
        pre_merge=merged.pre_merge,
        backports=dataclasses.replace(DEFAULT_BACKPORTS, **merged.backports),
        release=dataclasses.replace(DEFAULT_RELEASE, **merged.release),
        digest=dataclasses.replace(DEFAULT_DIGEST, **merged.digest),
        errors=tuple(errors),
        sources=tuple(sources),
    )


def shipped_file(name: str) -> str:
    """A file countersign ships in ``config/``: the repository's copy where there is one, else
    the one installed as package data (``bot.config``). FileNotFoundError where neither is."""
    path = CONFIG_DIR / name
    if path.is_file():
        return path.read_text(encoding="utf-8")
    try:
        return (resources.files(CONFIG_PACKAGE) / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, NotADirectoryError) as exc:
        raise FileNotFoundError(
            f"{name} is neither in {CONFIG_DIR} nor in {CONFIG_PACKAGE}"
        ) from exc


def shipped_default() -> PolicySource:
    """The policy shipped with countersign (``config/default.yml``), the lowest layer."""
    return PolicySource(SHIPPED_DEFAULT_SOURCE, shipped_file("default.yml"))


def default_policy() -> Policy:
    """The policy of a repository and organisation that have no policy file of their own."""
    return load_policy([shipped_default()])


def check_config(path: str) -> list[PolicyError]:
    """Validate one policy file offline, as it would be layered over the shipped default.

    (Rules that only override keys of a shipped rule are therefore valid.) Returns every error;
    an empty list means the file is valid.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [PolicyError(path, None, "not UTF-8 text")]
    except OSError as exc:
        return [PolicyError(path, None, f"cannot read the file: {exc.strerror or exc}")]
    target = PolicySource(path, text)
    if Path(path).resolve() == SHIPPED_DEFAULT_PATH:
        return list(load_policy([target]).errors)
    return list(load_policy([shipped_default(), target]).errors)


def is_audited_branch(
    branch: str, policy: Policy, default_branch: str, protected_branches: Iterable[str]
) -> bool:
    """Whether changes to ``branch`` are audited.

    The default branch always is. With ``branches`` in the policy: when a glob matches (``3.*``
    matches ``3.12``); otherwise every protected branch. ``protected_branches`` may hold branch names or
    branch-protection rule patterns (``3.*``): git forbids ``*``, ``?`` and ``[`` in branch names,
    so a name only ever matches itself. Pass the patterns to audit the deletion of a protected
    branch, which is no longer listed among the protected branches. Tags are never audited.
    """
    if branch.startswith("refs/tags/"):
        return False
    branch = branch.removeprefix("refs/heads/")
    if branch == default_branch:
        return True  # always, whatever ``branches`` says
    if policy.branches is not None:
        return any(fnmatch.fnmatchcase(branch, glob) for glob in policy.branches)
    return any(fnmatch.fnmatchcase(branch, pattern) for pattern in protected_branches)
