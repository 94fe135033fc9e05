"""Facts about a release, read from GitHub (and a package index): the release audit's I/O.

:class:`ReleaseReader` reads, for tag ``T``:

* the release tags (GraphQL, 100 a query) to find the previous release where none is given;
* one GraphQL query for the tag's commit (and this App's ``countersign release`` run on it), the
  previous release's commit, ``.gitattributes`` at the tag and the policy files;
* the commits between the two tags (:func:`bot.github.gather.compare_range`, paginated to the
  end), then, 100 commits a query, each commit's merged pull requests and this App's
  ``countersign`` records on it: the changes are grouped by pull request (whose merge commit is in
  the range) or by the push whose record names the commit, and read as recorded; a change with no
  record is judged afresh by the core (read and judged, never recorded here);
* the tree at the tag (one request) and each source archive: the release's assets (one request for
  the release, one for each asset's download redirect, then the download itself), the sdist of the
  same version on the package index, or local files given by the command line.

The policy that judges a release is the one that stood before everything it brings: the policy at
the previous release (at the tag for a first release), with ``release.pypi`` also taken from the
tag's policy (a comparison more is never weaker).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import aiohttp

from bot.core.archive import ExportAttributes, Limits, compare_with_tree
from bot.core.change import ZERO_SHA, ChangeId, parse_key
from bot.core.facts import CommitFacts
from bot.core.landed import Judged, from_record, from_verdict
from bot.core.policy import REPO_POLICY_PATH, Policy
from bot.core.release_audit import RELEASE_CHECK_NAME, ReleaseFacts, Shipped, release_key
from bot.downloads import Downloaded, DownloadError, fetch, from_file, read_off_loop
from bot.github import gather
from bot.github.client import GitHubClient
from bot.github.gather import ExistingRecord, existing_record, split_repo
from bot.offload import judge_off_loop
from bot.pypi import NotOnIndex, find_sdists, pypi_version
from bot.services import Services

logger = logging.getLogger(__name__)

PAGE: Final = 100
MAX_ARCHIVES: Final = 20
"""The most archives one release audit downloads and reads; any more are reported not checked."""
FIRST_RELEASE_COMMITS: Final = 1000
"""How many commits a first release (no earlier release tag) is read back to."""
ARCHIVE_SUFFIXES: Final = (
    ".tar.gz",
    ".tgz",
    ".tar.xz",
    ".txz",
    ".tar.bz2",
    ".tbz2",
    ".tar",
    ".zip",
)
"""Release assets read as source archives (sdists are ``.tar.gz`` or ``.zip``)."""
UNREADABLE_SUFFIXES: Final = (
    ".tar.zst",
    ".tzst",
    ".tar.lz",
    ".tar.lz4",
    ".tar.lzma",
    ".7z",
    ".rar",
)
"""Archive formats countersign cannot read: such an asset is reported as not checked (high)."""
SENSITIVE_RULES: Final = ("build-system", "review-config")
"""The shipped default's rules whose paths are sensitive in an archive too, besides every rule
of the policy marked severity high."""

_RELEASE_RUNS = (
    "checkSuites(first: 20, filterBy: {appId: $appId}) { nodes {"
    f' checkRuns(first: 10, filterBy: {{checkName: "{RELEASE_CHECK_NAME}"}}) {{'
    " nodes { databaseId externalId conclusion text } } } }"
)

TAGS_QUERY: Final = """
query ReleaseTags($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name }
    refs(refPrefix: "refs/tags/", first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { name target { __typename oid ... on Tag { target { oid } } } }
    }
  }
}
"""

RELEASE_QUERY: Final = f"""
query ReleaseAudit($owner: String!, $name: String!, $head: String!, $base: String!,
    $attributes: String!, $policyBefore: String!, $policyAtTag: String!, $appId: Int!) {{
  repository(owner: $owner, name: $name) {{
    url
    defaultBranchRef {{ name }}
    head: object(expression: $head) {{
      __typename
      ... on Commit {{ oid {_RELEASE_RUNS} }}
      ... on Tag {{ target {{ ... on Commit {{ oid {_RELEASE_RUNS} }} }} }}
    }}
    base: object(expression: $base) {{
      __typename
      ... on Commit {{ oid }}
      ... on Tag {{ target {{ oid }} }}
    }}
    attributes: object(expression: $attributes) {{ ... on Blob {{ text }} }}
    policyBefore: object(expression: $policyBefore) {{ ... on Blob {{ text }} }}
    policyAtTag: object(expression: $policyAtTag) {{ ... on Blob {{ text }} }}
  }}
}}
"""

_LANDED_RUNS = """checkSuites(first: 20, filterBy: {appId: $appId}) { nodes {
  checkRuns(first: 10, filterBy: {checkName: "countersign"}) {
    nodes { databaseId externalId conclusion text } } } }"""


PREVIOUS_CANDIDATES: Final = 10
"""How many earlier release tags are looked at to find one that was audited or published."""


def _candidates_query(count: int) -> str:
    params = "".join(f", $e{i}: String!, $n{i}: String!" for i in range(count))
    fields = "".join(
        f"\n    t{i}: object(expression: $e{i}) {{ __typename"
        f" ... on Commit {{ oid {_RELEASE_RUNS} }}"
        f" ... on Tag {{ target {{ ... on Commit {{ oid {_RELEASE_RUNS} }} }} }} }}"
        f"\n    r{i}: release(tagName: $n{i}) {{ isDraft }}"
        for i in range(count)
    )
    return (
        f"query ReleaseCandidates($owner: String!, $name: String!, $appId: Int!{params}) {{\n"
        f"  repository(owner: $owner, name: $name) {{{fields}\n  }}\n}}\n"
    )


def _commits_query(count: int) -> str:
    params = "".join(f", $c{i}: GitObjectID!" for i in range(count))
    objects = "".join(
        f"\n    c{i}: object(oid: $c{i}) {{ ... on Commit {{ oid committedDate"
        " associatedPullRequests(first: 10) { nodes { number merged title url baseRefName"
        " mergedAt mergeCommit { oid } author { login } mergedBy { login } } }"
        f" {_LANDED_RUNS} }} }}"
        for i in range(count)
    )
    return (
        f"query ReleaseChanges($owner: String!, $name: String!, $appId: Int!{params}) {{\n"
        f"  repository(owner: $owner, name: $name) {{{objects}\n  }}\n}}\n"
    )


def _ancestry(parents: dict[str, tuple[str, ...]], sha: str) -> set[str]:
    """``sha`` and its ancestors among the commits ``parents`` knows (the release's range).

    >>> sorted(_ancestry({"c": ("b",), "b": ("a",), "a": ()}, "b"))
    ['a', 'b']
    """
    seen: set[str] = set()
    todo = [sha]
    while todo:
        current = todo.pop()
        if current in seen or current not in parents:
            continue
        seen.add(current)
        todo.extend(parents[current])
    return seen


class ReleaseNotFound(Exception):
    """The tag (or the previous release's tag) does not exist."""


@dataclass(frozen=True)
class Artifact:
    """A local file to compare instead of the release's assets (``--artifact``)."""

    path: str
    name: str


@dataclass(frozen=True)
class GatheredRelease:
    facts: ReleaseFacts
    policy: Policy
    existing: ExistingRecord
    default_branch: str


def _commit_oid(node: dict[str, Any] | None) -> dict[str, Any] | None:
    """The commit a GraphQL object is, or that the annotated tag it is points at."""
    if not node:
        return None
    if node.get("__typename") == "Tag":
        target = node.get("target") or {}
        return target if target.get("oid") else None
    return node if node.get("oid") else None


async def release_tags(gh: GitHubClient, repo: str) -> tuple[dict[str, str], str]:
    """Every tag of ``repo`` and the commit it names (GraphQL, 100 tags a query), and the
    repository's default branch (which comes with the first query)."""
    owner, name = split_repo(repo)
    found: dict[str, str] = {}
    after: str | None = None
    default_branch = ""
    while True:
        data = await gh.query(TAGS_QUERY, owner=owner, name=name, after=after)
        default_branch = default_branch or str(
            (data["repository"].get("defaultBranchRef") or {}).get("name") or ""
        )
        refs = data["repository"]["refs"]
        for node in refs["nodes"] or []:
            commit = _commit_oid((node or {}).get("target"))
            if node and commit:
                found[str(node["name"])] = str(commit["oid"])
        if not refs["pageInfo"]["hasNextPage"]:
            return found, default_branch
        after = refs["pageInfo"]["endCursor"]


def is_archive(name: str) -> bool:
    """Whether a release asset named ``name`` is a source archive that is read.

    >>> is_archive("xz-5.6.1.tar.gz"), is_archive("xz-5.6.1.tar.gz.sig"), is_archive("x.whl")
    (True, False, False)
    """
    return name.lower().endswith(ARCHIVE_SUFFIXES + UNREADABLE_SUFFIXES)


def sensitive_patterns(policy: Policy) -> tuple[str, ...]:
    """The paths an archive may not add or change unnoticed even among generated files: those of
    the build-system and review-config rules, and of every rule of severity high."""
    patterns: list[str] = []
    for rule in policy.rules:
        if rule.name in SENSITIVE_RULES or rule.severity == "high":
            patterns.extend(rule.paths)
    return tuple(dict.fromkeys(patterns))


class ReleaseReader:
    """One release audit's reads."""

    def __init__(
        self,
        gh: GitHubClient,
        services: Services,
        repo: str,
        tag: str,
        *,
        previous: str | None = None,
        artifacts: Sequence[Artifact] | None = None,
        pypi: str | None = None,
        branch: str | None = None,
    ) -> None:
        self.gh = gh
        self.services = services
        self.repo = repo
        self.tag = tag
        self.previous = previous
        self.artifacts = artifacts
        self.pypi = pypi
        self.branch = branch
        self.owner, self.name = split_repo(repo)
        self.web_url = ""
        self.default_branch = ""
        self._texts: dict[str, bytes] = {}
        self._keep: Callable[[str], bool] | None = None

    # -- the run -----------------------------------------------------------------------------
    async def read(self) -> GatheredRelease:
        previous = self.previous
        cautions: list[str] = []
        if previous is None:
            tags, self.default_branch = await release_tags(self.gh, self.repo)
            if self.tag not in tags:
                raise ReleaseNotFound(f"{self.repo} has no tag {self.tag!r}")
            current = await gather.policy_for(
                self.gh, self.services, self.repo, self.default_branch
            )
            previous = await self._previous(current, list(tags), cautions)
        head_ref = f"refs/tags/{self.tag}"
        base_ref = f"refs/tags/{previous}" if previous else head_ref
        data = await self.gh.query(
            RELEASE_QUERY,
            owner=self.owner,
            name=self.name,
            head=head_ref,
            base=base_ref,
            attributes=f"{head_ref}:.gitattributes",
            policyBefore=f"{base_ref}:{REPO_POLICY_PATH}",
            policyAtTag=f"{head_ref}:{REPO_POLICY_PATH}",
            appId=int(self.services.settings.app_id),
        )
        repository = data["repository"]
        self.web_url = str(repository.get("url") or "")
        self.default_branch = str((repository.get("defaultBranchRef") or {}).get("name") or "")
        head = _commit_oid(repository.get("head"))
        if head is None:
            raise ReleaseNotFound(f"{self.repo} has no tag {self.tag!r}")
        base = _commit_oid(repository.get("base")) if previous else None
        if previous and base is None:
            raise ReleaseNotFound(f"{self.repo} has no tag {previous!r}")
        sha = str(head["oid"])
        existing = existing_record(head, release_key(self.tag))

        def text(key: str) -> str | None:
            return (repository.get(key) or {}).get("text")

        policy = await gather.policy_for(
            self.gh,
            self.services,
            self.repo,
            self.default_branch,
            repo_text=text("policyBefore"),
        )
        pypi = self.pypi or policy.release.pypi
        if pypi is None and previous:
            at_tag = await gather.policy_for(
                self.gh,
                self.services,
                self.repo,
                self.default_branch,
                repo_text=text("policyAtTag"),
            )
            pypi = at_tag.release.pypi
        base_sha = str(base["oid"]) if base else None
        changes, commits, unseen, compare_url = await self.changes(base_sha, sha, policy)
        release = await self._release()
        archives = await self.archives(sha, text("attributes"), policy, release, pypi)
        facts = ReleaseFacts(
            repository=self.repo,
            tag=self.tag,
            sha=sha,
            previous=previous,
            previous_sha=base_sha,
            url=(release or {}).get("html_url") or f"{self.web_url}/tree/{self.tag}",
            compare_url=compare_url,
            changes=tuple(changes),
            archives=tuple(archives),
            unseen=tuple(unseen),
            policy_errors=tuple(str(e) for e in policy.errors),
            cautions=tuple(cautions),
            commits=commits,
            prerelease=bool((release or {}).get("prerelease")),
        )
        return GatheredRelease(facts, policy, existing, self.default_branch)

    async def _previous(self, policy: Policy, tags: list[str], cautions: list[str]) -> str | None:
        """The previous release: the nearest earlier release tag (by version, on the same line)
        that countersign audited or that is a published GitHub release. A tag pushed with
        others reaches no webhook: a decoy tag at the head must not become the start of the
        range. Where none of the nearest :data:`PREVIOUS_CANDIDATES` is either, the nearest is
        taken, with a caution."""
        chain: list[str] = []
        remaining = list(tags)
        while len(chain) < PREVIOUS_CANDIDATES:
            found = policy.release.previous_release(self.tag, remaining)
            if found is None:
                break
            chain.append(found)
            remaining.remove(found)
        if not chain:
            return None
        data = await self.gh.query(
            _candidates_query(len(chain)),
            owner=self.owner,
            name=self.name,
            appId=int(self.services.settings.app_id),
            **{f"e{i}": f"refs/tags/{tag}" for i, tag in enumerate(chain)},
            **{f"n{i}": tag for i, tag in enumerate(chain)},
        )
        repository = data["repository"]
        for i, tag in enumerate(chain):
            record = existing_record(_commit_oid(repository.get(f"t{i}")), release_key(tag))
            release = repository.get(f"r{i}") or {}
            audited = (record.record or {}).get("kind") == "release"
            if audited or (release and release.get("isDraft") is False):
                if i:
                    skipped = ", ".join(chain[:i])
                    what = "is a release tag" if i == 1 else "are release tags"
                    cautions.append(
                        f"{skipped} {what} countersign never audited and no published release: "
                        f"the range starts at {tag}, the nearest release that is"
                    )
                return tag
        cautions.append(
            f"{chain[0]}, the release before {self.tag}, was never audited by countersign and "
            "is no published GitHub release: what went in is counted from it all the same"
        )
        return chain[0]

    async def _blob_texts(self, sha: str, paths: Sequence[str]) -> dict[str, bytes]:
        """The content of the tree's files at ``paths`` (text only), 100 a GraphQL query."""
        texts: dict[str, bytes] = {}
        for start in range(0, len(paths), PAGE):
            batch = paths[start : start + PAGE]
            params = "".join(f", $e{i}: String!" for i in range(len(batch)))
            fields = "".join(
                f"\n    e{i}: object(expression: $e{i}) {{ ... on Blob {{ text isBinary }} }}"
                for i in range(len(batch))
            )
            data = await self.gh.query(
                f"query ExportSubst($owner: String!, $name: String!{params}) {{\n"
                f"  repository(owner: $owner, name: $name) {{{fields}\n  }}\n}}\n",
                owner=self.owner,
                name=self.name,
                **{f"e{i}": f"{sha}:{path}" for i, path in enumerate(batch)},
            )
            for i, path in enumerate(batch):
                blob = data["repository"].get(f"e{i}") or {}
                if isinstance(blob.get("text"), str) and not blob.get("isBinary"):
                    texts[path] = blob["text"].encode("utf-8")
        return texts

    # -- what went in ------------------------------------------------------------------------
    async def changes(
        self, base: str | None, head: str, policy: Policy
    ) -> tuple[list[Judged], int, list[str], str | None]:
        """The changes between the two releases (oldest first), how many commits they hold, what
        was not seen and the compare's page."""
        unseen: list[str] = []
        url: str | None = None
        if base is None:
            listed, more = await gather.listed_commits(
                self.gh, self.repo, head, FIRST_RELEASE_COMMITS
            )
            commits = tuple(reversed(listed))
            if more:
                unseen.append(
                    f"{self.tag} is the first release tag: the {FIRST_RELEASE_COMMITS:,} newest "
                    "commits up to it were read, the older ones were not seen"
                )
        else:
            found = await gather.compare_range(self.gh, self.repo, base, head, every_file=False)
            if found is None:
                unseen.append(
                    f"GitHub could not compare {self.previous or base[:7]} with {self.tag}: "
                    "the changes between them were not seen"
                )
                return [], 0, unseen, None
            commits, url = found.commits, found.url
            unseen.extend(found.unseen)
        nodes = await self._commit_nodes([c.sha for c in commits])
        return await self._group(commits, nodes, policy), len(commits), unseen, url

    async def _commit_nodes(self, shas: Sequence[str]) -> dict[str, dict[str, Any]]:
        nodes: dict[str, dict[str, Any]] = {}
        app_id = int(self.services.settings.app_id)
        for start in range(0, len(shas), PAGE):
            batch = shas[start : start + PAGE]
            data = await self.gh.query(
                _commits_query(len(batch)),
                owner=self.owner,
                name=self.name,
                appId=app_id,
                **{f"c{i}": sha for i, sha in enumerate(batch)},
            )
            for i, sha in enumerate(batch):
                nodes[sha] = data["repository"].get(f"c{i}") or {}
        return nodes

    async def _group(
        self,
        commits: Sequence[CommitFacts],
        nodes: dict[str, dict[str, Any]],
        policy: Policy,
    ) -> list[Judged]:
        in_range = {c.sha for c in commits}
        pulls: dict[int, dict[str, Any]] = {}
        claimed: set[str] = set()
        for commit in commits:
            node = nodes.get(commit.sha) or {}
            candidates = [
                p
                for p in (node.get("associatedPullRequests") or {}).get("nodes") or []
                if p and p.get("merged") and (p.get("mergeCommit") or {}).get("oid") in in_range
            ]
            if candidates:
                pull = min(candidates, key=lambda p: int(p["number"]))
                pulls.setdefault(int(pull["number"]), pull)
                claimed.add(commit.sha)
        rows: list[tuple[str, Judged | None, Any]] = []
        for number, pull in pulls.items():
            merge = str(pull["mergeCommit"]["oid"])
            change = ChangeId.pull_request(self.repo, number)
            existing = existing_record(nodes.get(merge), change.key)
            if existing.landed and existing.record is not None:
                rows.append(
                    (
                        str(pull.get("mergedAt") or ""),
                        from_record(
                            existing.record,
                            change,
                            url=str(pull.get("url") or ""),
                            landed_at=str(pull.get("mergedAt") or ""),
                            title=str(pull.get("title") or ""),
                        ),
                        None,
                    )
                )
            else:
                rows.append((str(pull.get("mergedAt") or ""), None, number))
        parents = {c.sha: c.parents for c in commits}
        run: list[CommitFacts] = []
        for commit in commits:
            if commit.sha in claimed:
                continue
            run.append(commit)
            record, pushed = self._push_record(nodes.get(commit.sha))
            if record is not None and pushed is not None:
                # the record covers what its push brought, never what was there before it:
                # commits its push started from are another change (one never recorded)
                before = _ancestry(parents, pushed.before)
                earlier = tuple(c for c in run if c.sha in before)
                if earlier:
                    rows.append((str(earlier[-1].committed_at or ""), None, earlier))
                landed = str((nodes.get(commit.sha) or {}).get("committedDate") or "")
                rows.append(
                    (
                        landed,
                        from_record(record, pushed, url=self._push_url(pushed), landed_at=landed),
                        None,
                    )
                )
                run = []
        if run:
            rows.append((str(run[-1].committed_at or ""), None, tuple(run)))
        judged = await asyncio.gather(*(self._fresh(row, policy) for row in rows))
        out = [j for j in judged if j is not None]
        out.sort(key=lambda j: (j.landed_at, j.key))
        return out

    def _push_record(
        self, node: dict[str, Any] | None
    ) -> tuple[dict[str, Any] | None, ChangeId | None]:
        """The landed record of a push whose head is this commit, if this App wrote one."""
        if not node:
            return None, None
        for suite in (node.get("checkSuites") or {}).get("nodes") or []:
            for run in (suite.get("checkRuns") or {}).get("nodes") or []:
                change = parse_key(self.repo, str((run or {}).get("externalId") or ""))
                if (
                    change is not None
                    and change.kind == "push"
                    and not change.deleted
                    and change.after == node.get("oid")
                ):
                    existing = existing_record(node, change.key)
                    if existing.landed and existing.record is not None:
                        before = existing.record.get("before")
                        if isinstance(before, str) and change.forced is False:
                            change = replace(change, before=before)
                        return existing.record, change
        return None, None

    def _push_url(self, change: ChangeId) -> str:
        if change.before and change.before != ZERO_SHA:
            return f"{self.web_url}/compare/{change.before}...{change.after}"
        return f"{self.web_url}/commit/{change.after}"

    async def _fresh(self, row: tuple[str, Judged | None, Any], policy: Policy) -> Judged | None:
        """A change with no record, judged now by the core (read and judged, not recorded)."""
        landed_at, judged, what = row
        if judged is not None:
            return judged
        if isinstance(what, int):
            gathered = await gather.gather_pull_request(self.gh, self.services, self.repo, what)
            verdict = await judge_off_loop(gathered.facts, gathered.policy)
            return from_verdict(gathered.facts, verdict, landed_at=landed_at)
        commits: tuple[CommitFacts, ...] = what
        first = commits[0]
        before = first.parents[0] if first.parents else ZERO_SHA
        branch = self.branch or self.default_branch
        change = ChangeId.push(self.repo, branch, before, commits[-1].sha)
        pushed = await gather.gather_push(
            self.gh, self.services, change, policy, default_branch=self.default_branch
        )
        if pushed.via_pull_requests:
            return None
        verdict = await judge_off_loop(pushed.facts, pushed.policy)
        return from_verdict(pushed.facts, verdict, landed_at=landed_at, url=self._push_url(change))

    # -- what was shipped --------------------------------------------------------------------
    async def _release(self) -> dict[str, Any] | None:
        """The GitHub release of the tag, if there is one (a project may only tag)."""
        from gidgethub import BadRequest

        try:
            answer = await self.gh.getitem(
                "/repos/{owner}/{name}/releases/tags/{tag}",
                {"owner": self.owner, "name": self.name, "tag": self.tag},
            )
        except BadRequest as exc:
            if exc.status_code == 404:
                return None
            raise
        return answer if isinstance(answer, dict) else None

    async def archives(
        self,
        sha: str,
        attributes: str | None,
        policy: Policy,
        release: dict[str, Any] | None,
        pypi: str | None,
    ) -> list[Shipped]:
        sources: list[tuple[str, str, str | None, Any]] = []
        if self.artifacts is not None:
            sources += [("local file", a.name, a.path, a) for a in self.artifacts]
        else:
            for asset in (release or {}).get("assets") or []:
                if is_archive(str(asset.get("name") or "")):
                    sources.append(
                        (
                            "release asset",
                            str(asset["name"]),
                            asset.get("browser_download_url"),
                            asset,
                        )
                    )
        shipped: list[Shipped] = []
        if pypi:
            try:
                sdists = await find_sdists(
                    self.gh.session,
                    self.services.settings.pypi_url,
                    pypi,
                    pypi_version(self.tag),
                )
            except NotOnIndex as exc:
                shipped.append(Shipped(pypi, "PyPI sdist", problem=str(exc)))
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"the package index could not be read: {type(exc).__name__}"
                shipped.append(Shipped(pypi, "PyPI sdist", problem=problem))
            else:
                sources += [("PyPI sdist", sdist.filename, sdist.url, sdist) for sdist in sdists]
        if not sources:
            return shipped
        tree_files = await gather.tree_files(self.gh, self.repo, sha)
        tree = None if tree_files is None else {f.path: str(f.blob_sha) for f in tree_files}
        exported = ExportAttributes(attributes)
        substituted = sorted(p for p in tree or {} if exported.substituted(p))
        self._texts = await self._blob_texts(sha, substituted) if substituted else {}
        wanted = set(substituted)
        self._keep = lambda path: path in wanted or path.split("/", 1)[-1] in wanted
        for number, (source, name, url, item) in enumerate(sources):
            if number >= MAX_ARCHIVES:
                problem = (
                    f"a release's first {MAX_ARCHIVES} archives are read; this one was not: "
                    "what it holds was not compared with the tree"
                )
                shipped.append(Shipped(name, source, url, problem=problem))  # type: ignore[arg-type]
                continue
            shipped.append(
                await self._one_archive(source, name, url, item, tree, attributes, policy)
            )
        return shipped

    async def _one_archive(
        self,
        source: str,
        name: str,
        url: str | None,
        item: Any,
        tree: dict[str, str] | None,
        attributes: str | None,
        policy: Policy,
    ) -> Shipped:
        limit = policy.release.max_archive_bytes
        downloaded: Downloaded | None = None
        size: int | None = None
        try:
            if source == "local file":
                downloaded = from_file(str(url), limit=limit)
            elif source == "release asset":
                if name.lower().endswith(UNREADABLE_SUFFIXES):
                    raise DownloadError(
                        "countersign cannot read this archive format, so it was not compared"
                    )
                size = int(item.get("size") or 0) or None
                if size is not None and size > limit:
                    raise DownloadError(
                        f"it is {size / 1048576:.1f} MiB, over `release.max_archive_mb` "
                        f"({policy.release.max_archive_mb} MiB)"
                    )
                downloaded = await self.gh.download(
                    "/repos/{owner}/{name}/releases/assets/{id}",
                    {"owner": self.owner, "name": self.name, "id": int(item["id"])},
                    limit=limit,
                )
            else:
                sdist = item
                downloaded = await fetch(self.gh.session, sdist.url, limit=limit)
                if sdist.sha256 is not None and downloaded.sha256 != sdist.sha256.lower():
                    raise DownloadError(
                        "the file the index served does not match the SHA-256 it advertises "
                        f"({downloaded.sha256[:12]}… against {sdist.sha256[:12]}…)"
                    )
            size = downloaded.size
            if tree is None:
                return Shipped(
                    name,
                    source,  # type: ignore[arg-type]
                    url,
                    problem="GitHub cut the tree at the tag short, so there is nothing whole "
                    "to compare the archive with",
                    size=size,
                )
            limits = Limits(max_archive_bytes=limit)
            contents = await read_off_loop(name, downloaded, limits, self._keep)
        except DownloadError as exc:
            return Shipped(name, source, url, problem=f"not read: {exc.reason}", size=size)  # type: ignore[arg-type]
        except OSError as exc:
            return Shipped(name, source, url, problem=f"not read: {exc.strerror or exc}")  # type: ignore[arg-type]
        finally:
            if downloaded is not None:
                downloaded.close()
        # a large archive's comparison takes a while: off the event loop, like its reading
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(
            None,
            functools.partial(
                compare_with_tree,
                contents,
                tree,
                gitattributes=attributes,
                generated=policy.release.generated,
                sensitive=sensitive_patterns(policy),
                texts=self._texts,
            ),
        )
        return Shipped(name, source, url, report=report, size=size)  # type: ignore[arg-type]
