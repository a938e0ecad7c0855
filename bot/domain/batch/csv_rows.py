"""Reading a batch's CSV into rows, and writing rows back as CSV (the "Retry the failed rows" form).

The standard library's `csv` does the reading: UTF-8 with or without a byte order mark, a comma or a
semicolon between cells (whichever the header uses), quoted cells holding commas, quotes and line breaks.
The header names the columns in any case and order. What makes the whole file unusable raises
`BatchFileRefused` naming the row and the column; what makes one row unusable is that row's
`RowProblem`, and the other rows go on.

A cell is text, whatever it starts with: nothing here evaluates it. Written back out, a cell that a
spreadsheet would take for a formula (`=`, `+`, `-`, `@`) is quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.batch.problems import BatchFileRefused, FileProblem, RowCode, RowProblem
from bot.domain.requests import MAX_NAME_LENGTH

COLUMNS = ("name", "photo", "voice", "model", "for")
REQUIRED = ("name", "photo")
DEFAULT_MAX_ROWS = 500
MAX_BYTES = 1024 * 1024
# What binary files begin with, that a CSV never does: PDF, zip (xlsx, docx), old Office, images.
_BINARY_STARTS = (b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
_BOM = "\ufeff"
# Spreadsheets run a cell that starts with one of these as a formula; a leading apostrophe keeps it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CsvRow:
    """One row as given. `number` is the row as a spreadsheet counts it (the header is row 1)."""

    number: int
    name: str
    photo: str | None = None
    voice: str | None = None
    model: str | None = None
    for_cell: str | None = None
    problem: RowProblem | None = None


def read_rows(data: bytes, *, max_rows: int = DEFAULT_MAX_ROWS, max_bytes: int = MAX_BYTES) -> list[CsvRow]:
    """The rows of a CSV file, or BatchFileRefused for a file that cannot be read as a batch."""
    if len(data) > max_bytes:
        raise BatchFileRefused(FileProblem.TOO_LARGE, limit=max_bytes, value=str(len(data)))
    if data.startswith(_BINARY_STARTS) or b"\x00" in data:
        raise BatchFileRefused(FileProblem.NOT_CSV)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BatchFileRefused(FileProblem.NOT_UTF8) from None
    return read_text(text.removeprefix(_BOM), max_rows=max_rows)


def read_text(text: str, *, max_rows: int = DEFAULT_MAX_ROWS) -> list[CsvRow]:
    """The rows of CSV text (pasted into the batch form, or a file's, decoded)."""
    if not text.strip():
        raise BatchFileRefused(FileProblem.EMPTY)
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text[:4096]):
        raise BatchFileRefused(FileProblem.NOT_CSV)
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)) if _filled(r)]
    if not records:
        raise BatchFileRefused(FileProblem.EMPTY)
    columns = _header(records[0])
    data = records[1:]
    if not data:
        raise BatchFileRefused(FileProblem.EMPTY)
    if len(data) > max_rows:
        raise BatchFileRefused(FileProblem.TOO_MANY_ROWS, limit=max_rows, value=str(len(data)))
    rows = [_row(number, columns, cells) for number, cells in enumerate(data, start=2)]
    return _mark_duplicates(rows)


def _delimiter(text: str) -> str:
    """A comma or a semicolon: whichever the header line uses more (outside quotes)."""
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter="\x1f"), [""])[0]
    unquoted = "".join(part for n, part in enumerate(header.split('"')) if n % 2 == 0)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


def _filled(cells: Sequence[str]) -> bool:
    return any(cell.strip() for cell in cells)


def _header(cells: Sequence[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    if not any(name in COLUMNS for name in names):
        raise BatchFileRefused(FileProblem.NO_HEADER, row=1, value=", ".join(c.strip() for c in cells)[:200])
    seen: set[str] = set()
    for name, cell in zip(names, cells, strict=True):
        if name and name not in COLUMNS:
            raise BatchFileRefused(FileProblem.UNKNOWN_COLUMN, row=1, column=cell.strip()[:100])
        if name in seen:
            raise BatchFileRefused(FileProblem.DUPLICATE_COLUMN, row=1, column=name)
        seen.add(name)
    for required in REQUIRED:
        if required not in seen:
            raise BatchFileRefused(FileProblem.MISSING_COLUMN, row=1, column=required)
    return names


def _row(number: int, columns: Sequence[str], cells: Sequence[str]) -> CsvRow:
    values = {name: _text(cell) or None for name, cell in zip(columns, cells, strict=False) if name}
    name = (values.get("name") or "")[:MAX_NAME_LENGTH]
    problem = None
    if len(cells) > len(columns) and _filled(cells[len(columns) :]):
        problem = RowProblem(None, RowCode.EXTRA_CELLS, {"cells": len(cells), "columns": len(columns)})
    elif not name:
        problem = RowProblem("name", RowCode.EMPTY)
    elif not values.get("photo"):
        problem = RowProblem("photo", RowCode.EMPTY)
    return CsvRow(
        number=number,
        name=name,
        photo=values.get("photo"),
        voice=(values.get("voice") or "").lower() or None,
        model=(values.get("model") or "").lower() or None,
        for_cell=values.get("for"),
        problem=problem,
    )


def _text(cell: str) -> str:
    """A cell's text; an apostrophe that kept a formula-looking cell text (as written out here) goes."""
    text = cell.strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


def _mark_duplicates(rows: list[CsvRow]) -> list[CsvRow]:
    """A name given twice is a mistake (two faces, one name): the later row needs attention."""
    first: dict[str, int] = {}
    marked = []
    for row in rows:
        key = row.name.casefold()
        if row.problem is None and key in first:
            duplicate = RowProblem("name", RowCode.DUPLICATE, {"row": first[key]})
            row = CsvRow(**{**vars(row), "problem": duplicate})
        elif row.name:
            first.setdefault(key, row.number)
        marked.append(row)
    return marked


# --- written back out --------------------------------------------------------------------------------------


def as_csv(rows: Iterable[CsvRow]) -> str:
    """Rows as CSV text with a header, every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        cells = (row.name, row.photo, row.voice, row.model, row.for_cell)
        writer.writerow([safe_cell(cell or "") for cell in cells])
    return out.getvalue()


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as the text it is: one that would start a formula gets an apostrophe."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value
