"""``python -m bot demo [--out DIR]``: see countersign work without a GitHub App.

It starts the real server (:func:`bot.service.server.create_app`, served by aiohttp on loopback)
and a local GitHub stand-in on loopback (the tests' fake GitHub, installed as
``countersign_fakegithub`` by the ``demo`` extra, or ``tests.fakegithub`` in a checkout) with the
App installed on a demo repository. Then it plays a scripted week modelled on the xz-utils story,
every event delivered to ``POST /webhook`` over HTTP and signed as GitHub signs it, on a clock of
its own so that the week passes without waiting:

- Monday: a binary test file under an innocent name, pushed directly to ``main``;
- Tuesday: a change to ``m4/build-to-host.m4``, merged by its author without review;
- Wednesday: a decoder fix, reviewed by another maintainer, then merged;
- Thursday: a clean backport of that fix to ``v5.4`` and one adapted by hand to ``v5.2``
  (cherry-pick lines naming the fix), both merged by the release manager without review;
- Friday: a force push to the release branch ``v5.6``;
- Saturday: ``/audit approve`` comments: one signs the ``v5.2`` backport off, one is a first
  sign-off of the ``m4`` change, which needs two;
- next Monday 06:00 UTC: the server's scheduler posts the weekly digest.

It writes a report folder (``index.html``, one static page with every check run and issue as
GitHub would show them, read back through the stand-in's REST API; ``markdown/`` with the
Markdown the bot wrote; ``verdicts.json``; ``bot.log``), prints a one-screen summary, and exits 0
when every verdict is the one :data:`EXPECTED` (and :data:`EXPECTED_DIGEST`) scripts, 1 with the
differences otherwise, 2 when it cannot run (the stand-in or its files are missing).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TextIO

from bot.core.change import ChangeId
from bot.core.record import parse_record

USAGE_ERROR: Final = 2
DIFFERENT: Final = 1
DEFAULT_OUT: Final = "countersign-demo"
REPO: Final = "demo-org/compressor"
SECRET: Final = "countersign-demo-webhook-secret"  # noqa: S105 - the demo's own, on loopback
START: Final = datetime(2024, 3, 22, 12, 0, tzinfo=UTC)
"""The Friday before the week: the repository's history is laid down then."""
WEEK_START: Final = datetime(2024, 3, 25, tzinfo=UTC)
"""Monday of ISO week 2024-W13, the week the xz-utils backdoor was found."""
INSTALL_HINT: Final = (
    "python -m bot demo needs the local GitHub stand-in and its dependencies: "
    "pip install 'countersign[demo]' (in a checkout: pip install -e '.[demo]', "
    "and run it from the checkout's root)"
)
MAINTAINERS: Final = ("alice", "bob", "carol", "dave", "mallory")
DESCRIPTION: Final = (
    "See countersign work without a GitHub App: play a scripted week (modelled on the xz-utils "
    "story) against a local GitHub stand-in, through the real server's POST /webhook, write an "
    "HTML report of every check run and issue, and exit 0 only when each verdict is the one "
    "scripted."
)

# ----------------------------------------------------------------------------------- the week


@dataclass(frozen=True)
class Expected:
    """What the record of one change must say at the end of the week."""

    kind: str
    status: str
    conclusion: str
    signed_off: bool = False
    signoffs: tuple[str, ...] = ()
    audit_issue: bool = False
    backport: str | None = None
    """``clean``, ``divergent``, or None for a change that is no backport."""


EXPECTED: dict[str, Expected] = {
    "binary-test-file": Expected("push", "direct-push", "failure", audit_issue=True),
    "m4-self-merge": Expected(
        "pull_request", "unreviewed", "failure", signoffs=("alice",), audit_issue=True
    ),
    "reviewed-fix": Expected("pull_request", "reviewed", "success"),
    "clean-backport": Expected("pull_request", "reviewed", "success", backport="clean"),
    "divergent-backport": Expected(
        "pull_request",
        "unreviewed",
        "success",
        signed_off=True,
        signoffs=("bob",),
        backport="divergent",
    ),
    "force-push": Expected("force_push", "force-push", "failure", audit_issue=True),
}
"""The verdict each change of the scripted week must get, by the change's name in the script."""


