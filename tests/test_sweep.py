"""Issue 11: the sweep finds and audits every landed change whose webhook never arrived; the
scheduler runs it (and the other periodic jobs) on the injected clock."""

from __future__ import annotations

import io
from typing import Any

from bot.cli import jobs
from bot.service.scheduler import SWEEP_EVERY, Scheduler
from bot.service.server import SCHEDULER
from bot.sweep import GRACE
from tests.support import Bot, app_env
from tests.test_merge_audit import countersign_runs, make_repo, merge_and_deliver, record

CHECK_RUNS = "POST /repos/{owner}/{repo}/check-runs"


def scheduler(bot: Bot) -> Scheduler:
    return bot.app[SCHEDULER]


async def sweep(bot: Bot) -> None:
    bot.clock.advance(GRACE.total_seconds() + 1)  # a sweep leaves the last minutes to webhooks
    await scheduler(bot).sweep()
    await bot.idle()


async def test_a_merge_whose_webhook_never_arrived_is_found_and_audited(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Lost", files={"m4/x.m4": "dnl\n"})
    sha = pr.merge(by="alice", method="squash")  # no delivery at all
    assert countersign_runs(repo, sha) == []
    await sweep(bot)
    data = record(repo, sha)
    assert data["kind"] == "pull_request" and data["status"] == "unreviewed"


async def test_a_direct_push_that_was_never_delivered_is_audited_with_its_pusher(bot: Bot):
    repo = make_repo(bot.fake)
    push = repo.push("main", [{"message": "quick fix", "files": {"a.txt": "1\n"}}], pusher="dave")
    await sweep(bot)
    data = record(repo, push.after)
    assert data["kind"] == "push" and data["pusher"] == "dave"
    assert data["status"] == "direct-push"


async def test_a_change_with_a_record_is_not_touched_and_a_second_sweep_writes_nothing(bot: Bot):
    repo = make_repo(bot.fake)
    reviewed = repo.open_pull(author="alice", title="Reviewed", files={"b.txt": "1\n"})
    reviewed.review("bob", "APPROVED")
    await merge_and_deliver(bot, reviewed, by="bob", method="squash")
    lost = repo.open_pull(author="alice", title="Lost", files={"c.txt": "1\n"})
    lost.merge(by="alice", method="squash")
    bot.fake.reset_counts()
    await sweep(bot)
    assert bot.fake.count(CHECK_RUNS) == 1  # only the lost one
    bot.fake.reset_counts()
    await sweep(bot)
    assert bot.fake.count(CHECK_RUNS) == 0
    assert bot.fake.count("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}") == 0


async def test_unaudited_branches_and_old_changes_are_left_alone(bot: Bot):
    repo = make_repo(bot.fake)
    old = repo.push("main", [{"message": "old", "files": {"o.txt": "1\n"}}], pusher="dave")
    bot.clock.advance(3 * 24 * 3600)  # older than the sweep's 48 hours
    feature = repo.push("feature", [{"message": "wip", "files": {"f.txt": "1\n"}}], pusher="dave")
    await sweep(bot)
    assert countersign_runs(repo, old.after) == []
    assert countersign_runs(repo, feature.after) == []


async def test_a_sweep_and_a_live_delivery_of_the_same_merge_run_one_after_the_other(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Race", files={"r.txt": "1\n"})
    sha = pr.merge(by="alice", method="squash")
    # the delivery was slow: the sweep queues the merge audit; the delivery arrives meanwhile
    bot.clock.advance(GRACE.total_seconds() + 1)
    await scheduler(bot).sweep()
    await bot.deliver(bot.fake.webhooks.pull_request(pr, "closed"))
    assert len(countersign_runs(repo, sha)) == 1
    assert bot.fake.count(CHECK_RUNS) == 1


async def test_a_change_younger_than_the_grace_is_left_to_its_webhook(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Just merged", files={"j.txt": "1\n"})
    sha = pr.merge(by="alice", method="squash")
    bot.clock.advance(GRACE.total_seconds() - 60)  # its webhook may still be on its way
    await scheduler(bot).sweep()
    await bot.idle()
    assert countersign_runs(repo, sha) == []
    await sweep(bot)  # later, it is found
    assert len(countersign_runs(repo, sha)) == 1


async def test_the_scheduler_runs_each_job_when_it_is_due_on_the_injected_clock(bot: Bot):
    jobs_run: list[str] = []
    plan = scheduler(bot)

    def spy(name: str) -> Any:
        async def job() -> None:
            jobs_run.append(name)

        return job

    plan.jobs = {name: (every, spy(name)) for name, (every, _) in plan.jobs.items()}
    assert await plan.tick() == ["redelivery", "sweep", "digest"]  # all at start-up
    assert await plan.tick() == []
    bot.clock.advance(SWEEP_EVERY.total_seconds())
    assert await plan.tick() == ["sweep", "digest"]
    bot.clock.advance(5 * 3600)
    assert await plan.tick() == ["redelivery", "sweep", "digest"]
    assert plan.seconds_to_next(bot.clock.now()) == 3600
    assert jobs_run.count("redelivery") == 2 and jobs_run.count("sweep") == 3


async def test_a_failing_job_is_logged_and_the_others_still_run(bot: Bot, caplog: Any):
    plan = scheduler(bot)
    ran: list[str] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        ran.append("sweep")

    plan.jobs = {"redelivery": (plan.jobs["redelivery"][0], broken), "sweep": (SWEEP_EVERY, fine)}
    assert await plan.tick() == ["redelivery", "sweep"]
    assert ran == ["sweep"]
    assert any("redelivery failed" in r.getMessage() for r in caplog.records)


async def test_the_sweep_command_acts_as_the_app(bot: Bot):
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Lost", files={"d.txt": "1\n"})
    sha = pr.merge(by="alice", method="squash")
    env = app_env(bot.fake)
    out, err = io.StringIO(), io.StringIO()
    bot.clock.advance(GRACE.total_seconds() + 1)
    status = await jobs.run(
        ["sweep", "--since", "2d"], env, clock=bot.clock, stdout=out, stderr=err
    )
    assert status == 0, err.getvalue()
    assert "octo-org/widgets: 1 landed, 0 recorded, 1 audited now" in out.getvalue()
    assert record(repo, sha)["status"] == "unreviewed"
    status = await jobs.run(["sweep", "--since", "soon"], env, clock=bot.clock, stderr=err)
    assert status == 2 and "48h or 7d" in err.getvalue()


async def test_the_server_runs_the_scheduler_unless_schedule_is_off(
    fake_github: Any, aiohttp_client: Any
):
    import asyncio

    from bot.github.client import GitHubApp
    from bot.service.server import create_app
    from tests.clock import FakeClock
    from tests.support import settings_for

    class WaitingClock(FakeClock):
        """Sleeps until the test ends: the scheduler runs once, at start-up."""

        async def sleep(self, seconds: float) -> None:
            self.sleeps.append(seconds)
            await asyncio.Event().wait()

    for schedule, expected in ((True, ["redelivery", "sweep", "digest"]), (False, [])):
        clock = WaitingClock(fake_github.clock)
        settings = settings_for(fake_github, schedule=schedule)
        app = create_app(settings, GitHubApp(settings, clock), clock)
        ran: list[str] = []

        def spy(name: str, ran: list[str] = ran) -> Any:
            async def job() -> None:
                ran.append(name)

            return job

        plan = app[SCHEDULER]
        plan.jobs = {name: (every, spy(name)) for name, (every, _) in plan.jobs.items()}
        client = await aiohttp_client(app)
        for _ in range(20):
            await asyncio.sleep(0)
        assert ran == expected
        assert clock.sleeps == ([3600.0] if schedule else [])
        await client.close()  # the scheduler is cancelled on shutdown
