"""Checking one row of a batch exactly as a single request is checked, before anything is spent: the
columns (voice, model, whose face), the download under the same guard, the image checks, the offline
photo check and Tavus' own image check. What a single request would be refused with marks the row for
attention with that very refusal; the other rows go on.

A colleague's photo reaches Tavus only after their yes: for such a row Tavus' check waits until they
allow it (the request's gates ask it then), as for a single request.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot.domain.batch.problems import RowCode, RowProblem, column_of
from bot.domain.errors import NoMediaStore, PhotoFlagged, Refusal
from bot.domain.gatekeeper import Photo
from bot.domain.media import MediaStore
from bot.domain.people import OUTSIDE_WORDS, SELF_WORDS, Directory, person_of
from bot.domain.requests import CreateArgs, ReplicaDraft, Requester
from bot.domain.submission import SubmissionService
from bot.domain.tavus_check import TavusPhotoCheck
from bot.photos.image_check import check_image
from bot.photos.refusals import PreflightRefusal
from storage.batch_models import Batch, BatchRow, RowVerdict
from storage.models import Likeness, utcnow

log = logging.getLogger(__name__)

_EMAIL_AT = "@"


class FileSource(Protocol):
    def read(self, file_id: str, *, max_bytes: int) -> bytes:
        """The bytes of a file shared in Slack; PreflightRefusal when they cannot be had."""
        ...


def attention(problem: RowProblem) -> dict[str, Any]:
    """What is recorded for a row that cannot go, and why."""
    return {"verdict": RowVerdict.ATTENTION.value, "problem": problem.stored()}


def whose(cell: str | None, requester_id: str) -> tuple[Likeness, str | None] | RowProblem:
    """Whose face a row's `for` cell names: nobody (the requester, as with the form's checkbox: Submit
    affirms the rights), `me`, `outside`, a colleague (`U…`, `<@U…>`), or an e-mail address, looked up
    later (`(COLLEAGUE, None)`); a RowProblem for anything else (a channel, several people, a name)."""
    text = (cell or "").strip()
    if not text or text.lower() in SELF_WORDS:
        return Likeness.SELF, None
    if text.lower() in OUTSIDE_WORDS:
        return Likeness.OUTSIDE, None
    if (person := person_of(text)) is not None:
        return (Likeness.SELF, None) if person == requester_id else (Likeness.COLLEAGUE, person)
    if _is_email(text):
        return Likeness.COLLEAGUE, None
    return RowProblem("for", RowCode.UNREADABLE_FOR, {"value": text[:100]})


def _is_email(text: str) -> bool:
    local, at, domain = text.partition(_EMAIL_AT)
    return bool(at and local and "." in domain and not any(c in text for c in " <>,;|"))


class RowChecker:
    def __init__(
        self,
        submission: SubmissionService,
        *,
        files: FileSource,
        tavus_check: TavusPhotoCheck | None = None,
        media: MediaStore | None = None,
        directory: Directory | None = None,
    ) -> None:
        self._submission = submission
        self._rules = submission.rules
        self._files = files
        self._tavus_check = tavus_check
        self._media = media
        self._directory = directory

    def check(self, batch: Batch, row: BatchRow) -> dict[str, Any]:
        """What checking `row` found, as the values to record on it: ready (with what the checks learned,
        carried into its request), or needing attention, and why."""
        try:
            return self._checked(batch, row)
        except (Refusal, PreflightRefusal) as refused:
            log.info("batch %s row %s needs attention: %s", batch.id, row.row_number, refused)
            return attention(RowProblem.of(column_of(refused), refused))
        except _Attention as needs:
            return attention(needs.problem)

    def _checked(self, batch: Batch, row: BatchRow) -> dict[str, Any]:
        likeness, depicted = self._whose(batch, row)
        requester = Requester(batch.requester_id, batch.channel_id, batch.team_id)
        args = CreateArgs(
            image_url=row.photo_url,
            voice=row.voice_name or batch.voice_name,
            name=row.name,
            model=row.model_name or batch.model_name,
            likeness=likeness,
            depicted_id=depicted,
        )
        uploaded = row.slack_file_id is not None
        draft = self._submission.draft(
            requester, args, uploaded=uploaded, slack_file_id=row.slack_file_id, rights_affirmed=True
        )
        if (problem := self._submission.face_problem(draft)) is not None:
            raise problem
        photo = self._photo(draft, row)
        findings = self._submission.look_at(photo.data)
        if findings and self._rules.photo_check == "strict":
            raise PhotoFlagged(findings)
        consent_first = self._rules.likeness_consent == "named" and draft.likeness == Likeness.COLLEAGUE
        values: dict[str, Any] = {
            "verdict": RowVerdict.READY.value,
            "voice_name": draft.voice_name,
            "model_name": draft.model_name,
            "likeness": draft.likeness,
            "depicted_id": draft.depicted_id,
            "preflight_findings": None if findings is None else ",".join(f.kind for f in findings),
        }
        if self._tavus_check is not None and self._tavus_check.enabled and not consent_first:
            model = self._rules.model_for(draft.model_name)
            verdict = self._tavus_check.verdict(photo.data, photo.content_type, model)
            values |= {"tavus_verdict": verdict.stored() if verdict else None, "tavus_checked_at": utcnow()}
            if verdict is not None and not verdict.passed:
                return attention(RowProblem("photo", RowCode.TAVUS_CHECK, {"verdict": verdict.stored()}))
        if uploaded or consent_first:
            # What Tavus trains on, and what the colleague is shown, is this very copy.
            values |= self._host(photo, required=uploaded)
        return values

    def _whose(self, batch: Batch, row: BatchRow) -> tuple[Likeness, str | None]:
        named = whose(row.for_cell, batch.requester_id)
        if isinstance(named, RowProblem):
            raise _Attention(named)
        likeness, depicted = named
        if likeness == Likeness.COLLEAGUE and depicted is None:
            email = (row.for_cell or "").strip()
            depicted = self._directory.user_by_email(email) if self._directory is not None else None
            if depicted is None:
                raise _Attention(RowProblem("for", RowCode.UNKNOWN_EMAIL, {"email": email[:200]}))
            if depicted == batch.requester_id:
                return Likeness.SELF, None
        return likeness, depicted

    def _photo(self, draft: ReplicaDraft, row: BatchRow) -> Photo:
        if row.slack_file_id is None:
            photo = self._submission.check_links(draft)
            assert photo is not None, "a row always has a photo link or an upload"
            return photo
        data = self._files.read(row.slack_file_id, max_bytes=self._rules.max_image_bytes)
        info = check_image(data, max_bytes=self._rules.max_image_bytes)
        return Photo(data, info.content_type)

    def _host(self, photo: Photo, *, required: bool) -> dict[str, Any]:
        if self._media is None:
            if required:
                raise NoMediaStore()
            return {}
        stored = self._media.put(photo.data, photo.content_type)
        return {"photo_key": stored.key, "train_image_url": stored.url}


class _Attention(Exception):
    def __init__(self, problem: RowProblem) -> None:
        super().__init__(problem.code)
        self.problem = problem
