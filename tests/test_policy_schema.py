"""The JSON Schema of the policy file (``config/countersign.schema.json``) against the policy model.

The schema is written by hand; these tests keep it from drifting from :mod:`bot.core.policy`: the
same keys (taken from the parser's own constants and dataclasses), the same defaults (those of an
empty file layered over the shipped default, as the App sees it), the same enums, limits and
patterns, and documents both reject or both accept.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.core import policy as policy_module
from bot.core import schema as schema_module
from bot.core.backport import MAX_TITLE_PATTERN_CHARS, TitlePattern
from bot.core.policy import (
    ACTIONS,
    AUDIT_KEYS,
    BACKPORT_KEYS,
    DIGEST_KEYS,
    MAX_ARCHIVE_MB,
    MAX_BACKPORT_WINDOW_DAYS,
    MAX_PATTERN_CHARS,
    MAX_TAG_GLOBS,
    NOTIFY_PATTERN,
    PRE_MERGE_MODES,
    RELEASE_KEYS,
    REPO_POLICY_PATH,
    REQUIREMENT_KEYS,
    RESERVED_NAMES,
    REVIEW_KEYS,
    RULE_KEYS,
    SEVERITIES,
    SHIPPED_DEFAULT_PATH,
    TOP_LEVEL_KEYS,
    BackportPolicy,
    Policy,
    PolicyError,
    PolicySource,
    ReleasePolicy,
    Requirement,
    check_config,
    load_policy,
    shipped_default,
)
from bot.core.schema import (
    SchemaUnavailable,
    load_schema,
    schema_errors,
    schema_problems,
    schema_text,
)
from tests.policy_layers import yml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "config" / "countersign.schema.json"
README = ROOT / "README.md"
ITEMS = "[]"
"""In a location, the step into a list's items (``("rules", ITEMS, "name")``)."""

MAPPINGS: dict[tuple[str, ...], tuple[str, ...]] = {
    (): TOP_LEVEL_KEYS,
    ("review",): REVIEW_KEYS,
    ("rules", ITEMS): RULE_KEYS,
    ("audit",): AUDIT_KEYS,
    ("backports",): BACKPORT_KEYS,
    ("release",): RELEASE_KEYS,
    ("digest",): DIGEST_KEYS,
}
"""Every mapping of the policy file and the keys the parser accepts in it (its constants)."""


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def at(schema: dict[str, Any], *where: str) -> dict[str, Any]:
    """The subschema at a location: property names, and ITEMS for a list's items."""
    node = schema
    for step in where:
        node = node["items"] if step == ITEMS else node["properties"][step]
    return node


