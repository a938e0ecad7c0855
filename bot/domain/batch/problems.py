"""Why a batch, or one of its rows, cannot go on: facts only, as the rendering layer words them.

A whole file that cannot be read as a batch is refused (`BatchFileRefused`: not a CSV, no header, an
unknown column, too big …). A row that cannot go is marked for attention with a `RowProblem`: the column
at fault and the reason, which is often the very refusal a single request would get (an unknown voice, a
photo too small, Tavus' check failing); the other rows are not held up by it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.domain.errors import (
    MissingPhoto,
    MissingVoice,
    NoImageTraining,
    NoMediaStore,
    OutsideNotAllowed,
    PersonCannotConsent,
    PersonProblem,
    PhotoFlagged,
    Refusal,
    UnknownModel,
    UnknownVoice,
)
from bot.photos.offline_check import Finding
from bot.photos.refusals import FetchRefusal, PreflightRefusal


class FileProblem(StrEnum):
    NOT_CSV = "not_csv"  # binary, or a PDF or spreadsheet renamed
    NOT_UTF8 = "not_utf8"  # text in another encoding
    EMPTY = "empty"  # nothing, or a header and no rows
    NO_HEADER = "no_header"  # the first row names none of the columns
    UNKNOWN_COLUMN = "unknown_column"
    MISSING_COLUMN = "missing_column"  # `name` or `photo` is not in the header
    DUPLICATE_COLUMN = "duplicate_column"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"  # Slack would not hand the file over
    MIXED_FILES = "mixed_files"  # the form got a CSV and photos, or several CSVs
    TOO_MANY_PHOTOS = "too_many_photos"


class BatchFileRefused(Refusal):
    """The file cannot be read as a batch. `row` and `column` say where (row 1 is the header), `value`
    what was found there, `limit` the limit broken."""

    def __init__(
        self,
        problem: FileProblem,
        *,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(f"{problem} row={row} column={column} value={value!r} limit={limit}")
        self.problem = problem
        self.row = row
        self.column = column
        self.value = value
        self.limit = limit

    def stored(self) -> str:
        facts = {"row": self.row, "column": self.column, "value": self.value, "limit": self.limit}
        return json.dumps({"problem": str(self.problem), **facts})

    @classmethod
    def parse(cls, stored: str | None) -> BatchFileRefused | None:
        try:
            data = json.loads(stored or "")
            return cls(
                FileProblem(data["problem"]),
                row=data.get("row"),
                column=data.get("column"),
                value=data.get("value"),
                limit=data.get("limit"),
            )
        except (ValueError, KeyError, TypeError):
            return None


class RowCode(StrEnum):
    EMPTY = "empty"  # the cell is empty
    DUPLICATE = "duplicate"  # the same name as an earlier row (`facts["row"]`)
    EXTRA_CELLS = "extra_cells"  # more cells than the header has columns
    UNREADABLE_FOR = "unreadable_for"  # the `for` cell names no one person
    UNKNOWN_EMAIL = "unknown_email"  # nobody in the workspace has that e-mail address
    REFUSED = "refused"  # what a single request would be refused with (`refusal()`)
    TAVUS_CHECK = "tavus_check"  # Tavus' own image check failed the photo (`facts["verdict"]`)


@dataclass(frozen=True)
class RowProblem:
    column: str | None
    code: RowCode
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, column: str | None, refusal: Exception) -> RowProblem:
        return cls(column, RowCode.REFUSED, _dump(refusal))

    def refusal(self) -> Exception | None:
        """The refusal a single request would have got, rebuilt from what was stored."""
        return _load(self.facts) if self.code == RowCode.REFUSED else None

    def stored(self) -> str:
        return json.dumps({"column": self.column, "code": str(self.code), "facts": self.facts})

    @classmethod
    def parse(cls, stored: str | None) -> RowProblem | None:
        try:
            data = json.loads(stored or "")
            return cls(data.get("column"), RowCode(data["code"]), dict(data.get("facts") or {}))
        except (ValueError, KeyError, TypeError):
            return None


def column_of(refusal: Exception) -> str:
    """The column of a batch row a refusal of a single request is about."""
    if isinstance(refusal, MissingVoice | UnknownVoice):
        return "voice"
    if isinstance(refusal, UnknownModel | NoImageTraining):
        return "model"
    if isinstance(refusal, PersonCannotConsent | OutsideNotAllowed):
        return "for"
    return "photo"


# --- refusals, stored and rebuilt ---------------------------------------------------------------------------


def _dump(refusal: Exception) -> dict[str, Any]:
    kind = type(refusal).__name__
    if isinstance(refusal, PreflightRefusal):
        return {"type": kind, **{k: v for k, v in vars(refusal).items() if not k.startswith("_")}}
    if isinstance(refusal, MissingVoice):
        return {"type": kind, "voices": list(refusal.voices)}
    if isinstance(refusal, UnknownVoice):
        return {"type": kind, "voice": refusal.voice, "voices": list(refusal.voices)}
    if isinstance(refusal, UnknownModel | NoImageTraining):
        return {"type": kind, "model": refusal.model, "models": list(refusal.models)}
    if isinstance(refusal, PersonCannotConsent):
        return {"type": kind, "user_id": refusal.user_id, "problem": str(refusal.problem)}
    if isinstance(refusal, PhotoFlagged):
        return {"type": kind, "findings": [{"kind": f.kind, "code": f.code} for f in refusal.findings]}
    return {"type": kind}


_PLAIN: dict[str, type[Refusal]] = {
    "MissingPhoto": MissingPhoto,
    "NoMediaStore": NoMediaStore,
    "OutsideNotAllowed": OutsideNotAllowed,
}


def _load(facts: dict[str, Any]) -> Exception | None:
    kind = facts.get("type")
    try:
        if kind in ("PreflightRefusal", "FetchRefusal"):
            cls = FetchRefusal if kind == "FetchRefusal" else PreflightRefusal
            values = {k: v for k, v in facts.items() if k not in ("type", "reason", "args")}
            return cls(str(facts["reason"]), **values)
        if kind == "MissingVoice":
            return MissingVoice(tuple(facts["voices"]))
        if kind == "UnknownVoice":
            return UnknownVoice(str(facts["voice"]), tuple(facts["voices"]))
        if kind in ("UnknownModel", "NoImageTraining"):
            cls_model = UnknownModel if kind == "UnknownModel" else NoImageTraining
            return cls_model(str(facts["model"]), tuple(facts["models"]))
        if kind == "PersonCannotConsent":
            return PersonCannotConsent(str(facts["user_id"]), PersonProblem(facts["problem"]))
        if kind == "PhotoFlagged":
            return PhotoFlagged(tuple(Finding(f["kind"], f["code"]) for f in facts["findings"]))
        plain = _PLAIN.get(str(kind))
        return plain() if plain is not None else None
    except (KeyError, TypeError, ValueError):
        return None


# --- what a person asked of a batch that cannot be done -----------------------------------------------------


class BatchGone(Refusal):
    """The batch a button, a form or `/replica status` names does not exist (or is not theirs to see)."""

    def __init__(self, public_id: str | None = None) -> None:
        super().__init__(public_id or "batch")
        self.public_id = public_id


class BatchNotYours(Refusal):
    """Only the requester or an admin may submit, cancel or retry a batch."""

    def __init__(self, requester_id: str) -> None:
        super().__init__(requester_id)
        self.requester_id = requester_id


class BatchMovedOn(Refusal):
    """Submit, Cancel or an approver's answer came after the batch moved on (a double click, a race):
    `now` is the batch's status, which says where it is."""

    def __init__(self, now: str) -> None:
        super().__init__(now)
        self.now = now


class NothingToSubmit(Refusal):
    """Every row of the batch needs attention: nothing can be submitted."""


class NotABatchApprover(Refusal):
    """Only an approver may approve or deny a batch, and never their own."""

    def __init__(self, own: bool) -> None:
        super().__init__("own batch" if own else "not an approver")
        self.own = own
