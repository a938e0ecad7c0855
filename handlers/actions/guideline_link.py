"""A link button (the Tavus guideline under a failure) opens in the browser; Slack still reports the
click, and every click needs an ack."""

from __future__ import annotations

from slack_bolt import Ack


def on_link(ack: Ack) -> None:
    ack()
