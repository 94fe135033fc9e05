"""Publishing verdicts: the ``countersign`` check run, audit issues and labels.

Every write here is idempotent. The check run on a commit is found again (through the gathered
existing record) and updated rather than duplicated; an audit issue is found again through the
number in the record or, failing that, its hidden marker, before one is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from gidgethub import BadRequest

from bot.core.facts import ChangeFacts
from bot.core.judge import Verdict
from bot.core.policy import Policy
from bot.core.record import audit_marker, find_audit_marker, record_of
from bot.core.release_audit import (
    RELEASE_CHECK_NAME,
    ReleaseFacts,
    ReleaseVerdict,
    find_release_marker,
    release_key,
    release_record,
)
from bot.core.release_audit import check_run_output as release_check_run_output
from bot.core.release_audit import issue_body as release_issue_body
from bot.core.release_audit import issue_title as release_issue_title
from bot.core.render import audit_issue, check_run_output, escape, login
from bot.github.client import GitHubClient, refusal
from bot.github.gather import CHECK_NAME, ExistingRecord, split_repo, written_by_app

logger = logging.getLogger(__name__)

UNREVIEWED_LABEL = "countersign: unreviewed"
SIGNED_OFF_LABEL = "countersign: signed-off"


async def write_check_run(
    gh: GitHubClient,
    repo: str,
    head_sha: str,
    existing: ExistingRecord,
    *,
    conclusion: str,
    title: str,
    summary: str,
    text: str,
    external_id: str,
    name: str = CHECK_NAME,
) -> int:
    """Create the ``countersign`` check run (or the one ``name`` names) on ``head_sha``, or update
    the one already there."""
    owner, repo_name = split_repo(repo)
    body: dict[str, Any] = {
        "name": name,
        "status": "completed",
        "conclusion": conclusion,
        "external_id": external_id,
        "output": {"title": title, "summary": summary, "text": text},
    }
    if existing.check_run_id is not None:
        answer = await gh.patch(
            "/repos/{owner}/{name}/check-runs/{id}",
            {"owner": owner, "name": repo_name, "id": existing.check_run_id},
            data=body,
        )
    else:
        answer = await gh.post(
            "/repos/{owner}/{name}/check-runs",
            {"owner": owner, "name": repo_name},
            data={**body, "head_sha": head_sha},
        )
    return int(answer["id"])


async def find_audit_issue(
    gh: GitHubClient, audit_repo: str, facts: ChangeFacts, labels: Sequence[str], app_id: str
) -> int | None:
    """The open or closed audit issue about this change, found by its hidden marker in an issue
    this App wrote: an issue anyone else opened with the same marker is not it (nor can it stop
    the real one from opening)."""
    wanted = (facts.repository, facts.key)
    found = await _find_issue(
        gh, audit_repo, labels, app_id, lambda body: find_audit_marker(body) == wanted
    )
    return int(found["number"]) if found is not None else None


async def _find_issue(
    gh: GitHubClient,
    audit_repo: str,
    labels: Sequence[str],
    app_id: str,
    is_it: Callable[[str], bool],
) -> dict[str, Any] | None:
    """The first issue (open or closed, with the first of ``labels``) that this App wrote and
    whose body ``is_it`` accepts: an issue anyone else opened with the same marker is not it."""
    owner, name = split_repo(audit_repo)
    url = "/repos/{owner}/{name}/issues?state=all&per_page=100"
    variables: dict[str, Any] = {"owner": owner, "name": name}
    if labels:
        url += "&labels={labels}"
        variables["labels"] = labels[0]
    async for issue in gh.getiter(url, variables):
        if (
            "pull_request" not in issue
            and written_by_app(issue, app_id)
            and is_it(issue.get("body") or "")
        ):
            return dict(issue)
    return None


async def open_audit_issue(
    gh: GitHubClient,
    facts: ChangeFacts,
    verdict: Verdict,
    policy: Policy,
    existing: ExistingRecord,
    app_id: str,
) -> int:
    """The audit issue for this change: the existing one, or a new one."""
    audit_repo = policy.audit_repository or facts.repository
    recorded = (existing.record or {}).get("audit_issue")
    if isinstance(recorded, dict) and recorded.get("repository") == audit_repo:
        return int(recorded["number"])
    found = await find_audit_issue(gh, audit_repo, facts, policy.audit_labels, app_id)
    if found is not None:
        return found
    title, body = audit_issue(facts, verdict)
    assert audit_marker(facts.repository, facts.key) in body
    owner, name = split_repo(audit_repo)
    answer = await gh.post(
        "/repos/{owner}/{name}/issues",
        {"owner": owner, "name": name},
        data={"title": title, "body": body, "labels": list(policy.audit_labels)},
    )
    logger.info("audit issue opened", extra={"audit_issue": f"{audit_repo}#{answer['number']}"})
    return int(answer["number"])


async def comment_and_close(
    gh: GitHubClient, repo: str, number: int, comment: str, reason: str = "completed"
) -> None:
    """Say why in a comment, then close the issue (``reason``: ``completed``, ``not_planned``)."""
    owner, name = split_repo(repo)
    await gh.post(
        "/repos/{owner}/{name}/issues/{number}/comments",
        {"owner": owner, "name": name, "number": number},
        data={"body": comment},
    )
    await gh.patch(
        "/repos/{owner}/{name}/issues/{number}",
        {"owner": owner, "name": name, "number": number},
        data={"state": "closed", "state_reason": reason},
    )


async def add_label(gh: GitHubClient, repo: str, number: int, label: str) -> None:
    owner, name = split_repo(repo)
    await gh.post(
        "/repos/{owner}/{name}/issues/{number}/labels",
        {"owner": owner, "name": name, "number": number},
        data={"labels": [label]},
    )


async def remove_label(gh: GitHubClient, repo: str, number: int, label: str) -> None:
    owner, name = split_repo(repo)
    try:
        await gh.delete(
            "/repos/{owner}/{name}/issues/{number}/labels/{label}",
            {"owner": owner, "name": name, "number": number, "label": label},
        )
    except BadRequest as exc:
        if exc.status_code != 404:
            raise


async def publish_audit(
    gh: GitHubClient,
    facts: ChangeFacts,
    verdict: Verdict,
    policy: Policy,
    existing: ExistingRecord,
    app_id: str,
) -> dict[str, Any]:
    """Do what the verdict's actions say, then write the record on the change's commit.

    An audit issue GitHub refuses to open (``audit.repository`` names a repository the App cannot
    write to, say) never costs the record: the check run is written all the same and says why
    there is no issue."""
    issue = None
    note = None
    audit_repo = policy.audit_repository or facts.repository
    if "issue" in verdict.actions and not verdict.signed_off:
        try:
            issue = await open_audit_issue(gh, facts, verdict, policy, existing, app_id)
        except BadRequest as exc:
            refused = refusal(exc)
            if refused is None:
                raise
            logger.warning("audit issue not opened", extra=refused.fields())
            note = (
                f"The audit issue could not be opened in {audit_repo}: GitHub answered "
                f"{refused.status}. Check `audit.repository` and the App's access to it."
            )
    if "label" in verdict.actions and facts.number is not None and not verdict.signed_off:
        await add_label(gh, facts.repository, facts.number, UNREVIEWED_LABEL)
    record = record_of(facts, verdict, audit_repo if issue else None, issue, existing.record)
    if note is not None:
        record["audit_issue_error"] = note
    title, summary, text = check_run_output(facts, verdict, note, record=record)
    await write_check_run(
        gh,
        facts.repository,
        facts.subject_sha,
        existing,
        conclusion=verdict.conclusion,
        title=title,
        summary=summary,
        text=text,
        external_id=facts.key,
    )
    if gh.metrics is not None:
        gh.metrics.audit(verdict.status, facts.kind)
    return record


async def settle_audit(
    gh: GitHubClient, facts: ChangeFacts, record: dict[str, Any], signer: str, note: str
) -> None:
    """After the last sign-off a change needed: comment on and close its audit issue, and swap
    the pull request's ``countersign: unreviewed`` label for ``countersign: signed-off``."""
    issue = record.get("audit_issue")
    if isinstance(issue, dict):
        owner, name = split_repo(str(issue["repository"]))
        number = int(issue["number"])
        current = await gh.getitem(
            "/repos/{owner}/{name}/issues/{number}",
            {"owner": owner, "name": name, "number": number},
        )
        if current.get("state") != "closed":
            signers = ", ".join(login(str(e["login"])) for e in record.get("signoffs") or [])
            text = f"Signed off after merge by {signers}."
            if note:
                text += f"\n\n> {escape(note)}"
            await comment_and_close(gh, str(issue["repository"]), number, text)
    if facts.number is not None:
        await remove_label(gh, facts.repository, facts.number, UNREVIEWED_LABEL)
        await add_label(gh, facts.repository, facts.number, SIGNED_OFF_LABEL)


