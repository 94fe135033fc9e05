"""Clocks for the fake: anything with ``now()`` returning an aware :class:`datetime` will do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the fake needs of time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The wall clock (the default)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to, for deterministic timestamps.

    >>> clock = FrozenClock(datetime(2024, 5, 1, 12, tzinfo=UTC))
    >>> clock.advance(minutes=5).isoformat()
    '2024-05-01T12:05:00+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = when

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move forward by ``seconds`` plus any :class:`timedelta` keywords; returns the new now."""
        self._now += timedelta(seconds=seconds, **delta)
        return self._now


def iso(when: datetime | None) -> str | None:
    """GitHub's timestamp format: UTC, whole seconds, ``Z``."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
