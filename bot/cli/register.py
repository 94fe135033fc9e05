"""``python -m bot register --webhook-url URL``: register countersign's GitHub App in one click.

GitHub's manifest flow (GitHub's docs: "Registering a GitHub App from a manifest"), served on
loopback until it has run once:

1. ``GET /`` is a page with one button. It POSTs a form whose ``manifest`` field is
   ``config/app-manifest.json`` (the one statement of the App's permissions and events) with the
   webhook URL given and, as ``redirect_url``, this server's ``/callback``, to
   ``{github}/settings/apps/new?state=...`` (``{github}/organizations/{org}/settings/apps/new``
   with ``--org``);
2. on GitHub the user names the App and clicks "Create GitHub App"; GitHub sends the browser back
   to ``/callback?code=...&state=...``;
3. ``/callback`` refuses a ``state`` that is not this run's, exchanges the code for the App's
   credentials (``POST {api}/app-manifests/{code}/conversions``, no credentials needed; a code
   works once, for an hour), writes the private key and a ``.env`` of ``GITHUB_APP_ID``,
   ``GITHUB_WEBHOOK_SECRET`` and ``GITHUB_PRIVATE_KEY_FILE`` (both mode 0600, never over an
   existing file without ``--force``) and shows what it did, never the secret or the key. The
   command then exits 0.

Exit status 0 once registered, 2 for a usage error (including files that exist), 130 when stopped
with Ctrl-C before (nothing is written then).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import html
import json
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from aiohttp import web

from bot.core.policy import shipped_file
from bot.settings import DEFAULT_API_URL, DOTENV, SettingsError, check_private_key

DEFAULT_GITHUB_URL = "https://github.com"
DEFAULT_KEY_FILE = "countersign.pem"
LOOPBACK = "127.0.0.1"
USAGE_ERROR = 2
INTERRUPTED = 130
EXCHANGE_TIMEOUT = 30.0
_ORG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,200}")
_LOCAL_HOST = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?", re.IGNORECASE)
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_./:@+-]+")


class RegisterError(Exception):
    """A usage error: the message says what to change."""


class ConversionError(Exception):
    """GitHub did not hand over the App for a code; ``status`` is the page's HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# ======================================================================================= options


@dataclass(frozen=True)
class Options:
    """What ``register`` was asked to do (see :func:`options_from`)."""

    webhook_url: str
    github_url: str = DEFAULT_GITHUB_URL
    api_url: str = DEFAULT_API_URL
    org: str | None = None
    name: str | None = None
    port: int = 0
    env_file: Path = Path(DOTENV)
    key_file: Path = Path(DEFAULT_KEY_FILE)
    force: bool = False

    @property
    def new_app_url(self) -> str:
        """GitHub's page that takes the manifest."""
        if self.org:
            return f"{self.github_url}/organizations/{quote(self.org)}/settings/apps/new"
        return f"{self.github_url}/settings/apps/new"


def api_url_for(github_url: str) -> str:
    """The REST API of a GitHub: api.github.com's, GHE.com's ``api.`` host, else GitHub
    Enterprise Server's ``/api/v3``.

    >>> api_url_for("https://github.com")
    'https://api.github.com'
    >>> api_url_for("https://ghe.example.com")
    'https://ghe.example.com/api/v3'
    >>> api_url_for("https://octocorp.ghe.com")
    'https://api.octocorp.ghe.com'
    """
    parts = urlsplit(github_url)
    host = (parts.hostname or "").lower()
    if host in ("github.com", "www.github.com"):
        return DEFAULT_API_URL
    if host.endswith(".ghe.com"):
        return f"{parts.scheme}://api.{parts.netloc}"
    return f"{github_url.rstrip('/')}/api/v3"


def _http_url(value: str, option: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegisterError(f"{option} {value!r}: not an http(s) URL")
    return value.strip()


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "register",
        help="register the GitHub App from config/app-manifest.json in one click",
        description="Serve GitHub's App manifest flow on localhost: open the page it prints, "
        "click the button, confirm on GitHub; the App's id, webhook secret and private key are "
        "written to --env-file and --key-file.",
    )
    parser.add_argument(
        "--webhook-url",
        required=True,
        metavar="URL",
        help="where GitHub delivers events: https://YOUR-HOST/webhook",
    )
    parser.add_argument(
        "--github-url",
        default=DEFAULT_GITHUB_URL,
        metavar="URL",
        help="the GitHub to register on: https://github.com or a GitHub Enterprise Server's URL",
    )
    parser.add_argument(
        "--api-url",
        metavar="URL",
        help="its REST API (default: https://api.github.com for github.com, else GITHUB/api/v3)",
    )
    parser.add_argument("--org", metavar="ORG", help="register the App for this organisation")
    parser.add_argument(
        "--name", help="the App's name (default the manifest's; GitHub lets you edit it)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="the local port to serve the page on (0: any free port)"
    )
    parser.add_argument("--env-file", default=DOTENV, metavar="PATH", help="the .env to write")
    parser.add_argument(
        "--key-file", default=DEFAULT_KEY_FILE, metavar="PATH", help="the private key to write"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite an existing --env-file or --key-file"
    )


