"""What Tavus' image checks mean: each check matched to the documented error code it corresponds to, and
whether Tavus' AI Image Fixer can be offered for what failed.

Tavus does not publish its check ids, and they vary by model, so a check is matched by the words of its id
and of its label (in that order), never by an exact list. A check that matches nothing keeps Tavus' own
label; its id is logged once per process so the operator can tell us about it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
from dataclasses import dataclass

from bot.tavus.image_validation import ImageValidation

log = logging.getLogger(__name__)

# Each code with the word groups that name it: a group matches when all its words are among the check's.
# Order matters: the first code that matches wins, so the specific subjects (several people, a minor, a
# celebrity, something not human, a covered face) come before the general framing and quality words.
_RULES: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = tuple(
    (code, tuple(frozenset(group.split()) for group in groups))
    for code, groups in (
        ("Phx4MultipleForegroundPeopleError", (
            "multiple", "people", "persons", "several", "single person", "single face", "single subject",
            "one person", "one face", "one subject", "count face", "count faces", "count person",
            "count people", "two faces", "two person", "foreground person", "foreground people",
        )),
        ("AppearsUnder18Error", (
            "18", "under18", "minor", "minors", "underage", "adult", "age", "child", "children", "kid",
        )),
        ("CelebrityFoundError", ("celebrity", "celebrities", "famous", "public figure", "publicfigure")),
        ("Phx4NonHumanLikeSubjectError", (
            "nonhuman", "non human", "human subject", "human like", "humanlike", "real person", "animal",
            "cartoon", "illustration", "drawing",
        )),
        ("Phx4FaceObscuredError", (
            "obscured", "obscure", "covered", "cover", "occluded", "occlusion", "obstructed", "obstruction",
            "mask", "hidden", "blocked", "unobstructed",
        )),
        ("HeadphonesError", ("headphones", "headphone", "earbuds", "earbud", "earphones", "headset")),
        ("Phx4CenterFaceNotVisibleError", (
            "center", "centre", "centered", "centred", "centering", "centring", "middle", "centred face",
        )),
        ("HeadNotFullyInFrameError", (
            "frame", "framed", "framing", "crop", "cropped", "cut", "fully visible", "head visible", "chin",
        )),
        ("LookingStraightAtCameraError", (
            "looking", "gaze", "straight", "camera", "frontal", "front", "facing", "eye", "eyes", "profile",
        )),
        ("PoseNotSuitableError", ("pose", "posture", "upright", "neutral", "tilt", "tilted", "angle")),
        ("ImageQualityError", (
            "quality", "blur", "blurry", "blurred", "sharp", "sharpness", "focus", "light", "lighting", "lit",
            "bright", "brightness", "dark", "exposure", "exposed", "resolution", "noise", "noisy", "clarity",
            "clear", "small", "size", "contrast",
        )),
    )
)
# What Tavus' AI Image Fixer can be trusted with: framing, pose, light, sharpness and centring. Never more
# than one person, a minor, a public figure, a subject that is not human, a covered face (nor headphones,
# nor anything unrecognised).
FIXABLE_CODES = frozenset({
    "HeadNotFullyInFrameError", "LookingStraightAtCameraError", "PoseNotSuitableError", "ImageQualityError",
    "Phx4CenterFaceNotVisibleError",
})

_seen_unknown: set[str] = set()
_seen_lock = threading.Lock()


def words(text: str) -> frozenset[str]:
    """The lower-case words of an id or label: camelCase, snake_case, kebab-case and prose alike."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[0-9])(?=[A-Za-z])", " ", text)
    tokens = re.findall(r"[a-z0-9]+", spaced.lower())
    # "Non-human" and "nonhuman" are one idea; so are the other hyphenated compounds we look for.
    joined = {a + b for a, b in itertools.pairwise(tokens)}
    return frozenset(tokens) | joined


def code_for(check_id: str, label: str) -> str | None:
    """The documented error code a check corresponds to (by its id's words, then its label's), or None."""
    for text in (check_id, label):
        found = words(text)
        for code, groups in _RULES:
            if any(group <= found for group in groups):
                return code
    return None


@dataclass(frozen=True)
class CheckResult:
    """One of Tavus' checks as the bot understands it."""

    id: str
    label: str
    passed: bool
    code: str | None

    @property
    def fixable(self) -> bool:
        return self.code in FIXABLE_CODES


@dataclass(frozen=True)
class TavusVerdict:
    passed: bool
    checks: tuple[CheckResult, ...]

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)

    @property
    def fixable(self) -> bool:
        """Whether "Let Tavus fix it" may be offered: something failed, and every failure is one the
        fixer can mend."""
        failed = self.failed
        return bool(failed) and all(check.fixable for check in failed)

    def failed_codes(self) -> set[str]:
        return {check.code for check in self.failed if check.code}

    def stored(self) -> str:
        """As kept on the request, to measure later how often it was right."""
        checks = [{"id": c.id, "label": c.label, "passed": c.passed, "code": c.code} for c in self.checks]
        return json.dumps({"passed": self.passed, "checks": checks}, separators=(",", ":"))

    @classmethod
    def parse(cls, stored: str | None) -> TavusVerdict | None:
        try:
            data = json.loads(stored or "")
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("passed"), bool):
            return None
        checks = tuple(
            CheckResult(str(c.get("id") or ""), str(c.get("label") or ""), bool(c.get("passed")),
                        c.get("code") if isinstance(c.get("code"), str) else None)
            for c in data.get("checks") or [] if isinstance(c, dict)
        )
        return cls(passed=data["passed"], checks=checks)


def read_verdict(validation: ImageValidation) -> TavusVerdict:
    """Tavus' answer with each check matched to a documented code; unknown ids are logged once."""
    checks = []
    for check in validation.checks:
        code = code_for(check.id, check.label)
        if code is None:
            _note_unknown(check.id or check.label, check.label)
        checks.append(CheckResult(check.id, check.label, check.passed, code))
    return TavusVerdict(passed=validation.passed, checks=tuple(checks))


def _note_unknown(check_id: str, label: str) -> None:
    with _seen_lock:
        if check_id in _seen_unknown:
            return
        _seen_unknown.add(check_id)
    log.warning("Tavus image check %r (%r) matches no documented error code; shown with its own label",
                check_id[:100], label[:200])
