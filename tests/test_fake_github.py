"""The fake GitHub behaves like GitHub, as seen through a plain gidgethub client."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
import gidgethub
import jwt
import pytest
from gidgethub import apps
from gidgethub.aiohttp import GitHubAPI

from tests.fakegithub import (
    FakeGitHub,
    FrozenClock,
    PullRequest,
    Repository,
    WebhookPayloadError,
    shapes,
    sign,
    validate_webhook,
)
from tests.fakegithub import git as fakegit

REPO = "/repos/octo-org/widgets"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Repository:
    return fake_github.add_repo("octo-org/widgets", protected=["main", "3.*"])


@pytest.fixture
def gh(fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession) -> GitHubAPI:
    token = fake_github.issue_token("octo-org")
    return GitHubAPI(session, "countersign-tests", oauth_token=token, base_url=fake_github.base_url)


@pytest.fixture
def pr(repo: Repository) -> PullRequest:
    pull = repo.open_pull(
        author="alice",
        title="Teach the widget to spin",
        files={"src/spin.py": "def spin():\n    return 1\n"},
    )
    pull.push_commit("Spin faster", files={"src/spin.py": "def spin():\n    return 2\n"})
    pull.review("bob", "COMMENTED", body="hmm")
    pull.review("carol", "APPROVED")
    return pull


# ================================================================================= scenarios


def test_scenario_builds_real_git_history(fake_github: FakeGitHub, repo: Repository) -> None:
    fake_github.add_user("dave", name="Dave", email="dave@example.com")
    sha = repo.commit(
        "main",
        message="Add docs",
        author="dave",
        files={"docs/a.md": b"hello\n"},
        co_authors=["erin", "Someone Else <else@example.com>"],
    )
    commit = repo.commit_obj(sha)
    assert repo.branches["main"] == sha
    assert commit.author.email == "dave@example.com"
    assert "Co-authored-by: erin <" in commit.message
    assert fakegit.co_author_trailers(commit.message)[1] == ("Someone Else", "else@example.com")
    # Real git object ids: a blob's id is what `git hash-object` prints.
    assert fakegit.blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert repo.blobs["ce013625030ba8dba906f756967f9e9ca394464a"] == b"hello\n"


def test_merge_methods_land_like_github(fake_github: FakeGitHub, repo: Repository) -> None:
    landed = {}
    for method in ("merge", "squash", "rebase"):
        pull = repo.open_pull(author="alice", title=f"via {method}", files={f"{method}.txt": "x\n"})
        pull.push_commit("second", files={f"{method}.txt": "y\n"}, author="bob")
        sha = pull.merge(by="carol", method=method)
        landed[method] = repo.commit_obj(sha)
        assert pull.merged and pull.state == "closed" and pull.merged_by is not None
        assert repo.branches["main"] == sha == pull.merge_commit_sha
        assert pull in repo.pulls_for_commit(sha)
        assert pull.merge_push is not None and pull.merge_push.after == sha
    assert len(landed["merge"].parents) == 2
    assert landed["merge"].author.name == "carol"
    assert landed["merge"].committer.email == "noreply@github.com"
    assert len(landed["squash"].parents) == 1
    assert landed["squash"].author.name == "alice"
    assert "Co-authored-by: bob <" in landed["squash"].message
    assert landed["rebase"].message == "second"
    assert landed["rebase"].author.name == "bob"


def test_self_approval_is_refused_as_on_github(pr: PullRequest) -> None:
    with pytest.raises(ValueError, match="approve"):
        pr.review("alice", "APPROVED")


def test_deterministic_ids_and_timestamps() -> None:
    def build() -> tuple[str, int]:
        fake = FakeGitHub(clock=FrozenClock())
        repo = fake.add_repo("o/r")
        pull = repo.open_pull(author="a", files={"f": "1"})
        return pull.head_sha, pull.id

    assert build() == build()


# ================================================================================ REST basics


async def test_rest_answers_have_githubs_shapes(
    fake_github: FakeGitHub, repo: Repository, pr: PullRequest, gh: GitHubAPI
) -> None:
    repo.set_file(".github/countersign.yml", "approvals: 2\n")
    fake_github.add_team("octo-org", "build-reviewers", members=["bob", "carol"])
    repo.set_permission("bob", "maintain")
    gets = [
        REPO,
        f"{REPO}/branches",
        f"{REPO}/branches/main",
        f"{REPO}/contents/.github/countersign.yml",
        f"{REPO}/contents/src?ref={pr.head_ref}",
        f"{REPO}/pulls",
        f"{REPO}/pulls/{pr.number}",
        f"{REPO}/pulls/{pr.number}/files",
        f"{REPO}/pulls/{pr.number}/commits",
        f"{REPO}/pulls/{pr.number}/reviews",
        f"{REPO}/commits/main",
        f"{REPO}/commits/{pr.head_sha}/pulls",
        f"{REPO}/compare/main...{pr.head_ref}",
        f"{REPO}/issues?state=all",
        f"{REPO}/issues/{pr.number}",
        f"{REPO}/issues/{pr.number}/comments",
        f"{REPO}/labels",
        f"{REPO}/collaborators/bob/permission",
        "/orgs/octo-org/teams/build-reviewers/members",
        "/orgs/octo-org/teams/build-reviewers/memberships/bob",
    ]
    for url in gets:
        await gh.getitem(url)
    # Each answer was validated against githubkit's model of GitHub's OpenAPI description.
    assert fake_github.shape_errors == []
    assert fake_github.count() == len(gets)

    perm = await gh.getitem(f"{REPO}/collaborators/bob/permission")
    assert (perm["permission"], perm["role_name"]) == ("write", "maintain")
    content = await gh.getitem(f"{REPO}/contents/.github/countersign.yml")
    assert base64.b64decode(content["content"]) == b"approvals: 2\n"
    assert content["sha"] == fakegit.blob_sha(b"approvals: 2\n")
    blob = await gh.getitem(f"{REPO}/git/blobs/{content['sha']}")
    assert base64.b64decode(blob["content"]) == b"approvals: 2\n"
    compare = await gh.getitem(f"{REPO}/compare/main...{pr.head_ref}")
    # main moved on (the config commit), so the branches have diverged.
    assert (compare["status"], compare["ahead_by"], compare["behind_by"]) == ("diverged", 2, 1)
    assert [c["sha"] for c in compare["commits"]] == pr.commits
    issues = await gh.getitem(f"{REPO}/issues")
    assert issues[0]["number"] == pr.number and "pull_request" in issues[0]
    pulls = await gh.getitem(f"{REPO}/commits/{pr.commits[0]}/pulls")
    assert [p["number"] for p in pulls] == [pr.number]


def test_shape_check_rejects_what_github_would_not_send() -> None:
    with pytest.raises(shapes.ShapeError, match="DiffEntry"):
        shapes.check("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", 200, [{"sha": 1}])


async def test_a_malformed_answer_fails_loudly(
    fake_github: FakeGitHub, repo: Repository, gh: GitHubAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(fake_github.renderer), "repo", lambda self, r, full=True: {"id": "x"})
    with pytest.raises(gidgethub.GitHubBroken):
        await gh.getitem(REPO)
    assert "FullRepository" in fake_github.shape_errors[0]
    fake_github.shape_errors.clear()  # so the fixture does not fail this test


async def test_files_and_contents_details(repo: Repository, gh: GitHubAPI) -> None:
    repo.set_file("old/name.txt", "line\n" * 20)
    repo.set_file("logo.png", b"\x89PNG\0\0binary")
    pull = repo.open_pull(
        author="alice",
        commits=[
            {"message": "move", "renames": {"new/name.txt": "old/name.txt"}},
            {"message": "bin", "files": {"logo.png": b"\x89PNG\0\0other", "gone": None}},
        ],
    )
    files = {f["filename"]: f for f in await gh.getitem(f"{REPO}/pulls/{pull.number}/files")}
    assert files["new/name.txt"]["status"] == "renamed"
    assert files["new/name.txt"]["previous_filename"] == "old/name.txt"
    assert "patch" not in files["logo.png"]  # binary: GitHub sends no patch
    assert files["logo.png"]["sha"] == fakegit.blob_sha(b"\x89PNG\0\0other")
    with pytest.raises(gidgethub.BadRequest) as missing:
        await gh.getitem(f"{REPO}/contents/nope.txt")
    assert missing.value.status_code == 404
    assert str(missing.value) == "Not Found"


async def test_unknown_route_is_githubs_404(gh: GitHubAPI) -> None:
    with pytest.raises(gidgethub.BadRequest) as err:
        await gh.getitem("/repos/octo-org/widgets/frobnicate")
    assert err.value.status_code == 404


# ================================================================================ pagination


async def test_pagination_with_link_headers_across_250_files(
    fake_github: FakeGitHub, repo: Repository, gh: GitHubAPI, session: aiohttp.ClientSession
) -> None:
    pull = repo.open_pull(author="alice", files={f"f/{i:03}.txt": f"{i}\n" for i in range(250)})
    url = f"{REPO}/pulls/{pull.number}/files?per_page=100"
    names = [f["filename"] async for f in gh.getiter(url)]
    assert names == [f"f/{i:03}.txt" for i in range(250)]
    assert fake_github.count("GET /repos/{owner}/{repo}/pulls/{pull_number}/files") == 3

    headers = {"Authorization": f"token {fake_github.issue_token('octo-org')}"}
    async with session.get(fake_github.base_url + url + "&page=2", headers=headers) as resp:
        link = resp.headers["Link"]
        assert len(await resp.json()) == 100
    base = f"{fake_github.base_url}/repositories/{repo.id}/pulls/{pull.number}/files"
    assert link == (
        f'<{base}?per_page=100&page=1>; rel="prev", <{base}?per_page=100&page=3>; rel="next", '
        f'<{base}?per_page=100&page=3>; rel="last", <{base}?per_page=100&page=1>; rel="first"'
    )
    # Default page size is 30 and the last page has no "next".
    async with session.get(
        f"{base}?page=9", headers=headers
    ) as resp:  # /repositories/{id} works, as on GitHub
        assert len(await resp.json()) == 10
        assert 'rel="next"' not in resp.headers["Link"]


# ===================================================================================== ETags


async def test_etag_gives_304_and_does_not_cost_rate_limit(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": f"token {fake_github.issue_token('octo-org')}"}
    url = fake_github.base_url + REPO
    async with session.get(url, headers=headers) as first:
        etag = first.headers["ETag"]
        remaining = int(first.headers["x-ratelimit-remaining"])
    async with session.get(url, headers={**headers, "If-None-Match": etag}) as second:
        assert second.status == 304
        assert await second.read() == b""
        assert int(second.headers["x-ratelimit-remaining"]) == remaining
    repo.create_issue("More work")  # open_issues_count changes, so the representation does
    async with session.get(url, headers={**headers, "If-None-Match": etag}) as third:
        assert third.status == 200


async def test_gidgethub_cache_uses_the_etag(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession
) -> None:
    cache: dict[str, Any] = {}
    gh = GitHubAPI(
        session,
        "t",
        oauth_token=fake_github.issue_token("octo-org"),
        base_url=fake_github.base_url,
        cache=cache,
    )
    assert (await gh.getitem(REPO))["name"] == "widgets"
    assert (await gh.getitem(REPO))["name"] == "widgets"
    assert [r.status for r in fake_github.requests] == [200, 304]


# ================================================================================ app auth


async def test_app_endpoints_require_a_valid_jwt(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession
) -> None:
    installation = fake_github.installation("octo-org")
    url = f"/app/installations/{installation.id}/access_tokens"
    gh = GitHubAPI(session, "t", base_url=fake_github.base_url)

    with pytest.raises(gidgethub.BadRequest) as bad:
        await gh.post(url, data=b"", jwt="not-a-jwt")
    assert bad.value.status_code == 401
    assert "JSON web token could not be decoded" in str(bad.value)

    now = int(fake_github.clock.now().timestamp())
    expired = jwt.encode(
        {"iat": now - 700, "exp": now - 100, "iss": str(fake_github.app_id)},
        fake_github.private_key_pem,
        algorithm="RS256",
    )
    with pytest.raises(gidgethub.BadRequest) as old:
        await gh.post(url, data=b"", jwt=expired)
    assert old.value.status_code == 401 and "'exp'" in str(old.value)

    too_long = jwt.encode(
        {"iat": now, "exp": now + 3600, "iss": str(fake_github.app_id)},
        fake_github.private_key_pem,
        algorithm="RS256",
    )
    with pytest.raises(gidgethub.BadRequest):
        await gh.post(url, data=b"", jwt=too_long)

    with pytest.raises(gidgethub.BadRequest) as token_instead:
        await gh.getitem("/app", oauth_token=fake_github.issue_token(installation))
    assert token_instead.value.status_code == 401

    # gidgethub's own helper signs with real time; the fixture's clock starts at real time.
    token = await apps.get_installation_access_token(
        gh,
        installation_id=str(installation.id),
        app_id=str(fake_github.app_id),
        private_key=fake_github.private_key_pem,
    )
    assert token["token"].startswith("ghs_")
    expires = datetime.fromisoformat(token["expires_at"].replace("Z", "+00:00"))
    assert expires - fake_github.clock.now() == timedelta(hours=1)
    assert fake_github.requests[-1].status == 201
    assert fake_github.requests[-1].installation == "app"
    assert (await gh.getitem("/app", jwt=fake_github.make_jwt()))["id"] == fake_github.app_id
    found = await gh.getitem(f"{REPO}/installation", jwt=fake_github.make_jwt())
    assert found["id"] == installation.id


async def test_repo_endpoints_require_an_installation_token(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession
) -> None:
    gh = GitHubAPI(session, "t", base_url=fake_github.base_url)
    for token in (None, "ghs_forged"):
        with pytest.raises(gidgethub.BadRequest) as err:
            await gh.getitem(REPO, oauth_token=token)
        assert err.value.status_code == 401
    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem(REPO, jwt=fake_github.make_jwt())  # a JWT is not a token

    token = fake_github.issue_token("octo-org")
    assert (await gh.getitem(REPO, oauth_token=token))["full_name"] == "octo-org/widgets"
    headers = {"Authorization": f"bearer {token}"}
    async with session.get(fake_github.base_url + REPO, headers=headers) as resp:
        assert resp.status == 200
    assert fake_github.requests[-1].installation == fake_github.installation("octo-org").id

    # Another installation's token does not open a private repository (404, as on GitHub).
    fake_github.add_repo("other-org/secret", private=True)
    with pytest.raises(gidgethub.BadRequest) as hidden:
        await gh.getitem("/repos/other-org/secret", oauth_token=token)
    assert hidden.value.status_code == 404

    assert isinstance(fake_github.clock, FrozenClock)
    fake_github.clock.advance(minutes=61)
    with pytest.raises(gidgethub.BadRequest) as expired:
        await gh.getitem(REPO, oauth_token=token)
    assert expired.value.status_code == 401 and str(expired.value) == "Bad credentials"


# ============================================================================ GitHub's limits


async def _status_and_message(call: Any) -> tuple[int, str, Any]:
    try:
        await call
    except gidgethub.HTTPException as exc:
        return exc.status_code, str(exc), getattr(exc, "errors", None)
    raise AssertionError("the fake accepted what GitHub rejects")


async def test_check_run_limits(pr: PullRequest, gh: GitHubAPI) -> None:
    url = f"{REPO}/check-runs"
    ok = {"name": "countersign", "head_sha": pr.head_sha}

    def output(**extra: Any) -> dict[str, Any]:
        return {"output": {"title": "t", "summary": "s", **extra}}

    status, message, _ = await _status_and_message(
        gh.post(url, data={**ok, **output(summary="x" * 65536)})
    )
    assert status == 422 and "Only 65535 characters are allowed; 65536 were supplied." in message
    status, _, errors = await _status_and_message(
        gh.post(url, data={**ok, **output(text="é" * 40000)})  # chars fit, bytes do not
    )
    assert status == 422 and errors and errors[0]["field"] == "text"

    action = {"label": "Approve", "description": "Sign off", "identifier": "approve"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"actions": [action] * 4}, "No more than 3 items are allowed; 4 were supplied."),
        ({"actions": [{**action, "label": "L" * 21}]}, "Only 20 characters are allowed"),
        ({"actions": [{**action, "description": "D" * 41}]}, "Only 40 characters are allowed"),
        ({"actions": [{**action, "identifier": "I" * 21}]}, "Only 20 characters are allowed"),
        ({"conclusion": "approved"}, '"approved" is not a member of'),
        ({"status": "done"}, '"done" is not a member of'),
        ({"status": "completed"}, '"conclusion" wasn\'t supplied.'),
        (output(annotations=[{}] * 51), "No more than 50 items are allowed; 51 were supplied."),
    ]
    for extra, expected in cases:
        status, message, _ = await _status_and_message(gh.post(url, data={**ok, **extra}))
        assert (status, expected in message) == (422, True), (extra, message)
    for missing in ("name", "head_sha"):
        body = {k: v for k, v in ok.items() if k != missing}
        status, message, _ = await _status_and_message(gh.post(url, data=body))
        assert status == 422 and f'"{missing}" wasn\'t supplied.' in message

    created = await gh.post(url, data={**ok, "actions": [action] * 3, **output()})
    assert created["status"] == "queued" and created["conclusion"] is None
    done = await gh.patch(f"{url}/{created['id']}", data={"conclusion": "neutral"})
    assert (done["status"], done["conclusion"]) == ("completed", "neutral")
    status, _, _ = await _status_and_message(
        gh.patch(f"{url}/{created['id']}", data={"conclusion": "bogus"})
    )
    assert status == 422


async def test_issue_and_label_limits(pr: PullRequest, gh: GitHubAPI) -> None:
    status, message, errors = await _status_and_message(
        gh.post(f"{REPO}/issues", data={"title": "t" * 257})
    )
    assert status == 422 and message.startswith("Validation Failed")
    assert errors == [
        {
            "resource": "Issue",
            "code": "custom",
            "field": "title",
            "message": "title is too long (maximum is 256 characters)",
        }
    ]
    status, message, _ = await _status_and_message(gh.post(f"{REPO}/issues", data={"body": "x"}))
    assert status == 422 and '"title" wasn\'t supplied.' in message
    status, _, errors = await _status_and_message(
        gh.post(f"{REPO}/labels", data={"name": "n" * 51})
    )
    assert status == 422 and errors[0]["field"] == "name"
    status, _, _ = await _status_and_message(
        gh.post(f"{REPO}/issues/{pr.number}/labels", data={"labels": ["n" * 51]})
    )
    assert status == 422

    issue = await gh.post(f"{REPO}/issues", data={"title": "t" * 256, "labels": ["audit"]})
    assert issue["user"]["login"] == "countersign[bot]"
    assert issue["performed_via_github_app"]["slug"] == "countersign"
    created = await gh.post(f"{REPO}/labels", data={"name": "needs-review", "color": "ff0000"})
    assert created["color"] == "ff0000"
    status, _, errors = await _status_and_message(gh.post(f"{REPO}/labels", data={"name": "Audit"}))
    assert status == 422 and errors[0]["code"] == "already_exists"


async def test_labels_comments_and_reactions(pr: PullRequest, gh: GitHubAPI) -> None:
    labels = await gh.post(f"{REPO}/issues/{pr.number}/labels", data={"labels": ["a", "b"]})
    assert [lb["name"] for lb in labels] == ["a", "b"]
    await gh.delete(f"{REPO}/issues/{pr.number}/labels/a")
    assert [lb.name for lb in pr.labels] == ["b"]
    status, message, _ = await _status_and_message(gh.delete(f"{REPO}/issues/{pr.number}/labels/a"))
    assert (status, message) == (404, "Label does not exist")
    assert (await gh.getitem(f"{REPO}/labels/b"))["name"] == "b"

    comment = await gh.post(f"{REPO}/issues/{pr.number}/comments", data={"body": "audit: ok"})
    edited = await gh.patch(f"{REPO}/issues/comments/{comment['id']}", data={"body": "audit: ok!"})
    assert edited["body"] == "audit: ok!"
    reaction_url = f"{REPO}/issues/comments/{comment['id']}/reactions"
    statuses = []
    for _ in range(2):
        _, _, status = await gh._make_request(
            "POST", reaction_url, {}, {"content": "rocket"}, gidgethub.sansio.accept_format()
        )
        statuses.append(status)
    assert statuses == [201, 200]
    status, _, _ = await _status_and_message(gh.post(reaction_url, data={"content": "party"}))
    assert status == 422


async def test_team_membership_404s_for_non_members(
    fake_github: FakeGitHub, repo: Repository, gh: GitHubAPI
) -> None:
    fake_github.add_team("octo-org", "build-reviewers", members=["bob"], maintainers=["carol"])
    base = "/orgs/octo-org/teams/build-reviewers"
    assert (await gh.getitem(f"{base}/memberships/carol"))["role"] == "maintainer"
    status, _, _ = await _status_and_message(gh.getitem(f"{base}/memberships/alice"))
    assert status == 404
    logins = [m["login"] async for m in gh.getiter(f"{base}/members")]
    assert logins == ["bob", "carol"]


async def test_check_runs_listing_filters(
    fake_github: FakeGitHub, pr: PullRequest, gh: GitHubAPI
) -> None:
    other = fake_github.add_app("other-ci")
    pr.repo.add_check_run(pr.head_sha, "build", app=other)
    first = await gh.post(
        f"{REPO}/check-runs", data={"name": "countersign", "head_sha": pr.head_sha}
    )
    second = await gh.post(
        f"{REPO}/check-runs",
        data={"name": "countersign", "head_sha": pr.head_sha, "conclusion": "success"},
    )
    url = f"{REPO}/commits/{pr.head_sha}/check-runs"
    latest = await gh.getitem(f"{url}?check_name=countersign")
    assert [r["id"] for r in latest["check_runs"]] == [second["id"]]
    everything = await gh.getitem(f"{url}?filter=all&app_id={fake_github.app_id}")
    assert {r["id"] for r in everything["check_runs"]} == {first["id"], second["id"]}
    assert (await gh.getitem(url))["total_count"] == 2  # latest per app and name
    status, message, _ = await _status_and_message(
        gh.patch(f"{REPO}/check-runs/{pr.repo.check_runs[min(pr.repo.check_runs)].id}", data={})
    )
    assert status == 403 and "its app" in message


# ================================================================================== faults


@pytest.mark.parametrize("kind", [500, 502, 503, 429, "secondary", "primary"])
async def test_each_fault_once_then_normal_service(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession, kind: Any
) -> None:
    token = fake_github.issue_token("octo-org")
    gh = GitHubAPI(session, "t", oauth_token=token, base_url=fake_github.base_url)
    fake_github.inject_fault(kind, route="GET /repos/{owner}/{repo}")
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with session.get(
        fake_github.base_url + REPO,
        headers={"Authorization": f"token {token}"},
        timeout=timeout,
    ) as resp:
        ...
    expected_status = {"secondary": 403, "primary": 403}.get(kind, kind)
    assert resp.status == expected_status
    if kind in ("secondary", 429):
        assert resp.headers["Retry-After"] == "60"
    if kind == "primary":
        assert resp.headers["x-ratelimit-remaining"] == "0"
        assert int(resp.headers["x-ratelimit-reset"]) > fake_github.clock.now().timestamp()
    assert (await gh.getitem(REPO))["name"] == "widgets"
    assert [(r.fault, r.status) for r in fake_github.requests] == [
        (kind, expected_status),
        (None, 200),
    ]


async def test_timeout_fault_never_answers(
    fake_github: FakeGitHub, repo: Repository, gh: GitHubAPI, session: aiohttp.ClientSession
) -> None:
    fake_github.inject_fault("timeout")
    with pytest.raises(TimeoutError):
        async with session.get(
            fake_github.base_url + REPO, timeout=aiohttp.ClientTimeout(total=0.2)
        ):
            pass
    assert fake_github.requests[0].status is None
    assert (await gh.getitem(REPO))["name"] == "widgets"


async def test_reset_fault_drops_the_connection(
    fake_github: FakeGitHub, repo: Repository, gh: GitHubAPI
) -> None:
    fake_github.inject_fault("reset", route="POST /graphql")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await gh.graphql("{ rateLimit { remaining } }", endpoint=fake_github.graphql_url)
    answer = await gh.graphql("{ rateLimit { remaining } }", endpoint=fake_github.graphql_url)
    assert answer["rateLimit"]["remaining"] > 0
    assert [r.fault for r in fake_github.requests] == ["reset", None]


async def test_reset_on_get_is_retried_by_aiohttp(
    fake_github: FakeGitHub, repo: Repository, gh: GitHubAPI
) -> None:
    """aiohttp resends an idempotent request once after a dropped connection."""
    fake_github.inject_fault("reset", route="GET /repos/{owner}/{repo}", times=1)
    assert (await gh.getitem(REPO))["name"] == "widgets"
    assert [r.fault for r in fake_github.requests] == ["reset", None]


async def test_faults_and_latency_can_target_routes(
    fake_github: FakeGitHub, pr: PullRequest, gh: GitHubAPI
) -> None:
    fake_github.inject_fault(502, route="GET /repos/{owner}/{repo}/pulls", times=2)
    assert (await gh.getitem(REPO))["name"] == "widgets"  # not targeted
    for _ in range(2):
        with pytest.raises(gidgethub.GitHubBroken):
            await gh.getitem(f"{REPO}/pulls/{pr.number}/files")
    assert len(await gh.getitem(f"{REPO}/pulls/{pr.number}/files")) == 1
    fake_github.latency = 0.05
    loop_time = asyncio.get_running_loop().time
    start = loop_time()
    await gh.getitem(REPO)
    assert loop_time() - start >= 0.05


async def test_rate_limit_headers_count_down(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": f"token {fake_github.issue_token('octo-org')}"}
    seen = []
    for _ in range(2):
        async with session.get(fake_github.base_url + REPO, headers=headers) as resp:
            seen.append(
                {k: v for k, v in resp.headers.items() if k.lower().startswith("x-ratelimit")}
            )
    assert [s["X-RateLimit-Remaining"] for s in seen] == ["4999", "4998"]
    assert seen[0]["x-ratelimit-resource"] == "core" and seen[0]["X-RateLimit-Limit"] == "5000"
    fake_github.rate_limit = 2
    async with session.get(fake_github.base_url + REPO, headers=headers) as resp:
        assert resp.status == 403
        assert "API rate limit exceeded" in (await resp.json())["message"]


# ============================================================================= request counts


async def test_counts_per_route(fake_github: FakeGitHub, pr: PullRequest, gh: GitHubAPI) -> None:
    await gh.getitem(f"{REPO}/pulls/{pr.number}")
    await gh.getitem(f"{REPO}/pulls/{pr.number}")
    await gh.getitem(f"{REPO}/pulls/{pr.number}/files")
    await gh.graphql("{ rateLimit { cost } }", endpoint=fake_github.graphql_url)
    assert fake_github.count("GET /repos/{owner}/{repo}/pulls/{pull_number}") == 3  # prefix
    assert fake_github.counts["GET /repos/{owner}/{repo}/pulls/{pull_number}"] == 2
    assert fake_github.count("GET /repos/{owner}/{repo}/pulls/{pull_number}/files") == 1
    assert fake_github.count(f"GET {REPO}/pulls/{pr.number}/files") == 1  # concrete path
    assert fake_github.count("POST /graphql") == 1
    assert fake_github.count() == 4
    record = fake_github.requests[0]
    assert (record.method, record.path, record.status) == ("GET", f"{REPO}/pulls/1", 200)
    assert record.installation == fake_github.installation("octo-org").id
    fake_github.reset_counts()
    assert fake_github.count() == 0 and not fake_github.counts


# ==================================================================================== GraphQL

PR_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    nameWithOwner
    isPrivate
    owner { login __typename }
    defaultBranchRef { name target { oid } }
    ref(qualifiedName: "refs/heads/main") { branchProtectionRule { pattern } }
    config: object(expression: "HEAD:.github/countersign.yml") {
      ... on Blob { text isBinary byteSize oid }
    }
    pullRequest(number: $number) {
      number title state isDraft merged mergedAt author { __typename login }
      headRefName headRefOid baseRefName baseRefOid changedFiles additions deletions
      reviews(first: 1, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { databaseId state submittedAt body author { __typename login } commit { oid } }
      }
      commits(first: 100) {
        totalCount
        nodes {
          commit {
            oid messageHeadline committedDate
            parents(first: 2) { totalCount nodes { oid } }
            author { name email user { login } }
            authors(first: 10) { nodes { name email user { login } } }
            associatedPullRequests(first: 5) { nodes { number state merged baseRefName } }
          }
        }
      }
      files(first: 100) { totalCount nodes { path additions deletions changeType } }
    }
  }
}
"""


