"""GitHub's issue and pull request search syntax, run over the fake's state.

Used by GraphQL's ``search(query:, type: ISSUE)``. What the fake understands, per GitHub's
"Searching issues and pull requests" and "Understanding the search syntax":

* ``is:pr`` / ``type:pr``, ``is:issue`` / ``type:issue``, ``is:open`` / ``is:closed`` /
  ``state:...``, ``is:merged`` / ``is:unmerged``, ``is:draft`` / ``draft:true|false``,
  ``is:locked`` / ``is:unlocked``, ``is:public`` / ``is:private``, ``reason:completed`` /
  ``reason:"not planned"``;
* ``repo:OWNER/NAME``, ``user:LOGIN``, ``org:LOGIN`` (repeated: any of them);
* people: ``author:LOGIN`` (``author:app/SLUG`` for an app's bot), ``assignee:LOGIN``,
  ``mentions:LOGIN`` (an ``@LOGIN`` in the body or a comment), ``commenter:LOGIN`` (an issue
  comment by the user), ``involves:LOGIN`` - as the docs define it, "a logical OR between the
  author, assignee, mentions, and commenter qualifiers"; so a pull request *review* does not make
  its reviewer involved (nor a commenter): ask ``reviewed-by:LOGIN`` for that. Repeated
  ``involves:`` qualifiers are ORed (the docs' ``involves:defunkt involves:jlord``);
* ``reviewed-by:LOGIN`` - a submitted (not pending) review by the user, any state;
* ``label:NAME`` (``label:a,b`` is either), ``no:label``, ``no:assignee``, ``head:``, ``base:``,
  ``comments:N`` with ranges;
* dates: ``created:``, ``updated:``, ``closed:``, ``merged:`` with ``YYYY-MM-DD`` or
  ``YYYY-MM-DDTHH:MM:SS`` (+ zone; no zone is UTC) after ``>``, ``>=``, ``<``, ``<=``, alone (that
  day) or as a range ``a..b`` (``*`` open). ``>2024-01-01`` means after that day;
* ``-qualifier:value`` and ``NOT keyword`` negate;
* ``sort:created|updated|comments[-asc|-desc]`` (default: newest created first; GitHub's default
  is "best match");
* anything else is a keyword: a case-insensitive substring of the title, the body or a comment
  (``in:title,body,comments`` narrows), or, seven or more hex digits, the prefix of a commit SHA of
  a pull request. An unknown ``name:value`` is a keyword too, as on GitHub.

GitHub has no qualifier for *who merged* a pull request (only ``is:merged`` and ``merged:<date>``):
use ``GET /repos/{owner}/{repo}/activity?activity_type=pr_merge&actor=LOGIN`` or
``PullRequest.mergedBy`` for that.

Qualifiers GitHub has but the fake does not model (``team:``, ``milestone:``, ``project:``,
``status:``, ``language:``, ``review:``, ``review-requested:``, ``linked:``, ``@me``...) raise
:class:`Unsupported`, rather than silently matching nothing. A ``repo:`` that does not exist, or
that the caller cannot see, matches nothing (GitHub's REST search answers 422 there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import Account, Issue, Repository, World

MAX_RESULTS = 1000
"""GitHub: "a maximum of 1,000 results will be available" (the count itself is not capped)."""

UNSUPPORTED = frozenset(
    {
        "team",
        "linked",
        "milestone",
        "project",
        "status",
        "language",
        "interactions",
        "reactions",
        "review",
        "review-requested",
        "user-review-requested",
        "team-review-requested",
    }
)
_PERSON = frozenset({"author", "assignee", "mentions", "commenter", "involves", "reviewed-by"})
_ORED = frozenset({"repo", "user", "org", "involves"})
_TOKEN = re.compile(
    r'(?P<neg>-)?(?:(?P<name>[A-Za-z][\w-]*):(?P<value>"[^"]*"|\S*)|"(?P<phrase>[^"]*)"|(?P<word>\S+))'
)
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


class Unsupported(ValueError):
    """A search qualifier GitHub knows that the fake does not model."""


@dataclass(frozen=True)
class Term:
    negated: bool
    name: str | None  # None: a keyword
    value: str


@dataclass
class Query:
    terms: list[Term]
    sort: tuple[str, bool] = ("created", True)  # (field, descending)
    fields: tuple[str, ...] = ("title", "body", "comments")


def parse(text: str) -> Query:
    """Split a search string into terms (quotes keep spaces; ``NOT`` negates the next keyword)."""
    terms: list[Term] = []
    query = Query(terms)
    negate_next = False
    for found in _TOKEN.finditer(text):
        negated = bool(found["neg"]) or negate_next
        negate_next = False
        if found["name"] is not None:
            name = found["name"].lower()
            value = found["value"].strip('"')
            if name == "sort":
                field, _, direction = value.partition("-")
                if field not in ("created", "updated", "comments"):
                    raise Unsupported(f"sort:{value}")
                query.sort = (field, direction != "asc")
            elif name == "in":
                query.fields = tuple(p for p in value.lower().split(",") if p)
            else:
                terms.append(Term(negated, name, value))
        elif found["phrase"] is not None:
            terms.append(Term(negated, None, found["phrase"]))
        elif found["word"] == "NOT":
            negate_next = True
        elif found["word"] in ("AND", "OR"):
            raise Unsupported(f"the boolean operator {found['word']}")
        else:
            terms.append(Term(negated, None, found["word"]))
    return query


# ======================================================================================= dates


def _instant(text: str) -> tuple[datetime, bool]:
    """``(datetime, whole_day)`` for ``YYYY-MM-DD`` or an ISO 8601 time (UTC when no zone)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC), True
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Unsupported(f"the date {text!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), False


def _operator(text: str) -> tuple[str, str] | None:
    """``(op, rest)`` when ``text`` starts with a comparison operator."""
    for candidate in (">=", "<=", ">", "<"):
        if text.startswith(candidate):
            return candidate, text[len(candidate) :]
    return None


def _day_bounds(text: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a day, or of a single instant (``[t, t + 1µs)``)."""
    when, whole = _instant(text)
    return (when, when + timedelta(days=1)) if whole else (when, when + timedelta(microseconds=1))


def _in_window(t: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    return t is not None and (start is None or t >= start) and (end is None or t < end)


def date_test(spec: str) -> Callable[[datetime | None], bool]:
    """A predicate for ``created:``/``updated:``/``closed:``/``merged:`` values."""
    start: datetime | None
    end: datetime | None
    if ".." in spec:
        low, _, high = spec.partition("..")
        start = _day_bounds(low)[0] if low not in ("", "*") else None
        end = _day_bounds(high)[1] if high not in ("", "*") else None
    elif (split := _operator(spec)) is not None:
        op, rest = split
        first, last = _day_bounds(rest)
        start, end = {
            ">=": (first, None),
            ">": (last, None),
            "<": (None, first),
            "<=": (None, last),
        }[op]
    else:
        start, end = _day_bounds(spec)
    return lambda t: _in_window(t, start, end)


# ===================================================================================== matching


def _login_is(account: Account | None, login: str) -> bool:
    if account is None:
        return False
    wanted = login.lower()
    if wanted.startswith("app/"):
        wanted = wanted.removeprefix("app/") + "[bot]"
    return account.login.lower() in (wanted, f"{wanted}[bot]")


def _mentions(text: str | None, login: str) -> bool:
    if not text:
        return False
    pattern = rf"(?<![\w`])@{re.escape(login)}(?![\w-])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def _person(issue: Issue, name: str, login: str) -> bool:
    if login.startswith("@"):
        raise Unsupported(f"{name}:{login} (the fake has no signed-in user)")
    if name == "author":
        return _login_is(issue.user, login)
    if name == "assignee":
        return any(_login_is(a, login) for a in issue.assignees)
    if name == "mentions":
        return _mentions(issue.body, login) or any(_mentions(c.body, login) for c in issue.comments)
    if name == "commenter":
        return any(_login_is(c.user, login) for c in issue.comments)
    if name == "involves":
        return any(
            _person(issue, n, login) for n in ("author", "assignee", "mentions", "commenter")
        )
    # reviewed-by
    pr = issue.pull
    return pr is not None and any(
        r.state != "PENDING" and _login_is(r.user, login) for r in pr.reviews
    )


def _is(issue: Issue, value: str) -> bool:
    pr = issue.pull
    checks: dict[str, Callable[[], bool]] = {
        "pr": lambda: pr is not None,
        "pull-request": lambda: pr is not None,
        "issue": lambda: pr is None,
        "open": lambda: issue.state == "open",
        "closed": lambda: issue.state == "closed",
        "merged": lambda: pr is not None and pr.merged,
        "unmerged": lambda: pr is not None and not pr.merged,
        "draft": lambda: pr is not None and pr.draft,
        "locked": lambda: issue.locked,
        "unlocked": lambda: not issue.locked,
        "public": lambda: not issue.repo.private,
        "private": lambda: issue.repo.private,
    }
    check = checks.get(value.lower())
    if check is None:
        raise Unsupported(f"is:{value}")
    return check()


def _keyword(issue: Issue, word: str, fields: tuple[str, ...]) -> bool:
    needle = word.lower()
    texts: list[str | None] = []
    if "title" in fields:
        texts.append(issue.title)
    if "body" in fields:
        texts.append(issue.body)
    if "comments" in fields:
        texts.extend(c.body for c in issue.comments)
    if any(t and needle in t.lower() for t in texts):
        return True
    pr = issue.pull
    if pr is not None and _SHA.match(needle):
        shas = [*pr.commits, *pr.landed, pr.merge_commit_sha or ""]
        return any(s.startswith(needle) for s in shas)
    return False


def _date_of(issue: Issue, name: str) -> datetime | None:
    if name == "created":
        return issue.created_at
    if name == "updated":
        return issue.updated_at
    if name == "closed":
        return issue.closed_at
    return issue.pull.merged_at if issue.pull is not None else None


def _count_test(spec: str) -> Callable[[int], bool]:
    try:
        if ".." in spec:
            low, _, high = spec.partition("..")
            lo = int(low) if low not in ("", "*") else None
            hi = int(high) if high not in ("", "*") else None
        elif (split := _operator(spec)) is not None:
            op, rest = split
            value = int(rest)
            lo, hi = {
                ">=": (value, None),
                ">": (value + 1, None),
                "<=": (None, value),
                "<": (None, value - 1),
            }[op]
        else:
            lo = hi = int(spec)
    except ValueError:
        raise Unsupported(f"the number {spec!r}") from None
    return lambda n: (lo is None or n >= lo) and (hi is None or n <= hi)


def _term(issue: Issue, term: Term, query: Query) -> bool:
    name, value = term.name, term.value
    if name is None:
        return _keyword(issue, value, query.fields)
    if name in _PERSON:
        return _person(issue, name, value)
    repo = issue.repo
    pr = issue.pull
    if name == "is":
        return _is(issue, value)
    if name == "type":
        return _is(issue, value)
    if name == "state":
        return issue.state == value.lower()
    if name == "reason":
        wanted = value.lower().replace(" ", "_")
        return issue.state == "closed" and (issue.state_reason or "").lower() == wanted
    if name == "repo":
        return repo.full_name.lower() == value.lower()
    if name in ("user", "org"):
        return repo.owner.login.lower() == value.lower()
    if name == "label":
        names = {lb.name.lower() for lb in issue.labels}
        return any(n.strip().lower() in names for n in value.split(","))
    if name == "no":
        if value == "label":
            return not issue.labels
        if value == "assignee":
            return not issue.assignees
        if value in ("milestone", "project"):
            return True  # the fake models neither
        raise Unsupported(f"no:{value}")
    if name == "head":
        return pr is not None and pr.head_ref.startswith(value)
    if name == "base":
        return pr is not None and pr.base_ref == value
    if name == "draft":
        return pr is not None and pr.draft == (value.lower() == "true")
    if name == "archived":
        return value.lower() == "false"  # the fake has no archived repositories
    if name == "comments":
        return _count_test(value)(len(issue.comments))
    if name in ("created", "updated", "closed", "merged"):
        return date_test(value)(_date_of(issue, name))
    if name in UNSUPPORTED:
        raise Unsupported(f"{name}:{value}")
    # GitHub reads an unknown qualifier as words to look for.
    return _keyword(issue, f"{name}:{value}", query.fields)


def matches(issue: Issue, query: Query) -> bool:
    """Whether an issue or pull request matches every term (repeated ``repo:``, ``user:``,
    ``org:`` and ``involves:`` terms: any of them)."""
    grouped: dict[str, list[Term]] = {}
    for term in query.terms:
        if term.name in _ORED and not term.negated:
            grouped.setdefault(term.name, []).append(term)
            continue
        if _term(issue, term, query) == term.negated:
            return False
    return all(any(_term(issue, t, query) for t in group) for group in grouped.values())


def search_issues(world: World, text: str, visible: Callable[[Repository], bool]) -> list[Issue]:
    """Every issue and pull request of the repositories ``visible`` accepts that matches ``text``,
    in the query's order (a pull request is returned as its :class:`Issue`; ``issue.pull`` is
    set)."""
    query = parse(text)
    repos: Iterable[Repository] = (r for r in world.repos.values() if visible(r))
    found = [i for r in repos for i in r.issues.values() if matches(i, query)]
    field, descending = query.sort
    keys: dict[str, Callable[[Issue], tuple[Any, ...]]] = {
        "created": lambda i: (i.created_at, i.id),
        "updated": lambda i: (i.updated_at, i.id),
        "comments": lambda i: (len(i.comments), i.created_at, i.id),
    }
    found.sort(key=keys[field], reverse=descending)
    return found
