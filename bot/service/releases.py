"""The release audit, on GitHub's events: a release published (or pre-released), and a pushed tag
that the policy's ``release.tags`` names (for projects that only tag). ``/audit`` in a release
audit issue runs it again (:func:`release_command`, called by :mod:`bot.service.commands`).
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio

from bot import release
from bot.core.policy import DEFAULT_RELEASE
from bot.core.release_audit import RELEASE_CHECK_NAME, find_release_marker
from bot.core.render import escape
from bot.github import gather
from bot.github.client import GitHubClient
from bot.github.gather import written_by_app
from bot.github.releases import ReleaseNotFound
from bot.services import Services

logger = logging.getLogger(__name__)

router = routing.Router()

TAG_PREFIX = "refs/tags/"


def _branch(target: Any) -> str | None:
    """The branch a release's ``target_commitish`` names (None for a commit SHA)."""
    text = str(target or "")
    if not text or (len(text) == 40 and all(c in "0123456789abcdef" for c in text)):
        return None
    return text.removeprefix("refs/heads/")


@router.register("release", action="published")
@router.register("release", action="prereleased")
async def audit_published_release(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    data = event.data["release"]
    if data.get("draft"):
        return
    repo = str(event.data["repository"]["full_name"])
    await release.audit_release(
        gh, services, repo, str(data["tag_name"]), branch=_branch(data.get("target_commitish"))
    )


@router.register("push")
async def audit_pushed_tag(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    payload = event.data
    ref = str(payload.get("ref", ""))
    if not ref.startswith(TAG_PREFIX) or payload.get("deleted"):
        return
    tag = ref.removeprefix(TAG_PREFIX)
    repo = str(payload["repository"]["full_name"])
    default_branch = str(payload["repository"].get("default_branch") or "main")
    policy = await gather.policy_for(gh, services, repo, default_branch)
    # the current policy may be the release's own doing: the shipped globs always count too
    if not (policy.release.is_release_tag(tag) or DEFAULT_RELEASE.is_release_tag(tag)):
        logger.info("tag is not a release tag", extra={"tag": tag})
        return
    base = str(payload.get("base_ref") or "").removeprefix("refs/heads/") or None
    await release.audit_release(gh, services, repo, tag, branch=base)


def release_subject(data: dict[str, Any], app_id: str) -> tuple[str, str] | None:
    """The (repository, tag) of the release audit issue commented on: only an issue this App
    wrote names a release (a marker typed by anyone else names nothing)."""
    issue = data["issue"]
    if issue.get("pull_request") or not written_by_app(issue, app_id):
        return None
    return find_release_marker(issue.get("body") or "")


async def release_command(
    gh: GitHubClient,
    services: Services,
    subject: tuple[str, str],
    command: str,
    issue: tuple[str, int],
) -> str:
    """Answer ``/audit`` (run the release audit again) or ``/audit approve`` in a release audit
    issue; returns the reply."""
    repo, tag = subject
    if command == "approve":
        return (
            "a release is signed off change by change: give `/audit approve [note]` in each "
            "listed change's pull request or audit issue, then `/audit` here to run this audit "
            "again. Nothing was changed."
        )
    try:
        outcome = await release.audit_release(gh, services, repo, tag, issue=issue)
    except ReleaseNotFound as exc:
        return f"{escape(str(exc))}; nothing was changed."
    except release.NotThisIssue:
        return (
            "this issue is not the release audit issue countersign recorded for the release it "
            "names, so it cannot run that audit; nothing was changed."
        )
    verdict = outcome.verdict
    if verdict.passed:
        return (
            f"ran the release audit of `{escape(tag, plain=True)}` again: nothing is left, so "
            f"the `{RELEASE_CHECK_NAME}` check is `success` and this issue is closed."
        )
    left = len(verdict.open_changes)
    archives = sum(1 for shipped in outcome.facts.archives if shipped.severity != "none")
    return (
        f"ran the release audit of `{escape(tag, plain=True)}` again: the "
        f"`{RELEASE_CHECK_NAME}` check is `{verdict.conclusion}`, with {left} change"
        f"{'s' if left != 1 else ''} not reviewed nor signed off and {archives} archive"
        f"{'s' if archives != 1 else ''} with findings. The table above is up to date."
    )
