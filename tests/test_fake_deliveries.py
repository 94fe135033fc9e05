"""The fake GitHub's webhook delivery log and redeliveries, collaborators, activity look-ups
(GraphQL search, commit history, repository activity) and its mermaid chart check."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from gidgethub.aiohttp import GitHubAPI

from tests.fakegithub import FakeGitHub, HookDelivery, PullRequest, Repository, mermaid, sign
from tests.fakegithub.clock import FrozenClock, iso

REPO = "/repos/octo-org/widgets"
SECRET = "It's a Secret to Everybody"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Repository:
    return fake_github.add_repo("octo-org/widgets", protected=["main"])


def fresh_token(fake: FakeGitHub) -> dict[str, str]:
    return {"Authorization": f"token {fake.issue_token('octo-org')}"}


@pytest.fixture
def token(fake_github: FakeGitHub, repo: Repository) -> dict[str, str]:
    return fresh_token(fake_github)


def app_auth(fake: FakeGitHub) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.make_jwt()}", "Accept": "application/vnd.github+json"}


def frozen(fake: FakeGitHub) -> FrozenClock:
    clock = fake.clock
    assert isinstance(clock, FrozenClock)
    return clock


@dataclass
class Receiver:
    """A tiny webhook receiver on loopback: it keeps what it gets and answers ``status``."""

    url: str = ""
    status: int = 202
    delay: float = 0.0
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
async def receiver(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> Receiver:
    found = Receiver()

    async def webhook(request: web.Request) -> web.Response:
        found.got.append((dict(request.headers), await request.read()))
        if found.delay:
            await asyncio.sleep(found.delay)
        return web.Response(status=found.status, text="queued")

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = await aiohttp_server(app)
    found.url = str(server.make_url("/webhook"))
    return found


@pytest.fixture
def hooked(fake_github: FakeGitHub, repo: Repository, receiver: Receiver) -> FakeGitHub:
    """The fake, delivering to the receiver with a secret."""
    fake_github.hook_url = receiver.url
    fake_github.hook_secret = SECRET
    return fake_github


@pytest.fixture
def merged_pr(repo: Repository) -> PullRequest:
    pr = repo.open_pull(author="alice", title="Spin", files={"spin.py": "spin = 1\n"})
    pr.review("bob", "APPROVED")
    pr.merge(by="carol")
    return pr


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with session.request(method, url, headers=headers, json=body) as response:
        answer = await response.json() if response.content_type == "application/json" else None
        return response.status, answer, response


def next_link(response: aiohttp.ClientResponse) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return found[1] if found else None


# ============================================================================ delivery log


async def test_the_delivery_log_pages_by_cursor(
    fake_github: FakeGitHub, merged_pr: PullRequest, session: aiohttp.ClientSession
) -> None:
    event = fake_github.webhooks.pull_request(merged_pr, "closed")
    clock = frozen(fake_github)
    planted = []
    for n in range(250):
        planted.append(fake_github.record_delivery(event, status_code=200 if n % 3 else 500))
        clock.advance(seconds=1)
    url: str | None = f"{fake_github.base_url}/app/hook/deliveries?per_page=100"
    pages: list[list[dict[str, Any]]] = []
    links: list[str] = []
    while url is not None:
        status, body, response = await call(session, "GET", url, app_auth(fake_github))
        assert status == 200
        pages.append(body)
        links.append(response.headers.get("Link", ""))
        url = next_link(response)
    assert [len(p) for p in pages] == [100, 100, 50]
    ids = [d["id"] for page in pages for d in page]
    assert ids == [d.id for d in reversed(planted)]  # newest first, each exactly once
    first_next = re.fullmatch(
        rf"<{re.escape(fake_github.base_url)}/app/hook/deliveries\?per_page=100&cursor=(v1_\d+)>; "
        r'rel="next"',
        links[0],
    )
    assert first_next is not None  # a cursor, never a page number
    assert first_next[1] == f"v1_{pages[1][0]['id']}"
    assert 'rel="prev"' in links[1] and "page=" not in links[1].replace("per_page=", "")
    assert 'rel="next"' not in links[2]
    assert pages[0][0]["guid"] == planted[-1].guid and pages[0][0]["action"] == "closed"
    assert pages[0][0]["installation_id"] == fake_github.installation("octo-org").id
    assert pages[0][0]["repository_id"] == merged_pr.repo.id
    # the default page is 30; gidgethub's iterator follows the cursor links to the end
    status, body, _ = await call(
        session, "GET", f"{fake_github.base_url}/app/hook/deliveries", app_auth(fake_github)
    )
    assert status == 200 and len(body) == 30
    gh = GitHubAPI(session, "tests", base_url=fake_github.base_url)
    walked = [d["id"] async for d in gh.getiter("/app/hook/deliveries", jwt=fake_github.make_jwt())]
    assert walked == ids
    assert fake_github.count("GET /app/hook/deliveries") == 3 + 1 + 9  # + ceil(250 / 30)


async def test_the_delivery_log_filters_by_outcome(
    fake_github: FakeGitHub, merged_pr: PullRequest, session: aiohttp.ClientSession
) -> None:
    event = fake_github.webhooks.pull_request(merged_pr, "closed")
    outcomes = [200, 202, 500, 0, 404, 204]
    made = [fake_github.record_delivery(event, status_code=code) for code in outcomes]
    base = f"{fake_github.base_url}/app/hook/deliveries"
    _, failed, _ = await call(session, "GET", f"{base}?status=failure", app_auth(fake_github))
    _, succeeded, _ = await call(session, "GET", f"{base}?status=success", app_auth(fake_github))
    assert [d["status_code"] for d in failed] == [404, 0, 500]
    assert [d["status"] for d in failed] == [
        "Invalid HTTP Response: 404",
        "timed out",
        "Invalid HTTP Response: 500",
    ]
    assert [d["status_code"] for d in succeeded] == [204, 202, 200]
    assert {d["status"] for d in succeeded} == {"OK"}
    assert len(made) == 6
    # a cursor from the filtered listing keeps the filter
    status, page, response = await call(
        session, "GET", f"{base}?status=failure&per_page=2", app_auth(fake_github)
    )
    assert status == 200 and [d["status_code"] for d in page] == [404, 0]
    following = next_link(response)
    assert following is not None and "status=failure" in following
    _, rest, _ = await call(session, "GET", following, app_auth(fake_github))
    assert [d["status_code"] for d in rest] == [500]
    status, error, _ = await call(session, "GET", f"{base}?status=broken", app_auth(fake_github))
    assert status == 422 and "status" in error["message"]


async def test_the_delivery_log_needs_the_apps_jwt(
    fake_github: FakeGitHub, token: dict[str, str], session: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(
        session, "GET", f"{fake_github.base_url}/app/hook/deliveries", token
    )
    assert status == 401 and "JSON web token" in body["message"]


async def test_send_posts_a_signed_delivery_and_logs_the_answer(
    hooked: FakeGitHub,
    merged_pr: PullRequest,
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    event = hooked.webhooks.pull_request(merged_pr, "closed")
    delivery = await hooked.send(event)
    assert isinstance(delivery, HookDelivery)
    assert len(receiver.got) == 1
    headers, body = receiver.got[0]
    assert headers["X-GitHub-Delivery"] == delivery.guid
    assert headers["X-GitHub-Event"] == "pull_request"
    assert headers["X-Hub-Signature-256"] == sign(body, SECRET)
    assert json.loads(body) == event[1]
    assert (delivery.status_code, delivery.status, delivery.redelivery) == (202, "OK", False)

    status, shown, _ = await call(
        session,
        "GET",
        f"{hooked.base_url}/app/hook/deliveries/{delivery.id}",
        app_auth(hooked),
    )
    assert status == 200
    assert shown["request"]["headers"]["X-GitHub-Delivery"] == delivery.guid
    assert shown["request"]["payload"] == event[1]
    assert shown["response"]["payload"] == "queued"
    assert shown["url"] == receiver.url
    assert shown["delivered_at"] == iso(hooked.clock.now())

    # GitHub failing to deliver: nothing reaches the receiver, the log says why
    broken = await hooked.send(event, fail=500)
    lost = await hooked.send(event, fail=0)
    assert len(receiver.got) == 1
    assert (broken.status_code, broken.status) == (500, "Invalid HTTP Response: 500")
    assert (lost.status_code, lost.status) == (0, "timed out")
    assert len({delivery.guid, broken.guid, lost.guid}) == 3  # every event has its own GUID

    status, missing, _ = await call(
        session, "GET", f"{hooked.base_url}/app/hook/deliveries/999", app_auth(hooked)
    )
    assert status == 404 and missing["message"] == "Not Found"


# ============================================================================== redelivery


async def test_redelivery_resends_the_same_event_and_logs_it(
    hooked: FakeGitHub,
    merged_pr: PullRequest,
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    event = hooked.webhooks.pull_request(merged_pr, "closed")
    failed = await hooked.send(event, fail=502)
    assert receiver.got == []
    hooked.hook_secret = "rotated"  # a redelivery is signed with the current secret
    status, body, _ = await call(
        session,
        "POST",
        f"{hooked.base_url}/app/hook/deliveries/{failed.id}/attempts",
        app_auth(hooked),
    )
    assert (status, body) == (202, {})
    assert hooked.count("POST /app/hook/deliveries/{delivery_id}/attempts") == 1
    assert len(receiver.got) == 1
    headers, sent = receiver.got[0]
    assert headers["X-GitHub-Delivery"] == failed.guid
    assert headers["X-Hub-Signature-256"] == sign(sent, "rotated")
    assert sent == failed.request_body and json.loads(sent) == event[1]
    again = hooked.hook_deliveries[-1]
    assert again.id > failed.id
    assert (again.guid, again.redelivery, again.status_code, again.status) == (
        failed.guid,
        True,
        202,
        "OK",
    )
    status, listed, _ = await call(
        session, "GET", f"{hooked.base_url}/app/hook/deliveries", app_auth(hooked)
    )
    assert [(d["id"], d["redelivery"]) for d in listed] == [(again.id, True), (failed.id, False)]


async def test_only_recent_deliveries_can_be_redelivered(
    hooked: FakeGitHub,
    merged_pr: PullRequest,
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    event = hooked.webhooks.pull_request(merged_pr, "closed")
    now = hooked.clock.now()
    old = hooked.record_delivery(event, status_code=500, delivered_at=now - timedelta(days=4))
    recent = hooked.record_delivery(event, status_code=500, delivered_at=now - timedelta(days=2))
    base = f"{hooked.base_url}/app/hook/deliveries"
    status, body, _ = await call(session, "POST", f"{base}/{old.id}/attempts", app_auth(hooked))
    assert status == 422 and body["message"] == "Validation Failed"
    assert "3 days" in body["errors"][0]["message"]
    assert receiver.got == []
    status, _, _ = await call(session, "POST", f"{base}/12345/attempts", app_auth(hooked))
    assert status == 404
    status, _, _ = await call(session, "POST", f"{base}/{recent.id}/attempts", app_auth(hooked))
    assert status == 202 and len(receiver.got) == 1
    assert receiver.got[0][0]["X-GitHub-Delivery"] == recent.guid
    assert hooked.count("POST /app/hook/deliveries/{delivery_id}/attempts") == 3


async def test_a_redelivery_nobody_answers_is_logged_as_failed(
    hooked: FakeGitHub,
    merged_pr: PullRequest,
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    event = hooked.webhooks.pull_request(merged_pr, "closed")
    first = await hooked.send(event)
    receiver.delay, hooked.hook_timeout = 1.0, 0.1
    url = f"{hooked.base_url}/app/hook/deliveries/{first.id}/attempts"
    status, _, _ = await call(session, "POST", url, app_auth(hooked))
    assert status == 202
    slow = hooked.hook_deliveries[-1]
    assert (slow.redelivery, slow.status_code, slow.status) == (True, 0, "timed out")
    hooked.hook_url = None
    status, _, _ = await call(session, "POST", url, app_auth(hooked))
    assert status == 202
    nowhere = hooked.hook_deliveries[-1]
    assert (nowhere.status_code, nowhere.status) == (0, "failed to connect to host")
    assert [d.guid for d in hooked.hook_deliveries] == [first.guid] * 3


# ============================================================================ collaborators


async def test_collaborators_are_listed_with_their_roles(
    fake_github: FakeGitHub,
    repo: Repository,
    token: dict[str, str],
    session: aiohttp.ClientSession,
) -> None:
    for login, role in [
        ("bob", "write"),
        ("carol", "admin"),
        ("dave", "read"),
        ("erin", "triage"),
        ("frank", "none"),
        ("gina", "maintain"),
    ]:
        repo.set_permission(login, role)  # type: ignore[arg-type]
    fake_github.add_team("octo-org", "core", members=["carol", "gina"])
    url = f"{fake_github.base_url}{REPO}/collaborators"
    status, everyone, _ = await call(session, "GET", url, token)
    assert status == 200
    roles = {c["login"]: c["role_name"] for c in everyone}
    assert roles == {
        "bob": "write",
        "carol": "admin",
        "dave": "read",
        "erin": "triage",
        "gina": "maintain",
    }
    bob = next(c for c in everyone if c["login"] == "bob")
    assert bob["permissions"] == {
        "pull": True,
        "triage": True,
        "push": True,
        "maintain": False,
        "admin": False,
    }
    _, pushers, _ = await call(session, "GET", f"{url}?permission=push", token)
    assert sorted(c["login"] for c in pushers) == ["bob", "carol", "gina"]
    _, admins, _ = await call(session, "GET", f"{url}?permission=admin", token)
    assert [c["login"] for c in admins] == ["carol"]
    _, outside, _ = await call(session, "GET", f"{url}?affiliation=outside", token)
    assert sorted(c["login"] for c in outside) == ["bob", "dave", "erin"]
    status, page, response = await call(session, "GET", f"{url}?per_page=2", token)
    assert status == 200 and len(page) == 2 and 'rel="next"' in response.headers["Link"]
    status, error, _ = await call(session, "GET", f"{url}?permission=owner", token)
    assert status == 422 and "permission" in error["message"]
    assert fake_github.count("GET /repos/{owner}/{repo}/collaborators") == 6


async def test_collaborators_of_a_user_repository_and_without_metadata(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    mine = fake_github.add_repo("olivia/notes", owner_type="User")
    mine.set_permission("bob", "write")
    token = fake_github.issue_token("olivia")
    url = f"{fake_github.base_url}/repos/olivia/notes/collaborators"
    status, listed, _ = await call(session, "GET", url, {"Authorization": f"token {token}"})
    assert status == 200
    assert [(c["login"], c["role_name"]) for c in listed] == [("olivia", "admin"), ("bob", "write")]
    assert listed[0]["permissions"]["admin"] is True
    narrow = fake_github.tokens.issue(
        fake_github.installation("olivia"), permissions={"issues": "read"}
    )
    status, _, _ = await call(session, "GET", url, {"Authorization": f"token {narrow.token}"})
    assert status == 403  # the docs: "Metadata" repository permissions (read)


# ============================================================================ GraphQL search

SEARCH = """
query($q: String!, $after: String) {
  search(query: $q, type: ISSUE, first: 2, after: $after) {
    issueCount
    pageInfo { hasNextPage endCursor }
    nodes { __typename ... on PullRequest { number mergedBy { login } } ... on Issue { number } }
  }
}
"""


async def graphql(
    fake: FakeGitHub,
    session: aiohttp.ClientSession,
    token: dict[str, str],
    query: str,
    **variables: Any,
) -> dict[str, Any]:
    async with session.post(
        fake.graphql_url, json={"query": query, "variables": variables}, headers=token
    ) as response:
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer


@pytest.fixture
def activity(fake_github: FakeGitHub, repo: Repository) -> dict[str, int]:
    """#1 a PR by alice, reviewed by bob, merged by carol; #2 an issue by bob; then, two days later,
    #3 a PR by dave that mentions @erin, commented on by bob, still open."""
    clock = frozen(fake_github)
    first = repo.open_pull(author="alice", title="Spin", files={"spin.py": "spin = 1\n"})
    first.review("bob", "APPROVED", body="looks right")
    first.merge(by="carol")
    issue = repo.create_issue("Spinning is slow", author="bob", body="It takes ages.")
    clock.advance(days=2)
    third = repo.open_pull(
        author="dave", title="Faster", body="cc @erin", files={"fast.py": "fast = 1\n"}
    )
    third.comment("bob", "Nice, but see #2")
    return {"reviewed": first.number, "issue": issue.number, "open": third.number}


