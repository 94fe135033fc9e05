"""The JSON Schema of the policy file, ``config/countersign.schema.json``, and checking a policy
text against it with the line of each problem.

The schema is what editors use to complete and check ``.github/countersign.yml`` (through a
``# yaml-language-server: $schema=...`` line); :mod:`bot.core.policy` stays the authority on what
is valid, and ``tests/test_policy_schema.py`` keeps the two in step (the same keys, the same
defaults, the same limits). The schema is found in the repository's ``config/`` folder (a
checkout, an editable install) or, in an installed package, in the package data ``bot.config``
(``config/`` shipped by ``pyproject.toml``).

YAML is read as :mod:`bot.core.policy` reads it (YAML 1.1, PyYAML's safe loader): where the schema
expects a string, a scalar the policy reads as text (``off``, ``3.10``, ``yes``) is checked as the
text that was written, as the parser does, not as the boolean or number YAML 1.1 makes of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import yaml
from jsonschema import Draft7Validator, ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.policy import (  # the YAML tags the parser reads
    _BOOL,
    _FLOAT,
    _INT,
    _NULL,
    _SCALAR_AS_TEXT,
    CONFIG_DIR,
    CONFIG_PACKAGE,
    MAX_POLICY_CHARS,
    PolicyError,
    PolicySource,
    shipped_file,
)

SCHEMA_FILE: Final = "countersign.schema.json"
REPOSITORY_SCHEMA_PATH: Final = CONFIG_DIR / SCHEMA_FILE
"""The schema in a checkout (also what an editable install uses)."""
SCHEMA_PACKAGE: Final = CONFIG_PACKAGE

MAX_VALUES: Final = 200_000
"""The most values a document may expand to (YAML aliases repeat what they name) to be checked."""


_TYPE_NAMES: Final = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}

Location = tuple[str | int, ...]


class SchemaUnavailable(RuntimeError):
    """The schema file is neither in the repository's ``config/`` nor in the package data."""


def schema_text() -> str:
    """The schema's JSON text: the repository's ``config/`` copy where there is one (a checkout or
    an editable install), else the one installed as package data."""
    try:
        return shipped_file(SCHEMA_FILE)
    except FileNotFoundError as exc:
        raise SchemaUnavailable(
            f"{SCHEMA_FILE} is neither at {REPOSITORY_SCHEMA_PATH} nor in the package data"
            f" {SCHEMA_PACKAGE}"
        ) from exc


