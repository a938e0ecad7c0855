"""`handlers.register` on a real Bolt app: every listener is wired, and gets `services` from the
middleware. Requests go through `App.dispatch` in process; the Web API calls Bolt makes on its own
(auth.test) and the listeners' replies go to the session's Slack fake on loopback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

import handlers
from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.slack.ids import GUIDELINE_ACTION, MODAL_CALLBACK_ID, SHORTCUT_CALLBACK_ID
from bot.slack.render import FIELD_ERRORS, no_photo_in_message
from handlers.services import Services
from tests.servers import BOT_TOKEN
from tests.unit.handlers.builders import (
    CHANNEL,
    USER,
    block_action,
    event_body,
    form_submission,
    message_event,
    message_shortcut,
    photo_file,
    slash_command,
    submitting_request,
)

FORM: dict[str, str | Sequence[str]] = {"content-type": ["application/x-www-form-urlencoded"]}


@pytest.fixture
def app(services: Services, slack_server: SlackFakeServer, slack: SlackFake) -> App:
    bolt = App(
        # Bolt asks auth.test on the first request; the fake answers it instead of slack.com.
        client=WebClient(token=BOT_TOKEN, base_url=slack_server.api_url),
        signing_secret="s",
        token_verification_enabled=False,
        request_verification_enabled=False,
        # Listeners finish before dispatch returns, so the test sees what they did without waiting.
        process_before_response=True,
    )
    handlers.register(bolt, services)
    return bolt


def dispatch_form(app: App, fields: dict[str, str]) -> BoltResponse:
    return app.dispatch(BoltRequest(body=urlencode(fields), headers=FORM))


def dispatch_interaction(app: App, payload: dict[str, Any]) -> BoltResponse:
    return dispatch_form(app, {"payload": json.dumps(payload)})


def test_a_slash_command_is_answered_in_the_ack_through_bolt(app: App) -> None:
    response = dispatch_form(app, slash_command("help"))

    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_type"] == "ephemeral"
    assert "turns a headshot into a Tavus replica" in body["text"]


def test_the_listener_gets_the_services_given_to_register(app: App, engine: Engine) -> None:
    # Only the services built on this test's database know this request.
    submitting_request(engine, user=USER, name="Registered Ana")

    response = dispatch_form(app, slash_command("list"))

    assert response.status == 200
    assert "*Registered Ana*" in json.loads(response.body)["text"]


def test_an_unregistered_command_is_not_handled(app: App) -> None:
    response = dispatch_form(app, {**slash_command("help"), "command": "/other"})

    assert response.status == 404


def test_the_other_listeners_are_registered(app: App, slack: SlackFake) -> None:
    link = dispatch_interaction(app, block_action(GUIDELINE_ACTION, "https://docs.tavus.io"))
    assert (link.status, link.body) == (200, "")

    body, _ = form_submission(uploaded=[photo_file()], voice=None)
    errors = dispatch_interaction(app, body)
    assert errors.status == 200
    assert json.loads(errors.body) == {
        "response_action": "errors",
        "errors": {"voice": FIELD_ERRORS["voice"]},
    }
    assert body["view"]["callback_id"] == MODAL_CALLBACK_ID

    shortcut = message_shortcut(files=[])
    assert shortcut["callback_id"] == SHORTCUT_CALLBACK_ID
    assert dispatch_interaction(app, shortcut).status == 200
    assert [e["text"] for e in slack.ephemerals(CHANNEL)] == [no_photo_in_message()]

    event = message_event("<@UBOT> hello", ts="1700000000.000900")
    mention = app.dispatch(
        BoltRequest(body=json.dumps(event_body(event)), headers={"content-type": ["application/json"]})
    )
    assert mention.status == 200
    [answer] = slack.thread(CHANNEL, "1700000000.000900")
    assert answer["text"].startswith("Attach a headshot to your message")
