"""`replica-bot demo`: the whole story on this machine, shown as a Slack user would see it.

Everything is real except the two outside services: the bot runs its HTTP app, scheduler and SQLite
database; Slack is the local fake, Tavus the local emulator, and the photos come from a loopback server.
"""

from __future__ import annotations

import io
import re
import socket
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
from bot.service.process import Process
from bot.service.runtime import build_runtime
from bot.service.settings import load_settings
from bot.service.web import create_web_app

T = TypeVar("T")

CHANNEL = "C0DEMO"
USER = "U0DEMO"
# A colleague whose face a replica is asked for: she says yes in a DM first.
ANA = "U0ANA"
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
    ":eyes:": "👀",
    ":sparkles:": "✨",
    ":repeat: ": "↻ ",
    ":frame_with_picture:": "🖼",
    ":wave:": "👋",
    ":busts_in_silhouette:": "👥",
    ":clapper:": "🎬",
    ":movie_camera:": "🎥",
    ":telephone_receiver:": "📞",
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
        solo_photo_bytes = _portrait(people=1)
        port = _free_port()
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
            tavus_model_name="phoenix-4.5",
            # The bot hosts uploaded photos (and hears Tavus' callbacks) at its own address.
            public_base_url=f"http://127.0.0.1:{port}",
        )
        runtime = build_runtime(settings)
        process = Process(runtime, grace=5)
        web_app = create_web_app(process, create_bolt_app(runtime))
        server = ThreadedServer(web_app, name="replica-bot", port=port)
        with server:
            process.start()
            try:
                screen = _Screen(fake)
                sender = SlackSender(server.url, SECRET)
                _intro(server.url, slack.url, tavus.url)

                _step("1. You ask for a replica from a photo that has a friend in it")
                # Tavus' own image check (the one its portal runs) sees two people: no run is spent.
                emulator.validation.script(failed=["one_person"])
                question = screen.command(sender, f'/replica create {group_photo} voice=anna name="Ana Demo"')
                seen = len(fake.ephemerals(CHANNEL))
                screen.click(sender, question, "confirm_request")
                answer = screen.next_answer(seen)
                screen.click(sender, answer, "photo_use_another")
                form = screen.wait_for_form()

                _step("2. You pick a photo of just you in that form")
                # The deployment trains on phoenix-4.5: a watermarked preview first, then hours of tuning.
                emulator.script(
                    ScriptedOutcome("completed", training_seconds=3 * speed, tuning_seconds=6 * speed)
                )
                screen.submit_form(sender, form, fake.add_file(solo_photo_bytes, name="ana.png", user=USER))
                card = screen.wait_for_card("Ana Demo", timeout=20 * speed)
                screen.follow(card, until_replies=1, card_says="Preview ready", timeout=30 * speed)
                _step("3. A few hours later (seconds here), tuning finishes")
                screen.follow(card, until_replies=2, card_says="Tuned", timeout=30 * speed, shown=1)

                _step("4. A replica of a colleague: she is asked in a DM before anything reaches Tavus")
                emulator.script(ScriptedOutcome("completed", training_seconds=2 * speed))
                solo_photo = photos.put("/ana-solo.png", solo_photo_bytes, "image/png")
                screen.command(
                    sender, f'/replica create {solo_photo} voice=julia name="Ana Colleague" for=<@{ANA}>',
                    answered=False,
                )
                asked = screen.wait_for_dm(ANA, timeout=20 * speed)
                screen.click(sender, asked, "consent_allow", user=ANA, channel=f"D{ANA}", who="ana")
                colleague = screen.wait_for_card("Ana Colleague", timeout=20 * speed, announce=False)
                screen.follow(colleague, until_replies=1, card_says="Consent:", timeout=30 * speed)

                _step("5. You try the first face right there right there: a sample video of it speaking")
                tuned = fake.thread(CHANNEL, card["ts"])[1]
                forms = len(fake.calls("views.open"))
                screen.click(sender, tuned, "try_make_video")
                screen.submit_script(sender, screen.wait_for_form(after=forms))
                screen.follow(card, until_replies=4, card_says="Tuned", timeout=30 * speed, shown=2)
                _outro()
            finally:
                runtime.close()


