"""Reading a batch's CSV: the encodings, separators and quoting spreadsheets write, the limits, the file
refused whole (naming the row and the column) or one row marked for attention; cells that look like
formulas stay text and are written back out harmless."""

from __future__ import annotations

import pytest

from bot.domain.batch import batch_number
from bot.domain.batch.checking import whose
from bot.domain.batch.csv_rows import MAX_BYTES, CsvRow, as_csv, read_rows, read_text, safe_cell
from bot.domain.batch.problems import BatchFileRefused, FileProblem, RowCode, RowProblem
from bot.domain.errors import PersonCannotConsent, PersonProblem, PhotoFlagged, UnknownVoice
from bot.photos.offline_check import Finding
from bot.photos.refusals import FetchRefusal, PreflightRefusal
from storage.models import Likeness

LINK = "https://example.com/ana.png"


def refused(data: bytes | str, **limits: int) -> BatchFileRefused:
    with pytest.raises(BatchFileRefused) as raised:
        read_rows(data.encode() if isinstance(data, str) else data, **limits)
    return raised.value


def test_utf8_with_or_without_a_byte_order_mark() -> None:
    plain = read_rows(f"name,photo\nJosé,{LINK}\n".encode())
    marked = read_rows(f"\ufeffname,photo\nJosé,{LINK}\n".encode())
    assert plain == marked and plain[0].name == "José"


def test_a_semicolon_or_a_comma_whichever_the_header_uses() -> None:
    (row,) = read_rows(f"Name;Photo;Voice\nAna, Jr.;{LINK};Anna\n".encode())
    assert (row.name, row.photo, row.voice) == ("Ana, Jr.", LINK, "anna")
    (row,) = read_rows(f'name,photo\n"Smith; Ana",{LINK}\n'.encode())
    assert row.name == "Smith; Ana"


def test_quoted_cells_keep_commas_quotes_and_line_breaks_and_rows_count_as_a_spreadsheet_does() -> None:
    text = f'photo,NAME,for\r\n{LINK},"Ana ""the boss"", Lee",U0ANA\r\n{LINK},"Two\nLines",\r\n{LINK},Cy,\r\n'
    rows = read_text(text)
    assert [(r.number, r.name) for r in rows] == [(2, 'Ana "the boss", Lee'), (3, "Two\nLines"), (4, "Cy")]
    assert rows[0].for_cell == "U0ANA" and rows[2].for_cell is None


def test_blank_lines_are_skipped_and_missing_cells_are_empty() -> None:
    rows = read_text(f"name,photo,voice\n\nAna,{LINK}\n,,\nBo,{LINK},liam\n")
    assert [(r.number, r.name, r.voice) for r in rows] == [(2, "Ana", None), (3, "Bo", "liam")]


def test_cells_that_look_like_formulas_stay_text_and_are_written_back_harmless() -> None:
    formula = '"=HYPERLINK(""https://evil"",""x"")"'
    rows = read_text(f"name,photo\n{formula},{LINK}\n+1 Ana,{LINK}\n@Bo,{LINK}\n-Cy,{LINK}\n")
    assert [r.name for r in rows] == ['=HYPERLINK("https://evil","x")', "+1 Ana", "@Bo", "-Cy"]
    written = as_csv(rows)
    lines = written.splitlines()
    assert lines[0] == "name,photo,voice,model,for"
    assert [line.split(",")[0] for line in lines[2:]] == ["'+1 Ana", "'@Bo", "'-Cy"]
    assert lines[1].startswith("\"'=HYPERLINK(")
    # Read back, the apostrophe that kept them text goes: the same rows again.
    assert [r.name for r in read_text(written)] == [r.name for r in rows]
    assert safe_cell("\t=1") == "'\t=1" and safe_cell("Ana") == "Ana"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"%PDF-1.7\n1 0 obj\n", FileProblem.NOT_CSV),
        (b"PK\x03\x04 spreadsheet", FileProblem.NOT_CSV),
        (b"\x89PNG\r\n\x1a\n", FileProblem.NOT_CSV),
        (b"name,photo\nA\x00B,x\n", FileProblem.NOT_CSV),
        ("name,photo\nJosé,x\n".encode("latin-1"), FileProblem.NOT_UTF8),
        (b"", FileProblem.EMPTY),
        (b"\xef\xbb\xbf \n\n", FileProblem.EMPTY),
        (b"name,photo\n", FileProblem.EMPTY),
    ],
)
def test_files_that_are_no_csv_or_empty_are_refused(data: bytes, problem: FileProblem) -> None:
    assert refused(data).problem == problem


