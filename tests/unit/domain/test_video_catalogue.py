"""Tests for the video half of the catalogue: every documented video error text, recognised tolerantly, with
our words, the video requirements and the right support address; image codes unaffected."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from bot.domain import video_catalogue
from bot.domain.catalogue import Catalogue
from tests.paths import SHARED

REFERENCE = SHARED / "reference" / "tavus-video-errors.md"
_ROW = re.compile(r"^\|\s*`(?P<key>[^`]+)`\s*\|\s*(?P<message>.+?)\s*\|\s*$")


def _reference_rows() -> list[tuple[str, str]]:
    # The reference is the source: it must be there (a clone sits next to ../shared), not skipped.
    assert REFERENCE.is_file(), f"the video error reference is missing: {REFERENCE}"
    rows = []
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if match := _ROW.match(line):
            rows.append((match["key"], match["message"]))
    return rows


ROWS = _reference_rows()
IDS = [key for key, _ in ROWS]
IMAGE_CODES = [entry.code for entry in Catalogue().entries()]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


# --- the table itself -------------------------------------------------------------------------------


def test_reference_has_27_rows_and_26_keys() -> None:
    assert len(ROWS) == 27
    assert len({video_catalogue.tavus_key(key) for key, _ in ROWS}) == 26


def test_entries_follow_the_reference_verbatim(catalogue: Catalogue) -> None:
    assert [(e.code, e.tavus_message) for e in catalogue.video_entries()] == ROWS


def test_image_entries_are_unchanged(catalogue: Catalogue) -> None:
    assert len(catalogue.entries()) == 11
    assert not any(entry.video for entry in catalogue.entries())


@pytest.mark.parametrize(("key", "message"), ROWS, ids=IDS)
def test_entry_content(catalogue: Catalogue, key: str, message: str) -> None:
    entry = catalogue.lookup(key)
    assert entry is not None and entry.code == key and entry.video
    assert entry.title and entry.explanation and len(entry.advice) >= 2
    # Our own words, not Tavus' text repeated.
    assert entry.explanation not in message
    assert entry.guideline_url == "https://docs.tavus.io/sections/replica/train-with-a-video"


def test_requirements_are_the_documented_ones() -> None:
    text = video_catalogue.VIDEO_REQUIREMENTS
    for fact in ("30 s", "speaking", "listening", "1080p", "25 %", "750 MB", "MP4", "H.264", "25 fps"):
        assert fact in text


def test_video_links_follow_the_configured_docs_base() -> None:
    catalogue = Catalogue("https://docs.example.test/")
    urls = {entry.guideline_url for entry in catalogue.video_entries()}
    assert urls == {"https://docs.example.test/sections/replica/train-with-a-video"}
    assert catalogue.video_guideline_url == "https://docs.example.test/sections/replica/train-with-a-video"


# --- every text, and its variants ---------------------------------------------------------------------


def _reopen(message: str) -> str:
    """The same text under the other opening the docs mention ("an error" ⇄ "an issue")."""
    for old, new in (
        ("There was an issue", "There was an error"),
        ("There was an error", "There was an issue"),
        ("There was a quality issue", "There was an issue"),
    ):
        if message.startswith(old):
            return new + message[len(old) :]
    return message


VARIANTS: dict[str, Callable[[str], str]] = {
    "verbatim": lambda m: m,
    "upper": str.upper,
    "lower": str.lower,
    "collapsed-whitespace": lambda m: " ".join(m.split()),
    "extra-whitespace": lambda m: "  " + m.replace(" ", " \n ") + "\t",
    "no-final-punctuation": lambda m: m.rstrip(".!"),
    "final-period": lambda m: m.rstrip(".") + ".",
    "other-opening": _reopen,
    "error-prefix": lambda m: "Error: " + m,
    "code-prefix": lambda m: "VideoTrainingError: " + m,
    "extra-trailing-text": lambda m: m + " (request id 8f2c, please try again later)",
    "no-punctuation": lambda m: re.sub(r"[^\w\s@-]", "", m),
    "curly-apostrophes": lambda m: m.replace("'", "’"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(("key", "message"), ROWS, ids=IDS)
def test_every_text_maps_to_its_key(catalogue: Catalogue, key: str, message: str, variant: str) -> None:
    result = catalogue.explain(VARIANTS[variant](message))
    assert result.entry is not None, f"{variant} of {key} not recognised"
    assert result.entry.code == key


@pytest.mark.parametrize(("key", "message"), ROWS, ids=IDS)
def test_key_as_a_prefix_is_tolerated(catalogue: Catalogue, key: str, message: str) -> None:
    result = catalogue.explain(f"{video_catalogue.tavus_key(key)}: {message}")
    assert result.entry is not None and result.entry.code == key


@pytest.mark.parametrize(("key", "message"), ROWS, ids=IDS)
def test_a_reworded_word_is_tolerated(catalogue: Catalogue, key: str, message: str) -> None:
    words = message.split()
    # Drop one word from the middle of the distinctive part.
    reworded = " ".join(words[: len(words) * 2 // 3] + words[len(words) * 2 // 3 + 1 :])
    result = catalogue.explain(reworded)
    assert result.entry is not None and result.entry.code == key


@pytest.mark.parametrize(
    ("opening", "key"),
    [
        ("There was an error processing your training file: ", "face_or_obstruction_detected"),
        ("There was an issue processing your training video: ", "face_or_obstruction_detected"),
        ("Training failed. ", "face_or_obstruction_detected"),
        ("An error occurred while processing your training video. ", "video_duration"),
        ("There was an issue processing your training file: ", "video_fps"),
        ("There was a quality issue with your replica. ", "video_duration"),
    ],
)
def test_a_different_opening_does_not_matter(catalogue: Catalogue, opening: str, key: str) -> None:
    message = dict(ROWS)[key]
    body = message.split(". ", 1)[1] if ": " not in message else message.split(": ", 1)[1]
    result = catalogue.explain(opening + body)
    assert result.entry is not None and result.entry.code == key


@pytest.mark.parametrize(("key", "message"), ROWS, ids=IDS)
def test_no_text_maps_to_another_key(catalogue: Catalogue, key: str, message: str) -> None:
    for other_key, other in ROWS:
        found = catalogue.explain(other).entry
        assert found is not None
        assert (found.code == key) == (other_key == key)


def test_audio_text_under_another_opening(catalogue: Catalogue) -> None:
    text = "An error occurred processing the audio in the provided training video file."
    assert (entry := catalogue.explain(text).entry) is not None and entry.code == "audio_processing"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("There was an issue processing your training video. The video is not a .mp4 file.", "video_format"),
        ("Face was not detected because it appeared too small in the frame", "video_processing (face)"),
        ("The user's hands obstructed the face during the recording.", "hands_obstructing_face"),
        ("A second person was detected in the frame.", "second_person_detected"),
    ],
)
def test_a_reworded_fragment_is_recognised(catalogue: Catalogue, text: str, key: str) -> None:
    assert (entry := catalogue.explain(text).entry) is not None and entry.code == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("The video provided is not a .mp4 file.", "video_format"),
        ("The video provided is not encoded using h.264", "video_codec"),
        (
            "Please ensure that the training video is a .mp4 file encoded using h.264",
            "video_codec_and_format",
        ),
        ("Face not detected because it appeared too small in the frame", "video_processing (face)"),
        ("Please check your video format and make sure it not damaged", "video_processing (file)"),
        (
            "Quality issue detected. For details, please reach out to Tavus support via "
            "developer-support@tavus.io",
            "quality_issue_detected",
        ),
        ("Quality issue was detected. For details and assistance, please reach out", "other_quality_issue"),
    ],
)
def test_rows_that_share_words_are_told_apart(catalogue: Catalogue, text: str, key: str) -> None:
    result = catalogue.explain(text)
    assert result.entry is not None and result.entry.code == key


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("video_fps", "video_fps"),
        ("VIDEO_FPS", "video_fps"),
        ("`video_codec_and_format`", "video_codec_and_format"),
        ("video_processing", "video_processing (file)"),
        ("video_processing (face)", "video_processing (face)"),
        ("video_processing_face", "video_processing (face)"),
        ("consent_phrase_mismatch", "consent_phrase_mismatch"),
    ],
)
def test_lookup_by_key(catalogue: Catalogue, spelling: str, code: str) -> None:
    entry = catalogue.lookup(spelling)
    assert entry is not None and entry.code == code


def test_a_key_alone_or_wrapped_is_explained(catalogue: Catalogue) -> None:
    assert (entry := catalogue.explain("video_fps").entry) is not None and entry.code == "video_fps"
    wrapped = catalogue.explain("error_type=teeth_not_visible; retry=false").entry
    assert wrapped is not None and wrapped.code == "teeth_not_visible"
    face = catalogue.explain("video_processing: " + dict(ROWS)["video_processing (face)"]).entry
    assert face is not None and face.code == "video_processing (face)"


# --- image codes are not stolen, and the other way round ---------------------------------------------


@pytest.mark.parametrize("code", IMAGE_CODES)
def test_image_codes_and_messages_still_map_as_before(catalogue: Catalogue, code: str) -> None:
    entry = catalogue.lookup(code)
    assert entry is not None
    for text in (code, f"{code}: {entry.tavus_message}", entry.tavus_message):
        found = catalogue.explain(text).entry
        assert found is not None and found.code == code and not found.video


@pytest.mark.parametrize(("key", "message"), ROWS, ids=IDS)
def test_no_video_text_is_read_as_an_image_code(catalogue: Catalogue, key: str, message: str) -> None:
    found = catalogue.explain(message).entry
    assert found is not None and found.video


def test_an_image_code_beats_video_prose(catalogue: Catalogue) -> None:
    found = catalogue.explain("ImageQualityError: " + dict(ROWS)["poor_lighting"]).entry
    assert found is not None and found.code == "ImageQualityError"


@pytest.mark.parametrize(
    "text",
    [
        "There was an issue processing your training video.",
        "There was an issue processing your training file:",
        "There was a quality issue with your replica.",
        "There was an error processing your training video. Please try again.",
        "There was an issue processing your training video. The server is busy.",
        "Quality issue.",
        "The video is great",
        "Error: something went wrong",
        "There was an error processing your training file. Please try again.",
        "Please try again with a different video file.",
        "There was an error processing your image. Please upload a sharper photo with your face visible.",
        "x " * 400,
    ],
)
def test_unrelated_text_is_not_matched(catalogue: Catalogue, text: str) -> None:
    assert catalogue.explain(text).entry is None


# --- consent statement and support addresses --------------------------------------------------------------


def test_consent_statement_has_the_name_filled_in() -> None:
    statement = video_catalogue.consent_statement("Ana Demo")
    assert statement.startswith("I, Ana Demo, am currently speaking and consent Tavus to create an AI clone")
    assert statement.endswith("look and sound like me.")
    assert "[FULL NAME]" in video_catalogue.consent_statement("  ")


@pytest.mark.parametrize(
    ("key", "address"),
    [("quality_issue_detected", "developer-support@tavus.io"), ("other_quality_issue", "support@tavus.io")],
)
def test_quality_issues_name_their_support_address(catalogue: Catalogue, key: str, address: str) -> None:
    entry = catalogue.lookup(key)
    assert entry is not None and entry.support_email == address
    assert video_catalogue.support_address(entry.tavus_message, "fallback@example.com") == address


def test_support_address_is_read_from_the_message() -> None:
    named = "Quality issue detected. Write to Video-Help@tavus.io."
    assert video_catalogue.support_address(named, "support@tavus.io") == "video-help@tavus.io"
    unnamed = "Quality issue detected."
    assert video_catalogue.support_address(unnamed, "support@tavus.io") == "support@tavus.io"
    assert video_catalogue.support_address(None, "support@tavus.io") == "support@tavus.io"
