"""A batch goes through the consent and approval rules, end to end over HTTP: a colleague named in `for`
(by id, mention or e-mail) is asked in a DM and nothing of their photo reaches Tavus before they allow it
(a "no" ends that row only); with approvals on, one approver's decision approves or denies the batch;
`/replica status`, `/replica list` and the App Home show batches with their counts."""

from __future__ import annotations

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from bot.slack.ids import (
    BATCH_APPROVE_ACTION,
    BATCH_DENY_ACTION,
    BATCH_DENY_CALLBACK_ID,
    BATCH_SUBMIT_ACTION,
    CONSENT_ALLOW_ACTION,
    CONSENT_DECLINE_ACTION,
)
from tests.e2e.app_process import AppFactory
from tests.e2e.helpers import CHANNEL, USER, button, click, creates, rendered, until, wait_until_quiet
from tests.e2e.test_batch import batch_card, csv_mention, host_photos
from tests.e2e.test_consent import APPROVER, dm, opened, typed, view_submission

ANA, BO = "U0ANA", "U0BOB"


def validations(tavus: TavusEmulator) -> list[dict]:
    return [c for c in tavus.calls() if c["path"].endswith("image-validation")]


def test_colleagues_named_in_for_are_asked_first_and_a_no_ends_only_their_row(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(REQUIRE_CONSENT_CONFIRMATION="true")
    host_photos(images, "ana", "bo", "cy")
    slack.set_email("bo@example.com", BO)
    rows = (
        "name,photo,voice,for\n"
        f"Ana Face,{images.url}/ana.png,anna,<@{ANA}|ana>\n"
        f"Bo Face,{images.url}/bo.png,liam,Bo@Example.com\n"
        f"Cy Face,{images.url}/cy.png,anna,\n"
        f"Nobody Face,{images.url}/cy.png,anna,nobody@example.com\n"
    )
    message = csv_mention(app, slack, rows)
    card = batch_card(slack, message, "3 ready · 1 need attention")
    assert "`for`: nobody in this workspace has the e-mail address `nobody@example.com`" in rendered(card)
    wait_until_quiet(slack, tavus)
    # Checked without a colleague's photo reaching Tavus: only Cy's (the requester's own) was checked.
    assert len(validations(tavus)) == 1 and creates(tavus) == []
    assert slack.messages(f"D{ANA}") == [] and slack.messages(f"D{BO}") == []

    click(app, button(card, BATCH_SUBMIT_ACTION))
    asked_ana, asked_bo = dm(slack, ANA), dm(slack, BO)
    assert "Ana Face" in rendered(asked_ana) and "Bo Face" in rendered(asked_bo)
    batch_card(slack, message, "2 waiting for consent")
    until(lambda: len(creates(tavus)) == 1)
    wait_until_quiet(slack, tavus)
    assert [c["json"]["face_name"] for c in creates(tavus)] == ["Cy Face"]

    click(app, button(asked_ana, CONSENT_ALLOW_ACTION), user=ANA, channel=f"D{ANA}")
    click(app, button(asked_bo, CONSENT_DECLINE_ACTION), user=BO, channel=f"D{BO}")
    final = batch_card(slack, message, "Done", timeout=30)
    assert "2 ready" in rendered(final) and "1 declined" in rendered(final)
    assert sorted(c["json"]["face_name"] for c in creates(tavus)) == ["Ana Face", "Cy Face"]
    thread = slack.thread(CHANNEL, message["ts"])
    (declined,) = [m for m in thread if "declined to have a replica" in rendered(m)]
    assert f"<@{USER}>" in rendered(declined) and f"<@{BO}>" in rendered(declined)
    (summary,) = [m for m in thread if "has ended" in rendered(m)]
    assert f"<@{BO}> declined" in rendered(summary)


def test_with_approvals_on_one_decision_approves_the_whole_batch(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    # The requester is an approver too: never of their own batch.
    app = start_app(APPROVAL="required", APPROVERS=f"{APPROVER},{USER}", ADMIN_USER_IDS="U0ADMIN")
    host_photos(images, "ana", "bo")
    rows = f"name,photo,voice\nAna Ok,{images.url}/ana.png,anna\nBo Ok,{images.url}/bo.png,liam\n"
    message = csv_mention(app, slack, rows)
    click(app, button(batch_card(slack, message, "2 ready"), BATCH_SUBMIT_ACTION))
    waiting = batch_card(slack, message, "Waiting for an approver")
    asked = dm(slack, APPROVER)
    assert "2 replicas" in rendered(asked) and "Ana Ok" in rendered(asked)
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []

    assert slack.messages(f"D{USER}") == []  # not asked about their own batch
    click(app, button(asked, BATCH_APPROVE_ACTION), user=USER)
    refused = slack.wait_for(lambda: next((e for e in slack.ephemerals() if "own batch" in e["text"]), None))
    assert refused["user"] == USER
    click(app, button(asked, BATCH_APPROVE_ACTION), user=APPROVER, channel=f"D{APPROVER}")
    click(app, button(asked, BATCH_APPROVE_ACTION), user=APPROVER, channel=f"D{APPROVER}")
    until(lambda: len(creates(tavus)) == 2, timeout=20)
    done = batch_card(slack, message, "Done", timeout=30)
    assert f"Approved by <@{APPROVER}>" in rendered(done) and waiting["ts"] == done["ts"]
    slack.wait_for(lambda: "Approved by" in rendered(dm(slack, APPROVER)))
    assert len(slack.messages(f"D{APPROVER}")) == 1
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 2

    # Each row's request keeps the record of the batch's approval.
    audit = app.sender.command("audit", user_id="U0ADMIN", channel_id=CHANNEL).json()["text"]
    assert audit.count(f"approval: approved by <@{APPROVER}>") == 2


def home_asks(slack: SlackFake, user: str) -> bool:
    views = slack.home_views(user)
    return bool(views) and "Waiting for your answer" in rendered({"blocks": views[-1]["view"]["blocks"]})


def test_an_approver_can_deny_a_batch_with_a_reason_from_their_app_home(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(APPROVAL="required", APPROVERS=APPROVER)
    host_photos(images, "ana")
    message = csv_mention(app, slack, f"name,photo,voice\nAna No,{images.url}/ana.png,anna\n")
    click(app, button(batch_card(slack, message, "1 ready"), BATCH_SUBMIT_ACTION))
    dm(slack, APPROVER)
    # The question waits in their App Home too (where Slack may let it through when a DM cannot).
    slack.wait_for(lambda: home_asks(slack, APPROVER) or None)
    home = {"blocks": slack.home_views(APPROVER)[-1]["view"]["blocks"]}
    assert f"<@{USER}> asks to submit a batch of 1 replica (`" in rendered(home)
    deny = button(home, BATCH_DENY_ACTION)
    response = app.sender.interaction(
        {"type": "block_actions", "user": {"id": APPROVER}, "actions": [deny], "trigger_id": "trig-home"}
    )
    assert response.status_code == 200
    form = opened(slack, BATCH_DENY_CALLBACK_ID)
    reason = typed("reason", "Not <!here> this quarter")
    assert app.sender.interaction(view_submission(form, APPROVER, reason)).status_code == 200
    card = batch_card(slack, message, "Not approved")
    assert "Not &lt;!here&gt; this quarter" in rendered(card)
    thread = lambda: slack.thread(CHANNEL, message["ts"])  # noqa: E731
    told = slack.wait_for(lambda: next((m for m in thread() if "did not approve" in rendered(m)), None))
    assert f"<@{USER}>" in rendered(told)
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == [] and validations(tavus) != []
    assert not home_asks(slack, APPROVER)  # decided: their App Home no longer asks


def test_status_list_and_home_show_batches_with_their_counts(
    app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    host_photos(images, "ana")
    message = csv_mention(app, slack, f"name,photo,voice\nAna List,{images.url}/ana.png,anna\nBad,,anna\n")
    card = batch_card(slack, message, "1 ready · 1 need attention")
    click(app, button(card, BATCH_SUBMIT_ACTION))
    batch_card(slack, message, "Done", timeout=30)
    (made,) = creates(tavus)

    status = app.sender.command("status b1", user_id=USER, channel_id=CHANNEL).json()["text"]
    assert "Batch `b1`" in status and "1 ready" in status and "Row 3 · *Bad*" in status
    assert "Ana List" in status
    listed = app.sender.command("list", user_id=USER, channel_id=CHANNEL).json()["text"]
    assert "Batch `b1`" in listed and "1 ready" in listed
    # A row is still reachable by its replica id.
    replica_id = slack.wait_for(lambda: next((r["replica_id"] for r in tavus.replicas()), None))
    by_replica = app.sender.command(f"status {replica_id}", user_id=USER, channel_id=CHANNEL).json()["text"]
    assert "Ana List" in by_replica
    assert made["json"]["face_name"] == "Ana List"
    app.sender.event({"type": "app_home_opened", "user": USER, "tab": "home", "channel": "D123"})
    home = slack.wait_for(lambda: next(iter(slack.home_views(USER)[::-1]), None))["view"]
    shown = rendered({"blocks": home["blocks"]})
    assert "Batch `b1`" in shown and "1 ready" in shown
    missing = app.sender.command("status b99", user_id=USER, channel_id=CHANNEL).json()["text"]
    assert "can't find batch `b99`" in missing
