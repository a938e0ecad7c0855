"""manifest.yml must be a valid Slack app manifest and match what the app listens for."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.service.doctor import MANIFEST_SCOPES
from tests.paths import REPO, SHARED

MANIFEST = REPO / "manifest.yml"
SCHEMA = SHARED / "slack" / "manifest.schema.1.0.0.json"

REQUIRED_SCOPES = {
    "app_mentions:read",
    "chat:write",
    "commands",
    "files:read",
    "im:history",
    "im:read",
    "im:write",
    "users:read",
    "usergroups:read",
}
REQUIRED_EVENTS = {"app_mention", "message.im", "app_home_opened"}


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.fixture
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _errors(validator: Draft7Validator, manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(manifest)]


def test_manifest_matches_slack_schema(validator: Draft7Validator, manifest: dict[str, Any]) -> None:
    assert _errors(validator, manifest) == []


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(
            lambda m: m["features"]["shortcuts"][0].update(name="Create a replica from this photo"),
            id="shortcut-name-over-24-chars",
        ),
        pytest.param(
            lambda m: m["features"]["slash_commands"][0].update(command="replica"), id="command-no-slash"
        ),
        pytest.param(lambda m: m["settings"].update(socket_mode="off"), id="unknown-settings-key"),
        pytest.param(lambda m: m["features"]["shortcuts"][0].pop("callback_id"), id="shortcut-no-callback"),
        pytest.param(
            lambda m: m["settings"]["interactivity"].update(request_url="example.com/slack/events"),
            id="request-url-not-http",
        ),
    ],
)
def test_schema_rejects_broken_manifest(
    validator: Draft7Validator, manifest: dict[str, Any], breakage: Any
) -> None:
    broken = copy.deepcopy(manifest)
    breakage(broken)
    assert _errors(validator, broken), "the schema should have rejected the mutated manifest"


def test_slash_command_and_shortcut(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/replica"}
    assert commands["/replica"]["should_escape"] is False
    assert "create <image-url>" in commands["/replica"]["usage_hint"]
    (shortcut,) = manifest["features"]["shortcuts"]
    assert shortcut == {
        **shortcut,
        "type": "message",
        "callback_id": "create_replica",
        "name": "Create replica",
    }
    assert len(shortcut["name"]) <= 24


def test_every_request_url_is_slack_events(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls += [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert all(url.startswith("https://") and url.endswith("/slack/events") for url in urls), urls
    assert len({url.rsplit("/slack/events", 1)[0] for url in urls}) == 1, "one host for every request URL"
    assert "PUBLIC_BASE_URL" in MANIFEST.read_text().split("_metadata:")[0]


def test_scopes_events_and_modes(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert REQUIRED_SCOPES - scopes == set()
    # Reading its own threads back is how delivery avoids double posts after a crash.
    assert {"channels:history", "groups:history"} <= scopes
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == REQUIRED_EVENTS
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert manifest["_metadata"]["major_version"] == 1
    home = manifest["features"]["app_home"]
    assert home == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert manifest["features"]["bot_user"] == {"display_name": "replica-bot", "always_online": True}


def test_the_doctor_checks_the_scopes_the_manifest_asks_for(manifest: dict[str, Any]) -> None:
    assert sorted(MANIFEST_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
