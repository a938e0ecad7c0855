"""A batch's card and posts as Slack shows them: within Block Kit's limits however many rows, names that
look like mentions pinging nobody, reasons grouped, Submit N only while nothing is submitted."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.batch.problems import BatchFileRefused, FileProblem, RowCode, RowProblem
from bot.domain.catalogue import Catalogue
from bot.domain.errors import UnknownVoice
from bot.slack import render
from bot.slack.ids import BATCH_CANCEL_ACTION, BATCH_SUBMIT_ACTION
from storage.batch_models import Batch, BatchRow, BatchStatus, RowVerdict
from storage.models import OutboxKind, ReplicaRequest, RequestStatus
from storage.repository.batches import BatchView, RowState

CATALOGUE = Catalogue()
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def batch(status: BatchStatus, total: int, **values: object) -> Batch:
    fields = {"id": 7, "channel_id": "C1", "requester_id": "U0REQ", "file_name": "team.csv", **values}
    return Batch(status=status, total=total, **fields)


def row(number: int, name: str, verdict: RowVerdict | None, problem: RowProblem | None = None) -> BatchRow:
    stored = problem.stored() if problem else None
    return BatchRow(id=number, batch_id=7, row_number=number, name=name, verdict=verdict, problem=stored)


def request(number: int, status: RequestStatus) -> ReplicaRequest:
    return ReplicaRequest(
        id=number, channel_id="C1", requester_id="U0REQ", replica_name=f"Person {number}", status=status,
        progress_percent=40, callback_token=str(number), idempotency_key=str(number),
    )


def texts(message: render.Message) -> str:
    return message.text + "\n" + str(message.blocks)


def actions(message: render.Message) -> list[dict]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_the_checked_card_lists_reasons_grouped_and_offers_submit_n() -> None:
    voice = RowProblem.of("voice", UnknownVoice("yodel", ("anna",)))
    rows = [
        RowState(row(2, "Ana", RowVerdict.READY)),
        RowState(row(3, "<!channel> Bo", RowVerdict.ATTENTION, voice)),
        RowState(row(4, "<@U0X|x> Cy", RowVerdict.ATTENTION, voice)),
        RowState(row(5, "Di", RowVerdict.ATTENTION, RowProblem("name", RowCode.DUPLICATE, {"row": 2}))),
    ]
    card = render.batch_card(BatchView(batch(BatchStatus.CHECKED, 4), rows), CATALOGUE)
    shown = texts(card)
    assert "1 ready · 3 need attention" in shown
    assert "Rows 3, 4 (&lt;!channel&gt; Bo, &lt;@U0X|x&gt; Cy) — `voice`" in shown
    assert "<!channel>" not in shown and "<@U0X" not in shown
    assert "Row 5 (Di) — `name`: the same name as row 2" in shown
    submit, cancel = actions(card)
    assert (submit["action_id"], submit["text"]["text"]) == (BATCH_SUBMIT_ACTION, "Submit 1")
    assert submit["value"] == "7"
    assert cancel["action_id"] == BATCH_CANCEL_ACTION


def test_a_card_of_500_rows_stays_within_slacks_limits_while_checking_and_after() -> None:
    problem = RowProblem("photo", RowCode.EMPTY)
    checking = [
        RowState(row(n, f"Person {n}", RowVerdict.ATTENTION if n % 2 else None, problem))
        for n in range(2, 502)
    ]
    card = render.batch_card(BatchView(batch(BatchStatus.CHECKING, 500), checking), CATALOGUE)
    assert "Checking 250 of 500" in card.text
    assert len(card.blocks) <= 50 and all(len(str(b.get("text", ""))) < 3100 for b in card.blocks)
    submitted = [
        RowState(row(n, f"Person {n}", RowVerdict.READY),
                 request(n, RequestStatus.TRAINING if n % 3 else RequestStatus.FAILED))
        for n in range(2, 502)
    ]
    view = BatchView(batch(BatchStatus.SUBMITTED, 500, submitted_by="U0REQ"), submitted)
    card = render.batch_card(view, CATALOGUE)
    assert "333 training (avg 40%)" in card.text and "167 failed" in card.text
    assert actions(card) == []  # nothing to submit or cancel any more
    failed = [s.request for s in submitted if s.request and s.request.status == RequestStatus.FAILED]
    post = render.batch_row_post(OutboxKind.FAILURE, view, [r for r in failed if r], CATALOGUE)
    assert len(post.blocks) <= 50
    assert all(len(str(b.get("text", {}).get("text", ""))) <= 3000 for b in post.blocks)
    assert "167 rows of batch b7 failed training" in post.text


def test_a_refused_file_says_why_naming_the_row_and_column() -> None:
    refused = BatchFileRefused(FileProblem.UNKNOWN_COLUMN, row=1, column="<!here>")
    card = render.batch_card(BatchView(batch(BatchStatus.REFUSED, 0, refusal=refused.stored())), CATALOGUE)
    assert "Row 1, column `&lt;!here&gt;`: unknown column" in texts(card)
    assert actions(card) == []
