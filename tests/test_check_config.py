"""``python -m bot check-config FILE [--explain PATH ...]``: the parser's errors and the schema's,
each once, and what the policy asks of given paths."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.cli.check_config import (
    describe_requirement,
    effective_policy,
    explain,
    explain_path,
    naming,
    report,
    validate,
)
from bot.core.policy import SHIPPED_DEFAULT_PATH, Requirement, default_policy
from tests.policy_layers import yml

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "countersign.yml"
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["check-config", *args])
    captured = capsys.readouterr()
    assert captured.err == ""
    return status, captured.out


def block(out: str, path: str) -> str:
    """The --explain block of ``path`` in the output."""
    blocks = [text for text in out.split("\n\n") if text.splitlines()[0] == path]
    assert len(blocks) == 1, out
    return blocks[0]


# --- check-config FILE, as before --------------------------------------------------------------


def test_the_shipped_default_is_ok(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert run(capsys, "config/default.yml") == (0, "config/default.yml: ok\n")


def test_a_valid_file_is_ok(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(
        tmp_path, "branches: [main, '3.*']\nrules:\n  - name: binaries\n    approvals: 3\n"
    )
    assert run(capsys, str(path)) == (0, f"{path}: ok\n")


def test_a_parser_error_is_printed_once_not_again_by_the_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "review:\n  approvals: 1\n  severity: extreme\n")
    assert run(capsys, str(path)) == (
        1,
        f"{path}:3: review.severity must be one of low, high; got a string 'extreme'\n",
    )


def test_several_errors_each_once_in_line_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        yml("""
        review:
          aprovals: 2
        branches: []
        backports:
          window_days: 0
        release:
          max_archive_mb: 99999
        """),
    )
    status, out = run(capsys, str(path))
    assert status == 1
    assert out.splitlines() == [
        f"{path}:2: unknown key 'aprovals' in review (did you mean 'approvals'?)",
        f"{path}:3: branches must not be empty",
        f"{path}:5: backports.window_days must be a positive integer (days), got 0",
        f"{path}:7: release.max_archive_mb must be at most 10240 (MiB), got 99999",
    ]


def test_a_schema_problem_the_parser_did_not_reach_is_added(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The parser skips a rule without a name; the schema still reads the rest of it."""
    path = write(
        tmp_path, "rules:\n  - name: x\n    binary: true\n  - approvals: 2\n    binary: 2\n"
    )
    status, out = run(capsys, str(path))
    assert status == 1
    assert out.splitlines() == [
        f"{path}:4: rules[1] has no name",
        f"{path}:5: schema: rules[1].binary must be true or false, got an integer (2)",
    ]
    assert [str(error) for error in validate(str(path))] == out.splitlines()


def test_unreadable_and_invalid_files_are_errors_without_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "absent.yml"
    status, out = run(capsys, str(missing))
    assert status == 1 and out.startswith(f"{missing}: cannot read the file")
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes(b"review:\n  # caf\xe9\n")
    assert run(capsys, str(latin1)) == (1, f"{latin1}: not UTF-8 text\n")
    broken = write(tmp_path, "review: [unclosed\n")
    status, out = run(capsys, str(broken))
    assert status == 1 and len(out.splitlines()) == 1 and "invalid YAML" in out


# --- --explain ---------------------------------------------------------------------------------


def test_explain_with_the_shipped_default_names_its_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out = run(
        capsys,
        str(SHIPPED_DEFAULT_PATH),
        "--explain",
        "m4/build-to-host.m4",
        ".github/countersign.yml",
    )
    assert status == 0
    default_yml = SHIPPED_DEFAULT_PATH.read_text(encoding="utf-8")
    for name in ("build-system", "review-config", "binaries"):
        assert f"- name: {name}\n" in default_yml
    m4 = block(out, "m4/build-to-host.m4")
    assert m4.splitlines()[1:3] == [
        "  rule build-system, matched by '*.m4'",
        "    approvals: 2, fresh: true, merger_counts: false, allow_contributors: false,",
    ]
    assert "rule review-config" not in m4
    assert "if the file is binary, also rule binaries (binary: true)" in m4
    assert m4.splitlines()[-1] == "  release.generated: no"
    config = block(out, ".github/countersign.yml")
    assert config.splitlines()[1] == "  rule review-config, matched by '.github/countersign.yml'"
    assert "rule build-system" not in config
    assert "severity: high, actions: [check, issue, label]" in config


