"""The ``backports`` policy keys: defaults, validation with lines, layering, check-config."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bot.core.backport import DEFAULT_TITLE, MAX_TITLE_PATTERN_CHARS, TitlePattern
from bot.core.policy import (
    DEFAULT_BACKPORTS,
    MAX_BACKPORT_WINDOW_DAYS,
    SHIPPED_DEFAULT_PATH,
    BackportPolicy,
    PolicySource,
    check_config,
    default_policy,
    load_policy,
)
from tests.policy_layers import ORG, REPO, alone, layered, run_check_config, yml

ROOT = Path(__file__).resolve().parents[1]


# --- defaults ----------------------------------------------------------------------------------


def test_defaults_when_no_layer_sets_backports() -> None:
    for policy in (default_policy(), layered("review:\n  approvals: 2\n"), alone("{}")):
        assert policy.errors == ()
        backports = policy.backports
        assert backports == DEFAULT_BACKPORTS == BackportPolicy()
        assert backports.inherit_review is True
        assert backports.window_days == 180
        assert backports.labels == ()
        assert isinstance(backports.title, TitlePattern)
        assert backports.title.source == DEFAULT_TITLE


def test_default_title_finds_the_original() -> None:
    title = default_policy().backports.title
    assert title.original("[3.12] gh-105987: Fix a leak in _asyncio (GH-105989)") == 105989
    assert title.original("[3.13] Fix a leak (gh-7)") == 7
    assert title.original("Fix a leak (#42)") == 42
    assert title.original("Fix a leak") is None


def test_the_commented_defaults_in_the_shipped_file_are_the_real_ones() -> None:
    """config/default.yml documents ``backports`` in comments: uncommented, they change nothing."""
    lines = SHIPPED_DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
    start = lines.index("# backports:")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line.removeprefix("# "))
    text = "\n".join(block) + "\n"
    assert set(yaml.safe_load(text)["backports"]) == {
        "inherit_review",
        "window_days",
        "title",
        "labels",
    }
    policy = alone(text)
    assert policy.errors == ()
    assert policy.backports == DEFAULT_BACKPORTS


def test_every_key_can_be_set() -> None:
    policy = alone(
        r"""
        backports:
          inherit_review: false
          window_days: 30
          title: '^Backport of #(?P<number>\d+)'
          labels: ["backport", "needs backport"]
        """
    )
    assert policy.errors == ()
    backports = policy.backports
    assert backports.inherit_review is False
    assert backports.window_days == 30
    assert backports.title.source == r"^Backport of #(?P<number>\d+)"
    assert backports.title.original("Backport of #123: fix") == 123
    assert backports.labels == ("backport", "needs backport")


def test_backports_null_or_empty_sets_nothing() -> None:
    assert alone("backports:\n").backports == DEFAULT_BACKPORTS
    assert alone("backports: {}\n").backports == DEFAULT_BACKPORTS


def test_labels_compare_without_regard_to_case() -> None:
    backports = alone("backports:\n  labels: [Backport]\n").backports
    assert backports.labelled(["bug", "BACKPORT"])
    assert not backports.labelled(["bug"])
    assert not DEFAULT_BACKPORTS.labelled(["backport"])


# --- validation --------------------------------------------------------------------------------

VALIDATION_CASES = [
    # (policy text, expected line, expected message)
    (
        "backports:\n  inherit: true\n",
        2,
        "unknown key 'inherit' in backports (did you mean 'inherit_review'?)",
    ),
    (
        "backports:\n  window: 30\n",
        2,
        "unknown key 'window' in backports (did you mean 'window_days'?)",
    ),
    ("backports:\n  label: [x]\n", 2, "unknown key 'label' in backports (did you mean 'labels'?)"),
    ("backport:\n  labels: [x]\n", 1, "unknown key 'backport' in the policy (did you mean"),
    ("backports: [labels]\n", 1, "backports must be a mapping, got a list"),
    ("backports: true\n", 1, "backports must be a mapping, got a boolean (true)"),
    (
        "backports:\n  inherit_review: 'yes'\n",
        2,
        "backports.inherit_review must be true or false, got a string 'yes'",
    ),
    (
        "backports:\n  inherit_review: 1\n",
        2,
        "backports.inherit_review must be true or false, got an integer (1)",
    ),
    (
        "backports:\n  window_days: 0\n",
        2,
        "backports.window_days must be a positive integer (days), got 0",
    ),
    (
        "backports:\n  window_days: -30\n",
        2,
        "backports.window_days must be a positive integer (days), got -30",
    ),
    (
        "backports:\n  window_days: 1.5\n",
        2,
        "backports.window_days must be a positive integer (days), got a number (1.5)",
    ),
    (
        "backports:\n  window_days: '30'\n",
        2,
        "backports.window_days must be a positive integer (days), got a string '30'",
    ),
    (
        "backports:\n  window_days: true\n",
        2,
        "backports.window_days must be a positive integer (days), got a boolean (true)",
    ),
    (
        "backports:\n  window_days: null\n",
        2,
        "backports.window_days must be a positive integer (days), got nothing (null)",
    ),
    (
        f"backports:\n  window_days: {10**30}\n",
        2,
        f"backports.window_days must be at most {MAX_BACKPORT_WINDOW_DAYS} days, got {10**30}",
    ),
    (
        "backports:\n  title: '('\n",
        2,
        "backports.title '(' is not a valid regular expression (missing ): ()",
    ),
    (
        "backports:\n  title: 'GH-\\d+'\n",
        2,
        "backports.title 'GH-\\\\d+' has no group named 'number' to find the original's number in",
    ),
    (
        "backports:\n  title: '(?P<num>\\d+)'\n",
        2,
        "has no group named 'number'",
    ),
    (  # RE2 has no backreferences...
        "backports:\n  title: '(?P<number>\\d)\\1'\n",
        2,
        "is not a valid regular expression (invalid escape sequence: \\1)",
    ),
    (  # ...and no look-around
        "backports:\n  title: '(?=x)(?P<number>\\d+)'\n",
        2,
        "is not a valid regular expression",
    ),
    ("backports:\n  title: ''\n", 2, "backports.title must not be empty"),
    ("backports:\n  title: [a]\n", 2, "backports.title must be a string, got a list"),
    ("backports:\n  title: null\n", 2, "backports.title must be a string, got nothing (null)"),
    ("backports:\n  labels: backport\n", 2, "backports.labels must be a list, got a string"),
    ("backports:\n  labels: [ok, '']\n", 2, "backports.labels[1] must not be empty"),
    ("backports:\n  labels: [[a]]\n", 2, "backports.labels[0] must be a string, got a list"),
    (
        "backports:\n  labels:\n    - ok\n    - " + "x" * 51 + "\n",
        4,
        "backports.labels[1] is longer than 50 characters",
    ),
    (
        "backports:\n  window_days: 1\n  window_days: 2\n",
        3,
        "duplicate key 'window_days' in backports (first at line 2)",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), VALIDATION_CASES)
def test_validation_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    policy = load_policy([PolicySource(REPO, text)])
    assert policy.sources == ()
    assert policy.backports == DEFAULT_BACKPORTS
    found = [error for error in policy.errors if message in error.message]
    assert found, [str(error) for error in policy.errors]
    assert str(found[0]).startswith(f"{REPO}:{line}: "), str(found[0])


def test_a_label_of_exactly_50_characters_is_fine() -> None:
    policy = alone("backports:\n  labels: [" + "x" * 50 + "]\n")
    assert policy.errors == ()
    assert policy.backports.labels == ("x" * 50,)


def test_window_days_limits() -> None:
    assert alone("backports:\n  window_days: 1\n").backports.window_days == 1
    limit = alone(f"backports:\n  window_days: {MAX_BACKPORT_WINDOW_DAYS}\n")
    assert limit.backports.window_days == MAX_BACKPORT_WINDOW_DAYS


def test_a_too_long_title_is_reported_without_repeating_it() -> None:
    pattern = "(?P<number>1)" + "a" * MAX_TITLE_PATTERN_CHARS
    policy = alone(f"backports:\n  title: '{pattern}'\n")
    assert [str(e) for e in policy.errors] == [
        f"{REPO}:2: backports.title is longer than {MAX_TITLE_PATTERN_CHARS} characters"
    ]


def test_every_backports_error_in_a_file_is_reported() -> None:
    policy = alone(
        """
        backports:
          inherit_review: maybe
          window_days: 0
          title: '('
          labels: [""]
          colour: red
        """
    )
    assert [e.line for e in policy.errors] == [2, 3, 4, 5, 6]


HOSTILE_TITLE = r"^(?P<number>[0-9]+)(x+x+)+y$"
"""Exponential for a backtracking engine on ``1xxxx...`` without the final ``y``; linear for RE2."""


def test_a_hostile_title_pattern_is_accepted_and_matches_in_linear_time() -> None:
    policy = alone(f"backports:\n  title: '{HOSTILE_TITLE}'\n")
    assert policy.errors == ()
    title = policy.backports.title
    started = time.monotonic()
    assert title.original("1" + "x" * 200_000) is None
    assert title.original("7" + "x" * 200_000 + "y") == 7
    assert time.monotonic() - started < 2


# --- layering ----------------------------------------------------------------------------------


def test_backports_merge_key_by_key_across_layers() -> None:
    policy = layered(
        "backports:\n  labels: [backport]\n  window_days: 90\n",
        "backports:\n  window_days: 365\n",
    )
    assert policy.errors == ()
    assert policy.sources == ("config/default.yml", ORG, REPO)
    assert policy.backports.labels == ("backport",)  # from the org
    assert policy.backports.window_days == 365  # the repo wins
    assert policy.backports.inherit_review is True  # from the default
    assert policy.backports.title.source == DEFAULT_TITLE


def test_org_sets_labels_and_repo_sets_window_days_both_apply() -> None:
    policy = layered("backports:\n  labels: [backport]\n", "backports:\n  window_days: 30\n")
    assert (policy.backports.labels, policy.backports.window_days) == (("backport",), 30)


def test_an_upper_layer_can_empty_the_labels_and_change_the_title() -> None:
    policy = layered(
        "backports:\n  labels: [backport]\n",
        "backports:\n  labels: []\n  title: '\\(#(?P<number>\\d+)\\)$'\n",
    )
    assert policy.backports.labels == ()
    assert policy.backports.title.original("Fix (#5)") == 5
    assert policy.backports.title.original("[3.12] Fix (GH-5)") is None


def test_a_broken_backports_key_in_the_repo_layer_leaves_the_org_layer_applied() -> None:
    policy = layered(
        "review:\n  approvals: 2\nbackports:\n  labels: [backport]\n  inherit_review: false\n",
        "review:\n  approvals: 3\nbackports:\n  window_days: 30\n  title: '('\n",
    )
    assert [str(e) for e in policy.errors] == [
        f"{REPO}:5: backports.title '(' is not a valid regular expression (missing ): ()"
    ]
    assert policy.sources == ("config/default.yml", ORG)
    assert policy.review.approvals == 2  # the whole repo layer is ignored, not key by key
    assert policy.backports.window_days == 180
    assert policy.backports.labels == ("backport",)
    assert policy.backports.inherit_review is False


def test_a_broken_backports_key_in_the_org_layer_keeps_the_repo_layer() -> None:
    policy = layered(
        "backports:\n  labels: [backport]\n  window_days: -1\n",
        "backports:\n  inherit_review: false\n",
    )
    assert [(e.source, e.line) for e in policy.errors] == [(ORG, 3)]
    assert policy.sources == ("config/default.yml", REPO)
    assert policy.backports == BackportPolicy(inherit_review=False)


# --- check-config ------------------------------------------------------------------------------

BROKEN = yml(
    """
    review:
      approvals: 1
    backports:
      inherit_review: yes please
      window_days: 0
      title: 'GH-\\d+'
      labels: [backport]
    """
)


def test_check_config_reports_bad_backports_values(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text(BROKEN)
    assert [str(e) for e in check_config(str(path))] == [
        f"{path}:4: backports.inherit_review must be true or false, got a string 'yes please'",
        f"{path}:5: backports.window_days must be a positive integer (days), got 0",
        f"{path}:6: backports.title 'GH-\\\\d+' has no group named 'number'"
        " to find the original's number in",
    ]


def test_check_config_accepts_valid_backports(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text("backports:\n  window_days: 365\n  labels: [backport]\n")
    assert check_config(str(path)) == []


def test_the_check_config_command_prints_file_line_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "countersign.yml"
    path.write_text(BROKEN)
    result = run_check_config(path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{path}:4", f"{path}:5", f"{path}:6"]
    assert "backports.window_days must be a positive integer" in lines[1]
    path.write_text("backports:\n  window_days: 365\n")
    result = run_check_config(path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"{path}: ok"
