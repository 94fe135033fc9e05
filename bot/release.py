"""The release audit's use case: what every entry point (a ``release`` event, a pushed release
tag, ``/audit`` in a release audit issue, the command line) calls.

:func:`audit_release` reads the release's facts (:class:`bot.github.releases.ReleaseReader`), judges them
(:func:`bot.core.release_audit.judge_release`, pure) and, unless asked only to read, records the
verdict (:func:`bot.github.publish.publish_release`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.release_audit import ReleaseFacts, ReleaseVerdict, judge_release
from bot.github import publish
from bot.github.client import GitHubClient
from bot.github.releases import Artifact, ReleaseReader
from bot.services import Services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotThisIssue(Exception):
    """The issue a command was given on is not the one the release's record names."""


@dataclass(frozen=True)
class ReleaseOutcome:
    facts: ReleaseFacts
    verdict: ReleaseVerdict
    record: dict[str, Any] | None
    """The record written (None when only read)."""


async def audit_release(
    gh: GitHubClient,
    services: Services,
    repo: str,
    tag: str,
    *,
    previous: str | None = None,
    artifacts: Sequence[Artifact] | None = None,
    pypi: str | None = None,
    branch: str | None = None,
    write: bool = True,
    issue: tuple[str, int] | None = None,
) -> ReleaseOutcome:
    """Audit the release ``tag`` of ``repo``: what went in, and whether what was shipped is what
    was reviewed. With ``write`` the check run and the release audit issue are written.

    ``issue`` is the release audit issue a command was given on: it must be the one the
    release's own record names (:class:`NotThisIssue` otherwise, and nothing is written), as
    people with triage access can edit the marker in an issue this App wrote."""
    reader = ReleaseReader(
        gh,
        services,
        repo,
        tag,
        previous=previous,
        artifacts=artifacts,
        pypi=pypi,
        branch=branch,
    )
    gathered = await reader.read()
    if issue is not None:
        named = (gathered.existing.record or {}).get("issue") or {}
        if (named.get("repository"), named.get("number")) != issue:
            raise NotThisIssue(f"{issue[0]}#{issue[1]} is not {repo} {tag}'s release audit issue")
    verdict = judge_release(gathered.facts)
    record = None
    if write:
        record = await publish.publish_release(
            gh,
            gathered.facts,
            verdict,
            gathered.policy,
            gathered.existing,
            services.settings.app_id,
        )
    logger.info(
        "release audited",
        extra={
            "tag": tag,
            "previous": gathered.facts.previous,
            "conclusion": verdict.conclusion,
            "changes": len(gathered.facts.changes),
            "open": len(verdict.open_changes),
        },
    )
    return ReleaseOutcome(gathered.facts, verdict, record)
