"""A batch's card: one message in the channel (or DM), edited in place from the first row checked to the
last row ended. What each row needs, and why, in the catalogue's words (grouped when many share a
reason); then Submit N / Cancel; then the counts by state. Names people typed are escaped: a row named
`<!channel>` pings nobody."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from bot.domain.batch.problems import BatchFileRefused, FileProblem, RowCode, RowProblem
from bot.domain.catalogue import Catalogue
from bot.domain.errors import (
    MissingPhoto,
    MissingVoice,
    NoImageTraining,
    NoMediaStore,
    OutsideNotAllowed,
    PersonCannotConsent,
    PhotoFlagged,
    UnknownModel,
    UnknownVoice,
)
from bot.domain.image_checks import TavusVerdict
from bot.photos.refusals import PreflightRefusal
from bot.slack.ids import BATCH_CANCEL_ACTION, BATCH_SUBMIT_ACTION
from bot.slack.render import likeness, photos, refusals
from bot.slack.render.blocks import Block, Message, button, channel_ref, context, escape, section, shorten
from bot.slack.render.card import channel_problem, progress_bar
from storage.batch_models import Batch, BatchStatus, RowVerdict
from storage.models import RequestStatus
from storage.repository.batches import BatchView, RowState

S = RequestStatus
# The state of a row once submitted, as the card counts it (in this order).
STATES: dict[str, tuple[RequestStatus, ...]] = {
    "starting": (S.RECEIVED, S.SUBMITTING),
    "waiting for consent": (S.AWAITING_CONSENT,),
    "waiting for approval": (S.AWAITING_APPROVAL,),
    "waiting for your answer": (S.AWAITING_CONFIRMATION,),
    "training": (S.TRAINING,),
    "ready": (S.COMPLETED, S.PREVIEW_READY),
    "failed": (S.FAILED, S.SUBMIT_FAILED),
    "declined": (S.DECLINED,),
    "not approved": (S.DENIED,),
    "no answer in time": (S.EXPIRED,),
    "deleted": (S.DELETED,),
}
_EMOJI = re.compile(r":[a-z_]+: ?")
_STATE_OF = {status: name for name, statuses in STATES.items() for status in statuses}
# Rows listed by reason in one message, at most (the rest are counted).
_LISTED_REASONS = 12
_SUBMIT_CONFIRM = {
    "title": {"type": "plain_text", "text": "Submit the batch?"},
    "text": {
        "type": "mrkdwn",
        "text": "Each ready row is sent to Tavus (colleagues named in `for` are asked first). Rows without "
        "a `for` are faces you have the rights to use, as with the form's checkbox.",
    },
    "confirm": {"type": "plain_text", "text": "Submit"},
    "deny": {"type": "plain_text", "text": "Not yet"},
}


def state_of(state: RowState) -> str:
    """What a row is now, in the card's words: still checked, needing attention, or its request's state."""
    if state.request is None:
        if state.row.verdict is None:
            return "checking"
        return "ready to submit" if state.row.verdict == RowVerdict.READY else "needs attention"
    return _STATE_OF.get(RequestStatus(state.request.status), "starting")


def counts(view: BatchView) -> Counter[str]:
    return Counter(state_of(r) for r in view.rows)


def average_progress(view: BatchView) -> int | None:
    training = [r.request.progress_percent for r in view.rows if r.request is not None
                and r.request.status == S.TRAINING and r.request.progress_percent is not None]
    return round(sum(training) / len(training)) if training else None


def counts_line(view: BatchView) -> str:
    """`3 waiting for consent · 90 training (avg 45%) · 15 ready · 2 failed`: the non-zero states."""
    found = counts(view)
    parts = []
    for name in ("checking", "needs attention", "ready to submit", *STATES):
        if found[name]:
            extra = ""
            if name == "training" and (avg := average_progress(view)) is not None:
                extra = f" (avg {avg}%)"
            parts.append(f"{found[name]} {name}{extra}")
    return " · ".join(parts) or "no rows"


def batch_card(
    view: BatchView,
    catalogue: Catalogue,
    *,
    meant_for: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Message:
    """The card, as the batch now stands. `meant_for`: the channel that refused it for good (`reason`):
    the card lives in the requester's DM instead."""
    batch = view.batch
    status = BatchStatus(batch.status)
    title = f":package: *Batch `{batch.public_id}`* — {_source(batch)} from <@{batch.requester_id}>"
    blocks: list[Block] = []
    if meant_for:
        blocks.append(context(
            f":information_source: This was meant for {channel_ref(meant_for)}, but "
            f"{channel_problem(reason)}. I'll keep you posted here instead."
        ))
    blocks.append(section(title))
    headline = _headline(view, status)
    blocks.append(section(headline))
    if status == BatchStatus.REFUSED:
        blocks.append(section(file_refusal_text(BatchFileRefused.parse(batch.refusal))))
        blocks.append(context(FORMAT_HINT))
    if status in (BatchStatus.CHECKING, BatchStatus.CHECKED, BatchStatus.AWAITING_APPROVAL):
        blocks += attention_blocks(view.where(RowVerdict.ATTENTION), catalogue)
    blocks += _status_blocks(view, status)
    text = f"Batch {batch.public_id} from <@{batch.requester_id}>: {_plain(headline)}"
    return Message(text=text[:3000], blocks=blocks[:50])


