"""Structured logging: one JSON object a line, carrying the delivery each line belongs to.

The delivery's identity (delivery id, event, installation, repository) lives in a context variable,
so every log line written while a delivery's work runs carries it without being passed around.
Known secret shapes (tokens, JWTs, private keys) are scrubbed from every line as a last defence;
the code never logs them on purpose.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "countersign_log_context", default=MappingProxyType({})
)

_SECRET_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"\b(v1\.[0-9a-f]{40})\b"),
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
    re.compile(r"(?i)\b(token|bearer)\s+[A-Za-z0-9_.\-]{8,}"),
)


def redact(text: str) -> str:
    """Replace anything shaped like a credential with ``[redacted]``.

    >>> redact("Authorization: token ghs_abcdefghijklmnopqrstuvwxyz")
    'Authorization: token [redacted]'
    """
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line written inside the block (and tasks it starts)."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, Any]:
    return _context.get()


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with the delivery context and any ``extra`` fields."""

    _RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_context.get())
        for key, value in vars(record).items():
            if key not in self._RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, default=str, ensure_ascii=False))


def configure(level: int = logging.INFO, stream: Any = None) -> None:
    """Send every log line to ``stream`` (stderr by default) as JSON."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