# ---------------------------------------------------------------------------------------------
# The release audit
# ---------------------------------------------------------------------------------------------


async def find_release_issue(
    gh: GitHubClient, audit_repo: str, repo: str, tag: str, labels: Sequence[str], app_id: str
) -> dict[str, Any] | None:
    """The release audit issue of ``repo``'s ``tag``: found by its hidden marker, in an issue
    this App wrote (an issue anyone else opened with the same marker is not it)."""
    return await _find_issue(
        gh, audit_repo, labels, app_id, lambda body: find_release_marker(body) == (repo, tag)
    )


async def _release_issue(
    gh: GitHubClient,
    audit_repo: str,
    facts: ReleaseFacts,
    policy: Policy,
    existing: ExistingRecord,
    app_id: str,
) -> dict[str, Any] | None:
    recorded = (existing.record or {}).get("issue")
    owner, name = split_repo(audit_repo)
    if existing.record is not None and not isinstance(recorded, dict):
        # recorded before with no issue: never adopt one by its marker, which people with
        # triage access can edit into any issue this App wrote
        return None
    if isinstance(recorded, dict) and recorded.get("repository") == audit_repo:
        try:
            issue = await gh.getitem(
                "/repos/{owner}/{name}/issues/{number}",
                {"owner": owner, "name": name, "number": int(recorded["number"])},
            )
        except BadRequest as exc:
            if exc.status_code not in (404, 410):
                raise
        else:
            if written_by_app(issue, app_id) and find_release_marker(issue.get("body") or "") == (
                facts.repository,
                facts.tag,
            ):
                return dict(issue)
            return None
    return await find_release_issue(
        gh, audit_repo, facts.repository, facts.tag, policy.audit_labels, app_id
    )


