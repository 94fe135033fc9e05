"""The policy file: validation with line numbers, layering, fallbacks and path matching."""

from __future__ import annotations

import random
from pathlib import Path

import pathspec
import pytest

from bot.core.facts import FileFacts
from bot.core.policy import (
    MAX_PATTERN_CHARS,
    MAX_PATTERNS,
    REPO_POLICY_PATH,
    SHIPPED_DEFAULT_PATH,
    PolicyError,
    PolicySource,
    RegexSet,
    Requirement,
    check_config,
    default_policy,
    load_policy,
)
from tests.policy_layers import ORG, REPO, alone, layered, yml

# --- the shipped default ---------------------------------------------------------------------


def test_shipped_default_is_valid() -> None:
    policy = default_policy()
    assert policy.errors == ()
    assert policy.sources == ("config/default.yml",)
    assert check_config(str(SHIPPED_DEFAULT_PATH)) == []


def test_shipped_default_values() -> None:
    policy = default_policy()
    assert policy.branches is None
    assert policy.pre_merge == "inform"
    assert policy.audit_labels == ("countersign",)
    assert policy.audit_repository is None
    review = policy.review
    assert (review.name, review.approvals, review.merger_counts, review.fresh) == (
        "review",
        1,
        True,
        False,
    )
    assert (review.severity, review.actions) == ("low", ("check",))
    names = [rule.name for rule in policy.rules]
    assert names == ["build-system", "binaries", "release-scripts", "review-config"]
    for rule in policy.rules:
        assert rule.approvals == 2
        assert rule.fresh is True
        assert rule.merger_counts is False
        assert rule.severity == "high"
        assert rule.actions == ("check", "issue", "label")
    assert policy.rule("binaries") is not None
    assert policy.rule("binaries").binary is True  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("configure", "build-system"),
        ("configure.ac", "build-system"),
        ("m4/ax_c_float_words_bigendian.m4", "build-system"),
        ("Makefile.pre.in", "build-system"),
        ("Modules/Setup.stdlib.in", "build-system"),
        ("Doc/Makefile", "build-system"),
        ("lib/Makefile.am", "build-system"),
        ("CMakeLists.txt", "build-system"),
        ("cmake/FindFoo.cmake", "build-system"),
        ("meson.build", "build-system"),
        ("meson_options.txt", "build-system"),
        ("meson.options", "build-system"),
        ("setup.py", "build-system"),
        ("setup.cfg", "build-system"),
        ("pyproject.toml", "build-system"),
        (".github/workflows/build.yml", "build-system"),
        (".github/actions/setup/action.yml", "build-system"),
        ("tests/files/bad-3-corrupt_lzma2.xz", "binaries"),
        ("dist/foo-1.0.tar.gz", "binaries"),
        ("libfoo.so", "binaries"),
        ("lib/libfoo.so.1.2", "binaries"),
        ("PC/python.exe", "binaries"),
        ("Lib/test/certdata/keycert.pem", "binaries"),
        ("Lib/test/certdata/ca.key", "binaries"),
        ("Tools/release/build.py", "release-scripts"),
        ("scripts/publish_docs.sh", "release-scripts"),
        (".github/workflows/release.yml", "release-scripts"),
        (".github/countersign.yml", "review-config"),
        ("CODEOWNERS", "review-config"),
        (".github/CODEOWNERS", "review-config"),
        ("docs/CODEOWNERS", "review-config"),
        (".gitattributes", "review-config"),
    ],
)
def test_shipped_rules_match(path: str, rule: str) -> None:
    requirement = default_policy().rule(rule)
    assert requirement is not None
    assert requirement.matches(FileFacts(path), is_binary=False)


@pytest.mark.parametrize(
    "path",
    ["Lib/os.py", "Doc/library/os.rst", "Modules/main.c", "src/CODEOWNERS", "README.md"],
)
def test_ordinary_files_match_no_shipped_rule(path: str) -> None:
    assert not any(r.matches(FileFacts(path), False) for r in default_policy().rules)


# --- matching ----------------------------------------------------------------------------------


def test_base_requirement_matches_everything() -> None:
    assert Requirement(name="review").matches(FileFacts("anything/at/all.txt"), False)


