"""What a batch says besides its card: its rows' posts in its thread (many failures of one cause in one
post, mentioning the requester and whose face each was), the summary once every row has ended, the
requester's one DM, an approver's message, and its lines in `/replica status`, `/replica list` and the
App Home."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.catalogue import Catalogue
from bot.slack.ids import BATCH_APPROVE_ACTION, BATCH_DENY_ACTION, BATCH_RETRY_ACTION
from bot.slack.render import approval, consent, refusals
from bot.slack.render.batch import (
    counts_line,
    row_reason,
    rows_named,
    state_of,
)
from bot.slack.render.blocks import Block, Message, button, context, escape, link, section, shorten
from bot.slack.render.card import reported_code
from bot.slack.render.thread import failure_post, stored_failure
from storage.batch_models import BatchStatus, RowVerdict
from storage.models import OutboxKind, ReplicaRequest, RequestStatus
from storage.repository.batches import BatchView, RowState

# Rows listed in one post by name (a post tells at most 100; Slack takes 3,000 characters a section).
_LISTED = 40
_ENDED_BADLY = ("failed", "declined", "not approved", "no answer in time", "deleted", "needs attention")


def _by_request(view: BatchView) -> dict[int, RowState]:
    return {r.request.id: r for r in view.rows if r.request is not None and r.request.id is not None}


def _row_line(state: RowState | None, request: ReplicaRequest) -> str:
    number = f"Row {state.row.row_number} · " if state is not None else ""
    face = f" · face: <@{request.depicted_id}>" if request.depicted_id else ""
    replica = f" · `{request.replica_id}`" if request.replica_id else ""
    return f"• {number}*{escape(shorten(request.replica_name, 60))}*{face}{replica}"


def batch_row_post(
    kind: str, view: BatchView, requests: Sequence[ReplicaRequest], catalogue: Catalogue
) -> Message:
    """The post of one or more of a batch's rows, in its thread: a failure (or several of one cause), a
    colleague's answer, no answer in time."""
    rows = _by_request(view)
    batch = view.batch
    assert batch.id is not None
    if len(requests) == 1:
        (request,) = requests
        post = _single(kind, request, catalogue)
        where = rows.get(request.id or 0)
        face = f" · face: <@{request.depicted_id}>" if request.depicted_id else ""
        head = f"Batch `{batch.public_id}`" + (f" · row {where.row.row_number}" if where else "") + face
        return Message(text=post.text, blocks=[context(head), *post.blocks][:50])
    mention = f"<@{batch.requester_id}>"
    listed = "\n".join(_row_line(rows.get(r.id or 0), r) for r in requests[:_LISTED])
    more = f"\n…and {len(requests) - _LISTED} more" if len(requests) > _LISTED else ""
    if kind == OutboxKind.FAILURE:
        explained = stored_failure(requests[0], catalogue)
        entry = explained.entry
        title = entry.title if entry is not None else "Tavus gave another reason"
        text = f"{mention} {len(requests)} rows of batch {batch.public_id} failed training: {title}."
        head = f":x: {mention} *{len(requests)} rows failed training: {escape(title)}*"
        blocks: list[Block] = [section(head)]
        if entry is not None:
            blocks.append(section(f"*What it means*\n{entry.explanation}"))
            blocks.append(section("*What to do next*\n" + "\n".join(f"• {step}" for step in entry.advice)))
        else:
            blocks.append(section("*What Tavus said*\n" + "\n".join(
                f"• *{escape(shorten(r.replica_name, 60))}*: {escape(shorten(r.error_message or '—', 200))}"
                for r in requests[:_LISTED]
            )))
        blocks.append(section(f"*Rows*\n{listed}{more}"[:3000]))
        code = reported_code(requests[0]) or ""
        retry = button("Retry these rows", BATCH_RETRY_ACTION, f"{batch.id}:{code}", primary=True)
        blocks.append({"type": "actions", "elements": [retry]})
        blocks.append(context(
            "A run that fails costs no credit. Please don't delete these replicas straight away: if they are "
            "deleted right after the error, the refund may not register."
        ))
        return Message(text=text, blocks=blocks)
    text = f"{mention} {len(requests)} rows of batch {batch.public_id} were not submitted: no answer in time."
    blocks = [
        section(f":hourglass: {mention} *{len(requests)} rows were not submitted*: the colleague in each "
                "photo did not answer in time, so nothing was sent to Tavus and the photos were deleted."),
        section(f"*Rows*\n{listed}{more}"[:3000]),
    ]
    return Message(text=text, blocks=blocks)


