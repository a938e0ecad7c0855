"""The App Home tab's filter buttons (admins): the tab again, filtered."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from handlers.payloads import Payload
from handlers.services import Services


def on_filter(ack: Ack, body: Payload, action: Payload, client: WebClient, services: Services) -> None:
    ack()
    services.home.publish(client, body["user"]["id"], action.get("value"))

