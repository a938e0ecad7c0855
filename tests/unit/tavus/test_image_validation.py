"""Tavus' image check over HTTP against the emulator: the body, the tolerant reading of the answer, the
legacy path remembered, the size limits, and the one log line per outage."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import httpx
import pytest

from bot.domain.tavus_check import TavusPhotoCheck
from bot.sandbox.image_validation import CHECKS, FACES_PATH, LEGACY_PATH
from bot.sandbox.tavus_emulator import EmulatorServer, ScriptedOutcome, TavusEmulator
from bot.service.settings import SettingsError, load_settings
from bot.tavus import TavusBadRequest, TavusClient, TavusNotFound
from bot.tavus.image_validation import (
    MAX_BASE64_CHARS,
    ImageTooLargeToValidate,
    ImageValidation,
    ImageValidator,
    fits,
)
from tests.unit.local_site import LocalSite, wait_until

API_KEY = "validation-test-key"
PHOTO = b"\xff\xd8\xff\xe0 a tiny jpeg"


@pytest.fixture
def client(server: EmulatorServer, emulator: TavusEmulator) -> Iterator[TavusClient]:
    with TavusClient(server.url, API_KEY, max_attempts=1) as tavus:
        yield tavus


def posts(emulator: TavusEmulator, path: str) -> list[dict]:
    return [c for c in emulator.calls() if c["method"] == "POST" and c["path"] == path]


def test_the_photo_goes_as_plain_base64_with_its_type_and_model(
    client: TavusClient, emulator: TavusEmulator
) -> None:
    emulator.validation.script(failed=["quality"])
    verdict = ImageValidator(client).validate(PHOTO, "image/jpeg", "phoenix-4.5")
    assert not verdict.passed
    assert [c.id for c in verdict.failed] == [CHECKS["quality"][0]]
    (call,) = posts(emulator, FACES_PATH)
    assert call["json"] == {
        "imageBase64": base64.b64encode(PHOTO).decode(), "mimeType": "image/jpeg", "model": "phoenix-4.5"
    }


def test_without_the_new_path_the_legacy_one_is_used_for_the_rest_of_the_process(
    client: TavusClient, emulator: TavusEmulator
) -> None:
    emulator.validation.outage("missing", paths=["faces"])
    validator = ImageValidator(client)
    assert validator.validate(PHOTO, "image/png", "phoenix-4").passed
    assert validator.validate(PHOTO, "image/png", "phoenix-4").passed
    assert len(posts(emulator, FACES_PATH)) == 1
    assert len(posts(emulator, LEGACY_PATH)) == 2


def test_missing_on_both_paths_is_not_found(client: TavusClient, emulator: TavusEmulator) -> None:
    emulator.validation.outage("missing")
    with pytest.raises(TavusNotFound):
        ImageValidator(client).validate(PHOTO, "image/png", "phoenix-4")


def test_a_photo_over_the_documented_limits_is_not_sent(client: TavusClient, emulator: TavusEmulator) -> None:
    too_big = b"x" * (MAX_BASE64_CHARS // 4 * 3 + 3)
    assert not fits(too_big) and fits(b"x" * (20 * 1024 * 1024))
    with pytest.raises(ImageTooLargeToValidate):
        ImageValidator(client).validate(too_big, "image/png", "phoenix-4")
    assert emulator.calls() == []


@pytest.mark.parametrize(
    ("answer", "passed", "failed"),
    [
        ({"passed": True, "checks": []}, True, []),
        ({"passed": False}, False, []),
        ({"checks": [{"id": "a", "label": "A", "passed": False}]}, False, ["a"]),
        ({"passed": "false", "checks": [{"id": "a", "passed": "false"}, "junk", {"label": "no verdict"}]},
         False, ["a"]),
        ({"passed": False, "checks": {"a": {"label": "A", "passed": False}, "b": True}}, False, ["a"]),
        ({"passed": None, "checks": None, "details": {"x": 1}}, True, []),
        ({"passed": False, "checks": [{"id": 7, "label": None, "passed": False}]}, False, ["7"]),
    ],
)
def test_odd_answers_are_read_tolerantly(answer: dict, passed: bool, failed: list[str]) -> None:
    verdict = ImageValidation.from_api(answer)
    assert verdict.passed is passed
    assert [c.id for c in verdict.failed] == failed
    assert all(c.label for c in verdict.checks)


def test_an_outage_is_logged_once_and_again_only_after_a_recovery(
    client: TavusClient, emulator: TavusEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    check = TavusPhotoCheck(ImageValidator(client))
    emulator.validation.outage("error")
    with caplog.at_level(logging.INFO, logger="bot.domain.tavus_check"):
        assert check.verdict(PHOTO, "image/png", "phoenix-4") is None
        assert check.verdict(PHOTO, "image/png", "phoenix-4") is None
        emulator.validation.outage(None)
        assert check.verdict(PHOTO, "image/png", "phoenix-4") is not None
        emulator.validation.outage("error")
        assert check.verdict(PHOTO, "image/png", "phoenix-4") is None
    down = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(down) == 2
    assert TavusPhotoCheck(None).verdict(PHOTO, "image/png", "phoenix-4") is None


def test_the_key_is_checked_and_a_bad_body_refused(server: EmulatorServer, emulator: TavusEmulator) -> None:
    with TavusClient(server.url, "wrong-key", max_attempts=1) as wrong:
        assert TavusPhotoCheck(ImageValidator(wrong)).verdict(PHOTO, "image/png", "phoenix-4") is None
    prefixed = {"imageBase64": "data:image/png;base64,AAAA", "mimeType": "image/png"}
    with (
        TavusClient(server.url, API_KEY, max_attempts=1) as client,
        pytest.raises(TavusBadRequest, match="data: prefix"),
    ):
        client.call_json("POST", FACES_PATH, prefixed)


def test_auto_fix_is_sent_only_when_asked_and_the_emulator_fixes_the_photo(
    client: TavusClient, emulator: TavusEmulator
) -> None:
    site = LocalSite()
    site.files["/headshot.png"] = b"\x89PNG fake headshot"
    try:
        url = f"{site.url}/headshot.png"
        emulator.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.1))
        plain = client.create_replica(train_image_url=url, voice_name="anna")
        emulator.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.1))
        fixed = client.create_replica(train_image_url=url, voice_name="anna", auto_fix_training_image=True)
        bodies = [c["json"] for c in posts(emulator, "/v2/faces")]
        assert "auto_fix_training_image" not in bodies[0] and bodies[1]["auto_fix_training_image"] is True
        wait_until(lambda: client.get_replica(fixed.replica_id).status.value == "completed")
        wait_until(lambda: client.get_replica(plain.replica_id).status.value == "error")
        assert emulator.validation.fixed == 1
    finally:
        site.close()


def test_the_emulators_check_is_scripted_over_http(server: EmulatorServer, emulator: TavusEmulator) -> None:
    body = {"imageBase64": base64.b64encode(PHOTO).decode(), "mimeType": "image/jpeg"}
    headers = {"x-api-key": API_KEY}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        control = "/_emulator/image-validation"
        assert http.post(control, json={"failed": ["adult"], "count": 2}).status_code == 200
        assert http.post(control, json={"failed": ["nope"]}).status_code == 400
        details = ((FACES_PATH, "pose_suitable_for_face"), (LEGACY_PATH, "pose_suitable_for_replica"))
        for path, detail in details:
            answer = http.post(path, json=body).json()
            assert answer["passed"] is False and detail in answer["details"]
            assert [c["id"] for c in answer["checks"] if not c["passed"]] == [CHECKS["adult"][0]]
        assert http.post(FACES_PATH, json=body).json()["passed"] is True
        assert http.post(FACES_PATH, json={**body, "mimeType": "image/gif"}).status_code == 400
        assert http.post(FACES_PATH, json=body, headers={"x-api-key": "wrong"}).status_code == 401
        outage = {"mode": "error", "paths": ["legacy"]}
        assert http.post("/_emulator/image-validation/outage", json=outage).status_code == 200
        assert http.post(LEGACY_PATH, json=body).status_code == 500
        assert http.post(FACES_PATH, json=body).status_code == 200
        assert http.post("/_emulator/image-validation/outage", json={"mode": None}).status_code == 200
        assert http.post(LEGACY_PATH, json=body).status_code == 200


@pytest.mark.parametrize(("value", "on"), [(None, True), ("on", True), ("off", False), ("ON", True)])
def test_the_setting_is_on_unless_switched_off(
    value: str | None, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAVUS_IMAGE_VALIDATION", raising=False)
    if value is not None:
        monkeypatch.setenv("TAVUS_IMAGE_VALIDATION", value)
    assert load_settings(_env_file=None).tavus_image_validation is on
    with pytest.raises(SettingsError, match="TAVUS_IMAGE_VALIDATION"):
        load_settings(_env_file=None, tavus_image_validation="sometimes")
