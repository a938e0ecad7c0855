"""`replica-bot doctor` as an operator runs it, against the Slack fake, the Tavus emulator, a real database
and moto's S3: all ✓ when the deployment is right, and each mistake named with its fix when it is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator
from bot.service.settings import Settings
from tests.servers import BOT_TOKEN, SIGNING_SECRET, TAVUS_KEY

SECRETS = (BOT_TOKEN, SIGNING_SECRET, TAVUS_KEY)


def doctor(cwd: Path, *args: str, **values: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(values)
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def http_env(
    slack_server: SlackFakeServer, tavus_server: EmulatorServer, migrated_sqlite_url: str
) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_server.api_url,
        "TAVUS_API_KEY": TAVUS_KEY,
        "TAVUS_API_URL": tavus_server.url,
        "DATABASE_URL": migrated_sqlite_url,
        "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
        "ALLOW_PRIVATE_URLS": "true",
    }


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Each check's line, by the name it starts with."""
    found = {}
    for line in result.stdout.splitlines():
        mark, name = line[0], line[2:].split(":", 1)[0]
        assert mark in "✓✗", line
        found[name] = line
    return found


def no_secret_in(result: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


@pytest.mark.usefixtures("slack", "tavus")
def test_all_checks_pass_against_the_stand_ins(tmp_path: Path, http_env: dict[str, str]) -> None:
    result = doctor(tmp_path, **http_env)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result)
    assert set(found) == {
        "settings",
        "slack token",
        "slack scopes",
        "slack signing secret",
        "tavus",
        "database",
        "migrations",
        "media",
    }
    assert all(line.startswith("✓") for line in found.values()), result.stdout
    assert "http mode" in found["settings"]
    assert "speaks /v2/faces" in found["tavus"]
    assert result.stderr == ""
    no_secret_in(result)


@pytest.mark.usefixtures("slack", "tavus")
def test_json_for_machines(tmp_path: Path, http_env: dict[str, str]) -> None:
    result = doctor(tmp_path, "--json", **http_env)
    assert result.returncode == 0, result.stdout
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"] is True and report["mode"] == "http"
    assert {c["name"] for c in report["checks"]} >= {"slack token", "slack scopes", "tavus", "database"}
    assert all(c["ok"] for c in report["checks"])


@pytest.mark.usefixtures("tavus")
def test_a_bad_slack_token_is_named(tmp_path: Path, http_env: dict[str, str], slack: SlackFake) -> None:
    result = doctor(tmp_path, **{**http_env, "SLACK_BOT_TOKEN": "xoxb-not-the-one"})
    assert result.returncode == 1
    line = lines(result)["slack token"]
    assert line.startswith("✗") and "SLACK_BOT_TOKEN" in line and "invalid_auth" in line and "fix:" in line
    assert "xoxb-not-the-one" not in result.stdout
    # The rest is still checked.
    assert lines(result)["tavus"].startswith("✓")


@pytest.mark.usefixtures("tavus")
def test_every_missing_scope_is_named(tmp_path: Path, http_env: dict[str, str], slack: SlackFake) -> None:
    slack.scopes = [s for s in slack.scopes if s not in ("files:read", "im:write")]
    result = doctor(tmp_path, **http_env)
    assert result.returncode == 1
    line = lines(result)["slack scopes"]
    assert line.startswith("✗") and "files:read, im:write" in line and "reinstall" in line
    assert lines(result)["slack token"].startswith("✓")


@pytest.mark.usefixtures("slack", "tavus")
def test_a_rejected_tavus_key_is_named(tmp_path: Path, http_env: dict[str, str]) -> None:
    result = doctor(tmp_path, **{**http_env, "TAVUS_API_KEY": "not-a-tavus-key"})
    assert result.returncode == 1
    line = lines(result)["tavus"]
    assert line.startswith("✗") and "rejected TAVUS_API_KEY" in line and "401" in line
    assert "not-a-tavus-key" not in result.stdout