def _source(batch: Batch) -> str:
    if batch.file_name:
        return f"*{escape(shorten(batch.file_name, 60))}*"
    rows = batch.total or 0
    return f"{rows} row{'s' if rows != 1 else ''}"


def _headline(view: BatchView, status: BatchStatus) -> str:
    batch = view.batch
    total = batch.total
    ready = len(view.where(RowVerdict.READY))
    attention = len(view.where(RowVerdict.ATTENTION))
    if status == BatchStatus.CHECKING:
        if total is None:
            return ":hourglass_flowing_sand: Reading the file…"
        checked = ready + attention
        bar = progress_bar(round(100 * checked / total) if total else 100)
        return f":mag: Checking {checked} of {total}… `{bar}`"
    if status == BatchStatus.REFUSED:
        return ":warning: I couldn't read this file as a batch, so nothing was checked or submitted."
    if status == BatchStatus.CANCELLED:
        return _cancelled(batch)
    if status in (BatchStatus.CHECKED, BatchStatus.AWAITING_APPROVAL):
        return f"*{ready} ready · {attention} need attention*"
    done = "Done" if status == BatchStatus.FINISHED else f"Submitted by <@{batch.submitted_by}>"
    return f"*{done}* — {counts_line(view)}"


def _cancelled(batch: Batch) -> str:
    if batch.approval_status == "denied":
        reason = f": {escape(batch.approval_reason)}" if batch.approval_reason else ""
        return f":no_entry_sign: Not approved by <@{batch.approval_by}>{reason}. Nothing was submitted."
    if batch.approval_status == "expired":
        return ":hourglass: No approver answered in time. Nothing was submitted."
    by = f" by <@{batch.cancelled_by}>" if batch.cancelled_by else ""
    return f":wastebasket: Cancelled{by}. Nothing was submitted."


def _status_blocks(view: BatchView, status: BatchStatus) -> list[Block]:
    batch = view.batch
    assert batch.id is not None
    value = str(batch.id)
    ready = len(view.where(RowVerdict.READY))
    if status == BatchStatus.CHECKING:
        return [context("Nothing is submitted before you click *Submit*, once every row is checked.")]
    if status == BatchStatus.CHECKED:
        buttons: list[Block] = []
        if ready:
            submit = button(f"Submit {ready}", BATCH_SUBMIT_ACTION, value, primary=True)
            buttons.append({**submit, "confirm": _SUBMIT_CONFIRM})
        buttons.append(button("Cancel", BATCH_CANCEL_ACTION, value))
        note = (
            "Nothing is submitted before *Submit*, which only the requester or an admin can click. Rows "
            "that need attention are left out: fix them and send them again."
            if ready else "No row can be submitted: fix them and send the file again."
        )
        return [{"type": "actions", "elements": buttons}, context(note)]
    if status == BatchStatus.AWAITING_APPROVAL:
        return [
            section(f":raised_hand: Waiting for an approver to approve the {ready} rows as one."),
            {"type": "actions", "elements": [button("Cancel", BATCH_CANCEL_ACTION, value)]},
        ]
    if status in (BatchStatus.SUBMITTED, BatchStatus.FINISHED):
        lines = ["Failures are explained in the thread, each with its retry."]
        if batch.approval_status == "approved" and batch.approval_by:
            lines.append(f"Approved by <@{batch.approval_by}>.")
        return [context(" ".join(lines))]
    return []


# --- why rows need attention ----------------------------------------------------------------------------


def attention_blocks(rows: Sequence[RowState], catalogue: Catalogue) -> list[Block]:
    """The rows that need attention, by row number and name, grouped by reason."""
    if not rows:
        return []
    by_reason: dict[str, list[RowState]] = defaultdict(list)
    for state in rows:
        by_reason[row_reason(state, catalogue)].append(state)
    lines = []
    for reason, grouped in list(by_reason.items())[:_LISTED_REASONS]:
        lines.append(f"• {rows_named(grouped)} — {reason}")
    more = len(by_reason) - _LISTED_REASONS
    if more > 0:
        lines.append(f"• …and {more} other reasons (`/replica status` lists every row)")
    return [section("*Needs attention*\n" + "\n".join(lines))]


def rows_named(rows: Sequence[RowState], *, limit: int = 8) -> str:
    """`Rows 3, 7 (Ana, Bob)`: which rows, by number and name, the first few of many."""
    shown = rows[:limit]
    numbers = ", ".join(str(r.row.row_number) for r in shown)
    names = ", ".join(escape(shorten(r.row.name or "—", 40)) for r in shown)
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    word = "Row" if len(rows) == 1 else "Rows"
    return f"{word} {numbers} ({names}){more}"


def row_reason(state: RowState, catalogue: Catalogue) -> str:
    """Why a row needs attention: the column and the reason, in the catalogue's words."""
    problem = RowProblem.parse(state.row.problem)
    if problem is None:
        return "it could not be checked"
    column = f"`{problem.column}`: " if problem.column else ""
    return column + problem_text(problem, catalogue)


