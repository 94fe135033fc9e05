"""The GitHub client against the fake: App JWT, token caching, and the retry policy under every
injected fault. Sleeping goes through the injected clock, so nothing here waits for real (except
the time-out case, which waits for the client's own 0.2 s request time-out)."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest
from gidgethub import BadRequest, GitHubBroken

from bot.github.client import JWT_BACKDATE, GitHubApp
from tests.clock import FakeClock
from tests.fakegithub import FakeGitHub
from tests.support import Bot, settings_for

REPO_ROUTE = "GET /repos/{owner}/{repo}"
TOKEN_ROUTE = "POST /app/installations/{installation_id}/access_tokens"


@pytest.fixture
async def github(fake_github: FakeGitHub, clock: FakeClock):
    app = GitHubApp(settings_for(fake_github), clock)
    yield app
    await app.close()


@pytest.fixture
async def impatient(fake_github: FakeGitHub, clock: FakeClock):
    """A client with a 0.2 s request time-out: the injected "timeout" fault costs that much."""
    app = GitHubApp(settings_for(fake_github, request_timeout=0.2), clock)
    yield app
    await app.close()


async def client_for(fake: FakeGitHub, github: GitHubApp, repo: str = "octo-org/widgets") -> Any:
    """An installation client, warmed up (the fake's first answer of a kind is slow to check),
    with the request counts and the recorded sleeps cleared."""
    fake.add_repo(repo)
    installation = fake.installation(repo.split("/")[0])
    gh = await github.for_installation(installation.id)
    await gh.getitem("/repos/" + repo)
    fake.reset_counts()
    github.clock.sleeps.clear()  # type: ignore[attr-defined]
    return gh


def test_app_jwt_is_backdated_and_short_lived(fake_github: FakeGitHub, clock: FakeClock):
    app = GitHubApp(settings_for(fake_github), clock)
    claims = pyjwt.decode(app.jwt(), options={"verify_signature": False})
    now = int(clock.now().timestamp())
    assert claims["iat"] == now - JWT_BACKDATE
    assert now < claims["exp"] <= claims["iat"] + 600
    assert claims["iss"] == str(fake_github.app_id)


async def test_app_endpoints_accept_the_jwt(fake_github: FakeGitHub, github: GitHubApp):
    assert await github.slug() == fake_github.app.slug
    assert fake_github.count("GET /app") == 1


@pytest.mark.parametrize(
    ("kind", "expected_sleep"),
    [
        (500, 0.75),
        (502, 0.75),
        (503, 0.75),
        (429, 60.0),  # Retry-After
        ("secondary", 60.0),  # 403 with Retry-After
    ],
)
async def test_each_fault_is_retried_once_then_succeeds(
    fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock, kind: Any, expected_sleep: float
):
    gh = await client_for(fake_github, github)
    fake_github.inject_fault(kind, route=REPO_ROUTE, times=1)
    repo = await gh.getitem("/repos/octo-org/widgets")
    assert repo["full_name"] == "octo-org/widgets"
    assert fake_github.count(REPO_ROUTE) == 2
    assert clock.sleeps == [expected_sleep]


async def test_a_time_out_is_retried(
    fake_github: FakeGitHub, impatient: GitHubApp, clock: FakeClock
):
    gh = await client_for(fake_github, impatient)
    fake_github.inject_fault("timeout", route=REPO_ROUTE, times=1)
    assert (await gh.getitem("/repos/octo-org/widgets"))["name"] == "widgets"
    assert fake_github.count(REPO_ROUTE) == 2
    assert clock.sleeps == [0.75]


async def test_a_connection_reset_is_retried(
    fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock
):
    gh = await client_for(fake_github, github)
    fake_github.inject_fault("reset", route=REPO_ROUTE, times=2)
    assert (await gh.getitem("/repos/octo-org/widgets"))["name"] == "widgets"
    # aiohttp itself retries a reset on a reused keep-alive connection once; the policy does the rest
    assert fake_github.count(REPO_ROUTE) == 3
    assert len(clock.sleeps) <= 1


async def test_primary_rate_limit_waits_until_the_reset(
    fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock
):
    gh = await client_for(fake_github, github)
    fake_github.inject_fault("primary", route=REPO_ROUTE, times=1)
    now = int(clock.now().timestamp())
    await gh.getitem("/repos/octo-org/widgets")
    reset = now + 3600 - now % 3600
    assert clock.sleeps == [float(reset - now)]


async def test_graphql_goes_through_the_same_retry_policy(
    fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock
):
    gh = await client_for(fake_github, github)
    query = 'query { repository(owner: "octo-org", name: "widgets") { name } }'
    await gh.query(query)  # warm up: the fake builds GitHub's schema on first use
    fake_github.reset_counts()
    fake_github.inject_fault(502, route="POST /graphql", times=2)
    data = await gh.query(query)
    assert data == {"repository": {"name": "widgets"}}
    assert fake_github.count("POST /graphql") == 3
    assert clock.sleeps == [0.75, 1.5]  # exponential


async def test_attempts_are_bounded(fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock):
    gh = await client_for(fake_github, github)
    fake_github.inject_fault(500, route=REPO_ROUTE, times=50)
    with pytest.raises(GitHubBroken):
        await gh.getitem("/repos/octo-org/widgets")
    assert fake_github.count(REPO_ROUTE) == github.settings.retry_attempts == 5
    assert clock.sleeps == [0.75, 1.5, 3.0, 6.0]


async def test_connection_faults_give_up_after_the_bound(
    fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock
):
    gh = await client_for(fake_github, github)
    fake_github.inject_fault("reset", route=REPO_ROUTE, times=50)
    with pytest.raises(Exception) as raised:
        await gh.getitem("/repos/octo-org/widgets")
    assert not isinstance(raised.value, BadRequest)
    assert len(clock.sleeps) == 4  # five attempts (aiohttp may resend each reset once itself)
    assert 5 <= fake_github.count(REPO_ROUTE) <= 10


async def test_client_errors_are_not_retried(
    fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock
):
    gh = await client_for(fake_github, github)
    with pytest.raises(BadRequest) as raised:
        await gh.getitem("/repos/octo-org/nothing-here")
    assert raised.value.status_code == 404
    assert fake_github.count("GET /repos/") == 1
    assert clock.sleeps == []


async def test_one_token_for_many_deliveries(bot: Bot):
    fake = bot.fake
    repo = fake.add_repo("octo-org/widgets")
    prs = []
    for n in range(5):
        pr = repo.open_pull(author="alice", title=f"Change {n}", files={f"f{n}.py": "x\n"})
        pr.review("bob", "APPROVED")
        pr.merge(by="carol")
        prs.append(pr)
    for pr in prs:
        assert await bot.deliver(fake.webhooks.pull_request(pr, "closed"), wait=False) == 202
    await bot.idle()
    assert fake.count(TOKEN_ROUTE) == 1
    assert fake.count("POST /repos/{owner}/{repo}/check-runs") == 5


async def test_token_is_renewed_before_it_expires(
    fake_github: FakeGitHub, github: GitHubApp, clock: FakeClock
):
    fake_github.add_repo("octo-org/widgets")
    installation = fake_github.installation("octo-org").id
    first = await github.installation_token(installation)
    clock.advance(50 * 60)
    assert await github.installation_token(installation) == first  # 10 minutes left: kept
    clock.advance(6 * 60)
    renewed = await github.installation_token(installation)  # 4 minutes left: renewed
    assert renewed != first
    assert fake_github.count(TOKEN_ROUTE) == 2
