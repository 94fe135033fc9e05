"""The merge audit: every change that lands on an audited branch is judged, recorded and followed up.

Merged pull requests arrive as ``pull_request`` ``closed`` with ``merged: true``; direct pushes,
force pushes and branch deletions as ``push``. A merge also produces a push: a push whose every
commit arrived by a pull request merged into that branch is left to the pull request's audit.
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio

from bot import audit
from bot.core.change import ChangeId, merged_pull_request_number
from bot.core.policy import REPO_POLICY_PATH
from bot.github import gather
from bot.github.client import GitHubClient
from bot.github.gather import split_repo
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
    audited, _ = await audit.is_audited(gh, services, repo, branch, default_branch)
    if not audited:
        logger.info("branch not audited", extra={"branch": branch})
        return
    await audit.audit_merged_pull_request(gh, services, repo, int(pull["number"]))


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
    sender = (payload.get("sender") or {}).get("login") or (payload.get("pusher") or {}).get("name")
    await audit.audit_push(
        gh,
        services,
        ChangeId.of_push_payload(payload),
        pusher=str(sender) if sender else None,
        default_branch=default_branch,
        pull_request=merged_pull_request_number((payload.get("head_commit") or {}).get("message")),
    )
