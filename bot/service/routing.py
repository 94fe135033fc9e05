"""The one place where every concern's router is combined, and where work is keyed.

Each concern is a module with its own ``router`` (as in CPython's bedevere); adding a capability is
adding a module here.
"""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.core.change import ChangeId, merged_pull_request_number, parse_key
from bot.core.record import find_audit_marker
from bot.core.release_audit import find_release_marker, release_queue_key


def build_router() -> routing.Router:
    from bot.service import commands, installations, merge_audit, pre_merge, releases

    return routing.Router(
        merge_audit.router,
        pre_merge.router,
        commands.router,
        installations.router,
        releases.router,
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


def _comment_key(repo: str, issue: dict[str, Any]) -> str:
    """A comment's work waits for the change it is about: the pull request, or the change an
    audit issue's marker names (whether the issue is trusted is decided later, by the command;
    the key only orders work)."""
    number = issue.get("number", "")
    if not issue.get("pull_request"):
        release = find_release_marker(str(issue.get("body") or ""))
        if release is not None:
            return release_queue_key(*release)
        marker = find_audit_marker(str(issue.get("body") or ""))
        change = parse_key(*marker) if marker else None
        if change is not None:
            return change.queue_key
        return f"{repo}#issue-{number}"
    return ChangeId.pull_request(repo, int(number)).queue_key if number else repo


def work_key(event: sansio.Event) -> tuple[str, str]:
    """The (key, label) under which an event's work is queued.

    The key is the change's identity (:attr:`bot.change.ChangeId.queue_key`): everything about one
    change (its merge audit, its pre-merge checks, every command, on the pull request or on its
    audit issue) runs one job at a time, and different changes (two pushes to one branch
    included) never wait for each other. A waiting job with the same label is replaced by a newer
    one, so a burst of re-judging collapses. Labels that must never collapse (one push, one
    comment, one change to an installation) carry their own identity.
    """
    data: dict[str, Any] = event.data
    repo = str((data.get("repository") or {}).get("full_name", ""))
    action = str(data.get("action", ""))
    if event.event in INSTALLATION_EVENTS:
        # one installation's changes run in order; each delivery names different repositories
        installation = (data.get("installation") or {}).get("id", "")
        return f"installation:{installation}", f"{event.event}:{action}:{event.delivery_id}"
    if event.event == "release" and repo:
        tag = str((data.get("release") or {}).get("tag_name", ""))
        return release_queue_key(repo, tag), "release-audit"
    if event.event == "push" and str(data.get("ref", "")).startswith("refs/tags/") and repo:
        tag = str(data["ref"]).removeprefix("refs/tags/")
        return release_queue_key(repo, tag), "release-audit"
    if event.event == "push" and repo:
        push = ChangeId.of_push_payload(data)
        key = push.queue_key
        number = merged_pull_request_number((data.get("head_commit") or {}).get("message"))
        if number is not None and not push.forced and not push.deleted:
            # the push a merge made waits for, or does, its pull request's merge audit
            key = ChangeId.pull_request(repo, number).queue_key
        # the label names the push itself: one commit pushed to several branches is several
        # pushes, and none may collapse into another
        return key, f"push:{push.key}"
    if event.event == "issue_comment":
        issue = data.get("issue") or {}
        comment = data.get("comment") or {}
        return _comment_key(repo, issue), f"comment:{comment.get('id', '')}"
    number = _pull_number(data)
    if number is not None:
        key = ChangeId.pull_request(repo, number).queue_key
        if event.event == "pull_request" and action == "closed":
            return key, "merge-audit"
        return key, "pre-merge"
    if event.event in ("check_run", "check_suite"):
        head = (data.get(event.event) or {}).get("head_sha", "")
        return f"{repo}@{head}", "pre-merge"
    return repo or event.event, f"{event.event}:{action}"
