"""Tests for bot.domain.catalogue: the documented Tavus codes and the tolerant parsing of error_message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.domain.catalogue import (
    DEFAULT_DOCS_BASE_URL,
    SUPPORT_EMAIL,
    Catalogue,
    CatalogueEntry,
    ExplainedError,
)
from tests.paths import SHARED

SEEDS_DIR = SHARED / "seeds"

# Verbatim copy of the FAQ table rows (code immediately followed by message, as in the seed), so the
# tests still run where the shared folder is absent; test_embedded_table_matches_seed keeps it honest.
EMBEDDED_TABLE = """\
LookingStraightAtCameraErrorThere was an error processing your image. The main subject should face the camera with gaze directed straight ahead, as in a typical portrait. Please use a photo where you are not in profile, not turned far to the side, and not looking clearly up or down away from the lens.
HeadNotFullyInFrameErrorThere was an error processing your image. Your entire head should be visible in the frame from the top of the skull down to the chin, without the crown, forehead, or a large part of the head being cut off by the image edge. Please zoom out or reframe and try again.
ImageQualityErrorThere was an error processing your image. The photo is too blurry, poorly lit, or the subject is too small or unclear to use. Please upload a sharper, well-lit photo with your face clearly visible.
PoseNotSuitableErrorThere was an error processing your image. Your pose should be a natural, neutral stance (roughly upright, facing the camera) suitable as a default replica pose — not leaning far forward or back, lying down, or in a dramatic action pose. Please use a straighter, more neutral photo.
HeadphonesErrorThere was an error processing your image. Headphones or a headset were detected. Please use a photo without on-ear or over-ear headphones.
CelebrityFoundErrorThere was an issue processing your training file: The image appears to show a widely recognizable public figure or a clearly identifiable copyrighted character. Please use only your own likeness and material you have the right to use.
AppearsUnder18ErrorThere was an issue processing your training file: The image appears to show someone who is clearly under 18 years old. Training is only supported for adults. Please use a photo where the main subject is unambiguously 18 or older.
Phx4NonHumanLikeSubjectErrorThere was an error processing your image. The main subject must be a real human or a clearly human-shaped person (including stylized or cartoon humans). Fantasy creatures, animals, objects with faces, or non-human figures are not supported. Please use a photo with a clear human subject.
Phx4MultipleForegroundPeopleErrorThere was an error processing your image. Detect more than one face or face-like element clearly visible in the image, whether real, painted, drawn, printed. Please use a photo with a single main subject.
Phx4FaceObscuredErrorThere was an error processing your image. The face should be clearly visible and not largely covered by hands, objects, headscarf. Please use a clearer photo.
Phx4CenterFaceNotVisibleErrorThere was an error processing your image. A clear human face or head should appear in the center of the photo with facial features reasonably visible. Please reframe so your face is centered and clear, or use a different photo.
"""  # noqa: E501

CODES = [
    "LookingStraightAtCameraError",
    "HeadNotFullyInFrameError",
    "ImageQualityError",
    "PoseNotSuitableError",
    "HeadphonesError",
    "CelebrityFoundError",
    "AppearsUnder18Error",
    "Phx4NonHumanLikeSubjectError",
    "Phx4MultipleForegroundPeopleError",
    "Phx4FaceObscuredError",
    "Phx4CenterFaceNotVisibleError",
]
PHX4_CODES = [code for code in CODES if code.startswith("Phx4")]
CONSENT_CODES = ["CelebrityFoundError", "AppearsUnder18Error"]
OPENERS = ("There was an error processing your image. ", "There was an issue processing your training file: ")
PAGES = {
    "/sections/replica/train-with-an-image",
    "/sections/replica/replica-faqs",
    "/sections/replica/image-to-replica-quickstart",
}


def _parse_table(text: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for line in text.splitlines():
        for code in CODES:
            if line.startswith(code) and line[len(code) :].startswith("There was"):
                messages[code] = line[len(code) :]
    return messages


def _seed_text() -> str | None:
    seeds = sorted(SEEDS_DIR.glob("000_*.txt")) if SEEDS_DIR.is_dir() else []
    return seeds[0].read_text(encoding="utf-8") if seeds else None


SEED_TEXT = _seed_text()
SEED_MESSAGES = _parse_table(SEED_TEXT if SEED_TEXT is not None else EMBEDDED_TABLE)


def _body(message: str) -> str:
    for opener in OPENERS:
        if message.startswith(opener):
            return message[len(opener) :]
    raise AssertionError(f"message without a known opener: {message!r}")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


# --- the table itself -------------------------------------------------------------------------------


def test_seed_table_has_all_codes() -> None:
    assert sorted(SEED_MESSAGES) == sorted(CODES)


def test_embedded_table_matches_seed() -> None:
    # The seed is the source: it must be there (a clone sits next to ../shared, as in CI), not skipped.
    assert SEED_TEXT is not None, f"the seed documents are missing from {SEEDS_DIR}"
    assert _parse_table(EMBEDDED_TABLE) == SEED_MESSAGES


def test_entries_are_the_eleven_codes_in_documented_order(catalogue: Catalogue) -> None:
    assert [entry.code for entry in catalogue.entries()] == CODES


def test_no_two_entries_share_a_code(catalogue: Catalogue) -> None:
    codes = [entry.code.lower() for entry in catalogue.entries()]
    assert len(codes) == len(set(codes))


def test_entries_returns_a_copy(catalogue: Catalogue) -> None:
    catalogue.entries().clear()
    assert len(catalogue.entries()) == len(CODES)


@pytest.mark.parametrize("code", CODES)
def test_entry_content(catalogue: Catalogue, code: str) -> None:
    entry = catalogue.lookup(code)
    assert isinstance(entry, CatalogueEntry)
    assert entry.code == code
    assert 0 < len(entry.title) <= 40
    assert entry.explanation.strip()
    assert 2 <= len(entry.advice) <= 4
    assert all(item.strip() for item in entry.advice)
    assert entry.guideline_label.strip()
    assert entry.guideline_url.startswith(DEFAULT_DOCS_BASE_URL + "/")
    assert entry.guideline_url.removeprefix(DEFAULT_DOCS_BASE_URL) in PAGES


@pytest.mark.parametrize("code", CODES)
def test_tavus_message_is_verbatim_from_seed(catalogue: Catalogue, code: str) -> None:
    entry = catalogue.lookup(code)
    assert entry is not None
    assert entry.tavus_message == SEED_MESSAGES[code]


@pytest.mark.parametrize("code", CODES)
def test_explanation_and_advice_are_our_own_words(catalogue: Catalogue, code: str) -> None:
    entry = catalogue.lookup(code)
    assert entry is not None
    assert entry.explanation not in entry.tavus_message
    assert len(set(entry.advice)) == len(entry.advice)


@pytest.mark.parametrize("code", CONSENT_CODES)
def test_rights_and_age_codes_link_the_faq_and_offer_support(catalogue: Catalogue, code: str) -> None:
    entry = catalogue.lookup(code)
    assert entry is not None
    assert entry.guideline_url == catalogue.general_guideline_url
    advice = " ".join(entry.advice)
    assert SUPPORT_EMAIL in advice
    assert "same photo" in advice


@pytest.mark.parametrize("code", [code for code in CODES if code not in CONSENT_CODES])
def test_photo_problems_link_the_image_requirements(catalogue: Catalogue, code: str) -> None:
    entry = catalogue.lookup(code)
    assert entry is not None
    assert entry.guideline_url == catalogue.image_guideline_url


def test_advice_reflects_the_image_requirements(catalogue: Catalogue) -> None:
    def advice(code: str) -> str:
        entry = catalogue.lookup(code)
        assert entry is not None
        return " ".join(entry.advice).lower()

    assert "512" in advice("ImageQualityError")
    assert "glasses" in advice("HeadphonesError")
    assert "hair" in advice("Phx4FaceObscuredError")
    assert "only you" in advice("Phx4MultipleForegroundPeopleError")
    assert "18 or older" in advice("AppearsUnder18Error")


# --- lookup -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize(
    "spell",
    [
        lambda c: c,
        str.lower,
        str.upper,
        lambda c: f"  {c}\n",
        lambda c: f"`{c}`",
        lambda c: f" ``{c}`` ",
    ],
    ids=["exact", "lower", "upper", "whitespace", "backticks", "double-backticks"],
)
def test_lookup_is_tolerant_of_case_whitespace_and_backticks(
    catalogue: Catalogue, code: str, spell: Callable[[str], str]
) -> None:
    entry = catalogue.lookup(spell(code))
    assert entry is not None
    assert entry.code == code


def _other_model(code: str, prefix: str) -> str:
    return prefix + code.removeprefix("Phx4")


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("prefix", ["Phx5", "Phoenix5", "phx12", "Phoenix-5"])
def test_lookup_accepts_other_model_prefixes(catalogue: Catalogue, code: str, prefix: str) -> None:
    entry = catalogue.lookup(_other_model(code, prefix))
    assert entry is not None
    assert entry.code == code


@pytest.mark.parametrize("code", PHX4_CODES)
def test_lookup_accepts_unprefixed_model_codes(catalogue: Catalogue, code: str) -> None:
    entry = catalogue.lookup(code.removeprefix("Phx4"))
    assert entry is not None
    assert entry.code == code


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "``",
        "SomethingNewError",
        "Error",
        "ImageQuality",
        "NotImageQualityError",
        "Phx4Error",
        "18Error",
        "There was an error processing your image.",
    ],
)
def test_lookup_unknown_is_none(catalogue: Catalogue, code: str) -> None:
    assert catalogue.lookup(code) is None


# --- explain: format 1, "Code: message" ----------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("separator", [": ", ":", " - ", " – ", " — ", "\n", "  :   ", " :\n\n"])
def test_explain_code_then_message(catalogue: Catalogue, code: str, separator: str) -> None:
    raw = f"{code}{separator}{SEED_MESSAGES[code]}"
    result = catalogue.explain(f"  {raw}  ")
    assert result.known
    assert result.code == code
    assert result.entry is catalogue.lookup(code)
    assert result.raw == raw


# --- explain: format 2, the code alone -------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize(
    "spell",
    [lambda c: c, lambda c: f" {c[0].lower()}{c[1:]} ", str.lower, lambda c: f"`{c}`"],
    ids=["exact", "padded-lowercase-initial", "lower", "backticks"],
)
def test_explain_code_alone(catalogue: Catalogue, code: str, spell: Callable[[str], str]) -> None:
    spelled = spell(code)
    result = catalogue.explain(spelled)
    assert result.entry is not None
    assert result.entry.code == code
    assert result.code == spelled.strip().strip("`")
    assert result.raw == spelled.strip()


def test_explain_lowercase_initial_code_from_brief(catalogue: Catalogue) -> None:
    result = catalogue.explain(" headphonesError ")
    assert result == ExplainedError(raw="headphonesError", code="headphonesError", entry=result.entry)
    assert result.entry is not None
    assert result.entry.code == "HeadphonesError"


# --- explain: format 3, the documented message alone -------------------------------------------------


def _shouty(message: str) -> str:
    without_punctuation = "".join(ch for ch in message if ch not in ".,:()—-")
    return "   ".join(without_punctuation.upper().split())


def _reworded(message: str) -> str:
    assert "Please" in message
    return message.replace("Please", "Kindly")


MESSAGE_VARIANTS = {
    "exact": lambda m: m,
    "without-opener": _body,
    "shouty-no-punctuation": _shouty,
    "shouty-without-opener": lambda m: _shouty(_body(m)),
    "extra-whitespace": lambda m: "\n " + "  ".join(m.split()) + " \n",
    "ascii-dashes": lambda m: m.replace("—", "--").replace("–", "-"),
    "reworded": _reworded,
    "reworded-without-opener": lambda m: _reworded(_body(m)),
    "wrapped-in-other-text": lambda m: f"Replica training failed. {m} (see dashboard)",
}


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("variant", list(MESSAGE_VARIANTS))
def test_explain_message_alone(catalogue: Catalogue, code: str, variant: str) -> None:
    text = MESSAGE_VARIANTS[variant](SEED_MESSAGES[code])
    result = catalogue.explain(text)
    assert result.entry is not None
    assert result.entry.code == code
    assert result.code is None
    assert result.raw == text.strip()


@pytest.mark.parametrize(
    ("fragment", "code"),
    [
        ("Headphones or a headset were detected.", "HeadphonesError"),
        ("please use a photo with a clear human subject", "Phx4NonHumanLikeSubjectError"),
        ("Training is only supported for adults.", "AppearsUnder18Error"),
    ],
)
def test_explain_distinctive_fragment_of_a_message(catalogue: Catalogue, fragment: str, code: str) -> None:
    result = catalogue.explain(fragment)
    assert result.entry is not None
    assert result.entry.code == code


@pytest.mark.parametrize(
    "text",
    [
        "There was an error processing your image.",
        "There was an issue processing your training file:",
        "There was an error processing your image. Please try again later.",
        "There was an error processing your image. The uploaded file could not be downloaded from the URL "
        "you provided. Please check that it is publicly accessible.",
        "There was an error processing your image. The image file is corrupt or in an unsupported format. "
        "Please upload a JPG or PNG.",
        "There was an error processing your image. The photo is too large. Please upload a smaller photo "
        "with your face visible.",
        "Please use a photo.",
        "The voice_name you provided does not match any stock voice.",
    ],
)
def test_explain_does_not_match_unrelated_text(catalogue: Catalogue, text: str) -> None:
    result = catalogue.explain(text)
    assert result.entry is None
    assert not result.known
    assert result.raw == text


# --- explain: format 4, another model prefix ---------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("prefix", ["Phx5", "Phoenix5"])
@pytest.mark.parametrize("with_message", [True, False], ids=["with-message", "code-alone"])
def test_explain_other_model_prefix(catalogue: Catalogue, code: str, prefix: str, with_message: bool) -> None:
    reported = _other_model(code, prefix)
    text = f"{reported}: {SEED_MESSAGES[code]}" if with_message else reported
    result = catalogue.explain(text)
    assert result.entry is not None
    assert result.entry.code == code
    assert result.code == reported


@pytest.mark.parametrize("code", PHX4_CODES)
def test_explain_unprefixed_model_code(catalogue: Catalogue, code: str) -> None:
    reported = code.removeprefix("Phx4")
    result = catalogue.explain(f"{reported}: {_body(SEED_MESSAGES[code])}")
    assert result.entry is not None
    assert result.entry.code == code
    assert result.code == reported


def test_explain_examples_from_brief(catalogue: Catalogue) -> None:
    obscured = catalogue.explain("Phx5FaceObscuredError: The face should be clearly visible.")
    assert obscured.code == "Phx5FaceObscuredError"
    assert obscured.entry is catalogue.lookup("Phx4FaceObscuredError")
    several = catalogue.explain("Phoenix5MultipleForegroundPeopleError")
    assert several.code == "Phoenix5MultipleForegroundPeopleError"
    assert several.entry is catalogue.lookup("Phx4MultipleForegroundPeopleError")


# --- explain: unknown, empty, embedded ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Internal training failure 0x12", None),
        ("SomethingNewError: blah", "SomethingNewError"),
        ("  SomethingNewError - blah  ", "SomethingNewError"),
        ("Training failed (Phx9TeethNotVisibleError): show your teeth", "Phx9TeethNotVisibleError"),
        ("INTERNAL_ERROR: worker crashed", "INTERNAL_ERROR"),
        ("An error occurred: the terror of errors", None),
        ("Error: something went wrong", None),
    ],
)
def test_explain_unknown_keeps_raw(catalogue: Catalogue, text: str, code: str | None) -> None:
    result = catalogue.explain(text)
    assert result == ExplainedError(raw=text.strip(), code=code, entry=None)
    assert not result.known


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_explain_empty(catalogue: Catalogue, text: str | None) -> None:
    assert catalogue.explain(text) == ExplainedError(raw="", code=None, entry=None)


@pytest.mark.parametrize(
    ("text", "reported", "code"),
    [
        ("Training failed (ImageQualityError): photo unusable", "ImageQualityError", "ImageQualityError"),
        ("Replica r123 failed with `HeadphonesError`.", "HeadphonesError", "HeadphonesError"),
        ("error_code=Phx4FaceObscuredError; retry=false", "Phx4FaceObscuredError", "Phx4FaceObscuredError"),
        (
            "Rejected [Phx5CenterFaceNotVisibleError] by model",
            "Phx5CenterFaceNotVisibleError",
            "Phx4CenterFaceNotVisibleError",
        ),
        ("We saw: AppearsUnder18Error. Sorry.", "AppearsUnder18Error", "AppearsUnder18Error"),
        ("HeadNotFullyInFrameError-Head cut off", "HeadNotFullyInFrameError", "HeadNotFullyInFrameError"),
    ],
)
def test_explain_code_embedded_in_sentence(catalogue: Catalogue, text: str, reported: str, code: str) -> None:
    result = catalogue.explain(text)
    assert result.entry is not None
    assert result.entry.code == code
    assert result.code == reported
    assert result.raw == text


def test_explain_code_wins_over_a_different_message(catalogue: Catalogue) -> None:
    result = catalogue.explain(f"HeadphonesError: {SEED_MESSAGES['Phx4FaceObscuredError']}")
    assert result.entry is catalogue.lookup("HeadphonesError")


def test_explain_unknown_code_with_documented_message_uses_the_message(catalogue: Catalogue) -> None:
    result = catalogue.explain(f"Phx9NewFaceError: {SEED_MESSAGES['Phx4FaceObscuredError']}")
    assert result.code == "Phx9NewFaceError"
    assert result.entry is catalogue.lookup("Phx4FaceObscuredError")


def test_explain_survives_very_long_input(catalogue: Catalogue) -> None:
    text = "x" * 200_000 + " ImageQualityError"
    result = catalogue.explain("ImageQualityError " + text)
    assert result.entry is catalogue.lookup("ImageQualityError")
    assert catalogue.explain("word " * 50_000).entry is None


# --- links and contact -----------------------------------------------------------------------------------


def test_default_links(catalogue: Catalogue) -> None:
    assert catalogue.general_guideline_url == "https://docs.tavus.io/sections/replica/replica-faqs"
    assert catalogue.image_guideline_url == "https://docs.tavus.io/sections/replica/train-with-an-image"
    assert catalogue.support_email == SUPPORT_EMAIL == "support@tavus.io"


@pytest.mark.parametrize("base", ["http://localhost:8080/docs-mirror", "http://localhost:8080/docs-mirror/"])
def test_base_url_is_configurable(base: str) -> None:
    custom = Catalogue(docs_base_url=base)
    root = "http://localhost:8080/docs-mirror"
    assert custom.general_guideline_url == root + "/sections/replica/replica-faqs"
    assert custom.image_guideline_url == root + "/sections/replica/train-with-an-image"
    for entry in custom.entries():
        assert entry.guideline_url.startswith(root + "/sections/replica/")
        assert entry.guideline_url.removeprefix(root) in PAGES
        assert DEFAULT_DOCS_BASE_URL not in entry.guideline_url
    assert custom.explain("ImageQualityError").entry is custom.lookup("ImageQualityError")


@pytest.mark.parametrize("base", ["", "docs.tavus.io", "ftp://docs.tavus.io"])
def test_base_url_must_be_http(base: str) -> None:
    with pytest.raises(ValueError):
        Catalogue(docs_base_url=base)


def test_values_are_immutable(catalogue: Catalogue) -> None:
    entry = catalogue.entries()[0]
    with pytest.raises(AttributeError):
        entry.title = "changed"  # type: ignore[misc]
    assert hash(catalogue.explain("ImageQualityError")) == hash(catalogue.explain("ImageQualityError"))
