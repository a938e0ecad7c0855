"""`replica-bot forget` and `replica-bot purge`: the erasure and retention of `bot.domain.erasure`, run
from a shell or cron beside the running processes, answering in plain text for the operator."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.access import Access
from bot.domain.erasure import Erasure, Forgotten, Left, Why
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.service.media import build_media_store
from bot.service.one_off import database
from bot.service.settings import Settings
from bot.tavus import TavusClient
from storage.db import Engine

_LEFT = {
    Why.ACTIVE: "still in progress; --include-active deletes it in Tavus and forgets it",
    Why.SUBMITTING: "being submitted right now; run again in a few minutes",
    Why.HELD: "failed recently; deleting it now could keep its credit refund from registering",
    Why.NOT_DELETED: "Tavus did not delete it, so nothing of it was removed; run again later",
}


def forget_person(settings: Settings, person: str, *, include_active: bool) -> str:
    # Tavus is asked only to stop requests in progress; only then is its key needed.
    key = settings.secret("tavus_api_key") if include_active else None
    engine = database(settings)
    tavus = TavusClient(str(settings.tavus_api_url).rstrip("/"), key) if key is not None else None
    try:
        report = _erasure(settings, engine, tavus).forget(person, include_active=include_active)
    finally:
        if tavus is not None:
            tavus.close()
        engine.dispose()
    return forgotten_report(report)


def purge_finished(settings: Settings, older_than: timedelta, said: str) -> str:
    engine = database(settings)
    try:
        purged = _erasure(settings, engine, None).purge(older_than)
    finally:
        engine.dispose()
    batches = f", and {purged.batches} ended batches" if purged.batches else ""
    return (
        f"purged {purged.requests} finished requests that ended more than {said.strip()} ago, "
        f"with {purged.photos} stored photos{batches}"
    )


def forgotten_report(report: Forgotten) -> str:
    lines = [
        f"forgot {report.person}: photos and personal details removed from {report.requests} requests "
        f"({report.photos} stored photos); the name removed from {report.mentions} other requests"
    ]
    if report.faces_deleted:
        lines.append(f"deleted in Tavus: {', '.join(report.faces_deleted)}")
    lines += [f"left as it is: {_left(left)}" for left in report.left]
    return "\n".join(lines)


def _left(left: Left) -> str:
    what = left.replica_id or f"request {left.request_id}"
    wait = f" (for {round(left.wait.total_seconds() / 60)} more min)" if left.wait else ""
    return f"{what} — {_LEFT[left.why]}{wait}"


def _erasure(settings: Settings, engine: Engine, tavus: TavusClient | None) -> Erasure:
    access = Access(
        allowed_channels=settings.allowed_channel_ids,
        admins=settings.admin_user_ids,
        delete_grace=timedelta(minutes=settings.delete_grace_minutes),
    )
    # The running processes deliver what this queues (a card rendered again without the person).
    return Erasure(engine, Lifecycle(engine), tavus, access, _media(settings, engine))


def _media(settings: Settings, engine: Engine) -> MediaStore | None:
    if settings.media_backend != "s3":
        # The builtin store's photos are rows, which the erasure deletes itself.
        return None
    return build_media_store(settings, engine)