async def test_graphql_pull_request_executes_and_paginates(
    fake_github: FakeGitHub, repo: Repository, pr: PullRequest, gh: GitHubAPI
) -> None:
    repo.set_file(".github/countersign.yml", "approvals: 1\n")
    pr.push_commit("pair", files={"b.txt": "b\n"}, co_authors=["dave"])
    variables = {"owner": "octo-org", "name": "widgets", "number": pr.number}
    data = await gh.graphql(PR_QUERY, endpoint=fake_github.graphql_url, **variables)
    repository = data["repository"]
    assert repository["owner"] == {"login": "octo-org", "__typename": "Organization"}
    assert repository["ref"]["branchProtectionRule"]["pattern"] == "main"
    assert repository["config"]["text"] == "approvals: 1\n"
    node = repository["pullRequest"]
    assert node["state"] == "OPEN" and node["headRefOid"] == pr.head_sha
    assert node["reviews"]["totalCount"] == 2
    assert node["reviews"]["pageInfo"]["hasNextPage"] is True
    assert node["reviews"]["nodes"][0]["author"] == {"__typename": "User", "login": "bob"}
    assert [c["commit"]["oid"] for c in node["commits"]["nodes"]] == pr.commits
    last = node["commits"]["nodes"][-1]["commit"]
    assert [a["user"]["login"] for a in last["authors"]["nodes"]] == ["alice", "dave"]
    assert last["associatedPullRequests"]["nodes"][0]["number"] == pr.number
    assert {f["path"]: f["changeType"] for f in node["files"]["nodes"]} == {
        "src/spin.py": "ADDED",
        "b.txt": "ADDED",
    }
    cursor = node["reviews"]["pageInfo"]["endCursor"]
    page2 = await gh.graphql(PR_QUERY, endpoint=fake_github.graphql_url, after=cursor, **variables)
    reviews = page2["repository"]["pullRequest"]["reviews"]
    assert reviews["nodes"][0]["state"] == "APPROVED"
    assert reviews["pageInfo"]["hasNextPage"] is False
    assert fake_github.graphql_errors == []


