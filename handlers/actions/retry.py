"""The "Retry with a new photo" (or "… new video") button (failure post, requester DM, App Home): the
form, prefilled, for the requester or an admin; anyone else is told who can."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.slack.errors import user_message
from bot.slack.replies import to_clicker
from handlers.payloads import Click, FormPlace, Payload
from handlers.services import Services
from handlers.views.create_form import open_form
from handlers.views.video_form import open_video_form


def on_retry(ack: Ack, body: Payload, action: Payload, client: WebClient, services: Services) -> None:
    ack()
    click = Click.read(body, action)
    try:
        plan = services.retries.plan(click.value, click.user_id)
    except Refusal as refused:
        to_clicker(client, None, click.channel_id, click.user_id)(user_message(refused, services.catalogue))
        return
    if plan.video:
        # A failed video training needs a new recording: its own form asks for the link.
        open_video_form(services, client, click.trigger_id, plan)
        return
    place = FormPlace(plan.channel_id, plan.thread_ts, retry_of=plan.request_id)
    open_form(services, client, click.trigger_id, place, name=plan.replica_name, voice=plan.voice_name)