def options_from(args: argparse.Namespace) -> Options:
    """Check the command's arguments; :class:`RegisterError` says what is wrong."""
    webhook_url = _http_url(args.webhook_url, "--webhook-url")
    github_url = _http_url(args.github_url, "--github-url").rstrip("/")
    api_url = (
        _http_url(args.api_url, "--api-url").rstrip("/")
        if args.api_url
        else api_url_for(github_url)
    )
    if args.org is not None and not _ORG.fullmatch(args.org):
        raise RegisterError(f"--org {args.org!r}: not an organisation's login")
    if args.name is not None and not args.name.strip():
        raise RegisterError("--name: empty")
    if not 0 <= args.port <= 65535:
        raise RegisterError(f"--port {args.port}: not a port number")
    options = Options(
        webhook_url=webhook_url,
        github_url=github_url,
        api_url=api_url,
        org=args.org,
        name=args.name.strip() if args.name else None,
        port=args.port,
        env_file=Path(args.env_file),
        key_file=Path(args.key_file),
        force=args.force,
    )
    check_files(options)
    return options


def check_files(options: Options) -> None:
    """:class:`RegisterError` unless both files can be written: their directories exist, they
    are two files, and neither exists (unless ``--force``)."""
    env_file, key_file = options.env_file, options.key_file
    if env_file.resolve() == key_file.resolve():
        raise RegisterError("--env-file and --key-file name the same file")
    for path, option in ((env_file, "--env-file"), (key_file, "--key-file")):
        if not path.parent.is_dir():
            raise RegisterError(f"{option} {path}: the directory {path.parent} does not exist")
        if path.is_dir():
            raise RegisterError(f"{option} {path}: is a directory")
        if path.exists() and not options.force:
            raise RegisterError(
                f"{option} {path} exists: move it away, name another file, or pass --force to "
                "overwrite it"
            )


def build_manifest(options: Options, redirect_url: str) -> dict[str, Any]:
    """``config/app-manifest.json`` with this registration's webhook URL, redirect URL and name."""
    manifest: dict[str, Any] = json.loads(shipped_file("app-manifest.json"))
    manifest["hook_attributes"] = {
        **manifest.get("hook_attributes", {}),
        "url": options.webhook_url,
    }
    manifest["redirect_url"] = redirect_url
    if options.name:
        manifest["name"] = options.name
    return manifest


# ===================================================================================== the files


@dataclass(frozen=True)
class Credentials:
    """What the code was exchanged for (``repr`` never shows the secret or the key)."""

    app_id: int
    slug: str
    name: str
    html_url: str
    owner: str
    webhook_secret: str = field(repr=False)
    pem: str = field(repr=False)


@dataclass(frozen=True)
class Registration:
    """A registered App and where its settings were written."""

    app_id: int
    slug: str
    name: str
    html_url: str
    owner: str
    env_file: Path
    key_file: Path

    @property
    def install_url(self) -> str:
        return f"{self.html_url}/installations/new"


def credentials_from(body: Any) -> Credentials:
    """The parts of a conversion's answer that are used, checked."""
    if not isinstance(body, dict):
        raise ConversionError("GitHub's answer is not a JSON object", 502)
    app_id, secret, pem = body.get("id"), body.get("webhook_secret"), body.get("pem")
    if not isinstance(app_id, int) or isinstance(app_id, bool) or app_id <= 0:
        raise ConversionError("GitHub's answer has no App id", 502)
    if not isinstance(secret, str) or not secret:
        raise ConversionError("GitHub's answer has no webhook secret", 502)
    if not isinstance(pem, str):
        raise ConversionError("GitHub's answer has no private key", 502)
    try:
        check_private_key(pem, "the private key GitHub sent")
    except SettingsError as exc:
        raise ConversionError(str(exc), 502) from None
    name, slug, html_url = body.get("name"), body.get("slug"), body.get("html_url")
    name = name if isinstance(name, str) and name else str(app_id)
    owner = body.get("owner")
    login = owner.get("login") if isinstance(owner, dict) else None
    return Credentials(
        app_id=app_id,
        slug=slug if isinstance(slug, str) and slug else name,
        name=name,
        html_url=html_url if isinstance(html_url, str) else "",
        owner=login if isinstance(login, str) else "",
        webhook_secret=secret,
        pem=pem,
    )