def test_rename_matches_by_old_and_new_path() -> None:
    rule = Requirement(name="r", paths=("*.m4",))
    assert rule.matches(FileFacts("x.txt", status="renamed", previous_path="m4/a.m4"), False)
    assert rule.matches(FileFacts("m4/a.m4", status="renamed", previous_path="x.txt"), False)
    assert not rule.matches(FileFacts("y.txt", status="renamed", previous_path="x.txt"), False)


def test_deleted_files_match() -> None:
    rule = Requirement(name="r", paths=("configure*",))
    assert rule.matches(FileFacts("configure.ac", status="removed"), False)


def test_binary_rule_matches_any_binary_name() -> None:
    rule = Requirement(name="bin", binary=True)
    assert rule.matches(FileFacts("tests/files/good-1.lzma"), is_binary=True)
    assert not rule.matches(FileFacts("tests/files/good-1.lzma"), is_binary=False)
    both = Requirement(name="bin", binary=True, paths=("*.xz",))
    assert both.matches(FileFacts("a.xz"), is_binary=False)


@pytest.mark.parametrize(
    ("patterns", "path", "expected"),
    [
        (("configure*",), "sub/dir/configure.ac", True),  # no slash: any depth
        (("/configure",), "sub/configure", False),  # leading slash: anchored
        (("**/*.m4",), "a/b/c.m4", True),
        (("**/*.m4",), "c.m4", True),
        (("Tools/**",), "Tools/a/b.py", True),
        (("Tools/**",), "Lib/Tools/b.py", False),  # a slash in the middle anchors too
        (("docs/",), "docs/conf.py", True),  # a directory covers what is inside
        (("Lib/**", "!Lib/test/**"), "Lib/test/x.py", False),  # negation
        (("Lib/**", "!Lib/test/**"), "Lib/os.py", True),
        (("*.[ch]",), "Modules/main.c", True),
    ],
)
def test_paths_are_gitignore_patterns(patterns: tuple[str, ...], path: str, expected: bool) -> None:
    assert Requirement(name="r", paths=patterns).matches(FileFacts(path), False) is expected


# --- layering ----------------------------------------------------------------------------------


def test_review_merges_key_by_key() -> None:
    policy = layered("review:\n  approvals: 2\n  fresh: true\n", "review:\n  fresh: false\n")
    assert policy.review.approvals == 2  # from the org
    assert policy.review.fresh is False  # the repo wins
    assert policy.review.merger_counts is True  # from the shipped default
    assert policy.sources == ("config/default.yml", ORG, REPO)


def test_rules_merge_by_name_overriding_only_keys_set() -> None:
    policy = layered(
        yml("""
        rules:
          - name: build-system
            approvals: 3
          - name: docs
            paths: ["Doc/**"]
        """),
        yml("""
        rules:
          - name: build-system
            teams: ["build-reviewers"]
          - name: docs
            severity: high
        """),
    )
    build = policy.rule("build-system")
    assert build is not None
    assert build.approvals == 3
    assert build.teams == ("build-reviewers",)
    assert build.fresh is True  # from the shipped rule
    assert "configure" in build.paths
    assert [rule.name for rule in policy.rules][-1] == "docs"  # new names are appended
    docs = policy.rule("docs")
    assert docs is not None
    assert docs.severity == "high"
    assert docs.paths == ("Doc/**",)


def test_rule_keys_set_nowhere_inherit_from_merged_review() -> None:
    policy = layered(
        "review:\n  allow_contributors: true\n  notify: ['@octo-org/security']\n",
        "rules:\n  - name: docs\n    paths: ['Doc/**']\n",
    )
    docs = policy.rule("docs")
    assert docs is not None
    assert docs.approvals == 1
    assert docs.allow_contributors is True
    assert docs.notify == ("@octo-org/security",)
    assert docs.severity == "low"
    build = policy.rule("build-system")
    assert build is not None and build.allow_contributors is True  # not set by the shipped rule


def test_audit_merges_key_by_key_and_branches_pre_merge_upper_wins() -> None:
    policy = layered(
        "audit:\n  repository: octo-org/audits\nbranches: ['main']\npre_merge: enforce\n",
        "audit:\n  labels: ['audit', 'security']\nbranches: ['main', '3.*']\n",
    )
    assert policy.audit_repository == "octo-org/audits"
    assert policy.audit_labels == ("audit", "security")
    assert policy.branches == ("main", "3.*")
    assert policy.pre_merge == "enforce"


