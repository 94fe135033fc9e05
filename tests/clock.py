"""A clock for the bot in tests: time moves only when the code sleeps or a test says so.

It shares its wall time with the fake GitHub's :class:`FrozenClock`, so JWTs, token expiry and
timestamps agree on both sides of the wire.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from tests.fakegithub import FrozenClock


class FakeClock:
    def __init__(self, frozen: FrozenClock | None = None) -> None:
        self.frozen = frozen or FrozenClock()
        self._monotonic = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.frozen.now()

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self.frozen.advance(seconds)
        self._monotonic += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    def random(self) -> float:
        return 0.5
