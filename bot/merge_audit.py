"""The merge audit: every change that lands on an audited branch is judged, recorded and followed up.

Merged pull requests arrive as ``pull_request`` ``closed`` with ``merged: true``; direct pushes,
force pushes and branch deletions as ``push``. A merge also produces a push: a push whose every
commit arrived by a pull request merged into that branch is left to the pull request's audit.
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio

from bot import gather, publish
from bot.audit import is_audited
from bot.change import ChangeId
from bot.gather import split_repo
from bot.github import GitHubClient
from bot.offload import judge_off_loop
from bot.policy import REPO_POLICY_PATH
from bot.services import Services

logger = logging.getLogger(__name__)

router = routing.Router()


@router.register("pull_request", action="closed")
async def audit_merged_pull_request(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    pull = event.data["pull_request"]
    if not pull.get("merged"):
        return
    repo = str(event.data["repository"]["full_name"])
    branch = str(pull["base"]["ref"])
    default_branch = str(event.data["repository"].get("default_branch") or branch)
    audited, _ = await is_audited(gh, services, repo, branch, default_branch)
    if not audited:
        logger.info("branch not audited", extra={"branch": branch})
        return
    await audit_pull_request(gh, services, repo, int(pull["number"]), branch)


async def audit_pull_request(
    gh: GitHubClient, services: Services, repo: str, number: int, branch: str
) -> dict[str, Any]:
    """Judge merged pull request ``number`` and publish the verdict; returns the record.

    A pull request that already has its record is left as recorded: a redelivery or a re-run
    never judges it again (only a sign-off adds to it)."""
    gathered = await gather.gather_pull_request(gh, services, repo, number)
    if gathered.existing.landed:
        logger.info("merge already recorded", extra={"pull_request": number})
        return gathered.existing.record or {}
    verdict = await judge_off_loop(gathered.facts, gathered.policy)
    record = await publish.publish_audit(
        gh, gathered.facts, verdict, gathered.policy, gathered.existing, services.settings.app_id
    )
    logger.info(
        "merge audited",
        extra={"pull_request": number, "status": verdict.status, "conclusion": verdict.conclusion},
    )
    return record


def _touched_paths(payload: dict[str, Any]) -> set[str]:
    return {
        str(path)
        for commit in payload.get("commits") or []
        for key in ("added", "removed", "modified")
        for path in commit.get(key) or []
    }


@router.register("push")
async def audit_push(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    payload = event.data
    ref = str(payload.get("ref", ""))
    if not ref.startswith("refs/heads/"):
        return  # tags are not audited
    repo = str(payload["repository"]["full_name"])
    branch = ref.removeprefix("refs/heads/")
    default_branch = str(payload["repository"].get("default_branch") or branch)
    if branch == default_branch and REPO_POLICY_PATH in _touched_paths(payload):
        gather.forget_policy(services, repo)
    if split_repo(repo)[1] == ".github" and branch == default_branch:
        gather.forget_policy(services, repo)
    audited, policy = await is_audited(
        gh, services, repo, branch, default_branch, deleted=bool(payload.get("deleted"))
    )
    if not audited:
        return
    change = ChangeId.of_push_payload(payload)
    if gather.landed_by_pull_request(services, change):
        logger.info("push made by a merged pull request: left to its audit")
        return
    gathered = await gather.gather_push(
        gh,
        services,
        change,
        policy,
        pusher=str(
            (payload.get("sender") or {}).get("login") or (payload.get("pusher") or {}).get("name")
        ),
        default_branch=default_branch,
    )
    if gathered.via_pull_requests:
        # every commit arrived by a pull request merged into an audited branch (or, for a new
        # branch, it brought no commit that is not on the default branch already)
        logger.info("push brought no direct commit: left to the pull requests' audit")
        return
    if gathered.existing.landed:
        logger.info("push already recorded")
        return
    verdict = await judge_off_loop(gathered.facts, gathered.policy)
    await publish.publish_audit(
        gh, gathered.facts, verdict, gathered.policy, gathered.existing, services.settings.app_id
    )
    logger.info(
        "push audited",
        extra={
            "status": verdict.status,
            "conclusion": verdict.conclusion,
            "after": payload.get("after"),
        },
    )
