"""The real `replica-bot` console script: a bad setting stops it with one line naming the variable, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.service.settings import Settings, SettingsError, load_settings

TIMEOUT = 30
GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-cli-test",
    "SLACK_SIGNING_SECRET": "cli-signing-secret",
    "TAVUS_API_KEY": "cli-tavus-key",
}


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TAVUS_", "DATABASE_"))}
    # Settings read any variable by name (case-insensitive); keep stray ones from the host out.
    for name in Settings.model_fields:
        env.pop(name.upper(), None)
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(values)
    return env


def run(args: list[str], cwd: Path, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env(**values),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def assert_stops_naming(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert lines[0].startswith("replica-bot: ")


@pytest.mark.parametrize("missing", ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TAVUS_API_KEY"])
def test_serve_without_a_required_secret(tmp_path: Path, missing: str) -> None:
    values = {k: v for k, v in GOOD.items() if k != missing}
    assert_stops_naming(run(["serve"], tmp_path, **values), missing)


def test_serve_with_a_blank_secret(tmp_path: Path) -> None:
    assert_stops_naming(run(["serve"], tmp_path, **{**GOOD, "SLACK_BOT_TOKEN": "   "}), "SLACK_BOT_TOKEN")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("POLL_INTERVAL_SECONDS", "-1"),
        ("OUTBOX_INTERVAL_SECONDS", "0"),
        ("DATABASE_URL", "mysql://x"),
        ("TAVUS_API_URL", "notaurl"),
        ("ALLOW_PRIVATE_URLS", "maybe"),
    ],
)
def test_serve_with_a_malformed_setting(tmp_path: Path, variable: str, value: str) -> None:
    assert_stops_naming(run(["serve"], tmp_path, **GOOD, **{variable: value}), variable)


def test_socket_without_app_token(tmp_path: Path) -> None:
    values = {"SLACK_BOT_TOKEN": GOOD["SLACK_BOT_TOKEN"], "TAVUS_API_KEY": GOOD["TAVUS_API_KEY"]}
    assert_stops_naming(run(["socket"], tmp_path, **values), "SLACK_APP_TOKEN")


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=abc\n", encoding="utf-8")
    assert_stops_naming(run(["serve"], tmp_path, **GOOD), "PORT")


def test_dotenv_supplies_missing_secrets(tmp_path: Path) -> None:
    # Everything from .env except one secret: the error names that one, so the others were read.
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=from-dotenv\n", encoding="utf-8"
    )
    assert_stops_naming(run(["serve"], tmp_path), "TAVUS_API_KEY")


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=3001\n", encoding="utf-8")
    assert_stops_naming(run(["serve"], tmp_path, **GOOD, PORT="nope"), "PORT")


def test_secret_values_are_not_echoed(tmp_path: Path) -> None:
    result = run(["serve"], tmp_path, **{**GOOD, "PORT": "abc"})
    assert_stops_naming(result, "PORT")
    for secret in GOOD.values():
        assert secret not in result.stderr + result.stdout


def test_help_lists_the_commands(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("replica-bot")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    result = subprocess.run(
        [*command, "--help"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    for name in ("serve", "socket", "demo"):
        assert f"  {name}" in result.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run(["frobnicate"], tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "frobnicate" in result.stderr


# --- load_settings in process (fast; same contract) ------------------------------------------------------


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith(("SLACK_", "TAVUS_", "DATABASE_")) or key.lower() in Settings.model_fields:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("no_env")
def test_load_settings_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVUS_API_URL", "notaurl")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith("TAVUS_API_URL is invalid")
    assert "\n" not in str(info.value)


@pytest.mark.usefixtures("no_env")
def test_secret_names_the_variable() -> None:
    settings = load_settings()
    with pytest.raises(SettingsError, match=r"^SLACK_APP_TOKEN is not set"):
        settings.secret("slack_app_token")


@pytest.mark.usefixtures("no_env")
def test_bare_postgresql_url_gets_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert load_settings().database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.usefixtures("no_env")
def test_voices_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICES", " Anna, liam ,,")
    monkeypatch.setenv("DEFAULT_VOICE", " ")
    settings = load_settings()
    assert settings.voices == ("anna", "liam")
    assert settings.default_voice is None


@pytest.mark.usefixtures("no_env")
def test_secrets_lists_configured_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("TAVUS_API_KEY", "tk-2")
    assert sorted(load_settings().secrets()) == ["tk-2", "xoxb-1"]


def test_socket_mode_refuses_the_builtin_media_store(tmp_path: Path) -> None:
    """Socket Mode has no public URL for Tavus to fetch uploaded photos from: say so at start."""
    values = {
        "SLACK_BOT_TOKEN": GOOD["SLACK_BOT_TOKEN"],
        "TAVUS_API_KEY": GOOD["TAVUS_API_KEY"],
        "SLACK_APP_TOKEN": "xapp-1-test",
    }
    result = run(["socket"], tmp_path, **values)
    assert_stops_naming(result, "MEDIA_BACKEND")
    assert "s3" in result.stderr.lower()


def test_socket_mode_with_s3_but_no_bucket_names_it(tmp_path: Path) -> None:
    values = {
        "SLACK_BOT_TOKEN": GOOD["SLACK_BOT_TOKEN"],
        "TAVUS_API_KEY": GOOD["TAVUS_API_KEY"],
        "SLACK_APP_TOKEN": "xapp-1-test",
        "MEDIA_BACKEND": "s3",
    }
    assert_stops_naming(run(["socket"], tmp_path, **values), "S3_BUCKET")
