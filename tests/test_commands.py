"""Tests for bot.commands: `/replica …` text → ParsedCommand → CreateArgs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import SUBCOMMANDS, CommandError, CreateArgs, ParsedCommand, create_args, parse

IMAGE = "https://x/a.png"
VIDEO = "https://x/v.mp4"
CONSENT = "https://x/c.mp4"


def create(text: str) -> CreateArgs:
    parsed = parse(text)
    assert parsed.name == "create"
    return create_args(parsed)


# --- happy paths -------------------------------------------------------------------------------------


def test_full_create_command() -> None:
    args = create(f'create {IMAGE} voice=anna name="Ana Demo"')
    assert args == CreateArgs(
        image_url=IMAGE, video_url=None, consent_url=None, voice="anna", name="Ana Demo"
    )


@pytest.mark.parametrize(
    "text",
    [
        f'create {IMAGE} voice=anna name="Ana Demo"',
        f'create voice=anna name="Ana Demo" {IMAGE}',
        f'create name="Ana Demo" {IMAGE} voice=anna',
        f'create name="Ana Demo" voice=anna image={IMAGE}',
    ],
)
def test_keys_in_any_order(text: str) -> None:
    args = create(text)
    assert (args.image_url, args.voice, args.name) == (IMAGE, "anna", "Ana Demo")


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('name="Ana Demo"', "Ana Demo"),
        ("name='Ana'", "Ana"),
        ("name='Ana Demo'", "Ana Demo"),
        ('"name=Ana Demo"', "Ana Demo"),
        ("name=“Ana Demo”", "Ana Demo"),
        ("name=„Ana Demo“", "Ana Demo"),
        ("name=‘Ana Demo’", "Ana Demo"),
        ("name=Ana", "Ana"),
        ('name="  Ana  "', "Ana"),
    ],
)
def test_quoted_names(fragment: str, expected: str) -> None:
    assert create(f"create {IMAGE} {fragment}").name == expected


@pytest.mark.parametrize(
    "link",
    [
        "<https://x/a.png>",
        "<https://x/a.png|label>",
        "<https://x/a.png|a label with spaces>",
        "https://x/a.png",
    ],
)
def test_slack_wrapped_links_are_unwrapped(link: str) -> None:
    assert create(f"create {link} name=Ana").image_url == "https://x/a.png"


def test_slack_wrapped_links_in_options_are_unwrapped() -> None:
    args = create(f"create video=<{VIDEO}|v> consent=<{CONSENT}> name=Ana")
    assert (args.image_url, args.video_url, args.consent_url) == (None, VIDEO, CONSENT)


def test_url_with_query_string_is_a_positional_argument() -> None:
    url = "https://x/a.png?size=large&v=2"
    parsed = parse(f"create {url}")
    assert parsed.args == (url,)
    assert parsed.options == {}


def test_video_with_consent() -> None:
    args = create(f'create video={VIDEO} consent={CONSENT} name="Ana"')
    assert args == CreateArgs(image_url=None, video_url=VIDEO, consent_url=CONSENT, voice=None, name="Ana")


def test_create_without_anything_is_valid_shape() -> None:
    # Whether an image is missing is the submission service's business; the parser accepts the shape.
    assert create("create") == CreateArgs(None, None, None, None, None)


def test_case_insensitive_subcommand_and_keys() -> None:
    parsed = parse(f"CrEaTe {IMAGE} VOICE=Anna NAME='Ana'")
    assert parsed.name == "create"
    assert parsed.options == {"voice": "Anna", "name": "Ana"}
    args = create_args(parsed)
    assert args.voice == "anna"
    assert args.name == "Ana"  # values keep their case, only the voice is normalised


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_every_subcommand_is_recognised_in_any_case(sub: str) -> None:
    assert parse(sub.upper()).name == sub
    assert parse(f"  {sub}  ").unknown is None


def test_other_subcommands_keep_their_arguments() -> None:
    assert parse("explain ImageQualityError") == ParsedCommand("explain", ("ImageQualityError",), {})
    assert parse("status `r90bbd427f71`").args == ("`r90bbd427f71`",)


# --- help ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", None])
def test_empty_text_is_help(text: str | None) -> None:
    assert parse(text) == ParsedCommand("help")  # type: ignore[arg-type]


def test_unknown_subcommand_is_help_with_unknown_set() -> None:
    parsed = parse("Frobnicate now")
    assert parsed.name == "help"
    assert parsed.unknown == "Frobnicate"  # as typed, so the reply can quote it


def test_a_bare_url_is_an_unknown_subcommand() -> None:
    parsed = parse(IMAGE)
    assert (parsed.name, parsed.unknown) == ("help", IMAGE)


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [f'create {IMAGE} name="Ana Demo', f"create {IMAGE} name='Ana", f"create {IMAGE} name=“Ana Demo"],
)
def test_unclosed_quote_is_explained(text: str) -> None:
    with pytest.raises(CommandError) as info:
        parse(text)
    message = str(info.value)
    assert "quote" in message.lower()
    assert 'name="Ana Demo"' in message  # shows what to type instead


def test_duplicate_key_is_refused() -> None:
    with pytest.raises(CommandError, match="`name=` is given twice"):
        parse(f"create {IMAGE} name=Ana NAME=Bob")


def test_unknown_key_is_refused_naming_it() -> None:
    with pytest.raises(CommandError, match="`colour=`"):
        create(f"create {IMAGE} colour=blue")


def test_two_positional_urls_are_refused() -> None:
    with pytest.raises(CommandError, match="one image link"):
        create(f"create {IMAGE} https://x/b.png")


def test_unquoted_name_with_spaces_is_refused() -> None:
    # `name=Ana Demo` leaves "Demo" as a second positional: the message tells the person to quote it.
    with pytest.raises(CommandError, match="quotes"):
        create(f"create {IMAGE} name=Ana Demo")


def test_positional_image_and_image_key_together_are_refused() -> None:
    # Two image links, one positional and one as image=: silently using one of them hides a typo.
    with pytest.raises(CommandError):
        create(f"create {IMAGE} image=https://x/b.png")


@pytest.mark.parametrize("text", [f"create {IMAGE} video={VIDEO}", f"create image={IMAGE} video={VIDEO}"])
def test_image_and_video_together_are_refused(text: str) -> None:
    with pytest.raises(CommandError, match="not both"):
        create(text)


def test_consent_without_video_is_refused() -> None:
    with pytest.raises(CommandError, match="consent="):
        create(f"create {IMAGE} consent={CONSENT}")


@pytest.mark.parametrize("fragment", ['name=""', "name=", "name='   '", "name=“ ”"])
def test_empty_name_is_refused(fragment: str) -> None:
    with pytest.raises(CommandError, match="name is empty"):
        create(f"create {IMAGE} {fragment}")


def test_command_error_is_a_value_error_with_a_single_line() -> None:
    with pytest.raises(ValueError) as info:
        parse('create name="x')
    assert "\n" not in str(info.value)


# --- fuzz ----------------------------------------------------------------------------------------------

_WORDS = ["create", "CREATE", "name", "voice", "video", "consent", "image", "https://", "http://x/"]
_ALPHABET = st.sampled_from([*"\"'“”„‘’<>|=`\\ \t\n ", *_WORDS, "ä", "漢", "🙂"])
_TEXTS = st.one_of(
    st.text(),
    st.lists(_ALPHABET, max_size=30).map("".join),
    st.lists(_ALPHABET, max_size=20).map(lambda parts: "create " + "".join(parts)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_parse_only_ever_raises_command_error(text: str) -> None:
    try:
        parsed = parse(text)
    except CommandError as exc:
        assert str(exc)
        return
    assert isinstance(parsed, ParsedCommand)
    assert parsed.name in SUBCOMMANDS
    if parsed.name == "create":
        try:
            args = create_args(parsed)
        except CommandError as exc:
            assert str(exc)
            return
        assert isinstance(args, CreateArgs)
        assert not (args.image_url and args.video_url)
        assert args.name is None or args.name.strip() == args.name != ""
