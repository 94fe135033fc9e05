"""Request records and injected faults.

Route specs (for counting and for faults) match a request when they equal its route template
(``GET /repos/{owner}/{repo}/pulls/{pull_number}/files``), are a prefix of it
(``GET /repos/{owner}/{repo}/pulls``), or are a prefix of its concrete ``METHOD /path``
(``GET /repos/octo-org/widgets/pulls/7``). GraphQL requests are ``POST /graphql``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal[500, 502, 503, 429, "timeout", "reset", "secondary", "primary"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    500,
    502,
    503,
    429,
    "timeout",
    "reset",
    "secondary",
    "primary",
)


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake received."""

    method: str
    route: str  # "GET /repos/{owner}/{repo}" (or "GET <unknown>" for 404 routes)
    path: str
    query: Mapping[str, str]
    installation: int | Literal["app"] | None
    status: int | None  # None when no response was sent (timeout, reset)
    fault: FaultKind | None = None

    @property
    def concrete(self) -> str:
        return f"{self.method} {self.path}"


def route_matches(spec: str | None, route: str, concrete: str) -> bool:
    if spec is None:
        return True
    return route == spec or route.startswith(spec) or concrete.startswith(spec)


@dataclass
class Fault:
    kind: FaultKind
    route: str | None
    remaining: int


@dataclass
class FaultPlan:
    """Faults waiting to be produced, first injected first served."""

    pending: list[Fault] = field(default_factory=list)

    def add(self, kind: FaultKind, route: str | None, times: int) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be >= 1")
        self.pending.append(Fault(kind, route, times))

    def take(self, route: str, concrete: str) -> FaultKind | None:
        for fault in self.pending:
            if route_matches(fault.route, route, concrete):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.pending.remove(fault)
                return fault.kind
        return None

    def clear(self) -> None:
        self.pending.clear()
