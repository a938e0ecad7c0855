"""The client's videos, conversations and PALs: the documented fields sent, answers read tolerantly (an
unknown status keeps the bot polling), links chosen in the documented order, a PAL made where the account
has `/v2/pals` and a persona where it only has the legacy alias."""

from __future__ import annotations

import httpx
import pytest

from bot.tavus import TavusBadRequest, TavusError
from bot.tavus.jobs import Conversation, ConversationState, TavusJobs, Video, VideoState
from tests.unit.tavus.test_faces_client import Recorder, client


def jobs(recorder: Recorder) -> TavusJobs:
    return TavusJobs(client(recorder))


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("queued", VideoState.GENERATING),
        ("generating", VideoState.GENERATING),
        ("ready", VideoState.READY),
        ("error", VideoState.ERROR),
        ("deleted", VideoState.DELETED),
        ("rendering-something-new", VideoState.GENERATING),
        (None, VideoState.GENERATING),
    ],
)
def test_video_statuses_are_read_tolerantly(status: str | None, state: VideoState) -> None:
    assert Video.from_api({"video_id": "v1", "status": status}).status == state


def test_a_video_is_watched_on_tavus_page_else_the_stream_else_the_file() -> None:
    links = {"hosted_url": "https://h", "stream_url": "https://s", "download_url": "https://d"}
    assert Video.from_api({"video_id": "v", **links}).watch_url == "https://h"
    assert Video.from_api({"video_id": "v", **links, "hosted_url": None}).watch_url == "https://s"
    assert Video.from_api({"video_id": "v", "download_url": "https://d"}).watch_url == "https://d"
    assert Video.from_api({"video_id": "v"}).watch_url is None
    thumbs = {"still_image_thumbnail_url": "https://still", "gif_thumbnail_url": "https://gif"}
    assert Video.from_api({"video_id": "v", **thumbs}).thumbnail_url == "https://gif"
    errored = Video.from_api({"video_id": "v", "status": "error", "error_details": "Bad script"})
    assert errored.status_details == "Bad script"


def test_a_conversation_is_joined_on_the_hosted_room_page_where_tavus_gives_one() -> None:
    both = {"conversation_id": "c1", "status": "active", "conversation_url": "https://daily/c1"}
    assert Conversation.from_api(both).join_url == "https://daily/c1"
    assert Conversation.from_api({**both, "room_url": "https://room/c1"}).join_url == "https://room/c1"
    assert Conversation.from_api({**both, "status": "ended"}).status == ConversationState.ENDED
    assert Conversation.from_api({**both, "status": "starting"}).status == ConversationState.ACTIVE


def test_the_documented_fields_are_sent() -> None:
    recorder = Recorder(
        {
            ("POST", "/v2/videos"): httpx.Response(200, json={"video_id": "v1", "status": "queued"}),
            ("GET", "/v2/videos/v1"): httpx.Response(200, json={"video_id": "v1", "status": "ready"}),
            ("POST", "/v2/conversations"): httpx.Response(
                200, json={"conversation_id": "c1", "status": "active", "conversation_url": "https://d/c1"}
            ),
            ("POST", "/v2/conversations/c1/end"): httpx.Response(200),
        }
    )
    tavus = jobs(recorder)
    video = tavus.create_video(replica_id="r1", script="Hi", video_name="Sample", callback_url="https://cb/1")
    assert video.video_id == "v1" and tavus.get_video("v1").status == VideoState.READY
    properties = {"max_call_duration": 120, "participant_left_timeout": 15, "participant_absent_timeout": 60}
    call = tavus.create_conversation(
        replica_id="r1", persona_id="p1", conversation_name="Test", callback_url=None, properties=properties
    )
    tavus.end_conversation(call.conversation_id)
    sent = {f"{method} {path}": body for method, path, body in recorder.seen}
    assert sent["POST /v2/videos"] == {
        "replica_id": "r1", "script": "Hi", "video_name": "Sample", "callback_url": "https://cb/1"
    }
    assert sent["POST /v2/conversations"] == {
        "replica_id": "r1", "persona_id": "p1", "conversation_name": "Test", "properties": properties
    }
    assert "POST /v2/conversations/c1/end" in sent
    assert [call for call in recorder.seen if call[1] == "/v2/videos/v1"]  # verbose, for the thumbnails


def test_a_pal_on_v2_pals_else_a_persona_on_the_legacy_alias() -> None:
    pals = Recorder({("POST", "/v2/pals"): httpx.Response(200, json={"pal_id": "p1", "pal_name": "T"})})
    assert jobs(pals).create_pal(name="T", system_prompt="Be brief.", face_id="r1") == "p1"
    assert pals.seen[0][2] == {
        "system_prompt": "Be brief.", "pipeline_mode": "full", "pal_name": "T", "default_face_id": "r1"
    }
    legacy = Recorder({("POST", "/v2/personas"): httpx.Response(200, json={"persona_id": "p2"})})
    assert jobs(legacy).create_pal(name="T", system_prompt="Be brief.", face_id="r1") == "p2"
    assert legacy.paths() == ["POST /v2/pals", "POST /v2/personas"]
    assert legacy.seen[1][2] == {
        "system_prompt": "Be brief.", "pipeline_mode": "full", "persona_name": "T", "default_replica_id": "r1"
    }


def test_a_pal_is_deleted_on_v2_pals_else_as_a_persona_on_the_legacy_alias() -> None:
    pals = Recorder({("DELETE", "/v2/pals/p1"): httpx.Response(204)})
    jobs(pals).delete_pal("p1")
    assert pals.paths() == ["DELETE /v2/pals/p1"]
    legacy = Recorder({("DELETE", "/v2/personas/p2"): httpx.Response(204)})
    jobs(legacy).delete_pal("p2")
    assert legacy.paths() == ["DELETE /v2/pals/p2", "DELETE /v2/personas/p2"]


def test_tavus_refusals_and_answers_without_ids_are_errors() -> None:
    refused = Recorder(
        {
            ("POST", "/v2/conversations"): httpx.Response(
                400, json={"message": "User has reached maximum concurrent conversations"}
            ),
            ("POST", "/v2/videos"): httpx.Response(200, json={"status": "queued"}),
        }
    )
    tavus = jobs(refused)
    with pytest.raises(TavusBadRequest) as caught:
        tavus.create_conversation(
            replica_id="r1", persona_id=None, conversation_name="T", callback_url=None, properties={}
        )
    assert caught.value.message == "User has reached maximum concurrent conversations"
    with pytest.raises(TavusError, match="no video_id"):
        tavus.create_video(replica_id="r1", script="Hi", video_name="S", callback_url=None)
    with pytest.raises(ValueError):
        tavus.get_video("")
