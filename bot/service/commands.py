"""``/audit`` comment commands, on pull requests and on audit issues.

- ``/audit`` or ``/audit status``: judge the change now and reply with the report (on an open pull
  request the check run is refreshed too); anyone may ask.
- ``/audit approve [note]``: sign off an audited change after it landed. Only a human with write
  permission on the change's repository who is neither its author nor a contributor (for a push:
  not the pusher) may; each person counts once.
- ``/audit help``: the commands and who may use them.

The bot marks a command it received with a reaction and answers in one comment, which carries a
hidden marker naming the command's comment: a redelivery finds that answer and does nothing.
Comments by bots (this App included) are never read as commands, and edits never re-run one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from gidgethub import BadRequest, routing, sansio

from bot import audit
from bot.core.change import ChangeId, parse_key
from bot.core.record import find_audit_marker, recorded_policy
from bot.core.render import check_run_output, escape, login
from bot.github import gather
from bot.github.client import GitHubClient
from bot.github.gather import split_repo, written_by_app
from bot.offload import judge_off_loop
from bot.service.releases import release_command, release_subject
from bot.services import Services, cached

logger = logging.getLogger(__name__)

router = routing.Router()

CommandName = Literal["status", "approve", "help", "unknown"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMAND = re.compile(r"^ {0,3}/audit(?:$|\s+(?P<rest>.*))", re.I)
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
REPLY_MARKER = "<!-- countersign:reply comment={} -->"


@dataclass(frozen=True)
class Command:
    name: CommandName
    argument: str = ""
    word: str = ""


def parse_command(body: str | None) -> Command | None:
    """The first ``/audit`` command in a comment, or None.

    A command is a line starting with ``/audit`` (case-insensitive) that is not inside a fenced or
    indented code block or a quote.

    >>> parse_command("LGTM\\n/Audit approve checked the m4 files")
    Command(name='approve', argument='checked the m4 files', word='approve')
    >>> parse_command("> /audit approve") is None
    True
    """
    fence: str | None = None
    for raw in (body or "").splitlines():
        line = raw.rstrip()
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        if raw.startswith(("    ", "\t")):
            continue  # an indented code block
        match = _COMMAND.match(line)
        if match is None:
            continue
        rest = (match.group("rest") or "").strip()
        word, argument = ([*rest.split(None, 1), ""])[:2] if rest else ("", "")
        lowered = word.lower()
        if lowered in ("", "status"):
            return Command("status", argument.strip(), lowered)
        if lowered in ("approve", "help"):
            return Command(lowered, argument.strip(), lowered)  # type: ignore[arg-type]
        return Command("unknown", rest, word)
    return None


HELP = """\
**countersign commands** (a line starting with `/audit` in a comment):

| command | what it does | who may use it |
| --- | --- | --- |
| `/audit` or `/audit status` | judges the change now and replies with the report; on an open pull request it also refreshes the `countersign` check | anyone |
| `/audit approve [note]` | signs off an audited change after it merged or was pushed, with an optional note | a person with write permission on the repository who is neither the change's author nor a contributor (for a push: not the pusher); each person counts once |
| `/audit help` | this list | anyone |
| `/audit` in a release audit issue | runs the release audit again; sign off each listed change in its own pull request or audit issue | anyone |

Before a pull request merges, a normal approving review is the way to review it."""


def _is_bot(user: dict[str, Any]) -> bool:
    return user.get("type") == "Bot" or str(user.get("login", "")).lower().endswith("[bot]")


@dataclass(frozen=True)
class Subject:
    """What a command is about: a pull request, or the change an audit issue records.

    ``audit_issue`` is ``(repository, number)`` of the audit issue the command was given on:
    such a subject is only believed once the change's own record names that issue.
    """

    repo: str
    number: int | None = None
    push_key: str | None = None
    audit_issue: tuple[str, int] | None = None


def subject_of(data: dict[str, Any], app_id: str) -> Subject | None:
    """The pull request commented on, or the change named by the marker of an audit issue that
    this App wrote (a marker typed by anyone else names nothing)."""
    issue = data["issue"]
    repo = str(data["repository"]["full_name"])
    if issue.get("pull_request"):
        return Subject(repo, number=int(issue["number"]))
    if not written_by_app(issue, app_id):
        return None
    marker = find_audit_marker(issue.get("body") or "")
    if marker is None:
        return None
    change_repo, key = marker
    here = (repo, int(issue["number"]))
    if key.startswith("pr-") and key[3:].isdigit():
        return Subject(change_repo, number=int(key[3:]), audit_issue=here)
    return Subject(change_repo, push_key=key, audit_issue=here)


NOT_THIS_CHANGE = (
    "this issue is not the audit issue countersign recorded for the change it names, so it "
    "cannot be used to report on or sign off that change; nothing was changed."
)


async def _issue_may_speak(gh: GitHubClient, services: Services, subject: Subject) -> bool:
    """An audit issue speaks only of a change in its own repository, or in a repository whose
    policy sends its audit issues to the issue's repository."""
    if subject.audit_issue is None or subject.audit_issue[0] == subject.repo:
        return True
    owner, name = split_repo(subject.repo)
    try:
        repo_data = await gh.getitem("/repos/{owner}/{name}", {"owner": owner, "name": name})
    except BadRequest as exc:
        if exc.status_code in (403, 404):
            return False
        raise
    default_branch = str(repo_data.get("default_branch") or "main")
    policy = await gather.policy_for(gh, services, subject.repo, default_branch)
    return policy.audit_repository == subject.audit_issue[0]


