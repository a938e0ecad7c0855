"""Tavus' image checks understood: ids and labels matched to documented codes, what the fixer may mend,
the verdict kept on a request, and how often each check agreed with training."""

from __future__ import annotations

import logging

import pytest

from bot.domain import image_checks
from bot.domain.catalogue import Catalogue
from bot.domain.image_checks import FIXABLE_CODES, CheckResult, TavusVerdict, code_for, read_verdict
from bot.domain.verdict_stats import Agreement, agreement
from bot.sandbox.image_validation import CHECKS
from bot.tavus.image_validation import ImageCheck, ImageValidation

DOCUMENTED = {entry.code for entry in Catalogue().entries()}

# What the emulator's labels (its ids are opaque) must be understood as.
EMULATOR_CODES = {
    "one_person": "Phx4MultipleForegroundPeopleError",
    "gaze": "LookingStraightAtCameraError",
    "head_in_frame": "HeadNotFullyInFrameError",
    "quality": "ImageQualityError",
    "pose": "PoseNotSuitableError",
    "headphones": "HeadphonesError",
    "celebrity": "CelebrityFoundError",
    "adult": "AppearsUnder18Error",
    "human": "Phx4NonHumanLikeSubjectError",
    "uncovered": "Phx4FaceObscuredError",
    "centred": "Phx4CenterFaceNotVisibleError",
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_emulators_opaque_ids_are_understood_by_their_labels(name: str) -> None:
    check_id, label = CHECKS[name]
    assert code_for(check_id, "") is None  # the id alone says nothing
    assert code_for(check_id, label) == EMULATOR_CODES[name]


@pytest.mark.parametrize(
    ("check_id", "code"),
    [
        ("pose_suitable_for_face", "PoseNotSuitableError"),
        ("pose_suitable_for_replica", "PoseNotSuitableError"),
        ("PoseSuitableForFace", "PoseNotSuitableError"),
        ("multiple_faces", "Phx4MultipleForegroundPeopleError"),
        ("face_count", "Phx4MultipleForegroundPeopleError"),
        ("single-person", "Phx4MultipleForegroundPeopleError"),
        ("looking_at_camera", "LookingStraightAtCameraError"),
        ("head_in_frame", "HeadNotFullyInFrameError"),
        ("headNotFullyInFrame", "HeadNotFullyInFrameError"),
        ("image_quality", "ImageQualityError"),
        ("blur", "ImageQualityError"),
        ("lighting", "ImageQualityError"),
        ("is_celebrity", "CelebrityFoundError"),
        ("public_figure", "CelebrityFoundError"),
        ("appears_under_18", "AppearsUnder18Error"),
        ("AppearsUnder18", "AppearsUnder18Error"),
        ("age_check", "AppearsUnder18Error"),
        ("non_human_subject", "Phx4NonHumanLikeSubjectError"),
        ("nonhuman", "Phx4NonHumanLikeSubjectError"),
        ("face_obscured", "Phx4FaceObscuredError"),
        ("face-occluded", "Phx4FaceObscuredError"),
        ("center_face_visible", "Phx4CenterFaceNotVisibleError"),
        ("face_centred", "Phx4CenterFaceNotVisibleError"),
        ("headphones_detected", "HeadphonesError"),
    ],
)
def test_plausible_ids_map_by_their_words(check_id: str, code: str) -> None:
    assert code in DOCUMENTED
    assert code_for(check_id, "") == code


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("Too blurry", "ImageQualityError"),
        ("Not enough light on the face", "ImageQualityError"),
        ("More than one person in the picture", "Phx4MultipleForegroundPeopleError"),
        ("Person looks like a minor", "AppearsUnder18Error"),
        ("A clear human face in the centre", "Phx4CenterFaceNotVisibleError"),
        ("Non-human subject", "Phx4NonHumanLikeSubjectError"),
        ("Face covered by a mask", "Phx4FaceObscuredError"),
        ("Top of the head cut off", "HeadNotFullyInFrameError"),
        ("Subject faces the camera", "LookingStraightAtCameraError"),
    ],
)
def test_an_id_that_says_nothing_falls_back_to_the_label(label: str, code: str) -> None:
    assert code_for("c7", label) == code


def test_the_id_is_matched_before_the_label() -> None:
    assert code_for("headphones", "Something about blur") == "HeadphonesError"


