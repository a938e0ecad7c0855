"""The client speaks /v2/faces, reads either family's names, falls back to /v2/replicas once where faces
are missing (telling a missing path from a missing face), and sends a consent video where it is read."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest

from bot.tavus import FinetuneState, ReplicaState, TavusClient, TavusNotFound
from bot.tavus.models import Replica, normalise_finetune
from bot.tavus.phoenix import DEFAULT_MODEL, has_preview_stage, is_documented, model_for, trains_from_image

KEY = "k-123"
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A stand-in Tavus answering by (method, path); unknown paths answer like a proxy without them."""

    def __init__(self, routes: dict[tuple[str, str], httpx.Response]) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str, dict | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.path, body))
        answer = self.routes.get((request.method, request.url.path))
        return answer if answer is not None else httpx.Response(404, text="404 page not found")

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.seen]


def client(recorder: Recorder) -> TavusClient:
    return TavusClient("https://tavus.test", KEY, transport=httpx.MockTransport(recorder), max_attempts=1)


FACE = {"face_id": "r1", "face_name": "Ana", "status": "completed", "finetune_status": "training"}
REPLICA = {"replica_id": "r1", "replica_name": "Ana", "status": "ready"}


# --- reading either family's names ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [FACE, REPLICA, {**FACE, "replica_id": "r1"}])
def test_faces_and_replicas_read_alike(data: dict) -> None:
    replica = Replica.from_api(data)
    assert (replica.replica_id, replica.replica_name, replica.status) == ("r1", "Ana", ReplicaState.COMPLETED)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("completed", FinetuneState.COMPLETED),
        (" Completed ", FinetuneState.COMPLETED),
        ("errored", FinetuneState.ERRORED),
        ("ERROR", FinetuneState.ERRORED),
        ("failed", FinetuneState.ERRORED),
        ("training", FinetuneState.TUNING),
        ("something-new", FinetuneState.TUNING),
        ("", FinetuneState.TUNING),
        (None, FinetuneState.TUNING),
        (3, FinetuneState.TUNING),
    ],
)
def test_finetune_status_is_read_tolerantly(raw: object, state: FinetuneState) -> None:
    assert normalise_finetune(raw) == state
    assert (
        Replica.from_api({"face_id": "r1", "status": "completed", "finetune_status": raw}).finetune_state
        == state
    )


def test_the_model_a_request_trains_with() -> None:
    assert model_for("Phoenix-4.5", "phoenix-3") == "phoenix-4.5"
    assert model_for(None, " phoenix-3 ") == "phoenix-3"
    assert model_for(None, None) == DEFAULT_MODEL == "phoenix-4"
    assert (
        has_preview_stage("phoenix-4.5")
        and not has_preview_stage("phoenix-4")
        and not has_preview_stage(None)
    )
    assert not trains_from_image("phoenix-3") and trains_from_image("phoenix-4.5")
    assert is_documented("phoenix-4") and not is_documented("phoenix-9")


# --- the paths --------------------------------------------------------------------------------------------


def test_create_speaks_faces_and_accepts_either_id() -> None:
    for answer in ({"face_id": "r1", "status": "started"}, {"replica_id": "r1", "status": "started"}):
        recorder = Recorder({("POST", "/v2/faces"): httpx.Response(200, json=answer)})
        with client(recorder) as tavus:
            created = tavus.create_replica(
                replica_name="Ana",
                train_image_url="https://x/a.png",
                voice_name="anna",
                model_name="phoenix-4.5",
            )
        assert created.replica_id == "r1"
        [(method, path, body)] = recorder.seen
        assert (method, path) == ("POST", "/v2/faces")
        assert body == {
            "face_name": "Ana",
            "train_image_url": "https://x/a.png",
            "voice_name": "anna",
            "model_name": "phoenix-4.5",
        }


def test_auto_fix_is_sent_only_when_asked_and_only_for_a_photo() -> None:
    recorder = Recorder(
        {("POST", "/v2/faces"): httpx.Response(200, json={"face_id": "r1", "status": "started"})}
    )
    with client(recorder) as tavus:
        tavus.create_replica(train_image_url="https://x/a.png", voice_name="anna")
        tavus.create_replica(
            train_image_url="https://x/a.png", voice_name="anna", auto_fix_training_image=True
        )
        with pytest.raises(ValueError):
            tavus.create_replica(train_video_url="https://x/v.mp4", auto_fix_training_image=True)
    assert "auto_fix_training_image" not in recorder.seen[0][2]
    assert recorder.seen[1][2]["auto_fix_training_image"] is True


