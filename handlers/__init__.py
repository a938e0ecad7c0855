"""Slack listeners. Each module's `register(app, runtime)` wires its callbacks; listeners stay thin."""

from __future__ import annotations

from slack_bolt import App

from bot.runtime import Runtime
from handlers import actions, commands, events, flow, home, shortcuts, views


def register(app: App, runtime: Runtime) -> None:
    for module in (commands, events, views, shortcuts, actions, home):
        module.register(app, runtime)
    runtime.resume_received = lambda: flow.resume_received(runtime)
