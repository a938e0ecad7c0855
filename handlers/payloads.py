"""Slack payloads read into typed values, so listeners work with names instead of digging in dicts.

Each reader takes what Bolt hands a listener (`command`, `body`, `event`, `action`, `view`, `shortcut`)
and is tolerant of what Slack may leave out; nothing here talks to Slack or the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.domain.batch.problems import BatchGone
from bot.domain.errors import RequestGone
from bot.domain.requests import Requester
from bot.slack.files import SlackFile, csv_files, photo_files

Payload = dict[str, Any]

# Mentions are taken out of a message's text (the bot's own, mostly), except the person `for=` names.
_MENTION = re.compile(r"(?<![Ff][Oo][Rr]=)<@[A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True)
class SlashCommand:
    requester: Requester
    text: str
    trigger_id: str

    @classmethod
    def read(cls, command: Payload) -> SlashCommand:
        requester = Requester(
            user_id=command["user_id"], channel_id=command["channel_id"], team_id=command.get("team_id")
        )
        return cls(requester, command.get("text") or "", command.get("trigger_id") or "")


@dataclass(frozen=True)
class Click:
    """A button click: who, where (None in the App Home tab), and the button's value."""

    user_id: str
    channel_id: str | None
    value: str
    trigger_id: str

    @classmethod
    def read(cls, body: Payload, action: Payload) -> Click:
        channel = (body.get("channel") or {}).get("id")
        value = str(action.get("value") or "")
        return cls(body["user"]["id"], channel or None, value, body.get("trigger_id", ""))


def request_id_of(value: str) -> int:
    """The request a button names by its value; RequestGone when the value is not one."""
    try:
        return int(value)
    except ValueError:
        raise RequestGone() from None


def batch_id_of(value: str) -> tuple[int, str | None]:
    """The batch a button names by its value (`12`, or `12:<cause>` for some of its rows); BatchGone when
    the value is not one."""
    number, sep, rest = value.partition(":")
    try:
        return int(number), rest if sep else None
    except ValueError:
        raise BatchGone() from None


@dataclass(frozen=True)
class PhotoMessage:
    """A message for the bot (a mention, or a DM): its text with the mentions taken out, and its photos."""

    requester: Requester
    ts: str
    thread_ts: str
    text: str
    photos: tuple[SlackFile, ...]
    # Keys of this delivery: Slack retries, and one upload can arrive as app_mention and message.
    delivery_keys: tuple[str, ...]
    # CSV files: a batch.
    sheets: tuple[SlackFile, ...] = ()

    @classmethod
    def read(cls, event: Payload, body: Payload) -> PhotoMessage | None:
        """None for messages nobody needs to answer: the bot's own, or ones without a person."""
        if event.get("bot_id") or not event.get("user"):
            return None
        channel, ts = event["channel"], event["ts"]
        keys = [f"message:{channel}:{ts}"] + ([f"event:{body['event_id']}"] if body.get("event_id") else [])
        return cls(
            requester=Requester(user_id=event["user"], channel_id=channel, team_id=body.get("team_id")),
            ts=ts,
            thread_ts=event.get("thread_ts") or ts,
            text=_MENTION.sub("", event.get("text") or ""),
            photos=tuple(photo_files(event.get("files"))),
            delivery_keys=tuple(keys),
            sheets=tuple(csv_files(event.get("files"))),
        )


@dataclass(frozen=True)
class MessageShortcut:
    """The "Create replica" shortcut on a message: its photos, and the thread to answer in."""

    user_id: str
    channel_id: str
    trigger_id: str
    thread_ts: str | None
    photos: tuple[SlackFile, ...]

    @classmethod
    def read(cls, shortcut: Payload) -> MessageShortcut:
        message = shortcut.get("message") or {}
        return cls(
            user_id=shortcut["user"]["id"],
            channel_id=(shortcut.get("channel") or {}).get("id", ""),
            trigger_id=shortcut.get("trigger_id", ""),
            thread_ts=message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts"),
            photos=tuple(photo_files(message.get("files"))),
        )


@dataclass(frozen=True)
class FormPlace:
    """Where a request made with the form goes, kept in the view's private_metadata."""

    channel_id: str
    thread_ts: str | None = None
    retry_of: int | None = None
    file: Payload | None = None

    def dump(self) -> str:
        return json.dumps(
            {
                "channel_id": self.channel_id,
                "thread_ts": self.thread_ts,
                "retry_of": self.retry_of,
                "file": self.file,
            }
        )

    @classmethod
    def load(cls, metadata: str | None) -> FormPlace:
        data = json.loads(metadata or "{}")
        return cls(data["channel_id"], data.get("thread_ts"), data.get("retry_of"), data.get("file"))