def dotenv_value(value: str) -> str:
    """A value as a ``.env`` line writes it: bare when plain, else double-quoted with escapes.

    >>> dotenv_value("countersign.pem"), dotenv_value("my key.pem"), dotenv_value('a"b')
    ('countersign.pem', '"my key.pem"', '"a\\\\"b"')
    """
    if _PLAIN_VALUE.fullmatch(value):
        return value
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def key_setting(env_file: Path, key_file: Path) -> str:
    """``GITHUB_PRIVATE_KEY_FILE``: relative to the ``.env``'s directory (where ``serve`` runs to
    read it) when the key is under it, else absolute."""
    key = key_file.resolve()
    try:
        return str(key.relative_to(env_file.resolve().parent))
    except ValueError:
        return str(key)


def dotenv_text(options: Options, credentials: Credentials) -> str:
    name = " ".join(credentials.name.split())
    lines = [
        f"# The GitHub App {name} (id {credentials.app_id}), registered by "
        "`python -m bot register`.",
        "# `python -m bot serve`, `digest` and `sweep` read this file from their working "
        "directory. Keep it private.",
        f"GITHUB_APP_ID={credentials.app_id}",
        f"GITHUB_WEBHOOK_SECRET={dotenv_value(credentials.webhook_secret)}",
        f"GITHUB_PRIVATE_KEY_FILE={dotenv_value(key_setting(options.env_file, options.key_file))}",
    ]
    if options.api_url != DEFAULT_API_URL:
        lines.append(f"GITHUB_API_URL={dotenv_value(options.api_url)}")
    return "\n".join(lines) + "\n"


MAX_ANSWER_BYTES: Final = 1024 * 1024
"""The largest answer to the code's exchange read (an App's settings and key are a few KiB)."""


_SLUG: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


def app_page(github_url: str, credentials: Credentials) -> str:
    """The App's page on GitHub, for the link to install it: GitHub's ``html_url`` where it is a
    page of that GitHub, else one made from the slug (never a link the answer chose elsewhere).

    >>> c = Credentials(1, "cs", "cs", "javascript:alert(1)", "octo", "secret", "key")
    >>> app_page("https://github.com", c)
    'https://github.com/apps/cs'
    """
    base = github_url.rstrip("/") + "/"
    if credentials.html_url.startswith(base) and all(
        ch.isprintable() and ch not in "\"'<> " for ch in credentials.html_url
    ):
        return credentials.html_url
    slug = credentials.slug if _SLUG.fullmatch(credentials.slug) else ""
    return f"{base}apps/{slug}" if slug else base


