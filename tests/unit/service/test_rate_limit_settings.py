"""SLACK_RATE_LIMITS and SLACK_DISTRIBUTION: read from the environment, refused with one line when wrong."""

from __future__ import annotations

import pytest

from bot.service.settings import SettingsError, load_settings


def test_rate_limit_overrides_are_read_per_method(monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = "chat.update=20, views.publish=100/10;chat.postMessage.workspace=300"
    monkeypatch.setenv("SLACK_RATE_LIMITS", overrides)
    monkeypatch.setenv("SLACK_DISTRIBUTION", "commercial")
    settings = load_settings(_env_file=None)
    assert settings.slack_rate_limits == {
        "chat.update": (20.0, 1),
        "views.publish": (100.0, 10),
        "chat.postMessage.workspace": (300.0, 1),
    }
    assert settings.slack_distribution == "commercial"


MALFORMED = ["chat.update", "chat.update=fast", "chat.update=0", "=5", "chat.update=5/0"]


@pytest.mark.parametrize("value", MALFORMED)
def test_a_malformed_rate_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SLACK_RATE_LIMITS", value)
    with pytest.raises(SettingsError, match="SLACK_RATE_LIMITS"):
        load_settings(_env_file=None)


def test_an_unknown_distribution_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_DISTRIBUTION", "partner")
    with pytest.raises(SettingsError, match="SLACK_DISTRIBUTION"):
        load_settings(_env_file=None)