def _single(kind: str, request: ReplicaRequest, catalogue: Catalogue) -> Message:
    if kind == OutboxKind.FAILURE:
        return failure_post(request, stored_failure(request, catalogue), catalogue)
    answered = {
        OutboxKind.DECLINED: consent.declined_post,
        OutboxKind.DECLINE_NOTE: consent.decline_note_post,
        OutboxKind.EXPIRED: consent.expired_post,
        OutboxKind.CONSENT_UNREACHABLE: consent.consent_unreachable,
        OutboxKind.DENIED: approval.denied_post,
    }
    render = answered.get(OutboxKind(kind))
    if render is None:
        raise ValueError(f"no batch row post for outbox kind {kind!r}")
    return render(request)


def batch_post(kind: str, view: BatchView, catalogue: Catalogue) -> Message:
    """The batch's own posts in its thread: the summary once every row has ended, an approver's no."""
    batch = view.batch
    assert batch.id is not None
    mention = f"<@{batch.requester_id}>"
    if kind == OutboxKind.BATCH_DENIED:
        reason = f": {escape(batch.approval_reason)}" if batch.approval_reason else ""
        text = (
            f"{mention} <@{batch.approval_by}> did not approve batch {batch.public_id}{reason}. "
            "Nothing was submitted."
        )
        return Message(text=text, blocks=[section(f":no_entry_sign: {text}")])
    if kind != OutboxKind.BATCH_SUMMARY:
        raise ValueError(f"no batch post for outbox kind {kind!r}")
    ready = sum(1 for r in view.rows if state_of(r) == "ready")
    missed = [r for r in view.rows if state_of(r) in _ENDED_BADLY]
    text = f"{mention} Batch {batch.public_id} has ended: {ready} ready, {len(missed)} did not make it."
    blocks: list[Block] = [
        section(
            f":checkered_flag: {mention} *Batch `{batch.public_id}` has ended: {ready} ready* · "
            + counts_line(view)
        )
    ]
    if missed:
        lines = [f"• {rows_named([r])} — {_why_not(r, catalogue)}" for r in missed[:_LISTED]]
        more = ""
        if len(missed) > _LISTED:
            more = f"\n…and {len(missed) - _LISTED} more (`/replica status {batch.public_id}`)"
        blocks.append(section(("*Did not make it*\n" + "\n".join(lines) + more)[:3000]))
        retry = button("Retry the failed rows", BATCH_RETRY_ACTION, str(batch.id), primary=True)
        blocks.append({"type": "actions", "elements": [retry]})
    return Message(text=text, blocks=blocks)


def _why_not(state: RowState, catalogue: Catalogue) -> str:
    request = state.request
    if request is None:
        return row_reason(state, catalogue)
    status = RequestStatus(request.status)
    if status == RequestStatus.FAILED:
        entry = stored_failure(request, catalogue).entry
        said = entry.title if entry else escape(shorten(request.error_message or "—", 200))
        return f"training failed: {said}"
    if status == RequestStatus.SUBMIT_FAILED and request.submit_error:
        return "not submitted: " + escape(refusals.submit_error_text(request.submit_error))
    if status == RequestStatus.DECLINED:
        return f"<@{request.depicted_id}> declined"
    if status == RequestStatus.DENIED:
        return "not approved"
    if status == RequestStatus.EXPIRED:
        return "nobody answered in time"
    return state_of(state)


def batch_dm(view: BatchView, *, permalink: str | None) -> Message:
    """The requester's one DM about a batch, when every row has ended."""
    batch = view.batch
    ready = sum(1 for r in view.rows if state_of(r) == "ready")
    missed = sum(1 for r in view.rows if state_of(r) in _ENDED_BADLY)
    where = link(permalink, "See the summary in the thread") if permalink else (
        f"`/replica status {batch.public_id}` has every row"
    )
    text = (
        f":package: Your batch `{batch.public_id}` has ended: {ready} ready, {missed} did not make it. "
        f"{where}."
    )
    return Message(text=text, blocks=[section(text)])


