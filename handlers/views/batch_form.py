"""The batch form (`/replica batch`, "Retry the failed rows"): one CSV, up to ten photos, or pasted rows.
The batch is written down before the form closes; it is read and checked after, on its card. What cannot
be a batch at all (a file of the wrong kind, rows that are not CSV) is said under the field."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.batch import SharedPhoto
from bot.domain.batch.problems import BatchFileRefused
from bot.domain.errors import Refusal
from bot.domain.requests import Requester
from bot.slack import render
from bot.slack.errors import field_error
from bot.slack.files import SlackFile, csv_files, photo_files
from handlers.payloads import BatchForm, Payload
from handlers.services import Services


def open_batch_form(
    services: Services,
    client: WebClient,
    trigger_id: str,
    channel_id: str,
    *,
    rows: str | None = None,
    retry_of: str | None = None,
) -> None:
    voices = services.voices
    view = render.batch_modal(
        voices.names,
        private_metadata=BatchForm.place(channel_id),
        voice=voices.default,
        descriptions=voices.descriptions,
        rows=rows,
        retry_of=retry_of,
        max_rows=services.batch_service().max_rows,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def on_submit(ack: Ack, body: Payload, view: Payload, services: Services) -> None:
    form = BatchForm.read(body, view)
    files = [SlackFile.from_payload(f) for f in form.files]
    sheets, photos = csv_files(list(form.files)), photo_files(list(form.files))
    if not files and not form.rows:
        ack(response_action="errors", errors={"file": render.BATCH_FIELD_ERRORS["file"]})
        return
    if (sheets and photos) or len(sheets) > 1 or len(sheets) + len(photos) != len(files):
        ack(response_action="errors", errors={"file": render.BATCH_FIELD_ERRORS["mixed"]})
        return
    requester = Requester(form.user_id, form.channel_id, form.team_id)
    batches = services.batch_service()
    try:
        services.access.require_channel(form.channel_id)
        if sheets:
            batches.open_csv(requester, sheets[0].id, sheets[0].name)
        elif photos:
            names = list(form.names) + [""] * len(photos)
            shared = [SharedPhoto(p.id, p.name, names[n] or None) for n, p in enumerate(photos)]
            batches.open_photos(requester, shared, voice=form.voice, model=form.model)
        else:
            batches.open_text(requester, form.rows or "", voice=form.voice, model=form.model)
    except BatchFileRefused as refused:
        field = "file" if files else "rows"
        ack(response_action="errors", errors={field: field_error(refused, services.catalogue)})
        return
    except Refusal as refused:
        ack(response_action="errors", errors={"file": field_error(refused, services.catalogue)})
        return
    ack()
