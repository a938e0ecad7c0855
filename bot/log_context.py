"""What a log line is about: the request, the replica, the workspace and the channel a piece of work
concerns, set where it is known and added to every record logged meanwhile (`bot.service.logs`).

Standard library only, and the lowest layer: any module may say what it is working on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

FIELDS = ("request_id", "replica_id", "team", "channel")

_current: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)


@contextmanager
def about(**fields: object) -> Iterator[None]:
    """Within the block, log records carry these fields (those given and not None), on top of any the
    caller already set."""
    given = {key: str(value) for key, value in fields.items() if value is not None and key in FIELDS}
    token = _current.set({**current(), **given})
    try:
        yield
    finally:
        _current.reset(token)


def start(**fields: object) -> None:
    """From here on in this thread (or context), log records carry these fields and no others: the
    beginning of a new piece of work, such as a Slack request."""
    _current.set({key: str(value) for key, value in fields.items() if value is not None and key in FIELDS})


def current() -> dict[str, str]:
    """The fields of the work in progress on this thread (or task)."""
    return _current.get() or {}
