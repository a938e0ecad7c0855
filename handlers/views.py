"""The `/replica create` modal: photo upload (or the photo from a message), name, voice, rights."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import messages
from bot.commands import CreateArgs
from bot.runtime import Runtime
from bot.slack_files import SlackFile
from bot.submission import Requester
from handlers.flow import Reply, after_ack, in_thread, privately, submit_slack_photo

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        handle_modal_submission(runtime, ack, body, view, client)

    app.view(messages.MODAL_CALLBACK_ID)(on_submit)


def open_modal(
    runtime: Runtime,
    client: WebClient,
    trigger_id: str,
    *,
    channel_id: str,
    thread_ts: str | None = None,
    file: dict[str, Any] | None = None,
    name: str | None = None,
    voice: str | None = None,
    retry_of: int | None = None,
) -> None:
    metadata = {
        "channel_id": channel_id,
        "thread_ts": thread_ts,
        "retry_of": retry_of,
        "file": {k: file.get(k) for k in ("id", "name", "mimetype", "url_private_download", "url_private")}
        if file
        else None,
    }
    view = messages.upload_modal(
        runtime.settings.voices,
        private_metadata=json.dumps(metadata),
        name=name,
        voice=voice or runtime.settings.default_voice,
        file_name=(file or {}).get("name"),
        descriptions=runtime.settings.voice_descriptions,
        retry_of_name=(name or "") if retry_of is not None else None,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def handle_modal_submission(
    runtime: Runtime, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    values = view["state"]["values"]
    metadata = json.loads(view.get("private_metadata") or "{}")
    uploaded = _files(values) or ([metadata["file"]] if metadata.get("file") else [])
    errors: dict[str, str] = {}
    # Slack enforces required inputs in its clients, but a submission is only a signed request: check.
    if not _selected(values, "rights"):
        errors["rights"] = "Please confirm you have the rights to use this likeness."
    if not uploaded:
        errors["photo"] = "Attach one JPG or PNG headshot."
    voice = _selected_option(values, "voice")
    if voice not in runtime.settings.voices:
        errors["voice"] = "Pick one of the stock voices."
    if errors:
        # The photo error has nowhere to show when the photo came from a message.
        ack(
            response_action="errors",
            errors=errors
            if "photo" in values or "photo" not in errors
            else {**errors, "name": errors["photo"]},
        )
        return
    channel, thread_ts = metadata["channel_id"], metadata.get("thread_ts")
    if not runtime.access.channel_allowed(channel):
        ack(response_action="errors", errors={"name": runtime.access.where_allowed()})
        return
    user = body["user"]["id"]
    name = (values.get("name", {}).get("value", {}) or {}).get("value")
    draft = runtime.submission.draft(
        Requester(user_id=user, channel_id=channel, team_id=(body.get("team") or {}).get("id")),
        CreateArgs(image_url=None, video_url=None, consent_url=None, voice=voice, name=name),
        uploaded=True,
        thread_ts=thread_ts,
        slack_file_id=uploaded[0].get("id"),
        rights_affirmed=True,
        retry_of=metadata.get("retry_of"),
    )
    # Recorded before the modal closes: a crash from here on cannot lose the request.
    draft = runtime.submission.receive(draft)
    ack()
    reply: Reply = (
        in_thread(client, channel, thread_ts) if thread_ts else privately(client, None, channel, user)
    )

    def submit() -> None:
        file = SlackFile.from_payload(uploaded[0])
        if file.url is None and file.id:
            file = SlackFile.from_payload(client.files_info(file=file.id)["file"])
        submit_slack_photo(runtime, draft, file, reply)

    after_ack(runtime, reply, submit, draft=draft)


def _files(values: dict[str, Any]) -> list[dict[str, Any]]:
    return list(values.get("photo", {}).get("file", {}).get("files") or [])


def _selected(values: dict[str, Any], block: str) -> list[dict[str, Any]]:
    return list(values.get(block, {}).get("value", {}).get("selected_options") or [])


def _selected_option(values: dict[str, Any], block: str) -> str | None:
    option = values.get(block, {}).get("value", {}).get("selected_option")
    return option.get("value") if option else None