def test_branches_null_restores_default_and_protected() -> None:
    policy = layered("branches: ['main']\n", "branches: null\n")
    assert policy.branches is None


def test_absent_layers_are_skipped_without_error() -> None:
    policy = layered(None, None)
    assert policy.errors == ()
    assert policy.sources == ("config/default.yml",)


def test_empty_layer_applies_and_changes_nothing() -> None:
    policy = layered("# nothing here yet\n")
    assert policy.errors == ()
    assert policy.sources == ("config/default.yml", ORG)
    assert policy.review == default_policy().review


def test_check_is_always_in_actions() -> None:
    policy = alone("review:\n  actions: [issue]\n")
    assert policy.review.actions == ("check", "issue")
    assert alone("review:\n  actions: []\n").review.actions == ("check",)


def test_teams_are_normalised_to_slugs() -> None:
    policy = alone(
        "rules:\n  - name: t\n    paths: [a]\n"
        "    teams: [Build-Reviewers, octo-org/core, '@octo-org/sec']\n"
    )
    assert policy.rules[0].teams == ("build-reviewers", "core", "sec")
    assert policy.teams == ("build-reviewers", "core", "sec")


def test_yaml_11_scalars_keep_what_was_written() -> None:
    policy = alone("pre_merge: off\nbranches: [3.10, main]\n")
    assert policy.errors == ()
    assert policy.pre_merge == "off"  # not the boolean false
    assert policy.branches == ("3.10", "main")  # not the float 3.1


def test_merge_keys_and_anchors_work() -> None:
    policy = alone(
        yml("""
        rules:
          - &strict
            name: one
            paths: ["a/**"]
            approvals: 3
          - <<: *strict
            name: two
            paths: ["b/**"]
        """)
    )
    assert policy.errors == ()
    assert [(r.name, r.approvals, r.paths) for r in policy.rules] == [
        ("one", 3, ("a/**",)),
        ("two", 3, ("b/**",)),
    ]


# --- broken layers -----------------------------------------------------------------------------


def test_broken_layer_is_ignored_and_lower_layers_apply() -> None:
    policy = layered("review:\n  approvals: 2\n", "review:\n  approvals: none\n")
    assert policy.review.approvals == 2
    assert policy.sources == ("config/default.yml", ORG)
    assert [str(e) for e in policy.errors] == [
        f"{REPO}:2: review.approvals must be a non-negative integer, got a string 'none'"
    ]


def test_broken_layer_is_ignored_entirely_not_key_by_key() -> None:
    policy = layered("review:\n  approvals: 0\n  fresh: maybe\n")
    assert policy.review.approvals == 1  # the valid key of the broken layer does not apply
    assert len(policy.errors) == 1


def test_broken_repo_layer_cannot_switch_auditing_off() -> None:
    policy = layered("rules: [\n")
    assert len(policy.rules) == 4
    assert policy.errors[0].source == ORG


def test_an_invalid_middle_layer_keeps_the_upper_one() -> None:
    policy = layered("review: [1]\n", "review:\n  approvals: 3\n")
    assert policy.review.approvals == 3
    assert policy.sources == ("config/default.yml", REPO)


def test_policy_error_str() -> None:
    assert str(PolicyError("a.yml", 3, "bad")) == "a.yml:3: bad"
    assert str(PolicyError("a.yml", None, "bad")) == "a.yml: bad"


# --- validation: every error, with its line --------------------------------------------------

