"""The message for a photo Tavus' own check failed, and the admins' agreement section in App Home."""

from __future__ import annotations

from bot.domain.catalogue import Catalogue
from bot.domain.image_checks import CheckResult, TavusVerdict
from bot.domain.requests import Question
from bot.domain.verdict_stats import Agreement, VerdictStats
from bot.photos.offline_check import Finding
from bot.slack.render import Message, home_view, tavus_refused

CATALOGUE = Catalogue()


def _actions(message: Message) -> list[str]:
    blocks = message.blocks
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _text(message: Message) -> str:
    return "\n".join(str(b) for b in message.blocks) + message.text


def test_tavus_labels_are_escaped_and_unfixable_checks_get_no_fix_button() -> None:
    verdict = TavusVerdict(False, (CheckResult("x", "<!channel> wall", False, None),))
    message = tavus_refused((), verdict, CATALOGUE, 42)
    assert "<!channel>" not in _text(message) and "&lt;!channel&gt; wall" in _text(message)
    assert _actions(message) == ["photo_use_another", "photo_submit_anyway"]


def test_a_fixable_failure_offers_the_fixer_first_and_says_a_shared_finding_once() -> None:
    quality = CATALOGUE.lookup("ImageQualityError")
    assert quality is not None
    verdict = TavusVerdict(False, (
        CheckResult("a", "Sharp", False, "ImageQualityError"),
        CheckResult("b", "Lit", False, "ImageQualityError"),
    ))
    blurry = Finding("blurry", "ImageQualityError", subject="face", share=0.05)
    dark = Finding("head_cut_off", "HeadNotFullyInFrameError", side="top")
    message = tavus_refused((blurry, dark), verdict, CATALOGUE, 7, Question.RIGHTS)
    assert _actions(message) == ["photo_let_tavus_fix", "photo_use_another", "photo_submit_anyway"]
    text = _text(message)
    assert text.count(quality.explanation) == 1
    assert "blurry" in text and "My own check also noticed" in text and "cut off" in text
    assert "rights" in text


def test_admins_see_how_often_the_checks_agreed_with_training() -> None:
    stats = VerdictStats(
        Agreement(3, 4), Agreement(2, 2), {"blurry": Agreement(0, 1)}, {"HeadphonesError": Agreement(1, 1)}
    )
    admin = str(home_view([], is_admin=True, catalogue=CATALOGUE, stats=stats))
    assert "3 of 4 (75%)" in admin and "2 of 2 (100%)" in admin and "No headphones" not in admin
    assert "Headphones" in admin
    assert "agreed" not in str(home_view([], is_admin=False, catalogue=CATALOGUE, stats=stats))
