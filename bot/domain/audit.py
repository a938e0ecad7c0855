"""The record, for compliance: the latest requests with who asked, whose face it was, the colleague's
consent and the approval, each decision with who made it and when. Admins only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.access import Access
from bot.domain.errors import Action, NotPermitted
from storage.db import Engine
from storage.models import Decision, ReplicaRequest
from storage.repository import decisions

LATEST = 20


@dataclass(frozen=True)
class AuditEntry:
    request: ReplicaRequest
    decisions: tuple[Decision, ...]


class Audit:
    def __init__(self, engine: Engine, access: Access) -> None:
        self._engine = engine
        self._access = access

    def latest(self, user_id: str, *, about: str | None = None, limit: int = LATEST) -> list[AuditEntry]:
        """What `/replica audit [@user]` lists: raises NotPermitted for anyone but an admin."""
        if not self._access.is_admin(user_id):
            raise NotPermitted(Action.AUDIT, "", "")
        return self._entries(person=about, limit=limit)

    def since(self, moment: datetime) -> list[AuditEntry]:
        """Everything made since `moment` (the operator's `replica-bot audit`)."""
        return self._entries(since=moment)

    def _entries(
        self, *, since: datetime | None = None, person: str | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        rows = decisions.audited(self._engine, since=since, person=person, limit=limit)
        return [AuditEntry(request, tuple(made)) for request, made in rows]
