"""``python -m bot register``: GitHub's App manifest flow served on loopback, end to end against the
fake GitHub's ``/settings/apps/new`` page and ``POST /app-manifests/{code}/conversions``, then in a
real headless Chromium; and ``serve``'s reading of the ``.env`` it writes."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.__main__ import main as bot_main
from bot.cli import register
from bot.settings import Settings, environment, load_dotenv
from tests.fakegithub import FakeGitHub, FrozenClock
from tests.fakegithub.auth import private_key_pem
from tests.fakegithub.manifests import ManifestError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = json.loads((ROOT / "config" / "app-manifest.json").read_text())
WEBHOOK = "https://countersign.example.net/webhook"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# ====================================================================================== fixtures


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def fake(clock: FrozenClock) -> AsyncIterator[FakeGitHub]:
    """The fake GitHub; its own App is not named ``countersign``, so the manifest's name is free."""
    async with FakeGitHub(clock=clock, app_slug="countersign-tests") as started:
        yield started
    problems = started.shape_errors + started.internal_errors
    assert not problems, "the fake GitHub answered as GitHub would not:\n" + "\n".join(problems)


def options_for(fake: FakeGitHub, where: Path, **overrides: Any) -> register.Options:
    values: dict[str, Any] = {
        "webhook_url": WEBHOOK,
        "github_url": fake.base_url,
        "api_url": fake.base_url,
        "env_file": where / ".env",
        "key_file": where / "countersign.pem",
    }
    values.update(overrides)
    return register.Options(**values)