def keys(schema: dict[str, Any], where: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key the schema describes, at any depth."""
    for name, sub in schema.get("properties", {}).items():
        yield (*where, name)
        yield from keys(sub, (*where, name))
    if isinstance(schema.get("items"), dict):
        yield from keys(schema["items"], (*where, ITEMS))


def as_json(value: Any) -> Any:
    """A model value as the policy file (and the schema's defaults) write it."""
    if isinstance(value, tuple):
        return [as_json(item) for item in value]
    if isinstance(value, TitlePattern):
        return value.source
    return value


def written(policy: Policy) -> dict[str, Any]:
    """The effective policy in the policy file's own shape, key by key."""
    return {
        "branches": as_json(policy.branches),
        "pre_merge": policy.pre_merge,
        "review": {key: as_json(getattr(policy.review, key)) for key in REVIEW_KEYS},
        "rules": [{key: as_json(getattr(rule, key)) for key in RULE_KEYS} for rule in policy.rules],
        "audit": {key: as_json(getattr(policy, f"audit_{key}")) for key in AUDIT_KEYS},
        "backports": {key: as_json(getattr(policy.backports, key)) for key in BACKPORT_KEYS},
        "release": {key: as_json(getattr(policy.release, key)) for key in RELEASE_KEYS},
        "digest": {key: as_json(getattr(policy.digest, key)) for key in DIGEST_KEYS},
    }


def over_default(text: str, name: str = REPO_POLICY_PATH) -> Policy:
    return load_policy([shipped_default(), PolicySource(name, text)])


def parser_errors(text: str, tmp_path: Path) -> list[PolicyError]:
    path = tmp_path / "countersign.yml"
    path.write_text(text, encoding="utf-8")
    return check_config(str(path))


# --- the schema itself --------------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_07_schema_with_an_id_a_title_and_a_description(
    schema: dict[str, Any],
) -> None:
    Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["$id"] and schema["title"] and schema["description"]
    assert schema["type"] == "object"


def test_the_loader_reads_the_repository_copy(schema: dict[str, Any]) -> None:
    assert load_schema() == schema
    assert schema_text() == SCHEMA_PATH.read_text(encoding="utf-8")


def test_the_loader_falls_back_to_the_package_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed (non-editable) package has no config/ beside bot/: the schema and the
    shipped default policy come from the package data."""
    from bot.core import policy as policy_module

    package = tmp_path / "installed_config"
    package.mkdir()
    (package / "countersign.schema.json").write_text('{"title": "installed"}', encoding="utf-8")
    (package / "default.yml").write_text("review:\n  approvals: 3\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(policy_module, "CONFIG_DIR", tmp_path / "absent")
    monkeypatch.setattr(policy_module, "CONFIG_PACKAGE", "installed_config")
    assert load_schema() == {"title": "installed"}
    assert policy_module.default_policy().review.approvals == 3
    monkeypatch.setattr(policy_module, "CONFIG_PACKAGE", "no_such_package_here")
    with pytest.raises(SchemaUnavailable, match=r"countersign\.schema\.json"):
        schema_text()


def test_the_package_ships_the_schema_as_bot_config() -> None:
    """A wheel puts config/ at bot/config/, where the loader's fallback finds the schema."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    assert schema_module.SCHEMA_PACKAGE in setuptools["packages"]
    assert setuptools["package-dir"][schema_module.SCHEMA_PACKAGE] == "config"
    assert schema_module.SCHEMA_FILE in setuptools["package-data"][schema_module.SCHEMA_PACKAGE]
    assert schema_module.REPOSITORY_SCHEMA_PATH == SCHEMA_PATH
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("jsonschema") for dep in project["dependencies"])


# --- the same keys as the parser -------------------------------------------------------------


def test_the_key_constants_are_the_model_s_fields() -> None:
    """The constants the tests below compare the schema with are the model's own fields."""
    requirement = {field.name for field in dataclasses.fields(Requirement)}
    assert set(RULE_KEYS) <= requirement and set(REVIEW_KEYS) == set(REQUIREMENT_KEYS)
    assert set(RULE_KEYS) == {"name", "paths", "binary", *REQUIREMENT_KEYS}
    assert BACKPORT_KEYS == tuple(field.name for field in dataclasses.fields(BackportPolicy))
    assert RELEASE_KEYS == tuple(field.name for field in dataclasses.fields(ReleasePolicy))
    top = set()
    for field in dataclasses.fields(Policy):
        if field.name in ("errors", "sources"):
            continue
        if field.name.startswith("audit_"):
            assert field.name.removeprefix("audit_") in AUDIT_KEYS
            top.add("audit")
        else:
            top.add(field.name)
    assert top == set(TOP_LEVEL_KEYS)


@pytest.mark.parametrize("where", list(MAPPINGS), ids=lambda where: ".".join(where) or "top")
def test_each_mapping_has_exactly_the_keys_the_parser_accepts(
    schema: dict[str, Any], where: tuple[str, ...]
) -> None:
    mapping = at(schema, *where)
    assert list(mapping["properties"]) == list(MAPPINGS[where])
    assert mapping["additionalProperties"] is False  # the parser rejects unknown keys


def test_every_mapping_in_the_schema_is_one_the_parser_reads(schema: dict[str, Any]) -> None:
    mappings = {where[:-1] for where in keys(schema)}
    assert mappings == set(MAPPINGS)


@pytest.mark.parametrize("where", list(MAPPINGS), ids=lambda where: ".".join(where) or "top")
def test_the_parser_accepts_each_schema_key_and_rejects_others(
    schema: dict[str, Any], where: tuple[str, ...], tmp_path: Path
) -> None:
    """Not only the constants: the parser itself takes every key of the schema, and no other."""
    mapping = at(schema, *where)

    def document(body: dict[str, Any]) -> str:
        if where == ():
            return yaml.safe_dump(body)
        if where == ("rules", ITEMS):
            return yaml.safe_dump({"rules": [{"name": "x", "paths": ["docs/**"], **body}]})
        return yaml.safe_dump({where[0]: body})

    for key, sub in mapping["properties"].items():
        if key == "paths":
            value: Any = ["docs/**"]  # the default, none, is absent: a written list is not empty
        elif key == "name":
            value = "x"
        else:
            value = sub["default"]
        assert parser_errors(document({key: value}), tmp_path) == [], key
    errors = parser_errors(document({"no_such_key": 1}), tmp_path)
    assert ["unknown key 'no_such_key'" in error.message for error in errors] == [True]


