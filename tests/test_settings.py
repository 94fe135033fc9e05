from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, graphql_url_for

KEY = "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n"
ENV = {"GITHUB_APP_ID": "42", "GITHUB_PRIVATE_KEY": KEY, "GITHUB_WEBHOOK_SECRET": "s3cret"}


def test_defaults():
    settings = Settings.from_env(ENV)
    assert settings.api_url == "https://api.github.com"
    assert settings.graphql_url == "https://api.github.com/graphql"
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)


@pytest.mark.parametrize(
    "missing", ["GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET"]
)
def test_each_required_variable_is_a_start_up_error(missing):
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


def test_empty_secret_is_missing_not_a_fallback():
    with pytest.raises(SettingsError, match="GITHUB_WEBHOOK_SECRET"):
        Settings.from_env({**ENV, "GITHUB_WEBHOOK_SECRET": ""})


def test_key_from_file(tmp_path: Path):
    key_file = tmp_path / "key.pem"
    key_file.write_text(KEY)
    env = {k: v for k, v in ENV.items() if k != "GITHUB_PRIVATE_KEY"}
    assert Settings.from_env({**env, "GITHUB_PRIVATE_KEY_FILE": str(key_file)}).private_key == KEY
    with pytest.raises(SettingsError, match="cannot read"):
        Settings.from_env({**env, "GITHUB_PRIVATE_KEY_FILE": str(tmp_path / "nope.pem")})


def test_not_a_pem_key():
    with pytest.raises(SettingsError, match="not a PEM"):
        Settings.from_env({**ENV, "GITHUB_PRIVATE_KEY": "hunter2"})


def test_enterprise_server_urls():
    settings = Settings.from_env({**ENV, "GITHUB_API_URL": "https://ghe.example.com/api/v3/"})
    assert settings.api_url == "https://ghe.example.com/api/v3"
    assert settings.graphql_url == "https://ghe.example.com/api/graphql"
    explicit = Settings.from_env({**ENV, "GITHUB_GRAPHQL_URL": "http://127.0.0.1:9/gql"})
    assert explicit.graphql_url == "http://127.0.0.1:9/gql"
    assert graphql_url_for("http://127.0.0.1:5000") == "http://127.0.0.1:5000/graphql"


def test_port_and_host():
    settings = Settings.from_env({**ENV, "PORT": "9000", "HOST": "127.0.0.1"})
    assert (settings.host, settings.port) == ("127.0.0.1", 9000)
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({**ENV, "PORT": "http"})


def test_repr_hides_secrets():
    text = repr(Settings.from_env(ENV))
    assert "s3cret" not in text and "PRIVATE KEY" not in text and "42" in text
