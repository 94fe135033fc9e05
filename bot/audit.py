"""The use cases of the audit: what every entry point (webhook handler, command, CLI) calls.

Entry points are thin adapters from their input to these; these read facts through
:mod:`bot.gather`, judge them with :mod:`bot.judge` (pure) and record through :mod:`bot.publish`.
Nothing here knows about webhooks.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.core.change import ChangeId
from bot.core.facts import Actor
from bot.core.judge import Verdict
from bot.core.people import contributors, fold
from bot.core.policy import Policy, is_audited_branch
from bot.core.record import record_of, recorded_policy
from bot.core.render import check_run_output
from bot.github import gather, publish
from bot.github.client import GitHubClient, is_rate_limit, refusal
from bot.offload import judge_off_loop
from bot.services import Services

logger = logging.getLogger(__name__)


async def is_audited(
    gh: GitHubClient,
    services: Services,
    repo: str,
    branch: str,
    default_branch: str,
) -> tuple[bool, Policy]:
    """Whether ``branch`` is audited, and the policy that says so. A branch the (cached) list of
    protected branches does not name is asked of the protection rules' patterns (cached too): a
    branch just deleted is no longer listed, and one just created is not listed yet."""
    policy = await gather.policy_for(gh, services, repo, default_branch)
    protected: frozenset[str] = frozenset()
    if policy.branches is None and branch != default_branch:
        protected = await gather.protected_branches(gh, services, repo)
        if branch not in protected:
            patterns = await gather.protection_patterns(gh, services, repo)
            if any(fnmatch.fnmatchcase(branch, pattern) for pattern in patterns):
                protected = protected | {branch}
    return is_audited_branch(branch, policy, default_branch, protected), policy


# ---------------------------------------------------------------------------------- the merge audit


async def audit_merged_pull_request(
    gh: GitHubClient, services: Services, repo: str, number: int
) -> dict[str, Any]:
    """Judge merged pull request ``number`` and record the verdict; returns the record.

    A pull request that already has its record is left as recorded: a redelivery, a re-run or a
    sweep never judges it again (only a sign-off adds to it). One this process recorded (from its
    ``closed`` delivery or from the push its merge made, whichever came first) costs no request.
    """
    if (repo, number) in services.caches.audited:
        logger.info("merge already recorded", extra={"pull_request": number})
        return {}
    gathered = services.caches.merges.pop((repo, number), None)
    if gathered is None:
        gathered = await gather.gather_pull_request(gh, services, repo, number)
    return await _record_merge(gh, services, gathered)


async def _record_merge(
    gh: GitHubClient, services: Services, gathered: gather.Gathered
) -> dict[str, Any]:
    facts = gathered.facts
    if not facts.merged:
        return {}
    if gathered.existing.landed:
        logger.info("merge already recorded", extra={"pull_request": facts.number})
        record = gathered.existing.record or {}
    else:
        verdict = await judge_off_loop(facts, gathered.policy)
        record = await publish.publish_audit(
            gh, facts, verdict, gathered.policy, gathered.existing, services.settings.app_id
        )
        logger.info(
            "merge audited",
            extra={
                "pull_request": facts.number,
                "status": verdict.status,
                "conclusion": verdict.conclusion,
            },
        )
    services.caches.audited[(facts.repository, facts.number)] = facts.merge_commit_sha
    return record


async def _merge_made(gh: GitHubClient, services: Services, change: ChangeId, number: int) -> bool:
    """Whether the push ``change`` is the one pull request ``number``'s merge made: asked of
    GitHub (the pull request's own query says which commit its merge made on which branch, and
    what the branch held before), never of the push's message. What was read is kept for the
    pull request's own delivery, so that its merge audit reads nothing again."""
    if gather.landed_by_pull_request(services, change):
        return True
    try:
        gathered = await gather.gather_pull_request(gh, services, change.repo, number)
    except Exception as exc:
        if refusal(exc) is None or is_rate_limit(exc):
            raise
        return False  # no such pull request (an issue's number, a made-up one): a plain push
    facts = gathered.facts
    if not (
        facts.merged and facts.merge_commit_sha == change.after and facts.branch == change.branch
    ):
        return False
    if not gathered.existing.landed:
        services.caches.merges[(change.repo, number)] = gathered
    return gather.landed_by_pull_request(services, change)


async def audit_push(
    gh: GitHubClient,
    services: Services,
    change: ChangeId,
    *,
    pusher: str | None = None,
    default_branch: str,
    pull_request: int | None = None,
) -> dict[str, Any] | None:
    """Judge and record a push to ``change.branch``; None when the branch is not audited, the
    push only landed merged pull requests (their audit covers it), or it is recorded already.

    ``pull_request`` is the number the pushed head's message names (a merge or squash as GitHub
    writes them): where GitHub confirms the push is that merge's, the pull request's merge audit
    is what runs."""
    audited, policy = await is_audited(
        gh, services, change.repo, str(change.branch), default_branch
    )
    if not audited:
        return None
    merge = pull_request is not None and not change.forced and not change.deleted
    if gather.landed_by_pull_request(services, change) or (
        merge and await _merge_made(gh, services, change, int(pull_request or 0))
    ):
        logger.info("push made by a merged pull request: audited as the pull request")
        return None
    gathered = await gather.gather_push(
        gh, services, change, policy, pusher=pusher, default_branch=default_branch
    )
    if gathered.via_pull_requests:
        logger.info("push brought no direct commit: left to the pull requests' audit")
        return None
    if gathered.existing.landed:
        logger.info("push already recorded")
        return None
    verdict = await judge_off_loop(gathered.facts, gathered.policy)
    record = await publish.publish_audit(
        gh, gathered.facts, verdict, gathered.policy, gathered.existing, services.settings.app_id
    )
    logger.info(
        "push audited",
        extra={"status": verdict.status, "conclusion": verdict.conclusion, "after": change.after},
    )
    return record


