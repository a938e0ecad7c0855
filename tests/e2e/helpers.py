"""What the end-to-end tests share: playing Slack's side (commands, uploads, button clicks, the form) and
reading what the app posted to the Slack fake and asked of the Tavus emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from bot.domain.catalogue import Catalogue
from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from tests.e2e.app_process import AppProcess

CHANNEL = "C123"
DM = "D123"
USER = "U123"
CATALOGUE = Catalogue()


# --- waiting ---------------------------------------------------------------------------------------------


class _Observed(Protocol):
    def last_call_time(self) -> float | None: ...


def wait_until_quiet(*stand_ins: _Observed, quiet: float = 1.0, timeout: float = 30.0) -> None:
    """Wait until the app has called none of `stand_ins` for `quiet` seconds (and at least `quiet` from
    now): it has nothing more to say. What a test asserts next ("posted once", "never polled again") then
    holds however slow the machine is; a fixed sleep only waits and hopes. The window must be longer than
    the app's intervals (polls every 0.3 s, delivery every 0.2 s in these tests)."""
    began = time.time()
    deadline = time.monotonic() + timeout
    while True:
        latest = max([began, *(t for s in stand_ins if (t := s.last_call_time()) is not None)])
        if time.time() - latest >= quiet:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the app was still calling the stand-ins after {timeout} s")
        time.sleep(0.05)


def until(condition: Callable[[], object], timeout: float = 15.0) -> None:
    """Wait for something the stand-ins report (a replica's state, a hit on the photo host)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(0.05)


# --- commands and the request card ----------------------------------------------------------------------

def create(
    app: AppProcess,
    images: StaticServer,
    name: str = "Ana Demo",
    *,
    path: str = "/ana.png",
    extra: str = "voice=anna",
) -> httpx.Response:
    response = app.sender.command(
        f'create {images.url}{path} {extra} name="{name}"', user_id=USER, channel_id=CHANNEL
    )
    assert response.status_code == 200, response.text
    return response


def wait_card(slack: SlackFake, name: str = "Ana Demo", timeout: float = 15) -> dict[str, Any]:
    def card() -> dict[str, Any] | None:
        for message in slack.messages(CHANNEL):
            if not message.get("thread_ts") and name in message.get("text", ""):
                return message
        return None

    return slack.wait_for(card, timeout=timeout)


def wait_thread(slack: SlackFake, card: dict[str, Any], count: int = 1, timeout: float = 15) -> list[dict]:
    return slack.wait_for(
        lambda: (replies := slack.thread(CHANNEL, card["ts"])) and len(replies) >= count and replies,
        timeout=timeout,
    )


def rendered(message: dict[str, Any]) -> str:
    """All the text a person would read in a message: its text and every block's text."""
    parts = [message.get("text", "")]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "url") and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(parts)


def creates(tavus: TavusEmulator) -> list[dict]:
    return [c for c in tavus.calls() if c["method"] == "POST" and c["path"] in ("/v2/faces", "/v2/replicas")]


# --- uploads and the form ----------------------------------------------------------------------------------

def upload(slack: SlackFake, content: bytes, name: str = "ana.png", mimetype: str = "image/png") -> dict:
    return slack.add_file(content, name=name, mimetype=mimetype, filetype=name.rsplit(".", 1)[-1], user=USER)


def mention_event(message: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": USER,
        "text": text,
        "ts": message["ts"],
        "channel": CHANNEL,
        "event_ts": message["ts"],
        "files": message.get("files", []),
    }


def file_share_event(message: dict[str, Any], channel: str, text: str, channel_type: str) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "file_share",
        "user": USER,
        "text": text,
        "ts": message["ts"],
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": message["ts"],
        "files": message.get("files", []),
    }


def thread_replies(
    slack: SlackFake, channel: str, ts: str, count: int = 1, timeout: float = 15
) -> list[dict]:
    return slack.wait_for(lambda: (r := slack.thread(channel, ts)) and len(r) >= count and r, timeout=timeout)


def card_in_thread(slack: SlackFake, channel: str, ts: str) -> dict[str, Any]:
    return slack.wait_for(
        lambda: next((m for m in slack.thread(channel, ts) if "Replica request" in m.get("text", "")), None)
    )


def submitted_image(tavus: TavusEmulator, timeout: float = 10) -> bytes:
    """The bytes Tavus downloaded from train_image_url for the only replica."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replicas = tavus.replicas()
        if replicas and (data := tavus.training_image(replicas[0]["replica_id"])):
            return data
        time.sleep(0.05)
    raise AssertionError(f"Tavus never downloaded a training image: {tavus.replicas()}")


def modal_submission(
    view: dict[str, Any],
    *,
    files: list[dict] | None,
    voice: str = "anna",
    name: str = "Ana Modal",
    rights: bool = True,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": {"value": {"type": "plain_text_input", "value": name}},
        "voice": {"value": {"type": "static_select", "selected_option": {"value": voice}}},
        "rights": {
            "value": {"type": "checkboxes", "selected_options": [{"value": "affirmed"}] if rights else []}
        },
    }
    if files is not None:
        values["photo"] = {"file": {"type": "file_input", "files": files}}
    return {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": USER},
        "trigger_id": "trig-2",
        "view": {
            "id": view.get("id", "V1"),
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": values},
        },
    }


def opened_view(slack: SlackFake) -> dict[str, Any]:
    call = slack.wait_for(lambda: next(iter(slack.calls("views.open")), None))
    return call["params"]["view"]


# --- buttons -----------------------------------------------------------------------------------------------


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


# --- trying a finished face -------------------------------------------------------------------------------


def ready_face(
    app: AppProcess,
    slack: SlackFake,
    images: StaticServer,
    name: str = "Ana Demo",
    *,
    shown: str | None = None,
) -> dict[str, Any]:
    """A face trained to completion (phoenix-4, the emulator's default); its completion post. `shown`: the
    name as the card shows it (escaped), where it differs."""
    create(app, images, name)
    card = wait_card(slack, shown or name)
    return slack.wait_for(
        lambda: next((m for m in slack.thread(CHANNEL, card["ts"]) if "is ready" in m.get("text", "")), None)
    )


def script_submission(view: dict[str, Any], script: str, *, user: str = USER) -> dict[str, Any]:
    """The sample video's form, submitted with `script`."""
    return {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "trigger_id": "trig-3",
        "view": {
            "id": view.get("id", "VSAMPLE"),
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": {"script": {"value": {"type": "plain_text_input", "value": script}}}},
        },
    }


def video_creates(tavus: TavusEmulator) -> list[dict]:
    return [c for c in tavus.calls() if c["method"] == "POST" and c["path"] == "/v2/videos"]


def conversation_creates(tavus: TavusEmulator) -> list[dict]:
    return [c for c in tavus.calls() if c["method"] == "POST" and c["path"] == "/v2/conversations"]
