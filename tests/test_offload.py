"""Judging off the event loop: the same verdict, computed in a worker thread."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import pytest

from bot import offload
from bot.core.facts import Actor, ChangeFacts, FileFacts
from bot.core.judge import judge
from bot.core.policy import default_policy
from bot.offload import judge_off_loop

DELIVERY: contextvars.ContextVar[str] = contextvars.ContextVar("delivery", default="none")


def facts(n: int = 1) -> ChangeFacts:
    return ChangeFacts(
        kind="pull_request",
        repository="octo-org/cpython",
        branch="main",
        head_sha="c1",
        number=n,
        title="Bump autoconf",
        author=Actor("alice"),
        files=(FileFacts("configure.ac"), FileFacts("Lib/os.py")),
    )


async def test_the_verdict_is_the_judges_computed_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[threading.Thread, str]] = []

    def spy(*args: Any) -> Any:
        seen.append((threading.current_thread(), DELIVERY.get()))
        return judge(*args)

    monkeypatch.setattr(offload, "judge", spy)
    DELIVERY.set("d-1")
    policy = default_policy()
    verdicts = await asyncio.gather(*(judge_off_loop(facts(n), policy) for n in range(5)))
    assert verdicts == [judge(facts(n), policy) for n in range(5)]
    assert verdicts[0].status == "unreviewed"
    threads = {thread for thread, _ in seen}
    assert threading.current_thread() not in threads
    assert len(threads) <= offload.JUDGE_THREADS
    assert all(thread.name.startswith("judge") for thread in threads)
    assert {delivery for _, delivery in seen} == {"d-1"}  # log fields go along
