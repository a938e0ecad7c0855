"""Slack listeners, one folder per kind. Each listener parses its payload into a typed value
(`handlers.payloads`), calls one domain operation, and renders the result; `register(app, services)`
wires them all, and a middleware hands every listener the `services` it asks for by name."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltContext

from handlers import actions, commands, events, shortcuts, views
from handlers.services import Services


def register(app: App, services: Services) -> None:
    # Bolt passes middleware the next step as `next`.
    def provide_services(context: BoltContext, next: Callable[[], None]) -> None:
        context["services"] = services
        next()

    app.middleware(provide_services)
    for kind in (commands, events, views, shortcuts, actions):
        kind.register(app)