async def test_graphql_checks_teams_issues_and_dismissed_reviews(
    fake_github: FakeGitHub, repo: Repository, pr: PullRequest, gh: GitHubAPI
) -> None:
    pr.reviews[-1].dismiss("stale")
    repo.add_check_run(pr.head_sha, "countersign", conclusion="failure", summary="no review")
    repo.add_check_run(pr.head_sha, "build", app=fake_github.add_app("ci"))
    fake_github.add_team("octo-org", "build-reviewers", members=["bob", "carol"])
    issue = repo.create_issue("Audit log", author="carol", labels=["audit"])
    query = """
    query($sha: GitObjectID!, $app: Int) {
      repository(owner: "octo-org", name: "widgets") {
        object(oid: $sha) {
          ... on Commit {
            checkSuites(first: 10, filterBy: {appId: $app}) {
              nodes { app { databaseId slug } checkRuns(first: 10, filterBy: {checkName: "countersign"}) {
                nodes { databaseId name status conclusion summary } } }
            }
          }
        }
        pullRequest(number: 1) { reviews(first: 10, states: [DISMISSED]) { nodes { state } } }
        branchProtectionRules(first: 10) { nodes { pattern matchingRefs(first: 5) { nodes { name } } } }
        issues(first: 10, labels: ["audit"], states: [OPEN]) { nodes { number title labels(first: 5) { nodes { name } } } }
      }
      organization(login: "octo-org") { team(slug: "build-reviewers") { members(first: 1) {
        nodes { login } pageInfo { hasNextPage } } } }
    }
    """
    data = await gh.graphql(
        query, endpoint=fake_github.graphql_url, sha=pr.head_sha, app=fake_github.app_id
    )
    suites = data["repository"]["object"]["checkSuites"]["nodes"]
    assert [s["app"]["slug"] for s in suites] == ["countersign"]
    assert suites[0]["checkRuns"]["nodes"][0]["conclusion"] == "FAILURE"
    assert data["repository"]["pullRequest"]["reviews"]["nodes"] == [{"state": "DISMISSED"}]
    rules = data["repository"]["branchProtectionRules"]["nodes"]
    assert [(r["pattern"], [m["name"] for m in r["matchingRefs"]["nodes"]]) for r in rules] == [
        ("main", ["main"]),
        ("3.*", []),
    ]
    assert data["repository"]["issues"]["nodes"][0]["number"] == issue.number
    members = data["organization"]["team"]["members"]
    assert members == {"nodes": [{"login": "bob"}], "pageInfo": {"hasNextPage": True}}


