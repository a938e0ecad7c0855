"""What Tavus does with a finished face: videos from a script (`/v2/videos`), live conversations
(`/v2/conversations`), and the PAL (persona) a conversation talks as. Read tolerantly, like faces: an
unknown status keeps the bot polling, never announces.

Fields, as the docs describe them (shared/reference/tavus-api.md, "After training"):
- `POST /v2/videos` takes `replica_id`, `script`, `video_name`, `callback_url`; answers `video_id`, `status`
  (`queued`, `generating`, `ready`, `deleted`, `error`), `hosted_url`. `GET /v2/videos/{id}?verbose=true` adds
  `generation_progress`, `download_url`, `stream_url`, `status_details`, `still_image_thumbnail_url`,
  `gif_thumbnail_url`. `GET /v2/videos` lists them (`data`).
- `POST /v2/conversations` takes `replica_id`, `persona_id`, `conversation_name`, `callback_url`,
  `properties` (`max_call_duration`, `participant_left_timeout`, `participant_absent_timeout`); answers
  `conversation_id`, `conversation_url`, `status` (`active`, `ended`) and, in newer docs, `room_url` (a page
  Tavus hosts to try a call in any browser). `POST /v2/conversations/{id}/end` ends one.
- `POST /v2/pals` needs `default_face_id`; the legacy `POST /v2/personas` (an alias) does not.
  `DELETE /v2/pals/{id}` (or `/v2/personas/{id}`) deletes one: 204.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from bot.tavus.client import TavusClient
from bot.tavus.errors import TavusError, TavusNotFound
from bot.tavus.models import first_str, optional_str, parse_timestamp

VIDEOS = "/v2/videos"
CONVERSATIONS = "/v2/conversations"
PALS = "/v2/pals"
PERSONAS = "/v2/personas"


class VideoState(StrEnum):
    GENERATING = "generating"
    READY = "ready"
    ERROR = "error"
    DELETED = "deleted"


_VIDEO_STATES = {
    "queued": VideoState.GENERATING,
    "generating": VideoState.GENERATING,
    "ready": VideoState.READY,
    "completed": VideoState.READY,
    "error": VideoState.ERROR,
    "failed": VideoState.ERROR,
    "deleted": VideoState.DELETED,
}


class Video(BaseModel):
    video_id: str
    video_name: str | None = None
    status: VideoState
    raw_status: str
    generation_progress: str | None = None
    hosted_url: str | None = None
    stream_url: str | None = None
    download_url: str | None = None
    status_details: str | None = None
    still_image_thumbnail_url: str | None = None
    gif_thumbnail_url: str | None = None

    @property
    def watch_url(self) -> str | None:
        """Where a person watches it: Tavus' page, else the stream, else the file."""
        return self.hosted_url or self.stream_url or self.download_url

    @property
    def thumbnail_url(self) -> str | None:
        return self.gif_thumbnail_url or self.still_image_thumbnail_url

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Video:
        raw = optional_str(data.get("status")) or ""
        text = {name: optional_str(data.get(name)) for name in _VIDEO_TEXT}
        # On an error the list answer also carries `error_details`; either says what went wrong.
        text["status_details"] = text["status_details"] or optional_str(data.get("error_details"))
        return cls(
            video_id=optional_str(data.get("video_id")) or "",
            status=_VIDEO_STATES.get(raw.strip().lower(), VideoState.GENERATING),
            raw_status=raw,
            **text,
        )


_VIDEO_TEXT = (
    "video_name",
    "generation_progress",
    "hosted_url",
    "stream_url",
    "download_url",
    "status_details",
    "still_image_thumbnail_url",
    "gif_thumbnail_url",
)


class ConversationState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class Conversation(BaseModel):
    conversation_id: str
    conversation_name: str | None = None
    status: ConversationState
    conversation_url: str | None = None
    room_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def join_url(self) -> str | None:
        """The link a person opens: Tavus' hosted room page where it gives one, else the call's URL."""
        return self.room_url or self.conversation_url

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Conversation:
        raw = (optional_str(data.get("status")) or "").strip().lower()
        return cls(
            conversation_id=optional_str(data.get("conversation_id")) or "",
            conversation_name=optional_str(data.get("conversation_name")),
            # Only "ended" ends it: anything else (active, or a word not documented) is still a live call.
            status=ConversationState.ENDED if raw == "ended" else ConversationState.ACTIVE,
            conversation_url=optional_str(data.get("conversation_url")),
            room_url=optional_str(data.get("room_url")),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
        )