# --- descriptions and defaults -------------------------------------------------------------------


def test_every_key_has_a_description_and_every_optional_key_a_default(
    schema: dict[str, Any],
) -> None:
    all_keys = list(keys(schema))
    assert len(all_keys) == sum(len(names) for names in MAPPINGS.values())
    for where in all_keys:
        sub = at(schema, *where)
        assert isinstance(sub.get("description"), str) and len(sub["description"]) > 20, where
        required = at(schema, *where[:-1]).get("required", [])
        assert ("default" in sub) != (where[-1] in required), where
    assert at(schema, "rules", ITEMS)["required"] == ["name"]


def test_the_defaults_are_what_an_empty_file_gets_over_the_shipped_default(
    schema: dict[str, Any],
) -> None:
    effective = over_default("")
    assert effective.errors == ()
    model = written(effective)
    for key in TOP_LEVEL_KEYS:
        assert at(schema, key)["default"] == model[key], key
    for where in MAPPINGS:
        if where and where[0] != "rules":
            for key in MAPPINGS[where]:
                assert at(schema, *where, key)["default"] == model[where[0]][key], (where, key)


def test_the_backports_and_release_defaults_are_the_model_s() -> None:
    effective = over_default("")
    assert effective.backports == BackportPolicy()
    assert effective.release == ReleasePolicy()


def test_the_default_of_each_rule_key_is_what_a_new_rule_gets(schema: dict[str, Any]) -> None:
    """A rule key left out takes the merged review's value; paths and binary the model's."""
    policy = over_default("rules:\n  - name: new\n    paths: [docs/**]\n")
    new = policy.rule("new")
    assert new is not None and policy.errors == ()
    for key in REQUIREMENT_KEYS:
        assert at(schema, "rules", ITEMS, key)["default"] == as_json(getattr(new, key)), key
        assert at(schema, "rules", ITEMS, key)["default"] == at(schema, "review", key)["default"]
    fields = {field.name: field.default for field in dataclasses.fields(Requirement)}
    assert at(schema, "rules", ITEMS, "paths")["default"] == as_json(fields["paths"])
    assert at(schema, "rules", ITEMS, "binary")["default"] == fields["binary"]


def test_a_mapping_s_default_is_its_keys_defaults(schema: dict[str, Any]) -> None:
    for where in MAPPINGS:
        if where and where[0] != "rules":
            mapping = at(schema, *where)
            defaults = {key: sub["default"] for key, sub in mapping["properties"].items()}
            assert mapping["default"] == defaults, where


def test_writing_every_default_out_changes_nothing(schema: dict[str, Any], tmp_path: Path) -> None:
    defaults = {key: sub["default"] for key, sub in schema["properties"].items()}
    text = yaml.safe_dump(defaults, sort_keys=False)
    assert parser_errors(text, tmp_path) == []
    assert schema_problems(text) == []
    assert dataclasses.replace(over_default(text), sources=()) == dataclasses.replace(
        over_default(""), sources=()
    )


def test_a_rule_key_s_subschema_is_the_review_key_s(schema: dict[str, Any]) -> None:
    for key in REQUIREMENT_KEYS:
        rule = {k: v for k, v in at(schema, "rules", ITEMS, key).items() if k != "description"}
        review = {k: v for k, v in at(schema, "review", key).items() if k != "description"}
        assert rule == review, key


# --- the same enums, limits and patterns -----------------------------------------------------


def _without_groups(pattern: str) -> str:
    """A Python pattern as JSON Schema (ECMA 262) writes it: no ``(?P<name>`` groups."""
    return re.sub(r"\?P<\w+>", "", pattern)