@dataclass(frozen=True)
class ExpectedDigest:
    """What the weekly digest's record must say."""

    week: str
    reviewed: int
    not_reviewed: int
    open: int
    """Changes neither reviewed nor signed off."""


EXPECTED_DIGEST = ExpectedDigest(week="2024-W13", reviewed=2, not_reviewed=4, open=3)

DECODER = """\
/* LZMA decoder: the main loop. */
#include "lzma_decoder.h"

static lzma_ret
decode_block(lzma_decoder *d, const uint8_t *in, size_t in_size)
{
\tsize_t pos = 0;
\twhile (pos < in_size)
\t\tpos += decode_symbol(d, in + pos);
\treturn LZMA_OK;
}
"""
DECODER_FIXED = DECODER.replace(
    "\tsize_t pos = 0;\n",
    "\tsize_t pos = 0;\n\tif (in_size > d->dict_size)\n\t\treturn LZMA_DATA_ERROR;\n",
)
DECODER_52 = DECODER.replace("lzma_ret\n", "int\n")
DECODER_52_FIXED = DECODER_52.replace(
    "\tsize_t pos = 0;\n",
    "\tsize_t pos = 0;\n\tif (in_size > d->dict.size)\n\t\treturn LZMA_DATA_ERROR;\n",
)
M4 = """\
# build-to-host.m4 serial 3
dnl Convert a directory name of the build machine to one of the host.
AC_DEFUN([gl_BUILD_TO_HOST], [
  gl_final_[$1]="$[$1]"
])
"""
M4_CHANGED = M4.replace("# build-to-host.m4 serial 3\n", "# build-to-host.m4 serial 30\n").replace(
    '  gl_final_[$1]="$[$1]"\n',
    '  gl_final_[$1]="$[$1]"\n'
    "  dnl find the helper among the test files, for portability\n"
    '  gl_am_configmake=`grep -aErls "#{4}[[:alnum:]]{5}#{4}$" $srcdir/ 2>/dev/null`\n'
    '  gl_path_map=\'tr "\\t \\-_" " \\t_\\-"\'\n',
)
TEST_FILE: Final = (b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4F####Hello####\x00" * 64) + b"\x00" * 512
"""Looks like a corrupt .xz stream; it is not text (NUL bytes), whatever its name says."""


@dataclass
class Change:
    """One change of the week, as the script made it."""

    slug: str
    day: str
    what: str
    story: str
    """What happened, and its part in the xz-utils story."""
    key: str
    sha: str
    """The commit its record is written on (merge commit or pushed head)."""
    pull: int | None = None
    head_sha: str | None = None
    """A pull request's head, where its pre-merge check run is."""


class DemoClock:
    """The time both sides see: the stand-in's ``now()`` and the bot's ``now()``, ``monotonic()``,
    ``sleep()`` and ``random()``. Time moves only when the script (or a sleep) moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds

    def move_to(self, when: datetime) -> None:
        """Forward to ``when`` (never back)."""
        self.advance(max(0.0, (when - self._now).total_seconds()))

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)

    def random(self) -> float:
        return 0.5


@dataclass
class Stage:
    """The running pair: the stand-in (``fake``), the bot's app and the clock."""

    fake: Any
    app: Any
    clock: DemoClock
    problems: list[str] = field(default_factory=list)

    @property
    def repo(self) -> Any:
        return self.fake.repo(REPO)

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        """Move the clock to ``day`` (0 is Monday) of the week at ``hour``:``minute`` UTC."""
        self.clock.move_to(WEEK_START + timedelta(days=day, hours=hour, minutes=minute))

    async def deliver(self, event: tuple[str, dict[str, Any]]) -> None:
        """POST ``event`` to the server's ``/webhook`` as GitHub would (signed, logged in the
        App's delivery log) and wait until the work it started is done."""
        from bot.service.server import QUEUE

        delivery = await self.fake.send(event)
        if not 200 <= delivery.status_code < 300:
            self.problems.append(
                f"the {event[0]} delivery was answered {delivery.status_code} {delivery.status}"
            )
        await self.app[QUEUE].join()

    async def merge(self, pr: Any, by: str, method: str = "merge") -> str:
        """Merge ``pr`` and deliver what GitHub sends: ``pull_request`` ``closed``, then the
        ``push`` the merge made."""
        sha: str = pr.merge(by=by, method=method)
        await self.deliver(self.fake.webhooks.pull_request(pr, "closed"))
        await self.deliver(self.fake.webhooks.push(pr.merge_push))
        return sha

    async def open_pull(self, **options: Any) -> Any:
        pr = self.repo.open_pull(**options)
        await self.deliver(self.fake.webhooks.pull_request(pr, "opened"))
        return pr


def lay_history(fake: Any) -> None:
    """The demo repository as it stands on the Friday before the week (no webhooks: countersign
    was installed afterwards)."""
    for login in MAINTAINERS:
        fake.add_user(login, name=login.title())
    repo = fake.add_repo(
        REPO,
        protected=["main"],
        files={
            "src/lzma_decoder.c": DECODER,
            "configure.ac": "AC_INIT([compressor], [5.6.0])\nAC_CONFIG_MACRO_DIR([m4])\n",
            "m4/build-to-host.m4": M4,
            "tests/files/README": "Test files for the decoder; see tests/test_files.sh.\n",
        },
    )
    repo.protect("v5.*")
    for login in MAINTAINERS:
        repo.set_permission(login, "write")
    repo.create_branch("v5.4")
    repo.commit(
        "v5.2",
        message="liblzma: Keep the 5.2 decoder's int return type",
        author="alice",
        files={"src/lzma_decoder.c": DECODER_52},
    )
    repo.commit(
        "v5.6",
        message="Bump version to 5.6.0",
        author="alice",
        files={"src/version.h": '#define LZMA_VERSION_STRING "5.6.0"\n'},
    )


async def play_week(stage: Stage) -> list[Change]:
    """The scripted week; returns its changes, in order."""
    fake, repo = stage.fake, stage.repo
    changes: list[Change] = []

    # Monday: a binary test file, pushed straight to main
    stage.at(0, 10, 14)
    push = repo.push(
        "main",
        [
            {
                "message": "Tests: Add a few test files",
                "files": {"tests/files/good-large_compressed.lzma": TEST_FILE},
                "author": "mallory",
            }
        ],
        pusher="mallory",
    )
    await stage.deliver(fake.webhooks.push(push))
    key = ChangeId.push(REPO, push.ref, push.before, push.after).key
    changes.append(
        Change(
            "binary-test-file",
            "Mon",
            "binary test file pushed to main",
            "mallory, a co-maintainer, pushes a test file straight to main: its name says "
            "compressed test data, its content is not text (xz-utils' backdoor hid in "
            "tests/files/bad-3-corrupt_lzma2.xz and good-large_compressed.lzma).",
            key,
            push.after,
        )
    )

    # Tuesday: the build system, merged by its author without review
    stage.at(1, 9, 30)
    m4 = await stage.open_pull(
        author="mallory",
        title="build: Make build-to-host.m4 more portable",
        body="Fixes the build on a few hosts.",
        files={"m4/build-to-host.m4": M4_CHANGED},
    )
    stage.at(1, 11, 5)
    sha = await stage.merge(m4, by="mallory")
    changes.append(
        Change(
            "m4-self-merge",
            "Tue",
            f"m4/ change #{m4.number}, self-merged",
            "mallory changes m4/build-to-host.m4, the build-system macro that unpacked "
            "xz-utils' backdoor from the test files, and merges it without review.",
            f"pr-{m4.number}",
            sha,
            m4.number,
            m4.head_sha,
        )
    )

    # Wednesday: a fix, reviewed by another maintainer
    stage.at(2, 8, 45)
    fix = await stage.open_pull(
        author="alice",
        title="liblzma: Check the input size in decode_block()",
        body="A block larger than the dictionary is corrupt: say so instead of reading on.",
        files={"src/lzma_decoder.c": DECODER_FIXED},
    )
    stage.at(2, 13, 20)
    review = fix.review("bob", "APPROVED", body="Good catch.")
    await stage.deliver(fake.webhooks.pull_request_review(review, "submitted"))
    stage.at(2, 14, 0)
    fixed = await stage.merge(fix, by="alice", method="squash")
    changes.append(
        Change(
            "reviewed-fix",
            "Wed",
            f"decoder fix #{fix.number}, approved by bob",
            "alice fixes a bounds check in the decoder; bob approves it before she merges: "
            "the way every change is meant to land.",
            f"pr-{fix.number}",
            fixed,
            fix.number,
            fix.head_sha,
        )
    )

    # Thursday: two backports of the fix, merged by the release manager without review
    cherry = f"(cherry picked from commit {fixed})"
    for slug, branch, content, what, story, hour in (
        (
            "clean-backport",
            "v5.4",
            DECODER_FIXED,
            "clean backport of #{n} to v5.4",
            "carol, the release manager, cherry-picks the fix onto v5.4 and merges it: the same "
            "lines as the reviewed original, so it inherits the original's review.",
            10,
        ),
        (
            "divergent-backport",
            "v5.2",
            DECODER_52_FIXED,
            "backport of #{n} to v5.2, adapted",
            "carol cherry-picks the fix onto v5.2, where it had to be adapted by hand: not the "
            "same change, so it needs a review of its own (bob signs it off on Saturday).",
            11,
        ),
    ):
        stage.at(3, hour, 0)
        pr = await stage.open_pull(
            author="carol",
            base=branch,
            title=f"[{branch}] {fix.title} (GH-{fix.number})",
            body=cherry,
            files={"src/lzma_decoder.c": content},
        )
        stage.at(3, hour, 30)
        sha = await stage.merge(pr, by="carol")
        changes.append(
            Change(
                slug,
                "Thu",
                f"{what.format(n=fix.number)} (#{pr.number})",
                story,
                f"pr-{pr.number}",
                sha,
                pr.number,
                pr.head_sha,
            )
        )

    # Friday: the release branch's last commit rewritten
    stage.at(4, 17, 40)
    forced = repo.push(
        "v5.6",
        [
            {
                "message": "Bump version to 5.6.1",
                "files": {"src/version.h": '#define LZMA_VERSION_STRING "5.6.1"\n'},
                "author": "mallory",
            }
        ],
        pusher="mallory",
        forced=True,
    )
    await stage.deliver(fake.webhooks.push(forced))
    key = ChangeId.push(REPO, forced.ref, forced.before, forced.after, forced=True).key
    changes.append(
        Change(
            "force-push",
            "Fri",
            "force push to v5.6",
            "mallory rewrites the last commit of the release branch v5.6: history that "
            "was there is gone, whoever reviewed it.",
            key,
            forced.after,
        )
    )

    # Saturday: sign-offs, as comments: on the v5.2 backport's pull request, and on the m4
    # change's audit issue (found as a maintainer finds it: the number its check run gives)
    by_slug = {change.slug: change for change in changes}
    stage.at(5, 10, 0)
    divergent = repo.pull(by_slug["divergent-backport"].pull)
    comment = divergent.comment(
        "bob", "/audit approve read the v5.2 adaptation: dict.size is 5.2's name for dict_size"
    )
    await stage.deliver(fake.webhooks.issue_comment(comment, "created"))
    issue = audit_issue_of(stage, by_slug["m4-self-merge"])
    if issue is None:
        stage.problems.append("the m4 change has no audit issue to sign off on")
    else:
        stage.at(5, 11, 0)
        comment = issue.comment("alice", "/audit approve looks like a portability fix to me")
        await stage.deliver(fake.webhooks.issue_comment(comment, "created"))
    return changes


def audit_issue_of(stage: Stage, change: Change) -> Any:
    """The audit issue the record on ``change``'s check run names, or None."""
    for run in stage.repo.check_runs.values():
        if run.head_sha == change.sha and run.external_id == change.key:
            named = (parse_record(run.text) or {}).get("audit_issue")
            if isinstance(named, dict) and isinstance(named.get("number"), int):
                return stage.repo.issue(named["number"])
    return None


async def post_digest(stage: Stage) -> list[str]:
    """Next Monday 06:00 UTC: one tick of the server's scheduler (redelivery, sweep, digest),
    and its queued work done. Returns the jobs that ran."""
    from bot.service.server import QUEUE, SCHEDULER

    stage.at(7, 6, 0)
    ran: list[str] = await stage.app[SCHEDULER].tick()
    await stage.app[QUEUE].join()
    return ran


# ----------------------------------------------------------------------------- what GitHub shows


@dataclass
class ShownRun:
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    title: str
    summary: str
    text: str
    external_id: str
    url: str


@dataclass
class ShownComment:
    author: str
    body: str
    at: str


@dataclass
class ShownIssue:
    number: int
    title: str
    state: str
    author: str
    labels: list[str]
    body: str
    url: str
    comments: list[ShownComment]


@dataclass
class Shown:
    """One change as GitHub shows it, and how its record compares with the script."""

    change: Change
    run: ShownRun | None
    record: dict[str, Any] | None
    pre_merge: ShownRun | None = None
    audit_issue: ShownIssue | None = None
    pull: ShownIssue | None = None
    got: Expected | None = None
    differences: list[str] = field(default_factory=list)


@dataclass
class ShownDigest:
    issue: ShownIssue | None
    record: dict[str, Any] | None
    differences: list[str] = field(default_factory=list)


class GitHubReader:
    """Reads what the App wrote through the stand-in's REST API, as anyone with the installation's
    token would see it."""

    def __init__(self, session: Any, base_url: str, token: str) -> None:
        self.session = session
        self.base_url = base_url
        self.headers = {
            "Authorization": f"token {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    async def get(self, path: str, **params: str) -> Any:
        url = self.base_url + path
        async with self.session.get(url, headers=self.headers, params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def runs(self, sha: str) -> list[ShownRun]:
        data = await self.get(f"/repos/{REPO}/commits/{sha}/check-runs", per_page="100")
        return [
            ShownRun(
                name=str(run["name"]),
                head_sha=str(run["head_sha"]),
                status=str(run["status"]),
                conclusion=run.get("conclusion"),
                title=str(run["output"].get("title") or ""),
                summary=str(run["output"].get("summary") or ""),
                text=str(run["output"].get("text") or ""),
                external_id=str(run.get("external_id") or ""),
                url=str(run.get("html_url") or ""),
            )
            for run in data["check_runs"]
        ]

    async def run_for(self, sha: str, key: str) -> ShownRun | None:
        for run in await self.runs(sha):
            if run.name == "countersign" and run.external_id == key:
                return run
        return None

    async def issue(self, number: int) -> ShownIssue:
        data = await self.get(f"/repos/{REPO}/issues/{number}")
        comments = await self.get(f"/repos/{REPO}/issues/{number}/comments", per_page="100")
        return ShownIssue(
            number=int(data["number"]),
            title=str(data["title"]),
            state=str(data["state"]),
            author=str(data["user"]["login"]),
            labels=[str(label["name"]) for label in data["labels"]],
            body=str(data.get("body") or ""),
            url=str(data["html_url"]),
            comments=[
                ShownComment(str(c["user"]["login"]), str(c["body"]), str(c["created_at"]))
                for c in comments
            ],
        )

    async def digest_issue(self) -> ShownIssue | None:
        from bot.digest import DIGEST_LABEL

        found = await self.get(
            f"/repos/{REPO}/issues", state="all", labels=DIGEST_LABEL, per_page="100"
        )
        if not found:
            return None
        return await self.issue(int(found[0]["number"]))


def observed(record: dict[str, Any]) -> Expected:
    """What a change's record says, in the terms of :class:`Expected`."""
    backport = record.get("backport")
    kind = None
    if isinstance(backport, dict) and not backport.get("refused"):
        kind = "clean" if backport.get("clean") else "divergent"
    return Expected(
        kind=str(record.get("kind")),
        status=str(record.get("status")),
        conclusion=str(record.get("conclusion")),
        signed_off=bool(record.get("signed_off")),
        signoffs=tuple(str(s.get("login")) for s in record.get("signoffs") or []),
        audit_issue=bool(record.get("audit_issue")),
        backport=kind,
    )


def differences(expected: Expected, got: Expected) -> list[str]:
    want, have = asdict(expected), asdict(got)
    return [
        f"{name}: expected {want[name]!r}, got {have[name]!r}"
        for name in want
        if want[name] != have[name]
    ]


async def read_back(stage: Stage, changes: list[Change]) -> tuple[list[Shown], ShownDigest]:
    """Every change's check runs, issues and record, and the digest, through the REST API."""
    import aiohttp

    owner = REPO.split("/")[0]
    token = stage.fake.issue_token(owner)
    shown: list[Shown] = []
    async with aiohttp.ClientSession() as session:
        reader = GitHubReader(session, stage.fake.base_url, token)
        for change in changes:
            run = await reader.run_for(change.sha, change.key)
            record = parse_record(run.text) if run else None
            item = Shown(change, run, record)
            if change.head_sha is not None:
                item.pre_merge = await reader.run_for(change.head_sha, change.key)
            if change.pull is not None:
                item.pull = await reader.issue(change.pull)
            issue = (record or {}).get("audit_issue")
            if isinstance(issue, dict) and issue.get("number"):
                item.audit_issue = await reader.issue(int(issue["number"]))
            expected = EXPECTED.get(change.slug)
            if run is None or record is None:
                item.differences.append("no countersign check run with a record")
            else:
                item.got = observed(record)
                if expected is None:
                    item.differences.append("not in the table of expected verdicts")
                else:
                    item.differences += differences(expected, item.got)
            shown.append(item)
        issue = await reader.digest_issue()
    digest = ShownDigest(issue, parse_record(issue.body) if issue else None)
    if digest.issue is None or digest.record is None:
        digest.differences.append("no digest issue with a record")
    else:
        got = {
            "week": digest.record.get("week"),
            "reviewed": digest.record.get("reviewed"),
            "not_reviewed": digest.record.get("not_reviewed"),
            "open": len(digest.record.get("open") or []),
        }
        want = asdict(EXPECTED_DIGEST)
        digest.differences += [
            f"{name}: expected {want[name]!r}, got {got[name]!r}"
            for name in want
            if want[name] != got[name]
        ]
    return shown, digest


# ------------------------------------------------------------------------------------ the summary


def needed_more(record: dict[str, Any]) -> int:
    """How many more approvals or sign-offs the most demanding unmet requirement needs."""
    missing = [
        int(r.get("missing") or 0) for r in record.get("requirements") or [] if not r.get("met")
    ]
    return max(missing, default=0)


def verdict_note(item: Shown) -> str:
    """What the status and conclusion alone do not say: a backport, who signed off."""
    record = item.record or {}
    notes = []
    backport = record.get("backport")
    if isinstance(backport, dict) and not backport.get("refused"):
        if backport.get("clean"):
            inherited = ", ".join(str(n) for n in backport.get("inherited") or [])
            notes.append(f"clean backport, inherits {inherited or 'nothing'}")
        else:
            notes.append("backport with changes")
    signers = [str(s.get("login")) for s in record.get("signoffs") or []]
    if record.get("signed_off"):
        notes.append("signed off by " + ", ".join(signers))
    elif signers:
        notes.append(f"signed off by {', '.join(signers)}; {needed_more(record)} more needed")
    return "; ".join(notes)


def summary_lines(shown: Sequence[Shown], digest: ShownDigest, week: str) -> list[str]:
    lines = [f"countersign demo: the week {week} of {REPO}"]
    for item in shown:
        record = item.record or {}
        issue = f"audit #{item.audit_issue.number}" if item.audit_issue else ""
        mark = "ok" if not item.differences else "DIFFERS"
        line = (
            f"  {item.change.day}  {item.change.what:<38} {record.get('status', '-'):<12} "
            f"{record.get('conclusion', '-'):<8} {issue:<9} {mark}"
        )
        note = verdict_note(item)
        lines.append(f"{line}  ({note})" if note else line)
    if digest.issue is not None and digest.record is not None:
        counts = (
            f"{digest.record.get('reviewed')} reviewed, {digest.record.get('not_reviewed')} not, "
            f"{len(digest.record.get('open') or [])} open"
        )
        what = f"weekly digest, issue #{digest.issue.number}"
    else:
        counts, what = "-", "weekly digest"
    mark = "ok" if not digest.differences else "DIFFERS"
    lines.append(f"  Mon  {what:<38} {counts:<31} {mark}")
    return lines


# -------------------------------------------------------------------------------- running it


@dataclass
class Outcome:
    changes: list[Shown]
    digest: ShownDigest
    problems: list[str]
    jobs: list[str]
    webhook_url: str


class _Capture(logging.Handler):
    """Keeps the warnings and errors logged while the demo runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def load_fake() -> tuple[ModuleType | None, str]:
    """The GitHub stand-in: ``countersign_fakegithub`` (the ``demo`` extra), else
    ``tests.fakegithub`` from the checkout this ``bot`` package is in; or None and why not."""
    errors = []
    checkout = Path(__file__).resolve().parents[2]
    for name in ("countersign_fakegithub", "tests.fakegithub"):
        if name.startswith("tests.") and (checkout / "tests" / "fakegithub").is_dir():
            if str(checkout) not in sys.path:
                sys.path.append(str(checkout))
        try:
            return importlib.import_module(name), name
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    return None, "; ".join(errors)


async def play(fake_module: ModuleType, log_file: Path) -> Outcome:
    """Start the stand-in and the real server, play the week, read back what GitHub shows."""
    from aiohttp import web

    from bot.github.client import GitHubApp
    from bot.logs import JsonFormatter
    from bot.service.server import create_app
    from bot.settings import Settings

    root = logging.getLogger()
    level = root.level
    capture = _Capture()
    to_file = logging.FileHandler(log_file, mode="w", encoding="utf-8")
    to_file.setFormatter(JsonFormatter())
    root.addHandler(capture)
    root.addHandler(to_file)
    root.setLevel(logging.INFO)
    clock = DemoClock(START)
    fake = fake_module.FakeGitHub(clock=clock)
    try:
        await fake.start()
        lay_history(fake)
        settings = Settings(
            app_id=str(fake.app_id),
            private_key=fake.private_key_pem,
            webhook_secret=SECRET,
            api_url=fake.base_url,
            graphql_url=fake.graphql_url,
            host="127.0.0.1",
            request_timeout=10.0,
            schedule=False,  # the week's clock is the script's: the scheduler is driven by hand
        )
        app = create_app(settings, GitHubApp(settings, clock), clock)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            fake.hook_url = f"http://{host}:{port}/webhook"
            fake.hook_secret = SECRET
            stage = Stage(fake, app, clock)
            changes = await play_week(stage)
            jobs = await post_digest(stage)
            shown, digest = await read_back(stage, changes)
        finally:
            await runner.cleanup()
    finally:
        await fake.close()
        root.removeHandler(capture)
        root.removeHandler(to_file)
        root.setLevel(level)
        to_file.close()
    problems = list(stage.problems)
    problems += [f"the stand-in answered as GitHub would not: {e}" for e in fake.shape_errors]
    problems += [f"the stand-in failed: {e}" for e in fake.internal_errors]
    problems += [
        f"logged an error: {r.name}: {r.getMessage()}"
        for r in capture.records
        if r.levelno >= logging.ERROR
    ]
    return Outcome(shown, digest, problems, jobs, str(fake.hook_url))


def write_report(out: Path, outcome: Outcome, lines: list[str]) -> Path:
    """``index.html``, ``markdown/``, ``verdicts.json`` and ``summary.txt`` in ``out``."""
    from bot.cli import demo_report

    sources = out / "markdown"
    for number, item in enumerate(outcome.changes, 1):
        folder = sources / f"{number}-{item.change.slug}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, run in (("check-run", item.run), ("pre-merge-check-run", item.pre_merge)):
            if run is not None:
                (folder / f"{name}.summary.md").write_text(run.summary, encoding="utf-8")
                (folder / f"{name}.text.md").write_text(run.text, encoding="utf-8")
        for name, issue in (("audit-issue", item.audit_issue), ("pull-request", item.pull)):
            if issue is not None:
                (folder / f"{name}.md").write_text(demo_report.issue_markdown(issue), "utf-8")
    if outcome.digest.issue is not None:
        folder = sources / f"{len(outcome.changes) + 1}-digest"
        folder.mkdir(parents=True, exist_ok=True)
        text = demo_report.issue_markdown(outcome.digest.issue)
        (folder / "digest-issue.md").write_text(text, encoding="utf-8")
    verdicts = {
        "repository": REPO,
        "week": EXPECTED_DIGEST.week,
        "changes": [
            {
                "change": item.change.slug,
                "day": item.change.day,
                "what": item.change.what,
                "key": item.change.key,
                "commit": item.change.sha,
                "expected": asdict(EXPECTED[item.change.slug])
                if item.change.slug in EXPECTED
                else None,
                "got": asdict(item.got) if item.got else None,
                "differences": item.differences,
            }
            for item in outcome.changes
        ],
        "digest": {
            "expected": asdict(EXPECTED_DIGEST),
            "record": outcome.digest.record,
            "differences": outcome.digest.differences,
        },
        "problems": outcome.problems,
    }
    (out / "verdicts.json").write_text(json.dumps(verdicts, indent=2) + "\n", encoding="utf-8")
    (out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = out / "index.html"
    page.write_text(demo_report.page(outcome, REPO, EXPECTED_DIGEST.week), encoding="utf-8")
    return page


def preflight(out: Path, stderr: TextIO) -> ModuleType | None:
    """The stand-in, once everything the demo needs is there (else None, having said why)."""
    fake_module, why = load_fake()
    if fake_module is None:
        print(f"countersign demo: {INSTALL_HINT}\n({why})", file=stderr)
        return None
    try:
        importlib.import_module("markdown_it")
    except ImportError as exc:
        print(f"countersign demo: {INSTALL_HINT}\n({exc})", file=stderr)
        return None
    fixtures = importlib.import_module(f"{fake_module.__name__}.fixtures")
    lacking = fixtures.missing(fixtures.FIXTURES)
    if lacking:
        print(
            "countersign demo: the GitHub stand-in needs GitHub's published schemas and webhook "
            f"examples (github-fixtures), and {fixtures.FIXTURES} lacks {', '.join(lacking)}. "
            "Put them beside the checkout as ../shared/github-fixtures (as CI does), or name "
            f"their folder with {fixtures.ENVIRONMENT}=DIR.",
            file=stderr,
        )
        return None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"countersign demo: cannot write the report to {out}: {exc.strerror}", file=stderr)
        return None
    return fake_module


def run(out: Path, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Play the week (:func:`play`, the async part) and write the report to ``out``; the exit
    status (see the module)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    fake_module = preflight(out, stderr)
    if fake_module is None:
        return USAGE_ERROR
    outcome = asyncio.run(play(fake_module, out / "bot.log"))
    lines = summary_lines(outcome.changes, outcome.digest, EXPECTED_DIGEST.week)
    page = write_report(out, outcome, lines)
    print("\n".join(lines), file=stdout)
    print(f"report: {page.resolve()}", file=stdout)
    print(f"        (the Markdown the bot wrote: {(out / 'markdown').resolve()})", file=stdout)
    different = [
        f"{item.change.slug}: {difference}"
        for item in outcome.changes
        for difference in item.differences
    ]
    different += [f"digest: {difference}" for difference in outcome.digest.differences]
    different += outcome.problems
    if different:
        print("the week did not go as scripted:", file=stdout)
        for difference in different:
            print(f"  - {difference}", file=stdout)
        return DIFFERENT
    print(
        f"every verdict is as scripted ({len(outcome.changes)} changes and the digest)", file=stdout
    )
    return 0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="play a scripted week against a local GitHub stand-in and write an HTML report",
        description=DESCRIPTION,
    )
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"the report folder (default: ./{DEFAULT_OUT})",
    )


def from_args(args: argparse.Namespace) -> int:
    return run(Path(args.out))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot demo`` with its own arguments (``["--out", DIR]``)."""
    parser = argparse.ArgumentParser(prog="python -m bot demo", description=DESCRIPTION)
    add_arguments(parser)
    return from_args(parser.parse_args(argv))