class _Screen:
    """Prints what appears in the fake Slack channel, the way the Slack client would show it."""

    def __init__(self, fake: SlackFake) -> None:
        self._fake = fake

    def command(self, sender: SlackSender, typed: str, *, answered: bool = True) -> dict[str, Any]:
        """Types a command; returns what only the requester sees once the photo was checked (`answered`:
        something is asked of them)."""
        print(f"\n  you › {_plain(typed)}")
        seen = len(self._fake.ephemerals(CHANNEL))
        response = sender.command(typed.removeprefix("/replica "), user_id=USER, channel_id=CHANNEL)
        text = response.json().get("text", "") if response.content else ""
        print(_indent(f"(only visible to you) {_plain(text)}", "        "))
        if not answered:
            return {}
        return self.next_answer(seen)

    def next_answer(self, seen: int) -> dict[str, Any]:
        """What only the requester sees next, after the first `seen` such messages."""
        answers = _wait(lambda: self._fake.ephemerals(CHANNEL)[seen:] or None, 20, "no answer")
        answer = answers[0]
        print(_indent(f"(only visible to you) {_render(answer)}", "        "))
        return answer

    def click(
        self,
        sender: SlackSender,
        message: dict[str, Any],
        action_id: str,
        *,
        user: str = USER,
        channel: str = CHANNEL,
        who: str = "you",
    ) -> None:
        button = next(
            e
            for b in message.get("blocks", [])
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == action_id
        )
        print(f"  {who} › click [ {button['text']['text']} ]")
        sender.interaction(
            {
                "type": "block_actions",
                "user": {"id": user},
                "channel": {"id": channel},
                "actions": [button],
                "trigger_id": "demo",
                "response_url": self._fake.response_url(),
            }
        )

    def wait_for_form(self, after: int = 0) -> dict[str, Any]:
        """The first form opened after the first `after` ones."""
        view: dict[str, Any] = _wait(
            lambda: next((c["params"]["view"] for c in self._fake.calls("views.open")[after:]), None),
            20,
            "no form opened",
        )
        print(f"\n  a form opens: {view['title']['text']}")
        print(_box(_render(view)))
        return view

    def submit_form(self, sender: SlackSender, view: dict[str, Any], file: dict[str, Any]) -> None:
        print(f"  you › attach {file['name']}, keep the name and voice, tick the rights box, [ Submit ]")
        blocks = {b.get("block_id"): b for b in view["blocks"]}
        name = blocks["name"]["element"].get("initial_value", "Ana Demo")
        voice = blocks["voice"]["element"].get("initial_option", {}).get("value", "anna")
        sender.interaction(
            {
                "type": "view_submission",
                "user": {"id": USER},
                "trigger_id": "demo",
                "view": {
                    "id": "VDEMO",
                    "type": "modal",
                    "callback_id": view["callback_id"],
                    "private_metadata": view["private_metadata"],
                    "state": {
                        "values": {
                            "photo": {"file": {"type": "file_input", "files": [file]}},
                            "name": {"value": {"type": "plain_text_input", "value": name}},
                            "voice": {
                                "value": {"type": "static_select", "selected_option": {"value": voice}}
                            },
                            "rights": {
                                "value": {"type": "checkboxes", "selected_options": [{"value": "affirmed"}]}
                            },
                        }
                    },
                },
            }
        )

    def wait_for_dm(self, user: str, timeout: float) -> dict[str, Any]:
        """The bot's message in its DM with `user`, as they see it."""
        message: dict[str, Any] = _wait(
            lambda: next(iter(self._fake.messages(f"D{user}")), None), timeout, "no DM to the colleague"
        )
        print("\n  replica-bot wrote to @ana in a direct message:")
        print(_box(_render(message)))
        return message

    def submit_script(self, sender: SlackSender, view: dict[str, Any]) -> None:
        """Keeps the prefilled script and submits the sample video's form."""
        blocks = {b.get("block_id"): b for b in view["blocks"]}
        script = blocks["script"]["element"]["initial_value"]
        print("  you › keep the script, [ Make the video ]")
        sender.interaction(
            {
                "type": "view_submission",
                "user": {"id": USER},
                "trigger_id": "demo",
                "view": {
                    "id": "VDEMOVIDEO",
                    "type": "modal",
                    "callback_id": view["callback_id"],
                    "private_metadata": view["private_metadata"],
                    "state": {"values": {"script": {"value": {"type": "plain_text_input", "value": script}}}},
                },
            }
        )

    def wait_for_card(self, name: str, timeout: float, *, announce: bool = True) -> dict[str, Any]:
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
        if announce:
            print("\n  replica-bot posted in #replica-requests:")
            print(_box(_render(card)))
        return card

    def follow(
        self, card: dict[str, Any], *, until_replies: int, card_says: str, timeout: float, shown: int = 0
    ) -> None:
        """Shows the card's progress until the thread has `until_replies` replies and the card says
        `card_says` (card edits are paced and go after the thread posts); prints the replies after the
        first `shown`."""
        shown_progress: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = next(m for m in self._fake.messages(CHANNEL) if m["ts"] == card["ts"])
            progress = re.search(r"[▓░]+ \d+%", _render(current))
            if progress and progress.group(0) not in shown_progress:
                shown_progress.add(progress.group(0))
                print(f"  ↻ card updated · Progress {progress.group(0)}")
            replies = self._fake.thread(CHANNEL, card["ts"])
            if len(replies) >= until_replies and card_says in _render(current):
                print(f"  ↻ card updated · {_status_of(current)}")
                print("\n  replica-bot replied in the thread:")
                for reply in replies[shown:]:
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
        elif block.get("type") == "input":
            lines.append(f"{block['label']['text']}: {_field(block['element'])}")
        elif block.get("type") == "image":
            lines.append(f"[image: {block.get('alt_text', '')}] {block.get('image_url', '')}")
        elif block.get("type") == "actions":
            lines.extend(
                f"[ {e['text']['text']} ]" + (f" → {e['url']}" if e.get("url") else "")
                for e in block.get("elements", [])
                if "text" in e
            )
    return "\n".join(lines) or _plain(message.get("text", ""))