class Flow:
    """The register app on loopback and a browser-like HTTP client (no cookies needed)."""

    def __init__(self, options: register.Options) -> None:
        self.options = options
        self.done: asyncio.Future[register.Registration] = (
            asyncio.get_running_loop().create_future()
        )
        self.server = TestServer(register.create_app(options, self.done), host="127.0.0.1")
        self.session = aiohttp.ClientSession()

    async def __aenter__(self) -> Flow:
        await self.server.start_server()
        self.url = str(self.server.make_url("/"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        await self.server.close()

    async def page(self) -> tuple[str, dict[str, str]]:
        """The start page's form: its action and its fields."""
        async with self.session.get(self.url) as answer:
            assert answer.status == 200
            assert "form-action 'self' " in answer.headers["Content-Security-Policy"]
            forms = Forms.read(await answer.text())
        assert len(forms) == 1 and forms[0]["method"] == "post"
        return forms[0]["action"], forms[0]["fields"]

    async def submit(self, name: str | None = None) -> str:
        """POST the page's form to GitHub (the fake) as the button does; returns where GitHub
        redirects the browser (the callback URL with the code and state). ``name``: the one the
        user types on GitHub's page instead of the manifest's."""
        action, fields = await self.page()
        if name is not None:
            fields["name"] = name
        async with self.session.post(action, data=fields, allow_redirects=False) as answer:
            assert answer.status == 302, await answer.text()
            return answer.headers["Location"]

    async def get(self, url: str) -> tuple[int, str]:
        async with self.session.get(url) as answer:
            return answer.status, await answer.text()


class Forms(HTMLParser):
    """The forms of a page: action, method and named inputs (values unescaped)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    @classmethod
    def read(cls, page: str) -> list[dict[str, Any]]:
        parser = cls()
        parser.feed(page)
        return parser.forms

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": found.get("action", ""), "method": found.get("method"), "fields": {}}
            )
        elif tag == "input" and self.forms and "name" in found:
            self.forms[-1]["fields"][found["name"]] = found.get("value", "")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(directory: Path) -> dict[str, int]:
    """The files in ``directory`` and their permission bits."""
    return {path.name: mode(path) for path in directory.iterdir()}


def chromium_missing() -> bool:
    return shutil.which("chromium") is None or not Path(CHROMIUM).exists()


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


# ===================================================================================== the page


async def test_the_page_posts_the_shipped_manifest_with_this_runs_urls(
    fake: FakeGitHub, tmp_path: Path
):
    async with Flow(options_for(fake, tmp_path)) as flow:
        action, fields = await flow.page()
    parts = urlsplit(action)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{fake.base_url}/settings/apps/new"
    state = parse_qs(parts.query)["state"][0]
    assert len(state) >= 40  # 32 random bytes
    assert set(fields) == {"manifest"}
    manifest = json.loads(fields["manifest"])
    assert manifest["hook_attributes"] == {"url": WEBHOOK, "active": True}
    assert manifest["redirect_url"] == f"{flow.url}callback"
    assert manifest["default_events"] == SHIPPED["default_events"]
    assert manifest["default_permissions"] == SHIPPED["default_permissions"]
    assert {k: v for k, v in manifest.items() if k not in ("hook_attributes", "redirect_url")} == {
        k: v for k, v in SHIPPED.items() if k not in ("hook_attributes", "redirect_url")
    }
    assert not (tmp_path / ".env").exists()


async def test_an_organisation_and_a_name(fake: FakeGitHub, tmp_path: Path):
    fake.add_org("octo-org")
    options = options_for(fake, tmp_path, org="octo-org", name="countersign (octo-org)")
    async with Flow(options) as flow:
        action, fields = await flow.page()
        assert action.startswith(f"{fake.base_url}/organizations/octo-org/settings/apps/new?state=")
        assert json.loads(fields["manifest"])["name"] == "countersign (octo-org)"
        status, _ = await flow.get(await flow.submit())
    assert status == 200
    registration = flow.done.result()
    assert (registration.name, registration.slug, registration.owner) == (
        "countersign (octo-org)",
        "countersign-octo-org",
        "octo-org",
    )


def test_the_github_urls():
    def parsed(*argv: str) -> register.Options:
        import argparse

        parser = argparse.ArgumentParser()
        register.add_parser(parser.add_subparsers())
        return register.options_from(parser.parse_args(["register", *argv]))

    here = ["--env-file", "/nonexistent-dir-for-sure/.env"]
    with pytest.raises(register.RegisterError, match="does not exist"):
        parsed("--webhook-url", WEBHOOK, *here)
    with pytest.raises(register.RegisterError, match="--webhook-url"):
        parsed("--webhook-url", "countersign.example.net/webhook")
    with pytest.raises(register.RegisterError, match="--org"):
        parsed("--webhook-url", WEBHOOK, "--org", "octo org")
    assert register.api_url_for("https://github.com") == "https://api.github.com"
    assert register.api_url_for("https://ghe.example.com") == "https://ghe.example.com/api/v3"
    assert (
        register.Options(WEBHOOK, github_url="https://ghe.example.com", org="acme").new_app_url
        == "https://ghe.example.com/organizations/acme/settings/apps/new"
    )


async def test_the_page_answers_only_to_loopback_names(fake: FakeGitHub, tmp_path: Path):
    async with Flow(options_for(fake, tmp_path)) as flow:
        for host in ("countersign.example.net", "127.0.0.1.evil.example:80"):
            async with flow.session.get(flow.url, headers={"Host": host}) as answer:
                assert answer.status == 400
                assert "form" not in await answer.text()


# ================================================================================= the callback


async def test_the_flow_writes_the_env_and_key_readable_by_the_owner_only(
    fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async with Flow(options_for(fake, tmp_path)) as flow:
        location = await flow.submit()
        assert location.startswith(f"{flow.url}callback?")
        code = code_of(location)
        status, page = await flow.get(location)
    assert status == 200, page
    made = fake.app_manifests[code]
    assert made.used
    registration = flow.done.result()
    assert registration.app_id == made.app.id and registration.name == "countersign"
    assert registration.install_url.endswith("/apps/countersign/installations/new")
    assert html.escape(registration.install_url) in page
    assert made.webhook_secret is not None
    assert made.webhook_secret not in page and "PRIVATE KEY" not in page  # never shown
    # the App GitHub registered is the manifest's
    assert made.app.permissions == SHIPPED["default_permissions"]
    assert made.app.events == SHIPPED["default_events"]

    env_file, key_file = tmp_path / ".env", tmp_path / "countersign.pem"
    assert mode(env_file) == 0o600 and mode(key_file) == 0o600
    assert key_file.read_text() == made.pem
    values = load_dotenv(env_file)
    assert values == {
        "GITHUB_APP_ID": str(made.app.id),
        "GITHUB_WEBHOOK_SECRET": made.webhook_secret,
        "GITHUB_PRIVATE_KEY_FILE": "countersign.pem",
        "GITHUB_API_URL": fake.base_url,
    }
    # serve's settings, from the written .env in its working directory
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env(environment({}))
    assert settings.app_id == str(made.app.id)
    assert settings.webhook_secret == made.webhook_secret
    assert settings.private_key == made.pem
    assert settings.api_url == fake.base_url
    # the real environment wins over the file
    assert Settings.from_env(environment({"GITHUB_APP_ID": "7"})).app_id == "7"


async def test_a_wrong_state_is_refused_and_nothing_is_written(fake: FakeGitHub, tmp_path: Path):
    async with Flow(options_for(fake, tmp_path)) as flow:
        location = await flow.submit()
        code = code_of(location)
        for forged in (
            f"{flow.url}callback?code={code}&state=not-the-state",
            f"{flow.url}callback?code={code}",
            f"{flow.url}callback?code={code}&state=%C3%A9",
        ):
            status, page = await flow.get(forged)
            assert status == 400
            assert "nothing was written" in page
        assert not fake.app_manifests[code].used  # the code was not even exchanged
        assert not flow.done.done()
        assert modes(tmp_path) == {}
        status, _ = await flow.get(f"{flow.url}callback?state=x")
        assert status == 400
        status, _ = await flow.get(location)  # the genuine answer still works
    assert status == 200
    assert flow.done.done()


async def test_a_used_code_fails_cleanly_and_a_new_one_works(fake: FakeGitHub, tmp_path: Path):
    async with Flow(options_for(fake, tmp_path)) as flow:
        location = await flow.submit()
        async with flow.session.post(
            f"{fake.base_url}/app-manifests/{code_of(location)}/conversions"
        ) as answer:
            assert answer.status == 201  # someone else exchanged it first
        status, page = await flow.get(location)
        assert status == 400
        assert "GitHub answered 404 (Not Found)" in page
        assert "Nothing was written" in page
        assert modes(tmp_path) == {} and not flow.done.done()
        # the App exists on GitHub: clicking again and naming it anew registers another
        status, _ = await flow.get(await flow.submit(name="countersign-2"))
    assert status == 200
    assert load_dotenv(tmp_path / ".env")["GITHUB_APP_ID"] == str(flow.done.result().app_id)


async def test_a_code_expires_after_an_hour(fake: FakeGitHub, clock: FrozenClock, tmp_path: Path):
    async with Flow(options_for(fake, tmp_path)) as flow:
        location = await flow.submit()
        clock.advance(hours=1)
        status, page = await flow.get(location)
    assert status == 400 and "404" in page
    assert modes(tmp_path) == {}


async def test_files_that_appeared_meanwhile_are_not_overwritten(fake: FakeGitHub, tmp_path: Path):
    async with Flow(options_for(fake, tmp_path)) as flow:
        location = await flow.submit()
        (tmp_path / "countersign.pem").write_text("mine\n")
        status, page = await flow.get(location)
        assert status == 409
        assert "--force" in page
        assert not fake.app_manifests[code_of(location)].used  # the code is still good
        assert (tmp_path / "countersign.pem").read_text() == "mine\n"
        assert not (tmp_path / ".env").exists()
        (tmp_path / "countersign.pem").unlink()
        status, _ = await flow.get(location)
    assert status == 200


def test_existing_files_stop_the_command_before_it_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    env_file = tmp_path / ".env"
    env_file.write_text("GITHUB_APP_ID=1\n")
    argv = ["register", "--webhook-url", WEBHOOK, "--env-file", str(env_file)]
    argv += ["--key-file", str(tmp_path / "countersign.pem")]
    assert bot_main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert env_file.read_text() == "GITHUB_APP_ID=1\n"
    assert not (tmp_path / "countersign.pem").exists()


async def test_force_replaces_the_files_readable_by_the_owner_only(
    fake: FakeGitHub, tmp_path: Path
):
    (tmp_path / ".env").write_text("OLD=1\n")
    (tmp_path / "countersign.pem").write_text("old\n")
    (tmp_path / ".env").chmod(0o644)
    (tmp_path / "countersign.pem").chmod(0o644)
    async with Flow(options_for(fake, tmp_path, force=True)) as flow:
        status, _ = await flow.get(await flow.submit())
    assert status == 200
    assert "OLD" not in load_dotenv(tmp_path / ".env")
    assert (tmp_path / "countersign.pem").read_text().startswith("-----BEGIN RSA PRIVATE KEY")
    assert modes(tmp_path) == {
        ".env": 0o600,
        "countersign.pem": 0o600,
    }


async def test_a_second_callback_after_success_is_refused(fake: FakeGitHub, tmp_path: Path):
    async with Flow(options_for(fake, tmp_path)) as flow:
        location = await flow.submit()
        assert (await flow.get(location))[0] == 200
        written = (tmp_path / ".env").read_text()
        status, _ = await flow.get(location)
        assert status == 409
        assert (await flow.get(flow.url))[0] == 410
    assert (tmp_path / ".env").read_text() == written


async def test_run_serves_until_registered_then_returns_0(fake: FakeGitHub, tmp_path: Path):
    import io

    out, err = io.StringIO(), io.StringIO()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        register.run(
            options_for(fake, tmp_path), stdout=out, stderr=err, started=started.set_result
        )
    )
    url = await asyncio.wait_for(started, 10)
    assert re.fullmatch(r"http://127\.0\.0\.1:[0-9]+/", url)
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as answer:
            (form,) = Forms.read(await answer.text())
        async with session.post(form["action"], data=form["fields"]) as answer:  # follows 302
            assert answer.status == 200
            assert "The GitHub App is registered" in await answer.text()
    assert await asyncio.wait_for(task, 10) == 0
    secret = load_dotenv(tmp_path / ".env")["GITHUB_WEBHOOK_SECRET"]
    printed = out.getvalue()
    assert url in printed and "/installations/new" in printed
    assert secret not in printed and err.getvalue() == ""


# ================================================================================ the fake's side


async def test_the_fakes_new_app_page_checks_the_manifest(fake: FakeGitHub):
    new = f"{fake.base_url}/settings/apps/new?state=s"
    good = {**SHIPPED, "redirect_url": "http://127.0.0.1:9/callback?x=1"}
    async with aiohttp.ClientSession() as session:
        async with session.get(new) as answer:
            assert answer.status == 200 and "Register new GitHub App" in await answer.text()
        bad = [
            ("{not json", "not valid JSON"),
            (json.dumps({**good, "url": None}), "url"),
            (json.dumps({**good, "hook_attributes": {"active": True}}), "hook_attributes.url"),
            (json.dumps({**good, "name": " "}), "Name can&#x27;t be blank"),
            (json.dumps({**good, "name": "countersign-tests"}), "Name is already in use"),
            (
                json.dumps({**good, "default_permissions": {"checks": "all"}}),
                "read, write or admin",
            ),
            (json.dumps({**good, "default_permissions": {"contents": "read"}}), "check_run"),
        ]
        for manifest, error in bad:
            async with session.post(new, data={"manifest": manifest}, allow_redirects=False) as a:
                assert a.status == 422, manifest
                assert error in await a.text()
        async with session.post(
            new, data={"manifest": json.dumps(good)}, allow_redirects=False
        ) as a:
            assert a.status == 302
            location = urlsplit(a.headers["Location"])
        query = parse_qs(location.query)
        assert (location.netloc, location.path) == ("127.0.0.1:9", "/callback")
        assert query["x"] == ["1"] and query["state"] == ["s"]  # its own query, then code, state
        conversions = f"{fake.base_url}/app-manifests/{query['code'][0]}/conversions"
        async with session.post(conversions) as answer:  # no Authorization: none is needed
            assert answer.status == 201
            body = await answer.json()
        async with session.post(conversions) as answer:
            assert answer.status == 404  # a code works once
        async with session.post(f"{fake.base_url}/organizations/nobody/settings/apps/new") as a:
            assert a.status == 404
    assert body["slug"] == "countersign" and body["owner"]["login"] == "octocat"
    assert body["external_url"] == SHIPPED["url"]
    assert body["events"] == SHIPPED["default_events"]
    assert set(body) >= {"id", "node_id", "client_id", "client_secret", "webhook_secret", "pem"}
    assert fake.count("POST /app-manifests/{code}/conversions") == 2


def test_the_fakes_scenario_api_refuses_what_github_refuses(fake: FakeGitHub):
    code = fake.manifest_code({**SHIPPED, "name": "countersign-a"})
    assert fake.app_manifests[code].app.slug == "countersign-a"
    with pytest.raises(ManifestError, match="already in use"):
        fake.manifest_code({**SHIPPED, "name": "Countersign A"})
    with pytest.raises(ManifestError, match="hook_attributes"):
        fake.manifest_code({k: v for k, v in SHIPPED.items() if k != "hook_attributes"})


# =========================================================================== manifest and README


def _readme_permissions() -> dict[str, str]:
    """The README's "Registering the GitHub App" permissions bullet: ``(`name`): level``."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("- **Permissions**"))
    bullet = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        bullet.append(line)
    text = " ".join(part.strip() for part in bullet)
    found = re.findall(r"\(`([a-z_]+)`[^)]*\):\s*(read & write|read)", text)
    return {name: "write" if level == "read & write" else "read" for name, level in found}


def test_manifest_and_readme_list_the_same_permissions():
    assert _readme_permissions() == SHIPPED["default_permissions"]
    section = (ROOT / "README.md").read_text().split("## Registering the GitHub App", 1)[1]
    assert "python -m bot register --webhook-url https://YOUR-HOST/webhook" in section


# =================================================================================== .env files


@pytest.mark.parametrize(
    "value", ["plain", "with space", 'quote"d', "back\\slash", "dollar ${HOME} $HOME", "a#b", "é"]
)
def test_dotenv_values_round_trip(tmp_path: Path, value: str):
    path = tmp_path / ".env"
    path.write_text(f"# comment\nNAME={register.dotenv_value(value)}\nexport OTHER=1\n")
    assert load_dotenv(path) == {"NAME": value, "OTHER": "1"}


def _bot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["serve", "digest", "sweep"])
def test_serve_and_the_jobs_read_the_env_file_in_their_working_directory(
    tmp_path: Path, command: str
):
    (tmp_path / "key.pem").write_text(private_key_pem())
    (tmp_path / ".env").write_text(
        "GITHUB_APP_ID=countersign\nGITHUB_WEBHOOK_SECRET=s3cret\nGITHUB_PRIVATE_KEY_FILE=key.pem\n"
    )
    result = _bot(tmp_path, command)
    assert result.returncode == 2
    assert "GITHUB_APP_ID: not a number: 'countersign'" in result.stderr  # read from .env
    result = _bot(tmp_path, command, GITHUB_APP_ID="twelve")  # the environment wins
    assert result.returncode == 2
    assert "'twelve'" in result.stderr


# ====================================================================================== browser


async def test_the_page_in_a_real_browser(fake: FakeGitHub, tmp_path: Path):
    if chromium_missing():
        pytest.skip(
            "no Chromium here (CI installs Debian's chromium with apt-get; it could not be)"
        )
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright, expect
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    (tmp_path / "out").mkdir()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        register.run(options_for(fake, tmp_path / "out"), started=started.set_result)
    )
    try:
        url = await asyncio.wait_for(started, 10)
        async with async_playwright() as playwright:
            try:
                context = await playwright.chromium.launch_persistent_context(
                    str(tmp_path / "profile"),
                    executable_path=CHROMIUM,
                    headless=True,
                    args=CHROMIUM_ARGS,
                )
            except PlaywrightError as exc:
                pytest.skip(f"Chromium could not be started here: {exc.message.splitlines()[0]}")
            try:
                page = await context.new_page()
                await page.goto(url)
                await expect(page.locator("h1")).to_have_text("Register countersign's GitHub App")
                await page.click("#create")  # POST to the fake's /settings/apps/new, 302 back
                await page.wait_for_url(re.compile(r"/callback\?code="))
                await expect(page.locator("h1")).to_have_text("The GitHub App is registered")
                content = await page.content()
            finally:
                await context.close()
        assert await asyncio.wait_for(task, 10) == 0
    finally:
        task.cancel()
    values = load_dotenv(tmp_path / "out" / ".env")
    (made,) = fake.app_manifests.values()
    assert values["GITHUB_APP_ID"] == str(made.app.id)
    assert values["GITHUB_WEBHOOK_SECRET"] == made.webhook_secret
    assert made.webhook_secret not in content
    assert mode(tmp_path / "out" / ".env") == mode(tmp_path / "out" / "countersign.pem") == 0o600
