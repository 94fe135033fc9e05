"""POST /webhook and GET /healthz: every answer code, through the real app."""

from __future__ import annotations

import json

from bot.service.server import MAX_BODY_BYTES, signature_is_valid
from tests.fakegithub import sign
from tests.support import SECRET, Bot


def headers_for(body: bytes, event: str = "pull_request", **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": sign(body, SECRET),
    }
    headers.update(extra)
    return headers


async def test_signed_ping_is_200(bot: Bot):
    assert await bot.deliver(bot.fake.webhooks.ping()) == 200
    assert bot.fake.count() == 0  # a ping costs GitHub nothing


async def test_unsigned_ping_is_401(bot: Bot):
    headers, body = bot.fake.webhooks.delivery(bot.fake.webhooks.ping(), None)
    response = await bot.post(headers, body)
    assert response.status == 401
    assert "Signature" in (await response.json())["message"]


async def test_bad_signature_is_401_and_changes_nothing(bot: Bot):
    repo = bot.fake.add_repo("octo-org/widgets")
    pr = repo.open_pull(author="alice", files={"a.py": "x = 1\n"})
    pr.merge(by="alice")
    headers, body = bot.fake.webhooks.delivery(
        bot.fake.webhooks.pull_request(pr, "closed"), "wrong"
    )
    response = await bot.post(headers, body)
    assert response.status == 401
    await bot.idle()
    assert bot.fake.count() == 0
    # a signature over other bytes, or of another scheme, is refused as well
    other = sign(b"{}", SECRET)
    assert (await bot.post({**headers, "X-Hub-Signature-256": other}, body)).status == 401
    sha1 = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    sha1["X-Hub-Signature"] = "sha1=" + "0" * 40
    assert (await bot.post(sha1, body)).status == 401


async def test_signature_check_is_exact():
    body = b'{"zen": "Keep it logically awesome."}'
    good = sign(body, SECRET)
    assert signature_is_valid(body, good, SECRET)
    assert not signature_is_valid(body, good.upper().replace("SHA256", "sha1"), SECRET)
    assert not signature_is_valid(body + b" ", good, SECRET)
    assert not signature_is_valid(body, None, SECRET)
    assert not signature_is_valid(body, "", SECRET)


async def test_wrong_content_type_is_415(bot: Bot):
    body = b"payload=%7B%7D"
    headers = headers_for(body, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert (await bot.post(headers, body)).status == 415


async def test_malformed_json_is_400(bot: Bot):
    for body in (b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"'):
        response = await bot.post(headers_for(body), body)
        assert response.status == 400, body
        assert "malformed" in (await response.json())["message"]


async def test_missing_event_headers_are_400(bot: Bot):
    body = b"{}"
    for missing in ("X-GitHub-Event", "X-GitHub-Delivery"):
        headers = {k: v for k, v in headers_for(body).items() if k != missing}
        response = await bot.post(headers, body)
        assert response.status == 400, missing


async def test_body_over_25_mib_is_413(bot: Bot):
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    response = await bot.post(headers_for(body), body)
    assert response.status == 413


async def test_unknown_events_and_actions_are_accepted_and_ignored(bot: Bot):
    repo = bot.fake.add_repo("octo-org/widgets")
    pr = repo.open_pull(author="alice", files={"a.py": "x = 1\n"})
    assert await bot.deliver(bot.fake.webhooks.pull_request(pr, "labeled")) == 202
    body = json.dumps({"action": "starred", "repository": {"full_name": "octo-org/widgets"}})
    response = await bot.post(headers_for(body.encode(), event="star"), body.encode())
    assert response.status == 202
    await bot.idle()
    assert bot.fake.count() == 0


async def test_healthz_reports_background_work(bot: Bot):
    response = await bot.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "queued": 0, "in_flight": 0}
