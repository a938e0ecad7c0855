"""Tests for bot.slack.errors, the one error mapper: every refusal becomes words that say what to do instead,
with anything a person typed escaped; anything else becomes a short reference id, logged with its traceback
and never shown. Also the stored submit errors in words (`bot.slack.render.refusals.submit_error_text`)."""

from __future__ import annotations

import inspect
import logging
import re
from datetime import timedelta

import pytest

from bot.domain import errors as domain_errors
from bot.domain.errors import (
    Action,
    AllowanceUsed,
    AlreadyConfirmed,
    AlreadyDecided,
    AlreadyDeleted,
    AlreadyRunning,
    CannotAutoFix,
    ChannelNotAllowed,
    ConfirmationExpired,
    DeleteTooSoon,
    DeletionNotConfirmed,
    FaceNotUsable,
    MissingPhoto,
    MissingVoice,
    NoApprover,
    NoImageTraining,
    NoMediaStore,
    NothingToRetry,
    NotPermitted,
    OutsideNotAllowed,
    OwnRequest,
    PersonCannotConsent,
    PersonProblem,
    PhotoFlagged,
    Refusal,
    ReplicaNotVisible,
    RequestGone,
    ScriptRefused,
    SubmissionFailed,
    SubmitProblem,
    TavusDeclined,
    TryFaceOff,
    TryOnlyInChannel,
    UnknownFace,
    UnknownModel,
    UnknownVoice,
)
from bot.domain.requests import SubmitError
from bot.domain.try_face.faces import USABLE
from bot.photos.offline_check import CODES, Finding
from bot.photos.refusals import FetchRefusal, PreflightRefusal
from bot.slack import render
from bot.slack.command_text import CommandError
from bot.slack.errors import field_error, refusal_message, unexpected, user_message
from bot.slack.render import Message
from bot.slack.render.refusals import submit_error_text, submit_problem_text
from bot.tavus.phoenix import DOCUMENTED_MODELS
from storage.job_models import JobKind
from storage.models import RequestStatus, utcnow
from tests.unit.slack.test_render import CATALOGUE, HOSTILE, assert_no_live_mentions, make_request, rendered

VOICES = ("anna", "liam")
ESCAPED = "&lt;!channel&gt;"
REFERENCE = re.compile(r"\b[0-9a-f]{8}\b")