def write_private(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only (0600). Never over an
    existing file (FileExistsError) unless ``force``; then the file is replaced whole."""
    if not force:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask, and never through a link swapped in
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_files(options: Options, credentials: Credentials) -> Registration:
    """The private key, then the ``.env`` that names it."""
    pem = credentials.pem if credentials.pem.endswith("\n") else credentials.pem + "\n"
    write_private(options.key_file, pem, force=options.force)
    write_private(options.env_file, dotenv_text(options, credentials), force=options.force)
    return Registration(
        app_id=credentials.app_id,
        slug=credentials.slug,
        name=credentials.name,
        html_url=app_page(options.github_url, credentials),
        owner=credentials.owner,
        env_file=options.env_file,
        key_file=options.key_file,
    )


# ======================================================================================== GitHub


def _message(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


async def exchange(api_url: str, code: str, *, timeout: float = EXCHANGE_TIMEOUT) -> Credentials:
    """``POST {api}/app-manifests/{code}/conversions`` (no credentials): the App the code stands
    for, with its webhook secret and private key. :class:`ConversionError` otherwise."""
    url = f"{api_url}/app-manifests/{quote(code, safe='')}/conversions"
    headers = {
        "Accept": "application/vnd.github+json",
        "User-Agent": "countersign",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout), trust_env=True
            ) as session,
            session.post(url, headers=headers) as response,
        ):
            status = response.status
            if (response.content_length or 0) > MAX_ANSWER_BYTES:
                raise ConversionError("GitHub's answer is too large to be its App's settings", 502)
            raw = await response.content.read(MAX_ANSWER_BYTES + 1)
            if len(raw) > MAX_ANSWER_BYTES:
                raise ConversionError("GitHub's answer is too large to be its App's settings", 502)
            text = raw.decode("utf-8", "replace")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ConversionError(
            f"could not reach {api_url}: {type(exc).__name__} {exc}", 502
        ) from None
    if status != 201:
        message = _message(text)
        raise ConversionError(
            f"GitHub answered {status}" + (f" ({message})" if message else ""),
            400 if 400 <= status < 500 else 502,
        )
    try:
        body = json.loads(text)
    except ValueError:
        raise ConversionError("GitHub's answer is not JSON", 502) from None
    return credentials_from(body)


# ======================================================================================= the app


class Flow:
    """One run of the flow: its options, its ``state`` and the future it completes."""

    def __init__(self, options: Options, done: asyncio.Future[Registration]) -> None:
        self.options = options
        self.done = done
        self.state = secrets.token_urlsafe(32)
        self.lock = asyncio.Lock()


FLOW = web.AppKey("flow", Flow)
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}"
    "code{background:#f2f2f2;padding:0 .25em}button{font-size:1.1rem;padding:.5rem 1.2rem}"
    ".error{color:#b00}"
)


def _page(status: int, title: str, body: str, *, form_action: str | None = None) -> web.Response:
    """An HTML page that loads nothing, runs no script and may only be submitted to
    ``form_action`` (and this server, where GitHub redirects the submission to)."""
    action = f"'self' {form_action}" if form_action else "'none'"
    text = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    return web.Response(
        status=status,
        text=text,
        content_type="text/html",
        headers={
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                f"frame-ancestors 'none'; form-action {action}"
            ),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _local_origin(request: web.Request) -> str | None:
    """``http://HOST:PORT`` as the browser names this server, if that is a loopback name (a page
    reached by any other name, as a DNS rebinding attack would, is refused)."""
    host = request.headers.get("Host", "")
    return f"http://{host}" if _LOCAL_HOST.fullmatch(host) else None


def _not_local() -> web.Response:
    return _page(
        400,
        "Open this page on localhost",
        f"<p>Open it as <code>http://{LOOPBACK}:PORT/</code>, with the port the command printed "
        "(through an SSH tunnel to that port when the command runs on another machine).</p>",
    )


def _codes(items: dict[str, str] | list[str]) -> str:
    if isinstance(items, dict):
        return ", ".join(
            f"<code>{html.escape(k)}</code>: {html.escape(v)}" for k, v in items.items()
        )
    return ", ".join(f"<code>{html.escape(e)}</code>" for e in items)


async def start_page(request: web.Request) -> web.Response:
    flow = request.app[FLOW]
    options = flow.options
    origin = _local_origin(request)
    if origin is None:
        return _not_local()
    if flow.done.done():
        return _page(410, "Done", "<p>The App is registered; this server is stopping.</p>")
    manifest = build_manifest(options, f"{origin}/callback")
    action = f"{options.new_app_url}?{urlencode({'state': flow.state})}"
    owner = (
        f"the organisation <code>{html.escape(options.org)}</code>"
        if options.org
        else "your account"
    )
    github = urlsplit(options.github_url)
    body = (
        f"<p>This registers countersign's GitHub App <strong>{html.escape(manifest['name'])}"
        f"</strong> on <code>{html.escape(options.github_url)}</code>, owned by {owner}.</p>"
        "<ul>"
        f"<li>Webhook URL: <code>{html.escape(options.webhook_url)}</code></li>"
        f"<li>Permissions: {_codes(manifest.get('default_permissions', {}))}</li>"
        f"<li>Events: {_codes(manifest.get('default_events', []))}</li>"
        "</ul>"
        "<p>On GitHub, check the name (it must be one no other App has) and click "
        "<em>Create GitHub App</em>. GitHub then sends you back here, and the App's id, webhook "
        f"secret and private key are written to <code>{html.escape(str(options.env_file))}</code> "
        f"and <code>{html.escape(str(options.key_file))}</code>.</p>"
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest))}">'
        '<button type="submit" id="create">Create the GitHub App on GitHub</button></form>'
    )
    return _page(
        200,
        "Register countersign's GitHub App",
        body,
        form_action=f"{github.scheme}://{github.netloc}",
    )


def _error(status: int, title: str, detail: str) -> web.Response:
    return _page(
        status,
        title,
        f'<p class="error">{html.escape(detail)}</p><p><a href="/">Start again</a></p>',
    )


async def callback(request: web.Request) -> web.Response:
    flow = request.app[FLOW]
    options = flow.options
    if _local_origin(request) is None:
        return _not_local()
    state = request.query.get("state", "")
    code = request.query.get("code", "")
    if not hmac.compare_digest(state.encode(), flow.state.encode()):
        return _error(
            400,
            "Not this registration",
            "The state GitHub sent back is not this page's: nothing was written. Start again "
            "from this server's page.",
        )
    if not _CODE.fullmatch(code):
        return _error(400, "No code", "GitHub sent no code back: nothing was written.")
    async with flow.lock:
        if flow.done.done():
            return _page(409, "Already registered", "<p>This server is stopping.</p>")
        try:
            check_files(options)
        except RegisterError as exc:
            return _error(409, "Nothing was written", str(exc))
        try:
            credentials = await exchange(options.api_url, code)
        except ConversionError as exc:
            return _error(
                exc.status,
                "GitHub did not hand over the App",
                f"{exc}. Nothing was written. A code works once and for an hour: start again "
                "to create the App anew.",
            )
        try:
            registration = write_files(options, credentials)
        except OSError as exc:
            return _error(
                500,
                "The App was created but its settings were not written",
                f"Writing failed: {exc}. The App {credentials.name} (id {credentials.app_id}) "
                "exists on GitHub: in its settings, generate a new private key and set a new "
                "webhook secret, or delete it and start again.",
            )
        flow.done.set_result(registration)
    return _page(
        200,
        "The GitHub App is registered",
        f"<p>The App <strong>{html.escape(registration.name)}</strong> (id "
        f"{registration.app_id}) is registered. Its id, webhook secret and the path of its "
        f"private key are in <code>{html.escape(str(registration.env_file))}</code>, the key in "
        f"<code>{html.escape(str(registration.key_file))}</code>, both readable by you only.</p>"
        f'<p>Next, <a href="{html.escape(registration.install_url)}">install it</a> on the '
        "repositories to audit and start the bot with <code>python -m bot serve</code>. You can "
        "close this page.</p>",
    )


def create_app(options: Options, done: asyncio.Future[Registration]) -> web.Application:
    """The flow's web app; ``done`` gets the :class:`Registration` once the files are written."""
    app = web.Application()
    app[FLOW] = Flow(options, done)
    app.router.add_get("/", start_page)
    app.router.add_get("/callback", callback)
    return app


