"""`replica-bot audit`: the record of every request since a moment, as a table or as CSV."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import TextIO

from bot.domain.access import Access
from bot.domain.audit import Audit
from bot.slack.render.audit import CSV_COLUMNS, csv_row
from storage.db import Engine
from storage.models import utcnow


def write_audit(engine: Engine, *, since: timedelta, as_csv: bool, out: TextIO) -> int:
    """Write every request made in the last `since`; how many."""
    entries = Audit(engine, Access()).since(utcnow() - since)
    rows = [csv_row(entry) for entry in entries]
    if as_csv:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
        return len(rows)
    shown = ("request_id", "created_at", "status", "requester", "likeness", "depicted", "consent", "approval")
    indexes = [CSV_COLUMNS.index(c) for c in shown]
    out.write("\t".join(shown) + "\n")
    for row in rows:
        out.write("\t".join(row[i] for i in indexes) + "\n")
    return len(rows)
