"""The container recipe: ``Dockerfile``, ``.dockerignore`` and ``compose.yaml``.

The static tests read the files; the build test builds the image where ``docker`` (or ``podman``)
can, and is skipped, saying why, where it cannot: no engine, an engine without a daemon, or a
build that could not reach the network for the base image or the packages.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 1200

NETWORK_FAILURES = re.compile(
    r"temporary failure in name resolution|could not resolve|name or service not known"
    r"|failed to resolve source metadata|failed to do request|dial tcp|network is unreachable"
    r"|i/o timeout|tls handshake timeout|connection refused|connection reset"
    r"|no matching distribution found|could not find a version that satisfies"
    r"|max retries exceeded|newconnectionerror|connecttimeout|readtimeout"
    r"|pull access denied|toomanyrequests|error pulling image|failed to fetch",
    re.IGNORECASE,
)


def instructions(path: Path) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    assert not pending, "a continuation line ends the Dockerfile"
    return found


def only(found: list[tuple[str, str]], keyword: str) -> list[str]:
    return [rest for key, rest in found if key == keyword]


DOCKERFILE = instructions(ROOT / "Dockerfile")


def test_the_image_is_a_slim_python_running_the_server():
    (base,) = only(DOCKERFILE, "FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base
    (cmd,) = only(DOCKERFILE, "CMD")
    assert json.loads(cmd) == ["python", "-m", "bot", "serve"]
    assert any("pip install" in run for run in only(DOCKERFILE, "RUN"))


def test_the_image_runs_as_a_user_that_is_not_root():
    users = only(DOCKERFILE, "USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # the last USER comes after every RUN, so the server (not only the build) runs as it
    keywords = [key for key, _ in DOCKERFILE]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:]
    assert keywords.index("CMD") > last_user


def test_the_health_check_asks_healthz_with_python_alone():
    (check,) = only(DOCKERFILE, "HEALTHCHECK")
    command = json.loads(check[check.index("CMD") + len("CMD") :].strip())
    assert command[0] == "python"
    script = " ".join(command)
    assert "/healthz" in script and "urllib" in script
    assert "curl" not in check and "wget" not in check


def test_expose_matches_the_default_port():
    default_port = Settings.__dataclass_fields__["port"].default
    (exposed,) = only(DOCKERFILE, "EXPOSE")
    assert exposed.split("/")[0] == str(default_port)
    for env in only(DOCKERFILE, "ENV"):  # an image that moved the port would not match EXPOSE
        assert not re.search(rf"\bPORT=(?!{default_port}\b)", env), env


def test_compose_reads_dot_env_and_mounts_the_key():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    env_files = service["env_file"]
    env_files = [env_files] if isinstance(env_files, str) else env_files
    assert [e if isinstance(e, str) else e["path"] for e in env_files] == [".env"]
    key_file = service["environment"]["GITHUB_PRIVATE_KEY_FILE"]
    mounted = [f"/run/secrets/{name}" for name in service.get("secrets", [])]
    mounted += [v.split(":")[1] for v in service.get("volumes", []) if isinstance(v, str)]
    assert key_file in mounted
    default_port = Settings.__dataclass_fields__["port"].default
    assert any(str(p).endswith(f":{default_port}") for p in service["ports"])


def test_no_secret_goes_into_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored or {".env", ".git"} <= set(ignored)
    assert "**/.env" in ignored and "**/*.pem" in ignored


# ------------------------------------------------------------------------------------- the build


def engine() -> str:
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if path is None:
            continue
        info = subprocess.run(
            [path, "info"], capture_output=True, text=True, timeout=60, check=False
        )
        if info.returncode == 0:
            return path
        reason = (info.stderr or info.stdout).strip().splitlines()[-1:] or ["no reason given"]
        pytest.skip(f"{name} is installed but cannot build: `{name} info` says {reason[0]!r}")
    pytest.skip("neither docker nor podman is installed: the image is not built")


def test_the_image_builds_and_ships_the_default_policy():
    tool = engine()
    tag = f"countersign-test:{uuid.uuid4().hex[:12]}"
    try:
        built = subprocess.run(
            [tool, "build", "--tag", tag, str(ROOT)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        if built.returncode != 0:
            output = built.stdout + built.stderr
            found = NETWORK_FAILURES.search(output)
            if found is not None:
                line = next(
                    (ln.strip() for ln in output.splitlines() if found.group(0) in ln),
                    found.group(0),
                )
                pytest.skip(
                    "the image build could not reach the network (base image or packages), "
                    f"which this environment does not allow: {line[:300]}"
                )
            pytest.fail(f"{tool} build failed:\n{output[-4000:]}")
        user = subprocess.run(
            [tool, "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert user.stdout.strip() not in ("", "0")
        checked = subprocess.run(
            [tool, "run", "--rm", tag, "python", "-m", "bot", "check-config", "config/default.yml"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.strip() == "config/default.yml: ok"
    finally:
        subprocess.run([tool, "rmi", "--force", tag], capture_output=True, timeout=120, check=False)