VALIDATION_CASES = [
    # (policy text, expected line, expected message fragment)
    ("review:\n  aprovals: 2\n", 2, "unknown key 'aprovals' in review (did you mean 'approvals'?)"),
    ("reveiw:\n  approvals: 2\n", 1, "unknown key 'reveiw' in the policy (did you mean 'review'?)"),
    ("rules:\n  - name: x\n    path: [a]\n", 3, "(did you mean 'paths'?)"),
    ("audit:\n  label: [x]\n", 2, "unknown key 'label' in audit (did you mean 'labels'?)"),
    ("review:\n  approvals: -1\n", 2, "must be a non-negative integer, got -1"),
    ("review:\n  approvals: 1.5\n", 2, "must be a non-negative integer, got a number (1.5)"),
    ("review:\n  approvals: '2'\n", 2, "must be a non-negative integer, got a string '2'"),
    ("review:\n  approvals: true\n", 2, "must be a non-negative integer, got a boolean"),
    ("review:\n\n  fresh: sometimes\n", 3, "review.fresh must be true or false"),
    ("review:\n  merger_counts: 1\n", 2, "review.merger_counts must be true or false"),
    ("review:\n  severity: medium\n", 2, "review.severity must be one of low, high"),
    ("review:\n  actions: [check, email]\n", 2, "review.actions[1] must be one of check, issue"),
    ("review:\n  actions: check\n", 2, "review.actions must be a list, got a string 'check'"),
    ("rules:\n  - paths: [a]\n", 2, "rules[0] has no name"),
    ("rules:\n  - name: x\n", 2, "rule 'x' needs paths or binary: true"),
    ("rules:\n  - name: x\n    binary: false\n", 2, "rule 'x' needs paths or binary: true"),
    ("rules:\n  - name: x\n    paths: []\n", 3, "rules[x].paths must not be empty"),
    (
        "rules:\n  - name: x\n    paths: [a]\n  - name: x\n    paths: [b]\n",
        4,
        "duplicate rule name 'x' (first at line 2)",
    ),
    ("rules:\n  - name: x\n    paths: [a]\n    teams: ['@x']\n", 4, "'@x' is not a team"),
    ("rules:\n  - name: x\n    paths: [a]\n    teams: ['a b']\n", 4, "write 'slug', 'org/slug'"),
    ("rules:\n  - name: x\n    paths: [a]\n    teams: [a/b/c]\n", 4, "is not a team"),
    (
        "rules:\n  - name: x\n    paths: [a]\n    notify: [bob]\n",
        4,
        "must be '@user' or '@org/team'",
    ),
    ("rules:\n  - name: x\n    paths: ['foo\\']\n", 3, "not a valid gitignore-style pattern"),
    ("rules:\n  - name: x\n    paths: ['#a']\n", 3, "matches nothing"),
    ("rules:\n  - name: review\n    paths: [a]\n", 2, "'review' is reserved"),
    ("rules:\n  - name: 'a/b'\n    paths: [a]\n", 2, "must start with a letter or digit"),
    ("rules:\n  - just a string\n", 2, "rules[0] must be a mapping, got a string"),
    ("rules: {name: x}\n", 1, "rules must be a list, got a mapping"),
    ("review: [1]\n", 1, "review must be a mapping, got a list"),
    ("pre_merge: sometimes\n", 1, "pre_merge must be one of inform, enforce, off"),
    ("pre_merge: no\n", 1, "pre_merge must be one of inform, enforce, off"),
    ("branches: main\n", 1, "branches must be a list, got a string 'main' (write ['main'])"),
    ("branches: []\n", 1, "branches must not be empty"),
    ("audit:\n  repository: not-a-repo\n", 2, "audit.repository 'not-a-repo' must be 'owner/name'"),
    ("audit:\n  labels: [" + "x" * 51 + "]\n", 2, "audit.labels[0] is longer than 50"),
    ("review:\n  approvals: 1\n  approvals: 2\n", 3, "duplicate key 'approvals' in review"),
    ("- review\n", 1, "the policy must be a mapping of keys, got a list"),
    ("just text\n", 1, "the policy must be a mapping of keys, got a string"),
    ("review:\n  approvals: 1\n fresh: true\n", 3, "invalid YAML"),
    ("review: {approvals: 1\n", 2, "invalid YAML"),
    ("a: 1\n---\nb: 2\n", 2, "invalid YAML: but found another document"),
    ("1: x\n", 1, "keys in the policy must be strings, got an integer"),
]


@pytest.mark.parametrize(("text", "line", "message"), VALIDATION_CASES)
def test_validation_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    policy = load_policy([PolicySource(REPO, text)])
    assert policy.sources == ()
    found = [error for error in policy.errors if message in error.message]
    assert found, [str(error) for error in policy.errors]
    assert found[0].source == REPO
    assert found[0].line == line, str(found[0])
    assert str(found[0]).startswith(f"{REPO}:{line}: ")


def test_every_error_in_a_file_is_reported() -> None:
    policy = alone(
        yml("""
        review:
          approvals: x
          fresh: x
        rules:
          - name: a
        """)
    )
    assert [e.line for e in policy.errors] == [2, 3, 5]


