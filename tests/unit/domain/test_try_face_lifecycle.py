"""A sample video's and a test call's lifecycles (`bot.domain.try_face.lifecycle`), on SQLite and PostgreSQL:
a job is recorded before Tavus is called, within its face's allowance and one of a kind at a time, even when
many ask at once; each move is a compare-and-set that queues its post in the face's thread once, with the
job as its subject; what Tavus refused is told only to the clicker and costs nothing."""

from __future__ import annotations

import secrets
import threading
import uuid
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.domain.errors import SubmitProblem
from bot.domain.lifecycle import Poll
from bot.domain.requests import SubmitError
from bot.domain.try_face.lifecycle import JobLifecycle
from storage.job_models import CallStatus, JobKind, VideoStatus
from storage.models import OutboxKind, OutboxMessage, RequestStatus, utcnow
from storage.repository import face_jobs, replica_requests


def a_face(engine: Engine) -> int:
    token = uuid.uuid4().hex
    face = replica_requests.insert(
        engine,
        {
            "channel_id": "C1",
            "requester_id": "U1",
            "replica_name": "Ana",
            "replica_id": f"r{token[:11]}",
            "callback_token": f"cb-{token}",
            "idempotency_key": f"idem-{token}",
            "status": RequestStatus.COMPLETED,
        },
    )
    assert face.id is not None
    return face.id


def ask(
    lifecycle: JobLifecycle,
    face: int,
    kind: JobKind = JobKind.VIDEO,
    *,
    key: str | None = None,
    allowance: int | None = 3,
) -> face_jobs.Inserted:
    return lifecycle.ask(
        kind,
        {
            "request_id": face,
            "replica_id": "r1",
            "asked_by": "U1",
            "asked_in": "C1",
            "active_key": key if key is not None else f"{kind}:{secrets.token_hex(4)}",
            "callback_token": secrets.token_urlsafe(16),
        },
        allowance=allowance,
    )


def posts(engine: Engine, face: int) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.request_id == face)).all()
    return sorted((row.kind, row.subject) for row in rows)


def poll() -> Poll:
    now = utcnow()
    return Poll("worker-1", now, now + timedelta(seconds=5))


def test_a_video_is_recorded_first_and_each_move_is_told_once_in_its_faces_thread(engine: Engine) -> None:
    lifecycle = JobLifecycle(engine)
    face = a_face(engine)
    job = ask(lifecycle, face).job
    assert job is not None and job.status == VideoStatus.CREATING and job.subject == f"video:{job.id}"
    assert posts(engine, face) == []
    started = lifecycle.video_started(job, "v123", first_poll_at=utcnow())
    assert started is not None and started.status == VideoStatus.GENERATING and started.tavus_id == "v123"
    assert lifecycle.video_started(job, "v123", first_poll_at=utcnow()) is None  # recorded once
    ready = {"video_url": "https://v/1", "thumbnail_url": None, "details": None}
    assert lifecycle.video_ready(job, **ready, poll=poll())
    assert not lifecycle.video_ready(job, **ready, poll=poll())
    assert not lifecycle.video_failed(job, details="late", poll=poll())  # ready is final
    done = face_jobs.get(engine, job.id or 0)
    assert done is not None and done.status == VideoStatus.READY and done.active_key is None
    assert done.video_url == "https://v/1" and done.finished_at is not None
    subject = f"video:{job.id}"
    assert posts(engine, face) == [(OutboxKind.VIDEO_READY, subject), (OutboxKind.VIDEO_STARTED, subject)]


