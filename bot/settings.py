"""Runtime settings, read from the environment once, by the command line, never at import time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_API_URL = "https://api.github.com"


class SettingsError(Exception):
    """A setting is missing or invalid; the message says which and how to fix it."""


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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the settings; a missing App id, key or webhook secret is an error, never a default."""
        missing = [
            name for name in ("GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET") if not env.get(name, "")
        ]
        private_key = env.get("GITHUB_PRIVATE_KEY", "")
        key_file = env.get("GITHUB_PRIVATE_KEY_FILE", "")
        if not private_key and key_file:
            try:
                private_key = Path(key_file).read_text()
            except OSError as exc:
                raise SettingsError(
                    f"GITHUB_PRIVATE_KEY_FILE: cannot read {key_file!r}: {exc.strerror}"
                ) from None
        if not private_key:
            missing.append("GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_FILE)")
        if missing:
            raise SettingsError(
                "missing required environment: "
                + ", ".join(missing)
                + ". countersign never runs unauthenticated or accepts unsigned webhooks."
            )
        if "PRIVATE KEY" not in private_key:
            raise SettingsError("GITHUB_PRIVATE_KEY: not a PEM private key")
        api_url = env.get("GITHUB_API_URL", "") or DEFAULT_API_URL
        api_url = api_url.rstrip("/")
        graphql_url = env.get("GITHUB_GRAPHQL_URL", "") or graphql_url_for(api_url)
        port_text = env.get("PORT", "") or "8080"
        try:
            port = int(port_text)
        except ValueError:
            raise SettingsError(f"PORT: not a number: {port_text!r}") from None
        return cls(
            app_id=env["GITHUB_APP_ID"],
            private_key=private_key,
            webhook_secret=env["GITHUB_WEBHOOK_SECRET"],
            api_url=api_url,
            graphql_url=graphql_url,
            host=env.get("HOST", "") or "0.0.0.0",  # noqa: S104
            port=port,
        )
