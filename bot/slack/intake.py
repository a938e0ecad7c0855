"""The end of every way in: check and submit a request after its ack, and tell the requester how it went
where they are looking (the thread of their message, or privately in the channel).

The checks (download, photo check, Tavus) take seconds, so they run after the ack on a few threads of
their own (`bot.service.after_ack`). Refusals are answered in words; anything unexpected closes the
request with a reference id the requester can quote, so it is neither lost nor resumed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from bot.domain.catalogue import Catalogue
from bot.domain.drafts import draft_of
from bot.domain.errors import SubmitProblem
from bot.domain.recovery import Recovery
from bot.domain.requests import Held, Outcome, Question, ReplicaDraft, SubmitError
from bot.domain.submission import SubmissionService
from bot.photos.refusals import PreflightRefusal
from bot.slack import errors
from bot.slack.files import SlackFile, SlackFileDownloader
from bot.slack.render import Message, photo_advisory, question, resume_failed_message, tavus_refused
from bot.slack.render.forms import whose_face_question
from bot.slack.replies import Reply, where_asked
from storage.models import ReplicaRequest

log = logging.getLogger(__name__)

# Runs a job soon, off the thread that acked the request.
RunLater = Callable[[Callable[[], None]], None]
# What a job after the ack does: submit the request, saying how it went.
Job = Callable[[], Outcome]


class Intake:
    def __init__(
        self,
        submission: SubmissionService,
        recovery: Recovery,
        files: SlackFileDownloader,
        catalogue: Catalogue,
        *,
        slack: WebClient,
        run_later: RunLater,
    ) -> None:
        self._submission = submission
        self._recovery = recovery
        self._files = files
        self._catalogue = catalogue
        self._slack = slack
        self._run_later = run_later

    def after_ack(self, reply: Reply, job: Job, *, draft: ReplicaDraft | None = None) -> None:
        """Run `job` after the ack and report its outcome. `draft`: the request it works on, closed if the
        job fails unexpectedly, since the requester is asked to try again (resuming it after a restart as
        well would make two)."""
        self._run_later(lambda: self._run(reply, job, draft, problem=SubmitProblem.CHECK_FAILED))

    def after_ack_say(self, reply: Reply, work: Callable[[], Message | None]) -> None:
        """Run `work` after the ack and say what it returns to `reply`; a refusal in its words, anything
        unexpected as a reference id."""
        self._run_later(lambda: self._say(reply, work))

    def _say(self, reply: Reply, work: Callable[[], Message | None]) -> None:
        try:
            message = work()
        except Exception as exc:
            refused = errors.refusal_message(exc, self._catalogue)
            reply(refused if refused is not None else errors.unexpected(exc, "work after the ack")[1])
            return
        if message is not None:
            reply(message)

    def link(self, draft: ReplicaDraft) -> Job:
        """The job for a request whose photo or video is a link."""
        return lambda: self._submission.submit_link(draft)

    def proceed(self, request: ReplicaRequest) -> Job:
        """The job for a request answered (by the requester, the colleague, an approver): its next gate."""
        return lambda: self._submission.proceed(request)

    def upload(self, draft: ReplicaDraft, file: SlackFile) -> Job:
        """The job for a photo shared in Slack: downloaded with the bot token, then checked and hosted.
        A file known only by its id (a form's upload) is looked up first."""

        def job() -> Outcome:
            shared = file
            if shared.url is None and shared.id:
                shared = SlackFile.from_payload(self._slack.files_info(file=shared.id)["file"])
            try:
                data = self._files.download(shared)
            except PreflightRefusal as refusal:
                return self._submission.reject(draft, refusal)
            return self._submission.submit_upload(draft, data)

        return job

    def report(self, outcome: Outcome, reply: Reply) -> None:
        """Tell the requester what happens next. A submitted request needs no reply here: its card is
        queued, and posted in the channel."""
        if not isinstance(outcome, Held):
            return
        if outcome.question == Question.WHOSE_FACE:
            outside = self._submission.rules.likeness_outside
            reply(whose_face_question(outcome.request_id, outcome.findings, self._catalogue, outside=outside))
        elif outcome.refused_by_tavus:
            assert outcome.verdict is not None
            reply(tavus_refused(
                outcome.findings, outcome.verdict, self._catalogue, outcome.request_id, outcome.question
            ))
        elif outcome.findings:
            passed = outcome.verdict is not None and outcome.verdict.passed
            reply(photo_advisory(
                outcome.findings, self._catalogue, outcome.request_id, outcome.question, tavus_passed=passed
            ))
        elif outcome.question is not None:
            reply(question(outcome.question, outcome.request_id))

    def resume_received(self) -> int:
        """Requests acked before a crash and never checked: check and submit them now, answering where the
        requester asked (the upload's thread, or privately in the channel). Returns how many."""
        requests = self._recovery.claim_received()
        for request in requests:
            draft = draft_of(request)
            reply = where_asked(self._slack, request.channel_id, request.thread_ts, request.requester_id)
            if request.checked_at is not None:
                job = self.proceed(request)
            elif draft.uploaded:
                job = self.upload(draft, SlackFile(draft.slack_file_id or "", "photo", "", url=None))
            else:
                job = self.link(draft)
            self._run(reply, job, draft, problem=SubmitProblem.RESUME_FAILED)
        return len(requests)

    def _run(self, reply: Reply, job: Job, draft: ReplicaDraft | None, *, problem: SubmitProblem) -> None:
        try:
            outcome = job()
        except Exception as exc:
            refused = errors.refusal_message(exc, self._catalogue)
            if refused is not None:
                reply(refused)
                return
            doing = f"checking request {draft.received_id}" if draft else "work after the ack"
            reference, message = errors.unexpected(exc, doing)
            if draft is not None:
                self._recovery.give_up(draft, SubmitError(problem, reference))
            if problem == SubmitProblem.RESUME_FAILED and draft is not None:
                # Not again and again: once is a report, a loop would be noise.
                message = Message.of(resume_failed_message(draft.replica_name, reference))
            reply(message)
            return
        self.report(outcome, reply)
