"""A signed webhook built from GitHub's own example, through the real app, with its effect in the
fake: the smallest whole path (intake, token, GraphQL and REST reads, check run)."""

from __future__ import annotations

from tests.support import Bot


async def test_merged_pull_request_gets_a_check_run(bot: Bot):
    fake = bot.fake
    repo = fake.add_repo("octo-org/widgets", protected=["main"])
    repo.set_permission("bob", "write")  # an approval counts only from someone who could merge
    pr = repo.open_pull(author="alice", title="Fix parser", files={"src/parse.py": "x = 2\n"})
    pr.review("bob", "APPROVED")
    merge_sha = pr.merge(by="alice")
    assert await bot.deliver(fake.webhooks.pull_request(pr, "closed")) == 202
    runs = [run for run in repo.check_runs.values() if run.head_sha == merge_sha]
    assert [run.name for run in runs] == ["countersign"]
    assert runs[0].conclusion == "success"
    assert fake.graphql_errors == []
