"""parse_command, case by case: what is a command and what is not."""

import pytest

from bot.service.commands import Command, parse_command

CASES = [
    # (comment body, expected command)
    ("/audit", Command("status", "", "")),
    ("/audit status", Command("status", "", "status")),
    ("/AUDIT Status", Command("status", "", "status")),
    ("/Audit approve", Command("approve", "", "approve")),
    (
        "/audit approve  checked every m4 file  ",
        Command("approve", "checked every m4 file", "approve"),
    ),
    ("/audit   approve\tlooks fine", Command("approve", "looks fine", "approve")),
    ("/audit help", Command("help", "", "help")),
    ("/audit frobnicate now", Command("unknown", "frobnicate now", "frobnicate")),
    ("   /audit approve", Command("approve", "", "approve")),  # up to 3 spaces: still a paragraph
    ("Thanks!\n\n/audit approve verified", Command("approve", "verified", "approve")),
    # the first command wins
    ("/audit help\n/audit approve", Command("help", "", "help")),
    ("/audit approve first\n/audit status", Command("approve", "first", "approve")),
    # not commands
    ("", None),
    (None, None),
    ("please /audit approve this", None),
    ("/auditing is fun", None),
    ("/audits", None),
    ("> /audit approve", None),
    (">/audit approve", None),
    ("  > /audit approve", None),
    ("```\n/audit approve\n```", None),
    ("~~~\n/audit approve\n~~~", None),
    ("````\n```\n/audit approve\n````", None),  # a shorter fence does not close a longer one
    ("    /audit approve", None),  # indented code block
    ("\t/audit approve", None),
    ("`/audit approve`", None),
    # a command after a closed code block counts
    ("```\n/audit help\n```\n/audit approve ok", Command("approve", "ok", "approve")),
    ("> quoted\n/audit status", Command("status", "", "status")),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_parse_command(body, expected):
    assert parse_command(body) == expected
