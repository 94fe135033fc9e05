"""The one place where every concern's router is combined, and where work is keyed.

Each concern is a module with its own ``router`` (as in CPython's bedevere); adding a capability is
adding a module here.
"""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio


def build_router() -> routing.Router:
    from bot import commands, installations, merge_audit, pre_merge

    return routing.Router(
        merge_audit.router, pre_merge.router, commands.router, installations.router
    )


INSTALLATION_EVENTS = frozenset({"installation", "installation_repositories"})
"""Events about the App's installations, which GitHub delivers to every App unasked."""


def _pull_number(data: dict[str, Any]) -> int | None:
    for container in ("pull_request", "check_run", "check_suite"):
        value = data.get(container)
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("number"), int):
            return int(value["number"])
        pulls = value.get("pull_requests") or []
        if pulls and isinstance(pulls[0], dict) and isinstance(pulls[0].get("number"), int):
            return int(pulls[0]["number"])
    return None


def work_key(event: sansio.Event) -> tuple[str, str]:
    """The (key, label) under which an event's work is queued.

    Work for one pull request (or one branch, or one installation) runs one job at a time; a
    waiting job with the same label is replaced by a newer one, so a burst of re-judging collapses.
    Labels that must never collapse (one push, one comment, one change to an installation) carry
    their own identity.
    """
    data: dict[str, Any] = event.data
    repo = str((data.get("repository") or {}).get("full_name", ""))
    action = str(data.get("action", ""))
    if event.event in INSTALLATION_EVENTS:
        # one installation's changes run in order; each delivery names different repositories
        installation = (data.get("installation") or {}).get("id", "")
        return f"installation:{installation}", f"{event.event}:{action}:{event.delivery_id}"
    if event.event == "push":
        return f"{repo}@{data.get('ref', '')}", f"push:{data.get('after', '')}"
    if event.event == "issue_comment":
        issue = data.get("issue") or {}
        comment = data.get("comment") or {}
        return f"{repo}#{issue.get('number', '')}", f"comment:{comment.get('id', '')}"
    number = _pull_number(data)
    if number is not None:
        if event.event == "pull_request" and action == "closed":
            return f"{repo}#{number}", "merge-audit"
        return f"{repo}#{number}", "pre-merge"
    if event.event in ("check_run", "check_suite"):
        head = (data.get(event.event) or {}).get("head_sha", "")
        return f"{repo}@{head}", "pre-merge"
    return repo or event.event, f"{event.event}:{action}"
