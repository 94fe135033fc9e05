"""Background work, keyed so that events about the same thing run one at a time.

The webhook request path only enqueues; the work runs here. Each job has a *key* (one pull request,
or one branch) and a *label* (what it does). Jobs with the same key run one after another, in the
order they arrived, so a slow old run can never overwrite a newer result. A job submitted while an
identical (same key and label) job is still waiting replaces it: a burst collapses into one more run.
Different keys run concurrently, at most ``limit`` at a time. A failing job is logged and never stops
the others: :func:`log_failure` is the one place that tells an answer GitHub is expected to give (one
warning line with its status and route) from a bug (an error line with its traceback).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.github.client import refusal, request_route
from bot.logs import log_context

if TYPE_CHECKING:
    from bot.metrics import Metrics

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


def log_failure(log: logging.Logger, message: str, exc: BaseException, **fields: Any) -> None:
    """Log the exception that stopped a piece of work, once.

    A refusal GitHub is expected to give now and then (:func:`bot.github.refusal`: an installation
    removed or suspended, a repository the App lost access to, an over-limit write) is one warning
    line with its status, route and reason, and no traceback. Anything else is a bug: an error line
    with its traceback (and the route of the GitHub request that raised it, if one did).
    """
    refused = refusal(exc)
    if refused is not None:
        log.warning(f"{message}: refused by GitHub", extra={**fields, **refused.fields()})
        return
    route = request_route(exc)
    log.error(message, exc_info=exc, extra={**fields, **({"route": route} if route else {})})


@dataclass
class _Pending:
    label: str
    job: Job
    context: Mapping[str, Any]
    collapsed: int = 0


@dataclass
class _Lane:
    pending: list[_Pending] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class WorkQueue:
    """Keyed, bounded, collapsing background work."""

    def __init__(self, limit: int, *, metrics: Metrics | None = None) -> None:
        self._limit = asyncio.Semaphore(limit)
        self._metrics = metrics  # where each job's duration is observed, by kind
        self._lanes: dict[str, _Lane] = {}
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    @property
    def queued(self) -> int:
        return sum(len(lane.pending) for lane in self._lanes.values())

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(
        self, key: str, label: str, job: Job, context: Mapping[str, Any] | None = None
    ) -> bool:
        """Queue ``job``; returns False when it collapsed into an identical waiting one."""
        if self._closed:
            raise RuntimeError("the work queue is shut down")
        lane = self._lanes.setdefault(key, _Lane())
        entry = _Pending(label, job, dict(context or {}))
        for index, waiting in enumerate(lane.pending):
            if waiting.label == label:
                entry.collapsed = waiting.collapsed + 1
                lane.pending[index] = entry
                return False
        lane.pending.append(entry)
        self._idle.clear()
        if lane.task is None:
            lane.task = asyncio.create_task(self._run_lane(key, lane), name=f"lane {key}")
        return True

    async def _run_lane(self, key: str, lane: _Lane) -> None:
        try:
            while lane.pending:
                async with self._limit:
                    if not lane.pending:  # pragma: no cover - defensive
                        break
                    entry = lane.pending.pop(0)
                    self._in_flight += 1
                    started = time.monotonic()
                    try:
                        with log_context(**{"work_key": key, **entry.context}):
                            await self._run_one(key, entry)
                    finally:
                        self._in_flight -= 1
                        if self._metrics is not None:
                            self._metrics.job_done(entry.label, time.monotonic() - started)
        finally:
            lane.task = None
            if not lane.pending:
                self._lanes.pop(key, None)
            if not self._lanes:
                self._idle.set()

    @staticmethod
    async def _run_one(key: str, entry: _Pending) -> None:
        try:
            await entry.job()
        except asyncio.CancelledError:
            logger.warning("work cancelled", extra={"work_key": key, "label": entry.label})
            raise
        except Exception as exc:
            log_failure(logger, "work failed", exc, work_key=key, label=entry.label)

    async def join(self) -> None:
        """Wait until nothing is queued or running."""
        await self._idle.wait()

    async def drain(self, timeout: float) -> bool:
        """Stop accepting work and let running work finish for at most ``timeout`` seconds.

        Returns True when everything finished; what is still running after that is cancelled.
        """
        self._closed = True
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if not tasks:
            return True
        _, still_running = await asyncio.wait(tasks, timeout=timeout)
        for task in still_running:
            task.cancel()
        if still_running:
            logger.warning("shutdown cut work short", extra={"cancelled": len(still_running)})
            await asyncio.gather(*still_running, return_exceptions=True)
        return not still_running
