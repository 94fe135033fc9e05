import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.settings import Settings, SettingsError, graphql_url_for
from tests.fakegithub.auth import private_key_pem

KEY = private_key_pem()
NOT_A_KEY = "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n"
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


def test_a_key_that_does_not_parse_is_a_start_up_error_naming_its_variable(tmp_path: Path):
    with pytest.raises(SettingsError, match=r"^GITHUB_PRIVATE_KEY: does not parse") as caught:
        Settings.from_env({**ENV, "GITHUB_PRIVATE_KEY": NOT_A_KEY})
    assert "abc" not in str(caught.value)  # the key itself is never quoted
    key_file = tmp_path / "key.pem"
    key_file.write_text(NOT_A_KEY)
    env = {k: v for k, v in ENV.items() if k != "GITHUB_PRIVATE_KEY"}
    with pytest.raises(SettingsError, match=r"^GITHUB_PRIVATE_KEY_FILE: does not parse"):
        Settings.from_env({**env, "GITHUB_PRIVATE_KEY_FILE": str(key_file)})


def test_a_key_that_is_not_rsa_is_a_start_up_error():
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(SettingsError, match="GITHUB_PRIVATE_KEY: not an RSA private key"):
        Settings.from_env({**ENV, "GITHUB_PRIVATE_KEY": pem})


@pytest.mark.parametrize("app_id", ["countersign", "12x", "-3", "1.5"])
def test_a_non_numeric_app_id_is_a_start_up_error(app_id: str):
    with pytest.raises(SettingsError, match="GITHUB_APP_ID: not a number"):
        Settings.from_env({**ENV, "GITHUB_APP_ID": app_id})
    assert Settings.from_env({**ENV, "GITHUB_APP_ID": " 42 "}).app_id == "42"


def test_a_relative_key_file_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "countersign.pem").write_text(KEY)
    monkeypatch.chdir(tmp_path)
    env = {k: v for k, v in ENV.items() if k != "GITHUB_PRIVATE_KEY"}
    settings = Settings.from_env({**env, "GITHUB_PRIVATE_KEY_FILE": "keys/countersign.pem"})
    assert settings.private_key == KEY
    # a relative path that is not there says where it was looked for
    with pytest.raises(SettingsError, match=re.escape(f"relative to {tmp_path}")):
        Settings.from_env({**env, "GITHUB_PRIVATE_KEY_FILE": "countersign.pem"})


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
