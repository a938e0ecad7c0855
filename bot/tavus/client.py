"""A small typed client for the Tavus face (replica) API (see shared/reference/tavus-api.md).

It speaks `/v2/faces` and falls back to the legacy `/v2/replicas` paths where those are missing
(`bot.tavus.paths` has the rule); answers in either family's names are read alike.

The client maps Tavus' answers onto a short error hierarchy so callers can decide who to tell:
auth problems go to the operator, bad requests to the requester, and anything transient is retried
here (with tenacity) before it surfaces as :class:`TavusUnavailable`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential,
    wait_random,
)

from bot.tavus.errors import (
    TavusAuthError,
    TavusBadRequest,
    TavusError,
    TavusNotFound,
    TavusUnavailable,
    error_reason,
)
from bot.tavus.models import CreatedReplica, Replica, first_str, normalise_status, optional_str
from bot.tavus.paths import FACES, REPLICAS, CallObserver, PathChoice, PathFamily, endpoint_of
from bot.tavus.retry_after import parse_retry_after

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)

# A create that got no answer may still have been accepted; only these failures prove the request
# never reached Tavus, so only these are safe to repeat without risking a duplicate (billed) replica.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Connections kept open to Tavus. The poller runs up to POLL_CONCURRENCY requests at once and submissions
# share the client, so build_runtime sizes this above POLL_CONCURRENCY; past it, callers queue (pool timeout).
DEFAULT_MAX_CONNECTIONS = 20


class _RetryableStatus(Exception):
    """Internal: a 429/5xx answer, raised so tenacity can decide whether to try again."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = parse_retry_after(response.headers.get("retry-after"))