def _domain_refusals() -> list[tuple[str, Refusal, bool]]:
    """One of each refusal in bot.domain.errors (each action, each outcome); True where a person typed
    something the words echo, which is HOSTILE here."""
    return [
        ("MissingPhoto", MissingPhoto(), False),
        ("MissingVoice", MissingVoice(VOICES), False),
        ("UnknownVoice", UnknownVoice(HOSTILE, VOICES), True),
        ("UnknownModel", UnknownModel(HOSTILE, DOCUMENTED_MODELS), True),
        ("NoImageTraining", NoImageTraining("phoenix-3", ("phoenix-4.5", "phoenix-4")), False),
        ("ChannelNotAllowed", ChannelNotAllowed(("C0ALLOWED", "C0OTHER")), False),
        ("NoMediaStore", NoMediaStore(), False),
        ("RequestGone", RequestGone(), False),
        *(
            (f"NotPermitted-{action}", NotPermitted(action, "UREQ42", HOSTILE),
             action in (Action.RETRY, Action.CHOOSE, Action.TRY))
            for action in Action
        ),
        ("AlreadyConfirmed", AlreadyConfirmed(), False),
        ("CannotAutoFix", CannotAutoFix(), False),
        ("ConfirmationExpired", ConfirmationExpired(), False),
        ("NothingToRetry-completed", NothingToRetry(HOSTILE, completed=True), True),
        ("NothingToRetry-under-way", NothingToRetry(HOSTILE, completed=False), True),
        ("ReplicaNotVisible", ReplicaNotVisible(HOSTILE), True),
        ("AlreadyDeleted", AlreadyDeleted(HOSTILE), True),
        ("DeleteTooSoon", DeleteTooSoon(HOSTILE, timedelta(minutes=42)), True),
        ("DeletionNotConfirmed", DeletionNotConfirmed(), False),
        *(
            (f"PersonCannotConsent-{problem}", PersonCannotConsent("U0ANA", problem), False)
            for problem in PersonProblem
        ),
        ("OutsideNotAllowed", OutsideNotAllowed(), False),
        ("NoApprover", NoApprover(), False),
        ("OwnRequest", OwnRequest(), False),
        *((f"AlreadyDecided-{status}", AlreadyDecided(status), False) for status in RequestStatus),
        ("TryFaceOff", TryFaceOff(), False),
        ("UnknownFace", UnknownFace(HOSTILE), True),
        *(
            (f"FaceNotUsable-{status}", FaceNotUsable(HOSTILE, "r1", status), True)
            for status in RequestStatus
            if status not in USABLE
        ),
        ("TryOnlyInChannel", TryOnlyInChannel(HOSTILE, "C0FACE"), True),
        ("ScriptRefused-empty", ScriptRefused(0, 400), False),
        ("ScriptRefused-too-long", ScriptRefused(512, 400), False),
        *(
            (f"AllowanceUsed-{kind}", AllowanceUsed(kind, HOSTILE, 3, 3, ("UADMIN1",)), True)
            for kind in JobKind
        ),
        ("AllowanceUsed-no-admins", AllowanceUsed(JobKind.VIDEO, HOSTILE, 1, 1, ()), True),
        ("AlreadyRunning-video", AlreadyRunning(JobKind.VIDEO, HOSTILE, "UASKER"), True),
        ("AlreadyRunning-call", AlreadyRunning(JobKind.CALL, HOSTILE, "UASKER", utcnow()), True),
        ("AlreadyRunning-call-starting", AlreadyRunning(JobKind.CALL, HOSTILE, "UASKER"), True),
        *(
            (f"TavusDeclined-{problem}", TavusDeclined(JobKind.CALL, problem, HOSTILE),
             problem == SubmitProblem.TAVUS_REFUSED)
            for problem in SubmitProblem
        ),
    ]


def _hostile_findings() -> tuple[Finding, ...]:
    # `side` is the one measurement echoed as written.
    return tuple(
        Finding(kind, code, subject="face", side=HOSTILE, count=2, share=0.4, threshold=0.3)
        for kind, code in CODES.items()
    )


# PreflightRefusal reasons (the file) and FetchRefusal reasons and causes (the link), with their facts.
_FILE_REFUSALS = [
    PreflightRefusal("empty", size=0),
    PreflightRefusal("too_large", size=12 * 1024 * 1024, limit=10 * 1024 * 1024),
    PreflightRefusal("html_page"),
    PreflightRefusal("html_page", cause="slack_sign_in"),
    PreflightRefusal("not_an_image"),
    PreflightRefusal("unsupported_format", file_format="HEIC"),
    PreflightRefusal("unsupported_format", file_format="QOI"),
    PreflightRefusal("truncated", file_format="JPEG"),
    PreflightRefusal("decompression_bomb", width=30000, height=30000, limit=90_000_000),
    PreflightRefusal("decompression_bomb", limit=90_000_000),
    PreflightRefusal("too_small", width=300, height=200, limit=512),
]
_LINK_REFUSALS = [
    FetchRefusal("too_large", host="img.example.com", limit=20 * 1024 * 1024),
    FetchRefusal("bad_url"),
    FetchRefusal("bad_url", cause="not_slack"),
    FetchRefusal("bad_scheme", scheme="ftp"),
    FetchRefusal("private_address", host="10.0.0.1"),
    FetchRefusal("download_failed", host="nowhere.example", cause="host_not_found"),
    FetchRefusal(
        "download_failed",
        host="img.example.com",
        http_status=304,
        status_text="Not Modified",
        cause="not_a_file",
    ),
    FetchRefusal("download_failed", host="img.example.com", cause="no_location"),
    FetchRefusal("download_failed", cause="no_link"),
    FetchRefusal("download_failed", host="img.example.com", cause="unreachable"),
    *(
        FetchRefusal("http_error", host="img.example.com", http_status=status, status_text="Nope")
        for status in (401, 403, 404, 410, 429, 500, 503, 418)
    ),
    FetchRefusal("too_many_redirects", host="img.example.com", limit=5),
    FetchRefusal("timeout", host="img.example.com", seconds=20.0),
]
_PHOTO_REFUSALS = _FILE_REFUSALS + _LINK_REFUSALS