# =================================================================================== the command


async def run(
    options: Options,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    started: Callable[[str], None] | None = None,
) -> int:
    """Serve the flow on loopback until the App is registered; ``started`` gets the page's URL."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    done: asyncio.Future[Registration] = asyncio.get_running_loop().create_future()
    runner = web.AppRunner(create_app(options, done), access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, LOOPBACK, options.port).start()
        except OSError as exc:
            print(
                f"countersign register: cannot listen on {LOOPBACK}:{options.port}: "
                f"{exc.strerror or exc}",
                file=err,
            )
            return USAGE_ERROR
        url = f"http://{LOOPBACK}:{runner.addresses[0][1]}/"
        where = f"the organisation {options.org}" if options.org else "your account"
        print(
            f"Open {url} in a browser signed in to {options.github_url} and click the button to "
            f"register the GitHub App for {where}. Waiting (Ctrl-C to stop)...",
            file=out,
            flush=True,
        )
        if started is not None:
            started(url)
        registration = await done
    finally:
        await runner.cleanup()
    print(
        f"Registered the GitHub App {registration.name} (id {registration.app_id}). Wrote "
        f"{registration.env_file} (GITHUB_APP_ID, GITHUB_WEBHOOK_SECRET, GITHUB_PRIVATE_KEY_FILE) "
        f"and {registration.key_file}, readable by you only.\n"
        f"Next: install it at {registration.install_url}, then run python -m bot serve.",
        file=out,
    )
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        options = options_from(args)
    except RegisterError as exc:
        print(f"countersign register: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        return asyncio.run(run(options))
    except KeyboardInterrupt:
        print("countersign register: stopped; nothing was written", file=sys.stderr)
        return INTERRUPTED
