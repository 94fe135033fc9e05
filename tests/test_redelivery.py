"""Issue 11: failed webhook deliveries of the last 3 days are redelivered, once."""

from __future__ import annotations

from datetime import timedelta

from bot.service.server import SCHEDULER
from tests.support import SECRET, Bot, app_env
from tests.test_merge_audit import countersign_runs, make_repo, record

ATTEMPTS = "POST /app/hook/deliveries/{delivery_id}/attempts"
LIST = "GET /app/hook/deliveries"


def hook(bot: Bot) -> None:
    bot.fake.hook_url = str(bot.client.make_url("/webhook"))
    bot.fake.hook_secret = SECRET


async def redeliver(bot: Bot) -> None:
    await bot.app[SCHEDULER].redeliver()
    await bot.idle()


async def test_a_merge_whose_delivery_failed_is_redelivered_and_audited(bot: Bot):
    hook(bot)
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Lost", files={"a.txt": "1\n"})
    sha = pr.merge(by="alice", method="squash")
    failed = await bot.fake.send(bot.fake.webhooks.pull_request(pr, "closed"), fail=500)
    assert countersign_runs(repo, sha) == []
    await redeliver(bot)
    assert bot.fake.count(ATTEMPTS) == 1
    assert record(repo, sha)["status"] == "unreviewed"
    again = [d for d in bot.fake.world.hook_deliveries if d.guid == failed.guid and d.redelivery]
    assert len(again) == 1 and again[0].status_code == 202
    # once: the next run finds the GUID delivered and asks nothing
    await redeliver(bot)
    assert bot.fake.count(ATTEMPTS) == 1


async def test_only_deliveries_whose_every_attempt_failed_are_asked_for_once(bot: Bot):
    hook(bot)
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="x", files={"b.txt": "1\n"})
    event = bot.fake.webhooks.pull_request(pr, "opened")
    now = bot.fake.clock.now()
    # failed, then succeeded on a later attempt
    first = bot.fake.record_delivery(event, status_code=500, delivered_at=now - timedelta(hours=2))
    bot.fake.record_delivery(event, status_code=202, guid=first.guid, redelivery=True)
    # failed, and redelivered already (that failed too): asked once, never again
    second = bot.fake.record_delivery(event, status_code=0, delivered_at=now - timedelta(hours=3))
    bot.fake.record_delivery(event, status_code=503, guid=second.guid, redelivery=True)
    # failed more than 3 days ago: GitHub would refuse, so it is not asked
    bot.fake.record_delivery(event, status_code=500, delivered_at=now - timedelta(days=4))
    # failed twice, never redelivered: asked for, for its newest attempt
    third = bot.fake.record_delivery(event, status_code=500, delivered_at=now - timedelta(hours=5))
    newest = bot.fake.record_delivery(
        event, status_code=504, guid=third.guid, delivered_at=now - timedelta(hours=4)
    )
    await redeliver(bot)
    asked = [d for d in bot.fake.world.hook_deliveries if d.redelivery and d.guid == third.guid]
    assert bot.fake.count(ATTEMPTS) == 1 and len(asked) == 1
    assert asked[0].id > newest.id


async def test_the_listing_is_read_by_cursor_to_the_end_of_the_window(bot: Bot):
    hook(bot)
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="x", files={"c.txt": "1\n"})
    event = bot.fake.webhooks.pull_request(pr, "opened")
    now = bot.fake.clock.now()
    for n in range(250):
        bot.fake.record_delivery(event, status_code=202, delivered_at=now - timedelta(minutes=n))
    for n in range(150):  # older than the window: never read past the first of them
        bot.fake.record_delivery(
            event, status_code=500, delivered_at=now - timedelta(days=4, minutes=n)
        )
    await redeliver(bot)
    assert bot.fake.count(ATTEMPTS) == 0
    assert bot.fake.count(LIST) == 3  # 100 + 100 + the page where the window ends


async def test_the_redeliver_command_acts_as_the_app(bot: Bot):
    import io

    from bot.cli import jobs

    hook(bot)
    repo = make_repo(bot.fake)
    pr = repo.open_pull(author="alice", title="Lost", files={"e.txt": "1\n"})
    sha = pr.merge(by="alice", method="squash")
    await bot.fake.send(bot.fake.webhooks.pull_request(pr, "closed"), fail=0)
    env = app_env(bot.fake)
    out, err = io.StringIO(), io.StringIO()
    status = await jobs.run(["redeliver"], env, clock=bot.clock, stdout=out, stderr=err)
    await bot.idle()
    assert status == 0, err.getvalue()
    assert "1 failed on every attempt, 1 redelivered, 0 refused" in out.getvalue()
    assert record(repo, sha)["status"] == "unreviewed"