def test_a_consent_video_goes_where_it_is_still_documented() -> None:
    recorder = Recorder(
        {("POST", "/v2/replicas"): httpx.Response(200, json={"replica_id": "r2", "status": "started"})}
    )
    with client(recorder) as tavus:
        created = tavus.create_replica(
            replica_name="Vid", train_video_url="https://x/v.mp4", consent_video_url="https://x/c.mp4"
        )
    assert created.replica_id == "r2"
    [(_, path, body)] = recorder.seen
    assert path == "/v2/replicas"
    assert body == {
        "replica_name": "Vid",
        "train_video_url": "https://x/v.mp4",
        "consent_video_url": "https://x/c.mp4",
    }


def test_a_missing_faces_collection_switches_to_replicas_once_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(
        {
            ("POST", "/v2/replicas"): httpx.Response(200, json={"replica_id": "r1", "status": "started"}),
            ("GET", "/v2/replicas/r1"): httpx.Response(200, json=REPLICA),
            ("GET", "/v2/replicas"): httpx.Response(200, json={"data": [REPLICA], "total_count": 1}),
        }
    )
    with caplog.at_level(logging.WARNING, logger="bot.tavus"), client(recorder) as tavus:
        tavus.create_replica(replica_name="Ana", train_image_url="https://x/a.png", voice_name="anna")
        tavus.get_replica("r1")
        [listed] = tavus.list_replicas()
    assert listed.replica_name == "Ana"
    assert recorder.paths() == [
        "POST /v2/faces",
        "POST /v2/replicas",
        "GET /v2/replicas/r1",
        "GET /v2/replicas",
    ]
    assert recorder.seen[1][2]["replica_name"] == "Ana" and "face_name" not in recorder.seen[1][2]
    assert len([r for r in caplog.records if "/v2/faces" in r.getMessage()]) == 1


def test_a_404_for_a_face_is_checked_on_the_legacy_path_before_it_is_believed() -> None:
    # The face is gone under both names: not found, and /v2/faces stays in use.
    gone = Recorder(
        {
            ("GET", "/v2/faces/r1"): httpx.Response(404, json={"message": "Face not found"}),
            ("GET", "/v2/replicas/r1"): httpx.Response(404, json={"message": "Replica not found"}),
            ("GET", "/v2/faces/r2"): httpx.Response(200, json={**FACE, "face_id": "r2"}),
        }
    )
    with client(gone) as tavus:
        with pytest.raises(TavusNotFound):
            tavus.get_replica("r1")
        assert tavus.get_replica("r2").replica_id == "r2"
    assert gone.paths() == ["GET /v2/faces/r1", "GET /v2/replicas/r1", "GET /v2/faces/r2"]

    # Only the legacy path knows it: /v2/faces is what is missing, and the process switches.
    missing = Recorder({("GET", "/v2/replicas/r1"): httpx.Response(200, json=REPLICA)})
    with client(missing) as tavus:
        assert tavus.get_replica("r1").status == ReplicaState.COMPLETED
        tavus.get_replica("r1")
    assert missing.paths() == ["GET /v2/faces/r1", "GET /v2/replicas/r1", "GET /v2/replicas/r1"]


def test_faces_list_shape_and_rename_delete_paths() -> None:
    recorder = Recorder(
        {
            ("GET", "/v2/faces"): httpx.Response(200, json={"data": [FACE], "total_count": 1}),
            ("PATCH", "/v2/faces/r1"): httpx.Response(200, json={"message": "ok"}),
            ("DELETE", "/v2/faces/r1"): httpx.Response(200, json={"message": "ok"}),
        }
    )
    with client(recorder) as tavus:
        [listed] = tavus.list_replicas(limit=5)
        tavus.rename_replica("r1", "Ana B")
        tavus.delete_replica("r1", hard=True)
    assert (listed.replica_id, listed.finetune_status) == ("r1", "training")
    assert recorder.paths() == ["GET /v2/faces", "PATCH /v2/faces/r1", "DELETE /v2/faces/r1"]
    assert recorder.seen[1][2] == {"face_name": "Ana B"}
