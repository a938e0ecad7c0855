"""Slack listeners. Each module's `register(app, runtime)` wires its callbacks; listeners stay thin."""

from __future__ import annotations

from slack_bolt import App

from bot.runtime import Runtime
from handlers import commands


def register(app: App, runtime: Runtime) -> None:
    commands.register(app, runtime)
