"""What ``GET /metrics`` shows: Prometheus counters, gauges and a histogram about the bot's work.

One :class:`Metrics` per web application, over a registry of its own (never prometheus_client's
global one): nothing is created at import time, and two apps in one process (tests) never share a
count. The places that count are given the object (the work queue, the GitHub client factory and
the clients it makes); without one, they count nothing.

Every label value is bounded: webhook events are GitHub's names (``unknown`` for a request whose
signature was not checked), routes are method and URL *template* (``GET /repos/{owner}/{name}``,
never a URL with ids in it), job kinds the part of a work label before its first ``:``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

JOB_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""A job is one delivery's work: from a cached answer (milliseconds) to a big audit (minutes)."""

UNKNOWN_EVENT = "unknown"
_EVENT_NAME = re.compile(r"[a-z_]{1,64}")


class QueueState(Protocol):
    """What the queue gauges read, at scrape time (:class:`bot.service.work.WorkQueue`)."""

    @property
    def queued(self) -> int: ...

    @property
    def in_flight(self) -> int: ...


def job_kind(label: str) -> str:
    """The bounded part of a work label: what precedes its first ``:``.

    >>> job_kind("push:octo/widgets:refs/heads/main:abc")
    'push'
    >>> job_kind("merge-audit")
    'merge-audit'
    """
    return label.split(":", 1)[0]


def event_label(event: str | None) -> str:
    """A webhook event's name as a label: GitHub's own names only (``unknown`` otherwise).

    >>> event_label("pull_request"), event_label("<script>"), event_label(None)
    ('pull_request', 'unknown', 'unknown')
    """
    name = (event or "").strip()
    return name if _EVENT_NAME.fullmatch(name) else UNKNOWN_EVENT


class Metrics:
    """The bot's metrics, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.deliveries = Counter(
            "countersign_webhook_deliveries",
            "Webhook deliveries answered, by event and HTTP answer code.",
            ("event", "code"),
            registry=registry,
        )
        self.audits = Counter(
            "countersign_audits",
            "Verdicts published (check run written), by verdict and kind of change.",
            ("verdict", "kind"),
            registry=registry,
        )
        self.github_requests = Counter(
            "countersign_github_requests",
            "HTTP requests made to GitHub (each attempt), by route template and answer status.",
            ("route", "status"),
            registry=registry,
        )
        self.github_retries = Counter(
            "countersign_github_retries",
            "GitHub requests retried, by route template and reason.",
            ("route", "reason"),
            registry=registry,
        )
        self.rate_limit_remaining = Gauge(
            "countersign_github_rate_limit_remaining",
            "x-ratelimit-remaining of the last GitHub answer to an installation's request.",
            ("installation",),
            registry=registry,
        )
        self.queued = Gauge(
            "countersign_work_queued",
            "Jobs waiting in the work queue.",
            registry=registry,
        )
        self.in_flight = Gauge(
            "countersign_work_in_flight",
            "Jobs running now.",
            registry=registry,
        )
        self.job_seconds = Histogram(
            "countersign_job_duration_seconds",
            "Seconds each work-queue job ran, by kind (its label before the first ':').",
            ("kind",),
            buckets=JOB_SECONDS_BUCKETS,
            registry=registry,
        )

    def watch_queue(self, queue: QueueState) -> None:
        """Read the queue gauges from ``queue`` whenever the metrics are scraped."""
        self.queued.set_function(lambda: queue.queued)
        self.in_flight.set_function(lambda: queue.in_flight)

    def delivery(self, event: str | None, code: int) -> None:
        self.deliveries.labels(event_label(event), str(code)).inc()

    def audit(self, verdict: str, kind: str) -> None:
        self.audits.labels(verdict, kind).inc()

    def job_done(self, label: str, seconds: float) -> None:
        self.job_seconds.labels(job_kind(label)).observe(seconds)

    def github_answer(
        self,
        route: str,
        status: int | str,
        headers: Mapping[str, str] | None = None,
        installation_id: int | None = None,
    ) -> None:
        """Count one answer (``status`` is ``error`` for a request that got none); keep the
        installation's remaining rate limit when the answer says it."""
        self.github_requests.labels(route, str(status)).inc()
        if installation_id is None or headers is None:
            return
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is not None:
            try:
                value = float(remaining)
            except ValueError:
                return
            self.rate_limit_remaining.labels(str(installation_id)).set(value)

    def github_retry(self, route: str, reason: str) -> None:
        self.github_retries.labels(route, reason).inc()

    def forget_installation(self, installation_id: int) -> None:
        """Drop the rate-limit gauge of an installation that is gone."""
        try:
            self.rate_limit_remaining.remove(str(installation_id))
        except KeyError:
            pass

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The metrics in the format ``accept`` asks for (Prometheus text by default), and its
        content type."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
