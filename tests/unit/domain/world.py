"""What the domain service tests share: the services wired as `bot.service.runtime.build_runtime` wires
them, over a real database, the Tavus emulator and the photo host on loopback; and a few reads of what
ended up stored."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.domain.lifecycle import Lifecycle
from bot.domain.media import StoredMedia
from bot.domain.requests import CreateArgs, ReplicaDraft, Requester, Submitted
from bot.domain.submission import SubmissionRules, SubmissionService
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator
from bot.tavus import TavusClient
from storage.models import OutboxKind, OutboxMessage, ReplicaRequest, table, utcnow
from storage.repository import replica_requests
from tests.images import photo, photo_jpeg
from tests.servers import TAVUS_KEY

VOICES = ("anna", "ben")
REQUESTER = Requester("U1", "C1", "T1")
# A real portrait the offline photo check finds nothing wrong with.
GOOD_PHOTO = photo_jpeg(photo("grace_hopper"))
# The rules every test starts from: loopback photo links allowed, nothing to confirm, no photo check
# (tests of those switch them on).
RULES = SubmissionRules(
    voices=VOICES,
    allow_private_urls=True,
    photo_check="off",
    confirm_rights=False,
    first_poll_after=timedelta(0),
)


class Wakes:
    """Stands in for the throttle that wakes delivery (`Lifecycle(on_queued=...)`): counts the wake-ups."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@dataclass
class HostedPhotos:
    """A `MediaStore` (the domain's port) that hosts uploads on the loopback photo host, so the emulator
    can download them, and remembers what it was asked."""

    images: StaticServer
    ttl: timedelta = timedelta(hours=48)
    puts: list[tuple[str, str]] = field(default_factory=list)  # (key, content type)
    attached: list[tuple[str, int]] = field(default_factory=list)
    stored: dict[str, bytes] = field(default_factory=dict)
    purged: list[int] = field(default_factory=list)

    def put(self, data: bytes, content_type: str, *, request_id: int | None = None) -> StoredMedia:
        key = uuid.uuid4().hex
        self.puts.append((key, content_type))
        self.stored[key] = data
        if request_id is not None:
            self.attached.append((key, request_id))
        url = self.images.put(f"/media/{key}", data, content_type)
        return StoredMedia(key=key, url=url, expires_at=utcnow() + self.ttl)

    def attach(self, key: str, request_id: int) -> None:
        self.attached.append((key, request_id))

    def read(self, key: str) -> bytes | None:
        return self.stored.get(key)

    def erase(self, request_ids: Sequence[int]) -> int:
        gone = [key for key, request in self.attached if request in request_ids and key in self.stored]
        for key in gone:
            del self.stored[key]
        self.purged.extend(request_ids)
        return len(gone)

    def purge_finished(self, *, retention: timedelta, now: datetime | None = None) -> int:
        return 0



@dataclass
class World:
    engine: Engine
    tavus: TavusEmulator
    client: TavusClient
    images: StaticServer
    wakes: Wakes
    lifecycle: Lifecycle
    tavus_url: str

    def submission(
        self, media: HostedPhotos | None = None, client: TavusClient | None = None, **rules: Any
    ) -> SubmissionService:
        rules_here = replace(RULES, **rules)
        return SubmissionService(rules_here, self.engine, self.lifecycle, client or self.client, media)

    def tavus_client(self, *, key: str = TAVUS_KEY, max_attempts: int = 3) -> TavusClient:
        return TavusClient(self.tavus_url, key, max_attempts=max_attempts, initial_backoff=0.01)

    def photo_link(self, data: bytes = GOOD_PHOTO, content_type: str = "image/jpeg") -> str:
        """A fresh link to `data` on the photo host (its own path, so hits are counted for this test)."""
        return self.images.put(f"/{uuid.uuid4().hex}", data, content_type)

    def draft(
        self,
        service: SubmissionService | None = None,
        requester: Requester = REQUESTER,
        *,
        image_url: str | None = None,
        voice: str | None = "anna",
        name: str | None = "Ana",
        **extra: Any,
    ) -> ReplicaDraft:
        args = CreateArgs(image_url=image_url or self.photo_link(), voice=voice, name=name)
        return (service or self.submission()).draft(requester, args, **extra)

    def training(
        self, requester: Requester = REQUESTER, *, name: str = "Ana", thread_ts: str | None = None
    ) -> ReplicaRequest:
        """A request Tavus is training, made the ordinary way."""
        service = self.submission()
        outcome = service.submit_link(self.draft(service, requester, name=name, thread_ts=thread_ts))
        assert isinstance(outcome, Submitted), outcome
        return outcome.request


def make_world(
    engine: Engine, tavus: TavusEmulator, server: EmulatorServer, images: StaticServer
) -> Iterator[World]:
    wakes = Wakes()
    client = TavusClient(server.url, TAVUS_KEY, max_attempts=3, initial_backoff=0.01)
    try:
        yield World(engine, tavus, client, images, wakes, Lifecycle(engine, on_queued=wakes), server.url)
    finally:
        client.close()


# --- reading what happened --------------------------------------------------------------------------------


def stored(engine: Engine, request_id: int | None) -> ReplicaRequest:
    assert request_id is not None
    request = replica_requests.get(engine, request_id)
    assert request is not None, f"request {request_id} is gone"
    return request


def outbox(engine: Engine, request_id: int | None) -> list[tuple[str, int]]:
    """(kind, version) of every notification queued for the request, in the order queued."""
    mine = OutboxMessage.request_id == request_id
    statement = select(OutboxMessage).where(mine).order_by(col(OutboxMessage.id))
    with Session(engine) as session:
        return [(row.kind, row.version) for row in session.exec(statement).all()]


def card_version(engine: Engine, request_id: int | None) -> int:
    """How often the request's card was asked for (0: never)."""
    return next((version for kind, version in outbox(engine, request_id) if kind == OutboxKind.CARD), 0)


def set_columns(engine: Engine, request_id: int | None, **values: Any) -> None:
    """Change stored columns directly: the past a test needs (an old row, a card that moved)."""
    with engine.begin() as connection:
        requests = table(ReplicaRequest)
        connection.execute(update(requests).where(requests.c.id == request_id).values(**values))


def creates(tavus: TavusEmulator) -> list[dict[str, Any]]:
    """The creates (POST /v2/faces, or /v2/replicas) the emulator answered."""
    return [c for c in tavus.calls() if c["method"] == "POST" and c["path"] in ("/v2/faces", "/v2/replicas")]


def wait_until(condition: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def ago(**kwargs: float) -> datetime:
    return utcnow() - timedelta(**kwargs)
