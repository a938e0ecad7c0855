"""A batch's buttons: Submit N and Cancel on its card (the requester or an admin; the first click counts),
"Retry the failed rows" and "Retry these rows" (the batch form, filled in with them), and an approver's
Approve and Deny (a form asks why) for the whole batch. A refusal goes privately to whoever clicked."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.slack import render
from bot.slack.errors import user_message
from bot.slack.ids import BATCH_DENY_CALLBACK_ID
from bot.slack.replies import to_clicker
from handlers.payloads import Click, Payload, batch_id_of
from handlers.services import Services
from handlers.views.batch_form import open_batch_form


def on_submit(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    try:
        services.batch_service().submit(batch_id_of(click.value)[0], click.user_id)
    except Refusal as refused:
        _refused(client, respond, click, services, refused)


def on_cancel(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    try:
        services.batch_service().cancel(batch_id_of(click.value)[0], click.user_id)
    except Refusal as refused:
        _refused(client, respond, click, services, refused)


def on_retry(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    batches = services.batch_service()
    try:
        batch_id, code = batch_id_of(click.value)
        rows = batches.retry_rows(batch_id, click.user_id, code=code)
        batch = batches.view(batch_id).batch
    except Refusal as refused:
        _refused(client, respond, click, services, refused)
        return
    open_batch_form(services, client, click.trigger_id, batch.channel_id, rows=rows, retry_of=batch.public_id)


def on_approve(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    try:
        services.batch_service().approve(batch_id_of(click.value)[0], click.user_id)
    except Refusal as refused:
        _refused(client, respond, click, services, refused)


def on_deny(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    try:
        batch_id = batch_id_of(click.value)[0]
        services.batch_service().check_approver(batch_id, click.user_id)
    except Refusal as refused:
        _refused(client, respond, click, services, refused)
        return
    form = render.deny_form(batch_id, callback_id=BATCH_DENY_CALLBACK_ID, what="batch")
    client.views_open(trigger_id=click.trigger_id, view=form)


def _refused(client: WebClient, respond: Respond, click: Click, services: Services, refused: Refusal) -> None:
    to_clicker(client, respond, click.channel_id, click.user_id)(user_message(refused, services.catalogue))
