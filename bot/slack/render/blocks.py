"""Block Kit building blocks and mrkdwn escaping, shared by every renderer.

Anything a person or Tavus wrote is escaped before it is echoed, so a replica named `<!channel>` pings
nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Block = dict[str, Any]

# Slack's limits: section text, blocks per message and per view.
MAX_SECTION_TEXT = 3000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block]

    @classmethod
    def of(cls, text: str) -> Message:
        """A message that is only text."""
        return cls(text=text, blocks=[])


def escape(text: str) -> str:
    """Slack mrkdwn escaping; applied to anything a user or Tavus wrote."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}]}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def button(text: str, action_id: str, value: str, *, primary: bool = False) -> Block:
    element: Block = {"type": "button", "action_id": action_id, "value": value, "text": plain(text)}
    if primary:
        element["style"] = "primary"
    return element


def link_button(text: str, url: str, action_id: str) -> Block:
    return {"type": "button", "text": plain(text), "url": url, "action_id": action_id}


def link(url: str, label: str) -> str:
    """A mrkdwn link, or plain escaped text when the URL itself could break out of the link syntax."""
    if any(c in url for c in "<>| \n"):
        return escape(label)
    return f"<{url}|{escape(label)}>"


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def channel_ref(channel_id: str) -> str:
    return f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else "the channel it was meant for"


def is_channel_id(channel_id: str) -> bool:
    return bool(_CHANNEL_ID.match(channel_id))


def date(timestamp: float, pattern: str, fallback: str) -> str:
    """A date Slack shows in the reader's own time zone."""
    return f"<!date^{int(timestamp)}^{pattern}|{fallback}>"