def _field(element: dict[str, Any]) -> str:
    if element.get("type") == "file_input":
        return "[ choose a file ]"
    if "initial_value" in element:
        return str(element["initial_value"])
    if "initial_option" in element:
        return str(element["initial_option"]["text"]["text"])
    if element.get("type") == "checkboxes":
        return "☐ " + _plain(element["options"][0]["text"]["text"])
    return "…"


def _plain(mrkdwn: str) -> str:
    text = re.sub(rf"<@{ANA}(?:\|[^>]*)?>", "@ana", mrkdwn)
    text = re.sub(r"<@[A-Z0-9]+(?:\|[^>]*)?>", "@you", text)
    text = re.sub(r"<#[A-Z0-9]+(?:\|[^>]*)?>", "#replica-requests", text)
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
    print("This deployment trains on phoenix-4.5 (TAVUS_MODEL_NAME): a preview, then hours of tuning,")
    print("sped up here to a few seconds.")


def _outro() -> None:
    print(
        "\nThat is the loop: the photo is checked (by Tavus' own check too) before a run is spent, a "
        "colleague\nsays yes before their face reaches Tavus, the card tracks training, the thread says "
        "what went wrong\nand what to do next, and the finished face can be tried right there ('Talk to "
        "it' starts a short\ntest call whose link only the clicker gets). Run `make test` for the test "
        "suite; README.md explains\ndeployment."
    )


def _wait(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.1)
    raise DemoTimeout(what)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
