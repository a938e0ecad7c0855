"""Slack deliveries already acted on, so retries and twin events start one request."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.db import session_scope
from storage.models import SeenEvent


def first_time(engine: Engine, keys: Sequence[str]) -> bool:
    """Record Slack delivery keys; False if any was seen before (a retry, or the twin event of an upload).

    The primary key does the deciding, so two processes receiving twins at the same moment agree.
    """
    try:
        with session_scope(engine) as session:
            for key in keys:
                session.add(SeenEvent(key=key))
    except IntegrityError:
        return False
    return True
