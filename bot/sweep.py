"""The sweep: no landed change goes unjudged, even when its webhook was lost.

Webhooks get lost (GitHub gives up after 10 s, a server restarts with work acknowledged but not
done). :func:`sweep_repository` lists every change that landed on the repository's audited
branches in a window (:mod:`bot.github.window`: merged pull requests, and pushes from GitHub's
repository activity list, which names who pushed and whether it was forced) and audits, through
the same use cases a webhook runs (:func:`bot.audit.audit_merged_pull_request`,
:func:`bot.audit.audit_push`), each that has no record yet. A change with a record is not touched.
It never invents a webhook payload.

Each audit is handed to ``run`` with the change's queue key, so that in the server a sweep and a
live delivery about the same change never run at once (the work queue serialises them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from bot import audit
from bot.core.change import ChangeId
from bot.github.client import GitHubClient
from bot.github.window import Landed, landed_in
from bot.services import Services

logger = logging.getLogger(__name__)

GRACE: Final = timedelta(minutes=10)
"""Changes younger than this are left to their webhooks (which arrive within seconds): a sweep
never races a live delivery about the same change, on this replica or another."""

Job = Callable[[], Awaitable[None]]
Runner = Callable[[str, str, Job], Awaitable[None]]
"""How an audit is run: given the change's queue key, a label, and the job."""


async def run_now(key: str, label: str, job: Job) -> None:
    """Run the audit at once (the command line)."""
    await job()


@dataclass
class SweepOutcome:
    repository: str
    landed: int = 0
    recorded: int = 0
    audited: list[str] = field(default_factory=list)
    """The keys of the changes that had no record and were handed to the audit."""


def _job(gh: GitHubClient, services: Services, landed: Landed, default_branch: str) -> Job:
    change = landed.change

    async def job() -> None:
        if change.kind == "pull_request":
            assert change.number is not None
            await audit.audit_merged_pull_request(gh, services, change.repo, change.number)
        else:
            await audit.audit_push(
                gh, services, change, pusher=landed.by, default_branch=default_branch
            )

    return job


def _label(change: ChangeId) -> str:
    # the labels a webhook's work carries, so a sweep and a delivery collapse into one
    return "merge-audit" if change.kind == "pull_request" else f"push:{change.key}"


async def sweep_repository(
    gh: GitHubClient,
    services: Services,
    repo: str,
    since: datetime,
    until: datetime | None = None,
    run: Runner = run_now,
) -> SweepOutcome:
    """Audit every change that landed on ``repo``'s audited branches in the window and has no
    record; returns what was found and handed on."""
    window, found = await landed_in(gh, services, repo, since, until)
    outcome = SweepOutcome(repo, landed=len(found))
    for landed in found:
        if landed.record is not None:
            outcome.recorded += 1
            continue
        change = landed.change
        outcome.audited.append(change.key)
        await run(
            change.queue_key, _label(change), _job(gh, services, landed, window.default_branch)
        )
    logger.info(
        "sweep",
        extra={
            "repository": repo,
            "landed": outcome.landed,
            "recorded": outcome.recorded,
            "audited": len(outcome.audited),
        },
    )
    return outcome
