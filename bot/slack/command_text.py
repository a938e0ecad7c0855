"""Reading what someone typed after `/replica` (or next to a photo) into a typed command. Pure: no I/O.

Slack-shaped on purpose: it undoes what Slack clients do to text (curly quotes, `<https://…|label>` links).
A `CommandError` says what could not be understood; the renderer words it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.domain.people import OUTSIDE_WORDS, SELF_WORDS, person_of
from bot.domain.requests import CreateArgs
from storage.models import Likeness

SUBCOMMANDS = (
    "create", "batch", "status", "list", "delete", "explain", "errors", "voices", "video", "talk", "audit",
    "forget", "help",
)

# Slack clients turn straight quotes into curly ones as people type.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
# Slack wraps links as <https://…> or <https://…|label> even with should_escape off.
_SLACK_LINK = re.compile(r"<((?:https?|ftp|file)://[^|>]+)(?:\|[^>]*)?>")
_KEY_VALUE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$", re.S)
# `explain` takes a code or a pasted Tavus message, apostrophes and all, so it is not split into words.
_EXPLAIN = re.compile(r"^\s*explain(?:\s+(.*?))?\s*$", re.S | re.I)
# Nor is a sample video's script: `video <face_id> [script]`, the script as typed (quotes around it optional).
_VIDEO = re.compile(r"^\s*video(?:\s+(\S+))?(?:\s+(.*?))?\s*$", re.S | re.I)
INCLUDE_ACTIVE = "--include-active"

CREATE_KEYS = {"voice", "name", "video", "consent", "image", "model", "for"}
# How Slack writes a user in a message's text, and what is not a person (`person_of` reads one).
_ANY_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_NOT_A_PERSON = re.compile(r"^<(?:#C|#G|!)[^>]*>$")


class CommandError(ValueError):
    """The text could not be understood. `problem` is one of `PROBLEMS`; `key` names the option involved."""

    PROBLEMS = frozenset(
        {
            "unclosed_quote",
            "duplicate_key",
            "unknown_key",
            "several_links",
            "image_twice",
            "image_and_video",
            "consent_without_video",
            "empty_name",
            # `for=`: a channel, @here/@channel or a user group; several people; a plain-text @name; not
            # a user at all; a mention given without `for=`.
            "for_not_a_person",
            "for_several",
            "for_plain_name",
            "for_unknown",
            "mention_without_for",
            # `forget` names no single person.
            "no_person",
        }
    )

    def __init__(self, problem: str, key: str | None = None) -> None:
        if problem not in self.PROBLEMS:
            raise ValueError(f"unknown command problem {problem!r}")
        super().__init__(f"{problem}: {key}" if key else problem)
        self.problem = problem
        self.key = key


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    # Set when the person typed a subcommand we do not know, so help can say so.
    unknown: str | None = None


def tokenize(text: str) -> list[str]:
    cleaned = _SLACK_LINK.sub(r"\1", text.translate(_QUOTES)).strip()
    try:
        return shlex.split(cleaned)
    except ValueError:
        raise CommandError("unclosed_quote") from None


def parse(text: str) -> ParsedCommand:
    if explain := _EXPLAIN.match(text or ""):
        asked = _SLACK_LINK.sub(r"\1", (explain.group(1) or "").translate(_QUOTES)).strip()
        return ParsedCommand("explain", (asked,) if asked else ())
    if video := _VIDEO.match(text or ""):
        face_id, script = (video.group(1) or "").strip("`"), _unquoted(video.group(2) or "")
        return ParsedCommand("video", tuple(arg for arg in (face_id, script) if arg))
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
                raise CommandError("duplicate_key", key)
            options[key] = match.group(2).strip()
        else:
            args.append(token)
    return ParsedCommand(head, tuple(args), options)


def _unquoted(script: str) -> str:
    """The script as typed: Slack's escaping of `&`, `<`, `>` undone, quotes around all of it (straight or
    curly) dropped, anything inside kept."""
    stripped = script.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
    if len(stripped) >= 2 and stripped[0] in "\"“'‘" and stripped[-1] in "\"”'’":
        return stripped[1:-1].strip()
    return stripped


def create_args(command: ParsedCommand) -> CreateArgs:
    """Validate the shape of `create` (not the image itself: the photo checks do that)."""
    unknown = sorted(set(command.options) - CREATE_KEYS)
    if unknown:
        raise CommandError("unknown_key", unknown[0])
    if any(_ANY_USER_MENTION.search(arg) for arg in command.args):
        raise CommandError("for_several" if "for" in command.options else "mention_without_for")
    if len(command.args) > 1:
        raise CommandError("several_links")
    if command.args and command.options.get("image"):
        raise CommandError("image_twice")
    image = command.options.get("image") or (command.args[0] if command.args else None)
    video = command.options.get("video") or None
    if image and video:
        raise CommandError("image_and_video")
    consent = command.options.get("consent") or None
    if consent and not video:
        raise CommandError("consent_without_video")
    name = command.options.get("name")
    if name is not None and not name.strip():
        raise CommandError("empty_name")
    voice = command.options.get("voice")
    # Checked against the documented models by the domain, which also knows the deployment's default.
    model = (command.options.get("model") or "").strip().lower() or None
    likeness, depicted = whose_face(command.options["for"]) if "for" in command.options else (None, None)
    return CreateArgs(
        image_url=image,
        video_url=video,
        consent_url=consent,
        voice=voice.strip().lower() if voice else None,
        name=name.strip() if name else None,
        model=model,
        likeness=likeness,
        depicted_id=depicted,
    )


def whose_face(value: str) -> tuple[Likeness, str | None]:
    """`for=` read: `me`, one person (`<@U123|ana>`, `<@U123>` or `U123`), or `outside`; the user id for a
    colleague. Whether that id is a real, active person is the domain's to check."""
    text = value.strip()
    people = [p for p in re.split(r"[\s,]+", text) if p]
    if len(people) > 1:
        raise CommandError("for_several")
    word = text.lower()
    if word in SELF_WORDS:
        return Likeness.SELF, None
    if word in OUTSIDE_WORDS:
        return Likeness.OUTSIDE, None
    if _NOT_A_PERSON.match(text):
        raise CommandError("for_not_a_person")
    if (person := person_of(text)) is not None:
        return Likeness.COLLEAGUE, person
    if text.startswith("@"):
        raise CommandError("for_plain_name")
    raise CommandError("for_unknown")


