"""Delivering the outbox to Slack: the request card, the posts in its thread, and a DM to the requester.

What each row says is the rendering layer's; this module decides where it goes, in which order, and what
to do when Slack says no. Posts are made exactly once (`bot.slack.exactly_once`).

A channel that refuses a post for good (deleted, archived, the bot not in it) does not swallow it: the
notification goes to the requester's DM instead, saying where it was meant to go, and is never retried in
the channel. A card that moves this way lives on in the DM, and the thread posts follow it there.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import log_context
from bot.domain.catalogue import DEFAULT_DOCS_BASE_URL, Catalogue
from bot.slack import render
from bot.slack.addressed import AddressedMessages, DirectMessages, is_user
from bot.slack.batch_delivery import BatchDelivery
from bot.slack.delivery_failures import failed
from bot.slack.exactly_once import LostLease, OncePoster
from bot.slack.home_tab import HomePublisher, HomeRefreshes
from bot.slack.pacing import UPDATE, NotNow, PacedCalls, Pacer
from bot.slack.pacing import retry_after as slack_retry_after
from bot.slack.permalinks import Permalinks
from storage.db import Engine
from storage.job_models import FaceJob
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, utcnow
from storage.repository import erasure, leases, outbox
from storage.repository.leases import ANY_TEAM

log = logging.getLogger(__name__)

# How long a note waits for the post it points at.
WAIT_SECONDS = 2
# What Tavus told us, as posted in the thread: how long each waited is measured (`on_outcome_posted`).
_K = OutboxKind
OUTCOME_KINDS = frozenset((_K.FAILURE, _K.COMPLETION, _K.PREVIEW_READY, _K.TUNED, _K.TUNING_FAILED))


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        catalogue: Catalogue,
        *,
        owner: str,
        lease_seconds: float = 30,
        batch_size: int = 200,
        concurrency: int = 8,
        notify_requester_dm: bool = True,
        home: HomePublisher | None = None,
        docs_url: str = DEFAULT_DOCS_BASE_URL,
        pacer: Pacer | None = None,
        on_unreachable: Callable[[int, str], None] = lambda request_id, error: None,
        try_face: bool = False,
        stopping: threading.Event | None = None,
        on_outcome_posted: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        """Without a `pacer`, calls go out unpaced and only Slack's 429s hold them back.
        `on_unreachable(request_id, error)`: the DM asking the colleague in the photo cannot be sent.
        `try_face`: a finished face's posts carry the buttons to try it (TRY_FACE is not off). Once
        `stopping` is set, no further row is claimed or started (the process is handing its work over)."""
        self._engine = engine
        self._client = client
        self._catalogue = catalogue
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._notify_requester_dm = notify_requester_dm
        self._docs_url = docs_url
        self._pacer = pacer
        self._try_face = try_face
        self._calls = PacedCalls(pacer)
        self._stopping = stopping or threading.Event()
        self._on_outcome_posted = on_outcome_posted
        self._poster = OncePoster(engine, client, owner=owner, lease_seconds=lease_seconds, calls=self._calls)
        self._permalinks = Permalinks(client, self._calls)
        self._homes = HomeRefreshes(home, self._calls) if home is not None else None
        self._dms = DirectMessages(client, self._calls)
        self._addressed = AddressedMessages(
            client, self._calls, self._poster, self._dms, catalogue, record=self._record_addressed
        )
        self._on_unreachable = on_unreachable
        self._batches = BatchDelivery(
            engine, client, catalogue, calls=self._calls, poster=self._poster, dms=self._dms,
            permalinks=self._permalinks, owner=owner, lease_seconds=lease_seconds,
            defer=lambda outbox_id, seconds: self._defer(outbox_id, seconds=seconds),
            on_posted=self._told, on_card=self._refresh_home_of, notify_requester_dm=notify_requester_dm,
        )
        # Rows held back by each workspace budget in this pass: the next one comes back after them.
        self._queued: Counter[str] = Counter()
        self._queue_lock = threading.Lock()

    def deliver_due(self) -> int:
        """Deliver every due notification, then as many card refreshes and App Home republishes as
        Slack's budgets allow now; returns how many rows were handled.

        Outcomes come first and never wait behind a refresh: thread posts, DMs and cards not yet posted
        are claimed on their own, grouped by destination (a channel, or a requester's DM), served in
        parallel, each one's rows in order (a thread post needs the card's ts); one that Slack or its
        budget holds back defers its remaining rows, without asking again. Card edits are claimed only
        as many as chat.update's budget has room for; the rest stay due, coalescing into one edit each.
        """
        handled = 0
        with self._queue_lock:
            self._queued.clear()
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="deliver") as pool:
            while not self._stopping.is_set() and (ids := leases.claim_due_outbox(
                self._engine, owner=self._owner, limit=self._batch_size, lease_seconds=self._lease_seconds
            )):
                destinations: dict[str, list[int]] = defaultdict(list)
                for outbox_id, destination in outbox.in_delivery_order(self._engine, ids):
                    destinations[destination].append(outbox_id)
                list(pool.map(self._deliver_in_order, destinations.values()))
                handled += len(ids)
            handled += self._refresh_cards(pool)
        if self._homes is not None and not self._stopping.is_set():
            self._homes.publish_due(self._client)
        return handled

    def _refresh_cards(self, pool: ThreadPoolExecutor) -> int:
        handled = 0
        for team in [] if self._stopping.is_set() else outbox.teams_with_due_refreshes(self._engine):
            room = self._pacer.available(UPDATE, team) if self._pacer is not None else self._batch_size
            ids = leases.claim_card_refreshes(
                self._engine, owner=self._owner, team=team, limit=room, lease_seconds=self._lease_seconds
            )
            list(pool.map(self._deliver_safely, ids))
            handled += len(ids)
        return handled

    def _deliver_in_order(self, ids: list[int]) -> None:
        for index, outbox_id in enumerate(ids):
            if self._stopping.is_set():
                return  # the rest of the lease goes back with the process's others
            wait = self._deliver_safely(outbox_id)
            if wait is not None:
                self._defer(*ids[index + 1 :], seconds=wait)
                return

    def _deliver_safely(self, outbox_id: int) -> float | None:
        """Deliver one row; if Slack (or its budget) holds its destination back, the seconds to wait."""
        try:
            self._deliver(outbox_id)
        except LostLease:
            log.info("outbox %s taken over by another worker", outbox_id)
        except NotNow as wait:
            # Not a failure of this message: it waits its turn, and its attempts are not used up. Rows
            # held back by one workspace budget come back one interval apart, as its room comes.
            seconds = wait.seconds
            if wait.queue is not None:
                with self._queue_lock:
                    ahead = self._queued[wait.queue]
                    self._queued[wait.queue] += 1
                seconds += ahead * wait.spacing
            self._defer(outbox_id, seconds=seconds)
            return seconds
        except SlackApiError as exc:
            retry_after = slack_retry_after(exc)
            self._failed(outbox_id, exc.response.get("error") or str(exc.response.status_code), retry_after)
        except (SlackClientError, OSError) as exc:
            self._failed(outbox_id, type(exc).__name__, None)
        except Exception:
            log.exception("delivering outbox %s failed", outbox_id)
            self._failed(outbox_id, "internal_error", None)
        return None

    def _deliver(self, outbox_id: int) -> None:
        loaded = outbox.load_for_delivery(self._engine, outbox_id)
        if loaded is None:
            return
        row, request, original, job, batch = loaded
        if row.status != OutboxStatus.PENDING or row.lease_owner != self._owner:
            return
        if batch is not None:
            # Posted where the batch is followed: its card, its thread, its approvers, its requester.
            with log_context.about(request_id=row.request_id, team=batch.team_id, channel=batch.channel_id):
                self._batches.deliver(loaded)
            return
        assert request is not None
        place = request.card_channel_id or request.channel_id
        with log_context.about(request_id=request.id, replica_id=request.replica_id, team=request.team_id,
                               channel=place):
            if row.recipient is not None:
                self._addressed.deliver(row, request)
                if is_user(row.recipient):  # their App Home lists what waits for their answer
                    self._refresh_home(request, row.recipient)
            elif row.kind == OutboxKind.REQUESTER_DM:
                self._deliver_requester_dm(row, request)
            elif row.fallback_reason is not None and not (row.kind == OutboxKind.CARD and _moved(request)):
                self._deliver_to_dm_instead(row, request, original, job)
            elif row.kind == OutboxKind.CARD:
                self._deliver_card(row, request, original)
            else:
                self._deliver_thread_post(row, request, job)

    # --- the card and its thread ------------------------------------------------------------------------

    def _deliver_card(
        self, row: OutboxMessage, request: ReplicaRequest, original: ReplicaRequest | None
    ) -> None:
        channel = request.card_channel_id or request.channel_id
        card = self._card(row, request, original)
        if request.card_ts:
            self._poster.renew(row)
            edit = partial(
                self._client.chat_update,
                channel=channel,
                ts=request.card_ts,
                text=card.text,
                blocks=card.blocks,
            )
            self._calls.call(UPDATE, request.team_id, edit)
            ts = request.card_ts
        else:
            # Uploads are answered in the upload's thread; commands start a thread under the card.
            ts = self._poster.post(row, channel, card, thread_ts=request.thread_ts, team=request.team_id)
        self._record_sent(row, ts, card=(_id(request), channel))
        self._refresh_home(request)

    def _deliver_thread_post(self, row: OutboxMessage, request: ReplicaRequest, job: FaceJob | None) -> None:
        if request.card_ts is None:
            # The card has not reached Slack yet; the thread post has to wait for it.
            self._defer(_id(row), seconds=WAIT_SECONDS)
            return
        channel = request.card_channel_id or request.channel_id
        post = self._thread_message(row, request, job)
        ts = self._poster.post(row, channel, post, thread_ts=_thread_of(request), team=request.team_id)
        self._record_sent(row, ts)

    def _card(
        self, row: OutboxMessage, request: ReplicaRequest, original: ReplicaRequest | None
    ) -> render.Message:
        link = None
        if original is not None and original.card_ts:
            place = original.card_channel_id or original.channel_id
            link = self._permalinks.of(place, original.card_ts, team=request.team_id)
        moved = row.fallback_reason is not None
        return render.request_card(
            request,
            retry_of=original,
            retry_of_link=link,
            meant_for=request.channel_id if moved else None,
            meant_for_reason=row.fallback_reason,
        )

    def _thread_message(
        self, row: OutboxMessage, request: ReplicaRequest, job: FaceJob | None = None
    ) -> render.Message:
        return render.thread_post(
            row.kind, request, self._catalogue, self._docs_url, job=job, try_face=self._try_face
        )

    # --- the requester's DM -----------------------------------------------------------------------------

    def _deliver_to_dm_instead(
        self,
        row: OutboxMessage,
        request: ReplicaRequest,
        original: ReplicaRequest | None,
        job: FaceJob | None,
    ) -> None:
        """The channel refused this for good: it goes to the requester's DM, saying where it was meant for."""
        dm = self._dms.channel(request.requester_id, request.team_id)
        team = request.team_id
        if row.kind == OutboxKind.CARD:
            ts = self._poster.post(row, dm, self._card(row, request, original), thread_ts=None, team=team)
            # From now on the card, its updates and its thread live in the DM.
            self._record_sent(row, ts, fallback_channel=dm, card=(_id(request), dm), moved=True)
            self._refresh_home(request)
        else:
            post = self._thread_message(row, request, job)
            notice = render.fallback_notice(post, meant_for=request.channel_id, reason=row.fallback_reason)
            # If the card already moved to the DM, this belongs in its thread there.
            thread_ts = request.card_ts if request.card_channel_id == dm else None
            ts = self._poster.post(row, dm, notice, thread_ts=thread_ts, team=team)
            self._record_sent(row, ts, fallback_channel=dm)
        what = f"outbox {row.id} ({row.kind} for request {row.request_id})"
        where = f"{request.channel_id} ({row.fallback_reason})"
        log.info("%s went to the requester's DM instead of %s", what, where)

    def _deliver_requester_dm(self, row: OutboxMessage, request: ReplicaRequest) -> None:
        """A short DM pointing at the failure or completion post, once that post is in the thread."""
        if not self._notify_requester_dm:
            self._record_sent(row, None)
            return
        outcome = outbox.outcome_post(self._engine, _id(request))
        if outcome is not None and outcome.status == OutboxStatus.PENDING:
            self._defer(_id(row), seconds=WAIT_SECONDS)
            return
        if outcome is None or outcome.status == OutboxStatus.SENT_VIA_FALLBACK:
            # Nothing to point at, or the post itself already went to their DM.
            self._record_sent(row, None)
            return
        dm = self._dms.channel(request.requester_id, request.team_id)
        posted_in = request.card_channel_id or request.channel_id
        if posted_in == dm:
            # The thread is their DM with the bot: the post itself is the notification.
            self._record_sent(row, None)
            return
        permalink = None
        if outcome.status == OutboxStatus.SENT and outcome.slack_ts:
            permalink = self._permalinks.of(posted_in, outcome.slack_ts, team=request.team_id)
        note = render.requester_dm(request, permalink=permalink, catalogue=self._catalogue)
        self._record_sent(row, self._poster.post(row, dm, note, thread_ts=None, team=request.team_id))

    def _refresh_home(self, request: ReplicaRequest, user_id: str | None = None) -> None:
        if not erasure.erased(request):
            self._refresh_home_of(user_id or request.requester_id, request.team_id)

    def _refresh_home_of(self, user_id: str, team: str | None) -> None:
        # Collected, then published once per user after the pass, within the views.publish budget: a burst
        # of card updates for one requester is one views.publish, not one each.
        if self._homes is not None and user_id:
            self._homes.add(user_id, team or ANY_TEAM)

    # --- bookkeeping ------------------------------------------------------------------------------------

    def _record_sent(
        self,
        row: OutboxMessage,
        ts: str | None,
        *,
        fallback_channel: str | None = None,
        card: tuple[int, str] | None = None,
        moved: bool = False,
    ) -> None:
        outbox.record_delivered(
            self._engine,
            _id(row),
            ts=ts,
            rendered_version=row.version,
            fallback_channel=fallback_channel,
            card=card,
            moved=moved,
        )
        if ts is not None:
            self._told(row)

    def _told(self, row: OutboxMessage) -> None:
        if row.kind in OUTCOME_KINDS:
            self._on_outcome_posted((utcnow() - row.created_at).total_seconds())

    def _record_addressed(self, row: OutboxMessage, ts: str | None, channel: str | None) -> None:
        outbox.record_delivered(
            self._engine, _id(row), ts=ts, rendered_version=row.version, posted_channel=channel
        )

    def _defer(self, *outbox_ids: int, seconds: float) -> None:
        outbox.defer(self._engine, outbox_ids, until=utcnow() + timedelta(seconds=seconds))

    def _failed(self, outbox_id: int, error: str, retry_after: float | None) -> None:
        failed(self._engine, outbox_id, error, retry_after, on_unreachable=self._on_unreachable)


def _id(row: OutboxMessage | ReplicaRequest) -> int:
    assert row.id is not None
    return row.id


def _moved(request: ReplicaRequest) -> bool:
    """The card lives in the requester's DM because its channel refused it."""
    return request.card_channel_id is not None and request.card_channel_id != request.channel_id


def _thread_of(request: ReplicaRequest) -> str | None:
    # A moved card starts its own thread in the DM; the upload's thread stayed behind in the channel.
    return request.card_ts if _moved(request) else (request.thread_ts or request.card_ts)
