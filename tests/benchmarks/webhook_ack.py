"""Benchmark: how fast ``POST /webhook`` acknowledges signed deliveries.

Sends 2,000 signed ``pull_request`` deliveries (built from GitHub's own example payload) at
concurrency 50 to the real app on loopback and prints p50/p99 acknowledgement latency and
deliveries per second. The server runs in its own process pinned to one core; the load generator
runs in this one, on the other core where there is one. The background work is a no-op handler, so
what is measured is the request path: read, verify, parse, enqueue, answer.

    python -m tests.benchmarks.webhook_ack [--deliveries 2000] [--concurrency 50]

Target: p99 under 10 ms on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp

FIXTURE = (
    Path(__file__).resolve().parents[2].parent
    / "shared/github-fixtures/webhooks/pull_request/synchronize.payload.json"
)
SECRET = "benchmark-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(port: int, ready: Any) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    from aiohttp import web
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from gidgethub import routing

    from bot.clock import SystemClock
    from bot.github.client import GitHubApp, GitHubClient
    from bot.service.server import create_app
    from bot.settings import Settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings = Settings(app_id="1", private_key=pem, webhook_secret=SECRET, port=port)

    class OfflineGitHub(GitHubApp):
        async def for_installation(self, installation_id: int) -> GitHubClient:
            return self.app_client()

    router = routing.Router()

    @router.register("pull_request")
    async def noop(event: Any, gh: Any, **kwargs: Any) -> None:
        return None

    clock = SystemClock()
    app = create_app(settings, OfflineGitHub(settings, clock), clock, router=router)

    async def announce(app: web.Application) -> None:
        ready.set()

    app.on_startup.append(announce)
    from bot.__main__ import new_event_loop

    web.run_app(
        app, host="127.0.0.1", port=port, print=None, access_log=None, loop=new_event_loop()
    )


async def _load(port: int, deliveries: int, concurrency: int) -> tuple[list[float], float]:
    body = FIXTURE.read_bytes()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    url = f"http://127.0.0.1:{port}/webhook"
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": f"bench-{n}",
                "X-Hub-Signature-256": signature,
            }
            async with gate:
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 202, response.status
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(one(n) for n in range(100)))  # warm up
        latencies.clear()
        began = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(deliveries)))
        elapsed = time.perf_counter() - began
    return latencies, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("server did not start")
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {1})
        latencies, elapsed = asyncio.run(_load(port, args.deliveries, args.concurrency))
    finally:
        server.terminate()
        server.join(5)
    cuts = statistics.quantiles(latencies, n=100)
    print(
        json.dumps(
            {
                "deliveries": len(latencies),
                "concurrency": args.concurrency,
                "p50_ms": round(cuts[49] * 1000, 2),
                "p99_ms": round(cuts[98] * 1000, 2),
                "max_ms": round(max(latencies) * 1000, 2),
                "deliveries_per_second": round(len(latencies) / elapsed, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