@dataclass(frozen=True)
class FormSubmission:
    """The create form, as submitted: Slack enforces required inputs in its clients, but a submission is
    only a signed request, so nothing here is assumed present."""

    user_id: str
    team_id: str | None
    place: FormPlace
    # Uploaded in the form, or the photo of the message the shortcut was used on.
    files: tuple[Payload, ...]
    has_file_input: bool
    name: str | None
    voice: str | None
    rights_affirmed: bool
    # "Whose face is it?" and the colleague picked, when the form asked (older forms did not).
    likeness: str | None = None
    depicted_id: str | None = None

    @classmethod
    def read(cls, body: Payload, view: Payload) -> FormSubmission:
        values: Payload = view["state"]["values"]
        place = FormPlace.load(view.get("private_metadata"))
        uploaded = list(values.get("photo", {}).get("file", {}).get("files") or [])
        files = uploaded or ([place.file] if place.file else [])
        voice = values.get("voice", {}).get("value", {}).get("selected_option")
        return cls(
            user_id=body["user"]["id"],
            team_id=(body.get("team") or {}).get("id"),
            place=place,
            files=tuple(files),
            has_file_input="photo" in values,
            name=(values.get("name", {}).get("value", {}) or {}).get("value"),
            voice=voice.get("value") if voice else None,
            rights_affirmed=bool(values.get("rights", {}).get("value", {}).get("selected_options")),
            likeness=((values.get("likeness", {}).get("value", {}) or {}).get("selected_option") or {}).get(
                "value"
            ),
            depicted_id=(values.get("depicted", {}).get("value", {}) or {}).get("selected_user"),
        )


@dataclass(frozen=True)
class VideoFormSubmission:
    """The "Retry with a new video" form, as submitted; like the create form, nothing is assumed present."""

    user_id: str
    team_id: str | None
    place: FormPlace
    video_url: str | None
    consent_url: str | None
    name: str | None
    rights_affirmed: bool

    @classmethod
    def read(cls, body: Payload, view: Payload) -> VideoFormSubmission:
        values: Payload = view["state"]["values"]

        def text(block_id: str) -> str | None:
            value = (values.get(block_id, {}).get("value", {}) or {}).get("value")
            return value.strip() or None if isinstance(value, str) else None

        return cls(
            user_id=body["user"]["id"],
            team_id=(body.get("team") or {}).get("id"),
            place=FormPlace.load(view.get("private_metadata")),
            video_url=text("video"),
            consent_url=text("consent"),
            name=text("name"),
            rights_affirmed=bool(values.get("rights", {}).get("value", {}).get("selected_options")),
        )


@dataclass(frozen=True)
class SampleVideoForm:
    """The sample video's form, as submitted: the face (its request) and where the button was clicked are
    kept in private_metadata; the script is whatever was typed (checked by the domain)."""

    user_id: str
    request_id: str
    channel_id: str
    script: str

    @staticmethod
    def place(request_id: int, channel_id: str) -> str:
        return json.dumps({"request_id": request_id, "channel_id": channel_id})

    @classmethod
    def read(cls, body: Payload, view: Payload) -> SampleVideoForm:
        place = json.loads(view.get("private_metadata") or "{}")
        values: Payload = view["state"]["values"]
        script = (values.get("script", {}).get("value", {}) or {}).get("value")
        return cls(
            user_id=body["user"]["id"],
            request_id=str(place.get("request_id", "")),
            channel_id=str(place.get("channel_id", "")),
            script=script if isinstance(script, str) else "",
        )


@dataclass(frozen=True)
class BatchForm:
    """The batch form, as submitted: the files attached (one CSV, or photos), the rows pasted, the names
    given to the photos (one a line), and the voice and model for them; where it was opened."""

    user_id: str
    team_id: str | None
    channel_id: str
    files: tuple[Payload, ...]
    rows: str | None
    names: tuple[str, ...]
    voice: str | None
    model: str | None

    @staticmethod
    def place(channel_id: str) -> str:
        return json.dumps({"channel_id": channel_id})

    @classmethod
    def read(cls, body: Payload, view: Payload) -> BatchForm:
        values: Payload = view["state"]["values"]

        def typed(block_id: str) -> str | None:
            value = (values.get(block_id, {}).get("value", {}) or {}).get("value")
            return value if isinstance(value, str) and value.strip() else None

        def chosen(block_id: str) -> str | None:
            option = (values.get(block_id, {}).get("value", {}) or {}).get("selected_option")
            return str(option.get("value")) if isinstance(option, dict) else None

        place = json.loads(view.get("private_metadata") or "{}")
        return cls(
            user_id=body["user"]["id"],
            team_id=(body.get("team") or {}).get("id"),
            channel_id=str(place.get("channel_id") or ""),
            files=tuple(values.get("file", {}).get("files", {}).get("files") or []),
            rows=typed("rows"),
            # One a line, in the photos' order: an empty line keeps that photo's file name.
            names=tuple(line.strip() for line in (typed("names") or "").splitlines()),
            voice=chosen("voice"),
            model=chosen("model"),
        )


def who_and_where(body: Payload) -> tuple[str | None, str | None]:
    """The person and channel any Slack request came from, when it says."""
    if "user_id" in body:
        return body.get("user_id"), body.get("channel_id")
    event = body.get("event") or {}
    user = (body.get("user") or {}).get("id") or event.get("user")
    channel = (body.get("channel") or {}).get("id") or event.get("channel")
    return user, channel