def load_schema() -> dict[str, Any]:
    """The schema as a new dictionary (the caller may change it)."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    schema = load_schema()
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@dataclass(frozen=True)
class SchemaProblem:
    """One place where a policy text breaks the schema.

    ``first_line`` and ``last_line`` (1-based, inclusive) are the lines of the key and value the
    problem is about, None where none applies.
    """

    first_line: int | None
    last_line: int | None
    message: str

    def covers(self, line: int | None) -> bool:
        """Whether ``line`` is among the lines this problem is about."""
        if line is None or self.first_line is None or self.last_line is None:
            return False
        return self.first_line <= line <= self.last_line

    def error(self, source: str) -> PolicyError:
        """The problem as a :class:`PolicyError` of ``source`` (``file:line: schema: ...``)."""
        return PolicyError(source, self.first_line, f"schema: {self.message}")


def schema_problems(text: str) -> list[SchemaProblem]:
    """Every place where ``text`` (a policy file) breaks the schema, by line.

    A text that is not YAML, or too large, has none here: :mod:`bot.core.policy` reports those.
    An empty file is an empty mapping (valid: it sets nothing).
    """
    if len(text) > MAX_POLICY_CHARS:
        return []
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError:
        return []
    try:
        try:
            root = loader.get_single_node()
        except (yaml.YAMLError, RecursionError):
            return []  # the parser reports it
        validator = _validator()
        schema = validator.schema if isinstance(validator.schema, dict) else {}
        reader = _Reader(loader)
        try:
            instance = {} if root is None else reader.value(root, schema, (), None)
        except RecursionError:
            return []  # nested too deeply: the parser reports it
        except _TooLarge:
            return [
                SchemaProblem(
                    None,
                    None,
                    f"the file expands (through YAML aliases) to more than {MAX_VALUES} values:"
                    " not checked against the schema",
                )
            ]
        try:
            problems = [
                problem
                for error in validator.iter_errors(instance)
                for problem in _problems(error, instance, reader.places)
            ]
        except RecursionError:
            return []
    finally:
        loader.dispose()
    return sorted(problems, key=lambda problem: problem.first_line or 0)


def schema_errors(source: PolicySource, known: Iterable[PolicyError] = ()) -> list[PolicyError]:
    """The schema's problems with ``source`` as errors, leaving out those about lines where
    ``known`` (the errors :mod:`bot.core.policy` found in the same file) already has one: each
    problem is reported once, by the parser where it sees it."""
    if source.text is None:
        return []
    lines = [error.line for error in known if error.source == source.path]
    return [
        problem.error(source.path)
        for problem in schema_problems(source.text)
        if not any(problem.covers(line) for line in lines)
    ]


# ---------------------------------------------------------------------------------------------
# Reading the YAML nodes as the schema's instance
# ---------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


def _types(schema: Mapping[str, Any]) -> frozenset[str]:
    types = schema.get("type", ())
    return frozenset([types] if isinstance(types, str) else types)


class _Reader:
    """Turns YAML nodes into the JSON-like value the schema checks, guided by the schema.

    Only what the schema describes is read in depth (an unknown key's value, or a list where a
    string belongs, becomes an empty one: the key or the type is the problem), so the depth is
    the schema's and an alias that names its own ancestor cannot loop. ``places`` maps each
    location to its key node and value node, for lines.
    """

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.places: dict[Location, tuple[Node | None, Node]] = {}
        self.count = 0

    def value(
        self, node: Node, schema: Mapping[str, Any], where: Location, key: Node | None
    ) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooLarge
        self.places[where] = (key, node)
        types = _types(schema)
        if isinstance(node, MappingNode):
            return self.mapping(node, schema, where) if "object" in types else {}
        if isinstance(node, SequenceNode):
            if "array" not in types:
                return []
            items = schema.get("items", {})
            return [
                self.value(item, items, (*where, index), None)
                for index, item in enumerate(node.value)
            ]
        if isinstance(node, ScalarNode):
            return _scalar(node, "string" in types)
        return None  # pragma: no cover - compose yields only the three kinds above

    def mapping(self, node: MappingNode, schema: Mapping[str, Any], where: Location) -> Any:
        try:
            self.loader.flatten_mapping(node)  # merge keys, as the parser does
        except yaml.YAMLError:
            return {}  # the parser reports the bad merge key
        properties = schema.get("properties", {})
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue  # the parser reports keys that are not strings
            key = str(key_node.value)
            result[key] = self.value(value_node, properties.get(key, {}), (*where, key), key_node)
        return result


def _scalar(node: ScalarNode, text_wanted: bool) -> Any:
    value = str(node.value)
    if node.tag == _NULL:
        return None
    if text_wanted and node.tag in _SCALAR_AS_TEXT:
        return value
    if node.tag == _BOOL:
        return SafeConstructor.bool_values[value.lower()]
    if node.tag == _INT:
        return SafeConstructor().construct_yaml_int(node)
    if node.tag == _FLOAT:
        return SafeConstructor().construct_yaml_float(node)
    return value


# ---------------------------------------------------------------------------------------------
# Problems with lines and messages
# ---------------------------------------------------------------------------------------------


def _first_line(key: Node | None, value: Node) -> int | None:
    node = key if key is not None else value
    return int(node.start_mark.line) + 1 if node.start_mark is not None else None


def _last_line(node: Node) -> int | None:
    """The last line of ``node``'s text: a block collection ends where its last item does (its
    own end mark is already at the next token, which may be on a later line)."""
    seen: set[int] = set()
    while (
        isinstance(node, MappingNode | SequenceNode)
        and not node.flow_style
        and node.value
        and id(node) not in seen
    ):
        seen.add(id(node))
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    mark = node.end_mark if node.end_mark is not None else node.start_mark
    if mark is None:
        return None
    line = int(mark.line) + 1
    if mark.column == 0 and mark.line > 0 and node.start_mark is not None:
        line = max(int(node.start_mark.line) + 1, line - 1)  # ended with the line before
    return line


def _span(
    places: Mapping[Location, tuple[Node | None, Node]], where: Location
) -> tuple[int | None, int | None]:
    place = places.get(where)
    if place is None:
        return None, None
    key, value = place
    first = _first_line(key, value)
    last = _last_line(value)
    if first is not None and last is not None and last < first:
        last = first
    return first, last


def _where(instance: Any, where: Sequence[str | int]) -> str:
    """A location as the parser writes it: ``review.severity``, ``rules[build-system].paths[1]``."""
    if not where:
        return "the policy"
    text = ""
    value = instance
    for step in where:
        if isinstance(step, int):
            name = value[step].get("name") if isinstance(value[step], dict) else None
            shown = name if text == "rules" and isinstance(name, str) and name else step
            text += f"[{shown}]"
        else:
            text += f".{step}" if text else step
        value = value[step]
    return text


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string {_shown(value)!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a value"  # pragma: no cover - the reader makes only the kinds above


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _problems(
    error: ValidationError,
    instance: Any,
    places: Mapping[Location, tuple[Node | None, Node]],
) -> Iterator[SchemaProblem]:
    where: Location = tuple(error.absolute_path)
    what = _where(instance, where)
    value: Any = error.instance
    rule: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    first, last = _span(places, where)
    if error.validator == "additionalProperties" and isinstance(value, dict):
        known = schema.get("properties", {})
        for key in value:
            if key not in known:
                key_first, key_last = _span(places, (*where, key))
                yield SchemaProblem(key_first, key_last, f"unknown key '{key}' in {what}")
        return
    if error.validator == "required" and isinstance(value, dict):
        for key in rule:
            if key not in value:
                yield SchemaProblem(first, last, f"{what} has no {key}")
        return
    if error.validator == "type":
        expected = [rule] if isinstance(rule, str) else list(rule)
        names = " or ".join(_TYPE_NAMES.get(name, name) for name in expected)
        message = f"{what} must be {names}, got {_describe(value)}"
    elif error.validator == "enum":
        message = f"{what} must be one of {', '.join(map(str, rule))}; got {_describe(value)}"
    elif error.validator == "minimum":
        message = f"{what} must be at least {rule}, got {value}"
    elif error.validator == "maximum":
        message = f"{what} must be at most {rule}, got {value}"
    elif error.validator == "minItems":
        message = f"{what} must not be empty" if rule == 1 else f"{what} needs {rule} items"
    elif error.validator == "maxItems":
        message = f"{what} has {len(value)} items, at most {rule} are allowed"
    elif error.validator == "maxLength":
        message = f"{what} is longer than {rule} characters"
    elif error.validator == "pattern":
        hint = schema.get("patternErrorMessage") or f"does not match {rule}"
        message = f"{what} {_shown(str(value))!r}: {hint}"
    elif error.validator == "not" and isinstance(rule, dict) and "enum" in rule:
        message = f"{what} {_shown(str(value))!r} is reserved"
    else:
        message = f"{what}: {error.message}"
    yield SchemaProblem(first, last, message)