def _recorded_issue_is(gathered: gather.Gathered, subject: Subject) -> bool:
    """Whether the change's record (written by this App) names the audit issue the command was
    given on; always true for a command on the pull request itself."""
    if subject.audit_issue is None:
        return True
    recorded = (gathered.existing.record or {}).get("audit_issue")
    return (
        isinstance(recorded, dict)
        and (
            str(recorded.get("repository")),
            recorded.get("number"),
        )
        == subject.audit_issue
    )


class Replier:
    """Answers one command comment, once."""

    def __init__(self, gh: GitHubClient, data: dict[str, Any], app_id: str) -> None:
        self.gh = gh
        self.app_id = app_id
        self.repo = str(data["repository"]["full_name"])
        self.number = int(data["issue"]["number"])
        self.comment_id = int(data["comment"]["id"])
        self.author = str(data["comment"]["user"]["login"])

    @property
    def marker(self) -> str:
        return REPLY_MARKER.format(self.comment_id)

    async def already_answered(self) -> bool:
        """React to the command; when the reaction was there already, look for our answer."""
        owner, name = split_repo(self.repo)
        code, _ = await self.gh.post_with_status(
            "/repos/{owner}/{name}/issues/comments/{id}/reactions",
            {"owner": owner, "name": name, "id": self.comment_id},
            data={"content": "eyes"},
        )
        if code == 201:
            return False
        async for comment in self.gh.getiter(
            "/repos/{owner}/{name}/issues/{number}/comments?per_page=100",
            {"owner": owner, "name": name, "number": self.number},
        ):
            if self.marker in (comment.get("body") or "") and written_by_app(comment, self.app_id):
                return True
        return False

    async def reply(self, text: str) -> None:
        owner, name = split_repo(self.repo)
        await self.gh.post(
            "/repos/{owner}/{name}/issues/{number}/comments",
            {"owner": owner, "name": name, "number": self.number},
            data={"body": f"{self.marker}\n{login(self.author)}: {text}"},
        )


@router.register("issue_comment", action="created")
async def command_comment(
    event: sansio.Event, gh: GitHubClient, *, services: Services, **kwargs: Any
) -> None:
    data = event.data
    if _is_bot(data["comment"]["user"]):
        return
    command = parse_command(data["comment"].get("body"))
    if command is None:
        return
    replier = Replier(gh, data, services.settings.app_id)
    if await replier.already_answered():
        logger.info("command already answered", extra={"comment": replier.comment_id})
        return
    logger.info("command", extra={"command": command.name, "comment": replier.comment_id})
    if command.name == "help":
        await replier.reply(HELP)
        return
    if command.name == "unknown":
        await replier.reply(
            f"`/audit {escape(command.word)}` is not a countersign command; nothing was changed.\n\n"
            + HELP
        )
        return
    released = release_subject(data, services.settings.app_id)
    if released is not None:
        if not await _issue_may_speak(
            gh, services, Subject(released[0], audit_issue=(replier.repo, replier.number))
        ):
            await replier.reply(NOT_THIS_CHANGE)
            return
        here = (replier.repo, replier.number)
        await replier.reply(await release_command(gh, services, released, command.name, here))
        return
    subject = subject_of(data, services.settings.app_id)
    if subject is None:
        await replier.reply(
            "this is neither a pull request nor a countersign audit issue, so there is nothing to "
            "audit here; nothing was changed."
        )
        return
    if not await _issue_may_speak(gh, services, subject):
        await replier.reply(NOT_THIS_CHANGE)
        return
    if command.name == "status":
        await status(gh, services, replier, subject)
    else:
        await approve(gh, services, replier, subject, command.argument, data)


