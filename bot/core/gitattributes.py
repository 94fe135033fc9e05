"""Which files git treats as binary, as the repository's ``.gitattributes`` says. Pure.

A file is binary when its content has a NUL byte in its first 8,000 bytes (read by the gatherer
where GitHub gave no patch), or when ``.gitattributes`` leaves its ``diff`` attribute unset
(``binary``, ``-diff``, or a macro that expands to them). Patterns are matched with a linear-time
engine; a line git could not parse is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from bot.core.facts import FileFacts
from bot.core.policy import PatternError, RegexSet, pattern_regexes

_AttrValue = bool | str | None
_UNTOUCHED: Final = "\0untouched"


def _attr_tokens(
    tokens: Iterable[str], macros: dict[str, list[tuple[str, _AttrValue]]]
) -> list[tuple[str, _AttrValue]]:
    """Attribute assignments in order, macros (set ones only, as git does) expanded."""
    out: list[tuple[str, _AttrValue]] = []
    for token in tokens:
        if token.startswith("-"):
            out.append((token[1:], False))
        elif token.startswith("!"):
            out.append((token[1:], None))
        elif "=" in token:
            name, value = token.split("=", 1)
            out.append((name, value))
        else:
            out.append((token, True))
            out.extend(macros.get(token, ()))
    return out


def _split_attributes_line(line: str) -> tuple[str, list[str]]:
    if line.startswith('"'):
        pattern: list[str] = []
        index = 1
        while index < len(line) and line[index] != '"':
            if line[index] == "\\" and index + 1 < len(line):
                index += 1
            pattern.append(line[index])
            index += 1
        return "".join(pattern), line[index + 1 :].split()
    first, *rest = line.split()
    return first, rest


MAX_ATTRIBUTE_LINES: Final = 2000
"""How many ``.gitattributes`` lines that set ``diff`` are read; later ones are ignored."""


@dataclass(frozen=True)
class _DiffAttributes:
    """The ``.gitattributes`` lines that set ``diff``: each line's pattern, as an expression
    that matches a file it names (not a directory above it), and the line's final value."""

    values: tuple[_AttrValue, ...]
    patterns: RegexSet

    def value(self, path: str) -> _AttrValue:
        """``diff`` as the last line matching ``path`` leaves it (None when no line does)."""
        hits = self.patterns.search(path)
        return self.values[hits[-1]] if hits else None


@lru_cache(maxsize=64)
def _diff_attribute_lines(text: str) -> _DiffAttributes:
    """The lines of a ``.gitattributes`` that touch ``diff``, matched by RE2 (linear time).

    A line git could not parse either (an invalid pattern such as ``[z-a]``), or whose pattern
    is longer than ``MAX_PATTERN_CHARS``, is skipped; so is every line after the first
    ``MAX_ATTRIBUTE_LINES`` that set ``diff``.
    """
    macros: dict[str, list[tuple[str, _AttrValue]]] = {
        "binary": [("diff", False), ("merge", False), ("text", False)]
    }
    regexes: list[str] = []
    values: list[_AttrValue] = []
    for raw in text.splitlines():
        if len(values) >= MAX_ATTRIBUTE_LINES:
            break
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[attr]"):
            name, *tokens = line[len("[attr]") :].split() or [""]
            if name:
                macros[name] = _attr_tokens(tokens, macros)
            continue
        pattern, tokens = _split_attributes_line(line)
        if not pattern or pattern.startswith("!"):  # negative patterns are forbidden in git
            continue
        value: _AttrValue = _UNTOUCHED
        for name, assigned in _attr_tokens(tokens, macros):
            if name == "diff":
                value = assigned
        if value == _UNTOUCHED:
            continue
        try:
            translated = pattern_regexes(pattern)
        except PatternError:
            continue  # git ignores what it cannot parse
        # gitattributes patterns follow gitignore's, except that a pattern matching a
        # directory does not match the files inside it: only the file form counts.
        if translated is None or not translated.include or translated.file is None:
            continue
        regexes.append(translated.file)
        values.append(value)
    return _DiffAttributes(tuple(values), RegexSet(regexes))


def is_binary(file: FileFacts, gitattributes_text: str | None) -> bool:
    """Whether git treats ``file`` as binary.

    True when its content has a NUL byte (``content_is_binary``), or when the base branch's
    ``.gitattributes`` leaves it with ``diff`` unset: by ``binary`` (a macro for ``-diff -merge
    -text``), ``-diff`` or a macro that expands to them. The last matching line wins; ``diff``,
    ``diff=driver`` and ``!diff`` undo it. A renamed file is checked under both paths.
    """
    if file.content_is_binary:
        return True
    if not gitattributes_text:
        return False
    attributes = _diff_attribute_lines(gitattributes_text)
    return any(
        path is not None and attributes.value(path) is False
        for path in (file.path, file.previous_path)
    )
