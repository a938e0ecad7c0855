"""The App Home tab, published when someone opens it."""

from __future__ import annotations

from slack_sdk import WebClient

from handlers.payloads import Payload
from handlers.services import Services


def on_home_opened(event: Payload, client: WebClient, services: Services) -> None:
    # The event also fires for the Messages tab, which has nothing to publish.
    if event.get("tab", "home") == "home":
        # Nothing the person could do about a failed publish; the operator finds it in the log.
        services.home.refresh(client, event["user"])
