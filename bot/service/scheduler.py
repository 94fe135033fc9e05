"""One scheduler for the periodic jobs, inside the server, on the injected clock.

- **sweep**: at start-up and every hour, every repository of every installation is swept for
  changes that landed in the last 48 hours without a record (:mod:`bot.sweep`);
- **redelivery**: at start-up and every 6 hours, failed webhook deliveries of the last 3 days are
  redelivered once (:mod:`bot.redelivery`);
- **digest**: every hour, each repository whose weekly digest is due (its policy's ``digest``
  day and hour have come this week) and not yet posted by this process gets it
  (:mod:`bot.digest`); a restart posts it again, which updates the same issue.

Each unit of work goes to the work queue under its own key (a change's audit under the change's,
so a sweep and a live delivery for the same change never run at once). :meth:`Scheduler.tick`
runs what is due now: tests move the clock and call it, never wait.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Final

from bot import digest, redelivery, sweep
from bot.core.digest import Week, due_week
from bot.github import apps, gather
from bot.github.client import GitHubClient
from bot.service.work import WorkQueue, log_failure
from bot.services import Services

logger = logging.getLogger(__name__)

SWEEP_EVERY: Final = timedelta(hours=1)
SWEEP_WINDOW: Final = timedelta(hours=48)
REDELIVER_EVERY: Final = timedelta(hours=6)
DIGEST_EVERY: Final = timedelta(hours=1)
SCHEDULER_KEY: Final = "scheduler"


class Scheduler:
    def __init__(self, services: Services, queue: WorkQueue) -> None:
        self.services = services
        self.queue = queue
        self.last: dict[str, datetime] = {}
        self.posted: set[tuple[str, str]] = set()
        self.jobs: dict[str, tuple[timedelta, Callable[[], Awaitable[None]]]] = {
            "redelivery": (REDELIVER_EVERY, self.redeliver),
            "sweep": (SWEEP_EVERY, self.sweep),
            "digest": (DIGEST_EVERY, self.digests),
        }

    def due(self, now: datetime) -> list[str]:
        return [
            name
            for name, (every, _) in self.jobs.items()
            if name not in self.last or now - self.last[name] >= every
        ]

    def seconds_to_next(self, now: datetime) -> float:
        waits = [
            (self.last[name] + every - now).total_seconds() if name in self.last else 0.0
            for name, (every, _) in self.jobs.items()
        ]
        return max(60.0, min(waits))

    async def tick(self) -> list[str]:
        """Run every job that is due; returns their names. A job that fails is logged and tried
        again when it is next due."""
        now = self.services.clock.now()
        ran = []
        for name in self.due(now):
            self.last[name] = now
            try:
                await self.jobs[name][1]()
            except Exception as exc:
                log_failure(logger, f"{name} failed", exc, job=name)
            ran.append(name)
        return ran

    async def run_forever(self) -> None:
        while True:
            await self.tick()
            await self.services.clock.sleep(self.seconds_to_next(self.services.clock.now()))

    # -- the jobs --------------------------------------------------------------------------
    async def redeliver(self) -> None:
        github = self.services.github
        await redelivery.redeliver_failed(
            github.app_client(), github.jwt(), self.services.clock.now()
        )

    async def _queued(self, key: str, label: str, job: Callable[[], Awaitable[None]]) -> None:
        self.queue.submit(key, label, job, {"job": "sweep"})

    async def sweep(self) -> None:
        now = self.services.clock.now()
        for gh, repo in await apps.repositories(self.services.github):
            try:
                await sweep.sweep_repository(
                    gh, self.services, repo, now - SWEEP_WINDOW, now - sweep.GRACE, self._queued
                )
            except Exception as exc:
                log_failure(logger, "sweep failed", exc, repository=repo)

    async def digests(self) -> None:
        now = self.services.clock.now()
        for gh, repo in await apps.repositories(self.services.github):
            try:
                week = await self._due(gh, repo, now)
            except Exception as exc:
                log_failure(logger, "digest schedule failed", exc, repository=repo)
                continue
            if week is None or (repo, week.text) in self.posted:
                continue
            self.queue.submit(
                f"{repo}@digest:{week.text}", "digest", self._digest_job(gh, repo, week)
            )

    async def _due(self, gh: GitHubClient, repo: str, now: datetime) -> Week | None:
        owner, name = repo.split("/", 1)
        data = await gh.getitem("/repos/{owner}/{name}", {"owner": owner, "name": name})
        policy = await gather.policy_for(gh, self.services, repo, str(data["default_branch"]))
        return due_week(now, policy.digest)

    def _digest_job(self, gh: GitHubClient, repo: str, week: Week) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            await digest.post_digest(gh, self.services, repo, week)
            self.posted.add((repo, week.text))

        return job
