"""Redelivery: ask GitHub again for the webhook deliveries that never got through.

GitHub keeps an App's webhook deliveries (``GET /app/hook/deliveries``, newest first, paginated by
cursor) and redelivers one on request (``POST /app/hook/deliveries/{id}/attempts``), for
deliveries of the last 3 days. :func:`redeliver_failed` groups the deliveries of that window by
GUID (a redelivery keeps its GUID) and asks, once, for each whose every attempt failed. A GUID that
succeeded on a later attempt, or that was redelivered already (by this job or by someone on
GitHub's settings page), is left alone: GitHub's own list is the record of what was asked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from gidgethub import BadRequest, GitHubException

from bot.github.client import GitHubClient, is_rate_limit
from bot.github.window import parse_time

logger = logging.getLogger(__name__)

WINDOW: Final = timedelta(days=3)
"""GitHub redelivers deliveries of the last 3 days only."""


def succeeded(delivery: dict[str, Any]) -> bool:
    """Whether a delivery attempt got a 2xx answer.

    >>> succeeded({"status_code": 202}), succeeded({"status_code": 0}), succeeded({})
    (True, False, False)
    """
    code = delivery.get("status_code")
    return isinstance(code, int) and 200 <= code < 300


@dataclass
class RedeliveryOutcome:
    listed: int = 0
    failed: list[str] = field(default_factory=list)
    """GUIDs whose every attempt failed and that were not redelivered before."""
    asked: list[int] = field(default_factory=list)
    """The delivery ids GitHub was asked to redeliver (and accepted)."""
    refused: list[int] = field(default_factory=list)


async def redeliver_failed(gh: GitHubClient, jwt: str, now: datetime) -> RedeliveryOutcome:
    """Redeliver, once, every delivery of the last 3 days whose every attempt failed. ``gh`` is
    the App's client and ``jwt`` its token (these are App endpoints)."""
    outcome = RedeliveryOutcome()
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    oldest = now - WINDOW
    async for delivery in gh.getiter("/app/hook/deliveries?per_page=100", jwt=jwt):
        when = parse_time(delivery.get("delivered_at"))
        if when is not None and when < oldest:
            break  # newest first: the rest are older still
        outcome.listed += 1
        attempts[str(delivery.get("guid"))].append(delivery)
    for guid, tries in attempts.items():
        if any(succeeded(t) for t in tries) or any(t.get("redelivery") for t in tries):
            continue
        outcome.failed.append(guid)
        newest = max(tries, key=lambda t: int(t["id"]))
        try:
            await gh.post(
                "/app/hook/deliveries/{id}/attempts", {"id": int(newest["id"])}, data={}, jwt=jwt
            )
        except GitHubException as exc:
            if is_rate_limit(exc):
                raise
            # gone, too old by now, or GitHub failing: the others are still asked for
            log_level = logging.INFO if isinstance(exc, BadRequest) else logging.WARNING
            logger.log(
                log_level,
                "redelivery refused",
                extra={"delivery": newest["id"], "status": getattr(exc, "status_code", None)},
            )
            outcome.refused.append(int(newest["id"]))
            continue
        outcome.asked.append(int(newest["id"]))
    logger.info(
        "redelivery",
        extra={
            "listed": outcome.listed,
            "failed": len(outcome.failed),
            "asked": len(outcome.asked),
        },
    )
    return outcome
