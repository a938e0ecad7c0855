"""Parsing `/replica …` text into a typed command. Pure: no Slack, no I/O."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

SUBCOMMANDS = ("create", "status", "list", "delete", "explain", "errors", "voices", "help")

# Slack clients turn straight quotes into curly ones as people type.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
# Slack wraps links as <https://…> or <https://…|label> even with should_escape off.
_SLACK_LINK = re.compile(r"<((?:https?|ftp|file)://[^|>]+)(?:\|[^>]*)?>")
_KEY_VALUE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$", re.S)

CREATE_KEYS = {"voice", "name", "video", "consent", "image"}


class CommandError(ValueError):
    """The text could not be understood; the message says what to type instead."""


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    # Set when the person typed a subcommand we do not know, so help can say so.
    unknown: str | None = None


@dataclass(frozen=True)
class CreateArgs:
    image_url: str | None
    video_url: str | None
    consent_url: str | None
    voice: str | None
    name: str | None


def tokenize(text: str) -> list[str]:
    cleaned = _SLACK_LINK.sub(r"\1", text.translate(_QUOTES)).strip()
    try:
        return shlex.split(cleaned)
    except ValueError:
        raise CommandError(
            'A quote is not closed. Put quotes around the whole value, like `name="Ana Demo"`.'
        ) from None


def parse(text: str) -> ParsedCommand:
    tokens = tokenize(text or "")
    if not tokens:
        return ParsedCommand("help")
    head, rest = tokens[0].lower(), tokens[1:]
    if head not in SUBCOMMANDS:
        return ParsedCommand("help", unknown=tokens[0])
    args: list[str] = []
    options: dict[str, str] = {}
    for token in rest:
        match = _KEY_VALUE.match(token)
        if match and not token.lower().startswith(("http://", "https://")):
            key = match.group(1).lower()
            if key in options:
                raise CommandError(f"`{key}=` is given twice; keep one.")
            options[key] = match.group(2).strip()
        else:
            args.append(token)
    return ParsedCommand(head, tuple(args), options)


def create_args(command: ParsedCommand) -> CreateArgs:
    """Validate the shape of `create` (not the image itself: preflight does that)."""
    unknown = sorted(set(command.options) - CREATE_KEYS)
    if unknown:
        raise CommandError(f"I don't know `{unknown[0]}=`. Use `voice=`, `name=`, `video=` and `consent=`.")
    if len(command.args) > 1:
        raise CommandError(
            'Give one image link. If the name has spaces, put it in quotes: `name="Ana Demo"`.'
        )
    if command.args and command.options.get("image"):
        raise CommandError("Give the image link once: either on its own or as `image=`, not both.")
    image = command.options.get("image") or (command.args[0] if command.args else None)
    video = command.options.get("video") or None
    if image and video:
        raise CommandError("Give either an image link or `video=<url>`, not both.")
    consent = command.options.get("consent") or None
    if consent and not video:
        raise CommandError("`consent=` goes with `video=<url>`; an image request needs no consent video.")
    name = command.options.get("name")
    if name is not None and not name.strip():
        raise CommandError('The name is empty. Try `name="Ana Demo"`.')
    voice = command.options.get("voice")
    return CreateArgs(
        image_url=image,
        video_url=video,
        consent_url=consent,
        voice=voice.strip().lower() if voice else None,
        name=name.strip() if name else None,
    )
