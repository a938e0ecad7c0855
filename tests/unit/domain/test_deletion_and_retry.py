"""bot.domain.deletion and bot.domain.resubmission against a real database and the Tavus emulator: who may
delete a replica or retry a request, when a failed replica may go, what a deletion changes (and what it
leaves alone when Tavus does not confirm it), and where a retry's card goes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.access import Access
from bot.domain.deletion import DeletionService
from bot.domain.errors import (
    Action,
    AlreadyDeleted,
    DeleteTooSoon,
    DeletionNotConfirmed,
    NothingToRetry,
    NotPermitted,
    ReplicaNotVisible,
    RequestGone,
    SubmissionFailed,
)
from bot.domain.lifecycle import Failure, Poll
from bot.domain.requests import Requester
from bot.domain.resubmission import Resubmission, RetryPlan
from storage.models import ReplicaRequest, RequestStatus, utcnow
from tests.unit.domain.world import World, ago, card_version, set_columns, stored

S = RequestStatus
ADMIN = "UADMIN"
ACCESS = Access(admins=(ADMIN,), delete_grace=timedelta(minutes=60))


def deletion(world: World) -> DeletionService:
    return DeletionService(world.engine, world.lifecycle, world.client, ACCESS)


def deletes(world: World) -> list[str]:
    """The paths of the DELETE calls Tavus answered."""
    return [c["path"] for c in world.tavus.calls() if c["method"] == "DELETE"]


def replica_of(request: ReplicaRequest) -> str:
    assert request.replica_id is not None
    return request.replica_id


def poll() -> Poll:
    now = utcnow()
    return Poll("poller-1", now, now + timedelta(minutes=1))


def failed(world: World) -> ReplicaRequest:
    """A request whose training failed just now."""
    request = world.training()
    assert request.id is not None
    assert world.lifecycle.fail(request.id, Failure("ImageQualityError", "blurry"), poll=poll())
    return stored(world.engine, request.id)


def completed(world: World) -> ReplicaRequest:
    request = world.training()
    assert request.id is not None
    assert world.lifecycle.complete(request.id, progress=None, thumbnail_video_url=None, poll=poll())
    return stored(world.engine, request.id)


# --- deletion: who and when ------------------------------------------------------------------------------


def test_someone_elses_replica_elsewhere_is_not_visible(world: World) -> None:
    replica_id = replica_of(world.training())
    with pytest.raises(ReplicaNotVisible) as refused:
        deletion(world).delete(replica_id, "U2", "C2")
    assert refused.value.replica_id == replica_id
    with pytest.raises(ReplicaNotVisible):
        deletion(world).delete("r-no-such-replica", "U1", "C1")
    assert deletes(world) == []


def test_a_replica_visible_here_is_still_only_its_requesters_to_delete(world: World) -> None:
    request = world.training()
    with pytest.raises(NotPermitted) as refused:
        deletion(world).delete(replica_of(request), "U2", "C1")
    assert (refused.value.action, refused.value.requester_id) == (Action.DELETE, "U1")
    assert stored(world.engine, request.id).status == S.TRAINING
    assert deletes(world) == []


def test_an_admin_deletes_anyones_replica_from_anywhere(world: World) -> None:
    request = world.training()
    deleted = deletion(world).delete(replica_of(request), ADMIN, "C9")
    assert (deleted.status, deleted.deleted_by) == (S.DELETED, ADMIN)


def test_a_replica_that_failed_moments_ago_is_kept_for_its_refund(world: World) -> None:
    request = failed(world)
    with pytest.raises(DeleteTooSoon) as refused:
        deletion(world).delete(replica_of(request), "U1", "C1")
    assert timedelta(minutes=59) < refused.value.wait <= timedelta(minutes=60)
    assert stored(world.engine, request.id).status == S.FAILED
    assert deletes(world) == []

    finished = ago(minutes=61)
    set_columns(world.engine, request.id, finished_at=finished)
    deleted = deletion(world).delete(replica_of(request), "U1", "C1")
    # The training's end stays when it ended, not when it was deleted.
    assert (deleted.status, deleted.finished_at) == (S.DELETED, finished)


def test_a_deleted_replica_is_deleted_once(world: World) -> None:
    replica_id = replica_of(world.training())
    deletion(world).delete(replica_id, "U1", "C1")
    with pytest.raises(AlreadyDeleted) as refused:
        deletion(world).delete(replica_id, "U1", "C1")
    assert refused.value.replica_id == replica_id
    assert deletes(world) == [f"/v2/faces/{replica_id}"]


def test_nothing_changes_when_tavus_does_not_confirm_the_deletion(world: World) -> None:
    request = world.training()
    before = card_version(world.engine, request.id)
    world.tavus.inject_fault(method="DELETE", path_prefix="/v2/faces", status=500, count=10)

    with pytest.raises(DeletionNotConfirmed):
        deletion(world).delete(replica_of(request), "U1", "C1")

    row = stored(world.engine, request.id)
    assert (row.status, row.deleted_by, row.deleted_at) == (S.TRAINING, None, None)
    assert card_version(world.engine, request.id) == before
    [replica] = world.tavus.replicas()
    assert replica["deleted_at"] is None


# --- deletion: what it does ------------------------------------------------------------------------------


def test_deleting_a_replica_deletes_it_in_tavus_and_rerenders_its_card(world: World) -> None:
    request = completed(world)
    replica_id = replica_of(request)
    card, wakes = card_version(world.engine, request.id), world.wakes.count

    deleted = deletion(world).delete(replica_id, "U1", "C1")

    row = stored(world.engine, request.id)
    assert row.id == deleted.id and row.status == deleted.status == S.DELETED
    assert (row.deleted_by, row.deleted_at is not None, row.finished_at) == ("U1", True, request.finished_at)
    assert deletes(world) == [f"/v2/faces/{replica_id}"]
    [replica] = world.tavus.replicas()
    assert replica["deleted_at"] is not None
    assert card_version(world.engine, request.id) == card + 1
    assert world.wakes.count == wakes + 1


def test_a_replica_already_gone_in_tavus_is_marked_deleted(world: World) -> None:
    request = world.training()
    world.client.delete_replica(replica_of(request))  # deleted in Tavus' own dashboard
    deleted = deletion(world).delete(replica_of(request), "U1", "C1")
    assert deleted.status == S.DELETED
    # The face's own 404 is believed once the legacy path agrees (bot.tavus.paths).
    deletes = [(c["path"].split("/")[2], c["status"]) for c in world.tavus.calls() if c["method"] == "DELETE"]
    assert deletes == [("faces", 200), ("faces", 404), ("replicas", 404)]


# --- retry --------------------------------------------------------------------------------------------------


def retries(world: World) -> Resubmission:
    return Resubmission(world.engine, ACCESS)


@pytest.mark.parametrize("value", ["junk", "", "12x", "987654"])
def test_a_retry_of_a_request_that_is_not_there_is_refused(world: World, value: str) -> None:
    with pytest.raises(RequestGone):
        retries(world).plan(value, "U1")


def test_only_the_requester_or_an_admin_retries(world: World) -> None:
    request = failed(world)
    with pytest.raises(NotPermitted) as refused:
        retries(world).plan(str(request.id), "U2")
    assert (refused.value.action, refused.value.requester_id) == (Action.RETRY, "U1")
    assert retries(world).plan(str(request.id), ADMIN).request_id == request.id


def test_a_request_that_has_not_failed_has_nothing_to_retry(world: World) -> None:
    done, training = completed(world), world.training(name="Still going")
    with pytest.raises(NothingToRetry) as finished:
        retries(world).plan(str(done.id), "U1")
    assert (finished.value.completed, finished.value.replica_name) == (True, "Ana")
    with pytest.raises(NothingToRetry) as under_way:
        retries(world).plan(str(training.id), "U1")
    assert (under_way.value.completed, under_way.value.replica_name) == (False, "Still going")


def test_a_failed_request_is_retried_where_it_was_made(world: World) -> None:
    request = world.training(Requester("U1", "C7"), name="Thready", thread_ts="171.5")
    assert request.id is not None
    assert world.lifecycle.fail(request.id, Failure("ImageQualityError", None), poll=poll())
    set_columns(world.engine, request.id, card_channel_id="C7", card_ts="171.6")

    assert retries(world).plan(str(request.id), "U1") == RetryPlan(
        request_id=request.id, replica_name="Thready", voice_name="anna", channel_id="C7", thread_ts="171.5"
    )


def test_a_request_tavus_refused_is_retryable_too(world: World) -> None:
    world.tavus.inject_fault(method="POST", path_prefix="/v2/faces", status=400)
    service = world.submission()
    draft = service.receive(world.draft(service))
    with pytest.raises(SubmissionFailed):
        service.submit_link(draft)
    assert draft.received_id is not None
    plan = retries(world).plan(f" {draft.received_id} ", "U1")
    assert (plan.request_id, plan.channel_id, plan.thread_ts) == (draft.received_id, "C1", None)


def test_a_card_that_moved_to_the_requesters_dm_is_retried_there(world: World) -> None:
    request = failed(world)
    # The channel refused the card; delivery moved it to the requester's DM.
    set_columns(world.engine, request.id, thread_ts="1.1", card_channel_id="D0U1", card_ts="2.2")
    plan = retries(world).plan(str(request.id), "U1")
    assert (plan.channel_id, plan.thread_ts) == ("D0U1", None)
