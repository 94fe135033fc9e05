"""Fixtures: ``fake_github`` (a started fake), ``fake_github_clock`` (its clock) and ``fake_pypi`` (a
started PyPI stand-in on the same clock).

Register with ``pytest_plugins = ["tests.fakegithub.pytest_plugin"]``.

``fake_github_clock`` is a :class:`FrozenClock` set to the wall-clock time (whole seconds) when the
test starts, so JWTs signed by real-time code (gidgethub's ``apps.get_jwt``) are accepted, while
time only moves when the test says so (``fake_github_clock.advance(minutes=61)`` expires the
installation tokens). Override the ``fake_github_clock`` fixture to share another clock (the bot's
fake clock, or ``FrozenClock()`` for timestamps and SHAs that never change).

A REST answer of the fake that did not match GitHub's published shape, or a crash inside the fake,
fails the test at teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from .clock import Clock, FrozenClock
from .pypi import FakePyPI
from .server import FakeGitHub


@pytest.fixture
def fake_github_clock() -> Clock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def fake_github(fake_github_clock: Clock) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(clock=fake_github_clock)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
    problems = fake.shape_errors + fake.internal_errors
    if problems:
        pytest.fail("the fake GitHub answered as GitHub would not:\n" + "\n".join(problems))


@pytest.fixture
async def fake_pypi(fake_github_clock: Clock) -> AsyncIterator[FakePyPI]:
    """A started :class:`FakePyPI` whose upload times come from ``fake_github_clock``."""
    async with FakePyPI(clock=fake_github_clock) as pypi:
        yield pypi
