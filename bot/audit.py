"""The use cases of the audit: what every entry point (webhook handler, command, CLI) calls.

Entry points are thin adapters from their input to these; these read facts through
:mod:`bot.gather`, judge them with :mod:`bot.judge` (pure) and record through :mod:`bot.publish`.
Nothing here knows about webhooks.
"""

from __future__ import annotations

import fnmatch

from bot import gather, judge
from bot.github import GitHubClient
from bot.policy import Policy
from bot.services import Services


async def is_audited(
    gh: GitHubClient,
    services: Services,
    repo: str,
    branch: str,
    default_branch: str,
    *,
    deleted: bool = False,
) -> tuple[bool, Policy]:
    """Whether ``branch`` is audited, and the policy that says so. A deleted branch is no longer
    listed as protected, so for a deletion the protection rules' patterns are asked instead."""
    policy = await gather.policy_for(gh, services, repo, default_branch)
    protected: frozenset[str] = frozenset()
    if policy.branches is None and branch != default_branch:
        protected = await gather.protected_branches(gh, services, repo)
        if deleted and branch not in protected:
            patterns = await gather.protection_patterns(gh, repo)
            if any(fnmatch.fnmatchcase(branch, pattern) for pattern in patterns):
                protected = protected | {branch}
    return judge.is_audited_branch(branch, policy, default_branch, protected), policy
