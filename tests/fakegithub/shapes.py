"""Check the fake's REST answers against GitHub's OpenAPI description (githubkit's models).

githubkit ships pydantic models generated from GitHub's REST OpenAPI description. Every JSON answer
of the fake is validated against the model of its route before it leaves the server; a mismatch is
a bug in the fake and is reported loudly (HTTP 500 plus a record in ``FakeGitHub.shape_errors``).
githubkit is slow to import, so it is imported on first use.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

#: Model name (in githubkit's ``models`` module) of each route's 2xx JSON body; ``[X]`` is a list.
RESPONSE_MODELS: dict[str, str] = {
    "GET /app": "Integration",
    "GET /app/installations": "[Installation]",
    "GET /app/installations/{installation_id}": "Installation",
    "POST /app/installations/{installation_id}/access_tokens": "InstallationToken",
    "GET /app/hook/deliveries": "[HookDeliveryItem]",
    "GET /app/hook/deliveries/{delivery_id}": "HookDelivery",
    "POST /app/hook/deliveries/{delivery_id}/attempts": (
        "AppHookDeliveriesDeliveryIdAttemptsPostResponse202"
    ),
    "GET /repos/{owner}/{repo}/installation": "Installation",
    "POST /app-manifests/{code}/conversions": "AppManifestsCodeConversionsPostResponse201",
    "GET /installation/repositories": "InstallationRepositoriesGetResponse200",
    "GET /repos/{owner}/{repo}": "FullRepository",
    "GET /repos/{owner}/{repo}/branches": "[ShortBranch]",
    "GET /repos/{owner}/{repo}/branches/{branch}": "BranchWithProtection",
    "GET /repos/{owner}/{repo}/contents/{path}": "ContentFile",
    "GET /repos/{owner}/{repo}/git/blobs/{file_sha}": "Blob",
    "GET /repos/{owner}/{repo}/pulls": "[PullRequestSimple]",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}": "PullRequest",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/files": "[DiffEntry]",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/commits": "[Commit]",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews": "[PullRequestReview]",
    "GET /repos/{owner}/{repo}/commits/{ref}": "Commit",
    "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls": "[PullRequestSimple]",
    "GET /repos/{owner}/{repo}/compare/{basehead}": "CommitComparison",
    "GET /repos/{owner}/{repo}/activity": "[Activity]",
    "GET /repos/{owner}/{repo}/tags": "[Tag]",
    "GET /repos/{owner}/{repo}/git/ref/{ref}": "GitRef",
    "GET /repos/{owner}/{repo}/git/matching-refs/": "[GitRef]",
    "GET /repos/{owner}/{repo}/git/matching-refs/{ref}": "[GitRef]",
    "GET /repos/{owner}/{repo}/releases": "[Release]",
    "GET /repos/{owner}/{repo}/releases/latest": "Release",
    "GET /repos/{owner}/{repo}/releases/tags/{tag}": "Release",
    "GET /repos/{owner}/{repo}/releases/{release_id}": "Release",
    "GET /repos/{owner}/{repo}/releases/{release_id}/assets": "[ReleaseAsset]",
    "GET /repos/{owner}/{repo}/releases/assets/{asset_id}": "ReleaseAsset",
    "POST /repos/{owner}/{repo}/check-runs": "CheckRun",
    "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}": "CheckRun",
    "GET /repos/{owner}/{repo}/check-runs/{check_run_id}": "CheckRun",
    "GET /repos/{owner}/{repo}/commits/{ref}/check-runs": (
        "ReposOwnerRepoCommitsRefCheckRunsGetResponse200"
    ),
    "GET /repos/{owner}/{repo}/issues": "[Issue]",
    "POST /repos/{owner}/{repo}/issues": "Issue",
    "GET /repos/{owner}/{repo}/issues/{issue_number}": "Issue",
    "PATCH /repos/{owner}/{repo}/issues/{issue_number}": "Issue",
    "GET /repos/{owner}/{repo}/issues/{issue_number}/comments": "[IssueComment]",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": "IssueComment",
    "GET /repos/{owner}/{repo}/issues/comments/{comment_id}": "IssueComment",
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": "IssueComment",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/labels": "[Label]",
    "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}": "[Label]",
    "GET /repos/{owner}/{repo}/labels": "[Label]",
    "POST /repos/{owner}/{repo}/labels": "Label",
    "GET /repos/{owner}/{repo}/labels/{name}": "Label",
    "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": "Reaction",
    "GET /repos/{owner}/{repo}/collaborators": "[Collaborator]",
    "GET /repos/{owner}/{repo}/collaborators/{username}/permission": (
        "RepositoryCollaboratorPermission"
    ),
    "GET /orgs/{org}/teams/{team_slug}/members": "[SimpleUser]",
    "GET /orgs/{org}/teams/{team_slug}/memberships/{username}": "TeamMembership",
}
#: Models for error bodies, by status.
ERROR_MODELS: dict[int, str] = {422: "ValidationError | ValidationErrorSimple"}
BASIC_ERROR = "BasicError"


class ShapeError(AssertionError):
    """A REST answer of the fake does not match GitHub's published schema."""


@functools.cache
def _models() -> Any:
    return importlib.import_module("githubkit_schemas.latest.models")


@functools.cache
def _adapter(spec: str) -> Any:
    from pydantic import TypeAdapter

    models = _models()
    if spec.startswith("["):
        item: Any = getattr(models, spec[1:-1])
        listed: Any = list[item]
        return TypeAdapter(listed)
    if "|" in spec:
        names = [getattr(models, n.strip()) for n in spec.split("|")]
        union: Any = names[0]
        for extra in names[1:]:
            union = union | extra
        return TypeAdapter(union)
    return TypeAdapter(getattr(models, spec))


def model_for(route: str, status: int) -> str | None:
    if 200 <= status < 300:
        return RESPONSE_MODELS.get(route)
    if status == 422:
        return ERROR_MODELS[422]
    if status in (401, 403, 404):
        return BASIC_ERROR
    return None


def check(route: str, status: int, body: Any) -> None:
    """Raise :class:`ShapeError` if ``body`` does not validate as the route's documented model.

    Directory listings of the contents API are lists (GitHub documents them separately).
    """
    spec = model_for(route, status)
    if spec is None or body is None:
        return
    if spec == "ContentFile" and isinstance(body, list):
        spec = "[ContentDirectoryItems]"
    from pydantic import ValidationError

    try:
        _adapter(spec).validate_python(body)
    except ValidationError as exc:
        raise ShapeError(
            f"{route} answered {status} with a body that is not {spec}: {exc}"
        ) from exc
