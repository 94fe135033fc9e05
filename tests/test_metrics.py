"""``GET /metrics`` through the real app, ``LOG_LEVEL``, and the start-up and shutdown log lines."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.__main__ import serve
from bot.github.client import GitHubApp
from bot.metrics import Metrics
from bot.service.server import METRICS, create_app
from bot.settings import Settings, SettingsError
from tests.fakegithub import FakeGitHub
from tests.fakegithub.auth import private_key_pem
from tests.support import Bot, settings_for

Samples = list[tuple[str, dict[str, str], float]]


async def scrape(bot: Bot) -> Samples:
    response = await bot.client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(samples: Samples, name: str, **labels: str) -> float | None:
    found = [
        v for n, lab, v in samples if n == name and all(lab.get(k) == w for k, w in labels.items())
    ]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def labels_of(samples: Samples, name: str, label: str) -> set[str]:
    return {lab[label] for n, lab, _ in samples if n == name}


def make_repo(fake: FakeGitHub) -> Any:
    repo = fake.add_repo("octo-org/widgets", protected=["main"])
    for login in ("alice", "bob"):
        repo.set_permission(login, "write")
    return repo


async def test_a_merge_is_counted_in_every_metric(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Fix parser", files={"src/parse.py": "x = 2\n"})
    pr.review("bob", "APPROVED")
    pr.merge(by="alice")
    assert await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed")) == 202
    samples = await scrape(bot)

    deliveries = "countersign_webhook_deliveries_total"
    assert value(samples, deliveries, event="pull_request", code="202") == 1
    assert value(samples, "countersign_audits_total", verdict="reviewed", kind="pull_request") == 1

    routes = labels_of(samples, "countersign_github_requests_total", "route")
    assert "POST /app/installations/{installation_id}/access_tokens" in routes
    assert any(
        route.startswith("POST /repos/{owner}/") and "check-runs" in route for route in routes
    )
    for route in routes:  # templates only: never an id, a name or a query
        assert re.fullmatch(r"(GET|POST|PATCH|PUT|DELETE) /[^?\s]*", route), route
        assert not re.search(r"/\d+(/|$)", route), route
        assert "octo-org" not in route and "widgets" not in route, route
    assert all(
        status.isdigit() or status == "error"
        for status in labels_of(samples, "countersign_github_requests_total", "status")
    )
    token_route = "POST /app/installations/{installation_id}/access_tokens"
    assert value(samples, "countersign_github_requests_total", route=token_route, status="201") == 1

    assert value(samples, "countersign_work_queued") == 0
    assert value(samples, "countersign_work_in_flight") == 0
    assert value(samples, "countersign_job_duration_seconds_count", kind="merge-audit") == 1
    assert value(samples, "countersign_job_duration_seconds_sum", kind="merge-audit") > 0

    installation = bot.fake.world.installation_for(repo)
    remaining = value(
        samples, "countersign_github_rate_limit_remaining", installation=str(installation.id)
    )
    assert remaining is not None and 0 < remaining < bot.fake.rate_limit
    assert labels_of(samples, "countersign_github_rate_limit_remaining", "installation") == {
        str(installation.id)
    }  # the App's own requests (its JWT) belong to no installation


async def test_a_request_whose_signature_was_not_checked_counts_under_unknown(bot: Bot):
    headers = {
        "X-GitHub-Event": "made-up-by-anyone-1234",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": "sha256=00",
        "Content-Type": "application/json",
    }
    assert (await bot.post(headers, b"{}")).status == 401
    assert await bot.deliver(bot.fake.webhooks.ping()) == 200
    samples = await scrape(bot)
    deliveries = "countersign_webhook_deliveries_total"
    assert labels_of(samples, deliveries, "event") == {"unknown", "ping"}
    assert value(samples, deliveries, event="unknown", code="401") == 1
    assert value(samples, deliveries, event="ping", code="200") == 1


async def test_every_page_counts_under_its_first_page_template(fake_github: FakeGitHub, clock: Any):
    repo = make_repo(fake_github)
    files = {f"src/f{i}.py": f"x = {i}\n" for i in range(3)}
    pr = repo.open_pull(author="alice", files=files)
    installation = fake_github.world.installation_for(repo)
    metrics = Metrics(CollectorRegistry())
    github = GitHubApp(settings_for(fake_github), clock, metrics=metrics)
    try:
        gh = await github.for_installation(installation.id)
        url = "/repos/{owner}/{name}/pulls/{number}/files?per_page=1"
        found = [
            f
            async for f in gh.getiter(
                url, {"owner": "octo-org", "name": "widgets", "number": pr.number}
            )
        ]
    finally:
        await github.close()
    assert len(found) == 3
    route = "GET /repos/{owner}/{name}/pulls/{number}/files"
    counted = metrics.registry.get_sample_value(
        "countersign_github_requests_total", {"route": route, "status": "200"}
    )
    assert counted == 3


async def test_each_app_has_its_own_registry(fake_github: FakeGitHub, clock: Any):
    settings = settings_for(fake_github)
    first = create_app(settings, GitHubApp(settings, clock), clock)
    second = create_app(settings, GitHubApp(settings, clock), clock)
    first[METRICS].delivery("push", 202)
    assert first[METRICS].registry is not second[METRICS].registry
    labels = {"event": "push", "code": "202"}
    assert first[METRICS].registry.get_sample_value("countersign_webhook_deliveries_total", labels)
    assert (
        second[METRICS].registry.get_sample_value("countersign_webhook_deliveries_total", labels)
        is None
    )


async def test_shutdown_says_whether_the_work_drained(
    fake_github: FakeGitHub, clock: Any, caplog: pytest.LogCaptureFixture
):
    settings = settings_for(fake_github)
    app = create_app(settings, GitHubApp(settings, clock), clock)
    caplog.set_level(logging.INFO, logger="bot")
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
    stopped = [r for r in caplog.records if r.getMessage() == "stopped"]
    assert len(stopped) == 1 and stopped[0].drained is True  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------------- LOG_LEVEL

KEY = private_key_pem()
ENV = {
    "GITHUB_APP_ID": "42",
    "GITHUB_PRIVATE_KEY": KEY,
    "GITHUB_WEBHOOK_SECRET": "s3cret-never-logged",
    "GITHUB_API_URL": "https://ghe.example.com/api/v3",
    "HOST": "127.0.0.1",
    "PORT": "8181",
}


def test_log_level_defaults_to_info_and_takes_any_case():
    assert Settings.from_env(ENV).log_level == "INFO"
    assert Settings.from_env({**ENV, "LOG_LEVEL": "debug"}).log_level == "DEBUG"
    assert Settings.from_env({**ENV, "LOG_LEVEL": " Warning "}).log_level == "WARNING"


def test_an_unknown_log_level_is_a_start_up_error():
    with pytest.raises(SettingsError, match=r"^LOG_LEVEL: not a log level: 'LOUD' \(one of DEBUG"):
        Settings.from_env({**ENV, "LOG_LEVEL": "LOUD"})


@pytest.fixture
def root_logging() -> Iterator[None]:
    """``serve`` configures the root logger: put it back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run_serve(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[int, str, list[Any]]:
    """Run ``serve`` up to where it would listen; returns its exit code, its stderr and the apps
    it would have served."""
    served: list[Any] = []
    stderr = io.StringIO()
    for name in [*ENV, "LOG_LEVEL", "GITHUB_PRIVATE_KEY_FILE", "GITHUB_GRAPHQL_URL", "PYPI_URL"]:
        monkeypatch.delenv(name, raising=False)
    for name, text in env.items():
        monkeypatch.setenv(name, text)

    def run_app(app: web.Application, **kwargs: Any) -> None:
        kwargs["loop"].close()
        served.append(app)

    monkeypatch.setattr(web, "run_app", run_app)
    monkeypatch.setattr("sys.stderr", stderr)
    code = serve()
    return code, stderr.getvalue(), served


@pytest.mark.usefixtures("root_logging")
def test_serve_logs_a_start_up_line_without_secrets_at_the_chosen_level(monkeypatch):
    code, stderr, served = run_serve(monkeypatch, {**ENV, "LOG_LEVEL": "debug"})
    assert code == 0 and len(served) == 1
    assert logging.getLogger().level == logging.DEBUG
    lines = [json.loads(line) for line in stderr.splitlines()]
    (start,) = [line for line in lines if line["message"] == "starting"]
    assert start["app_id"] == "42"
    assert start["api_url"] == "https://ghe.example.com/api/v3"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", start["version"])
    assert (start["host"], start["port"], start["log_level"]) == ("127.0.0.1", 8181, "DEBUG")
    assert "s3cret-never-logged" not in stderr
    assert "PRIVATE KEY" not in stderr
    assert not any(chunk in stderr for chunk in KEY.splitlines()[1:-1] if chunk)


@pytest.mark.usefixtures("root_logging")
def test_serve_refuses_an_unknown_log_level(monkeypatch):
    code, stderr, served = run_serve(monkeypatch, {**ENV, "LOG_LEVEL": "chatty"})
    assert code == 2 and served == []
    assert "LOG_LEVEL: not a log level: 'chatty'" in stderr
