"""Installations end to end: what the bot caches about an installation, or a repository, the App
lost is forgotten; installation events are keyed sensibly and agree with the manifest and README."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gidgethub import sansio

from bot.service.routing import build_router, work_key
from tests.support import Bot
from tests.test_merge_audit import make_repo, merge_and_deliver, record

ROOT = Path(__file__).resolve().parents[1]


def seed_caches(bot: Bot, repo: str) -> None:
    """An entry in each repository-keyed cache, as the handlers would leave them."""
    caches = bot.services.caches
    caches.branches[repo] = frozenset({"main"})
    caches.permissions[(repo, "bob")] = "write"
    caches.files[(repo, 1, "a" * 40)] = ()
    caches.teams[(repo.split("/")[0], "reviewers")] = frozenset({"bob"})


def entries_about(bot: Bot, repo: str) -> list[str]:
    caches = bot.services.caches
    found = []
    for name in ("policies", "branches", "permissions", "files"):
        for key in getattr(caches, name):
            if (key[0] if isinstance(key, tuple) else key) == repo:
                found.append(name)
    return found


async def test_removed_repositories_are_forgotten_and_their_policy_read_fresh(bot: Bot):
    fake = bot.fake
    repo = make_repo(fake)
    other = fake.add_repo("octo-org/gadgets")
    first = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    sha = await merge_and_deliver(bot, first, by="alice")  # caches the policy (1 approval)
    assert record(repo, sha)["status"] == "unreviewed"
    seed_caches(bot, "octo-org/widgets")
    seed_caches(bot, "octo-org/gadgets")
    assert set(entries_about(bot, "octo-org/widgets")) == {
        "policies",
        "branches",
        "permissions",
        "files",
    }

    installation = fake.installation("octo-org")
    installation.remove_repository(repo)
    fake.reset_counts()
    removed = fake.webhooks.installation_repositories(installation, "removed", [repo])
    assert await bot.deliver(removed) == 202
    assert entries_about(bot, "octo-org/widgets") == []
    assert entries_about(bot, "octo-org/gadgets") == ["branches", "permissions", "files"]
    assert ("octo-org", "reviewers") in bot.services.caches.teams  # the organisation's, kept
    assert fake.count() == 0  # forgetting asks GitHub nothing

    # the policy changes while the App is away; when it comes back, the new one applies
    repo.set_file(".github/countersign.yml", "review:\n  approvals: 0\n")
    installation.add_repository(repo)
    second = repo.open_pull(author="alice", files={"src/b.py": "x\n"})
    sha = await merge_and_deliver(bot, second, by="alice")
    assert record(repo, sha)["status"] == "reviewed"
    assert other.full_name == "octo-org/gadgets"


async def test_removing_the_organisation_policy_repository_forgets_every_policy_of_its_owner(
    bot: Bot,
):
    fake = bot.fake
    org_policy = fake.add_repo("octo-org/.github")
    make_repo(fake)
    caches = bot.services.caches
    caches.policies["octo-org/widgets"] = object()
    caches.policies["octo-org/.github"] = object()
    caches.policies["other-org/widgets"] = object()
    installation = fake.installation("octo-org")
    installation.remove_repository(org_policy)
    await bot.deliver(
        fake.webhooks.installation_repositories(installation, "removed", [org_policy])
    )
    assert list(caches.policies) == ["other-org/widgets"]


async def test_a_deleted_installation_forgets_its_token_and_its_account(bot: Bot):
    fake = bot.fake
    repo = make_repo(fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    await merge_and_deliver(bot, pr, by="alice")
    installation = fake.installation("octo-org")
    github = bot.services.github
    assert installation.id in github._tokens
    seed_caches(bot, "octo-org/widgets")
    bot.services.caches.teams[("other-org", "reviewers")] = frozenset()

    del fake.world.installations[installation.id]
    fake.reset_counts()
    assert await bot.deliver(fake.webhooks.installation(installation, "deleted")) == 202
    assert installation.id not in github._tokens
    assert entries_about(bot, "octo-org/widgets") == []
    assert list(bot.services.caches.teams) == [("other-org", "reviewers")]
    assert fake.count() == 0  # no token asked for an installation that is gone


async def test_a_suspended_installation_forgets_its_token(bot: Bot):
    fake = bot.fake
    repo = make_repo(fake)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    await merge_and_deliver(bot, pr, by="alice")
    installation = fake.installation("octo-org")
    assert installation.id in bot.services.github._tokens
    installation.suspended_at = fake.world.now()
    assert await bot.deliver(fake.webhooks.installation(installation, "suspend")) == 202
    assert installation.id not in bot.services.github._tokens
    assert entries_about(bot, "octo-org/widgets") == []


def test_installation_work_is_keyed_by_installation_and_never_collapses():
    def key(event: str, action: str, delivery: str) -> tuple[str, str]:
        data = {"action": action, "installation": {"id": 7}}
        return work_key(sansio.Event(data, event=event, delivery_id=delivery))

    assert key("installation", "deleted", "d-1") == ("installation:7", "installation:deleted:d-1")
    first = key("installation_repositories", "removed", "d-1")
    second = key("installation_repositories", "removed", "d-2")
    assert first[0] == second[0] == "installation:7"
    assert first[1] != second[1]  # two removals waiting never collapse into one


def _readme_events() -> set[str]:
    """The events named in the README's "Registering the GitHub App" bullet (and its lines)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("- **Events**"))
    bullet = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        bullet.append(line)
    return set(re.findall(r"`([a-z_]+)`", " ".join(bullet)))


def test_manifest_and_readme_list_the_events_that_are_handled():
    manifest = json.loads((ROOT / "config" / "app-manifest.json").read_text())
    subscribed = set(manifest["default_events"])
    router = build_router()
    handled = set(router._shallow_routes) | set(router._deep_routes)
    automatic = {"installation", "installation_repositories"}
    assert handled - automatic == subscribed  # every handled event is asked for, no more
    assert automatic <= handled
    assert (
        not automatic & subscribed
    )  # GitHub sends these to every App; a manifest cannot list them
    assert _readme_events() == handled  # the subscribed ones, and the two that come unasked
