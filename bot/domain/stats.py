"""How often the offline photo check agreed with Tavus: `replica-bot stats`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.photos.offline_check import CODES
from storage.db import Engine
from storage.models import RequestStatus
from storage.repository import replica_requests


@dataclass(frozen=True)
class PreflightStats:
    flagged_rejected: int  # the check warned, and Tavus rejected the photo
    same_reason: int  # …for a reason the check had named
    flagged_accepted: int  # the check warned, the requester submitted anyway, and Tavus accepted it
    clean_rejected: int  # the check saw nothing, Tavus rejected it
    clean_accepted: int
    by_kind: dict[str, tuple[int, int]]  # finding kind → (Tavus rejected, Tavus accepted)

    @property
    def precision(self) -> float | None:
        flagged = self.flagged_rejected + self.flagged_accepted
        return self.flagged_rejected / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        rejected = self.flagged_rejected + self.clean_rejected
        return self.flagged_rejected / rejected if rejected else None


def preflight_stats(engine: Engine) -> PreflightStats:
    # A phoenix-4.5 preview means Tavus accepted the photo, whatever tuning then does.
    judged = [RequestStatus.COMPLETED, RequestStatus.PREVIEW_READY, RequestStatus.FAILED]
    rows = replica_requests.preflight_outcomes(engine, judged)
    counts: Counter[str] = Counter()
    rejected_by: Counter[str] = Counter()
    accepted_by: Counter[str] = Counter()
    for findings, status, error_code in rows:
        kinds = [k for k in findings.split(",") if k]
        rejected = status == RequestStatus.FAILED
        counts[("flagged_" if kinds else "clean_") + ("rejected" if rejected else "accepted")] += 1
        if kinds and rejected and error_code in {CODES.get(k) for k in kinds}:
            counts["same_reason"] += 1
        for kind in kinds:
            (rejected_by if rejected else accepted_by)[kind] += 1
    return PreflightStats(
        flagged_rejected=counts["flagged_rejected"],
        same_reason=counts["same_reason"],
        flagged_accepted=counts["flagged_accepted"],
        clean_rejected=counts["clean_rejected"],
        clean_accepted=counts["clean_accepted"],
        by_kind={k: (rejected_by[k], accepted_by[k]) for k in sorted(set(rejected_by) | set(accepted_by))},
    )
