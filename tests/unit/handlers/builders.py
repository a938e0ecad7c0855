"""Slack payloads as Bolt hands them to listeners, and requests stored the way the domain stores them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from bot.domain.drafts import request_fields
from bot.domain.lifecycle import Lifecycle
from bot.domain.requests import ReplicaDraft, Requester
from bot.slack.ids import MODAL_CALLBACK_ID, SHORTCUT_CALLBACK_ID
from handlers.payloads import FormPlace
from storage.models import ReplicaRequest, RequestStatus
from storage.repository import replica_requests
from tests.unit.handlers.fakes import TEAM_ID

Payload = dict[str, Any]

USER = "U1"
OTHER_USER = "U2"
CHANNEL = "C1"
TRIGGER_ID = "1337.42.trigger"
PHOTO_URL = "https://example.com/ana.png"
FILE_URL = "https://files.slack.com/files-pri/T1-F1/ana.png"


# --- payloads ------------------------------------------------------------------------------------------


def slash_command(text: str, *, user: str = USER, channel: str = CHANNEL) -> Payload:
    return {
        "command": "/replica",
        "text": text,
        "user_id": user,
        "channel_id": channel,
        "team_id": TEAM_ID,
        "trigger_id": TRIGGER_ID,
        "response_url": "https://hooks.slack.test/commands/T1/1/secret",
    }


def photo_file(file_id: str = "F1", *, name: str = "ana.png", url: str | None = FILE_URL) -> Payload:
    file: Payload = {"id": file_id, "name": name, "mimetype": "image/png", "filetype": "png"}
    if url is not None:
        file["url_private_download"] = url
        file["url_private"] = url
    return file


def message_event(
    text: str,
    *,
    kind: str = "app_mention",
    user: str | None = USER,
    channel: str = CHANNEL,
    ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    files: list[Payload] | None = None,
    **extra: Any,
) -> Payload:
    event: Payload = {"type": kind, "text": text, "channel": channel, "ts": ts, **extra}
    if user is not None:
        event["user"] = user
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    if files is not None:
        event["files"] = files
    return event


def event_body(event: Payload, *, event_id: str = "Ev1") -> Payload:
    return {"type": "event_callback", "team_id": TEAM_ID, "event_id": event_id, "event": event}


def block_action(action_id: str, value: str, *, user: str = USER, channel: str | None = CHANNEL) -> Payload:
    """A block_actions body; `channel=None` is a click in the App Home tab."""
    action = {"type": "button", "action_id": action_id, "block_id": "b1", "value": value}
    body: Payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": TEAM_ID},
        "trigger_id": TRIGGER_ID,
        "response_url": "https://hooks.slack.test/actions/T1/1/secret",
        "actions": [action],
    }
    if channel is None:
        body["view"] = {"type": "home", "id": "VHOME"}
    else:
        body["channel"] = {"id": channel}
        body["container"] = {"type": "message", "channel_id": channel, "message_ts": "1700000000.000200"}
    return body


def form_submission(
    *,
    user: str = USER,
    place: FormPlace | None = None,
    uploaded: list[Payload] | None = None,
    file_input: bool = True,
    name: str | None = "Ana",
    voice: str | None = "anna",
    rights: bool = True,
) -> tuple[Payload, Payload]:
    """The body and view of a create-form submission. `file_input=False`: a form opened on a message's
    photo, which has no upload field."""
    values: Payload = {}
    if file_input:
        values["photo"] = {"file": {"type": "file_input", "files": list(uploaded or [])}}
    values["name"] = {"value": {"type": "plain_text_input", "value": name}}
    option = {"text": {"type": "plain_text", "text": voice}, "value": voice} if voice else None
    values["voice"] = {"value": {"type": "static_select", "selected_option": option}}
    selected = [{"value": "affirmed"}] if rights else []
    values["rights"] = {"value": {"type": "checkboxes", "selected_options": selected}}
    view = {
        "id": "VFORM",
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "private_metadata": (place or FormPlace(CHANNEL)).dump(),
        "state": {"values": values},
    }
    body = {"type": "view_submission", "user": {"id": user}, "team": {"id": TEAM_ID}, "view": view}
    return body, view


def message_shortcut(*, files: list[Payload] | None = None, channel: str = CHANNEL) -> Payload:
    message: Payload = {"type": "message", "user": OTHER_USER, "text": "my headshot"}
    message["ts"] = "1700000000.000300"
    if files is not None:
        message["files"] = files
    return {
        "type": "message_action",
        "callback_id": SHORTCUT_CALLBACK_ID,
        "trigger_id": TRIGGER_ID,
        "user": {"id": USER},
        "team": {"id": TEAM_ID},
        "channel": {"id": channel},
        "message_ts": message["ts"],
        "message": message,
        "response_url": "https://hooks.slack.test/actions/T1/1/secret",
    }


# --- stored requests -------------------------------------------------------------------------------------


def stored_requests(engine: Engine) -> list[ReplicaRequest]:
    """Every request, oldest first."""
    return list(reversed(replica_requests.recent(engine, limit=1000)))


def fetch(engine: Engine, request_id: int | None) -> ReplicaRequest:
    assert request_id is not None
    request = replica_requests.get(engine, request_id)
    assert request is not None, f"request {request_id} is gone"
    return request


def _draft(user: str, channel: str, name: str, image_url: str) -> ReplicaDraft:
    return ReplicaDraft(Requester(user, channel, TEAM_ID), name, "anna", image_url=image_url)


def held_request(
    engine: Engine, *, user: str = USER, channel: str = CHANNEL, name: str = "Ana", image_url: str = PHOTO_URL
) -> ReplicaRequest:
    """A request checked and waiting for its requester to confirm the rights."""
    fields = request_fields(_draft(user, channel, name, image_url), train_image_url=image_url)
    held = Lifecycle(engine).checked(None, fields, hold=True)
    assert held is not None and held.status == RequestStatus.AWAITING_CONFIRMATION
    return held


def submitting_request(
    engine: Engine, *, user: str = USER, channel: str = CHANNEL, name: str = "Ana", image_url: str = PHOTO_URL
) -> ReplicaRequest:
    """A request checked with nothing to ask, about to go to Tavus."""
    fields = request_fields(_draft(user, channel, name, image_url), train_image_url=image_url)
    submitting = Lifecycle(engine).checked(None, fields, hold=False)
    assert submitting is not None and submitting.status == RequestStatus.SUBMITTING
    return submitting


def failed_request(engine: Engine, *, user: str = USER, channel: str = CHANNEL, name: str = "Ana") -> int:
    """A request that ended without training (declined by its requester): one that can be retried."""
    request_id = held_request(engine, user=user, channel=channel, name=name).id
    assert request_id is not None
    assert Lifecycle(engine).cancel(request_id, user)
    assert fetch(engine, request_id).status == RequestStatus.SUBMIT_FAILED
    return request_id