# ----------------------------------------------------------------------------- the pre-merge check


def pre_merge_conclusion(verdict: Verdict, policy: Policy) -> str | None:
    """The check's conclusion: ``success`` when every requirement is met; while one is not,
    ``neutral`` (``pre_merge: inform``) or ``failure`` (``enforce``); None when ``off``.

    Met or not is the merge audit's own judgement of the same facts.
    """
    if policy.pre_merge == "off":
        return None
    if all(result.met for result in verdict.requirements):
        return "success"
    return "failure" if policy.pre_merge == "enforce" else "neutral"


async def check_open_pull_request(
    gh: GitHubClient, services: Services, gathered: gather.Gathered
) -> Verdict | None:
    """Judge an open pull request already read and write its check run; None when its base
    branch is not audited."""
    facts = gathered.facts
    audited, _ = await is_audited(
        gh, services, facts.repository, facts.branch, gathered.default_branch
    )
    if not audited:
        return None
    verdict = await judge_off_loop(facts, gathered.policy)
    conclusion = pre_merge_conclusion(verdict, gathered.policy)
    if conclusion is not None:
        record = record_of(facts, verdict, None, None, None)
        title, summary, text = check_run_output(
            facts, verdict, record=record, conclusion=conclusion
        )
        await publish.write_check_run(
            gh,
            facts.repository,
            facts.head_sha,
            gathered.existing,
            conclusion=conclusion,
            title=title,
            summary=summary,
            text=text,
            external_id=facts.key,
        )
    logger.info(
        "pre-merge judged",
        extra={"pull_request": facts.number, "status": verdict.status, "conclusion": conclusion},
    )
    return verdict


async def judge_open_pull_request(
    gh: GitHubClient, services: Services, repo: str, number: int, base: str, default_branch: str
) -> tuple[gather.Gathered, Verdict] | None:
    """The pre-merge check of pull request ``number`` into ``base``: None when that branch is not
    audited (asked before anything is read) or the pull request merged meanwhile."""
    audited, _ = await is_audited(gh, services, repo, base, default_branch)
    if not audited:
        return None
    gathered = await gather.gather_pull_request(gh, services, repo, number)
    if not gathered.open:
        return None  # merged or closed meanwhile: the merge audit owns it now
    verdict = await check_open_pull_request(gh, services, gathered)
    return None if verdict is None else (gathered, verdict)


# -------------------------------------------------------------------------------------- sign-offs


@dataclass(frozen=True)
class SignOff:
    """What became of a sign-off.

    ``outcome``: ``not-audited`` (the change's branch is not audited), ``nothing-to-sign`` (every
    requirement is met already), ``not-independent`` (``reason`` says why), ``already`` (this
    person signed it off before), ``recorded`` (``missing`` more people are needed) or
    ``signed-off`` (every requirement is met now; ``issue`` is the audit issue closed, if any).
    """

    outcome: Literal[
        "not-audited", "nothing-to-sign", "not-independent", "already", "recorded", "signed-off"
    ]
    reason: str = ""
    missing: int = 0
    issue: dict[str, Any] | None = None


async def sign_off(
    gh: GitHubClient, services: Services, gathered: gather.Gathered, signer: str, note: str
) -> SignOff:
    """Sign off a landed change already read (its record found): judged under the same rules as
    approvals, recorded in the check run's record; when it completes the requirements, the audit
    issue is commented on and closed and the labels swapped. The caller has checked that
    ``signer`` has write access."""
    facts = gathered.facts
    audited, _ = await is_audited(
        gh,
        services,
        facts.repository,
        facts.branch,
        gathered.default_branch,
    )
    if not audited:
        return SignOff("not-audited")
    # judged by the policy recorded when the change landed, never a later one
    policy = (
        recorded_policy(gathered.existing.record, gathered.policy)
        if gathered.existing.landed
        else gathered.policy
    )
    before = await judge_off_loop(facts, policy)
    if not before.unmet:
        return SignOff("nothing-to-sign")
    excluded = dict(before.not_counting)
    if facts.author is not None and fold(facts.author.login) == fold(signer):
        reason = "authored it"
    elif fold(signer) in {fold(c) for c in contributors(facts)}:
        reason = "contributed to it"
    elif facts.pusher is not None and fold(facts.pusher) == fold(signer):
        reason = "pushed it"
    elif signer in excluded:
        reason = f"does not count ({excluded[signer]})"
    else:
        reason = ""
    if reason:
        return SignOff("not-independent", reason=reason)
    previous = list((gathered.existing.record or {}).get("signoffs") or [])
    if any(fold(str(entry.get("login"))) == fold(signer) for entry in previous):
        return SignOff("already")
    entry = {"login": signer, "at": services.clock.now().isoformat(), "note": note}
    signed = replace(facts, signoffs=(*facts.signoffs, Actor(signer)))
    verdict = await judge_off_loop(signed, policy)
    existing = replace(
        gathered.existing,
        record={**(gathered.existing.record or {}), "signoffs": [*previous, entry]},
    )
    record = await publish.publish_audit(
        gh, signed, verdict, policy, existing, services.settings.app_id
    )
    issue = record.get("audit_issue")
    if verdict.signed_off:
        await publish.settle_audit(gh, signed, record, signer, note)
        return SignOff("signed-off", issue=issue if isinstance(issue, dict) else None)
    missing = max((r.missing for r in verdict.requirements if not r.met), default=0)
    return SignOff("recorded", missing=missing)