async def publish_release(
    gh: GitHubClient,
    facts: ReleaseFacts,
    verdict: ReleaseVerdict,
    policy: Policy,
    existing: ExistingRecord,
    app_id: str,
) -> dict[str, Any]:
    """Record a release audit: its issue opened, updated or closed, then the ``countersign
    release`` check run on the tag's commit (created, or updated where it is). Idempotent: a
    re-run finds both again and writes the same."""
    audit_repo = policy.audit_repository or facts.repository
    owner, name = split_repo(audit_repo)
    issue = await _release_issue(gh, audit_repo, facts, policy, existing, app_id)
    body = release_issue_body(facts, verdict)
    number: int | None = None
    if issue is not None:
        number = int(issue["number"])
        is_open = issue.get("state") != "closed"
        if verdict.passed and is_open:
            await gh.patch(
                "/repos/{owner}/{name}/issues/{number}",
                {"owner": owner, "name": name, "number": number},
                data={"body": body},
            )
            await comment_and_close(
                gh,
                audit_repo,
                number,
                "Nothing is left: every change in this release is reviewed or signed off, and "
                "what was shipped matches the tree at the tag. Closing.",
            )
        elif not verdict.passed and issue.get("body") != body:
            # something changed: say it, and open the issue again if someone closed it
            await gh.patch(
                "/repos/{owner}/{name}/issues/{number}",
                {"owner": owner, "name": name, "number": number},
                data={"body": body, "state": "open"},
            )
    elif not verdict.passed:
        answer = await gh.post(
            "/repos/{owner}/{name}/issues",
            {"owner": owner, "name": name},
            data={
                "title": release_issue_title(facts.tag),
                "body": body,
                "labels": list(policy.audit_labels),
            },
        )
        number = int(answer["number"])
        logger.info("release audit issue opened", extra={"audit_issue": f"{audit_repo}#{number}"})
    record = release_record(facts, verdict, (audit_repo, number) if number else None)
    title, summary, text = release_check_run_output(facts, verdict, record)
    await write_check_run(
        gh,
        facts.repository,
        facts.sha,
        existing,
        conclusion=verdict.conclusion,
        title=title,
        summary=summary,
        text=text,
        external_id=release_key(facts.tag),
        name=RELEASE_CHECK_NAME,
    )
    if gh.metrics is not None:
        gh.metrics.audit(verdict.conclusion, "release")
    return record
