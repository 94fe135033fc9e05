"""``python -m bot demo``: the scripted week against the GitHub stand-in, as a smoke test of the whole
App (the real server on loopback, signed webhooks over HTTP, the scheduler's digest)."""

from __future__ import annotations

import dataclasses
import html
import io
import json
import re
from pathlib import Path

import pytest

from bot.__main__ import main as bot_main
from bot.cli import demo


def table_row(page: str, slug: str) -> str:
    """The summary table's row of one change."""
    match = re.search(rf'<tr><td>\w+</td><td><a href="#\d+-{slug}">.*?</tr>', page, re.S)
    assert match is not None, slug
    return match.group(0)


def test_the_week_gives_the_scripted_verdicts_and_a_report(tmp_path: Path):
    out = io.StringIO()
    status = demo.run(tmp_path / "report", stdout=out, stderr=out)
    printed = out.getvalue()
    assert status == 0, printed
    assert "every verdict is as scripted" in printed
    # one line per change (what it was, status, conclusion), then the digest: one screen
    verdicts = json.loads((tmp_path / "report" / "verdicts.json").read_text())
    lines = printed.splitlines()
    assert len(lines) < 24
    for change in verdicts["changes"]:
        (line,) = [ln for ln in lines if change["what"] in ln]
        expected = demo.EXPECTED[change["change"]]
        assert re.search(rf"\s{expected.status}\s+{expected.conclusion}\s.*\bok\b", line), line
    assert re.search(r"weekly digest, issue #\d+ +2 reviewed, 4 not, 3 open +ok", printed)

    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    for slug, expected in demo.EXPECTED.items():
        row = table_row(page, slug)
        assert f"<strong>{expected.status}</strong>" in row, row
        assert f'<span class="badge {expected.conclusion}">' in row, row
        assert "as scripted" in row
    # GitHub hides the hidden markers, shows Mermaid as a chart: here as its source
    assert "countersign:record" not in page and "&lt;!--" not in page
    assert '<pre class="mermaid">xychart-beta' in page
    assert "countersign digest: demo-org/compressor 2024-W13" in html.unescape(page)

    assert [c["change"] for c in verdicts["changes"]] == list(demo.EXPECTED)
    assert all(c["got"] == c["expected"] for c in verdicts["changes"])
    sources = tmp_path / "report" / "markdown"
    summary = (sources / "2-m4-self-merge" / "check-run.summary.md").read_text(encoding="utf-8")
    assert summary.startswith("**Unreviewed**")
    assert "<!-- countersign:record v1 " in (
        sources / "2-m4-self-merge" / "check-run.text.md"
    ).read_text(encoding="utf-8")
    assert (sources / "7-digest" / "digest-issue.md").exists()
    assert '"level": "error"' not in (tmp_path / "report" / "bot.log").read_text()


def test_a_verdict_the_script_did_not_expect_exits_1_with_the_difference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    wrong = dataclasses.replace(demo.EXPECTED["reviewed-fix"], conclusion="failure")
    monkeypatch.setitem(demo.EXPECTED, "reviewed-fix", wrong)
    monkeypatch.setattr(
        demo, "EXPECTED_DIGEST", dataclasses.replace(demo.EXPECTED_DIGEST, reviewed=3)
    )
    out = io.StringIO()
    status = demo.run(tmp_path, stdout=out, stderr=out)
    printed = out.getvalue()
    assert status == 1, printed
    assert "the week did not go as scripted" in printed
    assert "reviewed-fix: conclusion: expected 'failure', got 'success'" in printed
    assert "digest: reviewed: expected 3, got 2" in printed
    row = table_row((tmp_path / "index.html").read_text(encoding="utf-8"), "reviewed-fix")
    assert "differs" in row and "expected &#x27;failure&#x27;" in row


def test_main_takes_its_own_arguments_and_python_m_bot_knows_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    seen: list[Path] = []

    def fake_run(out: Path, **_: object) -> int:
        seen.append(out)
        return 0

    monkeypatch.setattr(demo, "run", fake_run)
    assert demo.main(["--out", str(tmp_path / "a")]) == 0
    assert bot_main(["demo", "--out", str(tmp_path / "b")]) == 0
    assert bot_main(["demo"]) == 0
    assert seen == [tmp_path / "a", tmp_path / "b", Path("countersign-demo")]


def test_without_the_stand_in_it_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(demo, "load_fake", lambda: (None, "No module named 'graphql'"))
    out = io.StringIO()
    assert demo.run(tmp_path / "report", stdout=out, stderr=out) == 2
    assert "pip install 'countersign[demo]'" in out.getvalue()
    assert not (tmp_path / "report").exists()


def test_without_github_fixtures_it_says_where_they_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fake_module, _ = demo.load_fake()
    assert fake_module is not None
    fixtures = __import__(f"{fake_module.__name__}.fixtures", fromlist=["FIXTURES"])
    monkeypatch.setattr(fixtures, "FIXTURES", tmp_path / "nowhere")
    out = io.StringIO()
    assert demo.run(tmp_path / "report", stdout=out, stderr=out) == 2
    assert (
        "COUNTERSIGN_FIXTURES" in out.getvalue() and "../shared/github-fixtures" in out.getvalue()
    )


def test_python_m_bot_demo_runs_as_the_readme_says(tmp_path: Path):
    """The README's second command, as a process of its own (run from outside the checkout)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(tmp_path / "report")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every verdict is as scripted" in result.stdout
    assert (tmp_path / "report" / "index.html").is_file()