async def test_graphql_rejects_what_github_rejects(
    fake_github: FakeGitHub, repo: Repository, gh: GitHubAPI, session: aiohttp.ClientSession
) -> None:
    bad = 'query { repository(owner: "octo-org", name: "widgets") { id nonsenseField } }'
    with pytest.raises(gidgethub.GraphQLException) as err:
        await gh.graphql(bad, endpoint=fake_github.graphql_url)
    assert "Field 'nonsenseField' doesn't exist on type 'Repository'" in str(err.value)
    assert fake_github.graphql_errors[-1].phase == "validation"
    assert fake_github.graphql_errors[-1].query == bad
    assert fake_github.requests[-1].status == 200  # GitHub answers 200 with errors

    wrong_arg = '{ repository(owner: "octo-org", name: "widgets", colour: 1) { id } }'
    bad_variable = 'query($n: Int!) { repository(owner: "o", name: $n) { id } }'
    too_many = (
        '{ repository(owner: "octo-org", name: "widgets") { issues(first: 101) { totalCount } } }'
    )
    no_first = '{ repository(owner: "octo-org", name: "widgets") { issues { totalCount } } }'
    for query in (wrong_arg, bad_variable, too_many, no_first):
        with pytest.raises(gidgethub.GraphQLException):
            await gh.graphql(query, endpoint=fake_github.graphql_url, n=1)
    assert len(fake_github.graphql_errors) == 5
    assert "exceeds the `first` limit of 100" in json.dumps(fake_github.graphql_errors[3].errors)

    headers = {"Authorization": f"token {fake_github.issue_token('octo-org')}"}
    async with session.post(
        fake_github.graphql_url, json={"query": "{ viewer { login"}, headers=headers
    ) as resp:
        body = await resp.json()
    assert resp.status == 200 and set(body) == {"errors"}
    assert body["errors"][0]["locations"]

    mutation = 'mutation { addComment(input: {subjectId: "x", body: "y"}) { clientMutationId } }'
    with pytest.raises(gidgethub.GraphQLException, match="does not implement mutations"):
        await gh.graphql(mutation, endpoint=fake_github.graphql_url)

    missing = '{ repository(owner: "octo-org", name: "nope") { id } }'
    with pytest.raises(gidgethub.GraphQLException) as not_found:
        await gh.graphql(missing, endpoint=fake_github.graphql_url)
    assert not_found.value.response["errors"][0]["type"] == "NOT_FOUND"


