"""The ``release`` policy keys: defaults, validation with lines, layering, check-config; and the
shipped rule that treats what hides files from the repository as review configuration."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest
import yaml

from bot.core.facts import FileFacts
from bot.core.policy import (
    DEFAULT_RELEASE,
    MAX_ARCHIVE_MB,
    MAX_PATTERNS,
    SHIPPED_DEFAULT_PATH,
    PolicySource,
    ReleasePolicy,
    check_config,
    default_policy,
    load_policy,
)
from bot.core.releases import DEFAULT_GENERATED, DEFAULT_RELEASE_TAGS
from tests import policy_layers
from tests.policy_layers import ORG, run_check_config, yml

ROOT = Path(__file__).resolve().parents[1]
REPO = "tukaani-project/xz:.github/countersign.yml"
layered = partial(policy_layers.layered, repo=REPO)
alone = partial(policy_layers.alone, name=REPO)


# --- defaults ----------------------------------------------------------------------------------


def test_defaults_when_no_layer_sets_release() -> None:
    for policy in (default_policy(), layered("review:\n  approvals: 2\n"), alone("{}")):
        assert policy.errors == ()
        release = policy.release
        assert release == DEFAULT_RELEASE == ReleasePolicy()
        assert release.tags == ("v*", "[0-9]*") == DEFAULT_RELEASE_TAGS
        assert release.generated == (
            "configure",
            "Makefile.in",
            "aclocal.m4",
            "config.h.in",
            "PKG-INFO",
            "*.egg-info/**",
            "build-aux/**",
        )
        assert release.generated == DEFAULT_GENERATED
        assert release.pypi is None
        assert release.max_archive_mb == 200
        assert release.max_archive_bytes == 200 * 1024 * 1024


def test_the_commented_defaults_in_the_shipped_file_are_the_real_ones() -> None:
    """config/default.yml documents ``release`` in comments: uncommented, they change nothing."""
    lines = SHIPPED_DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
    start = lines.index("# release:")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line.removeprefix("# "))
    text = "\n".join(block) + "\n"
    assert set(yaml.safe_load(text)["release"]) == {"tags", "generated", "max_archive_mb"}
    policy = alone(text)
    assert policy.errors == ()
    assert policy.release == DEFAULT_RELEASE


@pytest.mark.parametrize(
    ("path", "generated"),
    [
        ("configure", True),
        ("Makefile.in", True),
        ("src/liblzma/Makefile.in", True),
        ("aclocal.m4", True),
        ("config.h.in", True),
        ("PKG-INFO", True),
        ("countersign.egg-info/SOURCES.txt", True),
        ("build-aux/ltmain.sh", True),
        ("m4/build-to-host.m4", False),
        ("configure.ac", False),
        ("src/liblzma/check/crc64_fast.c", False),
    ],
)
def test_default_generated_files(path: str, generated: bool) -> None:
    assert default_policy().release.is_generated(path) is generated


def test_release_tags_and_previous_release_through_the_policy() -> None:
    release = alone("release:\n  tags: ['release-*']\n").release
    assert release.is_release_tag("release-1.2")
    assert not release.is_release_tag("v1.2")
    assert not release.is_release_tag("release-candidate")  # matches, names no version
    assert release.previous_release("release-1.2", ["release-1.1", "v1.1.5"]) == "release-1.1"
    assert DEFAULT_RELEASE.previous_release("v5.6.1", ["v5.6.0", "v5.4.6"]) == "v5.6.0"


def test_every_key_can_be_set() -> None:
    policy = alone(
        """
        release:
          tags: ["release-*", "v*"]
          generated: ["configure", "!m4/**", "doc/html/**"]
          pypi: Django_Rest.framework
          max_archive_mb: 1000
        """
    )
    assert policy.errors == ()
    release = policy.release
    assert release.tags == ("release-*", "v*")
    assert release.generated == ("configure", "!m4/**", "doc/html/**")
    assert release.is_generated("doc/html/index.html")
    assert not release.is_generated("Makefile.in")
    assert release.pypi == "Django_Rest.framework"
    assert release.max_archive_mb == 1000


def test_generated_may_be_empty_and_release_null_sets_nothing() -> None:
    release = alone("release:\n  generated: []\n").release
    assert release.generated == ()
    assert not release.is_generated("configure")
    assert alone("release:\n").release == DEFAULT_RELEASE
    assert alone("release: {}\n").release == DEFAULT_RELEASE


@pytest.mark.parametrize(
    "name", ["a", "A1", "xz", "requests", "zope.interface", "Flask-Login", "a_b"]
)
def test_valid_pypi_names(name: str) -> None:
    assert alone(f"release:\n  pypi: {name}\n").release.pypi == name


# --- validation --------------------------------------------------------------------------------

VALIDATION_CASES = [
    # (policy text, expected line, expected message)
    ("release:\n  tag: [v*]\n", 2, "unknown key 'tag' in release (did you mean 'tags'?)"),
    (
        "release:\n  generate: []\n",
        2,
        "unknown key 'generate' in release (did you mean 'generated'?)",
    ),
    ("release:\n  pipy: xz\n", 2, "unknown key 'pipy' in release"),
    (
        "release:\n  max_archive: 5\n",
        2,
        "unknown key 'max_archive' in release (did you mean 'max_archive_mb'?)",
    ),
    (
        "releases:\n  pypi: xz\n",
        1,
        "unknown key 'releases' in the policy (did you mean 'release'?)",
    ),
    ("release: [tags]\n", 1, "release must be a mapping, got a list"),
    ("release: true\n", 1, "release must be a mapping, got a boolean (true)"),
    (
        "release:\n  tags: 'v*'\n",
        2,
        "release.tags must be a list, got a string 'v*' (write ['v*'])",
    ),
    ("release:\n  tags: []\n", 2, "release.tags must not be empty"),
    ("release:\n  tags: null\n", 2, "release.tags must be a list, got nothing (null)"),
    ("release:\n  tags: ['v*', '']\n", 2, "release.tags[1] must not be empty"),
    ("release:\n  tags: [[v]]\n", 2, "release.tags[0] must be a string, got a list"),
    (
        "release:\n  tags:\n    - v*\n    - refs/tags/v*\n",
        4,
        "release.tags[1] 'refs/tags/v*' must name tags without 'refs/tags/' (write 'v*')",
    ),
    (
        "release:\n  tags: ['v *']\n",
        2,
        "release.tags[0] 'v *' can match no tag: git forbids ' ' in tag names",
    ),
    (
        "release:\n  tags: ['v1.0^']\n",
        2,
        "release.tags[0] 'v1.0^' can match no tag: git forbids '^' in tag names",
    ),
    (
        "release:\n  tags: ['" + "v" * 513 + "']\n",
        2,
        "release.tags[0] is longer than 512 characters",
    ),
    (
        "release:\n  tags: [" + ", ".join(f"'v{i}*'" for i in range(51)) + "]\n",
        2,
        "release.tags: too many globs (at most 50)",
    ),
    ("release:\n  generated: configure\n", 2, "release.generated must be a list, got a string"),
    (
        "release:\n  generated:\n    - configure\n    - '[z-a]'\n",
        4,
        "release.generated[1] '[z-a]' is not a valid gitignore-style pattern",
    ),
    (
        "release:\n  generated: ['# a comment']\n",
        2,
        "release.generated[0] '# a comment' matches nothing",
    ),
    (
        "release:\n  generated: ['foo\\']\n",
        2,
        "release.generated[0] 'foo\\\\' is not a valid gitignore-style pattern",
    ),
    (
        "release:\n  generated: ['" + "a" * 513 + "']\n",
        2,
        "release.generated[0] is longer than 512 characters",
    ),
    ("release:\n  pypi: ''\n", 2, "release.pypi must not be empty"),
    ("release:\n  pypi: [xz]\n", 2, "release.pypi must be a string, got a list"),
    ("release:\n  pypi: -xz\n", 2, "release.pypi '-xz' is not a PyPI project name"),
    ("release:\n  pypi: xz.\n", 2, "release.pypi 'xz.' is not a PyPI project name"),
    ("release:\n  pypi: x z\n", 2, "release.pypi 'x z' is not a PyPI project name"),
    ("release:\n  pypi: xz[lzma]\n", 2, "release.pypi 'xz[lzma]' is not a PyPI project name"),
    ("release:\n  pypi: xz==5.6\n", 2, "release.pypi 'xz==5.6' is not a PyPI project name"),
    ("release:\n  pypi: pyth\u00f6n\n", 2, "release.pypi 'pyth\u00f6n' is not a PyPI project name"),
    ("release:\n  pypi: " + "a" * 201 + "\n", 2, "release.pypi is not a PyPI project name"),
    (
        "release:\n  max_archive_mb: 0\n",
        2,
        "release.max_archive_mb must be a positive integer (MiB), got 0",
    ),
    (
        "release:\n  max_archive_mb: -5\n",
        2,
        "release.max_archive_mb must be a positive integer (MiB), got -5",
    ),
    (
        "release:\n  max_archive_mb: 1.5\n",
        2,
        "release.max_archive_mb must be a positive integer (MiB), got a number (1.5)",
    ),
    (
        "release:\n  max_archive_mb: '200'\n",
        2,
        "release.max_archive_mb must be a positive integer (MiB), got a string '200'",
    ),
    (
        "release:\n  max_archive_mb: null\n",
        2,
        "release.max_archive_mb must be a positive integer (MiB), got nothing (null)",
    ),
    (
        f"release:\n  max_archive_mb: {10**30}\n",
        2,
        f"release.max_archive_mb must be at most {MAX_ARCHIVE_MB} (MiB), got {10**30}",
    ),
    (
        "release:\n  pypi: a\n  pypi: b\n",
        3,
        "duplicate key 'pypi' in release (first at line 2)",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), VALIDATION_CASES)
def test_validation_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    policy = load_policy([PolicySource(REPO, text)])
    assert policy.sources == ()
    assert policy.release == DEFAULT_RELEASE
    found = [error for error in policy.errors if message in error.message]
    assert found, [str(error) for error in policy.errors]
    assert str(found[0]).startswith(f"{REPO}:{line}: "), str(found[0])


def test_a_long_invalid_pypi_name_is_not_repeated() -> None:
    policy = alone("release:\n  pypi: " + "a-" * 100 + "\n")
    assert len(policy.errors) == 1
    assert "a-a-a-" not in policy.errors[0].message


def test_max_archive_mb_limits() -> None:
    assert alone("release:\n  max_archive_mb: 1\n").release.max_archive_mb == 1
    limit = alone(f"release:\n  max_archive_mb: {MAX_ARCHIVE_MB}\n").release
    assert limit.max_archive_mb == MAX_ARCHIVE_MB


def test_generated_patterns_count_towards_the_limit_of_a_file() -> None:
    half = MAX_PATTERNS // 2 + 1
    rule_paths = ", ".join(f"'a{i}'" for i in range(half))
    generated = ", ".join(f"'g{i}'" for i in range(half))
    text = (
        f"rules:\n  - name: many\n    paths: [{rule_paths}]\nrelease:\n  generated: [{generated}]\n"
    )
    policy = load_policy([PolicySource(REPO, text)])
    assert [str(e) for e in policy.errors] == [
        f"{REPO}:5: release.generated: too many path patterns (at most {MAX_PATTERNS} in a file)"
    ]


def test_a_hostile_generated_pattern_matches_in_linear_time() -> None:
    policy = alone("release:\n  generated: ['*a*a*a*a*a*a*a*a*a*a*a*b']\n")
    assert policy.errors == ()
    started = time.monotonic()
    assert not policy.release.is_generated("a" * 100_000)
    assert time.monotonic() - started < 2


def test_every_release_error_in_a_file_is_reported() -> None:
    policy = alone(
        """
        release:
          tags: v*
          generated: ['[z-a]']
          pypi: not a name
          max_archive_mb: 0
          colour: red
        """
    )
    assert [e.line for e in policy.errors] == [2, 3, 4, 5, 6]


# --- layering ----------------------------------------------------------------------------------


def test_release_merges_key_by_key_across_layers() -> None:
    policy = layered(
        "release:\n  max_archive_mb: 500\n  tags: ['release-*']\n",
        "release:\n  pypi: xz\n  max_archive_mb: 50\n",
    )
    assert policy.errors == ()
    assert policy.sources == ("config/default.yml", ORG, REPO)
    assert policy.release.tags == ("release-*",)  # from the org
    assert policy.release.pypi == "xz"  # from the repo
    assert policy.release.max_archive_mb == 50  # the repo wins
    assert policy.release.generated == DEFAULT_GENERATED  # from the default


def test_an_upper_layer_can_unset_pypi_and_empty_generated() -> None:
    policy = layered("release:\n  pypi: xz\n", "release:\n  pypi: null\n  generated: []\n")
    assert policy.errors == ()
    assert policy.release.pypi is None
    assert policy.release.generated == ()


def test_a_broken_release_key_in_the_repo_layer_leaves_the_org_layer_applied() -> None:
    policy = layered(
        "review:\n  approvals: 2\nrelease:\n  pypi: xz\n",
        "review:\n  approvals: 3\nrelease:\n  max_archive_mb: 10\n  tags: []\n",
    )
    assert [str(e) for e in policy.errors] == [f"{REPO}:5: release.tags must not be empty"]
    assert policy.sources == ("config/default.yml", ORG)
    assert policy.review.approvals == 2  # the whole repo layer is ignored, not key by key
    assert policy.release == ReleasePolicy(pypi="xz")


def test_a_broken_release_key_in_the_org_layer_keeps_the_repo_layer() -> None:
    policy = layered("release:\n  pypi: xz\n  max_archive_mb: -1\n", "release:\n  tags: ['v*']\n")
    assert [(e.source, e.line) for e in policy.errors] == [(ORG, 3)]
    assert policy.sources == ("config/default.yml", REPO)
    assert policy.release == ReleasePolicy(tags=("v*",))


# --- check-config ------------------------------------------------------------------------------

BROKEN = yml(
    """
    review:
      approvals: 1
    release:
      tags: ['refs/tags/v*']
      pypi: 'xz utils'
      max_archive_mb: 0
      generated: [configure]
    """
)


def test_check_config_reports_bad_release_values(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text(BROKEN)
    assert [str(e) for e in check_config(str(path))] == [
        f"{path}:4: release.tags[0] 'refs/tags/v*' must name tags without 'refs/tags/'"
        " (write 'v*')",
        f"{path}:5: release.pypi 'xz utils' is not a PyPI project name: letters, digits, '.',"
        " '_' and '-', starting and ending with a letter or digit",
        f"{path}:6: release.max_archive_mb must be a positive integer (MiB), got 0",
    ]


def test_the_check_config_command_prints_file_line_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text(BROKEN)
    result = run_check_config(path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{path}:4", f"{path}:5", f"{path}:6"]
    assert "release.max_archive_mb must be a positive integer" in lines[2]
    path.write_text("release:\n  pypi: xz\n  tags: ['v*']\n  max_archive_mb: 50\n")
    result = run_check_config(path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"{path}: ok"


def test_the_check_config_command_accepts_the_shipped_default() -> None:
    result = run_check_config(SHIPPED_DEFAULT_PATH)
    assert result.returncode == 0, result.stdout


# --- what hides files from the repository is review configuration -----------------------------


@pytest.mark.parametrize(
    "path",
    [
        ".gitattributes",
        "src/liblzma/.gitattributes",  # nested ones decide export-ignore and -diff too
        "m4/.gitignore",
        "build-aux/.gitignore",
        "cmake/.gitignore",
        "lib/m4/.gitignore",
        ".github/countersign.yml",
    ],
)
def test_files_that_hide_files_are_review_configuration(path: str) -> None:
    rule = default_policy().rule("review-config")
    assert rule is not None
    assert rule.matches(FileFacts(path), is_binary=False)
    assert rule.severity == "high" and rule.approvals == 2


def test_a_renamed_away_m4_gitignore_still_matches() -> None:
    rule = default_policy().rule("review-config")
    assert rule is not None
    assert rule.matches(FileFacts("m4/ignored", previous_path="m4/.gitignore"), is_binary=False)


@pytest.mark.parametrize("path", [".gitignore", "src/.gitignore", "Doc/.gitignore", "m4/README"])
def test_ordinary_gitignore_files_are_not_review_configuration(path: str) -> None:
    rule = default_policy().rule("review-config")
    assert rule is not None
    assert not rule.matches(FileFacts(path), is_binary=False)
