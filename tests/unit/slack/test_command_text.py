"""Tests for bot.slack.command_text: `/replica …` text → ParsedCommand → CreateArgs, and the words
`bot.slack.render.refusals.command_error_text` gives each `CommandError`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.requests import CreateArgs, Likeness
from bot.slack.command_text import (
    SUBCOMMANDS,
    CommandError,
    ForgetArgs,
    ParsedCommand,
    as_create,
    create_args,
    forget_args,
    parse,
)
from bot.slack.render.refusals import command_error_text

IMAGE = "https://x/a.png"
VIDEO = "https://x/v.mp4"
CONSENT = "https://x/c.mp4"


def create(text: str) -> CreateArgs:
    parsed = parse(text)
    assert parsed.name == "create"
    return create_args(parsed)


def refusal(text: str) -> CommandError:
    """The CommandError that parsing `text` as `create` raises."""
    with pytest.raises(CommandError) as info:
        create(text)
    return info.value


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


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("video r90bbd427f71", ("r90bbd427f71",)),
        ("video `r90bbd427f71`", ("r90bbd427f71",)),
        ("video", ()),
        # The script as typed: apostrophes, several sentences, Slack's &amp; escaping undone, quotes dropped.
        ("video r1 Hi, I'm Ana. It's me & you.", ("r1", "Hi, I'm Ana. It's me & you.")),
        ("video r1 Tom &amp; Jerry &lt;3", ("r1", "Tom & Jerry <3")),
        ('video r1 “Hello there”', ("r1", "Hello there")),
        ("VIDEO r1   two  spaces ", ("r1", "two  spaces")),
        ("talk r90bbd427f71", ("r90bbd427f71",)),
        ("talk", ()),
    ],
)
def test_video_and_talk_take_a_face_id_and_video_a_script(text: str, args: tuple[str, ...]) -> None:
    parsed = parse(text)
    assert parsed.name == text.split()[0].lower() and parsed.args == args


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
    assert info.value.problem == "unclosed_quote"
    message = command_error_text(info.value)
    assert "quote" in message.lower()
    assert 'name="Ana Demo"' in message  # shows what to type instead


def test_duplicate_key_is_refused() -> None:
    with pytest.raises(CommandError) as info:
        parse(f"create {IMAGE} name=Ana NAME=Bob")
    assert (info.value.problem, info.value.key) == ("duplicate_key", "name")
    assert "`name=` is given twice" in command_error_text(info.value)


def test_unknown_key_is_refused_naming_it() -> None:
    error = refusal(f"create {IMAGE} colour=blue")
    assert (error.problem, error.key) == ("unknown_key", "colour")
    assert "`colour=`" in command_error_text(error)


def test_two_positional_urls_are_refused() -> None:
    error = refusal(f"create {IMAGE} https://x/b.png")
    assert error.problem == "several_links"
    assert "one image link" in command_error_text(error)


def test_unquoted_name_with_spaces_is_refused() -> None:
    # `name=Ana Demo` leaves "Demo" as a second positional: the message tells the person to quote it.
    error = refusal(f"create {IMAGE} name=Ana Demo")
    assert "quotes" in command_error_text(error)


def test_positional_image_and_image_key_together_are_refused() -> None:
    # Two image links, one positional and one as image=: silently using one of them hides a typo.
    assert refusal(f"create {IMAGE} image=https://x/b.png").problem == "image_twice"


@pytest.mark.parametrize("text", [f"create {IMAGE} video={VIDEO}", f"create image={IMAGE} video={VIDEO}"])
def test_image_and_video_together_are_refused(text: str) -> None:
    error = refusal(text)
    assert error.problem == "image_and_video"
    assert "not both" in command_error_text(error)


def test_consent_without_video_is_refused() -> None:
    error = refusal(f"create {IMAGE} consent={CONSENT}")
    assert error.problem == "consent_without_video"
    assert "consent=" in command_error_text(error)


@pytest.mark.parametrize("fragment", ['name=""', "name=", "name='   '", "name=“ ”"])
def test_empty_name_is_refused(fragment: str) -> None:
    error = refusal(f"create {IMAGE} {fragment}")
    assert error.problem == "empty_name"
    assert "name is empty" in command_error_text(error)


def test_command_error_is_a_value_error_with_a_single_line() -> None:
    with pytest.raises(ValueError) as info:
        parse('create name="x')
    assert isinstance(info.value, CommandError)
    assert "\n" not in str(info.value)
    assert "\n" not in command_error_text(info.value)


@pytest.mark.parametrize("problem", sorted(CommandError.PROBLEMS))
def test_every_problem_has_single_line_words(problem: str) -> None:
    words = command_error_text(CommandError(problem, "name"))
    assert words and "\n" not in words


def test_a_typed_key_is_escaped_in_the_words() -> None:
    words = command_error_text(CommandError("unknown_key", "<!channel>"))
    assert "<!channel>" not in words and "&lt;!channel&gt;" in words


def test_an_unknown_problem_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown command problem"):
        CommandError("no_such_problem")


# --- what a message next to a photo asks for -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("create voice=anna", ParsedCommand("create", (), {"voice": "anna"})),
        ('voice=anna name="Ana Demo"', ParsedCommand("create", (), {"voice": "anna", "name": "Ana Demo"})),
        ("", ParsedCommand("create", (), {})),
        (f"here is my photo {IMAGE} voice=liam", ParsedCommand("create", (IMAGE,), {"voice": "liam"})),
        ("help", None),
        ("status r90bbd427f71", None),
    ],
)
def test_as_create_reads_a_message_next_to_a_photo(text: str, expected: ParsedCommand | None) -> None:
    assert as_create(text) == expected


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
        assert command_error_text(exc)
        return
    assert isinstance(parsed, ParsedCommand)
    assert parsed.name in SUBCOMMANDS
    if parsed.name == "create":
        try:
            args = create_args(parsed)
        except CommandError as exc:
            assert str(exc)
            assert command_error_text(exc)
            return
        assert isinstance(args, CreateArgs)
        assert not (args.image_url and args.video_url)
        assert args.name is None or args.name.strip() == args.name != ""


# --- for=: whose face it is ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "likeness", "person"),
    [
        ("for=me", Likeness.SELF, None),
        ("for=ME", Likeness.SELF, None),
        ("for=<@U0ANA|ana>", Likeness.COLLEAGUE, "U0ANA"),
        ("for=<@U0ANA>", Likeness.COLLEAGUE, "U0ANA"),
        ("for=U0ANA", Likeness.COLLEAGUE, "U0ANA"),
        ("for=W0ENTERPRISE", Likeness.COLLEAGUE, "W0ENTERPRISE"),
        ("for=outside", Likeness.OUTSIDE, None),
        ("for=synthetic", Likeness.OUTSIDE, None),
    ],
)
def test_for_names_whose_face_it_is(written: str, likeness: Likeness, person: str | None) -> None:
    args = create(f"create {IMAGE} voice=anna {written}")
    assert (args.likeness, args.depicted_id) == (likeness, person)


def test_without_for_nothing_is_said_about_the_face() -> None:
    args = create(f"create {IMAGE} voice=anna")
    assert (args.likeness, args.depicted_id) == (None, None)


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("for=<#C0GENERAL|general>", "for_not_a_person"),
        ("for=<!here>", "for_not_a_person"),
        ("for=<!channel>", "for_not_a_person"),
        ("for=<!subteam^S0TEAM|@team>", "for_not_a_person"),
        ('for="<@U0ANA> <@U0BOB>"', "for_several"),
        ("for=<@U0ANA>,<@U0BOB>", "for_several"),
        ("for=<@U0ANA> <@U0BOB>", "for_several"),
        ("for=@ana", "for_plain_name"),
        ("for=ana", "for_unknown"),
        ("for=", "for_unknown"),
        ("<@U0ANA>", "mention_without_for"),
    ],
)
def test_for_that_names_no_single_person_is_refused(written: str, problem: str) -> None:
    refused = refusal(f"create {IMAGE} voice=anna {written}")
    assert refused.problem == problem
    words = command_error_text(refused)
    # Each refusal says what to write instead.
    assert "for=@ana" in words and "for=me" in words


def test_a_mention_after_for_survives_in_a_message_next_to_a_photo() -> None:
    parsed = as_create("for=<@U0ANA> voice=anna")
    assert parsed is not None
    assert create_args(parsed).depicted_id == "U0ANA"
# --- forget ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "user", "include_active"),
    [
        ("forget <@U123|ana>", "U123", False),
        ("forget <@U123>", "U123", False),
        ("forget U123 --include-active", "U123", True),
        ("FORGET <@W9ABC|x.y> --INCLUDE-ACTIVE", "W9ABC", True),
    ],
)
def test_forget_reads_one_person_and_the_flag(text: str, user: str, include_active: bool) -> None:
    assert forget_args(parse(text)) == ForgetArgs(user, include_active)


@pytest.mark.parametrize(
    "text", ["forget", "forget bob", "forget <@U1> <@U2>", "forget <!channel>", "forget <@U1> --all"]
)
def test_forget_refuses_anything_but_one_person(text: str) -> None:
    with pytest.raises(CommandError) as info:
        forget_args(parse(text))
    assert info.value.problem == "no_person"
