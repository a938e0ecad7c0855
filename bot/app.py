"""The Bolt app: Slack credentials, listeners, and one error handler that never shows a stack trace."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

import handlers
from bot.runtime import Runtime, slack_client
from handlers.replies import reply_privately

log = logging.getLogger(__name__)

# Bolt runs each listener, including its ack, on this pool, and our listeners go on working after the ack
# (downloading the photo, calling Tavus). With Bolt's default of 5 threads, the 6th request at once waited
# for a whole submission before it could even ack: 100 at once took 8 s (docs/benchmarks.md).
LISTENER_THREADS = 64


def create_bolt_app(runtime: Runtime, *, socket_mode: bool = False) -> App:
    settings = runtime.settings
    app = App(
        client=slack_client(settings, retry_rate_limits=True),
        signing_secret=None if socket_mode else settings.secret("slack_signing_secret"),
        request_verification_enabled=not socket_mode,
        # Startup must not depend on Slack answering auth.test; Bolt calls it on the first request instead.
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="listener"),
    )
    handlers.register(app, runtime)
    app.error(_report_error)
    return app


def _report_error(error: Exception, body: dict[str, Any], client: WebClient) -> BoltResponse:
    reference = uuid.uuid4().hex[:8]
    log.error("listener failed (reference %s)", reference, exc_info=error)
    user, channel = _who_and_where(body)
    if user and channel:
        reply_privately(
            client,
            None,
            channel=channel,
            user=user,
            text=f":warning: Something went wrong on my side (reference `{reference}`). "
            "Nothing was lost; please try again, and mention the reference if it keeps happening.",
        )
    return BoltResponse(status=200, body="")


def _who_and_where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    if "user_id" in body:
        return body.get("user_id"), body.get("channel_id")
    event = body.get("event") or {}
    user = (body.get("user") or {}).get("id") or event.get("user")
    channel = (body.get("channel") or {}).get("id") or event.get("channel")
    return user, channel