async def test_search_finds_who_was_involved(
    fake_github: FakeGitHub,
    activity: dict[str, int],
    token: dict[str, str],
    session: aiohttp.ClientSession,
) -> None:
    async def numbers(q: str) -> tuple[int, list[int]]:
        answer = await graphql(fake_github, session, token, SEARCH, q=q)
        assert "errors" not in answer, answer
        found = answer["data"]["search"]
        return found["issueCount"], [n["number"] for n in found["nodes"]]

    repo = "repo:octo-org/widgets"
    # involves = author OR assignee OR mentions OR commenter (the docs); a review is none of those
    assert await numbers(f"{repo} involves:bob") == (2, [activity["open"], activity["issue"]])
    assert await numbers(f"{repo} reviewed-by:bob") == (1, [activity["reviewed"]])
    assert await numbers(f"{repo} involves:erin") == (1, [activity["open"]])
    assert await numbers(f"{repo} commenter:bob is:pr") == (1, [activity["open"]])
    assert await numbers(f"{repo} author:alice is:merged") == (1, [activity["reviewed"]])
    assert await numbers(f"{repo} is:issue") == (1, [activity["issue"]])
    assert (await numbers(f"{repo} is:pr -author:dave"))[1] == [activity["reviewed"]]
    today = fake_github.clock.now().date()
    assert await numbers(f"{repo} updated:>={today}") == (1, [activity["open"]])
    yesterday = today - timedelta(days=1)
    assert (await numbers(f"{repo} updated:>{yesterday}"))[0] == 1
    assert (await numbers(f"{repo} updated:<{yesterday}"))[0] == 2
    assert (await numbers(f"{repo} merged:>={today - timedelta(days=3)}"))[0] == 1
    assert (await numbers(f"{repo} merged:>={today}"))[0] == 0
    assert (await numbers(f"{repo} slow"))[1] == [activity["issue"]]  # a keyword
    assert (await numbers("repo:octo-org/elsewhere involves:bob"))[0] == 0


