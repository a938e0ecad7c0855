"""The sample video's form: opened by "Make a sample video" (or `/replica video <face_id>` without a
script) with the script prefilled; its submission records the video, once, before Tavus is asked."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import AlreadyRunning, Refusal
from bot.domain.try_face import Job, TryFace, VideoForm
from bot.slack import render
from bot.slack.errors import field_error, user_message
from bot.slack.replies import only_to, privately
from handlers.payloads import Payload, SampleVideoForm
from handlers.services import Services


def open_video_form(client: WebClient, trigger_id: str, form: VideoForm, *, channel_id: str) -> None:
    """The form, for a face this person may make a video of here (`SampleVideos.open` said so)."""
    place = SampleVideoForm.place(form.request_id, channel_id)
    client.views_open(trigger_id=trigger_id, view=render.sample_video_modal(form, private_metadata=place))


def on_submit(ack: Ack, body: Payload, view: Payload, client: WebClient, services: Services) -> None:
    form = SampleVideoForm.read(body, view)
    try_face = try_face_of(services)
    try:
        face = try_face.faces.by_request(form.request_id)
        job = try_face.videos.ask(face, form.user_id, form.channel_id, form.script)
    except AlreadyRunning as running:
        # A double submit, or a Slack retry: the first is being made; this one closes the form and says so.
        ack()
        privately(client, None, form.channel_id, form.user_id)(user_message(running, services.catalogue))
        return
    except Refusal as refused:
        ack(response_action="errors", errors={"script": field_error(refused, services.catalogue)})
        return
    # Recorded before the form closes: from here on a crash is reconciled, never a second video.
    ack()
    create_video(services, client, job, form.user_id, form.channel_id)


def create_video(services: Services, client: WebClient, job: Job, user_id: str, channel_id: str) -> None:
    """After the ack: ask Tavus for the recorded video. The thread says it is being made; only a create
    Tavus does not take is told to this person, here."""
    videos = try_face_of(services).videos

    def create() -> None:
        videos.create(job)

    services.intake.after_ack_say(only_to(client, channel_id, user_id), create)


def try_face_of(services: Services) -> TryFace:
    if services.try_face is None:
        raise RuntimeError("trying faces is not wired in this runtime")
    return services.try_face
