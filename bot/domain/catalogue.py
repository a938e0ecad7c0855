"""Catalogue of Tavus training failures, in plain language: the image codes here, the video texts in
`bot.domain.video_catalogue`.

Tavus rejects a training image with a machine-readable code and a short message, but its docs do not
fix the format of `error_message`, and model-specific codes may change prefix. `Catalogue.explain` is
therefore deliberately tolerant: it finds a documented code anywhere in the text (with any model
prefix), falls back to recognising the documented message itself, and otherwise keeps the raw text so
the caller can show it as is, with the general guideline and the support address.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from bot.domain import video_catalogue as video
from bot.domain.catalogue_entry import CatalogueEntry, ExplainedError
from bot.domain.video_matcher import VideoMatcher

__all__ = ["DEFAULT_DOCS_BASE_URL", "SUPPORT_EMAIL", "Catalogue", "CatalogueEntry", "ExplainedError"]

DEFAULT_DOCS_BASE_URL = "https://docs.tavus.io"
SUPPORT_EMAIL = "support@tavus.io"


@dataclass(frozen=True)
class _Page:
    path: str
    label: str


_IMAGE_REQUIREMENTS = _Page("/sections/replica/train-with-an-image", "Tavus image requirements")
_FAQ = _Page("/sections/replica/replica-faqs", "Tavus replica FAQ")


@dataclass(frozen=True)
class _Spec:
    code: str
    title: str
    tavus_message: str
    explanation: str
    advice: tuple[str, ...]
    page: _Page


_IMAGE_PREFIX = "There was an error processing your image. "
_FILE_PREFIX = "There was an issue processing your training file: "

# Order and messages follow Tavus' FAQ table verbatim; the tests check them against the seed copy.
_SPECS: tuple[_Spec, ...] = (
    _Spec(
        code="LookingStraightAtCameraError",
        title="Not looking straight at the camera",
        tavus_message=_IMAGE_PREFIX
        + "The main subject should face the camera with gaze directed straight ahead, as in a typical "
        "portrait. Please use a photo where you are not in profile, not turned far to the side, and not "
        "looking clearly up or down away from the lens.",
        explanation="Tavus needs a straight-on portrait, and in this photo the person is turned to the side, "
        "in profile, or looking up or down instead of into the lens.",
        advice=(
            "Take a new photo facing the camera squarely, with your eyes looking straight into the lens.",
            "Hold the camera at eye level so you are not looking up or down at it.",
            "Avoid profile shots and photos where your head or shoulders are turned to the side.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="HeadNotFullyInFrameError",
        title="Head is cut off",
        tavus_message=_IMAGE_PREFIX
        + "Your entire head should be visible in the frame from the top of the skull down to the chin, "
        "without the crown, forehead, or a large part of the head being cut off by the image edge. Please "
        "zoom out or reframe and try again.",
        explanation="Part of the head (the top of the head, the forehead or the chin) is cut off by the edge "
        "of the photo, so Tavus cannot see the whole head.",
        advice=(
            "Step back or zoom out so your whole head, from the top of your hair to your chin, is in the "
            "frame.",
            "Frame head and shoulders, with a little space above your head.",
            "If you crop the photo, leave room around the head instead of cropping close to it.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="ImageQualityError",
        title="Photo is blurry, dark or too small",
        tavus_message=_IMAGE_PREFIX
        + "The photo is too blurry, poorly lit, or the subject is too small or unclear to use. Please upload "
        "a sharper, well-lit photo with your face clearly visible.",
        explanation="The photo is too blurry or too dark, or the face is too small or unclear for Tavus "
        "to use.",
        advice=(
            "Take a sharp photo in even, bright light (for example facing a window), with few shadows on "
            "the face.",
            "Let your head and shoulders fill most of the frame so the face is not small in the picture.",
            "Upload the original JPG or PNG, at least 512×512 pixels, not a screenshot or a copy compressed "
            "by a chat app.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="PoseNotSuitableError",
        title="Pose is not upright and neutral",
        tavus_message=_IMAGE_PREFIX
        + "Your pose should be a natural, neutral stance (roughly upright, facing the camera) suitable as a "
        "default replica pose — not leaning far forward or back, lying down, or in a dramatic action pose. "
        "Please use a straighter, more neutral photo.",
        explanation="Tavus uses the photo as the replica's resting pose, and this one is not a natural "
        "upright pose: for example leaning far forward or back, lying down, or mid-action.",
        advice=(
            "Take a photo sitting or standing upright, shoulders level, facing the camera.",
            "Keep a relaxed, neutral posture and expression, like a team-page headshot.",
            "Avoid photos taken lying down, leaning in or back, or in an action pose.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="HeadphonesError",
        title="Headphones in the photo",
        tavus_message=_IMAGE_PREFIX
        + "Headphones or a headset were detected. Please use a photo without on-ear or over-ear headphones.",
        explanation="Tavus spotted headphones or a headset in the photo, and replicas cannot be trained "
        "with them on.",
        advice=(
            "Take off headphones, earbuds or headset and take a new photo.",
            "Remove glasses, hats and large earrings or necklaces too: Tavus rejects those as well.",
            "Keep your hair behind your shoulders so nothing covers your ears, face or neck.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="CelebrityFoundError",
        title="Looks like a public figure",
        tavus_message=_FILE_PREFIX
        + "The image appears to show a widely recognizable public figure or a clearly identifiable "
        "copyrighted character. Please use only your own likeness and material you have the right to use.",
        explanation="Tavus' check thinks the photo shows a well-known public figure or a copyrighted "
        "character, and image replicas can only be made of a likeness you have the right to use.",
        advice=(
            "Use a photo of yourself, or of someone who has given you permission to use their likeness.",
            "A retry with the same photo will be rejected again; please don't edit the photo to get past "
            "the check.",
            "If the photo really is of you or of someone who agreed, and you think Tavus got this wrong, "
            f"contact {SUPPORT_EMAIL} with the replica ID.",
        ),
        page=_FAQ,
    ),
    _Spec(
        code="AppearsUnder18Error",
        title="Person may be under 18",
        tavus_message=_FILE_PREFIX
        + "The image appears to show someone who is clearly under 18 years old. Training is only supported "
        "for adults. Please use a photo where the main subject is unambiguously 18 or older.",
        explanation="Tavus' check estimated that the person in the photo may be under 18, and replicas "
        "can only be made of adults.",
        advice=(
            "Use a photo of an adult (18 or older) who has agreed to have a replica made of them.",
            "A retry with the same photo will be rejected again.",
            f"If the person is 18 or older and you believe this is a mistake, contact {SUPPORT_EMAIL} "
            "with the replica ID rather than retrying.",
        ),
        page=_FAQ,
    ),
    _Spec(
        code="Phx4NonHumanLikeSubjectError",
        title="No human subject found",
        tavus_message=_IMAGE_PREFIX
        + "The main subject must be a real human or a clearly human-shaped person (including stylized or "
        "cartoon humans). Fantasy creatures, animals, objects with faces, or non-human figures are not "
        "supported. Please use a photo with a clear human subject.",
        explanation="Tavus could not find a person as the main subject. Animals, fantasy creatures and "
        "objects with faces are not supported, though stylised or cartoon humans are fine.",
        advice=(
            "Use a photo whose main subject is one real person, or a clearly human character.",
            "For an illustrated or AI-generated character, give it a human face and body, facing the "
            "camera, with head and shoulders in frame.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="Phx4MultipleForegroundPeopleError",
        title="More than one face in the photo",
        tavus_message=_IMAGE_PREFIX
        + "Detect more than one face or face-like element clearly visible in the image, whether real, "
        "painted, drawn, printed. Please use a photo with a single main subject.",
        explanation="Tavus found more than one face or face-like shape, such as another person or a face "
        "in a painting, poster or print, and it needs exactly one.",
        advice=(
            "Take a photo with only you in it, against a plain background.",
            "Check the background for faces on posters, paintings, screens, clothing or framed photos, and "
            "move away from them.",
            "Rather than cropping a group photo, take a new photo of just the one person.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="Phx4FaceObscuredError",
        title="Face is covered",
        tavus_message=_IMAGE_PREFIX
        + "The face should be clearly visible and not largely covered by hands, objects, headscarf. Please "
        "use a clearer photo.",
        explanation="A large part of the face is hidden, by hands, an object, a headscarf or hair, so Tavus "
        "cannot see it clearly.",
        advice=(
            "Take a photo with the whole face uncovered: hands down, no mask, scarf, hat or glasses.",
            "Keep hair behind your shoulders and away from your face and neck.",
            "Make sure nothing (a microphone, cup or phone) is between the camera and your face.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
    _Spec(
        code="Phx4CenterFaceNotVisibleError",
        title="Face not clear in the centre",
        tavus_message=_IMAGE_PREFIX
        + "A clear human face or head should appear in the center of the photo with facial features "
        "reasonably visible. Please reframe so your face is centered and clear, or use a different photo.",
        explanation="Tavus expects a clear face in the middle of the photo, and here the face is off to one "
        "side, too small, or its features are not visible enough.",
        advice=(
            "Reframe so your face is in the centre of the photo, with head and shoulders in frame.",
            "Face the camera in even light so your eyes, nose and mouth are clearly visible.",
            "If you crop an existing photo, crop around the face so it ends up centred.",
        ),
        page=_IMAGE_REQUIREMENTS,
    ),
)

# Codes can come in any case and with punctuation around them, so they are compared as bare lowercase
# letters and digits.
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Model-specific codes carry the model as a prefix (Phx4…); a later model may report Phx5…, Phoenix5…
# for the same failure, so a second lookup drops any letters-then-digits prefix.
_MODEL_PREFIX = re.compile(r"^[a-z]+\d+(?=[a-z])")
_CANONICAL_MODEL_PREFIX = re.compile(r"^phx\d+(?=[a-z])")
# Anything word-like that ends in "error", so codes are found inside sentences, in brackets or backticks,
# and next to any separator; hyphens are allowed inside so "Phoenix-5FaceObscuredError" stays whole.
_ERRORISH_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9][A-Za-z0-9_-]*?error(?![A-Za-z0-9])", re.I)
# Stricter than the above (CamelCase or SHOUTY suffix) so ordinary words like "terror" or "error" are
# not reported as an unknown code.
_UNKNOWN_CODE_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9_]*?(?:Error|ERROR|Exception)(?![A-Za-z0-9])"
)
# Tavus puts one of these openers in front of every message; they say nothing about which failure it is
# and would make unrelated "There was an error…" texts look similar to all documented messages.
_COMMON_OPENERS = (_IMAGE_PREFIX, _FILE_PREFIX)
# A fragment shorter than this could belong to several messages or to unrelated text.
_MIN_FRAGMENT_WORDS = 6
# Tolerates a reworded word or two; unrelated messages about images score well below this.
_MIN_SIMILARITY = 0.85
# Bounds the work on pathological input; real messages are a few hundred characters.
_MAX_ANALYSED_CHARS = 10_000


def _code_key(code: str) -> str:
    return _NON_ALNUM.sub("", code.lower())


def _normalise_text(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", "")
    return " ".join(_NON_ALNUM.sub(" ", folded).split())


_NORMALISED_OPENERS = tuple(_normalise_text(opener) for opener in _COMMON_OPENERS)


def _message_body(text: str) -> str:
    normalised = _normalise_text(text)
    for opener in _NORMALISED_OPENERS:
        normalised = normalised.replace(opener, " ")
    return " ".join(normalised.split())


class Catalogue:
    """The documented Tavus image-training failures, with guideline links built from one docs base."""

    def __init__(self, docs_base_url: str = DEFAULT_DOCS_BASE_URL) -> None:
        base = docs_base_url.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", base):
            raise ValueError(f"docs_base_url must be an http(s) URL, got {docs_base_url!r}")
        self._base = base
        self._entries: tuple[CatalogueEntry, ...] = tuple(
            CatalogueEntry(
                code=spec.code,
                title=spec.title,
                tavus_message=spec.tavus_message,
                explanation=spec.explanation,
                advice=spec.advice,
                guideline_url=self._url(spec.page),
                guideline_label=spec.page.label,
            )
            for spec in _SPECS
        )
        self._video_entries = video.entries(self._base)
        self._video = VideoMatcher(video.VIDEO_SPECS)
        self._by_key: dict[str, CatalogueEntry] = {_code_key(e.code): e for e in self._video_entries}
        # The key the two `video_processing` texts share names the generic (file) one.
        self._by_key[_code_key("video_processing")] = self._by_key[_code_key("video_processing (file)")]
        for entry in self._entries:
            key = _code_key(entry.code)
            self._by_key[key] = entry
            # Unprefixed spellings ("FaceObscuredError") name the same failure as the Phx4 code.
            self._by_key[_CANONICAL_MODEL_PREFIX.sub("", key)] = entry
        self._bodies: tuple[tuple[str, CatalogueEntry], ...] = tuple(
            (_message_body(entry.tavus_message), entry) for entry in self._entries
        )

    def _url(self, page: _Page) -> str:
        return self._base + page.path

    def entries(self) -> list[CatalogueEntry]:
        return list(self._entries)

    def video_entries(self) -> list[CatalogueEntry]:
        return list(self._video_entries)

    def lookup(self, code: str) -> CatalogueEntry | None:
        key = _code_key(code)
        if not key:
            return None
        # The exact key wins before stripping, since "AppearsUnder18Error" itself looks prefixed.
        entry = self._by_key.get(key)
        if entry is None:
            entry = self._by_key.get(_MODEL_PREFIX.sub("", key))
        return entry

    def explain(self, error_message: str | None) -> ExplainedError:
        raw = (error_message or "").strip()
        if not raw:
            return ExplainedError(raw="", code=None, entry=None)
        text = raw[:_MAX_ANALYSED_CHARS]
        # A documented code is the most reliable signal, so it beats whatever the message text says.
        for match in _ERRORISH_TOKEN.finditer(text):
            entry = self.lookup(match.group(0))
            if entry is not None:
                return ExplainedError(raw=raw, code=match.group(0), entry=entry)
        unknown = _UNKNOWN_CODE_TOKEN.search(text)
        code = unknown.group(0) if unknown else None
        entry = self._match_message(text) or self._by_key.get(_code_key(self._video.match(text) or ""))
        return ExplainedError(raw=raw, code=code, entry=entry)

    def _match_message(self, text: str) -> CatalogueEntry | None:
        body = _message_body(text)
        if not body:
            return None
        padded = f" {body} "
        for documented, entry in self._bodies:
            if f" {documented} " in padded:
                return entry
        if len(body.split()) >= _MIN_FRAGMENT_WORDS:
            holders = [entry for documented, entry in self._bodies if padded in f" {documented} "]
            if len(holders) == 1:
                return holders[0]
        best: CatalogueEntry | None = None
        best_ratio = _MIN_SIMILARITY
        for documented, entry in self._bodies:
            # Long texts with extra content are only handled by containment above; a ratio over them is
            # both meaningless and quadratic.
            if len(body) > 2 * len(documented):
                continue
            matcher = SequenceMatcher(None, body, documented, autojunk=False)
            if matcher.quick_ratio() < best_ratio:
                continue
            ratio = matcher.ratio()
            if ratio >= best_ratio:
                best, best_ratio = entry, ratio
        return best

    @property
    def general_guideline_url(self) -> str:
        return self._url(_FAQ)

    @property
    def image_guideline_url(self) -> str:
        return self._url(_IMAGE_REQUIREMENTS)

    @property
    def video_guideline_url(self) -> str:
        return self._base + video.VIDEO_REQUIREMENTS_PATH

    @property
    def support_email(self) -> str:
        return SUPPORT_EMAIL