def test_an_unknown_check_keeps_tavus_label_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    image_checks._seen_unknown.discard("zz-unseen-check")
    odd = ImageValidation(passed=False, checks=(ImageCheck("zz-unseen-check", "Background is plain", False),))
    with caplog.at_level(logging.WARNING, logger="bot.domain.image_checks"):
        first = read_verdict(odd)
        read_verdict(odd)
    (check,) = first.failed
    assert check.code is None and check.label == "Background is plain"
    assert [r for r in caplog.records if "zz-unseen-check" in r.getMessage()].__len__() == 1


# --- what the fixer may mend -----------------------------------------------------------------------------


def _verdict(*failed: str | None) -> TavusVerdict:
    checks = tuple(CheckResult(f"id{i}", f"label {i}", False, code) for i, code in enumerate(failed))
    fine = CheckResult("ok", "fine", True, "HeadphonesError")
    return TavusVerdict(passed=not failed, checks=(*checks, fine))


def test_the_fixer_is_offered_for_framing_pose_light_sharpness_and_centring_only() -> None:
    assert {
        "HeadNotFullyInFrameError", "LookingStraightAtCameraError", "PoseNotSuitableError",
        "ImageQualityError", "Phx4CenterFaceNotVisibleError",
    } == FIXABLE_CODES
    assert _verdict("ImageQualityError", "Phx4CenterFaceNotVisibleError", "PoseNotSuitableError").fixable


@pytest.mark.parametrize(
    "never",
    [
        "Phx4MultipleForegroundPeopleError", "AppearsUnder18Error", "CelebrityFoundError",
        "Phx4NonHumanLikeSubjectError", "Phx4FaceObscuredError", "HeadphonesError", None,
    ],
)
def test_the_fixer_is_never_offered_beside_what_it_cannot_mend(never: str | None) -> None:
    assert not _verdict("ImageQualityError", never).fixable
    assert not _verdict(never).fixable


def test_nothing_failed_nothing_to_fix() -> None:
    assert not _verdict().fixable


def test_the_verdict_is_kept_and_read_back() -> None:
    verdict = _verdict("ImageQualityError", None)
    assert TavusVerdict.parse(verdict.stored()) == verdict
    assert TavusVerdict.parse(None) is None
    assert TavusVerdict.parse("not json") is None
    assert TavusVerdict.parse('{"checks": []}') is None


# --- agreement with training -------------------------------------------------------------------------------


def test_agreement_overall_and_per_check() -> None:
    failed_two = TavusVerdict(False, (CheckResult("a", "one", False, "Phx4MultipleForegroundPeopleError"),))
    passed = TavusVerdict(True, (CheckResult("a", "one", True, "Phx4MultipleForegroundPeopleError"),))
    rows = [
        # Both objected to two people, the requester submitted anyway, training failed for it: both right.
        ("multiple_faces", failed_two.stored(), "anyway", "failed", "Phx4MultipleForegroundPeopleError"),
        # Both passed it, training succeeded: both right.
        ("", passed.stored(), None, "completed", None),
        # The offline check objected, Tavus passed it, it trained: only Tavus was right.
        ("blurry", passed.stored(), None, "completed", None),
        # Fixed by Tavus: its check judged another photo, so only the offline check counts.
        ("", failed_two.stored(), "auto_fix", "completed", None),
        # Deleted in Tavus: says nothing about the photo.
        ("", passed.stored(), None, "failed", "replica_gone"),
    ]
    stats = agreement(rows)
    assert stats.offline == Agreement(3, 4)
    assert stats.tavus == Agreement(3, 3)
    assert stats.offline_by_check["multiple_faces"] == Agreement(1, 1)
    assert stats.offline_by_check["blurry"] == Agreement(0, 1)
    assert stats.tavus_by_check["Phx4MultipleForegroundPeopleError"] == Agreement(1, 1)
    assert Agreement().share is None and Agreement(1, 4).share == 0.25


def test_an_unknown_check_is_judged_only_where_it_objected() -> None:
    unknown = TavusVerdict(False, (CheckResult("x", "Plain wall", False, None),))
    stats = agreement([(None, unknown.stored(), "anyway", "failed", "ImageQualityError")])
    assert stats.tavus_by_check == {"Plain wall": Agreement(1, 1)}
    assert stats.offline == Agreement()
