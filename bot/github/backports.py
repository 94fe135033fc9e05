"""Backports: recognising one, confirming its originals through GitHub, comparing their diffs.

A pull request into an audited branch other than the default branch is a candidate when its
title matches ``backports.title``, its body or a commit message carries ``(cherry picked from
commit <sha>)``, or it has a label in ``backports.labels``. Text never suffices: a named commit
must have landed on an audited branch by a merged pull request, and a named pull request must
have merged into one; otherwise the change is an ordinary one and the report says why. The
comparison itself is pure (:mod:`bot.core.backport`).

Cost, beyond the pull request's own audit: one GraphQL query (the originals and their records),
the backport's file list and each original's (REST: they carry the patches).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.core.backport import cherry_picked_from, compare, full_title
from bot.core.change import ZERO_SHA
from bot.core.facts import BackportFacts, ChangeFacts, OriginalFacts
from bot.core.patches import FilePatch
from bot.core.policy import Policy
from bot.github.client import GitHubClient
from bot.github.gather import (
    _CHECK_RUNS,
    COMPARE_FILES_LIMIT,
    compare_commits,
    existing_record,
    gather_pull_request,
    split_repo,
)
from bot.services import Services

_ORIGINAL_FIELDS = (
    "number url merged mergedAt baseRefName"
    " mergeCommit { oid parents(first: 2) { totalCount }" + _CHECK_RUNS + " }"
)


def _originals_query(shas: int, numbers: int) -> str:
    params = "".join(f", $s{i}: String!" for i in range(shas))
    params += "".join(f", $n{i}: Int!" for i in range(numbers))
    body = "".join(
        f"\n    s{i}: object(expression: $s{i}) {{ ... on Commit {{ oid"
        f" associatedPullRequests(first: 5) {{ nodes {{ {_ORIGINAL_FIELDS} }} }} }} }}"
        for i in range(shas)
    )
    body += "".join(
        f"\n    n{i}: pullRequest(number: $n{i}) {{ {_ORIGINAL_FIELDS} }}" for i in range(numbers)
    )
    return (
        f"query BackportOriginals($owner: String!, $name: String!, $appId: Int!{params}) {{\n"
        f"  repository(owner: $owner, name: $name) {{{body}\n  }}\n}}\n"
    )


async def _is_ancestor(gh: GitHubClient, repo: str, commit: str, of: str) -> bool:
    answer = await compare_commits(gh, repo, commit, of)
    return answer is not None and answer.get("status") in ("ahead", "identical")


async def pull_request_patches(gh: GitHubClient, repo: str, number: int) -> list[FilePatch]:
    """A pull request's files with their patches (the REST list; GitHub lists 3,000 at most)."""
    owner, name = split_repo(repo)
    return [
        FilePatch.from_rest(item)
        async for item in gh.getiter(
            "/repos/{owner}/{name}/pulls/{number}/files?per_page=100",
            {"owner": owner, "name": name, "number": number},
        )
    ]


def _merged_into_audited(pull: dict[str, Any], policy: Policy, default_branch: str) -> bool:
    base = str(pull.get("baseRefName") or "")
    audited = base == default_branch or any(
        fnmatch.fnmatchcase(base, glob) for glob in policy.branches or ()
    )
    return bool(pull.get("merged")) and audited and bool(pull.get("mergeCommit"))


def _original(pull: dict[str, Any], landed_at: datetime, policy: Policy) -> OriginalFacts:
    """An original as its record has it: which requirements it met, who reviewed it."""
    record = existing_record(pull.get("mergeCommit"), f"pr-{pull['number']}")
    requirements: tuple[tuple[str, bool], ...] = ()
    reviewers: set[str] = set()
    if record.landed and record.record:
        for entry in record.record.get("requirements") or []:
            if isinstance(entry, dict) and entry.get("name"):
                requirements += ((str(entry["name"]), entry.get("met") is True),)
                reviewers.update(str(login) for login in entry.get("counted") or [])
                if entry.get("implicit_merger"):
                    reviewers.add(str(entry["implicit_merger"]))
    merged_at = pull.get("mergedAt")
    in_window = True
    if merged_at:
        merged = datetime.fromisoformat(str(merged_at).replace("Z", "+00:00"))
        in_window = landed_at - merged <= timedelta(days=policy.backports.window_days)
    return OriginalFacts(
        number=int(pull["number"]),
        url=str(pull.get("url") or ""),
        merged_at=merged_at,
        requirements=requirements,
        reviewers=tuple(sorted(reviewers, key=str.casefold)),
        in_window=in_window,
    )


async def backport_facts(
    gh: GitHubClient,
    services: Services,
    repo: str,
    pull: dict[str, Any],
    facts: ChangeFacts,
    policy: Policy,
    default_branch: str,
) -> BackportFacts | None:
    """What pull request ``pull`` (its own query's node) is a backport of; None when it is no
    candidate."""
    if facts.branch == default_branch:
        return None
    body = str(pull.get("body") or "")
    labels = [str(n.get("name")) for n in (pull.get("labels") or {}).get("nodes") or [] if n]
    return await _backport(
        gh,
        services,
        repo,
        facts,
        policy,
        default_branch,
        shas=cherry_picked_from(body, *(commit.message for commit in facts.commits)),
        number=policy.backports.title.original(full_title(facts.title, body)),
        labelled=policy.backports.labelled(labels),
        patches=partial(pull_request_patches, gh, repo, int(facts.number or 0)),
    )


