"""Recognising a Tavus video-training error text, tolerantly.

Tavus sends video failures as prose only, the docs say the live wording may differ from the mirrored
table, and several texts share most of their words (the three MP4/H.264 texts, the two `video_processing`
texts, the two "Quality issue" texts). So the text is compared after normalising case, punctuation and
whitespace and the interchangeable openings ("There was an error/issue/quality issue …"), in three steps
of falling certainty:

1. a documented text (without its shared opening) found whole in the message: extra text around it
   ("Error: …", "video_fps: …", a trailing sentence) does not matter, and where one documented text
   contains another (the MP4/H.264 texts), the longest one found wins;
2. the message is a distinctive fragment of exactly one documented text;
3. the closest documented text, if it is close enough to tolerate a reworded word or two;
4. a reworded fragment: the passage of one documented text it is closest to, if that one is clearly
   closer than any passage of another.

Tavus' key for the type (`video_fps`), if it appears as a word, beats the prose, like image codes do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

from bot.domain.video_specs import SHARED_OPENINGS, VideoSpec

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# "There was an error", "There was a quality issue", "An error occurred while"… all say the same.
_OPENING = re.compile(
    r"\b(?:there (?:was|were|is|has been|have been) (?:an?|some) "
    r"(?:(?:quality|processing|unexpected|unknown) )?(?:error|issue|problem)s?"
    r"|an? (?:error|issue|problem) (?:occurred|happened)(?: (?:while|when))?"
    r"|we (?:encountered|found|hit) an? (?:error|issue|problem))(?![a-z0-9])"
)
_CANONICAL_OPENING = "there was an issue"
# A fragment shorter than this could belong to several texts or to unrelated prose.
_MIN_FRAGMENT_WORDS = 6
_MIN_FUZZY_CHARS = 20
# Tolerates a reworded word or two; the closest pair of documented texts is told apart by "best wins".
_MIN_SIMILARITY = 0.85
# A reworded fragment must fit one text's passage clearly better than any other text's, share most of
# its words with it, and be short (a long text is a whole message, handled by the steps before).
_MIN_MARGIN = 0.05
_MIN_SHARED_WORDS = 0.6
_MAX_PASSAGE_WORDS = 30
_MAX_ANALYSED_CHARS = 10_000


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", "")
    words = " ".join(_NON_ALNUM.sub(" ", folded).split())
    return _OPENING.sub(_CANONICAL_OPENING, words)


_OPENINGS = tuple(sorted((normalise(opening) for opening in SHARED_OPENINGS), key=len, reverse=True))


def _without_opening(normalised: str) -> str:
    """The part that says which failure it is: after the first shared opening, if there is one."""
    for opening in _OPENINGS:
        at = f" {normalised} ".find(f" {opening} ")
        if at >= 0:
            return normalised[at + len(opening) :].strip()
    return normalised


class VideoMatcher:
    """Which documented video failure a message is, as the spec's code; None for anything else."""

    def __init__(self, specs: Sequence[VideoSpec]) -> None:
        self._bodies = tuple((_without_opening(normalise(spec.tavus_message)), spec) for spec in specs)
        self._words = tuple((body.split(), spec) for body, spec in self._bodies)
        by_key: dict[str, list[VideoSpec]] = {}
        for spec in specs:
            by_key.setdefault(spec.key, []).append(spec)
        self._by_key = by_key
        # Longest first, so `video_codec_and_format` is not read as `video_codec`.
        keys = sorted(by_key, key=len, reverse=True)
        self._key_token = re.compile(r"(?<![a-z0-9_])(" + "|".join(map(re.escape, keys)) + r")(?![a-z0-9_])")

    def match(self, error_message: str | None) -> str | None:
        text = (error_message or "")[:_MAX_ANALYSED_CHARS]
        if not text.strip():
            return None
        by_text = self._match_text(normalise(text))
        keyed = self._key_token.search(text.lower())
        if keyed is None:
            return by_text.code if by_text else None
        candidates = self._by_key[keyed.group(1)]
        # A key shared by two texts (`video_processing`) is settled by the text, else by the last of them
        # (the generic "file" one).
        if by_text is not None and by_text in candidates:
            return by_text.code
        return candidates[-1].code

    def _match_text(self, normalised: str) -> VideoSpec | None:
        if not normalised:
            return None
        padded = f" {normalised} "
        contained = [(len(body), spec) for body, spec in self._bodies if body and f" {body} " in padded]
        if contained:
            return max(contained, key=lambda found: found[0])[1]
        body = _without_opening(normalised)
        if len(body.split()) >= _MIN_FRAGMENT_WORDS:
            holders = [spec for documented, spec in self._bodies if f" {body} " in f" {documented} "]
            if len(holders) == 1:
                return holders[0]
        if len(body) < _MIN_FUZZY_CHARS:
            return None
        best: VideoSpec | None = None
        best_ratio = _MIN_SIMILARITY
        for documented, spec in self._bodies:
            # Much longer texts were handled by containment; a ratio over them is meaningless and slow.
            if len(body) > 2 * len(documented):
                continue
            matcher = SequenceMatcher(None, body, documented, autojunk=False)
            if matcher.quick_ratio() < best_ratio:
                continue
            ratio = matcher.ratio()
            if ratio > best_ratio or (best is None and ratio >= best_ratio):
                best, best_ratio = spec, ratio
        return best or self._closest_passage(body)

    def _closest_passage(self, body: str) -> VideoSpec | None:
        words = body.split()
        if not _MIN_FRAGMENT_WORDS <= len(words) <= _MAX_PASSAGE_WORDS:
            return None
        vocabulary = set(words)
        # Scores below this can neither win nor come close enough to the winner to matter.
        floor = _MIN_SIMILARITY - _MIN_MARGIN
        scores: list[tuple[float, VideoSpec]] = []
        for known, spec in self._words:
            # Most texts share too few words with the fragment to be worth aligning.
            if len(words) > len(known) or len(vocabulary & set(known)) < _MIN_SHARED_WORDS * len(vocabulary):
                continue
            best = 0.0
            for size in sorted({len(words) - 1, len(words), len(words) + 1}):
                for start in range(max(1, len(known) - size + 1)):
                    passage = " ".join(known[start : start + size])
                    matcher = SequenceMatcher(None, body, passage, autojunk=False)
                    if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
                        best = max(best, matcher.ratio())
            scores.append((best, spec))
        scores.sort(key=lambda scored: scored[0], reverse=True)
        if not scores or scores[0][0] < _MIN_SIMILARITY:
            return None
        if len(scores) > 1 and scores[0][0] - scores[1][0] < _MIN_MARGIN:
            return None
        return scores[0][1]
