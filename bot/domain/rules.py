"""The deployment's choices about what is taken and how (from the settings): the photo checks, who must be
asked before anything reaches Tavus, and where Tavus is told to call back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.photos.image_check import DEFAULT_MAX_BYTES
from bot.tavus.phoenix import model_for

PhotoCheck = Literal["off", "advisory", "strict"]
# `named`: the colleague in the photo is asked before anything reaches Tavus; `off`: the requester's
# single affirmation of the rights, as before.
ConsentMode = Literal["named", "off"]
# Faces of people outside the workspace (or synthetic ones): taken, taken after an approver agrees, or not.
OutsideMode = Literal["allow", "approve", "deny"]
ApprovalMode = Literal["off", "required", "over-quota"]


@dataclass(frozen=True)
class Approvals:
    """Who must agree before the team's credits are spent, and when."""

    mode: ApprovalMode = "off"
    # User ids (U…) and user groups (S…); ADMIN_USER_IDS when none are set.
    approvers: tuple[str, ...] = ()
    # One post there instead of a DM to each approver.
    channel: str | None = None
    # For `over-quota`: requests a person may make in a calendar month (UTC) before approval is needed.
    quota_per_month: int | None = None
    expires: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class SubmissionRules:
    voices: tuple[str, ...]
    default_voice: str | None = None
    max_image_bytes: int = DEFAULT_MAX_BYTES
    allow_private_urls: bool = False
    # The offline photo check: findings are shown with "Submit anyway" (advisory), refused (strict), or
    # not looked for (off).
    photo_check: PhotoCheck = "advisory"
    # Ask the requester whose face it is (and so to affirm the rights to it) where no form did.
    confirm_rights: bool = True
    # How long a hosted photo's URL stays valid; Tavus may take 24 h to download it.
    media_url_ttl: timedelta = timedelta(hours=48)
    # When Tavus is asked about a new replica first (image problems surface early).
    first_poll_after: timedelta = timedelta(seconds=10)
    model_name: str | None = None
    # `{callback_base_url}/tavus/callback/<token>` goes to Tavus as callback_url, when set.
    callback_base_url: str | None = None
    likeness_consent: ConsentMode = "named"
    likeness_outside: OutsideMode = "approve"
    consent_expires: timedelta = timedelta(hours=72)
    approvals: Approvals = Approvals()

    def model_for(self, requested: str | None = None) -> str:
        """The model a request will be trained with: its own `model=`, else TAVUS_MODEL_NAME, else
        phoenix-4 (Tavus' default). `requested` is `ReplicaDraft.model_name` or the stored column."""
        return model_for(requested, self.model_name)

    def callback_url(self, token: str) -> str | None:
        if self.callback_base_url is None:
            return None
        return f"{self.callback_base_url.rstrip('/')}/tavus/callback/{token}"