async def push_backport_facts(
    gh: GitHubClient,
    services: Services,
    facts: ChangeFacts,
    policy: Policy,
    default_branch: str,
) -> BackportFacts | None:
    """What a direct push is a backport of, where its commits carry cherry-pick lines; None when
    it is no candidate (a push has no title or labels)."""
    shas = cherry_picked_from(*(commit.message for commit in facts.commits))
    if facts.branch == default_branch or not shas or facts.before in (None, ZERO_SHA):
        return None  # a new branch is no cherry-pick: it is judged as a push
    return await _backport(
        gh,
        services,
        facts.repository,
        facts,
        policy,
        default_branch,
        shas=shas,
        number=None,
        labelled=False,
        patches=partial(compare_patches, gh, facts.repository, facts.before, facts.after or ""),
    )


async def compare_patches(
    gh: GitHubClient, repo: str, base: str, head: str
) -> list[FilePatch] | None:
    """The files of ``base...head`` with their patches; None where the compare's list may be
    cut (it lists 300 files at most): such a push is never shown to be a clean backport."""
    owner, name = split_repo(repo)
    answer = await gh.getitem(
        "/repos/{owner}/{name}/compare/{basehead}",
        {"owner": owner, "name": name, "basehead": f"{base}...{head}"},
    )
    files = answer.get("files") or []
    if len(files) >= COMPARE_FILES_LIMIT:
        return None
    return [FilePatch.from_rest(item) for item in files]


async def _backport(
    gh: GitHubClient,
    services: Services,
    repo: str,
    facts: ChangeFacts,
    policy: Policy,
    default_branch: str,
    *,
    shas: Sequence[str],
    number: int | None,
    labelled: bool,
    patches: Callable[[], Awaitable[list[FilePatch] | None]],
) -> BackportFacts | None:
    if not shas and number is None and not labelled:
        return None
    found_by = "cherry-pick line" if shas else "title" if number is not None else "label"
    if not shas and number is None:
        return BackportFacts(
            found_by=found_by,
            refused="it is labelled as a backport, but neither its title nor a cherry-pick "
            "line names the original",
        )
    owner, name = split_repo(repo)
    numbers = [] if shas else [int(number or 0)]
    data = await gh.query(
        _originals_query(len(shas), len(numbers)),
        owner=owner,
        name=name,
        appId=int(services.settings.app_id),
        **{f"s{i}": sha for i, sha in enumerate(shas)},
        **{f"n{i}": n for i, n in enumerate(numbers)},
    )
    repository = data.get("repository") or {}
    landed_at = (
        datetime.fromisoformat(facts.merged_at.replace("Z", "+00:00"))
        if facts.merged_at
        else services.clock.now()
    )
    originals: dict[int, OriginalFacts] = {}
    for i, sha in enumerate(shas):
        commit = repository.get(f"s{i}") or {}
        merged = [
            p
            for p in (commit.get("associatedPullRequests") or {}).get("nodes") or []
            if p and _merged_into_audited(p, policy, default_branch)
        ]
        confirmed = [
            p
            for p in merged
            if (p["mergeCommit"] or {}).get("oid") == commit.get("oid")
            or ((p["mergeCommit"].get("parents") or {}).get("totalCount") or 0) > 1
        ]
        for p in merged if not confirmed and commit.get("oid") else ():
            # an earlier commit of a rebase-merged pull request landed if it is an ancestor of
            # the pull request's last (merge) commit; the pull request's own unmerged commits
            # are associated with it too, and are not
            if await _is_ancestor(gh, repo, str(commit["oid"]), str(p["mergeCommit"]["oid"])):
                confirmed.append(p)
                break
        if not confirmed:
            return BackportFacts(
                found_by=found_by,
                refused=f"its cherry-pick line names commit {sha[:12]}, which did not land on an "
                "audited branch by a merged pull request",
            )
        originals.setdefault(
            int(confirmed[0]["number"]), _original(confirmed[0], landed_at, policy)
        )
    for i, n in enumerate(numbers):
        named = repository.get(f"n{i}")
        if not named or not _merged_into_audited(named, policy, default_branch):
            return BackportFacts(
                found_by=found_by,
                refused=f"its title names #{n}, which was never merged into an audited branch",
            )
        originals.setdefault(n, _original(named, landed_at, policy))
    for number_, original in list(originals.items()):
        if not original.requirements:
            # no record of it (merged before the App was installed): read it to judge it
            read = await gather_pull_request(gh, services, repo, number_)
            originals[number_] = replace(original, facts=read.facts)
    ordered = sorted(originals.values(), key=lambda o: o.merged_at or "")
    theirs: list[FilePatch] = []
    for original in ordered:
        theirs.extend(await pull_request_patches(gh, repo, original.number))
    mine = await patches()
    if mine is None:
        return BackportFacts(
            originals=tuple(ordered),
            found_by=found_by,
            differences=(
                "GitHub lists at most 300 files of a push's diff: this one cannot be shown to "
                "be the same change as its originals",
            ),
        )
    comparison = compare(mine, theirs)
    return BackportFacts(
        originals=tuple(ordered),
        found_by=found_by,
        clean=comparison.clean,
        differences=tuple(comparison.lines_of_concern()),
        conflict_resolution=comparison.conflict_resolution,
    )
