"""Installations: forget what was cached for an installation, or repositories, the App lost.

GitHub delivers ``installation`` and ``installation_repositories`` to every App without being asked.
When an installation is deleted or suspended, its token and every answer cached about its account
(policies, branches, permissions, file lists, team members) are dropped; when repositories are
removed from an installation, the answers cached about them are. All of these are only caches, so
this costs nothing but requests if the App comes back, and needs no request to GitHub now (an
installation that is gone could not answer one anyway).
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio

from bot.github.client import GitHubClient
from bot.services import Services

logger = logging.getLogger(__name__)

router = routing.Router()


@router.register("installation", action="deleted")
@router.register("installation", action="suspend")
async def installation_gone(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    installation = event.data["installation"]
    account = str((installation.get("account") or {}).get("login") or "")
    token = services.github.forget_installation(int(installation["id"]))
    entries = services.caches.forget_owner(account) if account else 0
    logger.info(
        "installation forgotten",
        extra={"account": account, "token_forgotten": token, "cache_entries": entries},
    )


@router.register("installation_repositories", action="removed")
async def repositories_removed(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    repos = sorted(
        str(repo["full_name"])
        for repo in event.data.get("repositories_removed") or []
        if repo.get("full_name")
    )
    entries = services.caches.forget_repositories(repos)
    logger.info("repositories forgotten", extra={"repositories": repos, "cache_entries": entries})
