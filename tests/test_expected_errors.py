"""Answers GitHub is expected to give are not crashes: an installation removed or suspended, a
repository the App lost, an over-limit write each log one warning line with the status, the route
and the change, and no traceback; the server keeps serving. Anything else keeps its traceback."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from gidgethub import routing

from bot import logs
from bot.github.client import GitHubApp
from bot.service.server import create_app
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub
from tests.support import Bot, settings_for
from tests.test_merge_audit import make_repo, the_run

TOKEN_ROUTE = "POST /app/installations/{installation_id}/access_tokens"


@contextlib.contextmanager
def json_logs() -> Iterator[list[dict[str, Any]]]:
    """Every JSON line logged inside the block, parsed, in the list it yields (filled at exit)."""
    stream = io.StringIO()
    logs.configure(stream=stream)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        logging.getLogger().handlers.clear()
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def the_refusal(lines: list[dict[str, Any]], status: int, route: str) -> dict[str, Any]:
    """The one warning line of a refusal; nothing at error level, no traceback anywhere."""
    warnings = [line for line in lines if line["level"] == "warning"]
    assert len(warnings) == 1, warnings
    warning = warnings[0]
    assert (warning["status"], warning["route"]) == (status, route)
    assert "refused by GitHub" in warning["message"]
    assert [line for line in lines if line["level"] in ("error", "critical")] == []
    assert not any("exception" in line or "Traceback" in json.dumps(line) for line in lines)
    return warning


async def still_serving(bot: Bot) -> None:
    """The server answers, and judges a delivery for an installation that is still there."""
    health = await bot.client.get("/healthz")
    assert health.status == 200
    assert await health.json() == {"status": "ok", "queued": 0, "in_flight": 0}
    other = bot.fake.add_repo("other-org/tools", protected=["main"])
    pr = other.open_pull(author="erin", files={"a.py": "x\n"})
    sha = pr.merge(by="erin")
    assert await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed")) == 202
    assert the_run(other, sha).conclusion == "neutral"


async def merged_delivery(bot: Bot, **repo_options: Any) -> tuple[Any, Any, Any]:
    repo = make_repo(bot.fake, **repo_options)
    pr = repo.open_pull(author="alice", files={"src/a.py": "x\n"})
    pr.merge(by="alice")
    return repo, pr, bot.fake.webhooks.pull_request(pr, "closed")


async def test_a_removed_installation_is_one_warning_with_the_token_route(bot: Bot):
    _, pr, event = await merged_delivery(bot)  # delivered just before the App was uninstalled
    del bot.fake.world.installations[bot.fake.installation("octo-org").id]
    with json_logs() as lines:
        assert await bot.deliver(event) == 202
    warning = the_refusal(lines, 404, TOKEN_ROUTE)
    assert warning["repository"] == "octo-org/widgets"
    assert warning["work_key"] == f"octo-org/widgets#{pr.number}"
    assert warning["delivery_id"] and warning["handler"].endswith("audit_merged_pull_request")
    await still_serving(bot)


async def test_a_suspended_installation_is_one_warning_with_the_token_route(bot: Bot):
    _, pr, event = await merged_delivery(bot)
    bot.fake.installation("octo-org").suspended_at = bot.fake.world.now()
    with json_logs() as lines:
        await bot.deliver(event)
    warning = the_refusal(lines, 403, TOKEN_ROUTE)
    assert warning["work_key"] == f"octo-org/widgets#{pr.number}"
    assert "suspended" in warning["reason"]
    await still_serving(bot)


async def test_a_public_repository_the_app_lost_is_one_warning_at_the_first_write(bot: Bot):
    repo, _, event = await merged_delivery(bot)
    bot.fake.installation("octo-org").remove_repository(repo)
    with json_logs() as lines:
        await bot.deliver(event)
    warning = the_refusal(lines, 403, "POST /repos/{owner}/{name}/check-runs")
    assert warning["repository"] == "octo-org/widgets"
    token, _ = bot.services.github._tokens[bot.fake.installation("octo-org").id]
    assert token not in json.dumps(lines)
    await still_serving(bot)


async def test_a_private_repository_the_app_lost_is_one_warning_from_graphql(bot: Bot):
    repo, _, event = await merged_delivery(bot, private=True)
    bot.fake.installation("octo-org").remove_repository(repo)
    with json_logs() as lines:
        await bot.deliver(event)
    warning = the_refusal(lines, 404, "POST /graphql")
    assert warning["graphql_type"] == "NOT_FOUND"
    await still_serving(bot)


async def app_with(
    fake_github: FakeGitHub, clock: FakeClock, aiohttp_client: Any, router: routing.Router
) -> Bot:
    settings = settings_for(fake_github)
    app = create_app(settings, GitHubApp(settings, clock), clock, router=router)
    return Bot(app=app, client=await aiohttp_client(app), fake=fake_github, clock=clock)


async def test_an_over_limit_write_is_one_warning(
    fake_github: FakeGitHub, clock: FakeClock, aiohttp_client: Any
):
    router = routing.Router()

    @router.register("pull_request", action="opened")
    async def write_too_much(event: Any, gh: Any, **kwargs: Any) -> None:
        await gh.post(
            "/repos/{owner}/{repo}/check-runs",
            {"owner": "octo-org", "repo": "widgets"},
            data={
                "name": "countersign",
                "head_sha": event.data["pull_request"]["head"]["sha"],
                "output": {"title": "t", "summary": "x" * 70_000},
            },
        )

    bot = await app_with(fake_github, clock, aiohttp_client, router)
    pr = make_repo(fake_github).open_pull(author="alice", files={"a.py": "x\n"})
    with json_logs() as lines:
        assert await bot.deliver(fake_github.webhooks.pull_request(pr, "opened")) == 202
    warning = the_refusal(lines, 422, "POST /repos/{owner}/{repo}/check-runs")
    assert warning["work_key"] == f"octo-org/widgets#{pr.number}"
    assert warning["handler"].endswith("write_too_much")
    assert (await bot.client.get("/healthz")).status == 200


async def test_an_outage_or_a_bug_keeps_its_traceback_and_names_the_route(
    fake_github: FakeGitHub, clock: FakeClock, aiohttp_client: Any
):
    router = routing.Router()

    @router.register("pull_request", action="opened")
    async def read_during_an_outage(event: Any, gh: Any, **kwargs: Any) -> None:
        await gh.getitem("/repos/{owner}/{repo}", {"owner": "octo-org", "repo": "widgets"})

    bot = await app_with(fake_github, clock, aiohttp_client, router)
    pr = make_repo(fake_github).open_pull(author="alice", files={"a.py": "x\n"})
    fake_github.inject_fault(500, route="GET /repos/{owner}/{repo}", times=5)
    with json_logs() as lines:
        await bot.deliver(fake_github.webhooks.pull_request(pr, "opened"))
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["message"] == "handler failed"
    assert errors[0]["route"] == "GET /repos/{owner}/{repo}"
    assert "GitHubBroken" in errors[0]["exception"]
    assert "GitHub route: GET /repos/{owner}/{repo}" in errors[0]["exception"]
    assert not any(line["level"] == "warning" and "status" in line for line in lines)
