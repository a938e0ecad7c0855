"""A short test call with a finished face: one live call per face, a conversation of at most
TEST_CALL_SECONDS (`POST /v2/conversations`), its link only for the person who clicked, and its end told
in the thread once: Tavus' `system.shutdown` callback (a reason to look), a poll that finds it ended, or the
bot ending it itself (`POST /v2/conversations/{id}/end`) once its time is up.

Whether a conversation needs a PAL (persona) besides the face, Tavus' docs disagree: the Create
Conversation reference lists `persona_id` among the required fields, its overview says a face alone gets
Tavus' default persona. So the bot makes one small PAL once, shares it between processes, and goes without
it (the default persona) where Tavus will not make one.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import AlreadyRunning, SubmitProblem, TavusDeclined
from bot.domain.requests import SubmitError
from bot.domain.sweep import NO_ANSWER, NoAnswer
from bot.domain.try_face.following import FollowedJobs
from bot.domain.try_face.videos import job_tag
from bot.tavus import TavusBadRequest, TavusError, TavusNotFound
from bot.tavus.jobs import Conversation, ConversationState
from storage.job_models import CallStatus, FaceJob, JobKind
from storage.models import ReplicaRequest, utcnow
from storage.repository import tavus_objects

log = logging.getLogger(__name__)

PAL_KEY = "test_call_pal"
PAL_NAME = "replica-bot test call"
PAL_PROMPT = (
    "A short, friendly test call with a newly trained face. Greet the caller warmly, say in one sentence "
    "that this is a quick check of how the face looks and sounds, then chat about whatever the caller "
    "likes. Keep every answer to one or two sentences."
)
# Nobody joined, or everybody left: the call ends soon after, rather than when its time is up.
PARTICIPANT_LEFT_TIMEOUT = 15
PARTICIPANT_ABSENT_TIMEOUT = 60
# One PAL per process at most, while the first is being made.
_PAL_LOCK = threading.Lock()


@dataclass(frozen=True)
class StartedCall:
    job: FaceJob
    # Only for the person who clicked: whoever holds it can join.
    join_url: str | None


class TestCalls(FollowedJobs[Conversation | None]):
    name = "test calls"
    kind = JobKind.CALL
    in_flight = (CallStatus.LIVE.value,)
    __test__ = False  # not a pytest class, whatever its name

    def start(self, face: ReplicaRequest, user_id: str, channel_id: str) -> StartedCall:
        """Start a test call of `face` for this person (a refusal says why not): one live call per face,
        within its allowance."""
        self._faces.check(face, user_id, channel_id)
        assert face.id is not None
        inserted = self._lifecycle.ask(
            self.kind,
            {
                "request_id": face.id,
                "replica_id": face.replica_id,
                "asked_by": user_id,
                "asked_in": channel_id,
                "active_key": f"call:{face.id}",
                "callback_token": secrets.token_urlsafe(32),
            },
            allowance=self._faces.allowance(self.kind, user_id),
        )
        if inserted.running is not None:
            running = inserted.running
            raise AlreadyRunning(self.kind, face.replica_name, running.asked_by, running.ends_at)
        if inserted.job is None:
            raise self._faces.used(face, self.kind, inserted.made)
        return self._create(inserted.job, face)

    def _create(self, job: FaceJob, face: ReplicaRequest) -> StartedCall:
        seconds = self._rules.call_seconds
        pal_id = self._pal(job.replica_id)
        try:
            conversation = self._converse(job, face, pal_id, seconds)
        except TavusError as exc:
            if pal_id is None or not _unknown_pal(exc):
                raise self._declined(job, exc) from None
            # Someone deleted the kept PAL (in Tavus' portal, say): every test call would fail from now
            # on. A refused create made nothing, so one more with a new PAL is safe.
            log.warning("Tavus no longer knows the test calls' PAL %s (%s); making a new one", pal_id, exc)
            tavus_objects.forget(self._engine, PAL_KEY, pal_id)
            try:
                conversation = self._converse(job, face, self._pal(job.replica_id), seconds)
            except TavusError as again:
                raise self._declined(job, again) from None
        ends_at = utcnow() + timedelta(seconds=seconds)
        started = self._lifecycle.call_started(
            job,
            conversation.conversation_id,
            join_url=conversation.join_url,
            ends_at=ends_at,
            first_poll_at=min(self._first_poll(), ends_at),
        )
        if started is None:
            # Tavus took so long that a restart's repair gave the call up meanwhile (and said so in the
            # thread): nobody follows it, so it ends now.
            log.warning("test call %s moved on before conversation %s was recorded", job.id, conversation)
            self._end(conversation.conversation_id)
            raise TavusDeclined(self.kind, SubmitProblem.TAVUS_UNAVAILABLE)
        log.info("test call %s is Tavus conversation %s", job.id, conversation.conversation_id)
        return StartedCall(started, conversation.join_url)

    def _converse(self, job: FaceJob, face: ReplicaRequest, pal_id: str | None, seconds: int) -> Conversation:
        return self._tavus.create_conversation(
            replica_id=job.replica_id,
            persona_id=pal_id,
            conversation_name=f"Test call with {face.replica_name} from Slack ({job_tag(job)})",
            callback_url=self._rules.callback_url(job.callback_token),
            properties={
                "max_call_duration": seconds,
                "participant_left_timeout": PARTICIPANT_LEFT_TIMEOUT,
                "participant_absent_timeout": min(PARTICIPANT_ABSENT_TIMEOUT, seconds),
            },
        )

    def _pal(self, face_id: str) -> str | None:
        """The PAL test calls talk as: made once, kept for every process; None where Tavus will not make
        one (the conversation then has Tavus' default persona)."""
        if (kept := tavus_objects.get(self._engine, PAL_KEY)) is not None:
            return kept
        with _PAL_LOCK:
            if (kept := tavus_objects.get(self._engine, PAL_KEY)) is not None:
                return kept
            try:
                pal_id = self._tavus.create_pal(name=PAL_NAME, system_prompt=PAL_PROMPT, face_id=face_id)
            except TavusError as exc:
                log.warning("no PAL for test calls (%s); they use Tavus' default persona", exc)
                return None
            # Another process may have made one meanwhile: every process uses the first kept, and the
            # one made here goes, so that the account does not collect a PAL per race.
            kept = tavus_objects.keep_first(self._engine, PAL_KEY, pal_id)
            if kept != pal_id:
                self._delete_pal(pal_id)
            return kept

    def _delete_pal(self, pal_id: str) -> None:
        try:
            self._tavus.delete_pal(pal_id)
        except TavusError as exc:
            log.warning("could not delete the spare PAL %s: %s", pal_id, exc)

    # --- following ------------------------------------------------------------------------------------

    def fetch(self, job: FaceJob) -> Conversation | NoAnswer | None:
        try:
            return self._tavus.get_conversation(job.tavus_id or "")
        except TavusNotFound:
            return None
        except (TavusError, ValueError) as exc:
            log.warning("could not poll conversation %s: %s", job.tavus_id, exc)
            self.reschedule(job)
            return NO_ANSWER

    def record(self, job: FaceJob, conversation: Conversation | None) -> bool:
        now = utcnow()
        poll = self._poll(job, now, until=job.ends_at)
        if conversation is None or conversation.status == ConversationState.ENDED:
            ended = conversation.updated_at if conversation is not None else None
            return self._lifecycle.call_ended(job, ended_at=_clamped(ended, job, now), poll=poll)
        if job.ends_at is not None and now >= job.ends_at:
            # Tavus should have ended it at max_call_duration; it has not, and the time is up.
            if not self._end(conversation.conversation_id):
                self.reschedule(job)
                return False
            return self._lifecycle.call_ended(job, ended_at=now, poll=poll)
        self._unchanged(job, poll.values())
        return False

    def _end(self, conversation_id: str) -> bool:
        try:
            self._tavus.end_conversation(conversation_id)
        except TavusNotFound:
            return True
        except TavusError as exc:
            log.warning("could not end conversation %s: %s", conversation_id, exc)
            return False
        log.info("ended conversation %s: its time was up", conversation_id)
        return True

    # --- after a crash ---------------------------------------------------------------------------------

    def reconcile(self, older_than: timedelta) -> int:
        """Calls a crash left "creating": whoever clicked is long gone, so a conversation Tavus made for
        one is ended (it is billed while it runs) and the thread says the call did not start."""
        jobs = self._stalled(CallStatus.CREATING, older_than)
        if not jobs:
            return 0
        try:
            recent = self._tavus.list_conversations()
        except TavusError as exc:
            log.warning("cannot reconcile %s stalled test calls yet: %s", len(jobs), exc)
            return 0
        for job in jobs:
            tag = f"({job_tag(job)})"
            for conversation in recent:
                if tag in (conversation.conversation_name or ""):
                    self._end(conversation.conversation_id)
            log.info("test call %s was interrupted by a restart before it started", job.id)
            self._lifecycle.not_started(job, SubmitError(SubmitProblem.RESUME_FAILED), refused=False)
        return len(jobs)



def _clamped(ended: datetime | None, job: FaceJob, now: datetime) -> datetime:
    """When the call ended: as Tavus last touched it, within what is possible (not before it began, not
    after now)."""
    began = job.started_at or job.created_at
    return min(max(ended or now, began), now)


def _unknown_pal(exc: TavusError) -> bool:
    """Tavus refused a conversation for its persona: the one named is not (or no longer) there."""
    if not isinstance(exc, TavusBadRequest | TavusNotFound):
        return False
    words = (exc.message if isinstance(exc, TavusBadRequest) else str(exc)).lower()
    named = re.search(r"\b(persona|pal)(_id)?\b", words) is not None
    return named and re.search(r"invalid|not found|unknown|exist|deleted", words) is not None