@pytest.mark.usefixtures("slack")
def test_the_legacy_paths_are_reported(
    tmp_path: Path, http_env: dict[str, str], tavus: TavusEmulator
) -> None:
    tavus.configure(faces_missing=True)
    result = doctor(tmp_path, **http_env)
    assert result.returncode == 0, result.stdout
    assert "legacy /v2/replicas" in lines(result)["tavus"]


@pytest.mark.usefixtures("slack", "tavus")
def test_an_unreachable_database_is_named(tmp_path: Path, http_env: dict[str, str]) -> None:
    url = "postgresql+psycopg://postgres:hunter22@127.0.0.1:1/nowhere"
    result = doctor(tmp_path, **{**http_env, "DATABASE_URL": url})
    assert result.returncode == 1
    line = lines(result)["database"]
    assert line.startswith("✗") and "unreachable" in line and "DATABASE_URL" in line
    assert "hunter22" not in result.stdout + result.stderr


@pytest.mark.usefixtures("slack", "tavus")
def test_a_database_behind_on_migrations(tmp_path: Path, http_env: dict[str, str]) -> None:
    result = doctor(tmp_path, **{**http_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"})
    assert result.returncode == 1
    assert lines(result)["migrations"].startswith("✗ migrations: the schema is not created yet")
    assert not (tmp_path / "new.db").exists()  # the doctor only looks


@pytest.mark.usefixtures("slack", "tavus")
def test_public_base_url_must_be_public_https(tmp_path: Path, http_env: dict[str, str]) -> None:
    result = doctor(tmp_path, **{**http_env, "ALLOW_PRIVATE_URLS": "false"})
    assert result.returncode == 1
    assert "PUBLIC_BASE_URL is not https" in lines(result)["media"]
    result = doctor(
        tmp_path, **{**http_env, "ALLOW_PRIVATE_URLS": "false", "PUBLIC_BASE_URL": "https://127.0.0.1"}
    )
    assert "PUBLIC_BASE_URL is not a public address" in lines(result)["media"]


@pytest.mark.usefixtures("slack")
def test_a_bad_setting_is_the_one_line(tmp_path: Path, http_env: dict[str, str]) -> None:
    result = doctor(tmp_path, **{**http_env, "PORT": "abc"})
    assert result.returncode == 1
    assert result.stdout.splitlines() == [result.stdout.splitlines()[0]]
    assert result.stdout.startswith("✗ settings: PORT is invalid")


# --- Socket Mode with S3 ----------------------------------------------------------------------------------


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[dict[str, str]]:
    credentials = {
        "AWS_ACCESS_KEY_ID": "doctor-test-key",
        "AWS_SECRET_ACCESS_KEY": "doctor-test-secret",
        "AWS_CONFIG_FILE": "/nonexistent/replica-bot-test",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/replica-bot-test",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in credentials.items():
            mp.setenv(key, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket="faces")
        try:
            yield {**credentials, "S3_ENDPOINT_URL": url, "S3_REGION": "us-east-1", "MEDIA_BACKEND": "s3"}
        finally:
            server.stop()


@pytest.mark.usefixtures("tavus")
def test_socket_mode_checks_the_app_token_and_the_bucket(
    tmp_path: Path, http_env: dict[str, str], slack: SlackFake, s3: dict[str, str]
) -> None:
    env = {**http_env, **s3, "SLACK_APP_TOKEN": slack.app_token, "S3_BUCKET": "faces"}
    del env["SLACK_SIGNING_SECRET"]
    result = doctor(tmp_path, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result)
    assert "socket mode" in found["settings"]
    assert found["slack app token"].startswith("✓")
    assert found["media"].startswith("✓ media: s3 bucket faces answers")

    result = doctor(tmp_path, **{**env, "SLACK_APP_TOKEN": "xapp-wrong", "S3_BUCKET": "no-such-bucket"})
    assert result.returncode == 1
    found = lines(result)
    assert found["slack app token"].startswith("✗") and "SLACK_APP_TOKEN" in found["slack app token"]
    assert found["media"].startswith("✗ media: the bucket does not answer")
    assert "xapp-wrong" not in result.stdout and "doctor-test-secret" not in result.stdout
