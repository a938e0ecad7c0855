"""What an operator graphs, counted at scrape time: requests by status, and what waits for Slack.

Each figure is one aggregate statement over an index (`status` on requests, `status, next_attempt_at`
on the outbox), so a scrape costs the same few milliseconds however many requests have finished
(docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.models import OutboxMessage, OutboxStatus, ReplicaRequest, UTCDateTime, table, utcnow

_requests = table(ReplicaRequest)
_outbox = table(OutboxMessage)


def requests_by_status(engine: Engine) -> dict[str, int]:
    """How many requests are in each status (statuses with none are left out)."""
    statement = sa.select(_requests.c.status, sa.func.count()).group_by(_requests.c.status)
    with engine.connect() as connection:
        return {str(status): int(count) for status, count in connection.execute(statement)}


@dataclass(frozen=True)
class Waiting:
    """Notifications not yet in Slack: how many of each kind, and since when the oldest has waited."""

    by_kind: dict[str, int]
    oldest: datetime | None

    def oldest_seconds(self, now: datetime | None = None) -> float:
        if self.oldest is None:
            return 0.0
        return max(0.0, ((now or utcnow()) - self.oldest).total_seconds())


def waiting_for_slack(engine: Engine) -> Waiting:
    """Pending outbox rows by kind. The oldest counts rows that never reached Slack: an edit of a card
    already there has no moment of its own to wait from (edits coalesce into one)."""
    never_sent = sa.case((_outbox.c.delivered_version == 0, _outbox.c.created_at))
    statement = (
        sa.select(_outbox.c.kind, sa.func.count(), sa.type_coerce(sa.func.min(never_sent), UTCDateTime()))
        .where(_outbox.c.status == OutboxStatus.PENDING.value)
        .group_by(_outbox.c.kind)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    oldest = min((row[2] for row in rows if row[2] is not None), default=None)
    return Waiting({str(kind): int(count) for kind, count, _ in rows}, oldest)