def problem_text(problem: RowProblem, catalogue: Catalogue) -> str:
    facts = problem.facts
    match problem.code:
        case RowCode.EMPTY:
            return "the cell is empty"
        case RowCode.DUPLICATE:
            return f"the same name as row {facts.get('row')}; give each face its own name"
        case RowCode.EXTRA_CELLS:
            return "more cells than the header has columns (put a name with a comma in quotes)"
        case RowCode.UNREADABLE_FOR:
            value = escape(shorten(str(facts.get("value", "")), 60))
            return f"`{value}` is not one person: write `U…`, `<@U…>` or their e-mail address"
        case RowCode.UNKNOWN_EMAIL:
            return f"nobody in this workspace has the e-mail address `{escape(str(facts.get('email', '')))}`"
        case RowCode.TAVUS_CHECK:
            return "Tavus' image check failed it: " + verdict_titles(facts.get("verdict"), catalogue)
    refusal = problem.refusal()
    return refusal_words(refusal) if refusal is not None else "it cannot be used"


def verdict_titles(stored: object, catalogue: Catalogue) -> str:
    verdict = TavusVerdict.parse(stored if isinstance(stored, str) else None)
    failed = verdict.failed if verdict is not None else ()
    titles: list[str] = []
    for check in failed:
        entry = catalogue.lookup(check.code) if check.code else None
        title = entry.title if entry is not None else escape(shorten(check.label or check.id, 100))
        if title not in titles:
            titles.append(title)
    return "; ".join(titles) or "it did not pass"


def refusal_words(refusal: Exception) -> str:
    """What a single request would have been told, for a row."""
    if isinstance(refusal, PreflightRefusal):
        return photos.refusal_text(refusal)
    if isinstance(refusal, MissingPhoto | MissingVoice | UnknownVoice):
        return refusals.draft_error_text(refusal)
    if isinstance(refusal, UnknownModel | NoImageTraining):
        return refusals.model_error_text(refusal)
    if isinstance(refusal, PersonCannotConsent):
        return likeness.person_problem_text(refusal)
    if isinstance(refusal, OutsideNotAllowed):
        return likeness.OUTSIDE_DENIED
    if isinstance(refusal, NoMediaStore):
        return refusals.NO_MEDIA_STORE
    if isinstance(refusal, PhotoFlagged):
        found = ", ".join(photos.finding_detail(f) for f in refusal.findings)
        return f"the offline photo check found: {found}"
    return "it cannot be used"


# --- the whole file ----------------------------------------------------------------------------------------

_KNOWN = "`name`, `photo`, `voice`, `model`, `for`"
FORMAT_HINT = (
    "A batch is a CSV (UTF-8, comma or semicolon) with a header row: `name`, `photo` (a link to the image), "
    "and optionally `voice`, `model`, `for` (whose face: `U…`, `<@U…>` or an e-mail address)."
)


def file_refusal_text(refused: BatchFileRefused | None) -> str:
    """Why a file is not a batch, naming the row and the column where one is at fault."""
    if refused is None:
        return "The file could not be read."
    where = f"Row {refused.row}" if refused.row is not None else "The file"
    column = f"`{escape(refused.column)}`" if refused.column else ""
    limit = refused.limit or 0
    match refused.problem:
        case FileProblem.NOT_CSV:
            return "This is not a CSV file (it looks like a PDF, a spreadsheet or another binary file). " \
                "Export it as CSV (UTF-8) and send that."
        case FileProblem.NOT_UTF8:
            return "This CSV is not in UTF-8. Save it as *CSV UTF-8* and send it again."
        case FileProblem.EMPTY:
            return "The file has no rows: a header row, then one row per face."
        case FileProblem.NO_HEADER:
            value = escape(shorten(refused.value or "", 100))
            return f"Row 1 is not a header (it reads `{value}`): the first row must name the columns."
        case FileProblem.UNKNOWN_COLUMN:
            return f"{where}, column {column}: unknown column. Known: {_KNOWN}."
        case FileProblem.MISSING_COLUMN:
            return f"{where}: the header has no {column} column, which every batch needs."
        case FileProblem.DUPLICATE_COLUMN:
            return f"{where}, column {column}: the header names it twice."
        case FileProblem.TOO_MANY_ROWS:
            return f"The file has {refused.value} rows; a batch takes at most {limit}. Split it in two."
        case FileProblem.TOO_LARGE:
            return f"The file is larger than {limit // 1024} KB, the most a batch takes. Split it."
        case FileProblem.MIXED_FILES:
            return "Send one CSV, or up to 10 photos: not both, nor several CSVs."
        case FileProblem.TOO_MANY_PHOTOS:
            return f"That is {refused.value} photos; a batch from the form takes at most {limit}."
    return "I couldn't download the file from Slack. Please share it again."


def _plain(mrkdwn: str) -> str:
    """A headline for notifications and screen readers: no emoji codes, bold or code marks."""
    return _EMOJI.sub("", mrkdwn).replace("*", "").replace("`", "")

