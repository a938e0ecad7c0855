"""phoenix-4.5's two stages through a real `Tracker`: the emulator answers `completed` for the preview and
tunes on (`finetune_status`); the request becomes "preview_ready", stays polled, and ends once, tuned or
with tuning failed. Other models are untouched."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.domain.catalogue import Catalogue
from bot.domain.lifecycle import REPLICA_GONE
from bot.domain.stats import preflight_stats
from bot.domain.tracking import PollSchedule, Tracker
from bot.sandbox.tavus_emulator import ScriptedOutcome
from bot.slack import render
from storage.models import IN_FLIGHT, OutboxKind, ReplicaRequest, RequestStatus
from tests.unit.domain.test_deletion_and_retry import deletes, deletion
from tests.unit.domain.world import World, ago, outbox, set_columns, stored, wait_until

S = RequestStatus
K = OutboxKind


def tracker(world: World, stuck_after: timedelta = timedelta(hours=6)) -> Tracker:
    return Tracker(
        world.engine,
        world.lifecycle,
        world.client,
        Catalogue(),
        owner="poller-1",
        schedule=PollSchedule(interval=60),
        stuck_after=stuck_after,
        concurrency=2,
    )


def kinds(world: World, request: ReplicaRequest) -> Counter[str]:
    return Counter(kind for kind, _ in outbox(world.engine, request.id))


def submitted(world: World, outcome: ScriptedOutcome, model: str = "phoenix-4.5") -> ReplicaRequest:
    world.tavus.script(outcome)
    service = world.submission(model_name=model)
    result = service.submit_link(world.draft(service))
    request = result.request  # type: ignore[union-attr]
    assert request.model_name == model
    return request


def face(world: World, request: ReplicaRequest) -> dict:
    return next(r for r in world.tavus.replicas() if r["replica_id"] == request.replica_id)


def at(world: World, request: ReplicaRequest, status: str, finetune: str | None) -> None:
    wait_until(
        lambda: (
            (face(world, request)["status"], face(world, request).get("finetune_status"))
            == (status, finetune)
        ),
        what=f"{status}/{finetune}",
    )


def poll(world: World, request: ReplicaRequest, **kwargs: timedelta) -> bool:
    assert request.id is not None
    return tracker(world, **kwargs).poll_now(request.id)


def test_preview_then_tuned_each_once_and_polling_stops(world: World) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=0, tuning_seconds=0.6))
    assert world.tavus.calls()[0]["json"]["model_name"] == "phoenix-4.5"
    at(world, request, "completed", "training")

    assert poll(world, request)
    row = stored(world.engine, request.id)
    assert row.status == S.PREVIEW_READY and S.PREVIEW_READY in IN_FLIGHT
    assert row.preview_at is not None and row.finished_at is None
    assert row.thumbnail_video_url is not None
    assert kinds(world, request) == {K.CARD: 1, K.PREVIEW_READY: 1, K.REQUESTER_DM: 1}

    at(world, request, "completed", "completed")
    assert poll(world, request)
    row = stored(world.engine, request.id)
    assert (row.status, row.finetune_status, row.progress_percent) == (S.COMPLETED, "completed", 100)
    assert row.finished_at is not None
    assert kinds(world, request) == {K.CARD: 1, K.PREVIEW_READY: 1, K.REQUESTER_DM: 1, K.TUNED: 1}
    # Done: nothing in flight, a late callback changes nothing.
    assert not poll(world, request)
    set_columns(world.engine, request.id, next_poll_at=ago(minutes=1))
    assert tracker(world).sweep() == 0


def test_tuning_that_errors_keeps_the_preview_and_ends_once(world: World) -> None:
    outcome = ScriptedOutcome("completed", training_seconds=0, tuning_seconds=0.3, finetune="errored")
    request = submitted(world, outcome)
    at(world, request, "completed", "training")
    assert poll(world, request)
    at(world, request, "completed", "errored")

    assert poll(world, request)
    row = stored(world.engine, request.id)
    assert (row.status, row.finetune_status, row.error_code) == (S.COMPLETED, "errored", None)
    assert kinds(world, request)[K.TUNING_FAILED] == 1 and K.FAILURE not in kinds(world, request)
    assert not poll(world, request)


def test_a_first_look_after_tuning_ended_announces_both_stages(world: World) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=0, tuning_seconds=0))
    at(world, request, "completed", "completed")

    assert poll(world, request)
    row = stored(world.engine, request.id)
    assert (row.status, row.finetune_status) == (S.COMPLETED, "completed")
    assert kinds(world, request) == {K.CARD: 1, K.PREVIEW_READY: 1, K.REQUESTER_DM: 1, K.TUNED: 1}


def test_unknown_or_missing_finetune_values_mean_still_tuning(world: World) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=60))
    assert request.replica_id is not None
    for value in ("queued_for_gpu", "TRAINING", ""):
        world.tavus.set_replica(request.replica_id, status="completed", finetune_status=value)
        poll(world, request)
        assert stored(world.engine, request.id).status == S.PREVIEW_READY
    assert K.TUNED not in kinds(world, request) and K.TUNING_FAILED not in kinds(world, request)
    assert kinds(world, request)[K.PREVIEW_READY] == 1


def test_phoenix_4_completed_means_done_whatever_finetune_says(world: World) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=60), model="phoenix-4")
    assert request.replica_id is not None
    world.tavus.set_replica(request.replica_id, status="completed", finetune_status="training")

    assert poll(world, request)
    row = stored(world.engine, request.id)
    assert (row.status, row.preview_at) == (S.COMPLETED, None)
    assert kinds(world, request) == {K.CARD: 1, K.COMPLETION: 1, K.REQUESTER_DM: 1}


def test_a_tuning_stall_is_measured_from_the_preview_and_told_once(world: World) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=0, tuning_seconds=3600))
    at(world, request, "completed", "training")
    # Submitted, and last moved, long ago: the preview itself is new, so tuning is not "stuck".
    set_columns(world.engine, request.id, submitted_at=ago(hours=7), progress_changed_at=ago(hours=7))
    assert poll(world, request, stuck_after=timedelta(hours=6))
    assert request.replica_id is not None
    world.tavus.set_replica(request.replica_id, status="completed", finetune_status="training")
    poll(world, request, stuck_after=timedelta(hours=6))
    assert K.STUCK not in kinds(world, request)

    set_columns(world.engine, request.id, progress_changed_at=ago(hours=7))
    assert poll(world, request, stuck_after=timedelta(hours=6))
    poll(world, request, stuck_after=timedelta(hours=6))
    assert kinds(world, request)[K.STUCK] == 1
    assert stored(world.engine, request.id).status == S.PREVIEW_READY


def test_a_face_gone_after_its_preview_fails_without_a_second_dm(world: World) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=0, tuning_seconds=3600))
    at(world, request, "completed", "training")
    assert poll(world, request)
    assert request.replica_id is not None
    world.client.delete_replica(request.replica_id)

    assert poll(world, request)
    row = stored(world.engine, request.id)
    assert (row.status, row.error_code) == (S.FAILED, REPLICA_GONE)
    assert kinds(world, request) == {K.CARD: 1, K.PREVIEW_READY: 1, K.REQUESTER_DM: 1, K.FAILURE: 1}


def test_a_face_still_tuning_can_be_deleted_like_a_finished_one_and_the_answer_says_what_it_was(
    world: World,
) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=0, tuning_seconds=3600))
    at(world, request, "completed", "training")
    assert poll(world, request)
    assert request.replica_id is not None

    deleted = deletion(world).delete(request.replica_id, "U1", "C1")

    assert deleted.status == S.DELETED
    assert deletes(world) == [f"/v2/faces/{request.replica_id}"]
    assert "usable" in render.deleted_message(request.replica_id, deleted)
    assert not poll(world, request)  # no longer polled


def test_stats_count_a_preview_as_a_photo_tavus_accepted(world: World) -> None:
    request = submitted(world, ScriptedOutcome("completed", training_seconds=0, tuning_seconds=3600))
    at(world, request, "completed", "training")
    assert poll(world, request)
    set_columns(world.engine, request.id, preflight_findings="")

    stats = preflight_stats(world.engine)

    assert (stats.clean_accepted, stats.clean_rejected) == (1, 0)
