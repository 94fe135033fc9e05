"""Building policies from YAML layers in tests: the shipped default, then an organisation's and a
repository's files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from bot.core.policy import Policy, PolicySource, load_policy, shipped_default

ORG = "octo-org/.github:.github/countersign.yml"
REPO = "octo-org/cpython:.github/countersign.yml"
ROOT = Path(__file__).resolve().parents[1]


def yml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def layered(*texts: str | None, repo: str = REPO) -> Policy:
    """The shipped default with ``texts`` over it (org first, then repo)."""
    names = [ORG, repo, "third.yml"]
    return load_policy(
        [shipped_default(), *(PolicySource(names[i], t) for i, t in enumerate(texts))]
    )


def alone(text: str, name: str = REPO) -> Policy:
    """The policy of ``text`` alone, without the shipped default beneath it."""
    return load_policy([PolicySource(name, yml(text))])


def run_check_config(path: Path) -> subprocess.CompletedProcess[str]:
    """``python -m bot check-config PATH`` as a process of its own, from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
