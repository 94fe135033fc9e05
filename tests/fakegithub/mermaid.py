"""A small grammar check of the Mermaid charts the bot writes into issues and comments.

GitHub renders a fenced ```` ```mermaid ```` block as a diagram, and accepts any text: a chart that
Mermaid cannot parse shows an error box instead of a picture. The fake cannot run Mermaid, so it
checks the two chart kinds the bot uses against their grammar, and whenever an issue or comment
body is created or edited through the REST API (:data:`CHECKED_ROUTES`), every problem found is
added to ``fake.shape_errors`` (which fails the test at teardown). The request itself succeeds, as
on GitHub.

Accepted:

* ``xychart-beta`` (optionally ``horizontal``): an optional ``title "..."``; one ``x-axis`` with
  categories (``x-axis [a, "b c", d]`` or ``x-axis "title" [...]``) or a numeric range
  (``x-axis "title" 0 --> 10``); an optional ``y-axis`` (``y-axis "title"``, ``y-axis "title"
  0 --> 100`` or ``y-axis 0 --> 100``); one or more ``bar [n, ...]`` / ``line [n, ...]`` series
  (optionally titled: ``bar "name" [...]``) of numbers, each as long as the category list;
* ``pie`` (optionally ``showData``, optionally ``title ...`` on the same line): an optional
  ``title ...`` line and one or more ``"label" : number`` slices (numbers not negative).

Both may carry ``%%`` comment or directive lines and ``accTitle:`` / ``accDescr:`` lines. Any other
chart type, statement or malformed line is a problem.
"""

from __future__ import annotations

import re

CHECKED_ROUTES = frozenset(
    {
        "POST /repos/{owner}/{repo}/issues",
        "PATCH /repos/{owner}/{repo}/issues/{issue_number}",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
        "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
        "POST /repos/{owner}/{repo}/pulls",
        "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
    }
)
"""Routes whose JSON ``body`` field is Markdown the fake checks."""

