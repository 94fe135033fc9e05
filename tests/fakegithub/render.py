"""REST JSON for the fake's objects, in GitHub's documented shapes.

:class:`Renderer` turns state objects into the dicts GitHub's REST API answers with. API URLs point
at the fake's own base URL (so a client that follows ``url`` fields stays on the fake); web URLs
point at ``https://github.com``. The webhook builders reuse these renderers.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from . import git
from .clock import iso
from .state import (
    Account,
    App,
    CheckRun,
    CheckSuite,
    Commit,
    Installation,
    Issue,
    IssueComment,
    Label,
    PullRequest,
    Push,
    Reaction,
    Release,
    ReleaseAsset,
    Repository,
    Review,
    Team,
)

WEB = "https://github.com"
JSON = dict[str, Any]
GITHUB_SIGNATURE = (
    "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJfake+GitHub+web-flow+key\n"
    "-----END PGP SIGNATURE-----\n"
)
"""The armour of a signature by GitHub's web-flow key (its content is not checked by anyone)."""


def b64_lines(content: bytes) -> str:
    """Base64 wrapped at 60 characters per line, as the contents and blobs APIs send it."""
    encoded = base64.b64encode(content).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


class Renderer:
    def __init__(self, api: str, web: str = WEB) -> None:
        self.api = api.rstrip("/")
        self.web = web

    # -- accounts -------------------------------------------------------------------------------
    def user(self, account: Account | None) -> JSON | None:
        if account is None:
            return None
        login, api = account.login, f"{self.api}/users/{quote(account.login)}"
        return {
            "login": login,
            "id": account.id,
            "node_id": account.node_id,
            "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web}/{login}"
            if not account.is_bot
            else f"{self.web}/apps/{login.removesuffix('[bot]')}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": account.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def org(self, account: Account) -> JSON:
        api = f"{self.api}/orgs/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": account.node_id,
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
            "description": None,
        }

    # -- apps -------------------------------------------------------------------------------------
    def app(self, app: App) -> JSON:
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": app.node_id,
            "client_id": f"Iv1.{app.id:016x}",
            "owner": self.user(app.owner),
            "name": app.name,
            "description": app.description,
            "external_url": f"https://{app.slug}.example.com",
            "html_url": f"{self.web}/apps/{app.slug}",
            "created_at": iso(app.created_at),
            "updated_at": iso(app.created_at),
            "permissions": dict(app.permissions),
            "events": list(app.events),
        }

    def installation(self, inst: Installation) -> JSON:
        org = inst.account.type == "Organization"
        return {
            "id": inst.id,
            "client_id": f"Iv1.{inst.app.id:016x}",
            "account": self.user(inst.account),
            "repository_selection": inst.repository_selection,
            "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": (
                f"{self.web}/organizations/{inst.account.login}/settings/installations/{inst.id}"
                if org
                else f"{self.web}/settings/installations/{inst.id}"
            ),
            "app_id": inst.app.id,
            "app_slug": inst.app.slug,
            "target_id": inst.account.id,
            "target_type": inst.account.type,
            "permissions": dict(inst.permissions),
            "events": list(inst.events),
            "created_at": iso(inst.created_at),
            "updated_at": iso(inst.created_at),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": iso(inst.suspended_at),
        }

    # -- repositories ---------------------------------------------------------------------------
    def repo_urls(self, repo: Repository) -> JSON:
        api = f"{self.api}/repos/{repo.full_name}"
        return {
            "url": api,
            "forks_url": f"{api}/forks",
            "keys_url": f"{api}/keys{{/key_id}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "teams_url": f"{api}/teams",
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "tags_url": f"{api}/tags",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "languages_url": f"{api}/languages",
            "stargazers_url": f"{api}/stargazers",
            "contributors_url": f"{api}/contributors",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "comments_url": f"{api}/comments{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "merges_url": f"{api}/merges",
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{api}/downloads",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "labels_url": f"{api}/labels{{/name}}",
            "releases_url": f"{api}/releases{{/id}}",
            "deployments_url": f"{api}/deployments",
        }

    def repo(self, repo: Repository, *, full: bool = True) -> JSON:
        html = f"{self.web}/{repo.full_name}"
        open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
        out: JSON = {
            "id": repo.id,
            "node_id": repo.node_id,
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": None,
            "fork": False,
            **self.repo_urls(repo),
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.pushed_at),
            "pushed_at": iso(repo.pushed_at),
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": sum(len(b) for b in repo.blobs.values()) // 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
        }
        if full:
            out["permissions"] = {
                "admin": False,
                "maintain": False,
                "push": False,
                "triage": False,
                "pull": True,
            }
            out["temp_clone_token"] = ""
            out["network_count"] = 0
            out["subscribers_count"] = 0
            if repo.owner.type == "Organization":
                out["organization"] = self.user(repo.owner)
        return out

    def repo_lite(self, repo: Repository) -> JSON:
        return {
            "id": repo.id,
            "node_id": repo.node_id,
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
        }

    # -- git ---------------------------------------------------------------------------------------
    def commit(self, repo: Repository, c: Commit, *, files: bool = True) -> JSON:
        api = f"{self.api}/repos/{repo.full_name}"
        world = repo.world
        author = world.account_for_email(c.author.email)
        committer = world.account_for_email(c.committer.email)
        out: JSON = {
            "sha": c.sha,
            "node_id": _commit_node_id(repo, c.sha),
            "commit": {
                "author": {
                    "name": c.author.name,
                    "email": c.author.email,
                    "date": iso(c.author.date),
                },
                "committer": {
                    "name": c.committer.name,
                    "email": c.committer.email,
                    "date": iso(c.committer.date),
                },
                "message": c.message,
                "tree": {"sha": c.tree_sha, "url": f"{api}/git/trees/{c.tree_sha}"},
                "url": f"{api}/git/commits/{c.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": c.signed_by_github,
                    "reason": "valid" if c.signed_by_github else "unsigned",
                    "signature": GITHUB_SIGNATURE if c.signed_by_github else None,
                    "payload": c.message if c.signed_by_github else None,
                    "verified_at": iso(c.committer.date) if c.signed_by_github else None,
                },
            },
            "url": f"{api}/commits/{c.sha}",
            "html_url": f"{self.web}/{repo.full_name}/commit/{c.sha}",
            "comments_url": f"{api}/commits/{c.sha}/comments",
            "author": self.user(author),
            "committer": self.user(committer),
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/commits/{p}",
                    "html_url": f"{self.web}/{repo.full_name}/commit/{p}",
                }
                for p in c.parents
            ],
        }
        if files:
            parent_tree = repo.commit_obj(c.parents[0]).tree if c.parents else {}
            diffs = git.diff_trees(parent_tree, c.tree)
            adds = sum(f.additions for f in diffs)
            dels = sum(f.deletions for f in diffs)
            out["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
            out["files"] = [self.diff_entry(repo, f, c.sha) for f in diffs]
        return out

    def diff_entry(self, repo: Repository, f: git.FileDiff, ref: str) -> JSON:
        html = f"{self.web}/{repo.full_name}"
        out: JSON = {
            "sha": f.blob_sha,
            "filename": f.filename,
            "status": f.status,
            "additions": f.additions,
            "deletions": f.deletions,
            "changes": f.changes,
            "blob_url": f"{html}/blob/{ref}/{f.filename}",
            "raw_url": f"{html}/raw/{ref}/{f.filename}",
            "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{f.filename}?ref={ref}",
        }
        if f.patch is not None:
            out["patch"] = f.patch
        if f.previous_filename is not None:
            out["previous_filename"] = f.previous_filename
        return out

    def short_branch(self, repo: Repository, name: str) -> JSON:
        sha = repo.branches[name]
        out: JSON = {
            "name": name,
            "commit": {"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}"},
            "protected": repo.is_protected(name),
        }
        return out

    def branch(self, repo: Repository, name: str) -> JSON:
        sha = repo.branches[name]
        api = f"{self.api}/repos/{repo.full_name}"
        protected = repo.is_protected(name)
        return {
            "name": name,
            "commit": self.commit(repo, repo.commit_obj(sha), files=False),
            "_links": {
                "self": f"{api}/branches/{name}",
                "html": f"{self.web}/{repo.full_name}/tree/{name}",
            },
            "protected": protected,
            "protection": {
                "enabled": protected,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{api}/branches/{name}/protection",
        }

    def content_file(self, repo: Repository, path: str, content: bytes, ref: str) -> JSON:
        api = f"{self.api}/repos/{repo.full_name}"
        sha = git.blob_sha(content)
        too_big = len(content) > 1_000_000
        html = f"{self.web}/{repo.full_name}/blob/{ref}/{path}"
        return {
            "type": "file",
            "encoding": "none" if too_big else "base64",
            "size": len(content),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": "" if too_big else b64_lines(content),
            "sha": sha,
            "url": f"{api}/contents/{path}?ref={ref}",
            "git_url": f"{api}/git/blobs/{sha}",
            "html_url": html,
            "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
            "_links": {
                "self": f"{api}/contents/{path}?ref={ref}",
                "git": f"{api}/git/blobs/{sha}",
                "html": html,
            },
        }

    def dir_entry(
        self, repo: Repository, path: str, kind: str, sha: str, size: int, ref: str
    ) -> JSON:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
        git_url = f"{api}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
        return {
            "type": kind,
            "size": size,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": f"{api}/contents/{path}?ref={ref}",
            "git_url": git_url,
            "html_url": html,
            "download_url": (
                f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}"
                if kind == "file"
                else None
            ),
            "_links": {"self": f"{api}/contents/{path}?ref={ref}", "git": git_url, "html": html},
        }

    def blob(self, repo: Repository, sha: str, content: bytes) -> JSON:
        return {
            "sha": sha,
            "node_id": _commit_node_id(repo, sha, kind="Blob"),
            "size": len(content),
            "url": f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}",
            "content": b64_lines(content),
            "encoding": "base64",
        }

    # -- issues and pull requests -----------------------------------------------------------------
    def label(self, repo: Repository, label: Label) -> JSON:
        return {
            "id": label.id,
            "node_id": label.node_id,
            "url": f"{self.api}/repos/{repo.full_name}/labels/{label.name}",
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
            "archived_at": None,
            "archived_by": None,
        }

    def _association(self, repo: Repository, account: Account) -> str:
        if account is repo.owner:
            return "OWNER"
        permission = repo.permissions.get(account.login.lower())
        if permission in ("admin", "maintain", "write", "triage"):
            return "MEMBER" if repo.owner.type == "Organization" else "COLLABORATOR"
        if any(pr.merged and pr.author is account for pr in repo.pulls.values()):
            return "CONTRIBUTOR"
        return "NONE"

    def issue(self, issue: Issue) -> JSON:
        repo = issue.repo
        api = f"{self.api}/repos/{repo.full_name}"
        url = f"{api}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        out: JSON = {
            "url": url,
            "repository_url": api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.web}/{repo.full_name}/{kind}/{issue.number}",
            "id": issue.id,
            "node_id": issue.node_id,
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": [self.label(repo, label) for label in issue.labels],
            "state": issue.state,
            "locked": issue.locked,
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(a) for a in issue.assignees],
            "milestone": None,
            "comments": len(issue.comments),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "author_association": self._association(repo, issue.user),
            "active_lock_reason": None,
            "body": issue.body,
            "closed_by": self.user(issue.closed_by) if issue.state == "closed" else None,
            "reactions": _reaction_rollup(f"{url}/reactions", []),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": self.app(issue.app) if issue.app else None,
            "state_reason": issue.state_reason,
        }
        if issue.pull is not None:
            pr = issue.pull
            out["draft"] = pr.draft
            out["pull_request"] = {
                "url": f"{api}/pulls/{issue.number}",
                "html_url": f"{self.web}/{repo.full_name}/pull/{issue.number}",
                "diff_url": f"{self.web}/{repo.full_name}/pull/{issue.number}.diff",
                "patch_url": f"{self.web}/{repo.full_name}/pull/{issue.number}.patch",
                "merged_at": iso(pr.merged_at),
            }
        return out

    def comment(self, c: IssueComment) -> JSON:
        repo = c.issue.repo
        api = f"{self.api}/repos/{repo.full_name}"
        kind = "pull" if c.issue.pull else "issues"
        return {
            "url": f"{api}/issues/comments/{c.id}",
            "html_url": f"{self.web}/{repo.full_name}/{kind}/{c.issue.number}#issuecomment-{c.id}",
            "issue_url": f"{api}/issues/{c.issue.number}",
            "id": c.id,
            "node_id": c.node_id,
            "user": self.user(c.user),
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "author_association": self._association(repo, c.user),
            "body": c.body,
            "reactions": _reaction_rollup(f"{api}/issues/comments/{c.id}/reactions", c.reactions),
            "performed_via_github_app": self.app(c.app) if c.app else None,
        }

    def reaction(self, r: Reaction) -> JSON:
        return {
            "id": r.id,
            "node_id": r.node_id,
            "user": self.user(r.user),
            "content": r.content,
            "created_at": iso(r.created_at),
        }

    def _pr_ref(self, pr: PullRequest, ref: str, sha: str) -> JSON:
        repo = pr.repo
        return {
            "label": f"{repo.owner.login}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo.owner),
            "repo": self.repo(repo, full=False),
        }

    def pull(self, pr: PullRequest, *, simple: bool = False) -> JSON:
        repo = pr.repo
        api = f"{self.api}/repos/{repo.full_name}"
        url = f"{api}/pulls/{pr.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}"
        issue_url = f"{api}/issues/{pr.number}"
        out: JSON = {
            "url": url,
            "id": pr.id,
            "node_id": pr.node_id,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "number": pr.number,
            "state": pr.state,
            "locked": pr.issue.locked,
            "title": pr.title,
            "user": self.user(pr.author),
            "body": pr.body,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.issue.updated_at),
            "closed_at": iso(pr.issue.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [self.label(repo, label) for label in pr.labels],
            "milestone": None,
            "draft": pr.draft,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{api}/statuses/{pr.head_sha}",
            "head": self._pr_ref(pr, pr.head_ref, pr.head_sha),
            "base": self._pr_ref(pr, pr.base_ref, pr.base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{api}/statuses/{pr.head_sha}"},
            },
            "author_association": self._association(repo, pr.author),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if simple:
            return out
        files = pr.files()
        out.update(
            {
                "merged": pr.merged,
                "mergeable": None if pr.state == "closed" else True,
                "rebaseable": None if pr.state == "closed" else True,
                "mergeable_state": "unknown" if pr.state == "closed" else "clean",
                "merged_by": self.user(pr.merged_by),
                "comments": len(pr.issue.comments),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": len(pr.commits),
                "additions": sum(f.additions for f in files),
                "deletions": sum(f.deletions for f in files),
                "changed_files": len(files),
            }
        )
        return out

    def review(self, r: Review) -> JSON:
        pr = r.pull
        repo = pr.repo
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}#pullrequestreview-{r.id}"
        pull_url = f"{self.api}/repos/{repo.full_name}/pulls/{pr.number}"
        return {
            "id": r.id,
            "node_id": r.node_id,
            "user": self.user(r.user),
            "body": r.body,
            "state": r.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self._association(repo, r.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": iso(r.submitted_at),
            "commit_id": r.commit_id,
        }

    # -- checks -------------------------------------------------------------------------------------
    def _pr_minimal(self, pr: PullRequest) -> JSON:
        repo = {
            "id": pr.repo.id,
            "url": f"{self.api}/repos/{pr.repo.full_name}",
            "name": pr.repo.name,
        }
        return {
            "id": pr.id,
            "number": pr.number,
            "url": f"{self.api}/repos/{pr.repo.full_name}/pulls/{pr.number}",
            "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": repo},
            "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": repo},
        }

    def check_run(self, run: CheckRun) -> JSON:
        repo = run.repo
        api = f"{self.api}/repos/{repo.full_name}"
        prs = [
            self._pr_minimal(pr)
            for pr in repo.pulls.values()
            if pr.state == "open" and pr.head_sha == run.head_sha
        ]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": run.node_id,
            "head_sha": run.head_sha,
            "external_id": run.external_id,
            "url": f"{api}/check-runs/{run.id}",
            "html_url": f"{self.web}/{repo.full_name}/runs/{run.id}",
            "details_url": run.details_url or f"{self.web}/{repo.full_name}/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{api}/check-runs/{run.id}/annotations",
            },
            "check_suite": {"id": run.suite.id},
            "app": self.app(run.app),
            "pull_requests": prs,
        }

    def check_suite(self, suite: CheckSuite) -> JSON:
        repo = suite.repo
        api = f"{self.api}/repos/{repo.full_name}"
        head = repo.commit_obj(suite.head_sha)
        return {
            "id": suite.id,
            "node_id": suite.node_id,
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": suite.status,
            "conclusion": suite.conclusion,
            "url": f"{api}/check-suites/{suite.id}",
            "before": suite.before,
            "after": suite.after,
            "pull_requests": [
                self._pr_minimal(pr)
                for pr in repo.pulls.values()
                if pr.state == "open" and pr.head_sha == suite.head_sha
            ],
            "app": self.app(suite.app),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
            "rerequestable": True,
            "runs_rerequestable": True,
            "latest_check_runs_count": len(suite.runs),
            "check_runs_url": f"{api}/check-suites/{suite.id}/check-runs",
            "head_commit": {
                "id": head.sha,
                "tree_id": head.tree_sha,
                "message": head.message,
                "timestamp": iso(head.committer.date),
                "author": {"name": head.author.name, "email": head.author.email},
                "committer": {"name": head.committer.name, "email": head.committer.email},
            },
        }

    # -- repository activity ---------------------------------------------------------------------
    def activity(self, push: Push) -> JSON:
        """One entry of ``GET /repos/{owner}/{repo}/activity`` (GitHub's ``activity`` schema)."""
        return {
            "id": push.id,
            "node_id": base64.b64encode(f"011:PushActivity{push.id}".encode()).decode(),
            "before": push.before,
            "after": push.after,
            "ref": push.ref,
            "timestamp": iso(push.pushed_at),
            "activity_type": activity_type(push),
            "actor": self.user(push.pusher),
        }

    # -- tags, refs and releases ---------------------------------------------------------------
    def tag(self, repo: Repository, name: str) -> JSON:
        """One entry of ``GET /repos/{owner}/{repo}/tags``."""
        api = f"{self.api}/repos/{repo.full_name}"
        sha = repo.tags[name]
        quoted = quote(name, safe="/")
        return {
            "name": name,
            "zipball_url": f"{api}/zipball/refs/tags/{quoted}",
            "tarball_url": f"{api}/tarball/refs/tags/{quoted}",
            "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            "node_id": ref_node_id(repo, f"refs/tags/{name}"),
        }

    def git_ref(self, repo: Repository, ref: str, sha: str) -> JSON:
        """A ``GitRef`` (``ref`` is fully qualified: ``refs/heads/main``, ``refs/tags/v1``)."""
        api = f"{self.api}/repos/{repo.full_name}/git"
        return {
            "ref": ref,
            "node_id": ref_node_id(repo, ref),
            "url": f"{api}/{quote(ref, safe='/')}",
            "object": {"sha": sha, "type": "commit", "url": f"{api}/commits/{sha}"},
        }

    def browser_download_url(self, asset: ReleaseAsset) -> str:
        """GitHub's is ``https://github.com/{owner}/{repo}/releases/download/{tag}/{name}``; the
        fake serves the same path on its own base URL."""
        release = asset.release
        tag = quote(release.url_tag, safe="/")
        return f"{self.api}/{release.repo.full_name}/releases/download/{tag}/{quote(asset.name)}"

    def release_asset(self, asset: ReleaseAsset) -> JSON:
        repo = asset.release.repo
        return {
            "url": f"{self.api}/repos/{repo.full_name}/releases/assets/{asset.id}",
            "id": asset.id,
            "node_id": asset.node_id,
            "name": asset.name,
            "label": asset.label,
            "uploader": self.user(asset.uploader),
            "content_type": asset.content_type,
            "state": asset.state,
            "size": asset.size,
            "digest": asset.digest,
            "download_count": asset.download_count,
            "created_at": iso(asset.created_at),
            "updated_at": iso(asset.updated_at),
            "browser_download_url": self.browser_download_url(asset),
        }

    def release(self, release: Release) -> JSON:
        """A ``Release``. A draft has no tag yet: its web URL names it ``untagged-...`` and it has
        no archive URLs."""
        repo = release.repo
        api = f"{self.api}/repos/{repo.full_name}"
        tag = quote(release.tag_name, safe="/")
        return {
            "url": f"{api}/releases/{release.id}",
            "assets_url": f"{api}/releases/{release.id}/assets",
            "upload_url": f"{api}/releases/{release.id}/assets{{?name,label}}",
            "html_url": f"{self.web}/{repo.full_name}/releases/tag/"
            f"{quote(release.url_tag, safe='/')}",
            "id": release.id,
            "author": self.user(release.author),
            "node_id": release.node_id,
            "tag_name": release.tag_name,
            "target_commitish": release.target_commitish,
            "name": release.name,
            "draft": release.draft,
            "immutable": release.immutable,
            "prerelease": release.prerelease,
            "created_at": iso(release.created_at),
            "updated_at": iso(release.updated_at),
            "published_at": iso(release.published_at),
            "assets": [self.release_asset(a) for a in release.assets],
            "tarball_url": None if release.draft else f"{api}/tarball/{tag}",
            "zipball_url": None if release.draft else f"{api}/zipball/{tag}",
            "body": release.body,
        }

    # -- teams ----------------------------------------------------------------------------------------
    def team_membership(self, team: Team, account: Account) -> JSON:
        return {
            "url": f"{self.api}/organizations/{team.org.id}/team/{team.id}/memberships/"
            f"{account.login}",
            "role": "maintainer" if account in team.maintainers else "member",
            "state": "active",
        }


def activity_type(push: Push) -> str:
    """How the activity list names a push: a branch created or deleted, a force push, the push a
    pull request's merge made, or any other push."""
    if push.deleted:
        return "branch_deletion"
    if push.created:
        return "branch_creation"
    if push.forced:
        return "force_push"
    if any(pr.merge_push is push for pr in push.repo.pulls.values()):
        return "pr_merge"
    return "push"


def _reaction_rollup(url: str, reactions: list[Reaction]) -> JSON:
    counts = {c: 0 for c in ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")}
    for r in reactions:
        counts[r.content] += 1
    return {"url": url, "total_count": len(reactions), **counts}


def ref_node_id(repo: Repository, ref: str) -> str:
    """A ref's node id (the GraphQL ``Ref.id``), e.g. for ``refs/tags/v1.0``."""
    return base64.b64encode(f"03:Ref{repo.id}:{ref}".encode()).decode()


def _commit_node_id(repo: Repository, sha: str, kind: str = "Commit") -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{repo.id}:{sha}".encode()).decode()
