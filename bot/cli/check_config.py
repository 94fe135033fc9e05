"""``python -m bot check-config FILE [--explain PATH ...]``: check a policy file offline.

FILE is validated as it would be layered over the shipped default: by the policy parser
(:func:`bot.core.policy.check_config`), then against the JSON Schema
(``config/countersign.schema.json``), whose problems are added where the parser has not already
reported the same lines. Prints ``FILE:LINE: problem`` for each error and exits 1, or prints
``FILE: ok`` and exits 0.

With ``--explain``, it then says for each PATH (relative to the repository's root) which rules
of the policy it would hit, what each requires, and whether a release archive may add it
(``release.generated``). The policy is the one the App would use: FILE over the shipped default,
or the shipped default alone when FILE has errors (the App ignores a broken layer).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.core.facts import FileFacts
from bot.core.policy import (
    SHIPPED_DEFAULT_PATH,
    Policy,
    PolicyError,
    PolicySource,
    Requirement,
    check_config,
    load_policy,
    path_patterns,
    shipped_default,
)
from bot.core.schema import schema_errors

ERRORS = 1


def add_parser(commands: Any) -> None:
    """The ``check-config`` subcommand of ``python -m bot``."""
    parser = commands.add_parser(
        "check-config",
        help="validate a policy file offline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file")
    parser.add_argument(
        "--explain",
        nargs="+",
        default=[],
        metavar="PATH",
        help="also say which rules each path would hit and what they require",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``check-config`` with parsed arguments; the exit status."""
    text, status = report(args.file, args.explain)
    print(text)
    return status


def report(path: str, explain_paths: Sequence[str] = ()) -> tuple[str, int]:
    """What ``check-config FILE [--explain PATH ...]`` prints, and its exit status."""
    errors = validate(path)
    lines = [_printable(str(error)) for error in errors] if errors else [f"{path}: ok"]
    if explain_paths:
        policy = effective_policy(path, _read(path))
        lines += ["", explain(policy, explain_paths, path)]
    return "\n".join(lines), ERRORS if errors else 0


def validate(path: str) -> list[PolicyError]:
    """Every error in the policy file at ``path``: the parser's, then the schema's problems on
    lines the parser found nothing wrong with, in line order."""
    errors = check_config(path)
    text = _read(path)
    if text is None:
        return errors  # unreadable: the parser said so
    extra = schema_errors(PolicySource(path, text), errors)
    return sorted([*errors, *extra], key=lambda error: error.line or 0)


def effective_policy(path: str, text: str | None) -> Policy:
    """The policy the App would use with ``text`` as the repository's file: layered over the
    shipped default (unless it is the shipped default), ignored when it has errors or is None."""
    target = PolicySource(path, text)
    if Path(path).resolve() == SHIPPED_DEFAULT_PATH:
        return load_policy([target])
    return load_policy([shipped_default(), target])


def explain(policy: Policy, paths: Sequence[str], path: str | None = None) -> str:
    """A block per path saying what ``policy`` asks of a change to it; first a line naming the
    layers the policy comes from (and, when ``path`` is given but was ignored, why)."""
    sources = " + ".join(policy.sources) or "nothing"
    head = f"policy: {sources}"
    if path is not None and path not in policy.sources:
        head += f" ({path} is left out: the App ignores a file with errors)"
    return "\n\n".join([head, *(explain_path(policy, file) for file in paths)])


def explain_path(policy: Policy, path: str) -> str:
    """Which of ``policy``'s rules a change to ``path`` hits, what each requires, and whether a
    release archive may add the file (``release.generated``)."""
    facts = FileFacts(path)
    by_name = [rule for rule in policy.rules if rule.matches(facts, is_binary=False)]
    if_binary = [
        rule for rule in policy.rules if rule not in by_name and rule.matches(facts, is_binary=True)
    ]
    lines = [_shown(path)]
    if not by_name:
        lines.append("  no rule matches this path; the base review applies")
    for rule in by_name:
        patterns = ", ".join(repr(pattern) for pattern in naming(rule.paths, path))
        lines.append(f"  rule {rule.name}, matched by {patterns or 'its paths'}")
        lines.extend(f"    {line}" for line in describe_requirement(rule))
    for rule in if_binary:
        lines.append(
            f"  if the file is binary, also rule {rule.name} (binary: true):"
            f" approvals: {rule.approvals}, severity: {rule.severity}"
        )
    lines.append("  base review, for every change")
    lines.extend(f"    {line}" for line in describe_requirement(policy.review))
    if policy.release.is_generated(path):
        generated = naming(policy.release.generated, path)
        shown = ", ".join(repr(pattern) for pattern in generated) or "its patterns"
        lines.append(f"  release.generated: yes, by {shown} (a release archive may add it)")
    else:
        lines.append("  release.generated: no")
    return "\n".join(lines)


def naming(patterns: Sequence[str], path: str) -> list[str]:
    """The patterns among ``patterns`` that include ``path`` on their own (not ``!pattern``s),
    matched by the policy's own matcher."""
    return [pattern for pattern in patterns if path_patterns(((pattern,),)).matching(path)[0]]


def describe_requirement(requirement: Requirement) -> list[str]:
    """What a requirement asks, in its policy keys, on two lines."""
    approvals = str(requirement.approvals)
    if requirement.approvals == 0:
        approvals += " (waived)"
    return [
        f"approvals: {approvals}, fresh: {_yaml(requirement.fresh)},"
        f" merger_counts: {_yaml(requirement.merger_counts)},"
        f" allow_contributors: {_yaml(requirement.allow_contributors)},",
        f"teams: {_yaml(requirement.teams)}, severity: {requirement.severity},"
        f" actions: {_yaml(requirement.actions)}, notify: {_yaml(requirement.notify)}",
    ]


def _yaml(value: bool | Sequence[str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "[" + ", ".join(value) + "]"


def _printable(line: str) -> str:
    r"""A message for a terminal: the file's text it quotes may hold escape sequences (a policy
    from an untrusted pull request), shown escaped, never sent raw.

    >>> print(_printable("unknown key '\x1b[2Jx\r' in the policy"))
    unknown key '\x1b[2Jx\r' in the policy
    """
    if line.isprintable():
        return line
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line)


def _shown(path: str) -> str:
    return path if path and path.isprintable() else repr(path)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