# =================================================================================== webhooks


def test_every_webhook_builder_validates(fake_github: FakeGitHub) -> None:
    hooks = fake_github.webhooks
    owners: list[tuple[str, Literal["Organization", "User"]]] = [
        ("octo-org", "Organization"),
        ("octocat", "User"),
    ]
    for owner, kind in owners:
        repo = fake_github.add_repo(f"{owner}/widgets", protected=["main"], owner_type=kind)
        pull = repo.open_pull(author="alice", title="Add", body=None, files={"a.txt": "a\n"})
        events = [hooks.pull_request(pull, "opened")]
        pull.push_commit("more", files={"b.txt": "b\n"})
        events.append(hooks.pull_request(pull, "synchronize"))
        repo.create_branch("3.x")
        pull.edit(title="Renamed", base="3.x")
        events.append(hooks.pull_request(pull, "edited"))
        pull.convert_to_draft()
        pull.ready_for_review()
        events.append(hooks.pull_request(pull, "ready_for_review"))
        review = pull.review("bob", "APPROVED", body="ok")
        events.append(hooks.pull_request_review(review))
        review.edit("looks good")
        events.append(hooks.pull_request_review(review, "edited"))
        review.dismiss()
        events.append(hooks.pull_request_review(review, "dismissed", sender="carol"))
        on_pull = pull.comment("bob", "/audit approve")
        events.append(hooks.issue_comment(on_pull))
        on_pull.edit("/audit approve please")
        events.append(hooks.issue_comment(on_pull, "edited"))
        on_issue = repo.create_issue("Audit", author="carol").comment("bob", "hi")
        on_issue.delete()
        events.append(hooks.issue_comment(on_issue, "deleted"))
        run = repo.add_check_run(pull.head_sha, "countersign", conclusion="failure")
        events += [hooks.check_run(run), hooks.check_suite(run.suite)]
        pull.close()
        events.append(hooks.pull_request(pull, "closed"))
        pull.reopen()
        events.append(hooks.pull_request(pull, "reopened"))
        pull.merge("carol", "squash")
        assert pull.merge_push is not None
        events += [hooks.pull_request(pull, "closed"), hooks.push(pull.merge_push)]
        author = {"author": "dave", "files": {"z": "1"}}
        repo.push("main", [{**author, "message": "oops"}], pusher="dave")
        events.append(hooks.push(repo.push("main", [{**author, "message": "x"}], forced=True)))
        feature = {"author": "dave", "message": "f", "files": {"f": "1"}}
        events.append(hooks.push(repo.push("feature", [feature])))
        events.append(hooks.push(repo.push("feature", delete=True)))
        installation = repo.installation
        assert installation is not None
        installation.remove_repository(repo)
        events.append(hooks.installation_repositories(installation, "removed", [repo]))
        installation.add_repository(repo)
        events.append(hooks.installation_repositories(installation, "added", [repo]))
        events.append(hooks.ping())
        for name, payload in events:
            validate_webhook(name, payload)  # the builders already did; this is the proof
            if name not in ("ping", "installation_repositories"):
                assert payload["repository"]["full_name"] == f"{owner}/widgets"
                assert payload["installation"]["id"] == installation.id
                assert ("organization" in payload) == (kind == "Organization")
        assert len(events) == 22

    by_name = {(n, p.get("action"), p.get("forced"), p.get("created")): p for n, p in events}
    closed = by_name[("pull_request", "closed", None, None)]
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merged_by"]["login"] == "carol"
    edited = by_name[("pull_request", "edited", None, None)]
    assert edited["changes"]["base"]["ref"]["from"] == "main"
    assert edited["changes"]["title"]["from"] == "Add"
    assert by_name[("issue_comment", "created", None, None)]["issue"]["pull_request"]
    assert "pull_request" not in by_name[("issue_comment", "deleted", None, None)]["issue"]
    assert by_name[("pull_request_review", "dismissed", None, None)]["review"]["state"] == (
        "dismissed"
    )
    forced = by_name[("push", None, True, False)]
    assert forced["commits"][0]["message"] == "x" and forced["compare"].endswith(
        forced["after"][:12]
    )
    new_branch = by_name[("push", None, False, True)]
    assert new_branch["ref"] == "refs/heads/feature" and new_branch["commits"][0]["distinct"]
    assert new_branch["commits"][0]["added"] == ["f"]
    assert new_branch["head_commit"]["id"] == new_branch["after"]
    deleted = next(p for n, p in events if n == "push" and p["deleted"])
    assert deleted["after"] == "0" * 40 and deleted["head_commit"] is None
    merge_push = next(p for n, p in events if n == "push" and p["pusher"]["name"] == "carol")
    assert merge_push["ref"] == "refs/heads/3.x"
    assert merge_push["head_commit"]["committer"]["username"] == "web-flow"


