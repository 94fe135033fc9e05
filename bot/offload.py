"""Judging off the event loop.

:func:`bot.judge.judge` is pure but CPU-bound: a pull request of 3,000 files takes tens of
milliseconds (pattern matching, every requirement, the record). Run on the event loop, that would
hold up every other delivery, webhook acknowledgement and health check meanwhile.
:func:`judge_off_loop` runs it in a small pool of worker threads instead; the event loop only
waits for the verdict.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from bot.core.facts import ChangeFacts
from bot.core.judge import Verdict, judge
from bot.core.policy import Policy

JUDGE_THREADS: Final = 2
"""How many judgements run at once. Judging holds the GIL most of the time, so more threads
would add memory, not speed; more judgements simply wait for a thread."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=JUDGE_THREADS, thread_name_prefix="judge")
        return _pool


async def judge_off_loop(facts: ChangeFacts, policy: Policy) -> Verdict:
    """:func:`bot.judge.judge` run in a worker thread: the same verdict, off the event loop.

    The caller's context variables (the delivery's log fields) go with it. Cancelling the
    caller does not stop a judgement already running; its verdict is dropped.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(_executor(), context.run, judge, facts, policy)