def test_explain_output_in_full(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(
        tmp_path,
        yml("""
        review:
          approvals: 1
        rules:
          - name: docs
            paths: ["docs/**", "!docs/drafts/**"]
            approvals: 0
          - name: crypto
            paths: ["Lib/ssl.py", "Lib/hashlib.py"]
            teams: ["@octo-org/crypto"]
            notify: ["@octo-org/crypto"]
            severity: high
            actions: [issue]
        release:
          generated: ["configure", "*.egg-info/**"]
        """),
    )
    status, out = run(
        capsys, str(path), "--explain", "Lib/ssl.py", "docs/drafts/a.md", "x.egg-info/PKG-INFO"
    )
    assert status == 0
    binaries = (
        "  if the file is binary, also rule binaries (binary: true): approvals: 2, severity: high"
    )
    base = [
        "  base review, for every change",
        "    approvals: 1, fresh: false, merger_counts: true, allow_contributors: false,",
        "    teams: [], severity: low, actions: [check], notify: []",
    ]
    assert out.splitlines() == [
        f"{path}: ok",
        "",
        f"policy: config/default.yml + {path}",
        "",
        "Lib/ssl.py",
        "  rule crypto, matched by 'Lib/ssl.py'",
        "    approvals: 1, fresh: false, merger_counts: true, allow_contributors: false,",
        "    teams: [crypto], severity: high, actions: [check, issue], notify: [@octo-org/crypto]",
        binaries,
        *base,
        "  release.generated: no",
        "",
        "docs/drafts/a.md",
        "  no rule matches this path; the base review applies",
        binaries,
        *base,
        "  release.generated: no",
        "",
        "x.egg-info/PKG-INFO",
        "  no rule matches this path; the base review applies",
        binaries,
        *base,
        "  release.generated: yes, by '*.egg-info/**' (a release archive may add it)",
    ]


def test_explain_uses_the_file_layered_over_the_shipped_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n  - name: build-system\n    approvals: 3\n    teams: ['@octo-org/build']\n",
    )
    text, status = report(str(path), ["configure.ac", "docs/index.md"])
    assert status == 0
    configure = block(text, "configure.ac")
    assert configure.splitlines()[1:4] == [
        "  rule build-system, matched by 'configure.ac'",
        "    approvals: 3, fresh: true, merger_counts: false, allow_contributors: false,",
        "    teams: [build], severity: high, actions: [check, issue, label], notify: []",
    ]
    assert "no rule matches this path" in block(text, "docs/index.md")


def test_a_waived_requirement_and_a_rule_matched_by_two_patterns() -> None:
    rule = Requirement("scripts", paths=("*.sh", "tools/**"), approvals=0, fresh=True)
    assert describe_requirement(rule) == [
        "approvals: 0 (waived), fresh: true, merger_counts: true, allow_contributors: false,",
        "teams: [], severity: low, actions: [check], notify: []",
    ]
    assert naming(rule.paths, "tools/build.sh") == ["*.sh", "tools/**"]
    assert naming(("Lib/**", "!Lib/test/**"), "Lib/test/x.py") == ["Lib/**"]


def test_explain_path_on_its_own() -> None:
    policy = default_policy()
    text = explain_path(policy, "setup.py")
    assert text.splitlines()[:2] == ["setup.py", "  rule build-system, matched by 'setup.py'"]
    assert explain(policy, ["a", "b"]).split("\n\n")[0] == "policy: config/default.yml"
    assert explain(policy, ["a"], "repo.yml").splitlines()[0] == (
        "policy: config/default.yml (repo.yml is left out: the App ignores a file with errors)"
    )


# --- hostile input -------------------------------------------------------------------------------


def test_an_invalid_pattern_is_a_clear_error_and_the_shipped_default_is_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "rules:\n  - name: weird\n    paths: ['Lib/**', '[z-a]']\n")
    status, out = run(capsys, str(path), "--explain", "Lib/x.py", "m4/x.m4")
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == (
        f"{path}:3: rules[weird].paths[1] '[z-a]' is not a valid gitignore-style pattern"
        " (invalid character class range: z-a)"
    )
    assert lines[2] == (
        f"policy: config/default.yml ({path} is left out: the App ignores a file with errors)"
    )
    assert "rule weird" not in out  # the App ignores the broken file...
    assert "rule build-system, matched by '*.m4'" in block(out, "m4/x.m4")  # ...not the default


@pytest.mark.parametrize(
    "pattern",
    ["[[:alpha:]]", "a" * 513, "#comment", "!", "\\"],
    ids=["posix-class", "too-long", "comment", "bare-bang", "backslash"],
)
def test_other_bad_patterns_are_errors_not_crashes(
    pattern: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, f"rules:\n  - name: x\n    paths: ['{pattern}']\n")
    status, out = run(capsys, str(path), "--explain", "a")
    assert status == 1
    assert re.match(rf"{re.escape(str(path))}:3: (schema: )?rules\[x\]\.paths\[0\] ", out)
    assert "Traceback" not in out and "no rule matches this path" in out


def test_a_pattern_that_would_backtrack_and_long_odd_paths_are_explained_quickly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "rules:\n  - name: slow\n    paths: ['*a*a*a*a*a*a*a*a*b']\n")
    long_path = "a" * 20_000
    started = time.monotonic()
    status, out = run(capsys, str(path), "--explain", long_path, long_path + "b", "x\x1b[2J")
    assert time.monotonic() - started < 10
    assert status == 0
    assert "no rule matches this path" in block(out, long_path)
    assert "rule slow, matched by '*a*a*a*a*a*a*a*a*b'" in block(out, long_path + "b")
    assert "'x\\x1b[2J'" in out and "\x1b" not in out  # a control character is shown escaped


def test_the_policy_the_app_would_use(tmp_path: Path) -> None:
    path = write(tmp_path, "review:\n  approvals: 2\n")
    assert effective_policy(str(path), path.read_text()).review.approvals == 2
    assert effective_policy(str(path), "review:\n  approvals: two\n").review.approvals == 1
    assert effective_policy(str(path), None).sources == ("config/default.yml",)
    shipped = effective_policy(str(SHIPPED_DEFAULT_PATH), SHIPPED_DEFAULT_PATH.read_text())
    assert shipped.sources == (str(SHIPPED_DEFAULT_PATH),)  # not layered over itself


def test_the_readme_sample_is_what_the_command_prints(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ python -m bot check-config .github/countersign.yml --explain "
    start = readme.index(command)
    sample = readme[start : readme.index("```\n", start)].splitlines()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "countersign.yml").write_text("pre_merge: inform\n")
    monkeypatch.chdir(tmp_path)
    status, out = run(capsys, *sample[0].removeprefix("$ python -m bot check-config ").split())
    assert status == 0
    assert out.splitlines() == sample[1:]
