"""HTTP routes for `replica-bot serve`: Slack's single endpoint, Tavus callbacks, health, readiness and
metrics."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from types import FrameType

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.service.media import BuiltinMediaStore, media_endpoint
from bot.service.ops_http import ops_routes
from bot.service.process import Process

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 64 * 1024


def create_web_app(process: Process, bolt: App) -> Starlette:
    runtime = process.runtime

    async def slack_events(request: Request) -> Response:
        arrived = time.perf_counter()
        if not process.started:
            # Not migrated yet. Slack retries events; a command shows the person the app did not answer.
            return JSONResponse({"error": "starting"}, status_code=503)
        body = await request.body()
        # Bolt's dispatch is blocking (it waits for ack, not for the listener); keep it off the event loop.
        with runtime.after_ack.acking():
            bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        runtime.metrics.acked(time.perf_counter() - arrived)
        return to_starlette_response(bolt_response)

    async def tavus_callback(request: Request) -> Response:
        # One route for every callback: a face's training, a sample video, a test call (its token says which).
        token = request.path_params["token"]
        look_again = await run_in_threadpool(runtime.tracker.callback, token)
        if look_again is None:
            log.warning("tavus callback with an unknown token")
            return JSONResponse({"error": "unknown callback"}, status_code=404)
        body = await request.body()
        if len(body) > MAX_CALLBACK_BYTES or not _is_json_object(body):
            log.warning("malformed tavus callback")
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        # The body is unsigned, so it is only a hint: the poll re-reads the replica (video, call) from Tavus.
        return JSONResponse({"ok": True}, status_code=202, background=BackgroundTask(look_again))

    routes = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/tavus/callback/{token}", tavus_callback, methods=["POST"]),
        *ops_routes(process),
    ]
    if isinstance(runtime.media, BuiltinMediaStore):
        routes.append(Route("/media/{token}", media_endpoint(runtime.media), methods=["GET", "HEAD"]))
    return Starlette(routes=routes)


class GracefulServer(uvicorn.Server):
    """uvicorn, telling the process the moment a SIGTERM or SIGINT arrives (`on_exit`), so the hand-over
    of background work runs while uvicorn answers its in-flight requests."""

    def __init__(self, config: uvicorn.Config, *, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, UnicodeDecodeError):
        return False