def test_override_without_paths_is_valid_over_a_rule_that_has_them() -> None:
    policy = layered("rules:\n  - name: binaries\n    approvals: 3\n")
    assert policy.errors == ()
    binaries = policy.rule("binaries")
    assert binaries is not None and binaries.approvals == 3 and binaries.binary


# --- check_config ------------------------------------------------------------------------------


def test_check_config_reports_errors_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text("review:\n  approvals: 2\n  severity: urgent\n")
    errors = check_config(str(path))
    assert [str(e) for e in errors] == [
        f"{path}:3: review.severity must be one of low, high; got a string 'urgent'"
    ]


def test_check_config_accepts_a_valid_override_of_a_shipped_rule(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text(
        yml("""
        branches: ["main", "3.*"]
        rules:
          - name: build-system
            teams: ["@octo-org/build-reviewers"]
            notify: ["@octo-org/build-team"]
        """)
    )
    assert check_config(str(path)) == []


def test_check_config_missing_file(tmp_path: Path) -> None:
    errors = check_config(str(tmp_path / "absent.yml"))
    assert len(errors) == 1
    assert errors[0].line is None
    assert "cannot read" in errors[0].message


def test_check_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"review:\n  # caf\xe9\n")
    assert "UTF-8" in check_config(str(path))[0].message


def test_repo_policy_path() -> None:
    assert REPO_POLICY_PATH == ".github/countersign.yml"


# --- bad patterns never stop auditing ----------------------------------------------------------

INVALID_REGEX_RULE = "rules:\n  - name: weird\n    paths: ['Lib/**', '[z-a]']\n"
"""``[z-a]`` is a valid gitignore pattern that pathspec turns into a regex ``re`` rejects."""


def test_a_pattern_with_an_invalid_range_is_an_error_with_its_line_in_the_repo_layer() -> None:
    policy = layered("review:\n  approvals: 2\n", INVALID_REGEX_RULE)
    assert [str(e) for e in policy.errors] == [
        f"{REPO}:3: rules[weird].paths[1] '[z-a]' is not a valid gitignore-style pattern"
        " (invalid character class range: z-a)"
    ]
    assert policy.sources == ("config/default.yml", ORG)  # the repo layer is ignored...
    assert policy.review.approvals == 2  # ...and the organisation's still applies
    assert policy.rule("weird") is None
    assert policy.rule("build-system") is not None


def test_a_pattern_with_an_invalid_range_is_an_error_with_its_line_in_the_org_layer() -> None:
    policy = layered(INVALID_REGEX_RULE, "review:\n  approvals: 3\n")
    assert [(e.source, e.line) for e in policy.errors] == [(ORG, 3)]
    assert "'[z-a]' is not a valid gitignore-style pattern" in policy.errors[0].message
    assert policy.sources == ("config/default.yml", REPO)
    assert policy.review.approvals == 3


