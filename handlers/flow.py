"""The end of every way in: report the submission result where the requester is looking."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.preflight import PreflightRefusal
from bot.runtime import Runtime
from bot.slack_files import SlackFile
from bot.submission import ReplicaDraft, SubmissionResult
from handlers.replies import reply_privately
from storage.models import RequestStatus

log = logging.getLogger(__name__)

# Says something to the requester: text, and optionally blocks.
Reply = Callable[[str, list[dict] | None], None]


def in_thread(client: WebClient, channel: str, thread_ts: str) -> Reply:
    def reply(text: str, blocks: list[dict] | None = None) -> None:
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not reply in thread %s/%s: %s", channel, thread_ts, exc.response.get("error"))

    return reply


def privately(client: WebClient, respond: Respond | None, channel: str, user: str) -> Reply:
    def reply(text: str, blocks: list[dict] | None = None) -> None:
        reply_privately(client, respond, channel=channel, user=user, text=text, blocks=blocks)

    return reply


def after_ack(
    runtime: Runtime, reply: Reply, job: Callable[[], None], *, draft: ReplicaDraft | None = None
) -> None:
    """Do `job` (downloads, Tavus) after the ack, off Bolt's listener threads (see bot/after_ack.py).
    `draft`: the request it works on, closed if the job fails, since the requester is asked to try again
    (resuming it after a restart as well would make two)."""

    def run() -> None:
        try:
            job()
        except Exception:
            # The same words as the app's error handler, which no longer sees this work.
            reference = uuid.uuid4().hex[:8]
            log.exception("work after the ack failed (reference %s)", reference)
            if draft is not None:
                runtime.submission.give_up(draft, f"Failed after the ack ({reference}).")
            reply(
                f":warning: Something went wrong on my side (reference `{reference}`). Nothing was lost; "
                "please try again, and mention the reference if it keeps happening.",
                None,
            )

    runtime.after_ack.submit(run)


def report(runtime: Runtime, result: SubmissionResult, reply: Reply) -> None:
    if result.superseded:
        return
    held = result.request is not None and result.request.status == RequestStatus.AWAITING_CONFIRMATION
    if held and result.findings:
        assert result.request is not None and result.request.id is not None
        advisory = messages.photo_advisory(result.findings, runtime.catalogue, result.request.id,
                                           result.question)
        reply(advisory.text, advisory.blocks)
    elif held and result.question is not None:
        assert result.request is not None and result.request.id is not None
        question = messages.confirmation(result.question, result.request.id)
        reply(question.text, question.blocks)
    elif result.request is None and result.findings:
        refused = messages.photo_refused(result.findings, runtime.catalogue)
        reply(refused.text, refused.blocks)
    elif result.refusal is not None:
        submitted = result.request is not None
        reply(
            messages.submit_failed_message(result.refusal)
            if submitted
            else messages.refused_message(result.refusal),
            None,
        )
    else:
        # Post the card now rather than at the next outbox tick.
        runtime.deliverer.deliver_due()


def submit_slack_photo(runtime: Runtime, draft: ReplicaDraft, file: SlackFile, reply: Reply) -> None:
    try:
        data = runtime.files.download(file)
    except PreflightRefusal as refusal:
        if runtime.submission.forget(draft):
            reply(messages.refused_message(refusal.message), None)
        return
    report(runtime, runtime.submission.submit_upload(draft, data), reply)


def resume_received(runtime: Runtime) -> int:
    """Requests acked before a crash and never checked: check and submit them now, answering where the
    requester asked (the upload's thread, or privately in the channel). Returns how many."""
    drafts = runtime.submission.claim_received(owner=runtime.owner)
    for draft in drafts:
        channel, user = draft.requester.channel_id, draft.requester.user_id
        reply = (
            in_thread(runtime.slack, channel, draft.thread_ts)
            if draft.thread_ts
            else privately(runtime.slack, None, channel, user)
        )
        try:
            if draft.slack_file_id and not (draft.image_url or draft.video_url):
                file = runtime.slack.files_info(file=draft.slack_file_id)["file"]
                submit_slack_photo(runtime, draft, SlackFile.from_payload(file), reply)
            else:
                report(runtime, runtime.submission.submit_link(draft), reply)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("resuming request %s failed (reference %s)", draft.received_id, reference)
            # Not again and again: once is a report, a loop would be noise.
            runtime.submission.give_up(draft, f"Could not be processed after a restart ({reference}).")
            reply(messages.resume_failed_message(draft.replica_name, reference), None)
    return len(drafts)
