"""The "Create replica" message shortcut, called directly: the form with the message's photo."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from bot.slack.ids import MODAL_CALLBACK_ID
from bot.slack.render import no_photo_in_message
from handlers.services import Services
from handlers.shortcuts.create_replica import on_shortcut
from tests.unit.handlers.builders import (
    CHANNEL,
    FILE_URL,
    TRIGGER_ID,
    USER,
    message_shortcut,
    photo_file,
    stored_requests,
)
from tests.unit.handlers.fakes import Jobs, MakeServices, RecordingAck, RecordingClient


def test_a_message_without_a_photo_gets_told_so(services: Services, client: RecordingClient) -> None:
    ack = RecordingAck()
    not_a_photo = {"id": "F2", "name": "notes.pdf", "mimetype": "application/pdf"}

    on_shortcut(ack, message_shortcut(files=[not_a_photo]), client, services)

    assert ack.once == {}
    assert client.called("chat_postEphemeral") == [
        {"channel": CHANNEL, "user": USER, "text": no_photo_in_message()}
    ]
    assert no_photo_in_message().startswith("That message has no photo")
    assert client.called("views_open") == []


def test_a_message_with_a_photo_opens_the_form_carrying_the_file(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    ack = RecordingAck()
    shortcut = message_shortcut(files=[photo_file("F5", name="headshot.png")])

    on_shortcut(ack, shortcut, client, services)

    assert ack.once == {}
    [opened] = client.called("views_open")
    assert opened["trigger_id"] == TRIGGER_ID
    view = opened["view"]
    assert view["callback_id"] == MODAL_CALLBACK_ID
    assert json.loads(view["private_metadata"]) == {
        "channel_id": CHANNEL,
        "thread_ts": shortcut["message"]["ts"],
        "retry_of": None,
        "file": {
            "id": "F5",
            "name": "headshot.png",
            "mimetype": "image/png",
            "url_private_download": FILE_URL,
        },
    }
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    # The photo is the message's: no upload field, its name shown instead.
    assert "photo" not in blocks and "headshot.png" in str(view["blocks"])
    assert client.called("chat_postEphemeral") == [] and jobs == [] and stored_requests(engine) == []


def test_a_shortcut_outside_the_allowed_channels_says_where_to_ask(
    make_services: MakeServices, client: RecordingClient
) -> None:
    services = make_services(allowed_channels=("CREPLICAS",))

    on_shortcut(RecordingAck(), message_shortcut(files=[photo_file()], channel="CRANDOM"), client, services)

    [said] = client.called("chat_postEphemeral")
    assert said["text"] == "I only take replica requests in <#CREPLICAS>. Please ask there."
    assert client.called("views_open") == []
