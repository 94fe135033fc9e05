"""The App's installations and the repositories each can reach: what scheduled jobs walk."""

from __future__ import annotations

from bot.github.client import GitHubApp, GitHubClient


async def repositories(app: GitHubApp) -> list[tuple[GitHubClient, str]]:
    """Every repository an installation of the App can reach, with that installation's client
    (``GET /app/installations``, then ``GET /installation/repositories`` for each), by name."""
    found: list[tuple[GitHubClient, str]] = []
    client = app.app_client()
    installations = [
        item async for item in client.getiter("/app/installations?per_page=100", jwt=app.jwt())
    ]
    for installation in installations:
        if installation.get("suspended_at"):
            continue
        gh = await app.for_installation(int(installation["id"]))
        async for repo in gh.getiter(
            "/installation/repositories?per_page=100", iterable_key="repositories"
        ):
            if not repo.get("archived"):
                found.append((gh, str(repo["full_name"])))
    found.sort(key=lambda item: item[1])
    return found