class TavusJobs:
    """Videos, conversations and PALs, over the face client's connection, key, retries and error mapping."""

    def __init__(self, client: TavusClient) -> None:
        self._client = client

    def create_video(
        self, *, replica_id: str, script: str, video_name: str, callback_url: str | None
    ) -> Video:
        body = {"replica_id": replica_id, "script": script, "video_name": video_name}
        if callback_url:
            body["callback_url"] = callback_url
        video = Video.from_api(self._client.call_json("POST", VIDEOS, body, idempotent=False))
        if not video.video_id:
            raise TavusError(f"Tavus accepted POST {VIDEOS} but returned no video_id")
        return video

    def get_video(self, video_id: str) -> Video:
        # verbose: the thumbnails (a GIF and a still) come only with it.
        data = self._client.call_json("GET", _item(VIDEOS, video_id), params={"verbose": "true"})
        return Video.from_api(data)

    def list_videos(self, *, limit: int = 100) -> list[Video]:
        return [Video.from_api(item) for item in self._list(VIDEOS, limit)]

    def create_conversation(
        self,
        *,
        replica_id: str,
        persona_id: str | None,
        conversation_name: str,
        callback_url: str | None,
        properties: dict[str, int],
    ) -> Conversation:
        body: dict[str, Any] = {
            "replica_id": replica_id,
            "conversation_name": conversation_name,
            "properties": properties,
        }
        if persona_id:
            body["persona_id"] = persona_id
        if callback_url:
            body["callback_url"] = callback_url
        data = self._client.call_json("POST", CONVERSATIONS, body, idempotent=False)
        conversation = Conversation.from_api(data)
        if not conversation.conversation_id:
            raise TavusError(f"Tavus accepted POST {CONVERSATIONS} but returned no conversation_id")
        return conversation

    def get_conversation(self, conversation_id: str) -> Conversation:
        return Conversation.from_api(self._client.call_json("GET", _item(CONVERSATIONS, conversation_id)))

    def end_conversation(self, conversation_id: str) -> None:
        # Ending twice ends nothing more: safe to repeat like a read.
        self._client.call_json("POST", _item(CONVERSATIONS, conversation_id) + "/end")

    def list_conversations(self, *, limit: int = 100) -> list[Conversation]:
        return [Conversation.from_api(item) for item in self._list(CONVERSATIONS, limit)]

    def create_pal(self, *, name: str, system_prompt: str, face_id: str) -> str:
        """A PAL on `/v2/pals`, or where an account lacks that path, a persona on the legacy alias; its id."""
        base = {"system_prompt": system_prompt, "pipeline_mode": "full"}
        try:
            pal = {**base, "pal_name": name, "default_face_id": face_id}
            data = self._client.call_json("POST", PALS, pal, idempotent=False)
        except TavusNotFound:
            persona = {**base, "persona_name": name, "default_replica_id": face_id}
            data = self._client.call_json("POST", PERSONAS, persona, idempotent=False)
        pal_id = first_str(data, "pal_id", "persona_id")
        if pal_id is None:
            raise TavusError("Tavus accepted the PAL but returned no pal_id")
        return pal_id

    def delete_pal(self, pal_id: str) -> None:
        """Delete a PAL (where an account lacks `/v2/pals`, the persona of that id on the legacy alias)."""
        try:
            self._client.call_json("DELETE", _item(PALS, pal_id))
        except TavusNotFound:
            self._client.call_json("DELETE", _item(PERSONAS, pal_id))

    def _list(self, path: str, limit: int) -> list[dict[str, Any]]:
        body = self._client.call_json("GET", path, params={"limit": limit, "page": 1})
        items = body.get("data")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _item(collection: str, item_id: str) -> str:
    if not item_id:
        raise ValueError("an id is required")
    # Ids come from stored rows and Tavus; quoting stops "../" from reaching other endpoints.
    return f"{collection}/{quote(item_id, safe='')}"