_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)[^`]*$")
_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_QUOTED = r'"[^"\n]*"'
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_RANGE = re.compile(rf"^(?P<min>{_NUMBER})\s*-->\s*(?P<max>{_NUMBER})$")
_AXIS = re.compile(
    rf"^(?P<axis>[xy])-axis(?:\s+(?P<title>{_QUOTED}|[^\s\[\]\"]+))?(?:\s*(?P<rest>.*))?$"
)
_SERIES = re.compile(rf"^(?P<kind>bar|line)(?:\s+(?P<title>{_QUOTED}))?\s*\[(?P<values>.*)\]$")
_SLICE = re.compile(rf"^(?P<label>{_QUOTED})\s*:\s*(?P<value>\S+)$")
_TITLE = re.compile(r"^title(?:\s+(?P<text>.*))?$")
_ACCESSIBILITY = re.compile(r"^acc(?:Title|Descr)\s*:|^accDescr\s*\{")


def charts(body: str | None) -> list[str]:
    """The contents of the fenced ``mermaid`` blocks in a Markdown ``body``, in order (an unclosed
    fence runs to the end of the text, as in CommonMark)."""
    if not body:
        return []
    found: list[str] = []
    lines = body.splitlines()
    index = 0
    while index < len(lines):
        opened = _OPEN.match(lines[index])
        index += 1
        if opened is None:
            continue
        fence = opened["fence"]
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        content: list[str] = []
        while index < len(lines) and not closing.match(lines[index]):
            content.append(lines[index])
            index += 1
        index += 1  # the closing fence
        if opened["info"].lower() == "mermaid":
            found.append("\n".join(content))
    return found


def _statements(text: str) -> list[str]:
    """Non-blank lines, stripped, without ``%%`` comments, front matter or accessibility lines."""
    lines = [line.strip() for line in text.splitlines()]
    out: list[str] = []
    in_front_matter = bool(lines) and lines[0] == "---"
    for number, line in enumerate(lines):
        if in_front_matter:
            if number > 0 and line == "---":
                in_front_matter = False
            continue
        if not line or line.startswith("%%") or _ACCESSIBILITY.match(line):
            continue
        out.append(line)
    return out


def check(text: str) -> list[str]:
    """Problems with one chart (the text inside a ``mermaid`` fence); empty when it is fine."""
    statements = _statements(text)
    if not statements:
        return ["empty mermaid block"]
    head, *rest = statements
    kind = head.split()[0]
    if kind == "xychart-beta":
        return _check_xychart(head, rest)
    if kind == "pie":
        return _check_pie(head, rest)
    return [f"unsupported mermaid chart type {kind!r} (the fake accepts xychart-beta and pie)"]


def check_body(body: str | None) -> list[str]:
    """Problems with every mermaid chart of a Markdown body, each prefixed by the chart's number."""
    problems: list[str] = []
    for number, chart in enumerate(charts(body), start=1):
        problems.extend(f"mermaid chart {number}: {p}" for p in check(chart))
    return problems


def _numbers(raw: str) -> list[str] | None:
    """The items of a ``[n, n, ...]`` list's inside, or None unless all are numbers."""
    items = [item.strip() for item in raw.split(",")]
    if not all(_NUMBER_RE.match(item) for item in items):
        return None
    return items


def _categories(raw: str) -> list[str] | None:
    """The items of an x-axis ``[a, "b c", ...]`` list's inside, or None when malformed."""
    items = re.findall(rf'\s*({_QUOTED}|[^,"\[\]]+?)\s*(?:,|$)', raw)
    rebuilt = ",".join(items)
    if not items or rebuilt.replace(" ", "") != raw.replace(" ", ""):
        return None
    return [item.strip('"') for item in items]


def _check_xychart(head: str, rest: list[str]) -> list[str]:
    problems: list[str] = []
    if head not in ("xychart-beta", "xychart-beta horizontal"):
        problems.append(f"xychart-beta: unexpected text after the chart type: {head!r}")
    seen: set[str] = set()
    categories: list[str] | None = None
    series: list[tuple[str, int]] = []
    for line in rest:
        if found := _TITLE.match(line):
            text = (found["text"] or "").strip()
            if "title" in seen:
                problems.append("xychart-beta: more than one title")
            elif not text or (text.startswith('"') and not re.fullmatch(_QUOTED, text)):
                problems.append(f"xychart-beta: malformed title: {line!r}")
            seen.add("title")
        elif found := _AXIS.match(line):
            axis = f"{found['axis']}-axis"
            if axis in seen:
                problems.append(f"xychart-beta: more than one {axis}")
            seen.add(axis)
            spec = (found["rest"] or "").strip()
            if spec.startswith("[") and spec.endswith("]") and axis == "x-axis":
                categories = _categories(spec[1:-1])
                if categories is None:
                    problems.append(f"xychart-beta: malformed x-axis categories: {line!r}")
            elif spec and not _RANGE.match(spec):
                problems.append(f"xychart-beta: malformed {axis}: {line!r}")
            elif found["title"] is None and not spec:
                problems.append(f"xychart-beta: empty {axis}")
            elif (r := _RANGE.match(spec)) and float(r["min"]) > float(r["max"]):
                problems.append(f"xychart-beta: {axis} range runs backwards: {line!r}")
        elif found := _SERIES.match(line):
            values = _numbers(found["values"])
            if values is None:
                problems.append(f"xychart-beta: {found['kind']} series has a non-number: {line!r}")
            else:
                series.append((found["kind"], len(values)))
        else:
            problems.append(f"xychart-beta: unexpected statement: {line!r}")
    if "x-axis" not in seen:
        problems.append("xychart-beta: no x-axis")
    if not series:
        problems.append("xychart-beta: no bar or line series")
    if categories is not None:
        for number, (kind, length) in enumerate(series, start=1):
            if length != len(categories):
                problems.append(
                    f"xychart-beta: {kind} series {number} has {length} values but the x-axis "
                    f"has {len(categories)} categories"
                )
    return problems


def _check_pie(head: str, rest: list[str]) -> list[str]:
    problems: list[str] = []
    words = head.split(maxsplit=1)
    tail = words[1].strip() if len(words) > 1 else ""
    titled = False
    if tail.startswith("showData"):
        tail = tail.removeprefix("showData").strip()
    if tail:
        if _TITLE.match(tail) and tail != "title":
            titled = True
        else:
            problems.append(f"pie: unexpected text after the chart type: {head!r}")
    slices = 0
    for line in rest:
        if found := _TITLE.match(line):
            if titled or slices:
                problems.append(f"pie: misplaced or repeated title: {line!r}")
            elif not (found["text"] or "").strip():
                problems.append("pie: empty title")
            titled = True
        elif found := _SLICE.match(line):
            value = found["value"]
            if not _NUMBER_RE.match(value):
                problems.append(f"pie: slice value is not a number: {line!r}")
            elif float(value) < 0:
                problems.append(f"pie: negative slice value: {line!r}")
            slices += 1
        else:
            problems.append(f"pie: unexpected statement: {line!r}")
    if not slices:
        problems.append("pie: no slices")
    return problems
