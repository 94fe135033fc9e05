"""The command line: ``python -m bot check-config FILE`` and ``serve``'s refusal to start unconfigured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakegithub.auth import private_key_pem

ROOT = Path(__file__).resolve().parents[1]
BROKEN_KEY = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n-----END RSA PRIVATE KEY-----\n"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env if env is not None else {"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )


def test_check_config_accepts_the_shipped_default():
    result = run("check-config", "config/default.yml")
    assert result.returncode == 0
    assert result.stdout.strip() == "config/default.yml: ok"


def test_check_config_reports_file_line_and_problem(tmp_path: Path):
    policy = tmp_path / "countersign.yml"
    policy.write_text("review:\n  approvals: 1\n  severity: extreme\n")
    result = run("check-config", str(policy))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{policy}:3: ")
    assert "severity" in result.stdout


def test_serve_refuses_to_start_without_its_secrets():
    result = run("serve")
    assert result.returncode == 2
    for name in ("GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY"):
        assert name in result.stderr


def configured(**overrides: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_APP_ID": "42",
        "GITHUB_PRIVATE_KEY": private_key_pem(),
        "GITHUB_WEBHOOK_SECRET": "s3cret",
        "HOST": "127.0.0.1",
        "PORT": "1",  # never reached: each case stops before listening
    }
    env.update(overrides)
    return env


def test_serve_refuses_a_private_key_that_does_not_parse():
    result = run("serve", env=configured(GITHUB_PRIVATE_KEY=BROKEN_KEY))
    assert result.returncode == 2
    assert "GITHUB_PRIVATE_KEY" in result.stderr and "does not parse" in result.stderr
    assert "c2VjcmV0" not in result.stderr + result.stdout


def test_serve_refuses_a_non_numeric_app_id():
    result = run("serve", env=configured(GITHUB_APP_ID="countersign"))
    assert result.returncode == 2
    assert "GITHUB_APP_ID" in result.stderr and "not a number" in result.stderr
