"""Bad input never stops auditing (end to end, through signed webhooks).

A policy pattern or a ``.gitattributes`` line the regular-expression engine refuses, a pattern
that would take a backtracking engine forever, and file names whose UTF-8 takes three or four
bytes a character: every change is still judged, by the layers that remain, and its check run
is written with a record that reads back.
"""

from __future__ import annotations

from typing import Any

from bot.core.record import parse_record
from tests.fakegithub import FakeGitHub
from tests.support import Bot

REPO_POLICY = "octo-org/widgets:.github/countersign.yml"
ORG_POLICY = "octo-org/.github:.github/countersign.yml"
INVALID_RANGE = "rules:\n  - name: weird\n    paths: ['src/**', '[z-a]']\n    approvals: 3\n"


def make_repo(fake: FakeGitHub, policy: str | None = None) -> Any:
    repo = fake.add_repo("octo-org/widgets", protected=["main"])
    if policy is not None:
        repo.set_file(".github/countersign.yml", policy)
    for login in ("alice", "bob", "carol"):
        repo.set_permission(login, "write")
    return repo


async def merged(bot: Bot, repo: Any, files: dict[str, str | bytes], **options: Any) -> Any:
    """Open, approve (by bob), merge (by alice) and deliver; the merge commit's check run."""
    pr = repo.open_pull(author="alice", files=files, **options)
    pr.review("bob", "APPROVED")
    sha = pr.merge(by="alice")
    assert await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed")) == 202
    runs = [r for r in repo.check_runs.values() if r.head_sha == sha and r.name == "countersign"]
    assert len(runs) == 1, runs
    return runs[0]


async def test_an_invalid_pattern_in_the_repository_policy_is_a_policy_error(bot: Bot):
    repo = make_repo(bot.fake, INVALID_RANGE)
    run = await merged(bot, repo, {"configure.ac": "AC_INIT\n", "src/a.py": "x\n"})
    assert f"{REPO_POLICY}:3: rules\\[weird\\].paths\\[1\\]" in run.summary
    assert "is not a valid gitignore-style pattern" in run.summary
    record = parse_record(run.text)
    assert record is not None
    assert [r["name"] for r in record["requirements"]] == ["review", "build-system"]
    assert record["conclusion"] == run.conclusion == "failure"  # the shipped default applied
    assert record["policy_errors"][0].startswith(f"{REPO_POLICY}:3: ")


async def test_an_invalid_pattern_in_the_organisation_policy_is_a_policy_error(bot: Bot):
    org = bot.fake.add_repo("octo-org/.github")
    org.set_file(".github/countersign.yml", INVALID_RANGE)
    repo = make_repo(bot.fake, "rules:\n  - name: sources\n    paths: ['src/']\n    approvals: 2\n")
    run = await merged(bot, repo, {"src/a.py": "x\n"})
    assert f"{ORG_POLICY}:3:" in run.summary
    record = parse_record(run.text)
    assert record is not None
    sources = next(r for r in record["requirements"] if r["name"] == "sources")
    assert sources["met"] is False and sources["needed"] == 2  # the repository's layer applied
    assert "weird" not in [r["name"] for r in record["requirements"]]
    assert run.conclusion == "neutral"


async def test_gitattributes_lines_that_cannot_be_parsed_are_skipped(bot: Bot):
    repo = make_repo(bot.fake)
    repo.set_file(".gitattributes", "[z-a] binary\n*.dat binary\n")
    run = await merged(bot, repo, {"tests/sample.dat": "plain looking text\n"})
    record = parse_record(run.text)
    assert record is not None and record["binary_files"] == ["tests/sample.dat"]
    assert run.conclusion == "failure"  # the binaries rule asks for 2 fresh approvals


async def test_a_catastrophic_pattern_does_not_stall_the_judgement(bot: Bot):
    pattern = "*a*a*a*a*a*a*a*a*b"
    repo = make_repo(bot.fake, f"rules:\n  - name: odd\n    paths: ['{pattern}']\n")
    repo.set_file(".gitattributes", f"{pattern} -diff\n")
    long = "a" * 200
    run = await merged(bot, repo, {f"src/{long}": "x\n", f"src/{long}b": "y\n"})
    record = parse_record(run.text)
    assert record is not None
    odd = next(r for r in record["requirements"] if r["name"] == "odd")
    assert odd["matched_files"] == [f"src/{long}b"]
    assert record["binary_files"] == [f"src/{long}b"]


async def test_many_non_ascii_file_names_still_get_a_check_run_with_its_record(bot: Bot):
    repo = make_repo(bot.fake)
    files: dict[str, str | bytes] = {
        f"文書/{'漢字のファイル名' * 6}-{n:03d}-😀.txt": f"{n}\n" for n in range(400)
    }
    run = await merged(bot, repo, files, title="修正 😀 " * 20)
    assert run.conclusion == "success"
    assert len(run.text.encode()) <= 65535 and len(run.summary.encode()) <= 65535
    record = parse_record(run.text)
    assert record is not None
    assert record["status"] == "reviewed" and record["title"] == "修正 😀 " * 20
    assert record["truncated"] is True and record["files_total"] == 400