def test_a_call_starts_ends_once_and_forgets_its_link(engine: Engine) -> None:
    lifecycle = JobLifecycle(engine)
    face = a_face(engine)
    job = ask(lifecycle, face, JobKind.CALL, key=f"call:{face}").job
    assert job is not None and job.status == CallStatus.CREATING
    ends = utcnow() + timedelta(minutes=2)
    live = lifecycle.call_started(job, "c1", join_url="https://join/c1", ends_at=ends, first_poll_at=utcnow())
    assert live is not None and live.status == CallStatus.LIVE and live.join_url == "https://join/c1"
    assert lifecycle.call_ended(job, ended_at=utcnow(), poll=poll())
    assert not lifecycle.call_ended(job, ended_at=utcnow(), poll=poll())
    ended = face_jobs.get(engine, job.id or 0)
    assert ended is not None and ended.join_url is None and ended.active_key is None
    subject = f"call:{job.id}"
    assert posts(engine, face) == [(OutboxKind.CALL_ENDED, subject), (OutboxKind.CALL_STARTED, subject)]


def test_one_of_a_kind_at_a_time_until_it_ends(engine: Engine) -> None:
    lifecycle = JobLifecycle(engine)
    face = a_face(engine)
    first = ask(lifecycle, face, JobKind.CALL, key=f"call:{face}")
    second = ask(lifecycle, face, JobKind.CALL, key=f"call:{face}")
    assert first.job is not None and second.job is None
    assert second.running is not None and second.running.id == first.job.id
    # Even with its allowance used up, the running one is the answer (who is in it, until when).
    assert ask(lifecycle, face, JobKind.CALL, key=f"call:{face}", allowance=1).running is not None
    lifecycle.not_started(first.job, SubmitError(SubmitProblem.TAVUS_REFUSED, "busy"), refused=True)
    assert ask(lifecycle, face, JobKind.CALL, key=f"call:{face}").job is not None


def test_what_tavus_refused_is_told_only_to_the_clicker_and_costs_nothing(engine: Engine) -> None:
    lifecycle = JobLifecycle(engine)
    face = a_face(engine)
    refused, down = ask(lifecycle, face).job, ask(lifecycle, face).job
    assert refused is not None and down is not None
    moved = lifecycle.not_started(refused, SubmitError(SubmitProblem.TAVUS_REFUSED, "no"), refused=True)
    assert moved is not None and moved.status == VideoStatus.REFUSED
    moved = lifecycle.not_started(down, SubmitError(SubmitProblem.TAVUS_UNAVAILABLE), refused=False)
    assert moved is not None and moved.status == VideoStatus.NOT_MADE
    assert moved.create_error == "tavus_unavailable"
    assert posts(engine, face) == [(OutboxKind.VIDEO_NOT_MADE, f"video:{down.id}")]
    assert face_jobs.made(engine, face, JobKind.VIDEO) == 0


def test_the_allowance_holds_exactly_when_many_ask_at_once(engine: Engine) -> None:
    lifecycle = JobLifecycle(engine)
    face = a_face(engine)
    results: list[face_jobs.Inserted] = []
    barrier = threading.Barrier(8)

    def one() -> None:
        barrier.wait()
        results.append(ask(lifecycle, face, allowance=3))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = [r for r in results if r.job is not None]
    assert len(made) == 3
    assert {r.made for r in results if r.job is None} == {3}
    assert face_jobs.made(engine, face, JobKind.VIDEO) == 3
    # Calls have an allowance of their own; None is no limit (an admin).
    assert ask(lifecycle, face, JobKind.CALL, allowance=3).job is not None
    assert ask(lifecycle, face, allowance=None).job is not None


def test_a_job_is_found_by_its_callback_token_and_a_video_by_its_tavus_id(engine: Engine) -> None:
    lifecycle = JobLifecycle(engine)
    face = a_face(engine)
    job = ask(lifecycle, face).job
    assert job is not None
    lifecycle.video_started(job, "v9", first_poll_at=utcnow())
    found = face_jobs.for_callback(engine, job.callback_token)
    assert found is not None and found.id == job.id
    assert face_jobs.for_callback(engine, "nobody's") is None
    assert face_jobs.known_tavus_ids(engine, JobKind.VIDEO, ["v9", "v10"]) == {"v9"}
    assert face_jobs.known_tavus_ids(engine, JobKind.CALL, ["v9"]) == set()

