"""The App Home tab: published when someone opens it; admins switch between filters with buttons."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import messages
from bot.home import HomePublisher
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    home = HomePublisher(runtime.engine, runtime.catalogue, runtime.settings)

    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        # The event also fires for the Messages tab, which has nothing to publish.
        if event.get("tab", "home") == "home":
            # Nothing the person could do about a failed publish; the operator finds it in the log.
            home.refresh(client, event["user"])

    def on_filter(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        home.publish(client, body["user"]["id"], action.get("value"))

    app.event("app_home_opened")(on_home_opened)
    app.action(re.compile(f"^{messages.HOME_FILTER_ACTION_PREFIX}"))(on_filter)
