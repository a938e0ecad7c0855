"""`replica-bot demo`: the whole story on this machine, shown as a Slack user would see it.

Everything is real except the two outside services: the bot runs its HTTP app, scheduler and SQLite
database; Slack is the local fake, Tavus the local emulator, and the photos come from a loopback server.
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, ImageDraw

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer, SlackSender
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import EmulatorServer, ScriptedOutcome, TavusEmulator
from bot.sandbox.threaded_server import ThreadedServer
from bot.service.bolt_app import create_bolt_app
from bot.service.runtime import build_runtime
from bot.service.settings import load_settings
from bot.service.web import create_web_app

T = TypeVar("T")

CHANNEL = "C0DEMO"
USER = "U0DEMO"
SECRET = "demo-signing-secret"
TOKEN = "xoxb-demo-token"
TAVUS_KEY = "demo-tavus-key"
EMOJI = {
    ":gear:": "⚙",
    ":x:": "✗",
    ":white_check_mark:": "✓",
    ":tada:": "🎉",
    ":warning:": "⚠",
    ":bust_in_silhouette:": "👤",
    ":hourglass_flowing_sand:": "⏳",
    ":film_frame:": "🎞",
    ":raised_hand:": "✋",
    ":mag:": "🔍",
}


class DemoTimeout(Exception):
    pass


def run_demo(speed: float = 1.0) -> int:
    with tempfile.TemporaryDirectory(prefix="replica-bot-demo-") as workdir:
        try:
            _story(Path(workdir), speed)
        except DemoTimeout as exc:
            print(f"\nThe demo stopped: {exc}", file=sys.stderr)
            return 1
    return 0


def _story(workdir: Path, speed: float) -> None:
    fake = SlackFake(bot_token=TOKEN)
    emulator = TavusEmulator(api_key=TAVUS_KEY)
    with SlackFakeServer(fake) as slack, EmulatorServer(emulator) as tavus, StaticServer() as photos:
        group_photo = photos.put("/ana-with-friend.png", _portrait(people=2), "image/png")
        solo_photo = photos.put("/ana.png", _portrait(people=1), "image/png")
        settings = load_settings(
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            tavus_api_key=TAVUS_KEY,
            tavus_api_url=tavus.url,
            database_url=f"sqlite:///{workdir / 'replica_bot.db'}",
            poll_interval_seconds=1,
            outbox_interval_seconds=0.3,
            allow_private_urls=True,
            # The demo's photos are drawings, which the offline face check would rightly question.
            preflight_faces="off",
            public_base_url=None,
        )
        runtime = build_runtime(settings)
        server = ThreadedServer(create_web_app(runtime, create_bolt_app(runtime)), name="replica-bot")
        with server:
            runtime.start()
            try:
                screen = _Screen(fake)
                sender = SlackSender(server.url, SECRET)
                _intro(server.url, slack.url, tavus.url)

                emulator.script(
                    ScriptedOutcome(
                        "error",
                        training_seconds=7 * speed,
                        error_message="Phx4MultipleForegroundPeopleError: There was an error processing your "
                        "image. Detect more than one face or face-like element clearly visible in the image.",
                    )
                )
                _step("1. You ask for a replica from a photo that has a friend in it")
                screen.command(sender, f'/replica create {group_photo} voice=anna name="Ana Demo"')
                card = screen.wait_for_card("Ana Demo", timeout=20 * speed)
                screen.follow(card, until_replies=1, timeout=30 * speed)

                emulator.script(ScriptedOutcome("completed", training_seconds=6 * speed))
                _step("2. You try again with a photo of just you")
                screen.command(sender, f'/replica create {solo_photo} voice=anna name="Ana Demo (retry)"')
                card = screen.wait_for_card("Ana Demo (retry)", timeout=20 * speed)
                screen.follow(card, until_replies=1, timeout=30 * speed)
                _outro()
            finally:
                runtime.close()


class _Screen:
    """Prints what appears in the fake Slack channel, the way the Slack client would show it."""

    def __init__(self, fake: SlackFake) -> None:
        self._fake = fake

    def command(self, sender: SlackSender, typed: str) -> None:
        print(f"\n  you › {typed}")
        response = sender.command(typed.removeprefix("/replica "), user_id=USER, channel_id=CHANNEL)
        text = response.json().get("text", "") if response.content else ""
        print(_indent(f"(only visible to you) {_plain(text)}", "        "))
        # Nothing goes to Tavus until the requester affirms the rights to the likeness.
        seen = len(self._fake.ephemerals(CHANNEL))
        question = _wait(lambda: self._fake.ephemerals(CHANNEL)[seen:] or None, 20, "no confirmation asked")[
            0
        ]
        print(_indent(f"(only visible to you) {_render(question)}", "        "))
        button = next(
            e
            for b in question.get("blocks", [])
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "confirm_request"
        )
        print(f"  you › click [ {button['text']['text']} ]")
        sender.interaction(
            {
                "type": "block_actions",
                "user": {"id": USER},
                "channel": {"id": CHANNEL},
                "actions": [button],
                "trigger_id": "demo",
                "response_url": self._fake.response_url(),
            }
        )

    def wait_for_card(self, name: str, timeout: float) -> dict[str, Any]:
        card = _wait(
            lambda: next(
                (
                    m
                    for m in self._fake.messages(CHANNEL)
                    if not m.get("thread_ts") and name in m.get("text", "")
                ),
                None,
            ),
            timeout,
            f"no request card for {name!r}",
        )
        print("\n  replica-bot posted in #replica-requests:")
        print(_box(_render(card)))
        return card

    def follow(self, card: dict[str, Any], *, until_replies: int, timeout: float) -> None:
        shown_progress: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = next(m for m in self._fake.messages(CHANNEL) if m["ts"] == card["ts"])
            progress = re.search(r"[▓░]+ \d+%", _render(current))
            if progress and progress.group(0) not in shown_progress:
                shown_progress.add(progress.group(0))
                print(f"  ↻ card updated · Progress {progress.group(0)}")
            replies = self._fake.thread(CHANNEL, card["ts"])
            if len(replies) >= until_replies:
                print(f"  ↻ card updated · {_status_of(current)}")
                print("\n  replica-bot replied in the thread:")
                for reply in replies:
                    print(_box(_render(reply), indent="    "))
                return
            time.sleep(0.2)
        raise DemoTimeout("nothing arrived in the thread in time")


def _status_of(message: dict[str, Any]) -> str:
    match = re.search(r"Status: (.+)", _render(message))
    return f"Status {match.group(1)}" if match else "updated"


def _render(message: dict[str, Any]) -> str:
    lines: list[str] = []
    for block in message.get("blocks") or []:
        if block.get("type") == "section":
            if "text" in block:
                lines.append(_plain(block["text"]["text"]))
            for field in block.get("fields", []):
                lines.append(_plain(field["text"]).replace("\n", ": ", 1))
        elif block.get("type") == "context":
            lines.extend(_plain(e.get("text", "")) for e in block.get("elements", []))
        elif block.get("type") == "actions":
            lines.extend(
                f"[ {e['text']['text']} ]" + (f" → {e['url']}" if e.get("url") else "")
                for e in block.get("elements", [])
                if "text" in e
            )
    return "\n".join(lines) or _plain(message.get("text", ""))


def _plain(mrkdwn: str) -> str:
    text = re.sub(r"<@[A-Z0-9]+>", "@you", mrkdwn)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<([^|>]+)\|([^>]+)>", lambda m: m[2] if m[1] == m[2] else f"{m[2]} ({m[1]})", text)
    text = re.sub(r"<([^>]+)>", r"\1", text)
    for code, symbol in EMOJI.items():
        text = text.replace(code, symbol)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("*", "")


def _box(text: str, indent: str = "  ") -> str:
    body = "\n".join(f"{indent}│ {line}" for line in text.splitlines())
    return f"{indent}┌────\n{body}\n{indent}└────"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _step(title: str) -> None:
    print(f"\n\033[1m{title}\033[0m" if sys.stdout.isatty() else f"\n{title}")


def _intro(app_url: str, slack_url: str, tavus_url: str) -> None:
    print("replica-bot demo — everything runs on this machine, no credentials needed.")
    print(f"  the bot (HTTP app, scheduler, SQLite) … {app_url}")
    print(f"  a local stand-in for Slack ……………… {slack_url}")
    print(f"  the Tavus emulator ………………………… {tavus_url}")
    print("Training is sped up from 3–4 hours to a few seconds.")


def _outro() -> None:
    print(
        "\nThat is the loop: the photo is checked, the card tracks training, and the thread says what "
        "went wrong\nand what to do next. Run `make test` for the test suite; README.md explains deployment."
    )


def _wait(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.1)
    raise DemoTimeout(what)


def _portrait(people: int) -> bytes:
    """A stand-in headshot: soft background, head and shoulders, one or two people."""
    image = Image.new("RGB", (640, 640), (214, 226, 236))
    draw = ImageDraw.Draw(image)
    centres = [320] if people == 1 else [200, 440]
    scale = 1.0 if people == 1 else 0.7
    for x in centres:
        head = 110 * scale
        draw.ellipse((x - 170 * scale, 470, x + 170 * scale, 800), fill=(60, 80, 120))
        draw.ellipse((x - head * 0.8, 330 - head * 1.8, x + head * 0.8, 330), fill=(229, 194, 160))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