def _command_errors() -> list[CommandError]:
    return [CommandError(problem, HOSTILE) for problem in sorted(CommandError.PROBLEMS)]


def _submission_failures() -> list[SubmissionFailed]:
    return [SubmissionFailed(problem, HOSTILE) for problem in SubmitProblem]


def _every_refusal() -> list[tuple[str, BaseException]]:
    return [
        *((name, error) for name, error, _ in _domain_refusals()),
        *((f"CommandError-{e.problem}", e) for e in _command_errors()),
        *(
            (f"{type(e).__name__}-{e.reason}-{e.cause}-{getattr(e, 'http_status', None)}", e)
            for e in _PHOTO_REFUSALS
        ),
        *((f"SubmissionFailed-{e.problem}", e) for e in _submission_failures()),
        ("PhotoFlagged", PhotoFlagged(_hostile_findings())),
    ]


REFUSALS = _every_refusal()


def assert_words(message: Message) -> str:
    """Non-empty words, no stack trace, no live mention; returns everything shown, joined."""
    texts = rendered(message)
    assert message.text.strip()
    joined = "\n".join(texts)
    assert "Traceback" not in joined
    assert_no_live_mentions(texts)
    return joined


# --- every refusal has words ----------------------------------------------------------------------------


def test_every_refusal_type_in_the_domain_is_covered() -> None:
    declared = {
        cls
        for _, cls in inspect.getmembers(domain_errors, inspect.isclass)
        if issubclass(cls, Refusal) and cls is not Refusal
    }
    covered = {type(error) for _, error in REFUSALS}
    assert declared <= covered, declared - covered


def test_every_photo_refusal_reason_is_covered() -> None:
    assert {e.reason for e in _FILE_REFUSALS} == PreflightRefusal.REASONS
    assert {e.reason for e in _LINK_REFUSALS} | PreflightRefusal.REASONS == FetchRefusal.REASONS


