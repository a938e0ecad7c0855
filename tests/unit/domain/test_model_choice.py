"""Which model a request trains with: its own `model=` (one Tavus documents), else TAVUS_MODEL_NAME, else
phoenix-4; stored with the request and sent to Tavus. A photo never goes to a model without image
training."""

from __future__ import annotations

import pytest

from bot.domain.errors import NoImageTraining, UnknownModel
from bot.domain.requests import CreateArgs, Submitted
from bot.domain.submission import SubmissionRules
from storage.models import RequestStatus
from tests.unit.domain.world import REQUESTER, World, creates, stored


@pytest.mark.parametrize(
    ("requested", "configured", "trained_with"),
    [
        ("phoenix-4.5", None, "phoenix-4.5"),
        (None, "phoenix-4.5", "phoenix-4.5"),
        ("phoenix-4", "phoenix-4.5", "phoenix-4"),
        (None, None, "phoenix-4"),
    ],
)
def test_the_model_is_chosen_stored_and_sent(
    world: World, requested: str | None, configured: str | None, trained_with: str
) -> None:
    service = world.submission(model_name=configured)
    args = CreateArgs(image_url=world.photo_link(), voice="anna", name="Ana", model=requested)
    draft = service.draft(REQUESTER, args)
    assert draft.model_name == trained_with
    outcome = service.submit_link(draft)
    assert isinstance(outcome, Submitted)
    assert stored(world.engine, outcome.request.id).model_name == trained_with
    assert creates(world.tavus)[0]["json"]["model_name"] == trained_with
    assert outcome.request.status == RequestStatus.TRAINING


def test_the_rules_say_which_model_a_request_trains_with(world: World) -> None:
    service = world.submission(model_name="phoenix-4.5")
    assert (
        service.draft(REQUESTER, CreateArgs(image_url="https://x/a.png", voice="anna")).model_name
        == "phoenix-4.5"
    )
    assert SubmissionRules(voices=("anna",), model_name="phoenix-4.5").model_for(None) == "phoenix-4.5"
    assert SubmissionRules(voices=("anna",)).model_for("PHOENIX-3") == "phoenix-3"
    assert SubmissionRules(voices=("anna",)).model_for(None) == "phoenix-4"


def test_an_undocumented_model_is_refused_before_anything_is_recorded(world: World) -> None:
    with pytest.raises(UnknownModel) as refused:
        world.submission().draft(
            REQUESTER, CreateArgs(image_url="https://x/a.png", voice="anna", model="phoenix-9")
        )
    assert refused.value.model == "phoenix-9" and "phoenix-4.5" in refused.value.models
    assert creates(world.tavus) == []


def test_phoenix_3_takes_a_video_but_not_a_photo(world: World) -> None:
    service = world.submission()
    with pytest.raises(NoImageTraining):
        service.draft(REQUESTER, CreateArgs(image_url="https://x/a.png", voice="anna", model="phoenix-3"))
    with pytest.raises(NoImageTraining):
        world.submission(model_name="phoenix-3").draft(
            REQUESTER, CreateArgs(image_url="https://x/a.png", voice="anna")
        )
    video = service.draft(REQUESTER, CreateArgs(video_url="https://x/v.mp4", model="phoenix-3"))
    assert video.model_name == "phoenix-3"


def test_a_retry_trains_on_the_model_the_original_asked_for_unless_it_names_its_own(world: World) -> None:
    service = world.submission(model_name="phoenix-4")
    original = service.submit_link(
        service.draft(REQUESTER, CreateArgs(image_url=world.photo_link(), voice="anna", model="phoenix-4.5"))
    )
    assert isinstance(original, Submitted)
    retry = CreateArgs(image_url=world.photo_link(), voice="anna", name="Ana again")
    assert service.draft(REQUESTER, retry, retry_of=original.request.id).model_name == "phoenix-4.5"
    own = CreateArgs(image_url=world.photo_link(), voice="anna", model="phoenix-4")
    assert service.draft(REQUESTER, own, retry_of=original.request.id).model_name == "phoenix-4"