async def test_search_pages_and_shows_the_merger(
    fake_github: FakeGitHub,
    activity: dict[str, int],
    token: dict[str, str],
    session: aiohttp.ClientSession,
) -> None:
    q = "repo:octo-org/widgets"
    page = (await graphql(fake_github, session, token, SEARCH, q=q))["data"]["search"]
    assert page["issueCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    cursor = page["pageInfo"]["endCursor"]
    rest = (await graphql(fake_github, session, token, SEARCH, q=q, after=cursor))["data"]
    last = rest["search"]["nodes"]
    assert [n["number"] for n in last] == [activity["reviewed"]]
    # GitHub search has no "merged by" qualifier: the merger is on the pull request
    assert last[0]["__typename"] == "PullRequest" and last[0]["mergedBy"]["login"] == "carol"


async def test_search_refuses_qualifiers_the_fake_does_not_model(
    fake_github: FakeGitHub,
    activity: dict[str, int],
    token: dict[str, str],
    session: aiohttp.ClientSession,
) -> None:
    answer = await graphql(
        fake_github, session, token, SEARCH, q="repo:octo-org/widgets review:approved"
    )
    assert "does not model the search qualifier review:approved" in answer["errors"][0]["message"]
    assert len(fake_github.internal_errors) == 1
    fake_github.internal_errors.clear()  # expected here; it would fail the test otherwise


# ============================================================================ commit history

HISTORY = """
query($id: ID, $emails: [String!], $since: GitTimestamp) {
  repository(owner: "octo-org", name: "widgets") {
    defaultBranchRef { target { ... on Commit {
      history(first: 10, author: {id: $id, emails: $emails}, since: $since) {
        totalCount
        nodes { oid committedDate }
      }
    } } }
  }
}
"""


async def test_commit_history_by_author_since(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession
) -> None:
    alice = fake_github.add_user("alice", email="alice@example.com", emails=["a@old.example"])
    clock = frozen(fake_github)
    old = repo.commit("main", message="Old", author="alice", files={"a": "1"})
    clock.advance(days=10)
    start = clock.now()
    bobs = repo.commit("main", message="Bob's", author="bob", files={"b": "1"})
    clock.advance(hours=1)
    # on a branch merged with a merge commit: history walks every parent, not only the first
    pr = repo.open_pull(author="alice", title="Side", files={"side": "1"})
    side = pr.head_sha
    clock.advance(hours=1)
    merge = pr.merge(by="carol", method="merge")
    clock.advance(hours=1)
    old_address = repo.commit(
        "main", message="Old address", author="Alice <a@old.example>", files={"c": "1"}
    )

    token = fresh_token(fake_github)  # after the clock moved: tokens live an hour

    async def history(**variables: Any) -> tuple[int, list[str]]:
        answer = await graphql(fake_github, session, token, HISTORY, **variables)
        assert "errors" not in answer, answer
        found = answer["data"]["repository"]["defaultBranchRef"]["target"]["history"]
        return found["totalCount"], [n["oid"] for n in found["nodes"]]

    everything = await history()
    assert everything[1][:3] == [old_address, merge, side] and bobs in everything[1]
    assert await history(id=alice.node_id) == (3, [old_address, side, old])
    assert await history(id=alice.node_id, since=iso(start)) == (2, [old_address, side])
    assert await history(emails=["ALICE@example.com"], since=iso(start)) == (1, [side])
    assert await history(emails=["nobody@example.com"]) == (0, [])
    assert merge in (await history(since=iso(start)))[1]  # merged by carol, authored by carol


# ============================================================================ activity


async def test_activity_finds_merges_by_who_merged(
    fake_github: FakeGitHub, repo: Repository, session: aiohttp.ClientSession
) -> None:
    clock = frozen(fake_github)
    early = repo.open_pull(author="alice", title="One", files={"one": "1"})
    early.merge(by="carol", method="squash")
    clock.advance(days=3)
    late = repo.open_pull(author="alice", title="Two", files={"two": "1"})
    late.merge(by="carol", method="squash")
    other = repo.open_pull(author="bob", title="Three", files={"three": "1"})
    other.merge(by="dave", method="squash")
    repo.set_file("direct.txt", "pushed by octocat\n")
    base = f"{fake_github.base_url}{REPO}/activity"
    token = fresh_token(fake_github)
    _, merges, _ = await call(session, "GET", f"{base}?activity_type=pr_merge&actor=carol", token)
    assert [m["after"] for m in merges] == [late.merge_commit_sha, early.merge_commit_sha]
    assert {m["actor"]["login"] for m in merges} == {"carol"}
    assert {m["activity_type"] for m in merges} == {"pr_merge"}
    _, recent, _ = await call(
        session, "GET", f"{base}?activity_type=pr_merge&actor=carol&time_period=day", token
    )
    assert [m["after"] for m in recent] == [late.merge_commit_sha]
    _, all_merges, _ = await call(session, "GET", f"{base}?activity_type=pr_merge", token)
    assert len(all_merges) == 3


# ============================================================================ mermaid

GOOD_XY = """xychart-beta
    title "Approvals per week"
    x-axis [w1, w2, "week 3"]
    y-axis "PRs" 0 --> 10
    bar [3, 5, 2]
    line [3, 5, 2]
"""
GOOD_PIE = """pie title Merges
    "approved" : 12
    "self-merged" : 1.5
"""


def test_mermaid_check_reads_the_two_chart_kinds() -> None:
    assert mermaid.check(GOOD_XY) == []
    assert mermaid.check(GOOD_PIE) == []
    assert mermaid.check("xychart-beta\n  x-axis [a, b]\n  bar [1, 2, 3]\n") == [
        "xychart-beta: bar series 1 has 3 values but the x-axis has 2 categories"
    ]
    assert mermaid.check("xychart-beta\n  x-axis [a]\n  bar [one]\n")[0].endswith("'bar [one]'")
    assert mermaid.check('pie\n  "a" : -1\n') == ["pie: negative slice value: '\"a\" : -1'"]
    assert mermaid.check("pie\n  a : 1\n") == [
        "pie: unexpected statement: 'a : 1'",
        "pie: no slices",
    ]
    assert "unsupported mermaid chart type 'flowchart'" in mermaid.check("flowchart LR\nA-->B")[0]
    body = (
        f"Intro\n\n```mermaid\n{GOOD_PIE}```\n\n```python\npie\n```\n~~~~mermaid\n{GOOD_XY}~~~~\n"
    )
    assert mermaid.charts(body) == [GOOD_PIE.rstrip("\n"), GOOD_XY.rstrip("\n")]


async def test_mermaid_charts_in_issues_and_comments_are_checked(
    fake_github: FakeGitHub,
    repo: Repository,
    token: dict[str, str],
    session: aiohttp.ClientSession,
) -> None:
    issues = f"{fake_github.base_url}{REPO}/issues"
    good = f"## Report\n\n```mermaid\n{GOOD_XY}```\n\n```mermaid\n{GOOD_PIE}```\n"
    status, issue, _ = await call(session, "POST", issues, token, {"title": "Audit", "body": good})
    assert status == 201 and fake_github.shape_errors == []

    bad = "```mermaid\nxychart-beta\n  x-axis [a, b, c]\n  bar [1, 2]\n```\n"
    comments = f"{issues}/{issue['number']}/comments"
    status, comment, _ = await call(session, "POST", comments, token, {"body": bad})
    assert status == 201  # GitHub takes any text: the fake only reports the chart
    unknown = "```mermaid\ngantt\n  title Plan\n```\n"
    edit = f"{issues}/comments/{comment['id']}"
    status, _, _ = await call(session, "PATCH", edit, token, {"body": unknown})
    assert status == 200
    assert fake_github.shape_errors == [
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments: mermaid chart 1: "
        "xychart-beta: bar series 1 has 2 values but the x-axis has 3 categories",
        "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}: mermaid chart 1: "
        "unsupported mermaid chart type 'gantt' (the fake accepts xychart-beta and pie)",
    ]
    fake_github.shape_errors.clear()  # expected here; the fixture fails a test on any left