@pytest.mark.parametrize("error", [e for _, e in REFUSALS], ids=[name for name, _ in REFUSALS])
def test_a_refusal_becomes_words_not_a_reference(
    error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        message = user_message(error, CATALOGUE)
    assert_words(message)
    assert refusal_message(error, CATALOGUE) == message
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a refusal is not a bug
    assert "something went wrong on my side (reference" not in message.text.lower()


@pytest.mark.parametrize(
    ("error", "echoes"),
    [(e, echoes) for _, e, echoes in _domain_refusals()],
    ids=[name for name, _, _ in _domain_refusals()],
)
def test_what_a_person_typed_is_escaped_in_domain_refusals(error: Refusal, echoes: bool) -> None:
    joined = assert_words(user_message(error, CATALOGUE))
    if echoes:
        assert ESCAPED in joined and "Tom &amp; Jerry" in joined


@pytest.mark.parametrize("error", _command_errors(), ids=lambda e: e.problem)
def test_command_errors_are_single_line_and_escape_the_key(error: CommandError) -> None:
    message = user_message(error, CATALOGUE)
    joined = assert_words(message)
    assert message.text.startswith(":warning: ")
    assert "\n" not in message.text
    if error.problem in ("duplicate_key", "unknown_key"):
        assert ESCAPED in joined


@pytest.mark.parametrize("error", _submission_failures(), ids=lambda e: str(e.problem))
def test_submission_failed_says_nothing_was_created_and_escapes_tavus(error: SubmissionFailed) -> None:
    message = user_message(error, CATALOGUE)
    assert_words(message)
    assert "Nothing was created" in message.text
    assert submit_problem_text(error.problem, None)  # words even without a detail
    assert str(error.problem) not in message.text  # the stored code is not shown
    if error.problem == SubmitProblem.TAVUS_REFUSED:
        assert f"Tavus said: {ESCAPED}" in message.text


def test_photo_flagged_is_the_photo_refusal_with_its_findings() -> None:
    findings = _hostile_findings()
    message = user_message(PhotoFlagged(findings), CATALOGUE)
    joined = assert_words(message)
    assert message == render.photo_refused(findings, CATALOGUE)
    assert ESCAPED in joined
    for code in set(CODES.values()):
        entry = CATALOGUE.lookup(code)
        assert entry is not None and entry.title in joined


@pytest.mark.parametrize("error", _PHOTO_REFUSALS, ids=lambda e: f"{e.reason}-{e.cause}")
def test_photo_refusals_say_nothing_was_sent_and_give_the_checklist(error: PreflightRefusal) -> None:
    message = user_message(error, CATALOGUE)
    assert_words(message)
    assert message.text.startswith(":warning: I did not send this to Tavus: ")
    assert render.IMAGE_REQUIREMENTS in message.text
    assert "None" not in message.text  # every fact the words use is filled in


def test_a_hostile_reason_phrase_from_a_linked_server_is_escaped() -> None:
    # The reason phrase is whatever the server at the pasted link sent back.
    for error in (
        FetchRefusal("http_error", host="img.example.com", http_status=404, status_text=HOSTILE),
        FetchRefusal(
            "download_failed",
            host="img.example.com",
            http_status=304,
            status_text=HOSTILE,
            cause="not_a_file",
        ),
    ):
        joined = assert_words(user_message(error, CATALOGUE))
        assert ESCAPED in joined


def test_field_error_is_the_same_words_without_the_warning_sign() -> None:
    error = UnknownVoice("zed", VOICES)
    words = field_error(error, CATALOGUE)
    assert words and not words.startswith(":warning:")
    assert user_message(error, CATALOGUE).text.endswith(words)


# --- anything else becomes a reference ------------------------------------------------------------------


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:  # raised only to give it a traceback
        return caught


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), KeyError("boom"), ValueError("boom <!channel>"), Refusal("boom")],
    ids=["RuntimeError", "KeyError", "ValueError", "bare Refusal"],
)
def test_an_unknown_error_becomes_a_logged_reference(
    error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    raised = _raised(error)
    with caplog.at_level(logging.ERROR, logger="bot.slack.errors"):
        message = user_message(raised, CATALOGUE, doing="testing the mapper")
    assert refusal_message(raised, CATALOGUE) is None
    assert_words(message)
    assert "boom" not in message.text and type(error).__name__ not in message.text
    references = REFERENCE.findall(message.text)
    assert len(references) == 1
    reference = references[0]
    records = [r for r in caplog.records if reference in r.getMessage()]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert "testing the mapper" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[1] is raised
    logged = logging.Formatter().format(record)
    assert reference in logged
    assert "Traceback (most recent call last)" in logged
    assert f"{type(error).__name__}: " in logged and "boom" in logged
    assert "_raised" in logged  # the frame that raised it


def test_unexpected_returns_the_reference_it_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.slack.errors"):
        reference, message = unexpected(_raised(RuntimeError("boom")), "testing")
        other, _ = unexpected(_raised(RuntimeError("boom")), "testing")
    assert REFERENCE.fullmatch(reference)
    assert f"`{reference}`" in message.text
    assert reference in caplog.text
    assert other != reference  # each failure has its own


def test_the_words_around_a_reference_escape_the_name() -> None:
    text = render.resume_failed_message(HOSTILE, "ab12cd34")
    assert_no_live_mentions([text])
    assert ESCAPED in text and "`ab12cd34`" in text
    assert "`ab12cd34`" in render.something_went_wrong("ab12cd34")


# --- stored submit errors in words ----------------------------------------------------------------------

_DETAILS: dict[SubmitProblem, str | None] = {
    SubmitProblem.CANCELLED: None,
    SubmitProblem.TAVUS_REFUSED: "Invalid image: the face is too small",
    SubmitProblem.TAVUS_MISCONFIGURED: None,
    SubmitProblem.TAVUS_UNAVAILABLE: None,
    SubmitProblem.TAVUS_ERROR: None,
    SubmitProblem.CHECK_FAILED: "ab12cd34",
    SubmitProblem.RESUME_FAILED: "ef56ab78",
}


def test_every_submit_problem_has_a_detail_case() -> None:
    assert set(_DETAILS) == set(SubmitProblem)


@pytest.mark.parametrize("problem", list(SubmitProblem), ids=str)
def test_submit_error_text_words_each_problem(problem: SubmitProblem) -> None:
    detail = _DETAILS[problem]
    stored = SubmitError(problem, detail).stored()
    assert SubmitError.parse(stored) == SubmitError(problem, detail)
    text = submit_error_text(stored)
    assert text.strip()
    assert text == submit_problem_text(problem, detail)
    assert stored not in text and str(problem) not in text  # the code is not shown
    assert "Traceback" not in text and "None" not in text
    if detail is not None:
        assert detail in text  # Tavus' reason, or the reference to quote


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (SubmitProblem.CANCELLED, "Cancelled by the requester."),
        (SubmitProblem.TAVUS_REFUSED, "Tavus said: Invalid image: the face is too small"),
        (
            SubmitProblem.TAVUS_UNAVAILABLE,
            "Tavus is not answering right now. Please try again in a few minutes.",
        ),
        (
            SubmitProblem.TAVUS_MISCONFIGURED,
            "replica-bot is not set up correctly to talk to Tavus. Please ask the app's admin to check it.",
        ),
        (
            SubmitProblem.TAVUS_ERROR,
            "Tavus could not take the request right now. Please try again in a few minutes.",
        ),
    ],
    ids=str,
)
def test_submit_error_text_keeps_the_old_words(problem: SubmitProblem, expected: str) -> None:
    assert submit_error_text(SubmitError(problem, _DETAILS[problem]).stored()) == expected


