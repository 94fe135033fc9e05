"""The demo's report page: every check run and issue of the week as GitHub would show them, their
Markdown rendered with markdown-it-py (CommonMark with GitHub's tables and strikethrough) into one
static HTML page that needs nothing from the network.

HTML in the Markdown is treated as GitHub treats it: comments (the bot's hidden markers and
records) are not shown, a few harmless tags (``<details>``, ``<summary>``, ``<br>``...) are kept,
anything else is shown as text. A ```` ```mermaid ```` block is left as ``<pre class="mermaid">``
with the chart's source: GitHub draws it, and the official Mermaid package is not available
offline, so the page shows the source where GitHub shows the chart.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.cli.demo import Outcome, Shown, ShownComment, ShownIssue, ShownRun

_MARKUP = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s[^<>]*)?)/?>", re.S)
SAFE_TAGS = frozenset(
    {"details", "summary", "br", "sub", "sup", "kbd", "b", "i", "em", "strong", "code", "p", "hr"}
)


def sanitize(fragment: str) -> str:
    """Raw HTML from Markdown as GitHub would show it: comments dropped, :data:`SAFE_TAGS` kept
    (without attributes, but for ``<details open>``), everything else as text.

    >>> sanitize('<!-- countersign:record v1 {} --><details open><summary>x</summary><img src=y>')
    '<details open><summary>x</summary>&lt;img src=y&gt;'
    """
    out: list[str] = []
    position = 0
    for match in _MARKUP.finditer(fragment):
        out.append(_text(fragment[position : match.start()]))
        position = match.end()
        closing, name, attributes = match.group(1), match.group(2), match.group(3)
        if name is None:
            continue  # a comment: GitHub does not show it
        tag = name.lower()
        if tag in SAFE_TAGS:
            opened = " open" if tag == "details" and not closing and "open" in attributes else ""
            out.append(f"<{closing}{tag}{opened}>")
        else:
            out.append(html.escape(match.group(0)))
    out.append(_text(fragment[position:]))
    return "".join(out)


def _text(raw: str) -> str:
    """Text between tags in raw HTML: entities stay (they are HTML already), stray angle brackets
    do not open anything."""
    return raw.replace("<", "&lt;").replace(">", "&gt;")


@cache
def renderer() -> Callable[[str], str]:
    """Markdown to HTML, as GitHub renders issues and check runs (see the module's docstring)."""
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

    def fence(self: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        if token.info.strip().lower() == "mermaid":
            return f'<pre class="mermaid">{html.escape(token.content)}</pre>\n'
        return RendererHTML.fence(self, tokens, idx, options, env)

    def raw_html(self: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any) -> str:
        return sanitize(str(tokens[idx].content))

    md.add_render_rule("fence", fence)
    md.add_render_rule("html_block", raw_html)
    md.add_render_rule("html_inline", raw_html)

    def render(text: str) -> str:
        rendered: str = md.render(text)
        return rendered

    return render


def markdown(text: str) -> str:
    return f'<div class="markdown">{renderer()(text)}</div>'


def issue_markdown(issue: ShownIssue) -> str:
    """An issue's Markdown as its author and commenters wrote it, in one file: the body, then each
    comment after a ``---`` line naming its author."""
    parts = [issue.body]
    for comment in issue.comments:
        parts.append(f"\n\n---\n<!-- comment by {comment.author} at {comment.at} -->\n\n")
        parts.append(comment.body)
    return "".join(parts) + "\n"


# ------------------------------------------------------------------------------------- the page

CSS = """
body { font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       max-width: 1012px; margin: 0 auto; padding: 24px; background: #fff; }
h1, h2, h3 { line-height: 1.25; }
h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin-top: 40px; }
code, pre { font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; }
pre code { background: none; padding: 0; }
pre.mermaid { border-left: 4px solid #8250df; }
table { border-collapse: collapse; margin: 8px 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; text-align: left; vertical-align: top; }
tr:nth-child(2n) td { background: #f6f8fa; }
.card { border: 1px solid #d1d9e0; border-radius: 6px; margin: 16px 0; }
.card > .head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
                border-radius: 6px 6px 0 0; }
.card .body { padding: 8px 16px; }
.comment { border-top: 1px solid #d1d9e0; }
.comment > .head { padding: 8px 16px 0; color: #59636e; }
.badge { display: inline-block; border-radius: 2em; padding: 0 10px; font-weight: 600;
         font-size: 12px; line-height: 22px; color: #fff; background: #59636e; }
.success, .open { background: #1f883d; } .failure { background: #d1242f; }
.neutral { background: #59636e; } .closed { background: #8250df; }
.label { display: inline-block; border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 8px;
         font-size: 12px; margin-right: 4px; }
.ok { color: #1f883d; font-weight: 600; } .differs { color: #d1242f; font-weight: 600; }
.muted { color: #59636e; }
details > summary { cursor: pointer; }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _badge(conclusion: str | None) -> str:
    name = conclusion or "pending"
    return f'<span class="badge {_e(name)}">{_e(name)}</span>'


def run_card(run: ShownRun, caption: str) -> str:
    return (
        '<div class="card">'
        f'<div class="head">{_badge(run.conclusion)} <strong>{_e(run.name)}</strong> '
        f'<span class="muted">{_e(caption)} <code>{_e(run.head_sha[:7])}</code></span>'
        f"<br><strong>{_e(run.title)}</strong></div>"
        f'<div class="body">{markdown(run.summary)}'
        f"<details><summary>Details (the check run's text)</summary>{markdown(run.text)}"
        "</details></div></div>"
    )


def _comment(comment: ShownComment) -> str:
    return (
        f'<div class="comment"><div class="head"><strong>{_e(comment.author)}</strong> '
        f"commented {_e(comment.at)}</div>"
        f'<div class="body">{markdown(comment.body)}</div></div>'
    )


def issue_card(issue: ShownIssue, kind: str) -> str:
    labels = "".join(f'<span class="label">{_e(label)}</span>' for label in issue.labels)
    body = markdown(issue.body) if issue.body else '<p class="muted">No description.</p>'
    return (
        '<div class="card">'
        f'<div class="head"><span class="badge {_e(issue.state)}">{_e(issue.state.title())}</span>'
        f" {_e(kind)} <strong>{_e(issue.title)}</strong> "
        f'<span class="muted">#{issue.number}, opened by {_e(issue.author)}</span> {labels}</div>'
        f'<div class="body">{body}</div>' + "".join(_comment(c) for c in issue.comments) + "</div>"
    )


def _status(item: Shown) -> tuple[str, str]:
    record = item.record or {}
    return str(record.get("status", "no record")), str(record.get("conclusion", "-"))


def _note(item: Shown) -> str:
    from bot.cli.demo import verdict_note

    note = verdict_note(item)
    return f'<br><span class="muted">{_e(note)}</span>' if note else ""


def _mark(differences: Sequence[str]) -> str:
    if not differences:
        return '<span class="ok">as scripted</span>'
    return '<span class="differs">differs</span><br>' + "<br>".join(_e(d) for d in differences)


def change_section(item: Shown, anchor: str) -> str:
    from bot.cli.demo import verdict_note

    status, conclusion = _status(item)
    parts = [
        f'<section id="{_e(anchor)}"><h2>{_e(item.change.day)}: {_e(item.change.what)}</h2>',
        f"<p>{_e(item.change.story)}</p>",
        f"<p>Verdict: <strong>{_e(status)}</strong>, conclusion {_badge(conclusion)} "
        f"{_e(verdict_note(item))} &middot; {_mark(item.differences)}</p>",
    ]
    if item.run is not None:
        parts.append(run_card(item.run, "check run on"))
    if item.audit_issue is not None:
        parts.append(issue_card(item.audit_issue, "Audit issue"))
    if item.pre_merge is not None:
        parts.append(
            "<details><summary>Before the merge: the pre-merge check "
            f"({_e(item.pre_merge.conclusion)}: {_e(item.pre_merge.title)})</summary>"
            f"{run_card(item.pre_merge, 'pre-merge check run on the head')}</details>"
        )
    if item.pull is not None and item.pull.comments:
        parts.append(
            "<details open><summary>The pull request's conversation</summary>"
            f"{issue_card(item.pull, 'Pull request')}</details>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def page(outcome: Outcome, repository: str, week: str) -> str:
    """The report: a table of the week's verdicts, then each change, then the digest."""
    rows = []
    sections = []
    for number, item in enumerate(outcome.changes, 1):
        anchor = f"{number}-{item.change.slug}"
        status, conclusion = _status(item)
        issue = f"#{item.audit_issue.number}" if item.audit_issue else ""
        rows.append(
            f'<tr><td>{_e(item.change.day)}</td><td><a href="#{_e(anchor)}">'
            f"{_e(item.change.what)}</a></td><td><strong>{_e(status)}</strong>{_note(item)}</td>"
            f"<td>{_badge(conclusion)}</td><td>{_e(issue)}</td><td>{_mark(item.differences)}</td></tr>"
        )
        sections.append(change_section(item, anchor))
    digest = outcome.digest
    if digest.issue is not None:
        record = digest.record or {}
        rows.append(
            '<tr><td>Mon</td><td><a href="#digest">weekly digest</a></td>'
            f"<td>{_e(record.get('reviewed'))} reviewed, {_e(record.get('not_reviewed'))} not"
            f"</td><td></td><td>#{digest.issue.number}</td><td>{_mark(digest.differences)}</td></tr>"
        )
        sections.append(
            f'<section id="digest"><h2>Next Monday: the weekly digest of {_e(week)}</h2>'
            f"{issue_card(digest.issue, 'Digest issue')}</section>"
        )
    problems = ""
    if outcome.problems:
        problems = (
            '<h2>Problems</h2><ul class="differs">'
            + "".join(f"<li>{_e(p)}</li>" for p in outcome.problems)
            + "</ul>"
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>countersign demo: {_e(repository)}, {_e(week)}</title>
<style>{CSS}</style>
</head>
<body>
<h1>countersign demo: a week of <code>{_e(repository)}</code></h1>
<p>A scripted week ({_e(week)}) modelled on the xz-utils story, played against a local GitHub
stand-in. Every event was delivered, signed, to the real server's <code>POST /webhook</code>
({_e(outcome.webhook_url)}); the scheduler's jobs then ran ({_e(", ".join(outcome.jobs))}).
What follows is read back through the stand-in's REST API: each check run and issue as GitHub
would show it. The Markdown the bot wrote is in <code>markdown/</code>, the records compared with
the script in <code>verdicts.json</code>.</p>
<table>
<thead><tr><th>day</th><th>change</th><th>verdict</th><th>conclusion</th><th>issue</th>
<th>compared with the script</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
{problems}
{chr(10).join(sections)}
</body>
</html>
"""