def test_enums_are_the_parser_s_choices(schema: dict[str, Any]) -> None:
    assert at(schema, "pre_merge")["enum"] == list(PRE_MERGE_MODES)
    for where in (("review",), ("rules", ITEMS)):
        assert at(schema, *where, "severity")["enum"] == list(SEVERITIES)
        assert at(schema, *where, "actions", ITEMS)["enum"] == list(ACTIONS)
    assert at(schema, "rules", ITEMS, "name")["not"]["enum"] == sorted(
        RESERVED_NAMES, key=["review", "history-rewrite", "incomplete-view"].index
    )


def test_limits_are_the_parser_s(schema: dict[str, Any]) -> None:
    assert at(schema, "review", "approvals")["minimum"] == 0
    window = at(schema, "backports", "window_days")
    assert (window["minimum"], window["maximum"]) == (1, MAX_BACKPORT_WINDOW_DAYS)
    archive = at(schema, "release", "max_archive_mb")
    assert (archive["minimum"], archive["maximum"]) == (1, MAX_ARCHIVE_MB)
    assert at(schema, "release", "tags")["maxItems"] == MAX_TAG_GLOBS
    assert at(schema, "release", "tags")["minItems"] == 1
    assert at(schema, "branches")["minItems"] == 1
    assert at(schema, "rules", ITEMS, "paths")["minItems"] == 1
    for where in (("rules", ITEMS, "paths"), ("release", "generated"), ("release", "tags")):
        assert at(schema, *where, ITEMS)["maxLength"] == MAX_PATTERN_CHARS, where
    assert at(schema, "backports", "title")["maxLength"] == MAX_TITLE_PATTERN_CHARS
    for where in (("audit", "labels"), ("backports", "labels")):
        assert at(schema, *where, ITEMS)["maxLength"] == policy_module._MAX_LABEL
    assert at(schema, "release", "pypi")["maxLength"] == policy_module._MAX_PYPI_NAME


def test_patterns_are_the_parser_s(schema: dict[str, Any]) -> None:
    expected = {
        ("rules", ITEMS, "name"): policy_module._RULE_NAME.pattern,
        ("review", "teams", ITEMS): _without_groups(policy_module._TEAM.pattern),
        ("rules", ITEMS, "teams", ITEMS): _without_groups(policy_module._TEAM.pattern),
        ("review", "notify", ITEMS): NOTIFY_PATTERN.pattern,
        ("rules", ITEMS, "notify", ITEMS): NOTIFY_PATTERN.pattern,
        ("audit", "repository"): policy_module._REPOSITORY.pattern,
        ("release", "pypi"): policy_module._PYPI_NAME.pattern,
    }
    for where, pattern in expected.items():
        assert at(schema, *where)["pattern"] == f"^{pattern}$", where


@pytest.mark.parametrize("forbidden", sorted(policy_module._TAG_GLOB_FORBIDDEN))
def test_a_tag_glob_with_a_character_git_forbids_is_rejected_by_both(
    forbidden: str, tmp_path: Path
) -> None:
    text = f"release:\n  tags: ['v{forbidden}*']\n"
    assert [problem.first_line for problem in schema_problems(text)] == [2]
    assert [error.line for error in parser_errors(text, tmp_path)] == [2]


# --- the shipped default and the README's example ------------------------------------------------


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### A complete example") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    return section[start : section.index("```\n", start)]


@pytest.mark.parametrize("name", ["config/default.yml", "README example"])
def test_the_shipped_default_and_the_readme_example_validate(
    name: str, schema: dict[str, Any], tmp_path: Path
) -> None:
    if name == "README example":
        text = readme_example()
    else:
        text = SHIPPED_DEFAULT_PATH.read_text(encoding="utf-8")
    assert "rules:" in text and "review:" in text
    assert schema_problems(text) == []
    # as an editor reads it: plain YAML, no help from the parser
    assert list(Draft7Validator(schema).iter_errors(yaml.safe_load(text))) == []
    if name == "README example":
        assert parser_errors(text, tmp_path) == []


# --- wrong documents: the schema and the parser both reject them ---------------------------------

