"""Where the fake finds GitHub's published files: the GraphQL schema, the webhook examples and the
webhook schemas (``github-fixtures``).

The fake cannot run without them: its GraphQL endpoint executes queries on GitHub's schema and its
webhook payloads start from GitHub's examples. They are looked for, once, when the fake is
imported: in ``$COUNTERSIGN_FIXTURES`` when it is set; else in :data:`DEFAULT_FIXTURES` (where CI
and the development machines keep them); else in ``shared/github-fixtures`` beside the checkout
this file is in (``../shared/github-fixtures``, as the README says).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_FIXTURES = Path("/work/shared/github-fixtures")
ENVIRONMENT = "COUNTERSIGN_FIXTURES"


def fixtures_dir() -> Path:
    """The fixtures folder (see the module's docstring); :data:`DEFAULT_FIXTURES` when none of
    the places has one, so that the error names where they were expected."""
    named = os.environ.get(ENVIRONMENT)
    if named:
        return Path(named)
    beside_checkout = Path(__file__).resolve().parents[2].parent / "shared" / "github-fixtures"
    for candidate in (DEFAULT_FIXTURES, beside_checkout):
        if candidate.is_dir():
            return candidate
    return DEFAULT_FIXTURES


def missing(folder: Path) -> list[str]:
    """What the fake needs that ``folder`` lacks (empty when it has everything)."""
    needed = ["graphql/schema.graphql", "webhooks", "webhook-schemas/api.github.com"]
    return [name for name in needed if not (folder / name).exists()]


FIXTURES = fixtures_dir()
