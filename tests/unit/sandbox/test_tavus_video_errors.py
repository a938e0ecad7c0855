"""The Tavus emulator fails a video training with any documented video error text, scripted by a marker in
the video link or by a scripted outcome, over real HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_video_errors import VIDEO_ERROR_TEXTS, scripted_video_error
from tests.paths import SHARED

API_KEY = "video-errors-key"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"v" * 1024
REFERENCE = SHARED / "reference" / "tavus-video-errors.md"
_ROW = re.compile(r"^\|\s*`(?P<key>[^`]+)`\s*\|\s*(?P<message>.+?)\s*\|\s*$")


def _rows() -> list[tuple[str, str]]:
    assert REFERENCE.is_file(), f"the video error reference is missing: {REFERENCE}"
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    return [(m["key"], m["message"]) for line in lines if (m := _ROW.match(line))]


def _marker_key(key: str) -> str:
    return key.replace(" (", "_").rstrip(")")


ROWS = _rows()


@pytest.fixture(scope="module")
def files() -> Iterator[StaticServer]:
    with StaticServer() as static:
        static.put("/train.mp4", VIDEO, "video/mp4")
        yield static


def _finished(api: httpx.Client, replica_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while (body := api.get(f"/v2/replicas/{replica_id}").json())["status"] == "started":
        assert time.monotonic() < deadline, body
        time.sleep(0.02)
    return body


def test_the_emulator_knows_every_documented_text() -> None:
    assert len(ROWS) == 27
    for key, message in ROWS:
        assert VIDEO_ERROR_TEXTS[_marker_key(key)] == message
    assert VIDEO_ERROR_TEXTS["video_processing"] == dict(ROWS)["video_processing (file)"]


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://x.test/a.mp4#tavus_error=video_fps", "video_fps"),
        ("https://x.test/a.mp4?tavus_error=VIDEO_PROCESSING_FACE", "video_processing (face)"),
        ("https://x.test/a.mp4?size=1&tavus_error=other_quality_issue", "other_quality_issue"),
    ],
)
def test_marker_names_the_text(url: str, key: str) -> None:
    assert scripted_video_error(url) == dict(ROWS)[key]


@pytest.mark.parametrize("url", [None, "", "https://x.test/a.mp4", "https://x.test/a.mp4#tavus_error=nope"])
def test_no_marker_no_scripted_error(url: str | None) -> None:
    assert scripted_video_error(url) is None


@pytest.mark.parametrize("key", ["consent_phrase_mismatch", "video_processing_face", "teeth_not_visible"])
def test_a_marked_video_fails_with_the_documented_text(
    api: httpx.Client, files: StaticServer, key: str
) -> None:
    response = api.post("/v2/replicas", json={"train_video_url": f"{files.url}/train.mp4#tavus_error={key}"})
    assert response.status_code == 200
    body = _finished(api, response.json()["replica_id"])
    assert body["status"] == "error"
    assert body["error_message"] == VIDEO_ERROR_TEXTS[key]


def test_an_unmarked_video_completes_and_a_scripted_outcome_wins(
    api: httpx.Client, files: StaticServer
) -> None:
    plain = api.post("/v2/replicas", json={"train_video_url": f"{files.url}/train.mp4"}).json()
    assert _finished(api, plain["replica_id"])["status"] == "completed"
    api.post("/_emulator/outcomes", json={"outcome": "error", "error_message": "scripted words"})
    marked = f"{files.url}/train.mp4#tavus_error=video_fps"
    scripted = api.post("/v2/replicas", json={"train_video_url": marked}).json()
    assert _finished(api, scripted["replica_id"])["error_message"] == "scripted words"