def batch_approval_ask(view: BatchView) -> Message:
    """An approver's message about a batch: who asks, how many faces and whose, what the checks found;
    Approve / Deny while it waits, then what was decided."""
    batch = view.batch
    assert batch.id is not None
    ready = view.where(RowVerdict.READY)
    colleagues = sum(1 for r in ready if r.row.depicted_id)
    outside = sum(1 for r in ready if r.row.likeness == "outside")
    names = ", ".join(escape(shorten(r.row.name, 40)) for r in ready[:20]) + ("…" if len(ready) > 20 else "")
    text = (
        f"<@{batch.requester_id}> asks to submit a batch of {_replicas(len(ready))} in <#{batch.channel_id}>."
    )
    faces = []
    if colleagues:
        faces.append(f"{colleagues} of colleagues, each asked for consent before anything reaches Tavus")
    if outside:
        faces.append(f"{outside} of people outside this workspace or synthetic characters")
    attention = len(view.where(RowVerdict.ATTENTION))
    checks = f"{len(ready)} passed the checks; {attention} need attention and stay out."
    blocks: list[Block] = [
        section(f":package: {text} One decision approves or denies them all."),
        section(f"*Names*\n{names}"),
        context(" · ".join([*faces, checks])),
    ]
    status = BatchStatus(batch.status)
    if status == BatchStatus.AWAITING_APPROVAL:
        blocks.append(batch_approval_buttons(batch.id))
        return Message(text=text, blocks=blocks)
    decided = {
        "approved": f":white_check_mark: Approved by <@{batch.approval_by}>.",
        "denied": f":no_entry_sign: Denied by <@{batch.approval_by}>"
        + (f": {escape(batch.approval_reason)}" if batch.approval_reason else "."),
        "expired": ":hourglass: Nobody decided in time; nothing was submitted.",
    }.get(batch.approval_status or "", ":wastebasket: The requester cancelled it.")
    return Message(text=f"{text} {decided}", blocks=[*blocks, section(decided)])


def batch_approval_buttons(batch_id: int) -> Block:
    """Approve / Deny for a whole batch, in the approver's message and in their App Home."""
    value = str(batch_id)
    return {"type": "actions", "elements": [
        button("Approve", BATCH_APPROVE_ACTION, value, primary=True),
        {**button("Deny", BATCH_DENY_ACTION, value), "style": "danger"},
    ]}


def batch_approval_line(view: BatchView) -> str:
    """What waits for an approver's decision, in a line of their App Home."""
    batch = view.batch
    ready = len(view.where(RowVerdict.READY))
    return (
        f"<@{batch.requester_id}> asks to submit a batch of {_replicas(ready)} (`{batch.public_id}`, in "
        f"<#{batch.channel_id}>): it needs your approval."
    )


def _replicas(count: int) -> str:
    return f"{count} replica{'s' if count != 1 else ''}"


# --- `/replica status`, `/replica list`, App Home ----------------------------------------------------------


def batch_line(view: BatchView) -> str:
    """One batch in a list: its id, what it was, and its counts."""
    batch = view.batch
    what = escape(shorten(batch.file_name, 40)) if batch.file_name else f"{batch.total or 0} rows"
    return f"*Batch `{batch.public_id}`* ({what}) · {batch.status.replace('_', ' ')} · {counts_line(view)}"


def batch_status(view: BatchView, catalogue: Catalogue) -> str:
    """`/replica status b12`: the batch and every row (a row's face is also reachable by its replica id)."""
    lines = [batch_line(view)]
    for state in view.rows[:60]:
        request = state.request
        now = row_reason(state, catalogue) if state.row.verdict == RowVerdict.ATTENTION and request is None \
            else state_of(state)
        replica = f" · `{request.replica_id}`" if request is not None and request.replica_id else ""
        name = escape(shorten(state.row.name, 40))
        lines.append(f"• Row {state.row.row_number} · *{name}* · {now}{replica}")
    if len(view.rows) > 60:
        lines.append(f"…and {len(view.rows) - 60} more rows")
    return "\n".join(lines)[:3900]
