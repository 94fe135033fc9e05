"""The web service: ``POST /webhook``, ``GET /healthz`` and ``GET /metrics``.

The request path verifies the signature, parses the delivery and enqueues it; nothing else. Every
bad input has its own 4xx answer and changes nothing. The work itself runs in :mod:`bot.work`, where
each registered handler is dispatched on its own so that one failing handler never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web
from gidgethub import routing, sansio
from prometheus_client import CollectorRegistry

from bot.clock import Clock
from bot.github.client import GitHubApp
from bot.logs import log_context
from bot.metrics import Metrics
from bot.service.routing import build_router, work_key
from bot.service.scheduler import Scheduler
from bot.service.work import WorkQueue, log_failure
from bot.services import Services
from bot.settings import Settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024
"""GitHub caps webhook payloads at 25 MB; anything larger is refused with 413."""

SERVICES = web.AppKey("services", Services)
QUEUE = web.AppKey("queue", WorkQueue)
ROUTER = web.AppKey("router", routing.Router)
SCHEDULER = web.AppKey("scheduler", Scheduler)
METRICS = web.AppKey("metrics", Metrics)


def signature_is_valid(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is ``sha256=<HMAC-SHA256 of body with secret>`` (constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256=") :].strip().lower(), expected)


def _answer(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"message": message, **extra}, status=status)


_ACCEPTED = orjson.dumps({"message": "accepted"})


def _delivery_fields(event: sansio.Event) -> dict[str, Any]:
    data = event.data if isinstance(event.data, dict) else {}
    return {
        "delivery_id": event.delivery_id,
        "event": event.event,
        "action": data.get("action"),
        "installation": (data.get("installation") or {}).get("id"),
        "repository": (data.get("repository") or {}).get("full_name"),
    }


VERIFIED = web.RequestKey("verified", bool)
"""Set on a request once its signature checked out: only then is its X-GitHub-Event GitHub's say,
and only then does it name the event a delivery is counted under (a label value must never be
an unsigned sender's choice, whatever made the answer: a bad signature, a body too large, a
connection dropped halfway)."""


async def webhook(request: web.Request) -> web.Response:
    """Answer a delivery (:func:`answer_webhook`) and count it by event and answer code."""
    status = 500
    try:
        response = await answer_webhook(request)
        status = response.status
        return response
    finally:
        event = request.headers.get("X-GitHub-Event") if request.get(VERIFIED) else None
        request.app[METRICS].delivery(event, status)


async def answer_webhook(request: web.Request) -> web.Response:
    settings = request.app[SERVICES].settings
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _answer(413, "payload too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _answer(413, "payload too large")
    if not signature_is_valid(
        body, request.headers.get("X-Hub-Signature-256"), settings.webhook_secret
    ):
        logger.warning(
            "webhook refused: bad or missing signature",
            extra={"delivery_id": request.headers.get("X-GitHub-Delivery")},
        )
        return _answer(401, "bad or missing X-Hub-Signature-256")
    request[VERIFIED] = True
    if request.content_type != "application/json":
        return _answer(415, "expected Content-Type: application/json")
    event_name = request.headers.get("X-GitHub-Event", "").strip()
    delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
    if not event_name or not delivery_id:
        return _answer(400, "missing X-GitHub-Event or X-GitHub-Delivery header")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _answer(400, f"malformed JSON: {exc}")
    if not isinstance(data, dict):
        return _answer(400, "malformed payload: expected a JSON object")
    event = sansio.Event(data, event=event_name, delivery_id=delivery_id)
    if event_name == "ping":
        logger.info("ping", extra={"delivery_id": delivery_id, "zen": data.get("zen")})
        return web.json_response({"message": "pong"}, status=200)
    enqueue(request.app, event)
    return web.Response(status=202, body=_ACCEPTED, content_type="application/json")


def enqueue(app: web.Application, event: sansio.Event) -> None:
    """Queue ``event``'s handlers under its work key (see :func:`bot.routing.work_key`)."""
    router = app[ROUTER]
    if not router.fetch(event):
        return  # an event or action nobody handles: accepted and ignored
    services = app[SERVICES]
    key, label = work_key(event)

    async def job() -> None:
        await process(event, router, services)

    app[QUEUE].submit(key, label, job, _delivery_fields(event))


async def process(event: sansio.Event, router: routing.Router, services: Services) -> None:
    """Run every handler registered for ``event``, each on its own. A handler that fails is logged
    by :func:`bot.work.log_failure`: a refusal GitHub is expected to give as one warning line, a
    bug with its traceback."""
    installation_id = (event.data.get("installation") or {}).get("id")
    if not isinstance(installation_id, int):
        logger.warning("delivery without an installation: ignored")
        return
    gh = await services.github.for_installation(installation_id)
    handlers = sorted(router.fetch(event), key=lambda h: f"{h.__module__}.{h.__qualname__}")
    for handler in handlers:
        name = f"{handler.__module__}.{handler.__qualname__}"
        with log_context(handler=name):
            try:
                await handler(event, gh, services=services)
            except Exception as exc:
                log_failure(logger, "handler failed", exc)


async def healthz(request: web.Request) -> web.Response:
    queue = request.app[QUEUE]
    return web.json_response({"status": "ok", "queued": queue.queued, "in_flight": queue.in_flight})


async def metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[METRICS].exposition(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})


def create_app(
    settings: Settings,
    github: GitHubApp,
    clock: Clock,
    *,
    router: routing.Router | None = None,
) -> web.Application:
    """Build the web application. Nothing is read from the environment here."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[SERVICES] = Services(settings=settings, github=github, clock=clock)
    app[METRICS] = github.metrics = Metrics(CollectorRegistry())  # this app's own registry
    app[QUEUE] = WorkQueue(settings.max_concurrency, metrics=app[METRICS])
    app[METRICS].watch_queue(app[QUEUE])
    app[ROUTER] = router if router is not None else build_router()
    app[SCHEDULER] = Scheduler(app[SERVICES], app[QUEUE])
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    async def drain(app: web.Application) -> None:
        drained = await app[QUEUE].drain(settings.drain_seconds)
        logger.info("stopped", extra={"drained": drained})

    async def close_github(app: web.Application) -> None:
        await github.close()

    async def freeze_heap(app: web.Application) -> None:
        # everything allocated so far lives as long as the process: keep the collector off it
        gc.collect()
        gc.freeze()

    async def schedule(app: web.Application) -> AsyncIterator[None]:
        task = None
        if settings.schedule:
            task = asyncio.create_task(app[SCHEDULER].run_forever(), name="scheduler")
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(freeze_heap)
    app.cleanup_ctx.append(schedule)
    app.on_shutdown.append(drain)
    app.on_cleanup.append(close_github)
    return app
