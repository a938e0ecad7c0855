"""Events API: mentions, DMs, and the App Home tab opening."""

from __future__ import annotations

from slack_bolt import App

from handlers.events import home_opened, photo_message


def register(app: App) -> None:
    app.event("app_mention")(photo_message.on_mention)
    app.event("message")(photo_message.on_message)
    app.event("app_home_opened")(home_opened.on_home_opened)
