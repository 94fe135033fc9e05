"""The app's webhook deliveries: GitHub's delivery log, its REST endpoints, and real POSTs.

GitHub keeps a log of every attempt to deliver an event to the app's webhook URL, and the app can
read it and ask for a redelivery with its JWT:

* ``GET /app/hook/deliveries`` - newest first, ``per_page`` (default 30, at most 100), ``status``
  (``success``: the receiver answered 2xx; ``failure``: anything else) and **cursor** pagination:
  the ``Link`` header's ``rel="next"`` (and ``rel="prev"``) URL carries ``cursor=v1_<id>``, the
  delivery the page starts at; there are no page numbers;
* ``GET /app/hook/deliveries/{delivery_id}`` - one delivery with the request (headers, payload) and
  the response (headers, body) as GitHub shows them;
* ``POST /app/hook/deliveries/{delivery_id}/attempts`` - 202 ``{}``; the stored request is sent
  again (same body, same ``X-GitHub-Delivery`` GUID, signed with the current ``fake.hook_secret``)
  and recorded as a new delivery with ``redelivery: true``. GitHub's docs: "You can redeliver
  webhook deliveries that occurred in the past 3 days"; an older one answers 422 (the docs name no
  message: the fake's wording is its own), an unknown id 404.

Unlike GitHub, which queues a redelivery, the fake POSTs it before answering 202 (with
``fake.hook_timeout``, GitHub's 10 seconds), so the new record exists when the call returns. When
``fake.hook_url`` is None a redelivery is recorded as failed (``status_code`` 0, ``failed to
connect to host``), as GitHub records a delivery nothing received.

The scenario side is on :class:`~tests.fakegithub.FakeGitHub`: ``fake.hook_url``,
``fake.hook_secret``, ``await fake.send(event, fail=None)`` and ``fake.record_delivery(...)``.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

import aiohttp

from .clock import iso
from .rest import DOCS, ApiError, Call, Handler, Reply, invalid, not_found, route
from .state import HookDelivery
from .webhooks import Event, sign

if TYPE_CHECKING:
    from .server import FakeGitHub

HOOK_DOCS = f"{DOCS}/apps/webhooks"
REDELIVERY_WINDOW = timedelta(days=3)
"""GitHub.com: "You can redeliver webhook deliveries that occurred in the past 3 days"."""
DELIVERY_TIMEOUT = 10.0
"""GitHub.com: a receiver that "takes longer than 10 seconds to respond" fails the delivery."""
TIMED_OUT = "timed out"
UNREACHABLE = "failed to connect to host"


def status_text(status_code: int) -> str:
    """GitHub's ``status`` for an answer: ``OK`` for 2xx, else ``Invalid HTTP Response: <code>``;
    0 stands for no answer in time."""
    if status_code == 0:
        return TIMED_OUT
    if 200 <= status_code < 300:
        return "OK"
    return f"Invalid HTTP Response: {status_code}"


# ======================================================================================= records


def _record(
    fake: FakeGitHub,
    *,
    event: str,
    payload: dict[str, Any],
    headers: dict[str, str],
    body: bytes,
    status_code: int,
    status: str,
    duration: float,
    delivered_at: datetime | None = None,
    redelivery: bool = False,
    response_headers: dict[str, str] | None = None,
    response_body: str | None = None,
) -> HookDelivery:
    world = fake.world
    installation = payload.get("installation")
    repository = payload.get("repository")
    action = payload.get("action")
    made = HookDelivery(
        id=world.next_id("hook_delivery"),
        guid=headers["X-GitHub-Delivery"],
        delivered_at=delivered_at or world.now(),
        redelivery=redelivery,
        duration=round(duration, 2),
        status=status,
        status_code=status_code,
        event=event,
        action=action if isinstance(action, str) else None,
        installation_id=installation.get("id") if isinstance(installation, dict) else None,
        repository_id=repository.get("id") if isinstance(repository, dict) else None,
        url=fake.hook_url,
        request_headers=dict(headers),
        request_payload=payload,
        request_body=body,
        response_headers=dict(response_headers or {}),
        response_body=response_body,
    )
    world.hook_deliveries.append(made)
    return made


def _request(fake: FakeGitHub, event: Event, guid: str | None) -> tuple[dict[str, str], bytes]:
    """Headers and body of a first delivery (a fresh GUID unless one is given)."""
    headers, body = fake.webhooks.delivery(event, fake.hook_secret)
    headers = {"Accept": "*/*", **headers}
    if guid is not None:
        headers["X-GitHub-Delivery"] = guid
    return headers, body


async def _post(
    fake: FakeGitHub, headers: dict[str, str], body: bytes
) -> tuple[int, str, float, dict[str, str], str | None]:
    """POST to ``fake.hook_url``: ``(status_code, status, duration, headers, body)``."""
    url = fake.hook_url
    if url is None:
        return 0, UNREACHABLE, 0.0, {}, None
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=fake.hook_timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            text = await response.text(errors="replace")
            answer_headers = {k: v for k, v in response.headers.items()}
            code = response.status
    except TimeoutError:
        return 0, TIMED_OUT, time.perf_counter() - started, {}, None
    except aiohttp.ClientError:
        return 0, UNREACHABLE, time.perf_counter() - started, {}, None
    return code, status_text(code), time.perf_counter() - started, answer_headers, text


async def send(fake: FakeGitHub, event: Event, *, fail: int | None = None) -> HookDelivery:
    """Deliver ``event`` with a fresh GUID and record the attempt (see ``FakeGitHub.send``)."""
    name, payload = event
    headers, body = _request(fake, event, None)
    if fail is not None:
        duration = fake.hook_timeout if fail == 0 else 0.05
        return _record(
            fake,
            event=name,
            payload=payload,
            headers=headers,
            body=body,
            status_code=fail,
            status=status_text(fail),
            duration=duration,
        )
    if fake.hook_url is None:
        raise RuntimeError("set fake.hook_url (the bot's /webhook URL) before fake.send(...)")
    code, status, duration, answer_headers, text = await _post(fake, headers, body)
    return _record(
        fake,
        event=name,
        payload=payload,
        headers=headers,
        body=body,
        status_code=code,
        status=status,
        duration=duration,
        response_headers=answer_headers,
        response_body=text,
    )


def record_delivery(
    fake: FakeGitHub,
    event: Event,
    *,
    status_code: int,
    guid: str | None = None,
    delivered_at: datetime | None = None,
    redelivery: bool = False,
) -> HookDelivery:
    """Plant a delivery in the log without sending anything (see ``FakeGitHub.record_delivery``)."""
    name, payload = event
    headers, body = _request(fake, event, guid)
    return _record(
        fake,
        event=name,
        payload=payload,
        headers=headers,
        body=body,
        status_code=status_code,
        status=status_text(status_code),
        duration=fake.hook_timeout if status_code == 0 else 0.05,
        delivered_at=delivered_at,
        redelivery=redelivery,
        response_body=None if status_code == 0 else "",
    )


async def redeliver(fake: FakeGitHub, original: HookDelivery) -> HookDelivery:
    """Send ``original``'s request again (same bytes and GUID, signed with the current secret)
    and record the attempt as a redelivery."""
    headers = {
        k: v
        for k, v in original.request_headers.items()
        if k not in ("X-Hub-Signature", "X-Hub-Signature-256")
    }
    if fake.hook_secret is not None:
        headers["X-Hub-Signature"] = sign(original.request_body, fake.hook_secret, algorithm="sha1")
        headers["X-Hub-Signature-256"] = sign(original.request_body, fake.hook_secret)
    code, status, duration, answer_headers, text = await _post(fake, headers, original.request_body)
    return _record(
        fake,
        event=original.event,
        payload=original.request_payload,
        headers=headers,
        body=original.request_body,
        status_code=code,
        status=status,
        duration=duration,
        redelivery=True,
        response_headers=answer_headers,
        response_body=text,
    )


# ======================================================================================= shapes


def render_item(delivery: HookDelivery) -> dict[str, Any]:
    """A ``hook-delivery-item`` (the list's entries)."""
    return {
        "id": delivery.id,
        "guid": delivery.guid,
        "delivered_at": iso(delivery.delivered_at),
        "redelivery": delivery.redelivery,
        "duration": delivery.duration,
        "status": delivery.status,
        "status_code": delivery.status_code,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": delivery.installation_id,
        "repository_id": delivery.repository_id,
        "throttled_at": iso(delivery.throttled_at),
    }


def render(delivery: HookDelivery) -> dict[str, Any]:
    """A ``hook-delivery``: the item plus the URL, the request and the response."""
    return {
        **render_item(delivery),
        "url": delivery.url or "",
        "request": {
            "headers": dict(delivery.request_headers),
            "payload": delivery.request_payload,
        },
        "response": {
            "headers": dict(delivery.response_headers),
            "payload": delivery.response_body,
        },
    }


# ======================================================================================= routes

_CURSOR = re.compile(r"^v1_(\d+)$")


def cursor_for(delivery: HookDelivery) -> str:
    return f"v1_{delivery.id}"


def _newest_first(deliveries: list[HookDelivery]) -> list[HookDelivery]:
    return sorted(deliveries, key=lambda d: (d.delivered_at, d.id), reverse=True)


def _delivery(call: Call, docs: str) -> HookDelivery:
    try:
        ident = int(call.params["delivery_id"])
    except ValueError:
        raise not_found(docs) from None
    found = next((d for d in call.fake.world.hook_deliveries if d.id == ident), None)
    if found is None:
        raise not_found(docs)
    return found


@route("GET", "/app/hook/deliveries", auth="app")
def list_deliveries(call: Call) -> Reply:
    docs = f"{HOOK_DOCS}#list-deliveries-for-an-app-webhook"
    query = call.query
    try:
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
    except ValueError:
        per_page = 30
    status = query.get("status")
    if status is not None and status not in ("success", "failure"):
        raise invalid(
            f'For \'status\', "{status}" is not a member of ["success", "failure"].', docs
        )
    everything = call.fake.world.hook_deliveries
    found = [d for d in everything if status is None or d.ok == (status == "success")]
    found = _newest_first(found)
    start = 0
    if (cursor := query.get("cursor")) is not None:
        matched = _CURSOR.match(cursor)
        anchor = next((d for d in everything if d.id == int(matched[1])), None) if matched else None
        if anchor is None:
            raise invalid(f"`{cursor}` is not a valid cursor", docs)
        key = (anchor.delivered_at, anchor.id)
        start = next((i for i, d in enumerate(found) if (d.delivered_at, d.id) <= key), len(found))
    chunk = found[start : start + per_page]

    def link(at: HookDelivery, rel: str) -> str:
        pairs = [("per_page", str(per_page))]
        if status is not None:
            pairs.append(("status", status))
        pairs.append(("cursor", cursor_for(at)))
        return f'<{call.fake.base_url}/app/hook/deliveries?{urlencode(pairs)}>; rel="{rel}"'

    links = []
    if start + per_page < len(found):
        links.append(link(found[start + per_page], "next"))
    if start > 0 and found:
        links.append(link(found[max(start - per_page, 0)], "prev"))
    headers = {"Link": ", ".join(links)} if links else {}
    return Reply(200, [render_item(d) for d in chunk], headers)


@route("GET", "/app/hook/deliveries/{delivery_id}", auth="app")
def get_delivery(call: Call) -> Reply:
    docs = f"{HOOK_DOCS}#get-a-delivery-for-an-app-webhook"
    return Reply(200, render(_delivery(call, docs)))


async def redeliver_delivery(call: Call) -> Reply:
    """``POST /app/hook/deliveries/{delivery_id}/attempts`` (a coroutine: the server awaits it)."""
    docs = f"{HOOK_DOCS}#redeliver-a-delivery-for-an-app-webhook"
    original = _delivery(call, docs)
    if call.fake.world.now() - original.delivered_at > REDELIVERY_WINDOW:
        raise ApiError(
            422,
            "Validation Failed",
            docs=docs,
            errors=[
                {
                    "resource": "HookDelivery",
                    "field": "delivered_at",
                    "code": "custom",
                    "message": "Only deliveries from the past 3 days can be redelivered.",
                }
            ],
        )
    await redeliver(call.fake, original)
    return Reply(202, {})


route("POST", "/app/hook/deliveries/{delivery_id}/attempts", auth="app")(
    cast(Handler, redeliver_delivery)
)
