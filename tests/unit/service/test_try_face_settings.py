"""TRY_FACE and the limits of trying a face: the defaults the issue names, read from the environment,
refused with one line naming the variable when wrong."""

from __future__ import annotations

import pytest

from bot.service.settings import SettingsError, load_settings


def test_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ("TRY_FACE", "SAMPLE_SCRIPT_MAX_CHARS", "SAMPLE_VIDEOS_PER_FACE", "TEST_CALL_SECONDS")
    for name in (*names, "TEST_CALLS_PER_FACE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.try_face == "requester"
    assert (settings.sample_script_max_chars, settings.sample_videos_per_face) == (400, 3)
    assert (settings.test_call_seconds, settings.test_calls_per_face) == (120, 5)


def test_they_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRY_FACE", " Everyone ")
    monkeypatch.setenv("SAMPLE_SCRIPT_MAX_CHARS", "250")
    monkeypatch.setenv("SAMPLE_VIDEOS_PER_FACE", "0")
    monkeypatch.setenv("TEST_CALL_SECONDS", "300")
    monkeypatch.setenv("TEST_CALLS_PER_FACE", "2")
    settings = load_settings(_env_file=None)
    assert settings.try_face == "everyone"
    assert (settings.sample_script_max_chars, settings.sample_videos_per_face) == (250, 0)
    assert (settings.test_call_seconds, settings.test_calls_per_face) == (300, 2)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRY_FACE", "anyone"),
        ("SAMPLE_SCRIPT_MAX_CHARS", "0"),
        ("SAMPLE_SCRIPT_MAX_CHARS", "3001"),
        ("SAMPLE_VIDEOS_PER_FACE", "-1"),
        ("TEST_CALL_SECONDS", "3601"),
        ("TEST_CALLS_PER_FACE", "many"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings(_env_file=None)