class TavusClient:
    """Synchronous client over ``httpx.Client``; one instance can be shared by a process."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | None = None,
        max_attempts: int = 5,
        max_backoff: float = 30.0,
        initial_backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        legacy_paths: bool = False,
        paths: PathChoice | None = None,
        observe: CallObserver | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        """`paths`: share another client's choice of path family, so the process decides it once.
        `observe` hears of every HTTP call, retries included. Once `stopping` is set, a call in progress
        is finished but neither waited for nor retried."""
        if not api_key:
            raise ValueError("api_key is required")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_backoff < 0 or initial_backoff < 0:
            raise ValueError("backoff values must not be negative")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        # Spelled as a sum rather than wait_exponential_jitter, whose arguments changed within tenacity 9.x.
        self._exponential = wait_exponential(multiplier=initial_backoff, max=max_backoff) + wait_random(
            0, initial_backoff
        )
        # Keep-alive for every connection: with httpx's default of 20, a poller running more requests than
        # that at once would open (and close) a new TCP connection for most of them.
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.Client(
            base_url=self._base_url,
            headers={"x-api-key": api_key, "accept": "application/json"},
            timeout=timeout or DEFAULT_TIMEOUT,
            transport=transport,
            limits=limits,
        )
        # Retry-After applies to the whole client, not only to the call that got it: when Tavus says
        # "wait", every thread sharing this client waits, instead of the others carrying on regardless.
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0
        self._paths = paths if paths is not None else PathChoice(legacy=legacy_paths)
        self._observe = observe
        self._stopping = stopping or threading.Event()

    @property
    def paths(self) -> PathChoice:
        return self._paths

    def __repr__(self) -> str:
        return f"TavusClient(base_url={self._base_url!r})"

    # --- public API -------------------------------------------------------------------------------

    def create_replica(
        self,
        *,
        replica_name: str | None = None,
        train_image_url: str | None = None,
        voice_name: str | None = None,
        train_video_url: str | None = None,
        consent_video_url: str | None = None,
        callback_url: str | None = None,
        model_name: str | None = None,
        auto_fix_training_image: bool = False,
    ) -> CreatedReplica:
        """Create a face. `auto_fix_training_image` asks Tavus' AI Image Fixer to repair the photo first
        (image training only)."""
        if (train_image_url is None) == (train_video_url is None):
            raise ValueError("give exactly one of train_image_url or train_video_url")
        if train_image_url is not None and not voice_name:
            raise ValueError("voice_name is required when training from an image")
        if auto_fix_training_image and train_image_url is None:
            raise ValueError("auto_fix_training_image applies only to training from an image")

        fields = {
            "train_image_url": train_image_url,
            "voice_name": voice_name,
            "train_video_url": train_video_url,
            "consent_video_url": consent_video_url,
            "callback_url": callback_url,
            "model_name": model_name,
            "auto_fix_training_image": True if auto_fix_training_image else None,
        }

        def body(family: PathFamily) -> dict[str, Any]:
            named = {family.name_field: replica_name, **fields}
            return {key: value for key, value in named.items() if value is not None}

        # /v2/faces marks consent_video_url deprecated ("new integrations should not send this field"),
        # while /v2/replicas still documents it: a consent video the requester gave goes where it is read.
        family = REPLICAS if consent_video_url else None
        used, response = self._on_collection("POST", body, idempotent=False, family=family)
        data = self._json(response)
        raw_status = optional_str(data.get("status")) or ""
        replica_id = first_str(data, "face_id", "replica_id")
        if replica_id is None:
            raise TavusError(f"Tavus accepted POST {used.collection} but returned no face_id")
        return CreatedReplica(
            replica_id=replica_id, status=normalise_status(raw_status), raw_status=raw_status
        )

    def get_replica(self, replica_id: str, *, verbose: bool = False) -> Replica:
        params = {"verbose": "true"} if verbose else None
        data = self._json(self._on_item("GET", replica_id, params=params))
        return Replica.from_api(data)

    def list_replicas(self, *, limit: int = 100, page: int = 1) -> list[Replica]:
        if limit < 1 or page < 1:
            raise ValueError("limit and page must be at least 1")
        used, response = self._on_collection("GET", None, params={"limit": limit, "page": page})
        try:
            body = response.json()
        except ValueError:
            raise TavusError(f"Tavus answered GET {used.collection} with a body that is not JSON") from None
        # Faces answer {"data": [...], "total_count": N}; older replica answers may be a bare list.
        items = body.get("data") if isinstance(body, dict) else body
        if not isinstance(items, list):
            return []
        return [Replica.from_api(item) for item in items if isinstance(item, dict)]

    def delete_replica(self, replica_id: str, *, hard: bool = False) -> None:
        params = {"hard": "true"} if hard else None
        self._on_item("DELETE", replica_id, params=params)

    def rename_replica(self, replica_id: str, replica_name: str) -> None:
        # Faces take a JSON Merge Patch of the face; the legacy alias has its own /name path.
        self._on_item(
            "PATCH",
            replica_id,
            json_for=lambda family: {family.name_field: replica_name},
            suffix_for=lambda family: "" if family is FACES else "/name",
        )

    def call_json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Any other endpoint, with this client's key, retries and error mapping; its JSON object. A create
        (`idempotent=False`) is repeated only where it certainly never reached Tavus, as a face's is."""
        return self._json(self._request(method, path, params=params, json=body, idempotent=idempotent))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _on_collection(
        self,
        method: str,
        body: Callable[[PathFamily], dict[str, Any]] | None,
        *,
        params: dict[str, Any] | None = None,
        idempotent: bool = True,
        family: PathFamily | None = None,
    ) -> tuple[PathFamily, httpx.Response]:
        def send(used: PathFamily) -> httpx.Response:
            json = body(used) if body else None
            return self._request(method, used.collection, params=params, json=json, idempotent=idempotent)

        return self._paths.on_collection(method, send, family=family)

    def _on_item(
        self,
        method: str,
        face_id: str,
        *,
        params: dict[str, Any] | None = None,
        json_for: Callable[[PathFamily], dict[str, Any]] | None = None,
        suffix_for: Callable[[PathFamily], str] = lambda family: "",
    ) -> httpx.Response:
        def send(family: PathFamily) -> httpx.Response:
            path = family.item(face_id) + suffix_for(family)
            return self._request(method, path, params=params, json=json_for(family) if json_for else None)

        return self._paths.on_item(method, face_id, send)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]")

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            # An empty 2xx body ("OK", as ending a conversation answers) reads as an empty object.
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            path = response.request.url.path
            raise TavusError(
                f"Tavus answered {response.request.method} {path} with an unexpected body",
                status_code=response.status_code,
            )
        return data

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, _RetryableStatus):
                return True
            if isinstance(exc, httpx.UnsupportedProtocol):
                return False  # a misconfigured base URL will not fix itself
            if idempotent:
                return isinstance(exc, httpx.TransportError)
            return isinstance(exc, _NOT_SENT_ERRORS)

        retrying = Retrying(
            retry=retry_if_exception(should_retry),
            stop=stop_after_attempt(self._max_attempts) | stop_when_event_set(self._stopping),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(method, path, state),
            reraise=True,
        )
        try:
            return retrying(self._send_once, method, path, params, json)
        except _RetryableStatus as exc:
            status = exc.response.status_code
            reason = self._redact(error_reason(exc.response))
            raise TavusUnavailable(
                f"Tavus {method} {path} kept failing: HTTP {status}: {reason}", status_code=status
            ) from None
        except httpx.TransportError as exc:
            kind = type(exc).__name__
            if not idempotent and not isinstance(exc, _NOT_SENT_ERRORS):
                summary = f"Tavus {method} {path} got no answer ({kind}); it may or may not have been applied"
            else:
                summary = f"Tavus {method} {path} could not be reached ({kind})"
            raise TavusUnavailable(summary) from None
        except httpx.HTTPError as exc:
            # e.g. a body that fails to decode: still Tavus' fault, but never an httpx type for callers.
            raise TavusError(f"Tavus {method} {path} failed ({type(exc).__name__})") from None

    def _send_once(
        self, method: str, path: str, params: dict[str, Any] | None, json: dict[str, Any] | None
    ) -> httpx.Response:
        self._wait_out_pause()
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError:
            self._observed(method, path, "error")
            raise
        status = response.status_code
        self._observed(method, path, str(status))
        if status < 300:
            return response
        if status == 429 or status >= 500:
            error = _RetryableStatus(response)
            if error.retry_after:
                self._pause(min(error.retry_after, self._max_backoff))
            raise error
        reason = self._redact(error_reason(response))
        summary = f"Tavus {method} {path} answered HTTP {status}: {reason}"
        if status in (401, 403):
            raise TavusAuthError(summary, status_code=status)
        if status in (400, 422):
            raise TavusBadRequest(summary, message=reason, status_code=status)
        if status == 404:
            raise TavusNotFound(summary, status_code=status)
        raise TavusError(summary, status_code=status)

    def _observed(self, method: str, path: str, status: str) -> None:
        if self._observe is not None:
            self._observe(endpoint_of(method, path), status)

    def _pause(self, seconds: float) -> None:
        with self._pause_lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _wait_out_pause(self) -> None:
        # Bounded: _pause never sets more than max_backoff ahead, and only a new Retry-After extends it.
        while (remaining := self._paused_until - time.monotonic()) > 0 and not self._stopping.is_set():
            self._stopping.wait(remaining)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self._max_backoff)
        return min(float(self._exponential(state)), self._max_backoff)

    def _log_retry(self, method: str, path: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        what = f"HTTP {exc.response.status_code}" if isinstance(exc, _RetryableStatus) else type(exc).__name__
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "Tavus %s %s failed (%s); attempt %d of %d, retrying in %.2fs",
            method,
            path,
            what,
            state.attempt_number,
            self._max_attempts,
            delay,
        )
