"""The bot under test: the real app, served by aiohttp's test server, talking to the fake GitHub.

``Bot.deliver`` signs and posts a webhook built by the fake (from GitHub's own examples, validated
against GitHub's schemas) to ``POST /webhook`` and waits until the background work is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.service.server import QUEUE, SERVICES
from bot.settings import Settings
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub

SECRET = "webhook-secret-for-tests"


def settings_for(fake: FakeGitHub, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_id": str(fake.app_id),
        "private_key": fake.private_key_pem,
        "webhook_secret": SECRET,
        "api_url": fake.base_url,
        "graphql_url": fake.graphql_url,
        "request_timeout": 10.0,
        "schedule": False,  # tests run the scheduler's jobs by calling tick(), never by waiting
    }
    values.update(overrides)
    return Settings(**values)


def app_env(fake: FakeGitHub) -> dict[str, str]:
    """The environment a command acting as the App reads, for the fake's App."""
    return {
        "GITHUB_APP_ID": str(fake.app_id),
        "GITHUB_PRIVATE_KEY": fake.private_key_pem,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": fake.base_url,
    }


@dataclass
class Bot:
    app: web.Application
    client: TestClient
    fake: FakeGitHub
    clock: FakeClock
    statuses: list[int] = field(default_factory=list)

    @property
    def services(self) -> Any:
        return self.app[SERVICES]

    async def idle(self) -> None:
        await self.app[QUEUE].join()

    async def post(self, headers: dict[str, str], body: bytes) -> Any:
        return await self.client.post("/webhook", data=body, headers=headers)

    async def deliver(self, event: tuple[str, dict[str, Any]], *, wait: bool = True) -> int:
        headers, body = self.fake.webhooks.delivery(event, SECRET)
        response = await self.post(headers, body)
        await response.read()
        self.statuses.append(response.status)
        if wait:
            await self.idle()
        return response.status