@dataclass(frozen=True)
class ForgetArgs:
    user_id: str
    include_active: bool = False


def forget_args(command: ParsedCommand) -> ForgetArgs:
    """`forget <@user> [--include-active]`: whom to forget, and whether requests in progress go too."""
    flags = {a.lower() for a in command.args if a.startswith("--")}
    people = [person for a in command.args if (person := person_of(a)) is not None]
    if len(people) != 1 or flags - {INCLUDE_ACTIVE} or len(people) + len(flags) != len(command.args):
        raise CommandError("no_person")
    return ForgetArgs(people[0], INCLUDE_ACTIVE in flags)


def as_create(text: str) -> ParsedCommand | None:
    """What a message next to a photo asks for: `create voice=anna`, or just `voice=anna name="Ana"`;
    None when it asks for something else (help)."""
    stripped = text.strip()
    parsed = parse(stripped)
    if parsed.name == "create":
        return parsed
    if parsed.name != "help" or (parsed.unknown is None and stripped):
        return None
    # Anything else next to a photo is read as options for `create`; chatty words are not image links.
    as_options = parse(f"create {stripped}")
    links = tuple(a for a in as_options.args if a.lower().startswith(("http://", "https://")))
    return ParsedCommand("create", links, as_options.options)


def audited_person(args: tuple[str, ...]) -> str | None:
    """Whom `/replica audit @user` asks about (None: everyone)."""
    if not args:
        return None
    person = person_of(args[0]) if len(args) == 1 else None
    if person is None:
        raise CommandError("no_person")
    return person
