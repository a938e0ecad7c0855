"""What the one-off commands (`stats`, `audit`, `forget`, `purge`) share: the database, opened and migrated
with one clear line when it cannot be, and a length of time as an operator writes it (`90d`, `12h`)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.service.settings import Settings, SettingsError
from storage.db import DatabaseError, Engine, make_engine, migrate

_AGE = re.compile(r"^\s*(\d+)\s*([dh])\s*$", re.I)


def age(text: str) -> timedelta:
    """`90d` or `12h` (`0d`: no time at all) as a duration."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"expected days or hours such as 90d or 12h, got {text!r}")
    number, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(days=number) if unit == "d" else timedelta(hours=number)


def database(settings: Settings) -> Engine:
    """The database, migrated, for a command that reads it; a clear line if it cannot be opened."""
    try:
        engine = make_engine(settings.database_url)
        migrate(engine)
    except DatabaseError as exc:
        raise SettingsError(f"DATABASE_URL: cannot open the database ({type(exc).__name__})") from None
    return engine
