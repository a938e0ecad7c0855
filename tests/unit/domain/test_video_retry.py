"""A video request whose training fails with a documented video text: the failure is stored under the
catalogue's key, and its retry plan asks for a new video, carrying the consent video given last time."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.access import Access
from bot.domain.catalogue import Catalogue
from bot.domain.lifecycle import Poll
from bot.domain.requests import CreateArgs, Requester
from bot.domain.resubmission import Resubmission
from bot.domain.submission import Submitted
from bot.domain.tracking import PollSchedule, Tracker
from storage.models import RequestStatus, utcnow
from tests.unit.domain.world import World, stored

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 512
TEETH = (
    "There was a quality issue with your replica. The top and bottom teeth were not clearly visible during "
    "recording, either due to poor lighting or obstruction. Please edit your video or record a new training "
    "video with better lighting and ensure your teeth are fully visible."
)


def test_a_failed_video_is_stored_under_its_key_and_retried_with_a_new_video(world: World) -> None:
    video = world.images.put("/v.mp4", MP4, "video/mp4")
    consent = world.images.put("/c.mp4", MP4, "video/mp4")
    service = world.submission()
    args = CreateArgs(video_url=video, consent_url=consent, name="Ana Video")
    outcome = service.submit_link(service.draft(Requester("U1", "C1"), args, rights_affirmed=True))
    assert isinstance(outcome, Submitted)
    request = outcome.request
    assert request.id is not None

    tracker = Tracker(
        world.engine, world.lifecycle, world.client, Catalogue(), owner="t", schedule=PollSchedule(1)
    )
    failure = tracker.explain(f"  {TEETH.upper()}  ")
    assert failure.code == "teeth_not_visible"
    now = utcnow()
    assert world.lifecycle.fail(request.id, failure, poll=Poll("t", now, now + timedelta(minutes=1)))
    assert stored(world.engine, request.id).error_code == "teeth_not_visible"

    plan = Resubmission(world.engine, Access(admins=(), delete_grace=timedelta(0))).plan(
        str(request.id), "U1"
    )
    assert stored(world.engine, request.id).status == RequestStatus.FAILED
    assert (plan.video, plan.consent_url, plan.error_code) == (True, consent, "teeth_not_visible")
    assert plan.replica_name == "Ana Video" and plan.voice_name is None