def test_push_payload_lists_up_to_2048_commits(
    fake_github: FakeGitHub, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GitHub's webhook docs: a push delivery lists at most 2,048 commits (the 20 in the schema's
    # text is the timeline's cap), so 25 commits are all listed ...
    push = repo.push("main", [{"message": f"c{i}", "files": {"n": str(i)}} for i in range(25)])
    _, payload = fake_github.webhooks.push(push)
    assert fake_github.webhooks.push_commit_limit == 2048
    assert len(payload["commits"]) == 25
    assert payload["commits"][-1]["id"] == payload["after"] == payload["head_commit"]["id"]
    # ... and past the cap only the most recent ones are
    monkeypatch.setattr(fake_github.webhooks, "push_commit_limit", 10)
    _, payload = fake_github.webhooks.push(push)
    assert len(payload["commits"]) == 10
    assert payload["commits"][-1]["id"] == payload["after"]


def test_invalid_payload_is_rejected(fake_github: FakeGitHub, pr: PullRequest) -> None:
    name, payload = fake_github.webhooks.pull_request(pr, "opened")
    broken = copy.deepcopy(payload)
    broken["pull_request"]["state"] = "merged"
    with pytest.raises(WebhookPayloadError, match="state"):
        validate_webhook(name, broken)
    extra = copy.deepcopy(payload)
    extra["surprise"] = True
    with pytest.raises(WebhookPayloadError):
        validate_webhook(name, extra)
    bad_date = copy.deepcopy(payload)
    bad_date["pull_request"]["created_at"] = "yesterday"
    with pytest.raises(WebhookPayloadError):
        validate_webhook(name, bad_date)
    # A builder asked for something GitHub never sends raises too: a rerequest of a run that
    # is still in progress.
    run = pr.repo.add_check_run(pr.head_sha, "countersign", status="in_progress", conclusion=None)
    with pytest.raises(WebhookPayloadError):
        fake_github.webhooks.check_run(run)


def test_delivery_headers_and_signature(fake_github: FakeGitHub, pr: PullRequest) -> None:
    headers, body = fake_github.webhooks.delivery(fake_github.webhooks.ping(), secret="s3cret")
    assert json.loads(body)["zen"]
    assert headers["X-GitHub-Event"] == "ping"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", headers["X-GitHub-Delivery"])
    # The documented test vector from GitHub's "Validating webhook deliveries".
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
    assert headers["X-Hub-Signature-256"] == sign(body, "s3cret")
    second, _ = fake_github.webhooks.delivery(fake_github.webhooks.pull_request(pr, "opened"), None)
    assert second["X-GitHub-Delivery"] != headers["X-GitHub-Delivery"]
    assert "X-Hub-Signature-256" not in second


async def test_deliver_posts_to_a_receiver(fake_github: FakeGitHub, pr: PullRequest) -> None:
    from aiohttp import web

    received: list[tuple[str, bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers["X-Hub-Signature-256"], await request.read()))
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        event = fake_github.webhooks.pull_request(pr, "opened")
        status = await fake_github.deliver(f"http://{host}:{port}/hook", event, "s3cret")
    finally:
        await runner.cleanup()
    assert status == 202
    signature, body = received[0]
    assert signature == sign(body, "s3cret") and json.loads(body)["number"] == pr.number


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2024, 5, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(minutes=5) == datetime(2024, 5, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        FrozenClock(datetime(2024, 5, 1))
