"""Time, sleeping and randomness, injected so that tests never wait for real."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the bot needs of time. The real one is :class:`SystemClock`; tests pass a fake."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""

    def random(self) -> float:
        """A number in [0, 1), for jitter."""


class SystemClock:
    """The wall clock, real sleeping and real randomness."""

    def __init__(self) -> None:
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def random(self) -> float:
        return self._random.random()
