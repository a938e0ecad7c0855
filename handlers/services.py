"""What the listeners use, built once by the composition root (`bot.service.runtime`) and handed to each
listener by name: every listener takes `services: Services`, which a middleware puts on the request."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain.access import Access
from bot.domain.audit import Audit
from bot.domain.batch import Batches
from bot.domain.catalogue import DEFAULT_DOCS_BASE_URL, Catalogue
from bot.domain.deletion import DeletionService
from bot.domain.erasure import Erasure
from bot.domain.photo_choice import PhotoChoices
from bot.domain.queries import RequestQueries
from bot.domain.resubmission import Resubmission
from bot.domain.submission import SubmissionService
from bot.domain.try_face import TryFace
from bot.domain.waits import Waits
from bot.slack.home_tab import HomePublisher
from bot.slack.intake import Intake


@dataclass(frozen=True)
class Voices:
    """The stock voices offered, the one used when none is named, and what each sounds like."""

    names: tuple[str, ...]
    default: str | None = None
    descriptions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Services:
    submission: SubmissionService
    intake: Intake
    deletion: DeletionService
    requests: RequestQueries
    retries: Resubmission
    access: Access
    catalogue: Catalogue
    home: HomePublisher
    voices: Voices
    # Records Slack delivery keys; False if any was seen before (a retry, or an upload's twin event).
    first_delivery: Callable[[Sequence[str]], bool]
    docs_url: str = DEFAULT_DOCS_BASE_URL
    # The choices under a photo Tavus' own check failed.
    photo_choices: PhotoChoices | None = None
    # The answers of the colleague in the photo and of the approvers, and the record of them.
    waits: Waits | None = None
    audit: Audit | None = None
    # A sample video and a test call of a finished face.
    try_face: TryFace | None = None
    # `/replica forget` (admins).
    erasure: Erasure | None = None
    # Many requests at once: a CSV or a handful of photos, one card.
    batches: Batches | None = None

    @property
    def faces(self) -> tuple[str, ...]:
        """The answers the create form offers to "Whose face is it?" (none when consent is not asked)."""
        rules = self.submission.rules
        if rules.likeness_consent == "off":
            return ()
        outside = () if rules.likeness_outside == "deny" else ("outside",)
        return ("self", "colleague", *outside)

    def batch_service(self) -> Batches:
        if self.batches is None:
            raise RuntimeError("batches are not wired in this runtime")
        return self.batches

    def answers(self) -> Waits:
        if self.waits is None:
            raise RuntimeError("consent and approvals are not wired in this runtime")
        return self.waits
