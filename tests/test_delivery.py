"""How a delivery's work runs: each handler on its own, logged with the delivery's identity,
no secret in any line, and at most N concurrent requests per installation."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import aiohttp
from gidgethub import routing

from bot import logs
from bot.github.client import GitHubApp
from bot.service.server import create_app
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub
from tests.support import Bot, settings_for
from tests.test_merge_audit import make_repo


async def test_a_failing_handler_never_stops_the_others(
    fake_github: FakeGitHub, clock: FakeClock, aiohttp_client: Any, caplog: Any
):
    router = routing.Router()
    ran: list[str] = []

    @router.register("pull_request", action="opened")
    async def a_broken_handler(event: Any, gh: Any, **kwargs: Any) -> None:
        raise RuntimeError("kaput")

    @router.register("pull_request", action="opened")
    async def b_working_handler(event: Any, gh: Any, **kwargs: Any) -> None:
        ran.append(event.delivery_id)

    settings = settings_for(fake_github)
    app = create_app(settings, GitHubApp(settings, clock), clock, router=router)
    bot = Bot(app=app, client=await aiohttp_client(app), fake=fake_github, clock=clock)
    repo = make_repo(fake_github)
    pr = repo.open_pull(author="alice", files={"a.py": "x\n"})
    stream = io.StringIO()
    logs.configure(stream=stream)
    try:
        assert await bot.deliver(fake_github.webhooks.pull_request(pr, "opened")) == 202
    finally:
        logging.getLogger().handlers.clear()
    assert len(ran) == 1
    failures = [json.loads(line) for line in stream.getvalue().splitlines()]
    failures = [line for line in failures if line["message"] == "handler failed"]
    assert len(failures) == 1
    assert failures[0]["delivery_id"] == ran[0]
    assert failures[0]["handler"].endswith("a_broken_handler")
    assert "kaput" in failures[0]["exception"]


async def test_every_line_of_a_delivery_carries_its_identity_and_no_secret(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", files={"configure": "#!/bin/sh\n"})
    pr.merge(by="alice")
    stream = io.StringIO()
    logs.configure(level=logging.DEBUG, stream=stream)
    try:
        await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    work = [line for line in lines if line["logger"].startswith("bot.")]
    assert any(line["message"] == "merge audited" for line in work)
    for line in work:
        assert line["delivery_id"] and line["event"] == "pull_request"
        assert line["installation"] == bot.fake.installation("octo-org").id
        assert line["repository"] == "octo-org/widgets"
    text = stream.getvalue()
    token, _ = bot.services.github._tokens[bot.fake.installation("octo-org").id]
    assert token not in text
    assert "PRIVATE KEY" not in text
    assert bot.services.settings.webhook_secret not in text


async def test_requests_per_installation_are_capped(fake_github: FakeGitHub, clock: FakeClock):
    in_flight = peak = 0

    async def started(*args: Any) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)

    async def ended(*args: Any) -> None:
        nonlocal in_flight
        in_flight -= 1

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(started)
    trace.on_request_end.append(ended)
    trace.on_request_exception.append(ended)
    make_repo(fake_github)
    installation = fake_github.installation("octo-org").id
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        settings = settings_for(fake_github, per_installation_requests=2)
        github = GitHubApp(settings, clock, session=session)
        gh = await github.for_installation(installation)
        await gh.getitem("/repos/octo-org/widgets")  # warm the fake up
        fake_github.latency = 0.01
        peak = 0
        await asyncio.gather(*(gh.getitem("/repos/octo-org/widgets") for _ in range(6)))
    assert peak == 2
    assert fake_github.count("GET /repos/{owner}/{repo}") == 7
