"""A batch's moves on SQLite and PostgreSQL: each a compare-and-set that queues its card and posts once; a
row checked once, by the worker holding it; Submit once; each ready row one request, whose moves re-render
the batch's card and keep only the posts that need someone; many failures of one cause told together."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.domain.batch import BatchLifecycle
from bot.domain.drafts import request_fields
from bot.domain.lifecycle import Failure, Lifecycle, Poll
from bot.domain.requests import ReplicaDraft, Requester
from storage.batch_models import BatchRow, BatchStatus, RowVerdict
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, table, utcnow
from storage.repository import batch_erasure, batch_outbox, batch_work, batches, erasure, outbox

REQUESTER = Requester("U0REQ", "C0BATCH", "T0001")
OWNER, OTHER = "worker-a", "worker-b"


def rows(*names: str) -> list[dict[str, Any]]:
    return [
        {"row_number": n + 2, "name": name, "photo_url": f"https://x/{n}.png"} for n, name in enumerate(names)
    ]


def opened(engine: Engine, *names: str) -> tuple[BatchLifecycle, int]:
    lifecycle = BatchLifecycle(engine)
    batch = lifecycle.open(
        {"team_id": "T0001", "channel_id": "C0BATCH", "requester_id": "U0REQ", "total": len(names)},
        rows(*names),
    )
    assert batch.id is not None and batch.status == BatchStatus.CHECKING
    return lifecycle, batch.id


def queued(engine: Engine, batch_id: int) -> list[tuple[str, int | None, int]]:
    """(kind, request id, version) of everything queued where the batch is followed."""
    statement = select(OutboxMessage).where(col(OutboxMessage.batch_id) == batch_id)
    with Session(engine) as session:
        found = session.exec(statement.order_by(col(OutboxMessage.id))).all()
        return [(r.kind, r.request_id, r.version) for r in found]


def check_all(engine: Engine, lifecycle: BatchLifecycle, batch_id: int) -> None:
    for row_id in batch_work.claim_rows(engine, owner=OWNER, limit=100):
        assert lifecycle.row_checked(batch_id, row_id, {"verdict": RowVerdict.READY.value}, owner=OWNER)
    assert lifecycle.all_checked(batch_id) is not None


def test_a_row_is_checked_once_by_the_worker_holding_it_and_the_card_coalesces(engine: Engine) -> None:
    lifecycle, batch_id = opened(engine, "Ana", "Bo")
    first, second = batch_work.claim_rows(engine, owner=OWNER, limit=10)
    assert batch_work.claim_rows(engine, owner=OTHER, limit=10) == []  # leased
    assert not lifecycle.row_checked(batch_id, first, {"verdict": "ready"}, owner=OTHER)
    assert lifecycle.row_checked(batch_id, first, {"verdict": "ready"}, owner=OWNER)
    assert not lifecycle.row_checked(batch_id, first, {"verdict": "attention"}, owner=OWNER)
    assert lifecycle.all_checked(batch_id) is None  # one row still waits
    assert lifecycle.row_checked(batch_id, second, {"verdict": "attention"}, owner=OWNER)
    assert lifecycle.all_checked(batch_id) is not None
    assert lifecycle.all_checked(batch_id) is None  # once
    # One card row, re-rendered at each move: the deliverer edits it to its latest state.
    assert queued(engine, batch_id) == [(OutboxKind.BATCH_CARD, None, 4)]
    assert batch_work.checked_batches(engine) == []


def test_submit_counts_once_and_nothing_follows_a_cancel(engine: Engine) -> None:
    lifecycle, batch_id = opened(engine, "Ana")
    assert lifecycle.submit(batch_id, "U0REQ") is None  # not checked yet
    assert lifecycle.cancel(batch_id, "U0REQ") is not None
    assert lifecycle.submit(batch_id, "U0REQ") is None
    lifecycle, batch_id = opened(engine, "Bo")
    check_all(engine, lifecycle, batch_id)
    assert lifecycle.submit(batch_id, "U0REQ") is not None
    assert lifecycle.submit(batch_id, "U0REQ") is None
    assert lifecycle.cancel(batch_id, "U0REQ") is None
    assert batch_work.rows_to_submit(engine) != []


def test_approvers_are_asked_once_and_the_first_decision_counts(engine: Engine) -> None:
    lifecycle, batch_id = opened(engine, "Ana")
    check_all(engine, lifecycle, batch_id)
    asked = lifecycle.submit(batch_id, "U0REQ", approvers=("U0APP1", "U0APP2"), expires_at=utcnow())
    assert asked is not None and asked.status == BatchStatus.AWAITING_APPROVAL
    kinds = [k for k, _, _ in queued(engine, batch_id)]
    assert kinds.count(OutboxKind.BATCH_APPROVAL_ASK) == 2
    assert batch_work.expired_approvals(engine) == [batch_id]
    assert lifecycle.decided(batch_id, {"approval_status": "approved"}, approved=True) is not None
    assert lifecycle.decided(batch_id, {"approval_status": "denied"}, approved=False) is None
    assert lifecycle.expire(batch_id) is None


def submitted(engine: Engine, requests: Lifecycle, batch_id: int) -> list[int]:
    """Each ready row made a request (as the worker does), started in Tavus."""
    made = []
    for row in batches.rows(engine, batch_id):
        assert row.id is not None
        draft = ReplicaDraft(REQUESTER, row.name, "anna", image_url=row.photo_url, rights_affirmed=True)

        def fields(draft: ReplicaDraft = draft) -> dict[str, Any]:
            return {**request_fields(draft, draft.image_url), "batch_id": batch_id, "checked_at": utcnow()}

        request = requests.receive_row(fields(), row.id)
        assert request is not None and request.id is not None
        assert requests.receive_row(fields(), row.id) is None  # exactly one per row
        requests.checked(request.id, {}, hold=False)
        assert requests.start(request.id, f"r{request.id}x", first_poll_at=utcnow()) is not None
        made.append(request.id)
    return made


def test_each_row_is_one_request_whose_moves_re_render_the_batch_card(engine: Engine) -> None:
    lifecycle, batch_id = opened(engine, "Ana", "Bo", "Cy")
    check_all(engine, lifecycle, batch_id)
    lifecycle.submit(batch_id, "U0REQ")
    requests = Lifecycle(engine)
    ana, bo, cy = submitted(engine, requests, batch_id)
    assert batch_work.rows_to_submit(engine) == []
    poll = Poll(OWNER, utcnow(), utcnow())
    assert requests.complete(ana, progress="100/100", thumbnail_video_url=None, poll=poll)
    assert lifecycle.finish(batch_id) is None  # two rows still train
    for request_id in (bo, cy):
        assert requests.fail(request_id, Failure("HeadphonesError", "headphones"), poll=poll)
    # No card, completion post or DM of the requests' own: their failures, in the batch's thread.
    with Session(engine) as session:
        mine = col(OutboxMessage.request_id).in_([ana, bo, cy])
        of_requests = session.exec(select(OutboxMessage).where(mine))
        assert sorted((r.kind, r.batch_id) for r in of_requests) == [
            (OutboxKind.FAILURE, batch_id), (OutboxKind.FAILURE, batch_id)
        ]
    assert lifecycle.finish(batch_id) is not None
    kinds = [k for k, request_id, _ in queued(engine, batch_id) if request_id is None]
    assert kinds == [OutboxKind.BATCH_CARD, OutboxKind.BATCH_SUMMARY, OutboxKind.BATCH_DM]


def test_failures_of_one_cause_are_told_in_one_post_written_down_before_it(engine: Engine) -> None:
    lifecycle, batch_id = opened(engine, "Ana", "Bo", "Cy")
    check_all(engine, lifecycle, batch_id)
    lifecycle.submit(batch_id, "U0REQ")
    requests = Lifecycle(engine)
    ana, bo, cy = submitted(engine, requests, batch_id)
    poll = Poll(OWNER, utcnow(), utcnow())
    requests.fail(ana, Failure("HeadphonesError", None), poll=poll)
    requests.fail(bo, Failure("MultipleFacesError", None), poll=poll)
    requests.fail(cy, Failure("HeadphonesError", None), poll=poll)
    failures = [i for i in _ids(engine, batch_id) if (row := outbox.get(engine, i)) and row.kind == "failure"]
    lead = outbox.get(engine, failures[0])
    assert lead is not None
    told = batch_outbox.gather(engine, lead, owner=OWNER, lease_seconds=30, grow=True)
    assert [r.id for _, r in batch_outbox.group(engine, failures[0])] == [ana, cy]
    assert len(told) == 2
    # A retried post tells the rows it was written for, no more.
    requests_again = batch_outbox.gather(engine, lead, owner=OWNER, lease_seconds=30, grow=False)
    assert requests_again == told
    outbox.record_group_sent(engine, failures[0], ts="1.000200", rendered_version=lead.version)
    states = {i: outbox.get(engine, i) for i in failures}
    sent = sorted(i for i, r in states.items() if r is not None and r.status == OutboxStatus.SENT)
    assert sent == told and all(states[i].slack_ts == "1.000200" for i in told)  # type: ignore[union-attr]


def _ids(engine: Engine, batch_id: int) -> list[int]:
    statement = select(OutboxMessage.id).where(col(OutboxMessage.batch_id) == batch_id)
    statement = statement.order_by(col(OutboxMessage.id))
    with Session(engine) as session:
        return [i for i in session.exec(statement).all() if i is not None]


def test_forgetting_a_person_blanks_their_batches_and_the_rows_of_their_face(engine: Engine) -> None:
    _, batch_id = opened(engine, "Ana", "Bo")
    with engine.begin() as connection:
        connection.execute(
            sa.update(table(BatchRow)).where(table(BatchRow).c.name == "Bo").values(depicted_id="U0BO")
        )
    assert batch_erasure.forget(engine, "U0BO") == 1
    ana, bo = batches.rows(engine, batch_id)
    assert (ana.name, ana.photo_url) == ("Ana", "https://x/0.png")
    assert (bo.name, bo.photo_url, bo.depicted_id) == ("", None, None)
    assert batch_erasure.forget(engine, "U0REQ") == 3  # their batch, and both its rows
    gone = batches.get(engine, batch_id)
    assert gone is not None and gone.requester_id == ""
    assert all(r.name == "" for r in batches.rows(engine, batch_id))
    assert [v for k, _, v in queued(engine, batch_id) if k == OutboxKind.BATCH_CARD] == [3]  # re-rendered


def test_purge_waits_for_the_batch_to_end_then_takes_it_with_its_requests(engine: Engine) -> None:
    lifecycle, batch_id = opened(engine, "Ana", "Bo")
    check_all(engine, lifecycle, batch_id)
    lifecycle.submit(batch_id, "U0REQ")
    requests = Lifecycle(engine)
    ana, bo = submitted(engine, requests, batch_id)
    poll = Poll(OWNER, utcnow(), utcnow())
    requests.complete(ana, progress="100/100", thumbnail_video_url=None, poll=poll)
    later = utcnow() + timedelta(days=1)
    # Ana's request has ended, but her batch goes on: purging it would make her row again.
    assert erasure.finished_before(engine, later, limit=10) == []
    requests.fail(bo, Failure("HeadphonesError", None), poll=poll)
    assert lifecycle.finish(batch_id) is not None
    with engine.begin() as connection:
        connection.execute(sa.update(table(OutboxMessage)).values(status=OutboxStatus.SENT.value))
    assert erasure.finished_before(engine, later, limit=10) == [ana, bo]
    assert erasure.drop_finished(engine, [ana, bo])[0] == 2
    assert batch_erasure.drop_ended(engine, later) == 1
    assert batches.get(engine, batch_id) is None
