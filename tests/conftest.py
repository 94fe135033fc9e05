from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.github.client import GitHubApp
from bot.service.server import create_app
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub
from tests.support import Bot, settings_for

pytest_plugins = ["tests.fakegithub.pytest_plugin"]


@pytest.fixture
def clock(fake_github: FakeGitHub) -> FakeClock:
    return FakeClock(fake_github.clock)  # type: ignore[arg-type]


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    """Settings the ``bot`` fixture is given beyond the fake's: a test module overrides this."""
    return {}


@pytest.fixture
async def bot(
    fake_github: FakeGitHub, clock: FakeClock, aiohttp_client: Any, bot_settings: dict[str, Any]
) -> AsyncIterator[Bot]:
    settings = settings_for(fake_github, **bot_settings)
    app = create_app(settings, GitHubApp(settings, clock), clock)
    client = await aiohttp_client(app)
    yield Bot(app=app, client=client, fake=fake_github, clock=clock)
