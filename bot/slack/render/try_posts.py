"""The posts a sample video or a test call makes in its face's thread, each once: a video is being made,
is ready (its link, its thumbnail), failed (Tavus' words explained, and what to try next), was deleted, or
never started; a call started (who is in it, never its link), ended (how long it lasted), or never
started."""

from __future__ import annotations

from bot.domain.errors import SubmitProblem
from bot.domain.requests import SubmitError
from bot.slack.render.blocks import Block, Message, context, escape, link, section, shorten
from bot.slack.render.refusals import submit_problem_text
from bot.slack.render.try_face import MAKE_VIDEO, TALK, duration
from storage.job_models import FaceJob
from storage.models import OutboxKind, ReplicaRequest

_MAX_URL = 2000
_SCRIPT_PREVIEW = 80


def job_post(kind: str, face: ReplicaRequest, job: FaceJob, support_email: str) -> Message:
    """The post an outbox row of `kind` about `job` makes in the thread of `face`."""
    name, asker = escape(face.replica_name), f"<@{job.asked_by}>"
    if kind == OutboxKind.VIDEO_STARTED:
        words = escape(shorten(" ".join((job.script or "").split()), _SCRIPT_PREVIEW))
        return _post(f":clapper: {asker} asked for a sample video of *{name}*: “{words}” Tavus is making it; "
                     "the link follows here when it is ready.")
    if kind == OutboxKind.VIDEO_READY:
        return _video_ready(name, asker, job, support_email)
    if kind == OutboxKind.VIDEO_FAILED:
        return _video_failed(name, asker, job, support_email)
    if kind == OutboxKind.VIDEO_DELETED:
        video_id = escape(job.tavus_id or "?")
        return _post(f":wastebasket: The sample video of *{name}* that {asker} asked for was deleted in "
                     f"Tavus before it was ready (video `{video_id}`).")
    if kind == OutboxKind.VIDEO_NOT_MADE:
        return _post(f":warning: The sample video of *{name}* that {asker} asked for did not start: "
                     f"{_why(job)} Nothing was spent; *{MAKE_VIDEO}* again in a few minutes.")
    if kind == OutboxKind.CALL_STARTED:
        return _post(f":telephone_receiver: {asker} started a test call with *{name}*"
                     f"{_for_up_to(job)}. The link to join went to them only.")
    if kind == OutboxKind.CALL_ENDED:
        return _post(f":telephone_receiver: The test call with *{name}* that {asker} started has ended"
                     f"{_lasting(job)}.")
    if kind == OutboxKind.CALL_NOT_STARTED:
        return _post(f":warning: The test call with *{name}* that {asker} asked for did not start: "
                     f"{_why(job)} *{TALK}* again in a few minutes.")
    raise ValueError(f"no post for outbox kind {kind!r} about a job")


def _post(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


def _video_ready(name: str, asker: str, job: FaceJob, support_email: str) -> Message:
    video_id = escape(job.tavus_id or "?")
    url = job.video_url
    if not _linkable(url):
        text = (
            f":warning: {asker} Tavus says the sample video of *{name}* is ready, but it gave no link to it "
            f"(video `{video_id}`). Write to {support_email} with the video id to get it."
        )
        return _post(text)
    assert url is not None
    text = f":movie_camera: {asker} the sample video of *{name}* is ready: {link(url, 'Watch it')}"
    blocks: list[Block] = [section(text)]
    if _linkable(job.thumbnail_url):
        alt = f"The first moments of the sample video of {name}"
        blocks.append({"type": "image", "image_url": job.thumbnail_url, "alt_text": alt})
    blocks.append(context(f"Video `{video_id}`"))
    ready = f"{asker} the sample video of *{name}* is ready: {link(url, 'Watch it')}"
    return Message(text=ready, blocks=blocks)


def _video_failed(name: str, asker: str, job: FaceJob, support_email: str) -> Message:
    said = job.status_details
    lines = [
        f":x: {asker} Tavus could not make the sample video of *{name}*.",
        f"*What it means*\n{_explained(said)}",
        "*What to try next*\n"
        f"• A shorter script in plain sentences: *{MAKE_VIDEO}* again (a failed video costs no credit).\n"
        f"• *{TALK}*: a short live call shows the face too.\n"
        f"• If it keeps failing, write to {support_email} with video `{escape(job.tavus_id or '?')}`.",
    ]
    blocks = [section("\n".join(lines))]
    if said:
        blocks.append(context(f"Tavus said: {escape(said)}"))
    return Message(text=f"{asker} Tavus could not make the sample video of *{name}*.", blocks=blocks)


def _explained(said: str | None) -> str:
    """Tavus' `status_details` in plain words. Its docs show one error text (a generic one), so this
    recognises what the words are about rather than exact texts."""
    text = (said or "").lower()
    if not text:
        return "Tavus gave no reason."
    if "script" in text or "too long" in text or "length" in text:
        return "Tavus could not turn this script into speech; a shorter, plainer one usually works."
    if any(word in text for word in ("replica", "face", "not supported", "not ready")):
        return (
            "Tavus could not make a video with this face: some faces are made for conversations only. "
            "A test call works with every face."
        )
    return (
        "Tavus ran into an error while rendering the video. That is usually passing: the same or a shorter "
        "script often works on a second try."
    )


def _why(job: FaceJob) -> str:
    error = SubmitError.parse(job.create_error)
    if error is not None and error.problem == SubmitProblem.RESUME_FAILED:
        return "a restart of replica-bot cut it short."
    if error is None:
        return "Tavus did not take it."
    return escape(submit_problem_text(error.problem, error.detail))


def _for_up_to(job: FaceJob) -> str:
    if job.ends_at is None or job.started_at is None:
        return ""
    return f" (up to {duration((job.ends_at - job.started_at).total_seconds())})"


def _lasting(job: FaceJob) -> str:
    if job.finished_at is None or job.started_at is None:
        return ""
    return f" after {duration((job.finished_at - job.started_at).total_seconds())}"


def _linkable(url: str | None) -> bool:
    return bool(url) and len(url or "") <= _MAX_URL and (url or "").startswith(("https://", "http://"))
