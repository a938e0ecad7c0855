"""The "Retry with a new video" form: opened by the retry button of a failed video request; its submission
is a video request like `/replica create video=… consent=…`, linked back to the one that failed."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.domain.requests import CreateArgs, Requester
from bot.domain.resubmission import RetryPlan
from bot.slack.errors import field_error
from bot.slack.render.video_retry import VIDEO_FIELD_ERRORS, video_retry_modal
from bot.slack.replies import where_asked
from handlers.payloads import FormPlace, Payload, VideoFormSubmission
from handlers.services import Services

_SCHEMES = ("https://", "http://")


def open_video_form(services: Services, client: WebClient, trigger_id: str, plan: RetryPlan) -> None:
    place = FormPlace(plan.channel_id, plan.thread_ts, retry_of=plan.request_id)
    failure = services.catalogue.lookup(plan.error_code) if plan.error_code else None
    view = video_retry_modal(
        private_metadata=place.dump(),
        name=plan.replica_name,
        failure=failure,
        consent_url=plan.consent_url,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def on_submit(ack: Ack, body: Payload, view: Payload, client: WebClient, services: Services) -> None:
    form = VideoFormSubmission.read(body, view)
    errors = {
        field: text
        for field, text in VIDEO_FIELD_ERRORS.items()
        if (field == "video" and not (form.video_url or "").lower().startswith(_SCHEMES))
        or (field == "consent" and form.consent_url and not form.consent_url.lower().startswith(_SCHEMES))
        or (field == "rights" and not form.rights_affirmed)
    }
    if errors:
        ack(response_action="errors", errors=errors)
        return
    place = form.place
    try:
        services.access.require_channel(place.channel_id)
        draft = services.submission.draft(
            Requester(user_id=form.user_id, channel_id=place.channel_id, team_id=form.team_id),
            CreateArgs(video_url=form.video_url, consent_url=form.consent_url, name=form.name),
            thread_ts=place.thread_ts,
            rights_affirmed=True,
            retry_of=place.retry_of,
        )
    except Refusal as refusal:
        ack(response_action="errors", errors={"video": field_error(refusal, services.catalogue)})
        return
    # Recorded before the form closes: a crash from here on cannot lose the request.
    draft = services.submission.receive(draft)
    ack()
    reply = where_asked(client, place.channel_id, place.thread_ts, form.user_id)
    services.intake.after_ack(reply, services.intake.link(draft), draft=draft)
