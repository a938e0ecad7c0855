"""The batch settings: BATCH_MAX_ROWS and BATCH_CONCURRENCY, with defaults, and one line naming the
variable when a value is bad."""

from __future__ import annotations

import pytest

from bot.service.settings import SettingsError, load_settings


def test_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(_env_file=None)
    assert (settings.batch_max_rows, settings.batch_concurrency) == (500, 8)
    monkeypatch.setenv("BATCH_MAX_ROWS", "120")
    monkeypatch.setenv("BATCH_CONCURRENCY", "4")
    settings = load_settings(_env_file=None)
    assert (settings.batch_max_rows, settings.batch_concurrency) == (120, 4)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BATCH_MAX_ROWS", "0"),
        ("BATCH_MAX_ROWS", "many"),
        ("BATCH_CONCURRENCY", "0"),
        ("BATCH_CONCURRENCY", "65"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings(_env_file=None)
