"""Runtime settings, read from the environment once, by the command line, never at import time."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_PYPI_URL = "https://pypi.org"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DOTENV = ".env"
"""The file of settings ``serve``, ``digest`` and ``sweep`` read from the working directory (what
``python -m bot register`` writes)."""


class SettingsError(Exception):
    """A setting is missing or invalid; the message says which and how to fix it."""


def check_private_key(pem: str, source: str) -> None:
    """Raise :class:`SettingsError` naming ``source`` unless ``pem`` is an unencrypted RSA private
    key in PEM (what GitHub gives an App). The message never quotes the key."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise SettingsError(
            f"{source}: the private key is encrypted; countersign needs it plain"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SettingsError(f"{source}: does not parse as a PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise SettingsError(f"{source}: not an RSA private key (GitHub App keys are RSA)")


def load_dotenv(path: str | os.PathLike[str]) -> dict[str, str]:
    """The variables a ``.env`` file sets, read with python-dotenv (``NAME=value`` lines,
    ``#`` comments, quoted values, an optional ``export``) without expanding ``${VAR}``, so a
    secret is taken as written. No file: no variables. A name without a value is left out.

    >>> load_dotenv("/nonexistent/.env")
    {}
    """
    from dotenv import dotenv_values

    file = Path(path)
    if not file.exists():
        return {}
    try:
        values = dotenv_values(file, interpolate=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SettingsError(f"{file}: cannot read: {why}") from None
    found = {name: value for name, value in values.items() if value is not None}
    if SECRET_NAMES & found.keys():
        with contextlib.suppress(OSError):
            if file.stat().st_mode & 0o077:
                logging.getLogger(__name__).warning(
                    f"{file} holds a secret and others may read it: chmod 600 {file}"
                )
    return found


SECRET_NAMES: Final = frozenset({"GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY"})
"""Variables a ``.env`` must not let others read."""


def environment(
    env: Mapping[str, str] | None = None, dotenv: str | os.PathLike[str] = DOTENV
) -> dict[str, str]:
    """The settings' environment: ``env`` (default ``os.environ``) over the ``dotenv`` file's
    variables, so a variable set for real always wins over the file.

    >>> environment({"PORT": "9000"}, "/nonexistent/.env")
    {'PORT': '9000'}
    """
    return {**load_dotenv(dotenv), **(os.environ if env is None else env)}


def _switch(text: str, name: str, *, default: bool) -> bool:
    """An on/off environment variable.

    >>> _switch("off", "SCHEDULE", default=True), _switch("", "SCHEDULE", default=True)
    (False, True)
    """
    value = text.strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected on or off, got {text!r}")


def graphql_url_for(api_url: str) -> str:
    """The GraphQL endpoint that belongs to a REST API URL.

    >>> graphql_url_for("https://api.github.com")
    'https://api.github.com/graphql'
    >>> graphql_url_for("https://ghe.example.com/api/v3")
    'https://ghe.example.com/api/graphql'
    """
    api_url = api_url.rstrip("/")
    if api_url.endswith("/api/v3"):
        parts = urlsplit(api_url)
        return urlunsplit(parts._replace(path=parts.path[: -len("/v3")] + "/graphql"))
    return api_url + "/graphql"


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with. ``repr`` never shows the secrets."""

    app_id: str
    private_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    graphql_url: str = DEFAULT_API_URL + "/graphql"
    host: str = "0.0.0.0"  # noqa: S104 - a web service listens on every interface by default
    port: int = 8080
    max_concurrency: int = 16
    per_installation_requests: int = 8
    request_timeout: float = 30.0
    retry_attempts: int = 5
    drain_seconds: float = 25.0
    user_agent: str = "countersign"
    pypi_url: str = DEFAULT_PYPI_URL
    """The Python package index whose JSON API the release audit reads (``PYPI_URL``)."""
    schedule: bool = True
    """Whether the server runs the periodic jobs itself (``SCHEDULE``; off for cron-style
    schedulers that run ``python -m bot digest`` and ``sweep``)."""
    log_level: str = "INFO"
    """The least severe log line written (``LOG_LEVEL``): one of :data:`LOG_LEVELS`."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the settings; a missing App id, key or webhook secret is an error, never a default,
        and so is an App id that is not a number or a key that is not an RSA private key: the bot
        stops at start-up rather than at its first delivery. ``GITHUB_PRIVATE_KEY_FILE`` may be
        relative to the working directory."""
        missing = [
            name for name in ("GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET") if not env.get(name, "")
        ]
        private_key = env.get("GITHUB_PRIVATE_KEY", "")
        key_source = "GITHUB_PRIVATE_KEY"
        key_file = env.get("GITHUB_PRIVATE_KEY_FILE", "")
        if not private_key and key_file:
            key_source = "GITHUB_PRIVATE_KEY_FILE"
            path = Path(key_file)
            try:
                private_key = path.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
                why = exc.strerror if isinstance(exc, OSError) else "not a text file"
                raise SettingsError(
                    f"GITHUB_PRIVATE_KEY_FILE: cannot read {key_file!r}{where}: {why}"
                ) from None
        if not private_key:
            missing.append("GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_FILE)")
        if missing:
            raise SettingsError(
                "missing required environment: "
                + ", ".join(missing)
                + ". countersign never runs unauthenticated or accepts unsigned webhooks."
            )
        app_id = env["GITHUB_APP_ID"].strip()
        if not re.fullmatch(r"[0-9]+", app_id):
            raise SettingsError(
                f"GITHUB_APP_ID: not a number: {app_id!r} (the App's numeric id, not its name)"
            )
        if "PRIVATE KEY" not in private_key:
            raise SettingsError(f"{key_source}: not a PEM private key")
        check_private_key(private_key, key_source)
        api_url = env.get("GITHUB_API_URL", "") or DEFAULT_API_URL
        api_url = api_url.rstrip("/")
        graphql_url = env.get("GITHUB_GRAPHQL_URL", "") or graphql_url_for(api_url)
        port_text = env.get("PORT", "") or "8080"
        try:
            port = int(port_text)
        except ValueError:
            raise SettingsError(f"PORT: not a number: {port_text!r}") from None
        log_level = (env.get("LOG_LEVEL", "") or "INFO").strip().upper()
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                f"LOG_LEVEL: not a log level: {env['LOG_LEVEL']!r} (one of {', '.join(LOG_LEVELS)})"
            )
        return cls(
            app_id=app_id,
            private_key=private_key,
            webhook_secret=env["GITHUB_WEBHOOK_SECRET"],
            api_url=api_url,
            graphql_url=graphql_url,
            host=env.get("HOST", "") or "0.0.0.0",  # noqa: S104
            port=port,
            pypi_url=(env.get("PYPI_URL", "") or DEFAULT_PYPI_URL).rstrip("/"),
            schedule=_switch(env.get("SCHEDULE", ""), "SCHEDULE", default=True),
            log_level=log_level,
        )
