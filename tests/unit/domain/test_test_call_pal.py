"""The one PAL test calls talk as, on SQLite and PostgreSQL: made once and shared; a PAL another process
kept first wins and the spare one is deleted in Tavus; a PAL Tavus no longer knows is forgotten (only if
nobody replaced it meanwhile) so that the next call makes a new one."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.domain.access import Access
from bot.domain.tracking import PollSchedule
from bot.domain.try_face.calls import PAL_KEY, TestCalls, _unknown_pal
from bot.domain.try_face.faces import Faces, TryRules
from bot.domain.try_face.lifecycle import JobLifecycle
from bot.tavus import TavusBadRequest, TavusError, TavusNotFound
from bot.tavus.client import TavusClient
from bot.tavus.jobs import TavusJobs
from storage.repository import tavus_objects


class Tavus:
    """A stand-in Tavus that makes PALs p1, p2, … and deletes them; `before_answer` runs inside a create,
    as another process would act while this one waits for Tavus."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.made = 0
        self.before_answer = lambda: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST" and request.url.path == "/v2/pals":
            assert json.loads(request.content)["default_face_id"] == "r1"
            self.before_answer()
            self.made += 1
            return httpx.Response(200, json={"pal_id": f"p{self.made}"})
        if request.method == "DELETE" and request.url.path.startswith("/v2/pals/"):
            return httpx.Response(204)
        return httpx.Response(404, text="404 page not found")


def calls(engine: Engine, tavus: Tavus) -> TestCalls:
    client = TavusClient("https://tavus.test", "k", transport=httpx.MockTransport(tavus), max_attempts=1)
    rules = TryRules()
    return TestCalls(
        engine,
        JobLifecycle(engine),
        TavusJobs(client),
        Faces(engine, Access(), rules),
        rules,
        PollSchedule(interval=10),
        owner="worker-1",
    )


def test_the_pal_is_made_once_and_shared(engine: Engine) -> None:
    tavus = Tavus()
    assert calls(engine, tavus)._pal("r1") == "p1"
    assert calls(engine, tavus)._pal("r1") == "p1"  # another process reads the one kept
    assert tavus.seen == ["POST /v2/pals"]


def test_a_pal_kept_first_by_another_process_wins_and_the_spare_is_deleted(engine: Engine) -> None:
    tavus = Tavus()
    tavus.before_answer = lambda: tavus_objects.keep_first(engine, PAL_KEY, "p-other")
    assert calls(engine, tavus)._pal("r1") == "p-other"
    assert tavus.seen == ["POST /v2/pals", "DELETE /v2/pals/p1"]
    assert tavus_objects.get(engine, PAL_KEY) == "p-other"


def test_a_pal_is_forgotten_only_if_nobody_replaced_it(engine: Engine) -> None:
    tavus_objects.keep_first(engine, PAL_KEY, "p-new")
    tavus_objects.forget(engine, PAL_KEY, "p-old")  # a process that saw the old one refused, late
    assert tavus_objects.get(engine, PAL_KEY) == "p-new"
    tavus_objects.forget(engine, PAL_KEY, "p-new")
    assert tavus_objects.get(engine, PAL_KEY) is None
    assert tavus_objects.keep_first(engine, PAL_KEY, "p-newer") == "p-newer"


@pytest.mark.parametrize(
    ("refusal", "unknown"),
    [
        (TavusBadRequest("400", message="Invalid persona_id"), True),
        (TavusBadRequest("400", message="Persona not found"), True),
        (TavusNotFound("404: PAL does not exist"), True),
        (TavusBadRequest("400", message="replica_id is required when the persona has no default"), False),
        (TavusBadRequest("400", message="User has reached maximum concurrent conversations"), False),
        (TavusError("Tavus is down: invalid persona_id"), False),  # not a refusal of this request
    ],
)
def test_only_a_refusal_of_the_persona_itself_makes_a_new_pal(refusal: TavusError, unknown: bool) -> None:
    assert _unknown_pal(refusal) is unknown
