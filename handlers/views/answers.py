"""The forms behind an answer: the colleague's note to go with their "no", and an approver's reason for
theirs. A refusal (someone else's, decided already) shows under the field; nothing changes."""

from __future__ import annotations

from slack_bolt import Ack

from bot.domain.errors import Refusal
from bot.slack import render
from bot.slack.errors import field_error
from handlers.payloads import Payload, batch_id_of, request_id_of
from handlers.services import Services


def on_decline_note(ack: Ack, body: Payload, view: Payload, services: Services) -> None:
    try:
        services.answers().decline_note(_form(view), body["user"]["id"], _text(view, "note"))
    except Refusal as refused:
        ack(response_action="errors", errors={"note": field_error(refused, services.catalogue)})
        return
    ack()


def on_deny_reason(ack: Ack, body: Payload, view: Payload, services: Services) -> None:
    reason = _text(view, "reason")
    if not reason:
        ack(response_action="errors", errors={"reason": render.REASON_REQUIRED})
        return
    try:
        services.answers().deny(_form(view), body["user"]["id"], reason)
    except Refusal as refused:
        ack(response_action="errors", errors={"reason": field_error(refused, services.catalogue)})
        return
    ack()


def on_batch_deny_reason(ack: Ack, body: Payload, view: Payload, services: Services) -> None:
    """An approver's reason for denying a whole batch."""
    reason = _text(view, "reason")
    if not reason:
        ack(response_action="errors", errors={"reason": render.REASON_REQUIRED})
        return
    try:
        batch_id, _ = batch_id_of(str(view.get("private_metadata") or ""))
        services.batch_service().deny(batch_id, body["user"]["id"], reason)
    except Refusal as refused:
        ack(response_action="errors", errors={"reason": field_error(refused, services.catalogue)})
        return
    ack()


def _form(view: Payload) -> int:
    """The request the form is about, kept in its private_metadata."""
    return request_id_of(str(view.get("private_metadata") or ""))


def _text(view: Payload, block_id: str) -> str:
    """What was typed into the form's one field; Slack may leave it out, so nothing is assumed."""
    values: Payload = (view.get("state") or {}).get("values") or {}
    value = (values.get(block_id, {}).get("value", {}) or {}).get("value")
    return value.strip() if isinstance(value, str) else ""
