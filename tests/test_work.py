import asyncio
import logging

from bot.service.work import WorkQueue


async def test_same_key_runs_one_at_a_time_in_order():
    queue = WorkQueue(limit=4)
    events: list[str] = []
    gate = asyncio.Event()

    def job(name: str, wait: bool = False):
        async def run() -> None:
            events.append(f"start {name}")
            if wait:
                await gate.wait()
            events.append(f"end {name}")

        return run

    queue.submit("repo#1", "a", job("first", wait=True))
    queue.submit("repo#1", "b", job("second"))
    await asyncio.sleep(0)
    assert queue.in_flight == 1 and queue.queued == 1
    gate.set()
    await queue.join()
    assert events == ["start first", "end first", "start second", "end second"]


async def test_a_burst_collapses_into_one_more_run():
    queue = WorkQueue(limit=4)
    runs: list[int] = []
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()
        runs.append(0)

    queue.submit("repo#1", "judge", slow)
    await asyncio.sleep(0)
    accepted = []
    for n in range(1, 6):

        async def again(n: int = n) -> None:
            runs.append(n)

        accepted.append(queue.submit("repo#1", "judge", again))
    assert accepted == [True, False, False, False, False]
    assert queue.queued == 1
    gate.set()
    await queue.join()
    assert runs == [0, 5]  # the running one, then only the newest of the burst


async def test_different_labels_never_collapse():
    queue = WorkQueue(limit=4)
    ran: list[str] = []
    for label in ("push:aaa", "push:bbb", "push:ccc"):

        async def job(label: str = label) -> None:
            ran.append(label)

        queue.submit("repo@main", label, job)
    await queue.join()
    assert ran == ["push:aaa", "push:bbb", "push:ccc"]


async def test_different_keys_run_concurrently_under_the_limit():
    queue = WorkQueue(limit=2)
    running = 0
    peak = 0
    gate = asyncio.Event()

    async def job() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    for n in range(5):
        queue.submit(f"repo#{n}", "judge", job)
    for _ in range(5):
        await asyncio.sleep(0)
    assert peak == 2 and queue.in_flight == 2
    gate.set()
    await queue.join()
    assert queue.in_flight == 0 and queue.queued == 0


async def test_a_failing_job_is_logged_and_does_not_stop_others(caplog):
    queue = WorkQueue(limit=1)
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("kaput")

    async def fine() -> None:
        ran.append("fine")

    with caplog.at_level(logging.ERROR):
        queue.submit("repo#1", "a", boom, {"delivery_id": "d-1"})
        queue.submit("repo#1", "b", fine)
        await queue.join()
    assert ran == ["fine"]
    assert any(r.message == "work failed" and "kaput" in (r.exc_text or "") for r in caplog.records)


async def test_drain_waits_for_running_work_and_refuses_new():
    queue = WorkQueue(limit=2)
    done: list[str] = []

    async def job() -> None:
        await asyncio.sleep(0)
        done.append("x")

    queue.submit("k", "a", job)
    assert await queue.drain(timeout=5) is True
    assert done == ["x"]
    try:
        queue.submit("k", "b", job)
    except RuntimeError as exc:
        assert "shut down" in str(exc)
    else:
        raise AssertionError("a drained queue accepted work")


async def test_drain_cancels_what_outlives_the_bound():
    queue = WorkQueue(limit=2)
    forever = asyncio.Event()

    async def stuck() -> None:
        await forever.wait()

    queue.submit("k", "a", stuck)
    await asyncio.sleep(0)
    assert await queue.drain(timeout=0.01) is False
    assert queue.in_flight == 0
