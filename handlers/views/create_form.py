"""The `/replica create` form: opened by the command without a link, the message shortcut and the retry
button; its submission is a request like any other."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import OutsideNotAllowed, Refusal
from bot.domain.requests import CreateArgs, Likeness, Requester
from bot.slack import render
from bot.slack.errors import field_error
from bot.slack.files import SlackFile, file_payload
from bot.slack.replies import where_asked
from handlers.payloads import FormPlace, FormSubmission, Payload
from handlers.services import Services


def open_form(
    services: Services,
    client: WebClient,
    trigger_id: str,
    place: FormPlace,
    *,
    name: str | None = None,
    voice: str | None = None,
    photo: SlackFile | None = None,
) -> None:
    """Open the form; with `photo`, it comes from a message; with `place.retry_of`, it retries a failed
    request whose name and voice come prefilled."""
    voices = services.voices
    if photo is not None:
        place = FormPlace(place.channel_id, place.thread_ts, place.retry_of, file_payload(photo))
    view = render.upload_modal(
        voices.names,
        private_metadata=place.dump(),
        name=name,
        voice=voice or voices.default,
        file_name=photo.name if photo else None,
        descriptions=voices.descriptions,
        retry_of_name=(name or "") if place.retry_of is not None else None,
        faces=services.faces,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def on_submit(ack: Ack, body: Payload, view: Payload, client: WebClient, services: Services) -> None:
    form = FormSubmission.read(body, view)
    likeness = _likeness(form.likeness, form.depicted_id)
    errors = {
        field: text
        for field, text in render.FIELD_ERRORS.items()
        if (field == "rights" and not form.rights_affirmed)
        or (field == "photo" and not form.files)
        or (field == "voice" and form.voice not in services.voices.names)
        or (field == "depicted" and likeness == Likeness.COLLEAGUE and not form.depicted_id)
    }
    if errors:
        # The photo error has nowhere to show when the photo came from a message.
        if "photo" in errors and not form.has_file_input:
            errors["name"] = errors["photo"]
        ack(response_action="errors", errors=errors)
        return
    place = form.place
    try:
        services.access.require_channel(place.channel_id)
        draft = services.submission.draft(
            Requester(user_id=form.user_id, channel_id=place.channel_id, team_id=form.team_id),
            CreateArgs(voice=form.voice, name=form.name, likeness=likeness, depicted_id=form.depicted_id),
            uploaded=True,
            thread_ts=place.thread_ts,
            slack_file_id=form.files[0].get("id"),
            rights_affirmed=True,
            retry_of=place.retry_of,
        )
    except Refusal as refusal:
        field = "likeness" if isinstance(refusal, OutsideNotAllowed) else "name"
        ack(response_action="errors", errors={field: field_error(refusal, services.catalogue)})
        return
    # Recorded before the form closes: a crash from here on cannot lose the request.
    draft = services.submission.receive(draft)
    ack()
    intake = services.intake
    reply = where_asked(client, place.channel_id, place.thread_ts, form.user_id)
    intake.after_ack(reply, intake.upload(draft, SlackFile.from_payload(form.files[0])), draft=draft)


def _likeness(chosen: str | None, depicted: str | None) -> Likeness | None:
    """The form's answer to "Whose face is it?"; a colleague picked without the answer means them. Forms
    that did not ask leave it to the checkbox, which affirms the requester's own rights."""
    if chosen in {str(v) for v in Likeness}:
        return Likeness(chosen)
    return Likeness.COLLEAGUE if depicted else None
