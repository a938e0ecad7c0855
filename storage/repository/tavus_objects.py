"""Things made in Tavus once and shared by every process (the PAL test calls talk with)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.db import is_unique_violation, session_scope
from storage.job_models import TavusObject


def get(engine: Engine, key: str) -> str | None:
    with session_scope(engine) as session:
        stored = session.get(TavusObject, key)
        return stored.tavus_id if stored else None


def keep_first(engine: Engine, key: str, tavus_id: str) -> str:
    """Remember `tavus_id` under `key` unless another process got there first; the id kept."""
    try:
        with session_scope(engine) as session:
            session.add(TavusObject(key=key, tavus_id=tavus_id))
        return tavus_id
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
    kept = get(engine, key)
    assert kept is not None
    return kept


def forget(engine: Engine, key: str, tavus_id: str) -> None:
    """Forget `tavus_id` under `key` (Tavus no longer has it), unless another process already put a new
    one there."""
    table = TavusObject.__table__.c  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        session.execute(delete(TavusObject).where(table.key == key, table.tavus_id == tavus_id))
