"""Buttons."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.slack.ids import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    GUIDELINE_ACTION,
    HOME_FILTER_ACTION_PREFIX,
    RETRY_ACTION,
)
from handlers.actions import confirm, guideline_link, home_filter, retry


def register(app: App) -> None:
    app.action(CONFIRM_ACTION)(confirm.on_confirm)
    app.action(CANCEL_ACTION)(confirm.on_cancel)
    app.action(RETRY_ACTION)(retry.on_retry)
    app.action(GUIDELINE_ACTION)(guideline_link.on_link)
    app.action(re.compile(f"^{HOME_FILTER_ACTION_PREFIX}"))(home_filter.on_filter)