def test_check_config_reports_an_invalid_range(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text(INVALID_REGEX_RULE)
    assert [(e.line, "[z-a]" in e.message) for e in check_config(str(path))] == [(3, True)]


@pytest.mark.parametrize("pattern", ["[z-a]", "*.[9-0]", "a[[:alpha:]]b", "[a-\\\\]"])
def test_patterns_the_regex_engine_refuses_are_errors(pattern: str) -> None:
    policy = alone(f"rules:\n  - name: x\n    paths: [{pattern!r}]\n")
    assert [e.line for e in policy.errors] == [3]
    assert "not a valid gitignore-style pattern" in policy.errors[0].message


def test_pattern_length_and_count_are_bounded() -> None:
    long = alone(f"rules:\n  - name: x\n    paths: ['{'a' * (MAX_PATTERN_CHARS + 1)}']\n")
    assert [str(e) for e in long.errors] == [
        f"{REPO}:3: rules[x].paths[0] is longer than {MAX_PATTERN_CHARS} characters"
    ]
    assert alone(f"rules:\n  - name: x\n    paths: ['{'a' * MAX_PATTERN_CHARS}']\n").errors == ()
    half = MAX_PATTERNS // 2
    text = "rules:\n" + "".join(
        f"  - name: r{n}\n    paths: [{', '.join(f'p{n}x{i}' for i in range(half))}]\n"
        for n in range(3)
    )
    many = alone(text)
    assert [(e.line, e.message) for e in many.errors] == [
        (7, f"rules[r2].paths: too many path patterns (at most {MAX_PATTERNS} in a file)")
    ]
    assert alone(text.rsplit("  - name: r2", 1)[0]).errors == ()


CATASTROPHIC = "*a*a*a*a*a*a*a*a*b"
"""Exponential for a backtracking engine against a long run of ``a``; linear for RE2."""


def test_a_catastrophic_pattern_matches_in_linear_time() -> None:
    rule = Requirement(name="r", paths=(CATASTROPHIC, "docs/"))
    assert not rule.matches(FileFacts("a" * 5000), False)
    assert not rule.matches(FileFacts("x/" + "a" * 5000, previous_path="a" * 5000 + "/c"), False)
    assert rule.matches(FileFacts("a" * 5000 + "b"), False)
    assert rule.matches(FileFacts("x/" + "a" * 5000, previous_path="d/" + "a" * 9 + "b"), False)
    assert rule.matches(FileFacts("docs/" + "a" * 5000), False)


def test_matching_agrees_with_pathspec_gitignore_semantics() -> None:
    """Negations and directory patterns decide as pathspec's reference implementation does."""
    rng = random.Random(7)
    segments = ["a", "b", "*", "**", "a*", "*b", "?", "[ab]", "[!a]", "ab", "*a*"]
    names = ["a", "b", "ab", "ba", "aa", "c", "aba"]
    checked = 0
    for _ in range(300):
        patterns = []
        for _ in range(rng.randint(1, 5)):
            pattern = "/".join(rng.choice(segments) for _ in range(rng.randint(1, 3)))
            pattern = ("/" if rng.random() < 0.2 else "") + pattern
            pattern += "/" if rng.random() < 0.2 else ""
            patterns.append(("!" if rng.random() < 0.3 else "") + pattern)
        reference = pathspec.GitIgnoreSpec.from_lines(patterns, backend="simple")
        rule = Requirement(name="r", paths=tuple(patterns))
        for _ in range(20):
            path = "/".join(rng.choice(names) for _ in range(rng.randint(1, 5)))
            expected = reference.match_file(path)
            assert rule.matches(FileFacts(path), False) is expected, (patterns, path)
            checked += 1
    assert checked == 6000


def test_patterns_too_many_for_one_regex_set_are_split_not_lost() -> None:
    regexes = [f"^{n:03d}" + "[^/]" * 400 + "$" for n in range(300)]
    patterns = RegexSet(regexes)
    assert len(patterns._sets) > 1  # RE2's memory budget split them
    assert patterns.search("123" + "x" * 400) == [123]
    assert patterns.search("299" + "x" * 400) == [299]
    assert patterns.search("123" + "x" * 399) == []


def test_the_digest_keys_are_read_and_checked():
    from bot.core.policy import PolicySource, load_policy, shipped_default

    def digest(text: str) -> tuple[object, list[str]]:
        policy = load_policy([shipped_default(), PolicySource("p.yml", text)])
        return policy.digest, [e.message for e in policy.errors]

    found, errors = digest(
        "digest:\n  enabled: false\n  weekday: friday\n  hour_utc: 23\n"
        "  repository: octo-org/audit\n  dormant_after_days: 90\n"
    )
    assert errors == []
    assert (found.enabled, found.weekday, found.hour_utc) == (False, "friday", 23)  # type: ignore[attr-defined]
    assert (found.repository, found.dormant_after_days) == ("octo-org/audit", 90)  # type: ignore[attr-defined]
    for text, message in (
        ("digest:\n  weekday: Friday\n", "digest.weekday must be one of monday"),
        ("digest:\n  hour_utc: 24\n", "digest.hour_utc must be an hour from 0 to 23"),
        ("digest:\n  dormant_after_days: 0\n", "digest.dormant_after_days must be a number"),
        ("digest:\n  repository: nope\n", "digest.repository 'nope' must be 'owner/name'"),
        ("digest:\n  enabled: sometimes\n", "digest.enabled must be true or false"),
        ("digest:\n  weekly: true\n", "unknown key 'weekly' in digest"),
    ):
        found, errors = digest(text)
        assert any(message in e for e in errors), (text, errors)
        assert found.weekday == "monday"  # type: ignore[attr-defined]  # the broken layer is ignored
