"""Delivering what is posted where a batch is followed: its one card (posted once, then edited within
chat.update's budget like a request's card), the approvers' messages, the posts of its rows in its thread,
its summary, and the requester's one DM at the end.

Many rows failing at once would be many posts in one channel, which Slack lets through at about one a
second: so the posts of one kind and cause are told together, one post for all the rows that are waiting
(`storage.repository.batch_outbox`), and no explanation waits long behind the others. Each post is made
exactly once (`bot.slack.exactly_once`), grouped or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from slack_sdk import WebClient

from bot.domain.catalogue import Catalogue
from bot.slack import render
from bot.slack.addressed import DirectMessages, is_user
from bot.slack.exactly_once import OncePoster
from bot.slack.pacing import UPDATE, PacedCalls
from bot.slack.permalinks import Permalinks
from storage.batch_models import Batch
from storage.db import Engine
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest
from storage.repository import batch_outbox, batches, outbox
from storage.repository.outbox import ForDelivery

log = logging.getLogger(__name__)

# How long a post waits for what it follows (the card it goes under, the summary a DM points at).
WAIT_SECONDS = 2
# Posts of a batch's rows told together when several wait at once.
GROUPED = frozenset((OutboxKind.FAILURE, OutboxKind.EXPIRED))
_TOLD = (OutboxStatus.SENT, OutboxStatus.SENT_VIA_FALLBACK)


class BatchDelivery:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        catalogue: Catalogue,
        *,
        calls: PacedCalls,
        poster: OncePoster,
        dms: DirectMessages,
        permalinks: Permalinks,
        owner: str,
        lease_seconds: float,
        defer: Callable[[int, float], None],
        on_posted: Callable[[OutboxMessage], None] = lambda row: None,
        on_card: Callable[[str, str | None], None] = lambda user, team: None,
        notify_requester_dm: bool = True,
    ) -> None:
        """`defer(outbox_id, seconds)`: not now; `on_posted(row)`: a row reached Slack (told in a post);
        `on_card(user, team)`: what `user`'s App Home shows of a batch changed (its card, as its requester,
        or its question, as an approver)."""
        self._engine = engine
        self._client = client
        self._catalogue = catalogue
        self._calls = calls
        self._poster = poster
        self._dms = dms
        self._permalinks = permalinks
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._defer = defer
        self._on_posted = on_posted
        self._on_card = on_card
        self._notify_requester_dm = notify_requester_dm

    def deliver(self, loaded: ForDelivery) -> None:
        row, request, batch = loaded.row, loaded.request, loaded.batch
        assert batch is not None and row.id is not None
        if row.fallback_reason is not None and row.recipient is None and not _moved(batch):
            self._to_dm_instead(row, batch, request)
        elif row.kind == OutboxKind.BATCH_CARD:
            self._card(row, batch)
        elif row.recipient is not None:
            self._addressed(row, batch)
        elif row.kind == OutboxKind.BATCH_DM:
            self._requester_dm(row, batch)
        elif batch.card_ts is None:
            # The card has not reached Slack yet: its thread posts wait for it.
            self._defer(row.id, WAIT_SECONDS)
        elif request is not None and row.kind in GROUPED:
            self._grouped(row, batch)
        else:
            self._thread_post(row, batch, request)

    # --- the card ---------------------------------------------------------------------------------------

    def _card(self, row: OutboxMessage, batch: Batch) -> None:
        assert row.id is not None and batch.id is not None
        view = batches.view(self._engine, batch.id)
        if view is None:
            return
        card = render.batch_card(view, self._catalogue)
        channel = batch.card_channel_id or batch.channel_id
        if batch.card_ts:
            self._edit(row, channel, batch.card_ts, card, batch.team_id)
        else:
            ts = self._poster.post(row, channel, card, thread_ts=batch.thread_ts, team=batch.team_id)
            batch_outbox.record_card(
                self._engine, row.id, ts=ts, rendered_version=row.version, batch_id=batch.id, channel=channel
            )
        self._on_card(batch.requester_id, batch.team_id)

    # --- the thread -------------------------------------------------------------------------------------

    def _thread_post(self, row: OutboxMessage, batch: Batch, request: ReplicaRequest | None) -> None:
        assert row.id is not None and batch.id is not None
        view = batches.view(self._engine, batch.id)
        if view is None:
            return
        if request is not None:
            post = render.batch_row_post(row.kind, view, [request], self._catalogue)
        else:
            post = render.batch_post(row.kind, view, self._catalogue)
        self._post_in_thread(row, batch, post)

    def _grouped(self, row: OutboxMessage, batch: Batch) -> None:
        """Tell this row, and every other of the batch waiting with the same kind and cause, in one post."""
        assert row.id is not None and batch.id is not None
        if row.group_lead is not None and row.group_lead != row.id:
            lead = outbox.get(self._engine, row.group_lead)
            if lead is not None and lead.status == OutboxStatus.PENDING:
                self._defer(row.id, WAIT_SECONDS)  # its group's post is on its way
                return
            if lead is not None and lead.status in _TOLD:
                outbox.record_delivered(self._engine, row.id, ts=lead.slack_ts, rendered_version=row.version)
                return
            # The post meant to tell it was given up: it is told on its own (or with others) now.
            outbox.leave_group(self._engine, row.id)
        # A post already attempted tells the rows it was written for, no more: it may be in Slack.
        batch_outbox.gather(
            self._engine, row, owner=self._owner, lease_seconds=self._lease_seconds, grow=row.attempts == 0
        )
        view = batches.view(self._engine, batch.id)
        group = batch_outbox.group(self._engine, row.id)
        if view is None or not group:
            return
        post = render.batch_row_post(row.kind, view, [request for _, request in group], self._catalogue)
        thread = _thread_of(batch)
        ts = self._poster.post(row, self._place(batch), post, thread_ts=thread, team=batch.team_id)
        outbox.record_group_sent(self._engine, row.id, ts=ts, rendered_version=row.version)
        for member, _ in group:
            self._on_posted(member)

    def _post_in_thread(self, row: OutboxMessage, batch: Batch, post: render.Message) -> None:
        assert row.id is not None
        thread = _thread_of(batch)
        ts = self._poster.post(row, self._place(batch), post, thread_ts=thread, team=batch.team_id)
        outbox.record_delivered(self._engine, row.id, ts=ts, rendered_version=row.version)
        self._on_posted(row)

    @staticmethod
    def _place(batch: Batch) -> str:
        return batch.card_channel_id or batch.channel_id

    # --- a channel that refused the batch for good: the requester's DM --------------------------------

    def _to_dm_instead(self, row: OutboxMessage, batch: Batch, request: ReplicaRequest | None) -> None:
        """The card (and the posts that could not follow it) go to the requester's DM, saying where they
        were meant for; the card lives on there, and its thread with it."""
        assert row.id is not None and batch.id is not None
        view = batches.view(self._engine, batch.id)
        if view is None:
            return
        dm = self._dms.channel(batch.requester_id, batch.team_id)
        reason = row.fallback_reason
        if row.kind == OutboxKind.BATCH_CARD:
            card = render.batch_card(view, self._catalogue, meant_for=batch.channel_id, reason=reason)
            ts = self._poster.post(row, dm, card, thread_ts=None, team=batch.team_id)
            batch_outbox.record_card(
                self._engine, row.id, ts=ts, rendered_version=row.version, batch_id=batch.id, channel=dm,
                moved=True, fallback_channel=dm,
            )
            return
        if request is not None:
            post = render.batch_row_post(row.kind, view, [request], self._catalogue)
        else:
            post = render.batch_post(row.kind, view, self._catalogue)
        notice = render.fallback_notice(post, meant_for=batch.channel_id, reason=reason)
        thread = batch.card_ts if batch.card_channel_id == dm else None
        ts = self._poster.post(row, dm, notice, thread_ts=thread, team=batch.team_id)
        outbox.record_delivered(
            self._engine, row.id, ts=ts, rendered_version=row.version, fallback_channel=dm
        )

    def _edit(
        self, row: OutboxMessage, channel: str, ts: str, message: render.Message, team: str | None
    ) -> None:
        """Bring a message already in Slack (the card, an approver's) to its latest state, within budget."""
        assert row.id is not None
        self._poster.renew(row)
        text, blocks = message.text, message.blocks
        edit = partial(self._client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)
        self._calls.call(UPDATE, team, edit)
        outbox.record_delivered(self._engine, row.id, ts=ts, rendered_version=row.version)

    # --- people -----------------------------------------------------------------------------------------

    def _addressed(self, row: OutboxMessage, batch: Batch) -> None:
        """An approver's message (or the one post in the approvals channel): posted once, then edited to
        say what was decided."""
        assert row.id is not None and row.recipient is not None and batch.id is not None
        view = batches.view(self._engine, batch.id)
        if view is None:
            return
        message = render.batch_approval_ask(view)
        recipient = row.recipient
        user = is_user(recipient)
        if row.slack_ts and row.posted_channel_id:
            self._edit(row, row.posted_channel_id, row.slack_ts, message, batch.team_id)
        else:
            channel = self._dms.channel(recipient, batch.team_id) if user else recipient
            ts = self._poster.post(row, channel, message, thread_ts=None, team=batch.team_id)
            outbox.record_delivered(
                self._engine, row.id, ts=ts, rendered_version=row.version, posted_channel=channel
            )
        if user:  # their App Home asks while the batch waits for them, and stops once it is decided
            self._on_card(recipient, batch.team_id)

    def _requester_dm(self, row: OutboxMessage, batch: Batch) -> None:
        """The requester's one DM about the batch, once it has ended, pointing at the summary."""
        assert row.id is not None and batch.id is not None
        summary = batch_outbox.posted(self._engine, batch.id, OutboxKind.BATCH_SUMMARY)
        if summary is not None and summary.status == OutboxStatus.PENDING:
            self._defer(row.id, WAIT_SECONDS)
            return
        view = batches.view(self._engine, batch.id)
        if not self._notify_requester_dm or view is None:
            outbox.record_delivered(self._engine, row.id, ts=None, rendered_version=row.version)
            return
        dm = self._dms.channel(batch.requester_id, batch.team_id)
        permalink = None
        if summary is not None and summary.slack_ts and (batch.card_channel_id or batch.channel_id) != dm:
            place = batch.card_channel_id or batch.channel_id
            permalink = self._permalinks.of(place, summary.slack_ts, team=batch.team_id)
        note = render.batch_dm(view, permalink=permalink)
        ts = self._poster.post(row, dm, note, thread_ts=None, team=batch.team_id)
        outbox.record_delivered(self._engine, row.id, ts=ts, rendered_version=row.version)


def _moved(batch: Batch) -> bool:
    """The card lives in the requester's DM because its channel refused it."""
    return batch.card_channel_id is not None and batch.card_channel_id != batch.channel_id


def _thread_of(batch: Batch) -> str | None:
    # A batch sent by a mention or a DM is answered in that message's thread, like a single upload; one
    # from the form starts a thread under its card; a moved card starts its own in the DM.
    return batch.card_ts if _moved(batch) else (batch.thread_ts or batch.card_ts)
