"""Slash commands."""

from __future__ import annotations

from slack_bolt import App

from handlers.commands import replica


def register(app: App) -> None:
    app.command("/replica")(replica.on_command)
