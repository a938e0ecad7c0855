"""Delivering the outbox to Slack: the request card, the posts in its thread, and a DM to the requester.

chat.postMessage has no idempotency key. Each post carries the outbox id in its message metadata, and an
attempt is recorded before Slack is called; if a later attempt finds an earlier one may have reached Slack
(a crash between Slack's answer and our commit), it looks for that metadata before posting again.

A channel that refuses a post for good (deleted, archived, the bot not in it) does not swallow it: the
notification goes to the requester's DM instead, saying where it was meant to go, and is never retried in
the channel. A card that moves this way lives on in the DM, and the thread posts follow it there.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import Engine

from bot import messages
from bot.catalogue import DEFAULT_DOCS_BASE_URL, Catalogue
from bot.home import HomePublisher
from storage import repository
from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, utcnow

log = logging.getLogger(__name__)

METADATA_EVENT = "replica_bot_notification"
MAX_ATTEMPTS = 20
MAX_BACKOFF_SECONDS = 300
# Errors Slack will keep giving for this channel, however often we retry.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "restricted_action",
        "cant_update_message",
        "message_not_found",
        "invalid_arguments",
        # conversations.open for the requester's DM
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
    }
)
# Of those, the ones about the channel rather than the message: the requester's DM can still take it.
FALLBACK_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "cant_update_message",
        "message_not_found",
    }
)
# How long a note waits for the post it points at, and how many permalinks we remember.
WAIT_SECONDS = 2
_PERMALINK_CACHE = 1000


class _LostLease(Exception):
    """Another worker owns the row now; leave it to them."""


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
    ) -> None:
        self._engine = engine
        self._client = client
        self._catalogue = catalogue
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._notify_requester_dm = notify_requester_dm
        self._home = home
        self._docs_url = docs_url
        self._permalinks: dict[tuple[str, str], str] = {}
        self._home_lock = threading.Lock()
        self._home_due: set[str] = set()
        self._dm_channels: dict[str, str] = {}

    def deliver_due(self) -> int:
        """Deliver every due notification; returns how many were handled.

        Rows are grouped by where they go (a channel, or a requester's DM). Destinations are served in
        parallel, each one's rows in order (cards first: a thread post needs the card's ts). Slack's
        limit is per channel (about one post a second), so when a channel answers 429, its other rows
        wait out the Retry-After without asking again. Measured in docs/benchmarks.md: one row after the
        other, 1,000 failures took 43 s to explain.
        """
        handled = 0
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="deliver") as pool:
            while ids := repository.claim_due_outbox(
                self._engine, owner=self._owner, limit=self._batch_size, lease_seconds=self._lease_seconds
            ):
                destinations: dict[str, list[tuple[bool, int]]] = defaultdict(list)
                for outbox_id, kind, destination in repository.outbox_destinations(self._engine, ids):
                    destinations[destination].append((kind != OutboxKind.CARD, outbox_id))
                list(pool.map(self._deliver_in_order, (sorted(rows) for rows in destinations.values())))
                handled += len(ids)
        self._publish_homes()
        return handled

    def _deliver_in_order(self, rows: list[tuple[bool, int]]) -> None:
        for index, (_, outbox_id) in enumerate(rows):
            wait = self._deliver_safely(outbox_id)
            if wait is not None:
                for _, later in rows[index + 1 :]:
                    self._defer(later, seconds=wait)
                return

    def _deliver_safely(self, outbox_id: int) -> float | None:
        """Deliver one row; if Slack rate-limits its channel, the seconds to wait before posting there."""
        try:
            self._deliver(outbox_id)
        except _LostLease:
            log.info("outbox %s taken over by another worker", outbox_id)
        except SlackApiError as exc:
            retry_after = _retry_after(exc)
            if exc.response.status_code == 429:
                # Not a failure of this message: it waits its turn, and its attempts are not used up.
                wait = retry_after if retry_after is not None else 1.0
                self._defer(outbox_id, seconds=wait)
                return wait
            self._failed(outbox_id, exc.response.get("error") or str(exc.response.status_code), retry_after)
        except (SlackClientError, OSError) as exc:
            self._failed(outbox_id, type(exc).__name__, None)
        except Exception:
            log.exception("delivering outbox %s failed", outbox_id)
            self._failed(outbox_id, "internal_error", None)
        return None

    def _deliver(self, outbox_id: int) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, outbox_id)
            request = session.get(ReplicaRequest, row.request_id) if row else None
            original = (
                session.get(ReplicaRequest, request.retry_of)
                if row is not None and row.kind == OutboxKind.CARD and request and request.retry_of
                else None
            )
        if (
            row is None
            or request is None
            or row.status != OutboxStatus.PENDING
            or row.lease_owner != self._owner
        ):
            return
        if row.kind == OutboxKind.REQUESTER_DM:
            self._deliver_requester_dm(row, request)
        elif row.fallback_reason is not None and not (row.kind == OutboxKind.CARD and _moved(request)):
            self._deliver_to_dm_instead(row, request, original)
        elif row.kind == OutboxKind.CARD:
            self._deliver_card(row, request, original)
        else:
            self._deliver_thread_post(row, request)

    # --- the card and its thread ------------------------------------------------------------------------

    def _deliver_card(
        self, row: OutboxMessage, request: ReplicaRequest, original: ReplicaRequest | None
    ) -> None:
        channel = request.card_channel_id or request.channel_id
        card = self._card(row, request, original)
        if request.card_ts:
            self._renew(row)
            self._client.chat_update(channel=channel, ts=request.card_ts, text=card.text, blocks=card.blocks)
            self._record_card(row, request, channel, request.card_ts)
        else:
            # Uploads are answered in the upload's thread; commands start a thread under the card.
            ts = self._post_once(row, channel, card, thread_ts=request.thread_ts)
            self._record_card(row, request, channel, ts)
        self._refresh_home(request.requester_id)

    def _deliver_thread_post(self, row: OutboxMessage, request: ReplicaRequest) -> None:
        if request.card_ts is None:
            # The card has not reached Slack yet; the thread post has to wait for it.
            self._defer(row.id, seconds=WAIT_SECONDS)  # type: ignore[arg-type]
            return
        channel = request.card_channel_id or request.channel_id
        ts = self._post_once(row, channel, self._thread_message(row, request), thread_ts=_thread_of(request))
        self._record_sent(row.id, ts, row.version)  # type: ignore[arg-type]

    def _card(
        self, row: OutboxMessage, request: ReplicaRequest, original: ReplicaRequest | None
    ) -> messages.Message:
        link = None
        if original is not None and original.card_ts:
            link = self._permalink(original.card_channel_id or original.channel_id, original.card_ts)
        moved = row.fallback_reason is not None
        return messages.request_card(
            request,
            retry_of=original,
            retry_of_link=link,
            meant_for=request.channel_id if moved else None,
            meant_for_reason=row.fallback_reason,
        )

    def _thread_message(self, row: OutboxMessage, request: ReplicaRequest) -> messages.Message:
        if row.kind == OutboxKind.FAILURE:
            explained = self._catalogue.explain(request.error_message)
            return messages.failure_post(request, explained, self._catalogue)
        if row.kind == OutboxKind.STUCK:
            return messages.stuck_notice(request, self._catalogue.support_email)
        if row.kind == OutboxKind.COMPLETION:
            return messages.completion_post(request, self._docs_url)
        raise ValueError(f"no message for outbox kind {row.kind!r}")

    # --- the requester's DM -----------------------------------------------------------------------------

    def _deliver_to_dm_instead(
        self, row: OutboxMessage, request: ReplicaRequest, original: ReplicaRequest | None
    ) -> None:
        """The channel refused this for good: it goes to the requester's DM, saying where it was meant for."""
        dm = self._open_dm(request.requester_id)
        if row.kind == OutboxKind.CARD:
            card = self._card(row, request, original)
            ts = self._post_once(row, dm, card, thread_ts=None)
            # From now on the card, its updates and its thread live in the DM.
            self._record_sent(
                row.id, ts, row.version, fallback_channel=dm, card=(request.id, dm), moved=True  # type: ignore[arg-type]
            )
            self._refresh_home(request.requester_id)
        else:
            notice = messages.fallback_notice(
                self._thread_message(row, request), meant_for=request.channel_id, reason=row.fallback_reason
            )
            # If the card already moved to the DM, this belongs in its thread there.
            thread_ts = request.card_ts if request.card_channel_id == dm else None
            ts = self._post_once(row, dm, notice, thread_ts=thread_ts)
            self._record_sent(row.id, ts, row.version, fallback_channel=dm)  # type: ignore[arg-type]
        log.info(
            "outbox %s (%s for request %s) went to the requester's DM instead of %s (%s)",
            row.id,
            row.kind,
            row.request_id,
            request.channel_id,
            row.fallback_reason,
        )

    def _deliver_requester_dm(self, row: OutboxMessage, request: ReplicaRequest) -> None:
        """A short DM pointing at the failure or completion post, once that post is in the thread."""
        if not self._notify_requester_dm:
            self._record_sent(row.id, None, row.version)  # type: ignore[arg-type]
            return
        with session_scope(self._engine) as session:
            outcome = repository.outcome_post(session, request.id)  # type: ignore[arg-type]
        if outcome is not None and outcome.status == OutboxStatus.PENDING:
            self._defer(row.id, seconds=WAIT_SECONDS)  # type: ignore[arg-type]
            return
        if outcome is None or outcome.status == OutboxStatus.SENT_VIA_FALLBACK:
            # Nothing to point at, or the post itself already went to their DM.
            self._record_sent(row.id, None, row.version)  # type: ignore[arg-type]
            return
        dm = self._open_dm(request.requester_id)
        posted_in = request.card_channel_id or request.channel_id
        if posted_in == dm:
            # The thread is their DM with the bot: the post itself is the notification.
            self._record_sent(row.id, None, row.version)  # type: ignore[arg-type]
            return
        permalink = None
        if outcome.status == OutboxStatus.SENT and outcome.slack_ts:
            permalink = self._permalink(posted_in, outcome.slack_ts)
        note = messages.requester_dm(request, permalink=permalink, catalogue=self._catalogue)
        ts = self._post_once(row, dm, note, thread_ts=None)
        self._record_sent(row.id, ts, row.version)  # type: ignore[arg-type]

    def _open_dm(self, user_id: str) -> str:
        if user_id not in self._dm_channels:
            response = self._client.conversations_open(users=user_id)
            self._dm_channels[user_id] = str(response["channel"]["id"])
        return self._dm_channels[user_id]

    def _permalink(self, channel: str, ts: str) -> str | None:
        """The message's permalink, or None if Slack cannot say; a missing link never blocks anything."""
        key = (channel, ts)
        if key not in self._permalinks:
            try:
                response = self._client.chat_getPermalink(channel=channel, message_ts=ts)
            except SlackApiError as exc:
                log.info("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
                return None
            except (SlackClientError, OSError):
                log.info("no permalink for %s/%s", channel, ts, exc_info=True)
                return None
            if len(self._permalinks) >= _PERMALINK_CACHE:
                self._permalinks.clear()
            self._permalinks[key] = str(response["permalink"])
        return self._permalinks[key]

    def _refresh_home(self, user_id: str) -> None:
        # Collected, then published once per user at the end of the pass: a burst of card updates for one
        # requester is one views.publish, not one each.
        if self._home is not None:
            with self._home_lock:
                self._home_due.add(user_id)

    def _publish_homes(self) -> None:
        with self._home_lock:
            users, self._home_due = self._home_due, set()
        for user_id in sorted(users):
            self._home.refresh(self._client, user_id)  # type: ignore[union-attr]

    # --- posting exactly once ---------------------------------------------------------------------------

    def _post_once(
        self, row: OutboxMessage, channel: str, message: messages.Message, *, thread_ts: str | None
    ) -> str:
        if row.attempts > 0:
            earlier = self._find_posted(row, channel, thread_ts)
            if earlier is not None:
                log.info("outbox %s was already posted as %s; not posting again", row.id, earlier)
                return earlier
        attempts = repository.start_outbox_attempt(
            self._engine, row.id, owner=self._owner, lease_seconds=self._lease_seconds  # type: ignore[arg-type]
        )
        if attempts is None:
            raise _LostLease
        row.attempts = attempts
        response = self._client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"outbox_id": row.id}},
        )
        return str(response["ts"])

    def _find_posted(self, row: OutboxMessage, channel: str, thread_ts: str | None) -> str | None:
        try:
            if thread_ts:
                response = self._client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            else:
                oldest = f"{row.created_at.timestamp() - 60:.6f}"
                response = self._client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=200
                )
        except SlackClientError as exc:
            log.warning("could not check whether outbox %s was posted: %s", row.id, exc)
            return None
        for message in response.get("messages", []):
            metadata: dict[str, Any] = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("outbox_id") == row.id:
                return str(message["ts"])
        return None

    def _renew(self, row: OutboxMessage) -> None:
        if not repository.renew_outbox_lease(
            self._engine,
            row.id,
            owner=self._owner,
            lease_seconds=self._lease_seconds,  # type: ignore[arg-type]
        ):
            raise _LostLease

    # --- bookkeeping ------------------------------------------------------------------------------------

    def _record_card(self, row: OutboxMessage, request: ReplicaRequest, channel: str, ts: str) -> None:
        self._record_sent(row.id, ts, row.version, card=(request.id, channel))  # type: ignore[arg-type]

    def _record_sent(
        self,
        outbox_id: int,
        ts: str | None,
        rendered_version: int,
        *,
        fallback_channel: str | None = None,
        card: tuple[int, str] | None = None,
        moved: bool = False,
    ) -> None:
        """Mark the row delivered (`ts` None: nothing needed posting), via the DM with `fallback_channel`;
        for a card, remember where it is (`card`: request id and channel) in the same transaction."""
        with self._engine.begin() as connection:
            if card is not None and ts is not None:
                repository.place_card(connection, card[0], card[1], ts, moved=moved)
            repository.record_outbox_sent(
                connection,
                outbox_id,
                ts=ts,
                rendered_version=rendered_version,
                fallback_channel=fallback_channel,
            )

    def _defer(self, outbox_id: int, *, seconds: float) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is not None:
                row.next_attempt_at = utcnow() + timedelta(seconds=seconds)
                row.lease_owner = row.lease_until = None
                session.add(row)

    def _failed(self, outbox_id: int, error: str, retry_after: float | None) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                return
            row.last_error = error
            row.lease_owner = row.lease_until = None
            row.failures += 1
            if (
                error in FALLBACK_ERRORS
                and row.fallback_reason is None
                and row.kind != OutboxKind.REQUESTER_DM
            ):
                # Never again in this channel: the next pass takes it to the requester's DM.
                row.fallback_reason = error
                row.attempts = 0
                row.next_attempt_at = utcnow()
                log.warning(
                    "outbox %s (%s for request %s): the channel refused it (%s); sending it to the "
                    "requester's DM instead",
                    row.id,
                    row.kind,
                    row.request_id,
                    error,
                )
            elif error in PERMANENT_ERRORS or row.failures >= MAX_ATTEMPTS:
                row.status = OutboxStatus.DEAD
                log.error(
                    "outbox %s (%s for request %s) cannot be delivered: %s",
                    row.id,
                    row.kind,
                    row.request_id,
                    error,
                )
            else:
                delay = retry_after if retry_after is not None else min(2**row.failures, MAX_BACKOFF_SECONDS)
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                log.warning("outbox %s not delivered (%s); retrying in %.0f s", row.id, error, delay)
            session.add(row)


def _moved(request: ReplicaRequest) -> bool:
    """The card lives in the requester's DM because its channel refused it."""
    return request.card_channel_id is not None and request.card_channel_id != request.channel_id


def _thread_of(request: ReplicaRequest) -> str | None:
    # A moved card starts its own thread in the DM; the upload's thread stayed behind in the channel.
    return request.card_ts if _moved(request) else (request.thread_ts or request.card_ts)


def _retry_after(exc: SlackApiError) -> float | None:
    value = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return float(value[0] if isinstance(value, list) else value) if value else None
    except ValueError:
        return None
