"""A local emulator of the Tavus replica API, for tests and the demo (videos, conversations and PALs of a
finished face are in `bot.sandbox.tavus_jobs`).

It speaks the documented endpoints (shared/reference/tavus-api.md) under both names, ``/v2/faces`` and the
legacy ``/v2/replicas`` (each answering in its own names; ``faces_missing`` makes ``/v2/faces`` answer 404
like an older account), and behaves like the real service where the bot cares: it downloads the training
image itself, training takes time and reports progress, it ends in ``completed`` or ``error`` with a
message, phoenix-4.5 answers ``completed`` for a preview and then tunes (``finetune_status``), and it POSTs
callbacks in the shape of the family the face was created with. A ``/_emulator`` control surface (also
callable in-process) scripts outcomes, injects faults and shows what happened. ``api_routes`` is the route
table; other modules add endpoints through ``extra_routes``.

Replica state is computed lazily from the clock on every read, so no loop ticks over 10,000 replicas;
the only background work per replica is the download and the end-of-training callback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from http import HTTPStatus
from typing import Any, Literal, get_args

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.image_validation import IMAGE_VALIDATION_SUFFIX, ValidationEmulator
from bot.sandbox.tavus_families import (
    FACES,
    FAMILIES,
    FINETUNE_IN_PROGRESS,
    NO_IMAGE_TRAINING,
    PREVIEW_MODELS,
    REPLICAS,
    Family,
    FamilyName,
)
from bot.sandbox.tavus_jobs import JobsEmulator
from bot.sandbox.tavus_video_errors import scripted_video_error
from bot.sandbox.threaded_server import ThreadedServer

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "phoenix-4"
DEFAULT_ERROR_MESSAGE = "There was an error processing your training file. Please try again."
THUMBNAIL_URL = "https://thumbnails.tavus-emulator.invalid/{replica_id}.mp4"
_DOWNLOAD_TIMEOUT = httpx.Timeout(10.0)
_CALLBACK_TIMEOUT = httpx.Timeout(5.0)
_MAX_IMAGE_BYTES = 50 * 1024 * 1024
# Bounds outgoing downloads so a burst of creates queues here instead of failing with PoolTimeout.
_MAX_CONCURRENT_DOWNLOADS = 64
_MAX_LOG_ENTRIES = 200_000
_JSON_METHODS = frozenset({"POST", "PATCH", "PUT"})

Outcome = Literal["completed", "error"]
Finetune = Literal["completed", "errored"]
ApiHandler = Callable[[Request, Any], Awaitable[Response]]
# (path, method, handler): one row of the /v2 route table.
ApiRoute = tuple[str, str, ApiHandler]
DEFAULT_TUNING_SECONDS = 10.0


@dataclass
class ScriptedOutcome:
    outcome: Outcome
    error_message: str | None = None
    training_seconds: float | None = None
    stall_at_percent: int | None = None
    match_name: str | None = None
    # phoenix-4.5 only: after the preview (`training_seconds`), tuning runs `tuning_seconds` and ends so.
    finetune: Finetune = "completed"
    tuning_seconds: float | None = None
    # The callback's shape; by default that of the family the face was created with.
    callback_shape: FamilyName | None = None

    def __post_init__(self) -> None:
        if self.outcome not in get_args(Outcome):
            raise ValueError(f"outcome must be one of {get_args(Outcome)}")
        if self.finetune not in get_args(Finetune):
            raise ValueError(f"finetune must be one of {get_args(Finetune)}")
        if self.tuning_seconds is not None and self.tuning_seconds < 0:
            raise ValueError("tuning_seconds must not be negative")
        if self.callback_shape is not None and self.callback_shape not in FAMILIES:
            raise ValueError(f"callback_shape must be one of {sorted(FAMILIES)}")
        if self.training_seconds is not None and self.training_seconds < 0:
            raise ValueError("training_seconds must not be negative")
        if self.stall_at_percent is not None and not 0 <= self.stall_at_percent <= 99:
            raise ValueError("stall_at_percent must be between 0 and 99")


@dataclass
class _Fault:
    method: str
    path_prefix: str
    status: int
    remaining: int
    retry_after: float | None
    delay_seconds: float


@dataclass(slots=True)
class _State:
    """What a replica looks like at one moment; ``since`` is when it last changed."""

    status: str
    training_progress: str | None
    error_message: str | None
    thumbnail_video_url: str | None
    since: datetime
    finetune_status: str | None = None


@dataclass(slots=True)
class _Replica:
    replica_id: str
    replica_name: str | None
    model_name: str
    voice_name: str | None
    train_image_url: str | None
    train_video_url: str | None
    consent_video_url: str | None
    callback_url: str | None
    outcome: Outcome
    scripted_error: str | None
    training_seconds: float
    stall_at_percent: int | None
    created_at: datetime
    touched_at: datetime
    training_started_mono: float | None = None
    training_started_at: datetime | None = None
    # Once set (download failure or set_replica), the clock no longer drives this replica.
    pinned: _State | None = None
    deleted_at: datetime | None = None
    hard_deleted: bool = False
    image_bytes: bytes | None = None
    video_size: int | None = None
    video_sha256: str | None = None
    auto_callback_sent: bool = False
    family: FamilyName = "replicas"
    callback_shape: FamilyName = "replicas"
    finetune: Finetune = "completed"
    tuning_seconds: float = DEFAULT_TUNING_SECONDS
    tuning_callback_sent: bool = False
    # Fields the create carried that its path ignores (consent_video_url on /v2/faces).
    ignored_fields: tuple[str, ...] = ()

    @property
    def two_stages(self) -> bool:
        return self.model_name in PREVIEW_MODELS


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class TavusEmulator:
    """All emulator state, guarded by one lock so tests may poke it from their own thread."""

    def __init__(
        self,
        *,
        api_key: str = "test-tavus-key",
        default_training_seconds: float = 5.0,
        latency_ms: float = 0,
        faces_missing: bool = False,
        default_tuning_seconds: float = DEFAULT_TUNING_SECONDS,
        extra_routes: tuple[ApiRoute, ...] = (),
    ) -> None:
        self._api_key = api_key.encode()
        self._initial_config = (default_training_seconds, latency_ms, faces_missing, default_tuning_seconds)
        self.default_training_seconds = default_training_seconds
        self.latency_ms = latency_ms
        # An older account (or a proxy): /v2/faces answers 404 as a path that does not exist.
        self.faces_missing = faces_missing
        self.default_tuning_seconds = default_tuning_seconds
        self._extra_routes = extra_routes
        self._lock = threading.Lock()
        self._replicas: dict[str, _Replica] = {}
        # Live (not deleted) replicas in creation order, so listing newest-first is a reversed walk.
        self._live: dict[str, _Replica] = {}
        self._outcomes: deque[ScriptedOutcome] = deque()
        self._faults: list[_Fault] = []
        self._delays: list[tuple[str, str, float]] = []
        self._calls: deque[dict[str, Any]] = deque(maxlen=_MAX_LOG_ENTRIES)
        self._callbacks: deque[dict[str, Any]] = deque(maxlen=_MAX_LOG_ENTRIES)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._download_slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.validation = ValidationEmulator()
        # What Tavus does with a finished face: videos, conversations, PALs.
        self.jobs = JobsEmulator(
            spawn=self._spawn_threadsafe, send_callback=self._send_callback, face_state=self._face_state
        )
        self.app = self._build_app()

    # --- in-process control surface ---------------------------------------------------------------

    def script(self, outcome: ScriptedOutcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)

    def inject_fault(
        self,
        *,
        method: str,
        path_prefix: str,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        delay_seconds: float = 0,
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        if not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        fault = _Fault(method.upper(), path_prefix, status, count, retry_after, max(0.0, delay_seconds))
        with self._lock:
            self._faults.append(fault)

    def delay_response(self, *, method: str, path_prefix: str, seconds: float, count: int = 1) -> None:
        """Carry out the next matching calls as usual (a create creates), then wait before answering: the
        window in which a client crash leaves a replica it never heard about."""
        with self._lock:
            self._delays.extend([(method.upper(), path_prefix, seconds)] * count)

    def delays_left(self) -> int:
        """Delays not yet taken: one is taken when its call has been carried out and its answer is held."""
        with self._lock:
            return len(self._delays)

    def _take_delay(self, method: str, path: str) -> float:
        with self._lock:
            for index, (m, prefix, seconds) in enumerate(self._delays):
                if m == method and _aimed_at(prefix, path):
                    del self._delays[index]
                    return seconds
        return 0.0

    def set_replica(
        self,
        replica_id: str,
        *,
        status: str | None = None,
        training_progress: str | None = None,
        error_message: str | None = None,
        send_callback: bool = False,
        finetune_status: str | None = None,
        callback_shape: FamilyName | None = None,
    ) -> None:
        """Force a replica's visible state; afterwards the training clock no longer changes it.
        `callback_shape` overrides the shape of the callback sent (default: the family it was made with)."""
        if callback_shape is not None and callback_shape not in FAMILIES:
            raise ValueError(f"callback_shape must be one of {sorted(FAMILIES)}")
        with self._lock:
            record = self._live.get(replica_id)
            if record is None:
                raise KeyError(replica_id)
            if send_callback and not record.callback_url:
                raise ValueError(f"replica {replica_id} was created without a callback_url")
            now = datetime.now(UTC)
            current = self._state(record, time.monotonic())
            pinned = _State(
                current.status,
                current.training_progress,
                current.error_message,
                current.thumbnail_video_url,
                now,
                current.finetune_status,
            )
            if status is not None:
                pinned.status = status
                if status != "error" and error_message is None:
                    pinned.error_message = None
                if status in ("completed", "ready"):
                    pinned.thumbnail_video_url = THUMBNAIL_URL.format(replica_id=replica_id)
                    pinned.training_progress = "100/100"
            if training_progress is not None:
                pinned.training_progress = training_progress
            if error_message is not None:
                pinned.error_message = error_message
            if finetune_status is not None:
                pinned.finetune_status = finetune_status
            record.pinned = pinned
            body = self._callback_body(record, pinned, shape=callback_shape)
            callback = (record.callback_url, body) if send_callback else None
        if callback is not None and callback[0]:
            self._spawn_threadsafe(self._send_callback(callback[0], callback[1]))

    def configure(
        self,
        *,
        latency_ms: float | None = None,
        default_training_seconds: float | None = None,
        faces_missing: bool | None = None,
        default_tuning_seconds: float | None = None,
    ) -> None:
        with self._lock:
            if latency_ms is not None:
                self.latency_ms = max(0.0, latency_ms)
            if default_training_seconds is not None:
                self.default_training_seconds = max(0.0, default_training_seconds)
            if faces_missing is not None:
                self.faces_missing = bool(faces_missing)
            if default_tuning_seconds is not None:
                self.default_tuning_seconds = max(0.0, default_tuning_seconds)

    def last_call_time(self) -> float | None:
        """When the latest /v2 call was answered (epoch seconds), or None before the first."""
        with self._lock:
            return max((call["time"] for call in self._calls), default=None)

    def calls(self) -> list[dict[str, Any]]:
        """/v2 calls in arrival order: method, path, query, json, status, time (epoch seconds, on arrival).

        An entry is written when the call is answered, so a slow (delayed) call can appear after later ones.
        """
        with self._lock:
            return [dict(call) for call in self._calls]

    def replicas(self) -> list[dict[str, Any]]:
        """Every replica ever created (deleted ones too), oldest first, with emulator internals."""
        now = time.monotonic()
        with self._lock:
            return [self._internal_view(record, now) for record in self._replicas.values()]

    def _face_state(self, replica_id: str) -> str | None:
        """What a live face's status is now, under either name's id (None: no such face)."""
        with self._lock:
            record = self._live.get(replica_id)
            return None if record is None else self._state(record, time.monotonic()).status

    def training_image(self, replica_id: str) -> bytes | None:
        with self._lock:
            record = self._replicas.get(replica_id)
            return record.image_bytes if record else None

    def callbacks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._callbacks]

    def reset(self) -> None:
        """Forget everything, including latency and training-time changes made after construction."""
        with self._lock:
            self._replicas.clear()
            self._live.clear()
            self._outcomes.clear()
            self._faults.clear()
            self._delays.clear()
            self._calls.clear()
            self._callbacks.clear()
            (
                self.default_training_seconds,
                self.latency_ms,
                self.faces_missing,
                self.default_tuning_seconds,
            ) = self._initial_config
        self.validation.reset()
        self.jobs.reset()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel_tasks)

    # --- state computation ------------------------------------------------------------------------

    def _state(self, record: _Replica, now_mono: float) -> _State:
        if record.pinned is not None:
            return record.pinned
        if record.training_started_mono is None or record.training_started_at is None:
            return _State("started", "0/100", None, None, record.created_at)
        elapsed = now_mono - record.training_started_mono
        duration = record.training_seconds
        ceiling = 99 if record.stall_at_percent is None else min(99, record.stall_at_percent)
        if elapsed >= duration:
            ended = record.training_started_at + timedelta(seconds=duration)
            if record.outcome == "completed" and record.two_stages:
                return self._tuning_state(record, elapsed - duration, ended)
            if record.outcome == "completed":
                thumbnail = THUMBNAIL_URL.format(replica_id=record.replica_id)
                return _State("completed", "100/100", None, thumbnail, ended)
            message = record.scripted_error or DEFAULT_ERROR_MESSAGE
            return _State("error", f"{ceiling}/100", message, None, ended)
        percent = min(ceiling, int(99 * elapsed / duration))
        since = record.training_started_at + timedelta(seconds=percent * duration / 99)
        return _State("started", f"{percent}/100", None, None, since)

    @staticmethod
    def _tuning_state(record: _Replica, since_preview: float, preview_at: datetime) -> _State:
        """phoenix-4.5 after its preview: usable (`completed`), tuning counted in training_progress."""
        thumbnail = THUMBNAIL_URL.format(replica_id=record.replica_id)
        tuning = record.tuning_seconds
        if since_preview >= tuning:
            ended = preview_at + timedelta(seconds=tuning)
            progress = "100/100" if record.finetune == "completed" else None
            return _State("completed", progress, None, thumbnail, ended, record.finetune)
        percent = min(99, int(99 * since_preview / tuning)) if tuning else 99
        since = preview_at + timedelta(seconds=percent * tuning / 99)
        return _State("completed", f"{percent}/100", None, thumbnail, since, FINETUNE_IN_PROGRESS)

    def _public_view(self, record: _Replica, now_mono: float, *, verbose: bool = False) -> dict[str, Any]:
        state = self._state(record, now_mono)
        view: dict[str, Any] = {
            "replica_id": record.replica_id,
            "replica_name": record.replica_name,
            "thumbnail_video_url": state.thumbnail_video_url,
            "training_progress": state.training_progress,
            "status": state.status,
            "created_at": _iso(record.created_at),
            "updated_at": _iso(max(state.since, record.touched_at)),
            "error_message": state.error_message,
            "model_name": record.model_name,
        }
        if record.two_stages or state.finetune_status is not None:
            view["finetune_status"] = state.finetune_status
        if verbose:
            view["replica_type"] = "user"
        return view

    def _internal_view(self, record: _Replica, now_mono: float) -> dict[str, Any]:
        view = self._public_view(record, now_mono)
        view.update(
            voice_name=record.voice_name,
            train_image_url=record.train_image_url,
            train_video_url=record.train_video_url,
            consent_video_url=record.consent_video_url,
            callback_url=record.callback_url,
            scripted_outcome=record.outcome,
            scripted_error_message=record.scripted_error,
            training_seconds=record.training_seconds,
            stall_at_percent=record.stall_at_percent,
            pinned=record.pinned is not None,
            training_image_size=None if record.image_bytes is None else len(record.image_bytes),
            training_video_size=record.video_size,
            training_video_sha256=record.video_sha256,
            deleted_at=_iso(record.deleted_at),
            hard_deleted=record.hard_deleted,
            family=record.family,
            ignored_fields=list(record.ignored_fields),
            finetune_outcome=record.finetune,
            tuning_seconds=record.tuning_seconds,
        )
        return view

    @staticmethod
    def _callback_body(record: _Replica, state: _State, *, shape: FamilyName | None = None) -> dict[str, Any]:
        family = FAMILIES[shape or record.callback_shape]
        extra: dict[str, Any] = {}
        if state.status == "error":
            extra["error_message"] = state.error_message
        if record.two_stages or state.finetune_status is not None:
            extra["finetune_status"] = state.finetune_status
        status = "completed" if state.status in ("completed", "ready") else state.status
        return family.callback(record.replica_id, status, **extra)

    def _take_outcome(self, replica_name: str | None) -> ScriptedOutcome | None:
        # Caller holds the lock. Named outcomes win so a test can target one replica among many.
        if replica_name is not None:
            for index, outcome in enumerate(self._outcomes):
                if outcome.match_name == replica_name:
                    del self._outcomes[index]
                    return outcome
        for index, outcome in enumerate(self._outcomes):
            if outcome.match_name is None:
                del self._outcomes[index]
                return outcome
        return None

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in ("*", method) and _aimed_at(fault.path_prefix, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _new_replica_id(self) -> str:
        while True:
            candidate = "r" + secrets.token_hex(6)[:11]
            if candidate not in self._replicas:
                return candidate

    # --- background work --------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            self._http = httpx.AsyncClient(follow_redirects=True, timeout=_DOWNLOAD_TIMEOUT)
            self._http_loop = loop
            self._download_slots = asyncio.Semaphore(_MAX_CONCURRENT_DOWNLOADS)
        return self._http

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        # The loop only keeps weak references to tasks; without this set they could be collected mid-run.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn_threadsafe(self, coro: Coroutine[Any, Any, None]) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is loop:
            self._spawn(coro)
        elif loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self._spawn, coro)
        else:
            # Not being served (or the server stopped): deliver from a throwaway thread instead.
            threading.Thread(target=asyncio.run, args=(coro,), daemon=True).start()

    def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _live_record(self, replica_id: str, record: _Replica) -> bool:
        # Caller holds the lock; identity (not id) so a reset mid-download cannot touch a new replica.
        return self._live.get(replica_id) is record

    async def _download(self, url: str, *, keep_bytes: bool) -> tuple[bytes | None, int, str, str | None]:
        """Fetch like Tavus does; returns (bytes if kept, size, sha256, failure reason)."""
        client = self._client()
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        size = 0
        assert self._download_slots is not None
        try:
            async with self._download_slots, client.stream("GET", url) as response:
                if response.status_code >= 400:
                    return None, 0, "", f"HTTP {response.status_code}"
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    digest.update(chunk)
                    if keep_bytes:
                        if size > _MAX_IMAGE_BYTES:
                            return None, size, "", "file too large"
                        chunks.append(chunk)
        except httpx.TimeoutException:
            return None, size, "", "timed out"
        except (httpx.HTTPError, ValueError) as exc:
            return None, size, "", type(exc).__name__
        if size == 0:
            return None, 0, "", "empty file"
        return (b"".join(chunks) if keep_bytes else None), size, digest.hexdigest(), None

    async def _train(self, record: _Replica) -> None:
        is_image = record.train_image_url is not None
        url = record.train_image_url if is_image else record.train_video_url
        assert url is not None
        data, size, sha256, failure = await self._download(url, keep_bytes=is_image)
        callback: tuple[str, dict[str, Any]] | None = None
        with self._lock:
            if not self._live_record(record.replica_id, record):
                return
            now = datetime.now(UTC)
            if failure is not None:
                kind = "image" if is_image else "video"
                message = f"Could not download the training {kind} ({failure})"
                if record.pinned is None:
                    record.pinned = _State("error", "0/100", message, None, now)
                    if record.callback_url:
                        record.auto_callback_sent = True
                        callback = (record.callback_url, self._callback_body(record, record.pinned))
            else:
                if is_image:
                    record.image_bytes = data
                else:
                    record.video_size, record.video_sha256 = size, sha256
                record.training_started_mono = time.monotonic()
                record.training_started_at = now
        if failure is not None:
            if callback is not None:
                await self._send_callback(*callback)
            return
        await self._callback_when_done(record)

    async def _callback_when_done(self, record: _Replica) -> None:
        while True:
            with self._lock:
                if not self._live_record(record.replica_id, record) or record.pinned is not None:
                    return
                if not record.callback_url:
                    return
                tuning = record.two_stages and record.outcome == "completed"
                if record.auto_callback_sent and (not tuning or record.tuning_callback_sent):
                    return
                assert record.training_started_mono is not None
                due = record.training_started_mono + record.training_seconds
                if record.auto_callback_sent:
                    due += record.tuning_seconds  # the second callback: tuning ended
                remaining: float | None = due - time.monotonic()
                if remaining is not None and remaining <= 0:
                    if record.auto_callback_sent:
                        record.tuning_callback_sent = True
                    record.auto_callback_sent = True
                    url = record.callback_url
                    body = self._callback_body(record, self._state(record, time.monotonic()))
                    remaining = None
            if remaining is not None:
                # Re-check after sleeping: set_replica, delete or reset may have taken over meanwhile.
                await asyncio.sleep(remaining + 0.005)
                continue
            await self._send_callback(url, body)

    async def _send_callback(self, url: str, body: dict[str, Any]) -> None:
        entry: dict[str, Any] = {"url": url, "body": body, "status": None, "error": None, "time": time.time()}
        try:
            async with httpx.AsyncClient(timeout=_CALLBACK_TIMEOUT) as client:
                response = await client.post(url, json=body)
            entry["status"] = response.status_code
        except httpx.HTTPError as exc:
            # Tavus does not retry or report failed callbacks to the caller; the bot must poll anyway.
            entry["error"] = type(exc).__name__
        with self._lock:
            self._callbacks.append(entry)

    # --- HTTP: the /v2 API -----------------------------------------------------------------------

    def _api(
        self, handler: Callable[[Request, Any], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            arrived = time.time()
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            body: Any = None
            if request.method in _JSON_METHODS:
                raw = await request.body()
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
            response = await self._answer(request, handler, body)
            with self._lock:
                self._calls.append(
                    {
                        "method": request.method,
                        "path": request.url.path,
                        "query": dict(request.query_params),
                        "json": body,
                        "status": response.status_code,
                        "time": arrived,
                    }
                )
            return response

        return endpoint

    async def _answer(
        self, request: Request, handler: Callable[[Request, Any], Awaitable[Response]], body: Any
    ) -> Response:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)
        fault = self._take_fault(request.method, request.url.path)
        if fault is not None:
            if fault.delay_seconds > 0:
                await asyncio.sleep(fault.delay_seconds)
            headers = (
                {"Retry-After": _format_seconds(fault.retry_after)} if fault.retry_after is not None else None
            )
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Injected fault"
            return _error(fault.status, phrase, headers)
        if self.faces_missing and request.url.path.startswith(FACES.prefix):
            # What a proxy or an older account says about a path it does not have: no Tavus JSON.
            return Response("404 page not found", status_code=404, media_type="text/plain")
        supplied = request.headers.get("x-api-key", "").encode()
        if not hmac.compare_digest(supplied, self._api_key):
            return _error(401, "Invalid access token")
        response = await handler(request, body)
        if delay := self._take_delay(request.method, request.url.path):
            await asyncio.sleep(delay)
        return response

    async def _create(self, request: Request, body: Any, family: Family = REPLICAS) -> Response:
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object")
        text_fields = (
            family.name_field,
            "train_image_url",
            "train_video_url",
            "consent_video_url",
            "voice_name",
            "callback_url",
            "model_name",
        )
        for name in text_fields:
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                return _error(400, f"{name} must be a string")
        image, video = body.get("train_image_url") or None, body.get("train_video_url") or None
        if image and video:
            return _error(400, "Provide either train_image_url or train_video_url, not both")
        if not image and not video:
            return _error(400, "Either train_image_url or train_video_url is required")
        for name, url in (
            ("train_image_url", image),
            ("train_video_url", video),
            ("callback_url", body.get("callback_url")),
        ):
            if url and not url.startswith(("http://", "https://")):
                return _error(400, f"{name} must be an http(s) URL")
        if image and not body.get("voice_name"):
            return _error(400, "voice_name is required when training from an image")
        model = body.get("model_name") or DEFAULT_MODEL_NAME
        if image and model in NO_IMAGE_TRAINING:
            return _error(400, f"{model} does not support training from an image")
        ignored = tuple(name for name in family.ignored if body.get(name) is not None)
        face_name = body.get(family.name_field)
        if problem := self.validation.create_error(body):
            return _error(400, problem)
        now = datetime.now(UTC)
        with self._lock:
            scripted = self.validation.fix(body, self._take_outcome(face_name))
            if scripted is None and (video_error := scripted_video_error(video)) is not None:
                # A `tavus_error=<key>` marker in the video link fails it with that documented text.
                scripted = ScriptedOutcome("error", error_message=video_error)
            seconds = self.default_training_seconds
            if scripted is not None and scripted.training_seconds is not None:
                seconds = scripted.training_seconds
            tuning = self.default_tuning_seconds
            if scripted is not None and scripted.tuning_seconds is not None:
                tuning = scripted.tuning_seconds
            record = _Replica(
                replica_id=self._new_replica_id(),
                replica_name=face_name,
                model_name=model,
                voice_name=body.get("voice_name"),
                train_image_url=image,
                train_video_url=video,
                # Deprecated on /v2/faces: accepted there and not acted on, as the docs advise.
                consent_video_url=None if "consent_video_url" in ignored else body.get("consent_video_url"),
                callback_url=body.get("callback_url") or None,
                outcome=scripted.outcome if scripted else "completed",
                scripted_error=scripted.error_message if scripted else None,
                training_seconds=seconds,
                stall_at_percent=scripted.stall_at_percent if scripted else None,
                created_at=now,
                touched_at=now,
                family=family.name,
                callback_shape=(scripted.callback_shape if scripted else None) or family.name,
                finetune=scripted.finetune if scripted else "completed",
                tuning_seconds=tuning,
                ignored_fields=ignored,
            )
            self._replicas[record.replica_id] = record
            self._live[record.replica_id] = record
        self._spawn(self._train(record))
        return JSONResponse({family.id_field: record.replica_id, "status": "started"})

    async def _get(self, request: Request, body: Any, family: Family = REPLICAS) -> Response:
        verbose = request.query_params.get("verbose", "").lower() == "true"
        with self._lock:
            record = self._live.get(request.path_params["replica_id"])
            if record is None:
                return _error(404, family.not_found)
            return JSONResponse(family.rename(self._public_view(record, time.monotonic(), verbose=verbose)))

    async def _list(self, request: Request, body: Any, family: Family = REPLICAS) -> Response:
        try:
            limit = int(request.query_params.get("limit", "10"))
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            return _error(400, "limit and page must be integers")
        if limit < 1 or page < 1:
            return _error(400, "limit and page must be at least 1")
        now = time.monotonic()
        with self._lock:
            start = (page - 1) * limit
            records = itertools.islice(reversed(self._live.values()), start, start + limit)
            data = [family.rename(self._public_view(record, now)) for record in records]
            total = len(self._live)
        return JSONResponse({"data": data, "total_count": total})

    async def _delete(self, request: Request, body: Any, family: Family = REPLICAS) -> Response:
        hard = request.query_params.get("hard", "").lower() == "true"
        with self._lock:
            record = self._live.pop(request.path_params["replica_id"], None)
            if record is None:
                return _error(404, family.not_found)
            record.deleted_at = datetime.now(UTC)
            record.hard_deleted = hard
            if hard:
                record.image_bytes = None
        return JSONResponse({"message": f"{family.not_found.split()[0]} deleted"})

    async def _rename(self, request: Request, body: Any, family: Family = REPLICAS) -> Response:
        # /v2/faces/{id} takes a JSON Merge Patch of the face; /v2/replicas/{id}/name just the name.
        name = body.get(family.name_field) if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            return _error(400, f"{family.name_field} is required")
        with self._lock:
            record = self._live.get(request.path_params["replica_id"])
            if record is None:
                return _error(404, family.not_found)
            record.replica_name = name
            record.touched_at = datetime.now(UTC)
        return JSONResponse({"message": "Replica name updated"})

    # --- HTTP: the control surface ----------------------------------------------------------------

    async def _ctl_outcomes(self, request: Request) -> Response:
        try:
            data = await request.json()
            self.script(ScriptedOutcome(**data))
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return JSONResponse({"ok": True})

    async def _ctl_faults(self, request: Request) -> Response:
        try:
            data = await request.json()
            self.inject_fault(**data)
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return JSONResponse({"ok": True})

    async def _ctl_set_replica(self, request: Request) -> Response:
        try:
            data = await request.json()
            self.set_replica(request.path_params["replica_id"], **(data or {}))
        except KeyError:
            return _error(404, "Replica not found")
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return JSONResponse({"ok": True})

    async def _ctl_calls(self, request: Request) -> Response:
        return JSONResponse(self.calls())

    async def _ctl_replicas(self, request: Request) -> Response:
        return JSONResponse(self.replicas())

    async def _ctl_training_image(self, request: Request) -> Response:
        data = self.training_image(request.path_params["replica_id"])
        if data is None:
            return _error(404, "No training image stored for this replica")
        return Response(data, media_type="application/octet-stream")

    async def _ctl_callbacks(self, request: Request) -> Response:
        return JSONResponse(self.callbacks())

    async def _ctl_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _ctl_config(self, request: Request) -> Response:
        try:
            data = await request.json()
            self.configure(**(data or {}))
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return JSONResponse(
            {"latency_ms": self.latency_ms, "default_training_seconds": self.default_training_seconds}
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            self._cancel_tasks()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._http is not None and self._http_loop is self._loop:
                await self._http.aclose()
            self._http = None
            self._loop = None

    def api_routes(self) -> list[ApiRoute]:
        """The /v2 route table: both families, then whatever `extra_routes` adds. Every row is served
        through `_api` (latency, faults, the missing-faces switch, the key check, the call log)."""
        routes: list[ApiRoute] = []
        for family in (FACES, REPLICAS):
            item = f"{family.prefix}/{{replica_id}}"
            rename = item if family is FACES else f"{item}/name"
            routes += [
                (family.prefix, "POST", partial(self._create, family=family)),
                (family.prefix, "GET", partial(self._list, family=family)),
                (item, "GET", partial(self._get, family=family)),
                (item, "DELETE", partial(self._delete, family=family)),
                (rename, "PATCH", partial(self._rename, family=family)),
            ]
        # Extra routes first, so a fixed path (…/image-validation) wins over the {replica_id} pattern.
        return [*self._extra_routes, *self.jobs.routes(), *routes]

    def _build_app(self) -> Starlette:
        routes = [
            # The image check first: its fixed paths would otherwise fall under /v2/faces/{replica_id}.
            *self.validation.routes(self._api),
            *(Route(path, self._api(handler), methods=[verb]) for path, verb, handler in self.api_routes()),
            Route("/_emulator/outcomes", self._ctl_outcomes, methods=["POST"]),
            Route("/_emulator/faults", self._ctl_faults, methods=["POST"]),
            Route("/_emulator/replicas", self._ctl_replicas, methods=["GET"]),
            Route("/_emulator/replicas/{replica_id}", self._ctl_set_replica, methods=["POST"]),
            Route(
                "/_emulator/replicas/{replica_id}/training_image", self._ctl_training_image, methods=["GET"]
            ),
            Route("/_emulator/calls", self._ctl_calls, methods=["GET"]),
            Route("/_emulator/callbacks", self._ctl_callbacks, methods=["GET"]),
            Route("/_emulator/reset", self._ctl_reset, methods=["POST"]),
            Route("/_emulator/videos", self.jobs.ctl_videos, methods=["GET"]),
            Route("/_emulator/videos/script", self.jobs.ctl_script_video, methods=["POST"]),
            Route("/_emulator/conversations", self.jobs.ctl_conversations, methods=["GET", "POST"]),
            Route("/_emulator/config", self._ctl_config, methods=["POST"]),
        ]
        return Starlette(routes=routes, lifespan=self._lifespan)


def _aimed_at(prefix: str, path: str) -> bool:
    """Whether a fault or delay set for `prefix` applies to `path`. One set for the faces (`/v2/faces`) does
    not reach Tavus' image check below it, which has its own outage switch: a test that slows a create
    must not slow the check that precedes it instead."""
    if not path.startswith(prefix):
        return False
    return IMAGE_VALIDATION_SUFFIX in prefix or not path.endswith(IMAGE_VALIDATION_SUFFIX)


class EmulatorServer(ThreadedServer):
    """Serves an emulator with uvicorn on a daemon thread; ``port=0`` picks a free port."""

    def __init__(
        self, emulator: TavusEmulator | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.emulator = emulator if emulator is not None else TavusEmulator()
        # lifespan on: the emulator opens its download/callback client at startup.
        super().__init__(self.emulator.app, host=host, port=port, name="tavus-emulator", lifespan="on")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox.tavus_emulator", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--api-key",
        default=os.environ.get("TAVUS_API_KEY", "test-tavus-key"),
        help="key clients must send in x-api-key (default: $TAVUS_API_KEY or test-tavus-key)",
    )
    parser.add_argument("--training-seconds", type=float, default=5.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--tuning-seconds", type=float, default=DEFAULT_TUNING_SECONDS,
                        help="phoenix-4.5: how long tuning runs after the preview")
    parser.add_argument("--no-faces", action="store_true",
                        help="answer 404 on /v2/faces, like an older account (only /v2/replicas works)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    emulator = TavusEmulator(
        api_key=args.api_key,
        default_training_seconds=args.training_seconds,
        latency_ms=args.latency_ms,
        faces_missing=args.no_faces,
        default_tuning_seconds=args.tuning_seconds,
    )
    logger.info(
        "Tavus emulator on http://%s:%d (training takes %gs)", args.host, args.port, args.training_seconds
    )
    uvicorn.run(emulator.app, host=args.host, port=args.port, log_level="warning", ws="none")


if __name__ == "__main__":
    main()
