"""How often each check before submission — the offline photo check and Tavus' own image check — agreed
with what training then did: overall (it objected and training failed, or it passed the photo and training
succeeded), and per check (of the requests where it objected or training failed for its reason, how often
both happened). `replica-bot stats` and the admins' App Home show these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.image_checks import TavusVerdict
from bot.domain.lifecycle import REPLICA_GONE
from bot.domain.submission import AUTO_FIX
from bot.photos.offline_check import CODES
from storage.db import Engine
from storage.models import RequestStatus
from storage.repository import replica_requests

# (offline findings, Tavus' verdict, photo choice, status, error code), as stored.
Row = tuple[str | None, str | None, str | None, str, str | None]


@dataclass(frozen=True)
class Agreement:
    agreed: int = 0
    counted: int = 0

    @property
    def share(self) -> float | None:
        return self.agreed / self.counted if self.counted else None

    def add(self, agreed: bool) -> Agreement:
        return Agreement(self.agreed + int(agreed), self.counted + 1)


@dataclass(frozen=True)
class VerdictStats:
    offline: Agreement
    tavus: Agreement
    # Per check: the offline check's finding kinds, and Tavus' checks by documented code (or by Tavus'
    # label, where none matched).
    offline_by_check: dict[str, Agreement]
    tavus_by_check: dict[str, Agreement]


def verdict_stats(engine: Engine) -> VerdictStats:
    finished = [RequestStatus.COMPLETED, RequestStatus.FAILED]
    return agreement(replica_requests.verdict_outcomes(engine, finished))


def agreement(rows: Iterable[Row]) -> VerdictStats:
    offline, tavus = Agreement(), Agreement()
    offline_by: dict[str, Agreement] = {}
    tavus_by: dict[str, Agreement] = {}
    for findings, stored_verdict, choice, status, error_code in rows:
        if error_code == REPLICA_GONE:
            continue  # deleted in Tavus: says nothing about the photo
        failed = status == RequestStatus.FAILED
        if findings is not None:
            kinds = {k for k in findings.split(",") if k}
            offline = offline.add(bool(kinds) == failed)
            for kind, code in CODES.items():
                _count(offline_by, kind, objected=kind in kinds, failed_for_it=failed and error_code == code)
        verdict = TavusVerdict.parse(stored_verdict)
        # A photo Tavus' fixer changed is not the photo its check judged.
        if verdict is None or choice == AUTO_FIX:
            continue
        tavus = tavus.add((not verdict.passed) == failed)
        for check in verdict.checks:
            # A check no documented code matches can only be judged where it objected.
            failed_for_it = failed and (error_code == check.code if check.code else not check.passed)
            key = check.code or check.label
            _count(tavus_by, key, objected=not check.passed, failed_for_it=failed_for_it)
    return VerdictStats(offline, tavus, dict(sorted(offline_by.items())), dict(sorted(tavus_by.items())))


def _count(table: dict[str, Agreement], key: str, *, objected: bool, failed_for_it: bool) -> None:
    if objected or failed_for_it:
        table[key] = table.get(key, Agreement()).add(objected and failed_for_it)
