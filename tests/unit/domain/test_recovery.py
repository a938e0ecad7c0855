"""bot.domain.recovery against a real database and the Tavus emulator: requests a crash left "received" are
handed back once, under a lease, to check again; requests a crash left "submitting" adopt the replica Tavus
already made for them, or are submitted, never twice."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from bot.domain.drafts import draft_of, request_fields
from bot.domain.errors import SubmitProblem
from bot.domain.recovery import Recovery
from bot.domain.requests import CreateArgs, ReplicaDraft, SubmitError, Submitted
from storage.models import ReplicaRequest, RequestStatus, utcnow
from tests.unit.domain.world import REQUESTER, World, creates, outbox, stored

S = RequestStatus


def recovery(world: World, owner: str = "worker-1", stalled_after: timedelta = timedelta(0)) -> Recovery:
    return Recovery(
        world.engine,
        world.lifecycle,
        world.submission(),
        world.client,
        owner=owner,
        stalled_after=stalled_after,
    )


def submitting(world: World, name: str = "Ana", **overrides: object) -> ReplicaRequest:
    """A request recorded as "submitting" whose create was cut short by a crash."""
    url = world.photo_link()
    fields = {**request_fields(world.draft(image_url=url, name=name), url), **overrides}
    request = world.lifecycle.checked(None, fields, hold=False)
    assert request is not None and request.status == S.SUBMITTING
    return request


def drafts(rescue: Recovery) -> list[ReplicaDraft]:
    """What a worker claims of the requests a crash left "received", as the drafts it checks again."""
    return [draft_of(request) for request in rescue.claim_received()]


# --- received, never checked -------------------------------------------------------------------------------


def test_requests_acked_but_never_checked_come_back_as_drafts_once(any_world: World) -> None:
    world = any_world
    service = world.submission()
    linked = service.receive(world.draft(service, thread_ts="1.1"))
    uploaded = service.receive(
        service.draft(REQUESTER, CreateArgs(voice="ben", name="Up"), uploaded=True, slack_file_id="F9")
    )

    claimed = drafts(recovery(world))

    assert claimed == [linked, uploaded]
    assert claimed[1].uploaded
    for draft in claimed:
        assert stored(world.engine, draft.received_id).lease_owner == "worker-1"
    # Leased: neither this worker nor another gets them again while the lease lasts.
    assert recovery(world).claim_received() == []
    assert recovery(world, owner="worker-2").claim_received() == []


def test_a_request_received_moments_ago_is_not_taken_for_a_crash(world: World) -> None:
    service = world.submission()
    draft = service.receive(world.draft(service))
    assert recovery(world, stalled_after=timedelta(minutes=2)).claim_received() == []
    assert stored(world.engine, draft.received_id).lease_owner is None


def test_a_claimed_request_is_checked_and_submitted_again(world: World) -> None:
    service = world.submission()
    service.receive(world.draft(service))
    [draft] = drafts(recovery(world))

    outcome = service.submit_link(draft)

    assert isinstance(outcome, Submitted)
    row = stored(world.engine, draft.received_id)
    assert (row.status, row.lease_owner, row.lease_until) == (S.TRAINING, None, None)
    assert len(creates(world.tavus)) == 1


def test_give_up_closes_a_received_request_keeping_why(world: World) -> None:
    service = world.submission()
    service.receive(world.draft(service))
    rescue = recovery(world)
    [draft] = drafts(rescue)

    rescue.give_up(draft, SubmitError(SubmitProblem.RESUME_FAILED, "ref-42"))

    row = stored(world.engine, draft.received_id)
    assert (row.status, row.submit_error) == (S.SUBMIT_FAILED, "resume_failed: ref-42")
    assert row.finished_at is not None
    assert outbox(world.engine, row.id) == []
    # A draft that was never written has nothing to close.
    rescue.give_up(replace(draft, received_id=None), SubmitError(SubmitProblem.RESUME_FAILED))
    assert creates(world.tavus) == []


# --- submitting, cut short ----------------------------------------------------------------------------------


def test_a_replica_tavus_made_before_the_crash_is_adopted_not_made_again(any_world: World) -> None:
    world = any_world
    request = submitting(world, name="Grace")
    assert request.train_image_url is not None
    # The create that reached Tavus before the crash, and someone else's replica made meanwhile.
    url = request.train_image_url
    made = world.client.create_replica(replica_name="Grace", train_image_url=url, voice_name="anna")
    world.client.create_replica(replica_name="Other", train_image_url=url, voice_name="anna")

    assert recovery(world).reconcile() == 1

    row = stored(world.engine, request.id)
    assert (row.status, row.replica_id) == (S.TRAINING, made.replica_id)
    assert (row.lease_owner, row.submitted_at is not None) == (None, True)
    assert outbox(world.engine, row.id) == [("card", 1)]
    assert len(creates(world.tavus)) == 2  # only the two above
    assert recovery(world).reconcile() == 0


def test_a_request_tavus_never_saw_is_submitted(world: World) -> None:
    request = submitting(world, name="Never seen")

    assert recovery(world).reconcile() == 1

    row = stored(world.engine, request.id)
    [create] = creates(world.tavus)
    assert create["json"]["face_name"] == "Never seen"
    assert create["json"]["train_image_url"] == request.train_image_url
    assert row.status == S.TRAINING
    assert [r["replica_id"] for r in world.tavus.replicas()] == [row.replica_id]


def test_a_same_named_replica_older_than_the_request_is_not_its_own(world: World) -> None:
    url = world.photo_link()
    older = world.client.create_replica(replica_name="Ana", train_image_url=url, voice_name="anna")
    # Written well after Tavus made that replica (beyond any clock skew).
    request = submitting(world, name="Ana", created_at=utcnow() + timedelta(seconds=30))

    assert recovery(world).reconcile() == 1

    row = stored(world.engine, request.id)
    assert row.status == S.TRAINING and row.replica_id not in (None, older.replica_id)
    assert len(creates(world.tavus)) == 2


def test_each_replica_tavus_made_goes_to_one_request(world: World) -> None:
    first, second = submitting(world, name="Twin"), submitting(world, name="Twin")
    assert first.train_image_url is not None
    url = first.train_image_url
    made = world.client.create_replica(replica_name="Twin", train_image_url=url, voice_name="anna")

    assert recovery(world).reconcile() == 2

    rows = [stored(world.engine, first.id), stored(world.engine, second.id)]
    assert [r.status for r in rows] == [S.TRAINING, S.TRAINING]
    assert rows[0].replica_id == made.replica_id  # the oldest request adopts it
    assert rows[1].replica_id not in (None, made.replica_id)  # the other is submitted
    assert len(creates(world.tavus)) == 2


def test_a_request_tavus_refuses_on_resubmission_is_closed(world: World) -> None:
    request = submitting(world)
    world.tavus.inject_fault(method="POST", path_prefix="/v2/faces", status=400)

    assert recovery(world).reconcile() == 1

    row = stored(world.engine, request.id)
    assert (row.status, row.submit_error) == (S.SUBMIT_FAILED, "tavus_refused: Bad Request")


def test_nothing_is_submitted_while_tavus_cannot_say_what_it_made(world: World) -> None:
    request = submitting(world)
    world.tavus.inject_fault(method="GET", path_prefix="/v2/faces", status=503, count=10)

    assert recovery(world).reconcile() == 0

    assert stored(world.engine, request.id).status == S.SUBMITTING
    assert creates(world.tavus) == []


def test_two_processes_reconciling_at_once_make_one_replica(any_world: World) -> None:
    world = any_world
    request = submitting(world)
    workers = [recovery(world, owner=f"worker-{n}") for n in range(2)]
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run(worker: Recovery) -> None:
        barrier.wait()
        counts.append(worker.reconcile())

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(counts) == [0, 1]
    assert stored(world.engine, request.id).status == S.TRAINING
    assert len(creates(world.tavus)) == 1


def test_draft_of_a_stored_request_round_trips(world: World) -> None:
    service = world.submission()
    original = world.draft(service, thread_ts="5.5", rights_affirmed=True)
    received = service.receive(original)
    [claimed] = drafts(recovery(world))
    assert claimed == received == replace(original, received_id=received.received_id)
    assert claimed.rights_affirmed
