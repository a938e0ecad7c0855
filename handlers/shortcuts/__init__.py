"""Shortcuts."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.ids import SHORTCUT_CALLBACK_ID
from handlers.shortcuts import create_replica


def register(app: App) -> None:
    app.shortcut(SHORTCUT_CALLBACK_ID)(create_replica.on_shortcut)
