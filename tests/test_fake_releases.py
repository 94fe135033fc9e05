"""The fake GitHub's tags, releases, release assets and downloads, and the PyPI stand-in."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakegithub import (
    FakeGitHub,
    FakePyPI,
    Release,
    Repository,
    WebhookPayloadError,
    validate_webhook,
)
from tests.fakegithub import git as fakegit

REPO = "/repos/octo-org/widgets"
SDIST = b"\x1f\x8b" + bytes(range(256)) * 40


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Repository:
    return fake_github.add_repo("octo-org/widgets", protected=["main"])


@pytest.fixture
def auth(fake_github: FakeGitHub, repo: Repository) -> dict[str, str]:
    return {"Authorization": f"token {fake_github.issue_token('octo-org')}"}


@pytest.fixture
def history(repo: Repository) -> dict[str, str]:
    """v1.0 on the first commit after the initial one, v1.1 two commits later."""
    shas = {"v1.0": repo.set_file("src/app.py", "version = 1\n")}
    repo.set_file("docs/notes.md", "notes\n")
    shas["v1.1"] = repo.set_file("src/app.py", "version = 2\n")
    repo.create_tag("v1.0", shas["v1.0"], pusher="dave")
    repo.create_tag("v1.1", pusher="dave")
    return shas


@pytest.fixture
def release(repo: Repository, history: dict[str, str]) -> Release:
    made = repo.create_release("v1.1", author="dave", name="Widgets 1.1", body="Notes")
    made.upload_asset("widgets-1.1.tar.gz", SDIST, content_type="application/gzip")
    made.upload_asset("widgets-1.1-py3-none-any.whl", b"PK\x03\x04wheel", label="wheel")
    return made


async def get(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with session.get(url, headers=headers or {}, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json(), response
        return response.status, await response.read(), response


# ======================================================================================= state


def test_a_tag_push_is_a_ref_creation_without_commits(
    repo: Repository, history: dict[str, str]
) -> None:
    push = repo.pushes[-1]
    assert (push.ref, push.before, push.after) == (
        "refs/tags/v1.1",
        fakegit.NULL_SHA,
        history["v1.1"],
    )
    assert push.created and not push.deleted and not push.forced and push.commits == []
    assert push.base_ref == "refs/heads/main"  # v1.1 is main's head
    assert (push.tag, push.branch) == ("v1.1", None)
    assert repo.pushes[-2].base_ref is None  # v1.0 is not a branch head
    assert repo.tags == {"v1.0": history["v1.0"], "v1.1": history["v1.1"]}
    with pytest.raises(ValueError, match="exists"):
        repo.create_tag("v1.0")
    with pytest.raises(ValueError, match="not a valid ref name"):
        repo.create_tag("v 2")
    deleted = repo.delete_tag("v1.0")
    assert (deleted.deleted, deleted.after, deleted.tag) == (True, fakegit.NULL_SHA, "v1.0")
    assert "v1.0" not in repo.tags


def test_resolve_reads_tags_like_github(repo: Repository, history: dict[str, str]) -> None:
    v10, v11 = history["v1.0"], history["v1.1"]
    for spelling in ("v1.1", "tags/v1.1", "refs/tags/v1.1"):
        assert repo.resolve(spelling) == v11
    assert repo.resolve("v1.1~2") == v10
    assert repo.resolve("refs/heads/v1.1") is None
    # A branch named like a tag wins, as on GitHub; the qualified name still reaches the tag.
    repo.create_branch("v1.0", "main")
    assert repo.resolve("v1.0") == repo.branches["main"]
    assert repo.resolve("tags/v1.0") == repo.resolve("refs/tags/v1.0") == v10


def test_releases_in_state(repo: Repository, history: dict[str, str]) -> None:
    release = repo.create_release("v1.1", author="dave")
    assert release.tag_push is None  # the tag existed
    assert release.published_at is not None and release.target_commitish == "main"
    assert release.created_at == repo.commit_obj(history["v1.1"]).committer.date
    with pytest.raises(ValueError, match="already has a release"):
        repo.create_release("v1.1")
    asset = release.upload_asset("my widgets.zip", b"zip")
    assert (asset.name, asset.size, asset.uploader) == ("my.widgets.zip", 3, release.author)
    assert asset.digest == "sha256:" + hashlib.sha256(b"zip").hexdigest()
    with pytest.raises(ValueError, match="already has an asset"):
        release.upload_asset("my widgets.zip", b"again")
    # A new tag is made at the target, and its push kept; a draft's tag waits for publication.
    fresh = repo.create_release("v2.0", target=history["v1.0"], prerelease=True)
    assert repo.tags["v2.0"] == history["v1.0"] and fresh.tag_push is not None
    assert fresh.tag_push.ref == "refs/tags/v2.0"
    draft = repo.create_release("v3.0", draft=True)
    assert "v3.0" not in repo.tags and draft.published_at is None
    assert repo.latest_release() is release  # neither a prerelease nor a draft
    draft.publish()
    assert repo.tags["v3.0"] == repo.branches["main"] and draft.published_at is not None


# ======================================================================================= REST


async def test_tags_and_refs(
    fake_github: FakeGitHub,
    repo: Repository,
    history: dict[str, str],
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    repo.create_tag("v1.10", pusher="dave")
    repo.create_tag("v1.9", history["v1.0"], pusher="dave")
    base = fake_github.base_url + REPO
    status, tags, _ = await get(session, f"{base}/tags", auth)
    assert status == 200
    assert [t["name"] for t in tags] == ["v1.10", "v1.9", "v1.1", "v1.0"]
    assert tags[3]["commit"]["sha"] == history["v1.0"]
    assert tags[3]["tarball_url"].endswith("/tarball/refs/tags/v1.0")
    status, page, response = await get(session, f"{base}/tags?per_page=3", auth)
    assert len(page) == 3 and 'rel="next"' in response.headers["Link"]

    status, ref, _ = await get(session, f"{base}/git/ref/tags/v1.0", auth)
    assert (status, ref["ref"], ref["object"]["sha"]) == (200, "refs/tags/v1.0", history["v1.0"])
    status, ref, _ = await get(session, f"{base}/git/ref/heads/main", auth)
    assert (status, ref["object"]["sha"]) == (200, repo.branches["main"])
    for missing in ("tags/v9", "v1.0", "heads/nope"):
        status, body, _ = await get(session, f"{base}/git/ref/{missing}", auth)
        assert (status, body["message"]) == (404, "Not Found")
    status, matching, _ = await get(session, f"{base}/git/matching-refs/tags/v1.1", auth)
    assert [r["ref"] for r in matching] == ["refs/tags/v1.1", "refs/tags/v1.10"]  # a prefix
    status, matching, _ = await get(session, f"{base}/git/matching-refs/tags/v2", auth)
    assert (status, matching) == (200, [])
    status, matching, _ = await get(session, f"{base}/git/matching-refs/tags/v1", auth)
    assert len(matching) == 4
    status, everything, _ = await get(session, f"{base}/git/matching-refs/", auth)
    assert [r["ref"] for r in everything] == [
        "refs/heads/main",
        "refs/tags/v1.0",
        "refs/tags/v1.1",
        "refs/tags/v1.10",
        "refs/tags/v1.9",
    ]
    assert fake_github.count("GET /repos/{owner}/{repo}/git/matching-refs") == 4
    assert fake_github.shape_errors == []


async def test_compare_trees_commits_and_contents_at_tags(
    fake_github: FakeGitHub,
    repo: Repository,
    history: dict[str, str],
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    base = fake_github.base_url + REPO
    status, compare, _ = await get(session, f"{base}/compare/v1.0...v1.1", auth)
    assert (status, compare["status"], compare["ahead_by"]) == (200, "ahead", 2)
    assert compare["commits"][-1]["sha"] == history["v1.1"]
    assert {f["filename"] for f in compare["files"]} == {"src/app.py", "docs/notes.md"}
    status, tree, _ = await get(session, f"{base}/git/trees/v1.0?recursive=1", auth)
    assert status == 200
    assert "docs/notes.md" not in {e["path"] for e in tree["tree"]}
    status, commit, _ = await get(session, f"{base}/commits/refs/tags/v1.0", auth)
    assert commit["sha"] == history["v1.0"]
    status, content, _ = await get(session, f"{base}/contents/src/app.py?ref=v1.0", auth)
    assert status == 200 and content["sha"] == fakegit.blob_sha(b"version = 1\n")


async def test_activity_lists_tag_pushes_but_not_under_a_branch(
    fake_github: FakeGitHub,
    repo: Repository,
    history: dict[str, str],
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    repo.push("main", [{"message": "after the tags", "files": {"z": "z\n"}}], pusher="dave")
    base = fake_github.base_url + REPO
    status, everything, _ = await get(session, f"{base}/activity", auth)
    assert status == 200
    assert [a["ref"] for a in everything] == ["refs/heads/main", "refs/tags/v1.1", "refs/tags/v1.0"]
    assert everything[1]["activity_type"] == "branch_creation"
    for ref in ("main", "refs/heads/main"):
        status, on_main, _ = await get(session, f"{base}/activity?ref={ref}", auth)
        assert [a["ref"] for a in on_main] == ["refs/heads/main"]
    status, on_tag, _ = await get(session, f"{base}/activity?ref=refs/tags/v1.0", auth)
    assert [a["after"] for a in on_tag] == [history["v1.0"]]


async def test_releases_answer_in_githubs_shapes(
    fake_github: FakeGitHub,
    repo: Repository,
    release: Release,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    repo.create_release("v2.0rc1", prerelease=True)
    draft = repo.create_release("v3.0", draft=True)
    base = fake_github.base_url + REPO
    status, listed, _ = await get(session, f"{base}/releases", auth)
    assert status == 200
    # Newest first, and no draft: the app can read contents but not push.
    assert [r["tag_name"] for r in listed] == ["v2.0rc1", "v1.1"]
    status, page, response = await get(session, f"{base}/releases?per_page=1", auth)
    assert len(page) == 1 and f"/repositories/{repo.id}/releases?" in response.headers["Link"]

    status, latest, _ = await get(session, f"{base}/releases/latest", auth)
    assert (status, latest["id"]) == (200, release.id)  # the prerelease is not "latest"
    status, by_tag, _ = await get(session, f"{base}/releases/tags/v1.1", auth)
    assert by_tag == latest
    assert by_tag["author"]["login"] == "dave" and by_tag["body"] == "Notes"
    assert by_tag["published_at"] is not None and by_tag["draft"] is False
    assert by_tag["tarball_url"] == f"{base}/tarball/v1.1"
    status, by_id, _ = await get(session, f"{base}/releases/{release.id}", auth)
    assert by_id["tag_name"] == "v1.1"
    for missing in ("releases/tags/v3.0", "releases/tags/v9", f"releases/{draft.id}", "releases/1"):
        status, body, _ = await get(session, f"{base}/{missing}", auth)
        assert (status, body["message"]) == (404, "Not Found"), missing

    status, assets, _ = await get(session, f"{base}/releases/{release.id}/assets", auth)
    assert [a["name"] for a in assets] == ["widgets-1.1.tar.gz", "widgets-1.1-py3-none-any.whl"]
    sdist = assets[0]
    assert sdist == by_tag["assets"][0]
    assert (sdist["size"], sdist["content_type"], sdist["state"]) == (
        len(SDIST),
        "application/gzip",
        "uploaded",
    )
    assert sdist["digest"] == "sha256:" + hashlib.sha256(SDIST).hexdigest()
    assert sdist["url"] == f"{base}/releases/assets/{sdist['id']}"
    assert sdist["browser_download_url"] == (
        f"{fake_github.base_url}/octo-org/widgets/releases/download/v1.1/widgets-1.1.tar.gz"
    )
    status, one, _ = await get(session, sdist["url"], auth)
    assert one == sdist
    assert fake_github.shape_errors == []  # every answer validated as githubkit's models
    assert fake_github.count("GET /repos/{owner}/{repo}/releases/assets/{asset_id}") == 1


async def test_drafts_are_listed_to_push_access_only(
    fake_github: FakeGitHub,
    repo: Repository,
    release: Release,
    session: aiohttp.ClientSession,
) -> None:
    draft = repo.create_release("v2.0", draft=True, author="dave")
    draft.upload_asset("draft.zip", b"draft")
    installation = fake_github.installation("octo-org")
    installation.permissions["contents"] = "write"
    writer = {"Authorization": f"token {fake_github.issue_token(installation)}"}
    base = fake_github.base_url + REPO
    status, listed, _ = await get(session, f"{base}/releases", writer)
    assert [r["draft"] for r in listed] == [True, False]
    assert listed[0]["published_at"] is None and listed[0]["tarball_url"] is None
    assert "/releases/tag/untagged-" in listed[0]["html_url"]
    status, one, _ = await get(session, f"{base}/releases/{draft.id}", writer)
    assert (status, one["tag_name"]) == (200, "v2.0")
    status, _, _ = await get(session, f"{base}/releases/tags/v2.0", writer)
    assert status == 404  # "Get a published release with the specified tag"


async def test_asset_download_redirects_to_a_signed_storage_url(
    fake_github: FakeGitHub,
    release: Release,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    asset = release.assets[0]
    url = f"{fake_github.base_url}{REPO}/releases/assets/{asset.id}"
    binary = {**auth, "Accept": "application/octet-stream"}
    status, body, response = await get(session, url, binary, allow_redirects=False)
    assert (status, body) == (302, b"")
    location = response.headers["Location"]
    assert location.startswith(f"{fake_github.downloads_url}/_downloads/release-assets/{asset.id}?")
    assert fake_github.downloads_url != fake_github.base_url  # another origin, as on GitHub
    assert "expires=" in location and "token=" in location

    # The signed URL needs no credentials and serves the bytes with the asset's type ...
    status, body, response = await get(session, location)
    assert (status, body) == (200, SDIST)
    assert response.headers["Content-Type"] == "application/gzip"
    assert response.headers["Content-Length"] == str(len(SDIST))
    # ... a client that follows the redirect drops Authorization on leaving the API's origin ...
    status, body, response = await get(session, url, binary)
    assert (status, body) == (200, SDIST) and str(response.url) == location
    assert asset.download_count == 2
    # ... and one that sends Authorization to the storage is refused, as S3 refuses it.
    status, body, _ = await get(session, location, auth)
    assert status == 400 and b"<Code>InvalidArgument</Code>" in body
    forged = re.sub(r"token=[0-9a-f]+", "token=" + "0" * 64, location)
    status, body, _ = await get(session, forged)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    status, body, _ = await get(session, location.split("?")[0])
    assert status == 403
    assert asset.download_count == 2

    counted = "GET /_downloads/release-assets/{asset_id}"
    assert fake_github.count(counted) == 5
    assert fake_github.count("GET /repos/{owner}/{repo}/releases/assets/{asset_id}") == 2
    # The URL is short-lived (five minutes of the fake's clock).
    fake_github.clock.advance(seconds=301)  # type: ignore[attr-defined]
    status, body, _ = await get(session, location)
    assert status == 403 and b"Request has expired" in body
    # The JSON answer is the default.
    status, as_json, _ = await get(session, url, auth)
    assert (status, as_json["download_count"]) == (200, 2)


async def test_browser_download_url_redirects_too(
    fake_github: FakeGitHub,
    repo: Repository,
    release: Release,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    asset = release.assets[1]
    status, as_json, _ = await get(
        session, f"{fake_github.base_url}{REPO}/releases/assets/{asset.id}", auth
    )
    browser = as_json["browser_download_url"]
    status, _, response = await get(session, browser, allow_redirects=False)
    assert status == 302
    assert response.headers["Location"].startswith(fake_github.downloads_url)
    assert "x-ratelimit-remaining" not in response.headers  # not the API
    status, body, _ = await get(session, browser)  # no credentials at all
    assert (status, body) == (200, b"PK\x03\x04wheel")
    status, _, _ = await get(session, browser.replace("widgets-1.1-py3", "nope"))
    assert status == 404
    assert fake_github.count("GET /{owner}/{repo}/releases/download/{tag}/{asset_name}") == 3
    # A private repository's assets are not served to anonymous browsers.
    repo.private = True
    status, _, _ = await get(session, browser, allow_redirects=False)
    assert status == 404


async def test_downloads_stream_large_assets_and_ranges(
    fake_github: FakeGitHub,
    release: Release,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    big = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)  # 3 MiB
    asset = release.upload_asset("widgets-1.1-full.tar.gz", big)
    url = f"{fake_github.base_url}{REPO}/releases/assets/{asset.id}"
    binary = {**auth, "Accept": "application/octet-stream"}
    async with session.get(url, headers=binary) as response:
        assert response.status == 200
        received = hashlib.sha256()
        async for chunk in response.content.iter_chunked(64 * 1024):
            received.update(chunk)
    assert "sha256:" + received.hexdigest() == asset.digest
    _, _, response = await get(session, url, binary, allow_redirects=False)
    location = response.headers["Location"]
    status, part, response = await get(session, location, {"Range": "bytes=10-19"})
    assert (status, part) == (206, big[10:20])
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(big)}"
    status, _, _ = await get(session, location, {"Range": f"bytes={len(big)}-"})
    assert status == 416
    # GitHub's docs allow a 200 with the bytes instead of the redirect: clients must take both.
    fake_github.asset_downloads = "stream"
    status, body, response = await get(session, url, binary, allow_redirects=False)
    assert (status, len(body)) == (200, len(big))
    assert response.headers["Content-Type"] == "application/octet-stream"


async def test_storage_origin_serves_downloads_only(
    fake_github: FakeGitHub, release: Release, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    status, body, _ = await get(session, f"{fake_github.downloads_url}{REPO}/releases", auth)
    assert status == 400 and b"<Error>" in body
    asset = release.assets[0]
    path = f"/_downloads/release-assets/{asset.id}?expires=9999999999&token=x"
    status, body, _ = await get(session, fake_github.base_url + path, auth)
    assert (status, body["message"]) == (404, "Not Found")  # not an API path


# ===================================================================================== GraphQL


async def test_graphql_tags_and_releases(
    fake_github: FakeGitHub,
    repo: Repository,
    history: dict[str, str],
    release: Release,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
) -> None:
    query = """
    query($owner: String!, $name: String!) {
      repository(owner: $owner, name: $name) {
        refs(refPrefix: "refs/tags/", first: 10,
             orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) {
          totalCount
          nodes { name prefix target { oid ... on Commit { committedDate } } }
        }
        ref(qualifiedName: "refs/tags/v1.0") { name target { oid } }
        object(expression: "v1.0:src/app.py") { ... on Blob { text } }
        release(tagName: "v1.1") {
          tagName isDraft isPrerelease isLatest publishedAt url
          tagCommit { oid }
          releaseAssets(first: 10) { nodes { id name size contentType downloadUrl } }
        }
        releases(first: 5, orderBy: {field: CREATED_AT, direction: DESC}) {
          nodes { tagName }
        }
      }
    }
    """
    variables = {"owner": "octo-org", "name": "widgets"}
    async with session.post(
        fake_github.graphql_url, json={"query": query, "variables": variables}, headers=auth
    ) as response:
        answer = await response.json()
    assert "errors" not in answer, answer
    data = answer["data"]["repository"]
    refs = data["refs"]
    assert refs["totalCount"] == 2
    # Both commits share the frozen clock's date, so the names break the tie (descending).
    assert [n["name"] for n in refs["nodes"]] == ["v1.1", "v1.0"]
    assert refs["nodes"][0]["prefix"] == "refs/tags/"
    assert refs["nodes"][0]["target"]["oid"] == history["v1.1"]
    assert data["ref"] == {"name": "v1.0", "target": {"oid": history["v1.0"]}}
    assert data["object"]["text"] == "version = 1\n"
    got = data["release"]
    assert (got["tagName"], got["isDraft"], got["isLatest"]) == ("v1.1", False, True)
    assert got["tagCommit"]["oid"] == history["v1.1"]
    assets = got["releaseAssets"]["nodes"]
    assert [a["name"] for a in assets] == [a.name for a in release.assets]
    assert assets[0]["downloadUrl"].startswith(fake_github.base_url)
    assert data["releases"]["nodes"] == [{"tagName": "v1.1"}]
    assert fake_github.graphql_errors == []


# ==================================================================================== webhooks


def test_release_webhooks_validate(fake_github: FakeGitHub) -> None:
    hooks = fake_github.webhooks
    for owner, kind in (("octo-org", "Organization"), ("octocat", "User")):
        repo = fake_github.add_repo(f"{owner}/widgets", owner_type=kind)
        release = repo.create_release("v1.0", author="dave", name="One")
        release.upload_asset("widgets-1.0.tar.gz", SDIST, content_type="application/gzip")
        events = [hooks.release(release, a) for a in ("created", "published", "released")]
        release.edit(name="Uno", body="Better notes")
        events.append(hooks.release(release, "edited"))
        pre = repo.create_release("v2.0rc1", prerelease=True, author="dave")
        events.append(hooks.release(pre, "prereleased"))
        repo.delete_release(pre)
        events.append(hooks.release(pre, "deleted", sender="carol"))
        installation = repo.installation
        assert installation is not None
        for name, payload in events:
            assert name == "release"
            validate_webhook(name, payload)  # githubkit's WebhookRelease<Action> models
            assert payload["repository"]["full_name"] == f"{owner}/widgets"
            assert payload["installation"]["id"] == installation.id
            assert ("organization" in payload) == (kind == "Organization")
        published = events[1][1]
        assert published["action"] == "published"
        assert published["release"]["tag_name"] == "v1.0"
        assert published["release"]["assets"][0]["name"] == "widgets-1.0.tar.gz"
        assert published["sender"]["login"] == "dave"
        assert events[3][1]["changes"] == {"name": {"from": "One"}, "body": {"from": ""}}
        assert events[-1][1]["sender"]["login"] == "carol"
        # GitHub sends "prereleased" only for prereleases: the model refuses the others.
        with pytest.raises(WebhookPayloadError, match="prerelease"):
            hooks.release(release, "prereleased")
    broken = copy.deepcopy(published)
    del broken["release"]["tag_name"]
    with pytest.raises(WebhookPayloadError, match="tag_name"):
        validate_webhook("release", broken)
    with pytest.raises(WebhookPayloadError):
        hooks.release(release, "launched")


def test_tag_push_webhook_validates(fake_github: FakeGitHub, repo: Repository) -> None:
    release = repo.create_release("v1.0", author="dave")
    assert release.tag_push is not None
    event, payload = fake_github.webhooks.push(release.tag_push)
    validate_webhook(event, payload)
    assert (payload["ref"], payload["created"], payload["deleted"]) == (
        "refs/tags/v1.0",
        True,
        False,
    )
    assert payload["before"] == fakegit.NULL_SHA and payload["commits"] == []
    assert payload["head_commit"]["id"] == payload["after"] == repo.tags["v1.0"]
    assert payload["base_ref"] == "refs/heads/main"
    assert payload["compare"] == "https://github.com/octo-org/widgets/compare/v1.0"
    assert payload["pusher"]["name"] == "dave"
    repo.set_file("x.txt", "x\n")
    _, off_branch = fake_github.webhooks.push(repo.create_tag("old", "HEAD~1"))
    assert off_branch["base_ref"] is None
    _, gone = fake_github.webhooks.push(repo.delete_tag("old"))
    validate_webhook("push", gone)
    assert gone["deleted"] and gone["head_commit"] is None and gone["ref"] == "refs/tags/old"


# ======================================================================================== PyPI


WHEEL = b"PK\x03\x04 a wheel"


async def test_pypi_release_json_in_the_documented_shape(
    fake_pypi: FakePyPI, session: aiohttp.ClientSession
) -> None:
    fake_pypi.add_release(
        "Foo_Bar",
        "1.0",
        {"foo_bar-1.0.tar.gz": SDIST, "foo_bar-1.0-py3-none-any.whl": WHEEL},
        requires_python=">=3.11",
    )
    status, body, response = await get(session, f"{fake_pypi.base_url}/pypi/foo-bar/1.0/json")
    assert status == 200 and response.content_type == "application/json"
    assert set(body) == {"info", "last_serial", "urls", "vulnerabilities", "ownership"}
    assert (body["info"]["name"], body["info"]["version"]) == ("Foo_Bar", "1.0")
    assert response.headers["X-PyPI-Last-Serial"] == str(body["last_serial"])
    by_name = {f["filename"]: f for f in body["urls"]}
    sdist, wheel = by_name["foo_bar-1.0.tar.gz"], by_name["foo_bar-1.0-py3-none-any.whl"]
    assert (sdist["packagetype"], sdist["python_version"]) == ("sdist", "source")
    assert (wheel["packagetype"], wheel["python_version"]) == ("bdist_wheel", "py3")
    assert sdist["size"] == len(SDIST) and sdist["yanked"] is False
    assert sdist["digests"] == {
        "md5": hashlib.md5(SDIST).hexdigest(),  # noqa: S324
        "sha256": hashlib.sha256(SDIST).hexdigest(),
        "blake2b_256": hashlib.blake2b(SDIST, digest_size=32).hexdigest(),
    }
    b2 = sdist["digests"]["blake2b_256"]
    assert sdist["url"] == (
        f"{fake_pypi.base_url}/packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/foo_bar-1.0.tar.gz"
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", sdist["upload_time_iso_8601"])
    status, data, _ = await get(session, sdist["url"])
    assert (status, data) == (200, SDIST)
    assert hashlib.sha256(data).hexdigest() == sdist["digests"]["sha256"]
    assert fake_pypi.count("GET /pypi/{project}/{version}/json") == 1
    assert fake_pypi.count("GET /packages/{path}") == 1


async def test_pypi_names_versions_and_404s(
    fake_pypi: FakePyPI, session: aiohttp.ClientSession
) -> None:
    fake_pypi.add_release("Foo_Bar", "1.0", {"foo_bar-1.0.tar.gz": SDIST})
    fake_pypi.add_release("Foo_Bar", "1.1", {"foo_bar-1.1.tar.gz": SDIST + b"1"})
    fake_pypi.add_release("foo.bar", "2.0rc1", {"foo_bar-2.0rc1.tar.gz": SDIST + b"2"})
    base = fake_pypi.base_url
    # PEP 503: every spelling is the same project; Warehouse redirects to the normalised name.
    for spelling in ("Foo_Bar", "FOO.bar", "foo__bar"):
        status, _, response = await get(
            session, f"{base}/pypi/{spelling}/json", allow_redirects=False
        )
        assert (status, response.headers["Location"]) == (301, "/pypi/foo-bar/json")
        status, body, _ = await get(session, f"{base}/pypi/{spelling}/1.0/json")
        assert (status, body["info"]["version"]) == (200, "1.0")
    status, project, _ = await get(session, f"{base}/pypi/foo-bar/json")
    assert project["info"]["version"] == "1.1"  # the latest that is not a prerelease
    assert list(project["releases"]) == ["1.0", "1.1", "2.0rc1"]
    assert project["urls"][0]["filename"] == "foo_bar-1.1.tar.gz"
    for missing in ("/pypi/nope/json", "/pypi/foo-bar/9.9/json", "/pypi/nope/1.0/json"):
        status, body, _ = await get(session, base + missing)
        assert (status, body) == (404, {"message": "Not Found"}), missing
    fake_pypi.yank("foo-bar", "1.1", reason="broken")
    status, project, _ = await get(session, f"{base}/pypi/foo-bar/json")
    assert project["info"]["version"] == "1.0"
    status, yanked, _ = await get(session, f"{base}/pypi/foo-bar/1.1/json")
    assert yanked["info"]["yanked_reason"] == "broken" and yanked["urls"][0]["yanked"] is True
    with pytest.raises(ValueError, match="File already exists"):
        fake_pypi.add_release("foo-bar", "1.2", {"foo_bar-1.0.tar.gz": b"again"})
    with pytest.raises(ValueError, match="neither"):
        fake_pypi.add_release("foo-bar", "1.2", {"foo_bar-1.2.exe": b"no"})


async def test_pypi_tampered_file_no_longer_matches_its_digest(
    fake_pypi: FakePyPI, session: aiohttp.ClientSession
) -> None:
    fake_pypi.add_release("widgets", "1.0", {"widgets-1.0.tar.gz": SDIST})
    fake_pypi.replace_file("widgets", "1.0", "widgets-1.0.tar.gz", b"evil")
    status, body, _ = await get(session, f"{fake_pypi.base_url}/pypi/widgets/1.0/json")
    advertised = body["urls"][0]
    assert advertised["digests"]["sha256"] == hashlib.sha256(SDIST).hexdigest()
    status, served, _ = await get(session, advertised["url"])
    assert (status, served) == (200, b"evil")
    assert hashlib.sha256(served).hexdigest() != advertised["digests"]["sha256"]
    honest = fake_pypi.replace_file(
        "widgets", "1.0", "widgets-1.0.tar.gz", b"new", keep_digest=False
    )
    assert honest.digests["sha256"] == hashlib.sha256(b"new").hexdigest() and honest.size == 3
    status, _, _ = await get(session, advertised["url"])
    assert status == 404  # the file moved with its digest
    fake_pypi.inject_fault(503, "GET /pypi/")
    status, _, _ = await get(session, f"{fake_pypi.base_url}/pypi/widgets/json")
    assert status == 503
    status, _, _ = await get(session, f"{fake_pypi.base_url}/pypi/widgets/json")
    assert status == 200
    assert fake_pypi.count("GET /pypi/{project}/json") == 2