async def _gather_subject(
    gh: GitHubClient, services: Services, subject: Subject
) -> gather.Gathered | None:
    owner, name = split_repo(subject.repo)
    if subject.number is not None:
        return await gather.gather_pull_request(gh, services, subject.repo, subject.number)
    assert subject.push_key is not None
    change = parse_key(subject.repo, subject.push_key)
    if change is None or change.kind != "push" or change.branch is None:
        return None
    repo_data = await gh.getitem("/repos/{owner}/{name}", {"owner": owner, "name": name})
    default_branch = str(repo_data.get("default_branch") or change.branch)
    policy = await gather.policy_for(gh, services, subject.repo, default_branch)
    record = (
        await gather.record_on(gh, services, subject.repo, change.head, subject.push_key)
    ).record
    if not record:
        return None
    recorded = ChangeId.push(
        subject.repo,
        change.branch,
        str(record.get("before") or change.before),
        str(record.get("after") or change.after),
        forced=change.forced,
        deleted=change.deleted,
    )
    return await gather.gather_push(
        gh,
        services,
        recorded,
        policy,
        pusher=str(record.get("pusher") or "") or None,
        default_branch=default_branch,
    )


async def status(gh: GitHubClient, services: Services, replier: Replier, subject: Subject) -> None:
    """Report on the change, reading each fact once: an open pull request is judged (and its
    check run refreshed) from the same read as a landed change's report."""
    gathered = await _gather_subject(gh, services, subject)
    if gathered is not None and gathered.open:
        if subject.audit_issue is not None:
            # countersign opens audit issues only for changes that landed
            await replier.reply(NOT_THIS_CHANGE)
            return
        verdict = await audit.check_open_pull_request(gh, services, gathered)
        if verdict is None:
            await replier.reply("this pull request's base branch is not audited.")
            return
        conclusion = audit.pre_merge_conclusion(verdict, gathered.policy)
        _, summary, _ = check_run_output(gathered.facts, verdict, conclusion=conclusion)
        await replier.reply(summary)
        return
    if gathered is None:
        await replier.reply("countersign has no record of this change; nothing was changed.")
        return
    if not _recorded_issue_is(gathered, subject):
        await replier.reply(NOT_THIS_CHANGE)
        return
    policy = (
        recorded_policy(gathered.existing.record, gathered.policy)
        if gathered.existing.landed
        else gathered.policy
    )
    verdict = await judge_off_loop(gathered.facts, policy)
    _, summary, _ = check_run_output(gathered.facts, verdict)
    await replier.reply(summary)


async def _permission(gh: GitHubClient, services: Services, repo: str, user: str) -> str:
    owner, name = split_repo(repo)

    async def fetch() -> str:
        try:
            answer = await gh.getitem(
                "/repos/{owner}/{name}/collaborators/{user}/permission",
                {"owner": owner, "name": name, "user": user},
            )
        except BadRequest as exc:
            if exc.status_code not in (403, 404):
                raise
            return "none"
        return str(answer.get("permission") or "none")

    return await cached(services.caches.permissions, (repo, user), fetch)


async def approve(
    gh: GitHubClient,
    services: Services,
    replier: Replier,
    subject: Subject,
    note: str,
    data: dict[str, Any],
) -> None:
    signer = replier.author
    if (
        subject.number is not None
        and data["issue"].get("pull_request")
        and (data["issue"].get("state") == "open")
    ):
        await replier.reply(
            "this pull request is still open: approve it with a normal review instead. "
            "`/audit approve` signs off a change after it landed; nothing was changed."
        )
        return
    if await _permission(gh, services, subject.repo, signer) not in WRITE_PERMISSIONS:
        await replier.reply(
            f"only people with write permission on {escape(subject.repo)} may sign off a change; "
            "nothing was changed."
        )
        return
    gathered = await _gather_subject(gh, services, subject)
    if gathered is None or (gathered.facts.kind == "pull_request" and not gathered.facts.merged):
        await replier.reply("countersign has no audit record of this change; nothing was changed.")
        return
    if not _recorded_issue_is(gathered, subject):
        await replier.reply(NOT_THIS_CHANGE)
        return
    done = await audit.sign_off(gh, services, gathered, signer, note)
    if done.outcome == "not-audited":
        await replier.reply(
            f"changes to {escape(gathered.facts.branch)} are not audited by this repository's "
            "countersign policy, so there is nothing to sign off; nothing was changed."
        )
    elif done.outcome == "nothing-to-sign":
        await replier.reply(
            "this change already meets every requirement of the policy: there is nothing to sign "
            "off; nothing was changed."
        )
    elif done.outcome == "not-independent":
        await replier.reply(
            f"{login(signer)} {done.reason}, so cannot sign it off: a sign-off must come from "
            "someone independent of the change. Nothing was changed."
        )
    elif done.outcome == "already":
        await replier.reply(f"{login(signer)} has already signed this change off; it counts once.")
    elif done.outcome == "signed-off":
        await replier.reply(
            f"signed off after merge by {login(signer)}. The `countersign` check is now "
            "`success`" + (" and the audit issue is closed." if done.issue else ".")
        )
    else:
        missing = done.missing
        await replier.reply(
            f"sign-off by {login(signer)} recorded. {missing} more sign-off"
            f"{'s' if missing != 1 else ''} from different people "
            f"{'are' if missing != 1 else 'is'} needed before this change counts as reviewed."
        )
