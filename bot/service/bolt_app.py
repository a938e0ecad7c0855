"""The Bolt app: Slack credentials, the listeners, and one error handler that never shows a stack trace."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

import handlers
from bot import log_context
from bot.service.metrics import Metrics
from bot.service.runtime import Runtime

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler
from bot.slack.client import slack_client
from bot.slack.errors import user_message
from bot.slack.replies import privately
from handlers.payloads import who_and_where

log = logging.getLogger(__name__)

# Bolt runs each listener, including its ack, on this pool, and our listeners go on working after the ack
# (downloading the photo, calling Tavus). With Bolt's default of 5 threads, the 6th request at once waited
# for a whole submission before it could even ack: 100 at once took 8 s (docs/benchmarks.md).
LISTENER_THREADS = 64


def create_bolt_app(runtime: Runtime, *, socket_mode: bool = False) -> App:
    settings = runtime.settings
    app = App(
        client=slack_client(
            settings.secret("slack_bot_token"),
            str(settings.slack_api_url),
            retry_rate_limits=True,
            observe=runtime.metrics.slack_call,
        ),
        signing_secret=None if socket_mode else settings.secret("slack_signing_secret"),
        request_verification_enabled=not socket_mode,
        # Startup must not depend on Slack answering auth.test; Bolt calls it on the first request instead.
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        listener_executor=_WithContext(LISTENER_THREADS, thread_name_prefix="listener"),
    )

    # Every line logged about this request names its workspace and channel. Bolt runs the listeners after
    # the middleware has returned, on the same thread: the fields are set, not scoped to a block.
    def about_the_request(body: dict[str, Any], next: Callable[[], None]) -> None:
        _, channel = who_and_where(body)
        log_context.start(team=_team_of(body), channel=channel)
        next()

    app.middleware(about_the_request)
    handlers.register(app, runtime.services)
    catalogue = runtime.catalogue

    def report_error(error: Exception, body: dict[str, Any], client: WebClient) -> BoltResponse:
        # A listener raised: the person hears what the error mapper says (a reference id for the unexpected).
        message = user_message(error, catalogue, doing="a Slack listener")
        user, channel = who_and_where(body)
        if user and channel:
            privately(client, None, channel, user)(message)
        return BoltResponse(status=200, body="")

    app.error(report_error)
    return app


P = ParamSpec("P")
T = TypeVar("T")


class _WithContext(ThreadPoolExecutor):
    """Runs each job in a copy of the submitter's context, so a listener logs what its request is about."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)  # type: ignore[arg-type]


def _team_of(body: dict[str, Any]) -> str | None:
    team = body.get("team_id") or body.get("team")
    return str(team.get("id")) if isinstance(team, dict) else (str(team) if team else None)


def socket_mode_handler(app: App, app_token: str, metrics: Metrics) -> SocketModeHandler:
    """Bolt's Socket Mode handler, timing each request from its arrival to the ack sent back."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.socket_mode.builtin.client import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

    class Timed(SocketModeHandler):
        # Narrower than the base class's signature, as in Bolt's own handler.
        def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
            arrived = time.perf_counter()
            super().handle(client, req)
            metrics.acked(time.perf_counter() - arrived)

    return Timed(app, app_token)
