"""HTTP routes for `replica-bot serve`: Slack's single endpoint, health, and Tavus callbacks."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.service.media import BuiltinMediaStore, media_endpoint
from bot.service.runtime import Runtime

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 64 * 1024


def create_web_app(runtime: Runtime, bolt: App) -> Starlette:
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # Bolt's dispatch is blocking (it waits for ack, not for the listener); keep it off the event loop.
        with runtime.after_ack.acking():
            bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        healthy = await run_in_threadpool(runtime.healthy)
        return JSONResponse({"ok": healthy}, status_code=200 if healthy else 503)

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
        Route("/healthz", healthz, methods=["GET"]),
        Route("/tavus/callback/{token}", tavus_callback, methods=["POST"]),
    ]
    if isinstance(runtime.media, BuiltinMediaStore):
        routes.append(Route("/media/{token}", media_endpoint(runtime.media), methods=["GET", "HEAD"]))
    return Starlette(routes=routes)


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, UnicodeDecodeError):
        return False