def test_a_header_is_needed_and_every_column_must_be_known() -> None:
    assert refused(f"Ana,{LINK}\n").problem == FileProblem.NO_HEADER
    unknown = refused(f"name,photo,Colour\nAna,{LINK},red\n")
    assert (unknown.problem, unknown.row, unknown.column) == (FileProblem.UNKNOWN_COLUMN, 1, "Colour")
    missing = refused("name,voice\nAna,anna\n")
    assert (missing.problem, missing.row, missing.column) == (FileProblem.MISSING_COLUMN, 1, "photo")
    twice = refused(f"name,photo,NAME\nAna,{LINK},Bo\n")
    assert (twice.problem, twice.column) == (FileProblem.DUPLICATE_COLUMN, "name")


def test_the_limits_rows_and_bytes() -> None:
    text = "name,photo\n" + "".join(f"P{n},{LINK}\n" for n in range(5))
    assert len(read_text(text, max_rows=5)) == 5
    many = refused(text, max_rows=4)
    assert (many.problem, many.limit, many.value) == (FileProblem.TOO_MANY_ROWS, 4, "5")
    big = refused(b"name,photo\n" + b"x" * MAX_BYTES)
    assert (big.problem, big.limit) == (FileProblem.TOO_LARGE, MAX_BYTES)


def test_a_bad_row_needs_attention_and_names_its_column_the_others_go_on() -> None:
    rows = read_text(
        f"name,photo\nAna,{LINK}\n,{LINK}\nBo,\nana ,{LINK}\nCy,{LINK},extra,cells\nDi,{LINK}\n"
    )
    problems = {r.number: r.problem for r in rows}
    assert problems[2] is None and problems[7] is None
    assert problems[3] == RowProblem("name", RowCode.EMPTY)
    assert problems[4] == RowProblem("photo", RowCode.EMPTY)
    assert problems[5] == RowProblem("name", RowCode.DUPLICATE, {"row": 2})
    assert problems[6] is not None and problems[6].code == RowCode.EXTRA_CELLS


def test_whose_face_a_for_cell_names() -> None:
    assert whose(None, "U0ME") == (Likeness.SELF, None)
    assert whose(" me ", "U0ME") == (Likeness.SELF, None)
    assert whose("outside", "U0ME") == (Likeness.OUTSIDE, None)
    assert whose("<@U0ANA|ana>", "U0ME") == (Likeness.COLLEAGUE, "U0ANA")
    assert whose("U0ANA", "U0ME") == (Likeness.COLLEAGUE, "U0ANA")
    assert whose("U0ME", "U0ME") == (Likeness.SELF, None)
    assert whose("ana@example.com", "U0ME") == (Likeness.COLLEAGUE, None)
    for cell in ("<#C123>", "<!channel>", "@ana", "U0ANA, U0BOB", "ana at example"):
        problem = whose(cell, "U0ME")
        assert isinstance(problem, RowProblem)
        assert (problem.column, problem.code) == ("for", RowCode.UNREADABLE_FOR)


@pytest.mark.parametrize(
    "refusal",
    [
        PreflightRefusal("too_small", width=100, height=90, limit=512),
        FetchRefusal("http_error", host="example.com", http_status=404, status_text="Not Found"),
        UnknownVoice("yodel", ("anna", "liam")),
        PersonCannotConsent("U0ANA", PersonProblem.BOT),
        PhotoFlagged((Finding("too_dark", "ImageQualityError"),)),
    ],
)
def test_a_rows_refusal_is_stored_and_rebuilt(refusal: Exception) -> None:
    stored = RowProblem.of("photo", refusal).stored()
    rebuilt = RowProblem.parse(stored)
    assert rebuilt is not None and rebuilt.column == "photo"
    again = rebuilt.refusal()
    assert type(again) is type(refusal) and str(again) == str(refusal)


def test_a_files_refusal_is_stored_and_rebuilt() -> None:
    refusal = BatchFileRefused(FileProblem.UNKNOWN_COLUMN, row=1, column="colour")
    again = BatchFileRefused.parse(refusal.stored())
    assert again is not None
    assert (again.problem, again.row, again.column) == (FileProblem.UNKNOWN_COLUMN, 1, "colour")
    assert BatchFileRefused.parse("not json") is None


def test_a_batch_is_named_b_and_its_number() -> None:
    assert [batch_number(t) for t in ("b12", "B12", "`b12`", "batch-12", "batch 12")] == [12] * 5
    assert [batch_number(t) for t in ("r90bbd427f71", "b", "12", "bx12")] == [None] * 4


def test_rows_written_out_read_back_the_same() -> None:
    rows = [CsvRow(2, "Ana, Lee", LINK, "anna", "phoenix-4.5", "ana@example.com"), CsvRow(3, "Bo", None)]
    again = read_text(as_csv(rows))
    assert [(r.name, r.photo, r.voice, r.model, r.for_cell) for r in again] == [
        ("Ana, Lee", LINK, "anna", "phoenix-4.5", "ana@example.com"),
        ("Bo", None, None, None, None),
    ]