WRONG = {
    "unknown top-level key": ("reviews:\n  approvals: 2\n", 1, "unknown key 'reviews'"),
    "unknown review key": ("review:\n  aprovals: 2\n", 2, "unknown key 'aprovals' in review"),
    "unknown rule key": ("rules:\n  - name: x\n    binary: true\n    path: [a]\n", 4, "'path'"),
    "unknown release key": ("release:\n  tag: [v*]\n", 2, "unknown key 'tag' in release"),
    "approvals as a string": ("review:\n  approvals: two\n", 2, "must be an integer"),
    "negative approvals": ("review:\n  approvals: -1\n", 2, "at least 0"),
    "fresh not a boolean": ("review:\n  fresh: maybe\n", 2, "must be true or false"),
    "severity out of the enum": ("review:\n  severity: urgent\n", 2, "must be one of low, high"),
    "unknown action": ("review:\n  actions: [check, mail]\n", 2, "must be one of check"),
    "pre_merge out of the enum": ("pre_merge: block\n", 1, "must be one of inform"),
    "window_days 0": ("backports:\n  window_days: 0\n", 2, "at least 1"),
    "window_days too large": (
        f"backports:\n  window_days: {MAX_BACKPORT_WINDOW_DAYS + 1}\n",
        2,
        f"at most {MAX_BACKPORT_WINDOW_DAYS}",
    ),
    "max_archive_mb too large": (
        f"release:\n  max_archive_mb: {MAX_ARCHIVE_MB + 1}\n",
        2,
        f"at most {MAX_ARCHIVE_MB}",
    ),
    "empty branches": ("branches: []\n", 1, "must not be empty"),
    "branches a string": ("branches: main\n", 1, "must be a list"),
    "rules a mapping": ("rules:\n  name: x\n", 1, "must be a list"),
    "rule without a name": ("rules:\n  - paths: [a]\n", 2, "has no name"),
    "reserved rule name": ("rules:\n  - name: review\n    paths: [a]\n", 2, "is reserved"),
    "bad rule name": ("rules:\n  - name: -x\n    paths: [a]\n", 2, "'-x'"),
    "empty paths": ("rules:\n  - name: x\n    paths: []\n", 3, "must not be empty"),
    "comment pattern": ("rules:\n  - name: x\n    paths: ['#a']\n", 3, "'#a'"),
    "pattern too long": (
        f"rules:\n  - name: x\n    paths: ['{'a' * (MAX_PATTERN_CHARS + 1)}']\n",
        3,
        f"longer than {MAX_PATTERN_CHARS}",
    ),
    "team with @ and no org": ("review:\n  teams: ['@core']\n", 2, "'@core'"),
    "notify without @": ("review:\n  notify: [someone]\n", 2, "'someone'"),
    "repository not owner/name": ("audit:\n  repository: issues\n", 2, "'issues'"),
    "label too long": ("audit:\n  labels: ['" + "x" * 51 + "']\n", 2, "longer than 50"),
    "title without a number group": ("backports:\n  title: 'GH-[0-9]+'\n", 2, "'number'"),
    "empty tags": ("release:\n  tags: []\n", 2, "must not be empty"),
    "too many tags": (
        "release:\n  tags: [" + ", ".join(f"v{n}*" for n in range(MAX_TAG_GLOBS + 1)) + "]\n",
        2,
        f"at most {MAX_TAG_GLOBS}",
    ),
    "refs/tags glob": ("release:\n  tags: ['refs/tags/v*']\n", 2, "'refs/tags/v*'"),
    "pypi name with a space": ("release:\n  pypi: 'xz utils'\n", 2, "'xz utils'"),
    "top level a list": ("- review\n", 1, "must be a mapping"),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_the_schema_rejects_what_the_parser_rejects(case: str, tmp_path: Path) -> None:
    text, line, fragment = WRONG[case]
    problems = schema_problems(text)
    assert [problem.first_line for problem in problems] == [line]
    assert fragment in problems[0].message
    errors = parser_errors(text, tmp_path)
    assert errors
    # each of the parser's errors is on the problem's lines: check-config prints it once
    assert all(problems[0].covers(error.line) for error in errors)


VALID = {
    "empty file": "",
    "only comments": "# nothing yet\n",
    "YAML 1.1 off is the string off": "pre_merge: off\n",
    "a version branch stays 3.10": "branches: [3.10, main]\n",
    "yes is true": "review:\n  fresh: yes\n",
    "null mappings": "review:\naudit:\nbackports:\nrelease:\nrules:\n",
    "nulls that unset": "branches: null\naudit:\n  repository: null\nrelease:\n  pypi: ~\n",
    "an override without paths": "rules:\n  - name: binaries\n    approvals: 3\n",
    "a merge key": "review:\n  <<: {approvals: 2}\n  fresh: true\n",
    "duplicates in a list": "review:\n  actions: [issue, issue]\n",
    "limits reached": (
        f"backports:\n  window_days: {MAX_BACKPORT_WINDOW_DAYS}\n"
        f"  title: '(?<number>[0-9]+)$'\n  labels: ['{'x' * 50}']\n"
        f"release:\n  max_archive_mb: {MAX_ARCHIVE_MB}\n  generated: []\n"
        f"  tags: [{', '.join(f'v{n}*' for n in range(MAX_TAG_GLOBS))}]\n"
    ),
    "teams in every form": "review:\n  teams: [core, octo-org/core, '@octo-org/core']\n",
    "a negated pattern": "rules:\n  - name: lib\n    paths: ['Lib/**', '!Lib/test/**']\n",
}


@pytest.mark.parametrize("case", list(VALID))
def test_the_schema_accepts_what_the_parser_accepts(case: str, tmp_path: Path) -> None:
    text = VALID[case]
    assert parser_errors(text, tmp_path) == []
    assert schema_problems(text) == []


# --- reporting, once -----------------------------------------------------------------------------


def test_problems_have_the_lines_of_their_key_and_value() -> None:
    text = yml("""
        review:
          approvals: 2
        rules:
          - name: x
            paths:
              - a
              - b
            teams:
              - core
              - '@bad'
          - name: y
            binary: true
        """)
    [problem] = schema_problems(text)
    assert (problem.first_line, problem.last_line) == (10, 10)
    assert problem.message.startswith("rules[x].teams[1] '@bad'")
    wrong_type = schema_problems("review:\n  approvals: 1\nrules:\n  - [a]\n  - name: y\n")
    assert [(p.first_line, p.last_line) for p in wrong_type] == [(4, 4)]
    assert wrong_type[0].message == "rules[0] must be a mapping, got a list"


def test_schema_errors_leave_out_lines_the_parser_reported(tmp_path: Path) -> None:
    text = "rules:\n  - name: x\n    binary: true\n  - approvals: -1\n    binary: maybe\n"
    source = PolicySource("countersign.yml", text)
    parser = over_default(text, "countersign.yml").errors
    assert [str(error) for error in parser] == ["countersign.yml:4: rules[1] has no name"]
    assert [str(error) for error in schema_errors(source)] == [
        "countersign.yml:4: schema: rules[1] has no name",
        "countersign.yml:4: schema: rules[1].approvals must be at least 0, got -1",
        "countersign.yml:5: schema: rules[1].binary must be true or false, got a string 'maybe'",
    ]
    # the parser stopped at the missing name: the schema adds only what it did not see
    assert [str(error) for error in schema_errors(source, parser)] == [
        "countersign.yml:5: schema: rules[1].binary must be true or false, got a string 'maybe'"
    ]
    other_file = [PolicyError("other.yml", 4, "x"), PolicyError("countersign.yml", 5, "y")]
    assert [error.message for error in schema_errors(source, other_file)] == [
        "schema: rules[1].approvals must be at least 0, got -1"
    ]


def test_what_the_parser_reports_itself_gives_no_schema_problem() -> None:
    assert schema_problems("review: [unclosed\n") == []  # invalid YAML
    assert schema_problems("x" * (policy_module.MAX_POLICY_CHARS + 1)) == []  # too large
    assert schema_problems("a: 1\n---\nb: 2\n") == []  # two documents


def test_aliases_are_read_without_looping_or_exploding() -> None:
    assert [p.message for p in schema_problems("review: &r\n  teams: [*r]\n")] == [
        "review.teams[0] must be a string, got a mapping"
    ]
    assert [p.message for p in schema_problems("rules: &r\n  - *r\n")] == [
        "rules[0] must be a mapping, got a list"
    ]
    # 200 aliases to a list of 2,000 patterns: 400,000 values, past what is checked
    patterns = ", ".join(f"p{n}" for n in range(2000))
    items = "".join("  - {name: x, paths: *p}\n" for _ in range(200))
    problems = schema_problems(f"release:\n  generated: &p [{patterns}]\nrules:\n{items}")
    assert [(p.first_line, "aliases" in p.message) for p in problems] == [(None, True)]