def test_tavus_refusal_without_a_reason() -> None:
    stored = SubmitError(SubmitProblem.TAVUS_REFUSED).stored()
    assert stored == "tavus_refused"
    assert submit_error_text(stored) == "Tavus said: no reason given"


@pytest.mark.parametrize(
    "legacy",
    [
        "Tavus said no",
        "Tavus said: Invalid image",
        "Cancelled by the requester.",
        "Failed after the ack (ab12cd34).",
        "Could not be processed after a restart (ab12cd34).",
    ],
)
def test_legacy_free_text_is_shown_as_it_is(legacy: str) -> None:
    assert SubmitError.parse(legacy) is None
    assert submit_error_text(legacy) == legacy


def test_a_stored_tavus_reason_is_escaped_where_it_is_shown() -> None:
    stored = SubmitError(SubmitProblem.TAVUS_REFUSED, HOSTILE).stored()
    request = make_request(status=RequestStatus.SUBMIT_FAILED, replica_id=None, submit_error=stored)
    line = render.status_line(request)
    assert_no_live_mentions([line])
    assert f"Tavus said: {ESCAPED}" in line
    view = render.home_view([request], is_admin=False, catalogue=CATALOGUE, viewer=request.requester_id)
    shown = "\n".join(t for b in view["blocks"] for t in rendered(Message("x", [b])))
    assert_no_live_mentions([shown])
    assert f"Tavus said: {ESCAPED}" in shown
