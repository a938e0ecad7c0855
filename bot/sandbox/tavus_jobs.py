"""The Tavus emulator's videos (`/v2/videos`), conversations (`/v2/conversations`) and PALs (`/v2/pals`, and
the legacy `/v2/personas`), as Tavus' docs describe them (shared/reference/tavus-api.md, "After training").

- A video is `queued`, then `generating` (with `generation_progress`), then `ready` (with `hosted_url`,
  `stream_url`, `download_url`; `?verbose=true` adds `still_image_thumbnail_url` and `gif_thumbnail_url`) or
  `error` (`status_details`, URLs null); `DELETE` makes it `deleted`. Its callback carries the documented
  fields. Tests script the next videos' outcomes (`script_video`): an error with its words, a ready video
  without any URL, how long generation takes.
- A conversation is `active` from its create (the face joins at once: `system.replica_joined`) until it ends:
  at `max_call_duration`, `participant_absent_timeout` while nobody joined, `participant_left_timeout` after
  the last person left, or `POST …/end`; then it is `ended` and a `system.shutdown` callback says why. Too
  many at once (`limit_conversations`): HTTP 400 "User has reached maximum concurrent conversations".
- A PAL needs `default_face_id` on `/v2/pals`; a persona on `/v2/personas` may have no default face. A
  conversation may name one (`persona_id` or `pal_id`) or none (Tavus' default persona); an unknown one
  (deleted in the portal, say) is a 400 "Invalid persona_id". `DELETE /v2/pals/{id}` (or the persona alias)
  deletes one.

State is kept per object, computed from the clock on every read; the only background work is each object's
callbacks. Served through the face emulator's gate (latency, faults, the key check, the call log).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Handler = Callable[[Request, Any], Awaitable[Response]]
Spawn = Callable[[Coroutine[Any, Any, None]], None]
SendCallback = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]
VideoOutcome = Literal["ready", "error"]

DEFAULT_VIDEO_SECONDS = 3.0
GENERIC_VIDEO_ERROR = (
    "An error occurred while generating this request. Please check your inputs or try your request again."
)
READY_DETAILS = "Your request has processed successfully!"
TOO_MANY_CONVERSATIONS = "User has reached maximum concurrent conversations"
MAX_CALL_DURATION = 3600
_QUEUED_SHARE = 0.2


@dataclass
class ScriptedVideo:
    outcome: VideoOutcome = "ready"
    status_details: str | None = None
    seconds: float | None = None
    # `ready` without hosted, stream or download URL (the bot must say so, not post nothing).
    no_urls: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in ("ready", "error"):
            raise ValueError("outcome must be ready or error")
        if self.seconds is not None and self.seconds < 0:
            raise ValueError("seconds must not be negative")


@dataclass
class _Video:
    video_id: str
    video_name: str | None
    replica_id: str
    script: str | None
    callback_url: str | None
    scripted: ScriptedVideo
    seconds: float
    started_mono: float
    created_at: datetime
    deleted: bool = False
    hard_deleted: bool = False


@dataclass
class _Conversation:
    conversation_id: str
    conversation_name: str | None
    replica_id: str
    persona_id: str | None
    callback_url: str | None
    properties: dict[str, int]
    created_at: datetime
    started_mono: float
    joined: int = 0
    left_mono: float | None = None
    ended_at: datetime | None = None
    shutdown_reason: str | None = None
    events: list[str] = field(default_factory=list)

    def limit(self, name: str, default: int) -> int:
        value = self.properties.get(name)
        return value if isinstance(value, int) and value >= 0 else default


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _error(status: int, message: str, *, key: str = "message") -> JSONResponse:
    return JSONResponse({key: message}, status_code=status)


class JobsEmulator:
    def __init__(
        self,
        *,
        spawn: Spawn,
        send_callback: SendCallback,
        face_state: Callable[[str], str | None],
        default_video_seconds: float = DEFAULT_VIDEO_SECONDS,
    ) -> None:
        """`face_state`: the status a face id has now (None: no such face); `spawn` runs a coroutine on the
        server's loop; `send_callback` POSTs a callback and logs it."""
        self._spawn = spawn
        self._send_callback = send_callback
        self._face_state = face_state
        self._initial_video_seconds = default_video_seconds
        self.default_video_seconds = default_video_seconds
        self._lock = threading.Lock()
        self._videos: dict[str, _Video] = {}
        self._conversations: dict[str, _Conversation] = {}
        self._pals: dict[str, dict[str, Any]] = {}
        self._scripted: deque[ScriptedVideo] = deque()
        self.max_concurrent_conversations: int | None = None
        # A Tavus that lets calls run past their timers (only `…/end` ends them): the bot must end them.
        self.overrun = False

    # --- control ---------------------------------------------------------------------------------------

    def script_video(
        self,
        outcome: VideoOutcome = "ready",
        *,
        status_details: str | None = None,
        seconds: float | None = None,
        no_urls: bool = False,
        count: int = 1,
    ) -> None:
        """How the next `count` videos turn out."""
        if count < 1:
            raise ValueError("count must be at least 1")
        scripted = ScriptedVideo(outcome, status_details, seconds, no_urls)
        with self._lock:
            self._scripted.extend([scripted] * count)

    def limit_conversations(self, maximum: int | None) -> None:
        """At most `maximum` active conversations at once (None: no limit)."""
        with self._lock:
            self.max_concurrent_conversations = maximum

    def delete_video(self, video_id: str) -> None:
        """Delete a video as its owner would in the portal (no callback, like Tavus)."""
        with self._lock:
            self._videos[video_id].deleted = True

    def join(self, conversation_id: str) -> None:
        """Someone joins the call (the participant timeouts then count from when the last one leaves)."""
        with self._lock:
            record = self._conversations[conversation_id]
            record.joined += 1
            record.left_mono = None

    def leave(self, conversation_id: str) -> None:
        with self._lock:
            record = self._conversations[conversation_id]
            record.joined = max(0, record.joined - 1)
            if record.joined == 0:
                # The follower notices the new deadline on its next wake, within a second.
                record.left_mono = time.monotonic()

    def videos(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            return [
                {**self._video_view(v, now, verbose=True), "callback_url": v.callback_url,
                 "deleted": v.deleted, "hard_deleted": v.hard_deleted}
                for v in self._videos.values()
            ]

    def conversations(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            return [
                {**self._conversation_view(c, now), "properties": dict(c.properties),
                 "shutdown_reason": self._shutdown_reason(c, now), "events": list(c.events)}
                for c in self._conversations.values()
            ]

    def pals(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(pal) for pal in self._pals.values()]

    def reset(self) -> None:
        with self._lock:
            self._videos.clear()
            self._conversations.clear()
            self._pals.clear()
            self._scripted.clear()
            self.max_concurrent_conversations = None
            self.overrun = False
            self.default_video_seconds = self._initial_video_seconds

    # --- videos ----------------------------------------------------------------------------------------

    def _video_status(self, video: _Video, now: float) -> tuple[str, int]:
        if video.deleted:
            return "deleted", 0
        elapsed = now - video.started_mono
        if elapsed >= video.seconds:
            return video.scripted.outcome, 100 if video.scripted.outcome == "ready" else 0
        percent = min(99, int(100 * elapsed / video.seconds)) if video.seconds else 99
        return ("queued" if elapsed < _QUEUED_SHARE * video.seconds else "generating"), percent

    def _video_view(self, video: _Video, now: float, *, verbose: bool) -> dict[str, Any]:
        status, percent = self._video_status(video, now)
        ready = status == "ready" and not video.scripted.no_urls
        base = f"https://videos.tavus-emulator.invalid/{video.video_id}"
        view: dict[str, Any] = {
            "video_id": video.video_id,
            "video_name": video.video_name,
            "status": status,
            "data": {"script": video.script},
            "replica_id": video.replica_id,
            "generation_progress": f"{percent}/100",
            "hosted_url": f"https://videos.tavus-emulator.invalid/video/{video.video_id}" if ready else None,
            "stream_url": f"{base}/stream.m3u8" if ready else None,
            "download_url": f"{base}/high.mp4?download={video.video_id}" if ready else None,
            "status_details": self._details(video, status),
            "created_at": _iso(video.created_at),
            "updated_at": _iso(datetime.now(UTC)),
        }
        if status == "error":
            view["error_details"] = None
        if verbose:
            view["still_image_thumbnail_url"] = f"{base}/still.jpg" if ready else None
            view["gif_thumbnail_url"] = f"{base}/preview.gif" if ready else None
        return view

    @staticmethod
    def _details(video: _Video, status: str) -> str | None:
        if status == "error":
            return video.scripted.status_details or GENERIC_VIDEO_ERROR
        if status == "ready":
            return video.scripted.status_details or READY_DETAILS
        return None

    async def _create_video(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object")
        replica_id, script = body.get("replica_id"), body.get("script")
        if not isinstance(replica_id, str) or not replica_id:
            return _error(400, "replica_id is required")
        if not (isinstance(script, str) and script.strip()) and not body.get("audio_url"):
            return _error(400, "Either script or audio_url is required")
        if (problem := self._face_problem(replica_id)) is not None:
            return _error(400, problem)
        callback = body.get("callback_url")
        if callback is not None and not _is_url(callback):
            return _error(400, "callback_url must be an http(s) URL")
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else ScriptedVideo()
            video = _Video(
                video_id=secrets.token_hex(5),
                video_name=body.get("video_name") if isinstance(body.get("video_name"), str) else None,
                replica_id=replica_id,
                script=script if isinstance(script, str) else None,
                callback_url=callback or None,
                scripted=scripted,
                seconds=self.default_video_seconds if scripted.seconds is None else scripted.seconds,
                started_mono=time.monotonic(),
                created_at=datetime.now(UTC),
            )
            self._videos[video.video_id] = video
            view = self._video_view(video, time.monotonic(), verbose=False)
        if video.callback_url:
            self._spawn(self._video_callback(video))
        answer = {key: view[key] for key in ("video_id", "video_name", "status", "created_at")}
        answer["hosted_url"] = f"https://videos.tavus-emulator.invalid/video/{video.video_id}"
        return JSONResponse(answer)

    async def _video_callback(self, video: _Video) -> None:
        await asyncio.sleep(video.seconds + 0.01)
        with self._lock:
            if self._videos.get(video.video_id) is not video or video.deleted or not video.callback_url:
                return
            view = self._video_view(video, time.monotonic(), verbose=False)
            url = video.callback_url
        await self._send_callback(url, view)

    async def _get_video(self, request: Request, body: Any) -> Response:
        verbose = request.query_params.get("verbose", "").lower() == "true"
        with self._lock:
            video = self._videos.get(request.path_params["video_id"])
            if video is None or video.hard_deleted:
                return _error(404, "Video not found")
            return JSONResponse(self._video_view(video, time.monotonic(), verbose=verbose))

    async def _list_videos(self, request: Request, body: Any) -> Response:
        limit, page = _paging(request)
        now = time.monotonic()
        with self._lock:
            live = [v for v in reversed(self._videos.values()) if not v.hard_deleted]
            data = [self._video_view(v, now, verbose=True) for v in live[(page - 1) * limit : page * limit]]
        return JSONResponse({"data": data, "total_count": len(live)})

    async def _delete_video(self, request: Request, body: Any) -> Response:
        with self._lock:
            video = self._videos.get(request.path_params["video_id"])
            if video is None or video.hard_deleted:
                return _error(404, "Video not found")
            video.deleted = True
            video.hard_deleted = request.query_params.get("hard", "").lower() == "true"
        return JSONResponse({"message": "Video deleted"})

    # --- conversations ---------------------------------------------------------------------------------

    def _shutdown_reason(self, record: _Conversation, now: float) -> str | None:
        """Why it ended, or None while it is active (the timers are Tavus', counted from the create)."""
        if record.shutdown_reason is not None or self.overrun:
            return record.shutdown_reason
        elapsed = now - record.started_mono
        if elapsed >= record.limit("max_call_duration", MAX_CALL_DURATION):
            return "max_call_duration reached"
        nobody_came = not record.joined and record.left_mono is None
        if nobody_came and elapsed >= record.limit("participant_absent_timeout", 300):
            return "participant_absent_timeout reached"
        left = record.left_mono
        if left is not None and now - left >= record.limit("participant_left_timeout", 0):
            return "participant_left_timeout reached"
        return None

    def _settle(self, record: _Conversation, now: float) -> bool:
        """Record an end the clock brought (caller holds the lock); whether it ended just now."""
        if record.ended_at is not None:
            return False
        reason = self._shutdown_reason(record, now)
        if reason is None:
            return False
        record.shutdown_reason = reason
        record.ended_at = datetime.now(UTC)
        return True

    def _conversation_view(self, record: _Conversation, now: float) -> dict[str, Any]:
        ended = record.ended_at is not None or self._shutdown_reason(record, now) is not None
        return {
            "conversation_id": record.conversation_id,
            "conversation_name": record.conversation_name,
            "status": "ended" if ended else "active",
            "conversation_url": f"https://tavus.daily.co/{record.conversation_id}",
            "room_url": f"https://rooms.tavus-emulator.invalid/{record.conversation_id}",
            "callback_url": record.callback_url,
            "replica_id": record.replica_id,
            "persona_id": record.persona_id,
            "created_at": _iso(record.created_at),
            "updated_at": _iso(record.ended_at or record.created_at),
        }

    async def _create_conversation(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object")
        persona_id = body.get("persona_id") or body.get("pal_id")
        with self._lock:
            persona = self._pals.get(persona_id) if isinstance(persona_id, str) else None
        if persona_id is not None and persona is None:
            return _error(400, "Invalid persona_id")
        replica_id = body.get("replica_id") or body.get("face_id") or (persona or {}).get("default_face_id")
        if not isinstance(replica_id, str) or not replica_id:
            return _error(400, "replica_id is required when the persona has no default replica")
        if (problem := self._face_problem(replica_id)) is not None:
            return _error(400, problem)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict) or not all(isinstance(v, int) for v in properties.values()):
            return _error(400, "properties must be an object of whole numbers of seconds")
        if properties.get("max_call_duration", 0) > MAX_CALL_DURATION:
            return _error(400, f"max_call_duration must be at most {MAX_CALL_DURATION}")
        callback = body.get("callback_url")
        if callback is not None and not _is_url(callback):
            return _error(400, "callback_url must be an http(s) URL")
        now = time.monotonic()
        with self._lock:
            for other in self._conversations.values():
                self._settle(other, now)
            active = sum(1 for c in self._conversations.values() if c.ended_at is None)
            if self.max_concurrent_conversations is not None and active >= self.max_concurrent_conversations:
                return _error(400, TOO_MANY_CONVERSATIONS)
            record = _Conversation(
                conversation_id="c" + secrets.token_hex(6)[:11],
                conversation_name=body.get("conversation_name"),
                replica_id=replica_id,
                persona_id=persona_id if isinstance(persona_id, str) else None,
                callback_url=callback or None,
                properties=dict(properties),
                created_at=datetime.now(UTC),
                started_mono=now,
            )
            self._conversations[record.conversation_id] = record
            view = self._conversation_view(record, now)
        self._spawn(self._follow_conversation(record))
        return JSONResponse(view)

    async def _follow_conversation(self, record: _Conversation) -> None:
        """The face joins at once; the call's own timers end it, with a shutdown callback."""
        await self._event(record, "system.replica_joined")
        while True:
            with self._lock:
                if self._conversations.get(record.conversation_id) is not record:
                    return
                now = time.monotonic()
                if record.ended_at is not None or self._settle(record, now):
                    break
                wake = self._next_deadline(record, now)
            await asyncio.sleep(max(0.01, min(wake, 1.0)))
        await self._event(record, "system.shutdown")

    def _next_deadline(self, record: _Conversation, now: float) -> float:
        elapsed = now - record.started_mono
        deadlines = [record.limit("max_call_duration", MAX_CALL_DURATION) - elapsed]
        if not record.joined and record.left_mono is None:
            deadlines.append(record.limit("participant_absent_timeout", 300) - elapsed)
        if record.left_mono is not None:
            deadlines.append(record.limit("participant_left_timeout", 0) - (now - record.left_mono))
        return min(deadlines) + 0.01

    async def _event(self, record: _Conversation, event_type: str) -> None:
        with self._lock:
            if event_type in record.events:
                return
            record.events.append(event_type)
            url = record.callback_url
            properties: dict[str, Any] = {"replica_id": record.replica_id}
            if event_type == "system.shutdown":
                properties["shutdown_reason"] = record.shutdown_reason
        if url:
            await self._send_callback(
                url,
                {
                    "properties": properties,
                    "conversation_id": record.conversation_id,
                    "webhook_url": url,
                    "event_type": event_type,
                    "message_type": "system",
                    "timestamp": _iso(datetime.now(UTC)),
                },
            )

    async def _get_conversation(self, request: Request, body: Any) -> Response:
        with self._lock:
            record = self._conversations.get(request.path_params["conversation_id"])
            if record is None:
                return _error(404, "Conversation not found")
            return JSONResponse(self._conversation_view(record, time.monotonic()))

    async def _list_conversations(self, request: Request, body: Any) -> Response:
        limit, page = _paging(request)
        wanted = request.query_params.get("status")
        now = time.monotonic()
        with self._lock:
            views = [self._conversation_view(c, now) for c in reversed(self._conversations.values())]
        if wanted:
            views = [v for v in views if v["status"] == wanted]
        return JSONResponse({"data": views[(page - 1) * limit : page * limit], "total_count": len(views)})

    async def _end_conversation(self, request: Request, body: Any) -> Response:
        with self._lock:
            record = self._conversations.get(request.path_params["conversation_id"])
            if record is None:
                return _error(400, "Invalid conversation_id", key="error")
            ended_now = not self._settle(record, time.monotonic()) and record.ended_at is None
            if ended_now:
                record.shutdown_reason = "end_conversation_endpoint_hit"
                record.ended_at = datetime.now(UTC)
        if ended_now:
            self._spawn(self._event(record, "system.shutdown"))
        return Response(status_code=200)

    # --- PALs ------------------------------------------------------------------------------------------

    async def _create_pal(self, request: Request, body: Any, *, legacy: bool = False) -> Response:
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object")
        if legacy:
            face_field, name_field, id_field = "default_replica_id", "persona_name", "persona_id"
        else:
            face_field, name_field, id_field = "default_face_id", "pal_name", "pal_id"
        face_id = body.get(face_field)
        if not legacy and not face_id:
            return _error(400, "default_face_id is required")
        if face_id is not None and self._face_problem(str(face_id)) is not None:
            return _error(400, f"Invalid {face_field}")
        if body.get("pipeline_mode", "full") != "echo" and not body.get("system_prompt"):
            return _error(400, "system_prompt is required")
        pal_id = "p" + secrets.token_hex(6)[:11]
        pal = {
            "pal_id": pal_id,
            "pal_name": body.get(name_field),
            "system_prompt": body.get("system_prompt"),
            "default_face_id": face_id,
            "created_via": "/v2/personas" if legacy else "/v2/pals",
            "created_at": _iso(datetime.now(UTC)),
        }
        with self._lock:
            self._pals[pal_id] = pal
        return JSONResponse({id_field: pal_id, name_field: pal["pal_name"], "created_at": pal["created_at"]})

    async def _create_persona(self, request: Request, body: Any) -> Response:
        return await self._create_pal(request, body, legacy=True)

    async def _delete_pal(self, request: Request, body: Any) -> Response:
        # One store behind both paths, as the alias is one product: 204 as documented, 400 for an unknown id
        # (the documented refusal; Tavus says the same of an unknown persona in a conversation).
        pal_id = request.path_params.get("pal_id") or request.path_params.get("persona_id")
        with self._lock:
            if self._pals.pop(str(pal_id), None) is None:
                return _error(400, "Invalid persona_id")
        return Response(status_code=204)

    def _face_problem(self, face_id: str) -> str | None:
        state = self._face_state(face_id)
        if state is None:
            return "Invalid replica_id"
        if state not in ("completed", "ready"):
            return "The replica is not ready yet"
        return None

    def routes(self) -> list[tuple[str, str, Handler]]:
        """The /v2 routes (served through the face emulator's gate)."""
        return [
            ("/v2/videos", "POST", self._create_video),
            ("/v2/videos", "GET", self._list_videos),
            ("/v2/videos/{video_id}", "GET", self._get_video),
            ("/v2/videos/{video_id}", "DELETE", self._delete_video),
            ("/v2/conversations", "POST", self._create_conversation),
            ("/v2/conversations", "GET", self._list_conversations),
            ("/v2/conversations/{conversation_id}", "GET", self._get_conversation),
            ("/v2/conversations/{conversation_id}/end", "POST", self._end_conversation),
            ("/v2/pals", "POST", self._create_pal),
            ("/v2/personas", "POST", self._create_persona),
            ("/v2/pals/{pal_id}", "DELETE", self._delete_pal),
            ("/v2/personas/{persona_id}", "DELETE", self._delete_pal),
        ]

    # --- HTTP control surface ---------------------------------------------------------------------------

    async def ctl_script_video(self, request: Request) -> Response:
        try:
            self.script_video(**(await request.json() or {}))
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return JSONResponse({"ok": True})

    async def ctl_videos(self, request: Request) -> Response:
        return JSONResponse(self.videos())

    async def ctl_conversations(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = await request.json() or {}
                self.limit_conversations(data.get("max_concurrent"))
            except (ValueError, TypeError) as exc:
                return _error(400, str(exc))
        return JSONResponse(self.conversations())


def _paging(request: Request) -> tuple[int, int]:
    try:
        limit = max(1, int(request.query_params.get("limit", "10")))
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 10, 1
    return limit, page


def _is_url(value: object) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")
