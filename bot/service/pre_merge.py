"""The pre-merge check: before anyone presses merge, say what review the policy still asks for.

A ``countersign`` check run on the head commit of every open pull request into an audited branch
(drafts included), judged by the same pure logic and the same policy as the merge audit, so that the
verdict before the merge and the record after it never disagree for the same facts. Re-judged
whenever the pull request or its reviews change, and when someone asks for a re-run.
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio

from bot import audit
from bot.github.client import GitHubClient
from bot.services import Services

logger = logging.getLogger(__name__)

router = routing.Router()


async def _judge_from_pull(
    gh: GitHubClient, services: Services, data: dict[str, Any], pull: dict[str, Any]
) -> None:
    if pull.get("state") != "open":
        return
    repo = str(data["repository"]["full_name"])
    default_branch = str(data["repository"].get("default_branch") or pull["base"]["ref"])
    await audit.judge_open_pull_request(
        gh, services, repo, int(pull["number"]), str(pull["base"]["ref"]), default_branch
    )


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="ready_for_review")
@router.register("pull_request", action="edited")
async def pull_request_changed(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    if event.data["action"] == "edited" and "base" not in (event.data.get("changes") or {}):
        return  # a new title or body changes nothing the check judges
    await _judge_from_pull(gh, services, event.data, event.data["pull_request"])


@router.register("pull_request_review", action="submitted")
@router.register("pull_request_review", action="edited")
@router.register("pull_request_review", action="dismissed")
async def review_changed(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    await _judge_from_pull(gh, services, event.data, event.data["pull_request"])


def _is_ours(services: Services, app: dict[str, Any] | None) -> bool:
    return str((app or {}).get("id")) == str(services.settings.app_id)


@router.register("check_run", action="rerequested")
@router.register("check_suite", action="rerequested")
async def rerun_requested(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    subject = event.data[event.event]
    if not _is_ours(services, subject.get("app")):
        return
    repo = str(event.data["repository"]["full_name"])
    default_branch = str(event.data["repository"].get("default_branch") or "")
    for pull in subject.get("pull_requests") or []:
        base = str(pull["base"]["ref"])
        await audit.judge_open_pull_request(
            gh, services, repo, int(pull["number"]), base, default_branch or base
        )
