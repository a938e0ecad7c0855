"""bot.domain.tracking end to end in process: requests submitted the ordinary way, trained by the Tavus
emulator, and polled by a real `Tracker` (a sweep, or `poll_now` for a callback). What each answer records,
what it queues, and that a second look at a finished request changes nothing."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from bot.domain.catalogue import Catalogue
from bot.domain.lifecycle import REPLICA_GONE
from bot.domain.tracking import PollSchedule, Tracker
from bot.sandbox.tavus_emulator import ScriptedOutcome
from storage.models import OutboxKind, ReplicaRequest, RequestStatus, utcnow
from tests.unit.domain.world import World, outbox, stored, wait_until

S = RequestStatus
OBSCURED = (
    "Phx4FaceObscuredError: The face should be clearly visible and not largely covered by hands, objects, "
    "headscarf. Please use a clearer photo."
)
INTERVAL = 60.0


def tracker(world: World, owner: str = "poller-1", stuck_after: timedelta = timedelta(hours=6)) -> Tracker:
    return Tracker(
        world.engine,
        world.lifecycle,
        world.client,
        Catalogue(),
        owner=owner,
        schedule=PollSchedule(interval=INTERVAL),
        stuck_after=stuck_after,
        concurrency=2,
    )


def trained(world: World, outcome: ScriptedOutcome, status: str) -> ReplicaRequest:
    """A request whose replica the emulator has finished training with `status` (due for a poll)."""
    world.tavus.script(outcome)
    request = world.training()
    replica_id = request.replica_id
    wait_until(
        lambda: any(r["replica_id"] == replica_id and r["status"] == status for r in world.tavus.replicas()),
        what=f"replica {replica_id} to reach {status}",
    )
    return request


def kinds(world: World, request_id: int | None) -> Counter[str]:
    return Counter(kind for kind, _ in outbox(world.engine, request_id))


def poll_once(world: World, request_id: int | None, how: str) -> None:
    if how == "sweep":
        assert tracker(world).sweep() == 1
    else:
        assert request_id is not None
        assert tracker(world).poll_now(request_id)


@pytest.mark.parametrize("how", ["sweep", "poll_now"])
def test_a_training_failure_is_recorded_and_reported_once(world: World, how: str) -> None:
    request = trained(world, ScriptedOutcome("error", error_message=OBSCURED, training_seconds=0), "error")
    wakes = world.wakes.count

    poll_once(world, request.id, how)

    row = stored(world.engine, request.id)
    assert row.status == S.FAILED
    assert (row.error_code, row.error_message) == ("Phx4FaceObscuredError", OBSCURED)
    assert row.finished_at is not None and row.last_polled_at is not None
    assert (row.lease_owner, row.lease_until) == (None, None)
    assert kinds(world, request.id) == {OutboxKind.CARD: 1, OutboxKind.FAILURE: 1, OutboxKind.REQUESTER_DM: 1}
    assert world.wakes.count == wakes + 1

    # A second look (the next sweep, a late callback) finds nothing in flight and changes nothing.
    snapshot = (outbox(world.engine, request.id), row.updated_at, row.last_polled_at)
    assert tracker(world).sweep() == 0
    assert request.id is not None and not tracker(world).poll_now(request.id)
    again = stored(world.engine, request.id)
    assert (outbox(world.engine, request.id), again.updated_at, again.last_polled_at) == snapshot
    assert (again.status, again.error_code) == (S.FAILED, "Phx4FaceObscuredError")
    assert world.wakes.count == wakes + 1


def test_a_replica_tavus_no_longer_knows_fails_as_gone(world: World) -> None:
    request = world.training()
    assert request.replica_id is not None
    world.client.delete_replica(request.replica_id)  # removed in Tavus behind the bot's back

    assert tracker(world).sweep() == 1

    row = stored(world.engine, request.id)
    assert (row.status, row.error_code, row.error_message) == (S.FAILED, REPLICA_GONE, None)
    assert kinds(world, request.id)[OutboxKind.FAILURE] == 1


def test_a_completed_replica_is_recorded_with_its_thumbnail(world: World) -> None:
    request = trained(world, ScriptedOutcome("completed", training_seconds=0), "completed")

    assert tracker(world).sweep() == 1

    row = stored(world.engine, request.id)
    assert (row.status, row.progress_percent, row.training_progress) == (S.COMPLETED, 100, "100/100")
    assert row.thumbnail_video_url is not None and str(request.replica_id) in row.thumbnail_video_url
    assert kinds(world, request.id) == {
        OutboxKind.CARD: 1, OutboxKind.COMPLETION: 1, OutboxKind.REQUESTER_DM: 1
    }


def test_progress_is_recorded_and_the_next_poll_scheduled(world: World) -> None:
    world.tavus.script(ScriptedOutcome("completed", training_seconds=60))
    request = world.training()
    replica_id = str(request.replica_id)
    # The emulator starts the clock once it has downloaded the photo.
    wait_until(lambda: world.tavus.training_image(replica_id) is not None, what="the emulator's download")
    card = dict(outbox(world.engine, request.id))[OutboxKind.CARD]

    assert tracker(world).sweep() == 1

    row = stored(world.engine, request.id)
    assert row.status == S.TRAINING and row.training_progress is not None
    assert row.next_poll_at is not None and row.last_polled_at is not None
    assert abs(row.next_poll_at - (row.last_polled_at + timedelta(seconds=INTERVAL))) < timedelta(seconds=1)
    assert dict(outbox(world.engine, request.id))[OutboxKind.CARD] == card + 1
    # Not due again for a minute: the next sweep leaves it alone.
    assert tracker(world).sweep() == 0


def test_a_replica_stuck_at_one_percentage_gets_one_notice(world: World) -> None:
    request = world.training()
    assert request.id is not None and request.replica_id is not None
    world.tavus.set_replica(request.replica_id, training_progress="40/100")  # and there it stays
    stuck = tracker(world, stuck_after=timedelta(0))

    assert stuck.sweep() == 1  # progress: 40/100
    assert stored(world.engine, request.id).training_progress == "40/100"
    assert OutboxKind.STUCK not in kinds(world, request.id)
    assert stuck.poll_now(request.id)  # no news since: the notice
    assert not stuck.poll_now(request.id)  # still none: no second notice
    assert kinds(world, request.id)[OutboxKind.STUCK] == 1
    assert stored(world.engine, request.id).status == S.TRAINING


def test_a_poll_tavus_cannot_answer_is_tried_again_later(world: World) -> None:
    request = world.training()
    world.tavus.inject_fault(method="GET", path_prefix="/v2/faces/", status=503, count=10)
    before = utcnow()

    assert tracker(world).sweep() == 1

    row = stored(world.engine, request.id)
    assert (row.status, row.lease_owner) == (S.TRAINING, None)
    assert row.next_poll_at is not None and row.next_poll_at >= before + timedelta(seconds=INTERVAL)
    assert kinds(world, request.id) == {OutboxKind.CARD: 1}


def test_a_sweep_and_a_callback_racing_over_one_failure_report_it_once(any_world: World) -> None:
    world = any_world
    request = trained(world, ScriptedOutcome("error", error_message=OBSCURED, training_seconds=0), "error")
    assert request.id is not None
    request_id = request.id
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        tracker(world, owner="sweeper").sweep()

    def callback() -> None:
        barrier.wait()
        tracker(world, owner="callback").poll_now(request_id)

    threads = [threading.Thread(target=sweep), threading.Thread(target=callback)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert stored(world.engine, request_id).status == S.FAILED
    assert kinds(world, request_id) == {OutboxKind.CARD: 1, OutboxKind.FAILURE: 1, OutboxKind.REQUESTER_DM: 1}
