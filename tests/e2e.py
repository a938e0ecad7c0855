"""Small helpers shared by the end-to-end tests: finding a button in a message, and clicking it."""

from __future__ import annotations

from typing import Any

from tests.conftest import AppProcess

CHANNEL = "C123"
USER = "U123"


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The button with this action_id (or prefix) in a message's actions or section accessories."""
    for block in message.get("blocks") or []:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id", "").startswith(action_id):
                return element
    raise AssertionError(f"no {action_id} button in {message}")


def click(
    app: AppProcess,
    action: dict[str, Any],
    *,
    user: str = USER,
    channel: str = CHANNEL,
    response_url: str | None = None,
) -> None:
    """The requester (or someone else) clicks a button, as Slack reports it to the app."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "actions": [action],
        "trigger_id": "trig-click",
    }
    if response_url:
        payload["response_url"] = response_url
    response = app.sender.interaction(payload)
    assert response.status_code == 200, response.text
