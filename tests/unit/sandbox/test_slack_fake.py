"""The Slack fake behaves like Slack for slack_sdk's WebClient, and the sender signs like Slack."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import yaml
from slack_bolt import Ack, App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack_fake import MANIFEST_SCOPES, SlackFake, SlackFakeServer, SlackSender, sign
from tests.paths import REPO

TOKEN = "xoxb-test-token"
SECRET = "shhh-signing-secret"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CARD_METADATA = {"event_type": "replica_request", "event_payload": {"request_id": "r-1"}}


@pytest.fixture(scope="module")
def server() -> Iterator[SlackFakeServer]:
    with SlackFakeServer() as running:
        yield running


@pytest.fixture
def fake(server: SlackFakeServer) -> SlackFake:
    server.fake.reset()
    return server.fake


@pytest.fixture
def client(server: SlackFakeServer, fake: SlackFake) -> WebClient:
    return WebClient(token=TOKEN, base_url=server.api_url, timeout=5)


def _error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# --------------------------------------------------------------------------- auth and basics


def test_auth_test_and_bad_tokens(server: SlackFakeServer, client: WebClient) -> None:
    who = client.auth_test()
    assert (who["user_id"], who["team_id"], who["bot_id"]) == ("UBOT", "T0001", "B0001")
    assert who["url"].startswith("https://")

    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=server.api_url).auth_test()
    assert _error(wrong) == "invalid_auth"
    assert wrong.value.response.status_code == 200

    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=server.api_url).auth_test()
    assert _error(missing) == "not_authed"


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.teleport", json={"channel": "C1"})
    assert _error(excinfo) == "unknown_method"


def test_api_is_served_at_the_trailing_slash_url(server: SlackFakeServer) -> None:
    assert server.api_url == server.url + "/api/"
    assert server.url.startswith("http://127.0.0.1:")


# --------------------------------------------------------------------------- messages


def test_post_update_and_replies_with_metadata(fake: SlackFake, client: WebClient) -> None:
    card = client.chat_postMessage(
        channel="C1", text="Replica requested", blocks=[_section("*Ana*")], metadata=CARD_METADATA
    )
    assert card["channel"] == "C1"
    assert card["message"]["metadata"] == CARD_METADATA
    reply = client.chat_postMessage(
        channel="C1", thread_ts=card["ts"], text="Training failed: face not found"
    )
    assert float(reply["ts"]) > float(card["ts"])

    client.chat_update(channel="C1", ts=card["ts"], text="Replica failed")

    (parent, threaded) = fake.messages("C1")
    assert parent["text"] == "Replica failed"
    assert parent["edit_count"] == 1 and parent["history"][0]["text"] == "Replica requested"
    # Slack keeps the blocks and metadata an update leaves out.
    assert parent["blocks"] == [_section("*Ana*")] and parent["metadata"] == CARD_METADATA
    assert threaded["thread_ts"] == card["ts"]
    assert fake.thread("C1", card["ts"]) == [threaded]

    replies = client.conversations_replies(channel="C1", ts=card["ts"], include_all_metadata=True)
    assert [m["ts"] for m in replies["messages"]] == [card["ts"], reply["ts"]]
    assert replies["messages"][0]["metadata"] == CARD_METADATA
    assert replies["messages"][0]["reply_count"] == 1
    plain = client.conversations_replies(channel="C1", ts=card["ts"])
    assert "metadata" not in plain["messages"][0]


def test_timestamps_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_message_errors(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as not_found:
        client.chat_update(channel="C1", ts="1699999999.000100", text="x")
    assert _error(not_found) == "message_not_found"
    with pytest.raises(SlackApiError) as no_text:
        client.api_call("chat.postMessage", json={"channel": "C1", "text": ""})
    assert _error(no_text) == "no_text"
    with pytest.raises(SlackApiError) as bad_blocks:
        client.chat_postMessage(channel="C1", text="x", blocks=[_section("y" * 3001)])
    assert _error(bad_blocks) == "invalid_blocks"
    assert "3001" in bad_blocks.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError) as bad_metadata:
        client.chat_postMessage(channel="C1", text="x", metadata={"event_payload": {}})
    assert _error(bad_metadata) == "invalid_metadata_format"


def test_form_encoded_json_fields_are_decoded(server: SlackFakeServer, fake: SlackFake) -> None:
    body = {
        "channel": "C9",
        "text": "hi",
        "blocks": json.dumps([_section("form")]),
        "metadata": json.dumps(CARD_METADATA),
        "unfurl_links": "false",
    }
    response = httpx.post(
        server.api_url + "chat.postMessage", data=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200 and response.json()["ok"] is True
    (message,) = fake.messages("C9")
    assert message["blocks"] == [_section("form")]
    assert message["metadata"] == CARD_METADATA
    assert message["unfurl_links"] is False
    assert fake.calls("chat.postMessage")[0]["params"]["blocks"] == [_section("form")]

    auth = {"Authorization": f"Bearer {TOKEN}"}
    broken_form = httpx.post(server.api_url + "chat.postMessage", data={**body, "blocks": "[{"}, headers=auth)
    assert (broken_form.json()["ok"], broken_form.json()["error"]) == (False, "invalid_json")
    broken_json = httpx.post(
        server.api_url + "chat.postMessage",
        content=b"{not json",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert broken_json.json()["error"] == "invalid_json"
    assert len(fake.calls("chat.postMessage")) == 3 and len(fake.messages("C9")) == 1


def test_other_message_methods(fake: SlackFake, client: WebClient) -> None:
    dm = client.conversations_open(users="U42")["channel"]["id"]
    assert dm == "DU42"
    posted = client.chat_postMessage(channel=dm, text="Your replica is ready")
    reply = client.chat_postMessage(channel=dm, thread_ts=posted["ts"], text="details")

    link = client.chat_getPermalink(channel=dm, message_ts=reply["ts"])["permalink"]
    archive = f"https://fake.slack.com/archives/DU42/p{reply['ts'].replace('.', '')}"
    assert link == f"{archive}?thread_ts={posted['ts']}&cid=DU42"

    client.reactions_add(channel=dm, timestamp=posted["ts"], name="white_check_mark")
    assert fake.messages(dm)[0]["reactions"] == ["white_check_mark"]

    history = client.conversations_history(channel=dm)["messages"]
    assert [m["ts"] for m in history] == [posted["ts"]]

    client.chat_delete(channel=dm, ts=reply["ts"])
    assert fake.thread(dm, posted["ts"]) == []

    user = client.users_info(user="U42")["user"]
    assert user["real_name"] and user["tz"]
    with pytest.raises(SlackApiError) as no_user:
        client.users_info(user="not-a-user")
    assert _error(no_user) == "user_not_found"


def test_people_apps_deactivated_accounts_and_user_groups(fake: SlackFake, client: WebClient) -> None:
    """users.info says is_bot and deleted; no DM opens with an app or a deactivated account; a user group
    lists its members (usergroups.users.list), and an unknown one is no_such_subteam."""
    fake.set_user("UAPP", is_bot=True)
    fake.set_user("UGONE", deleted=True)
    fake.set_user("UNOBODY", exists=False)
    fake.set_usergroup("SAPPROVERS", ["UA1", "UA2"])

    person = client.users_info(user="UANA")["user"]
    assert (person["is_bot"], person["deleted"]) == (False, False)
    assert client.users_info(user="UAPP")["user"]["is_bot"] is True
    assert client.users_info(user="UGONE")["user"]["deleted"] is True
    with pytest.raises(SlackApiError) as missing:
        client.users_info(user="UNOBODY")
    assert _error(missing) == "user_not_found"

    assert client.conversations_open(users="UANA")["channel"]["id"] == "DUANA"
    for user, error in (("UAPP", "cannot_dm_bot"), ("UGONE", "user_disabled"), ("UNOBODY", "user_not_found")):
        with pytest.raises(SlackApiError) as refused:
            client.conversations_open(users=user)
        assert _error(refused) == error

    assert client.usergroups_users_list(usergroup="SAPPROVERS")["users"] == ["UA1", "UA2"]
    with pytest.raises(SlackApiError) as no_group:
        client.usergroups_users_list(usergroup="SNONE")
    assert _error(no_group) == "no_such_subteam"
    fake.reset()
    assert client.users_info(user="UAPP")["user"]["is_bot"] is False


def test_replies_to_a_persons_message(fake: SlackFake, client: WebClient) -> None:
    photo = fake.add_file(PNG)
    asked = fake.add_message("C1", "<@UBOT> make me a replica", user="U7", files=[photo])
    client.chat_postMessage(channel="C1", thread_ts=asked["ts"], text="On it")
    thread = client.conversations_replies(channel="C1", ts=asked["ts"])["messages"]
    assert [m["user"] for m in thread] == ["U7", "UBOT"]
    assert thread[0]["files"][0]["id"] == photo["id"]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts=asked["ts"], text="edited by the bot?")
    assert _error(excinfo) == "cant_update_message"


def test_ephemeral(fake: SlackFake, client: WebClient) -> None:
    sent = client.chat_postEphemeral(channel="C1", user="U7", text="Only you can see this")
    (recorded,) = fake.ephemerals("C1")
    assert recorded["message_ts"] == sent["message_ts"]
    assert (recorded["user"], recorded["text"]) == ("U7", "Only you can see this")
    assert fake.ephemerals("C2") == [] and fake.messages("C1") == []


# --------------------------------------------------------------------------- failures


def test_injected_429_is_retried_by_rate_limit_handler(server: SlackFakeServer, fake: SlackFake) -> None:
    fake.inject("chat.postMessage", status=429, retry_after=1)
    retrying = WebClient(token=TOKEN, base_url=server.api_url, retry_handlers=[RateLimitErrorRetryHandler()])
    started = time.monotonic()
    posted = retrying.chat_postMessage(channel="C1", text="eventually")
    assert posted["ok"] and time.monotonic() - started >= 1.0
    assert [c["status"] for c in fake.calls("chat.postMessage")] == [429, 200]
    assert len(fake.messages("C1")) == 1


def test_injected_429_without_retry_handler(client: WebClient, fake: SlackFake) -> None:
    fake.inject("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="x")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert _error(excinfo) == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="x")["ok"], "an injection is used up"


def test_injected_503(server: SlackFakeServer, client: WebClient, fake: SlackFake) -> None:
    fake.inject("chat.postMessage", status=503, count=2)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="x")
    assert excinfo.value.response.status_code == 503
    retrying = WebClient(token=TOKEN, base_url=server.api_url, retry_handlers=[ServerErrorRetryHandler()])
    assert retrying.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c["status"] for c in fake.calls("chat.postMessage")] == [503, 503, 200]


def test_injected_api_error(client: WebClient, fake: SlackFake) -> None:
    fake.inject("chat.update", error="channel_not_found")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts="1.0", text="x")
    assert _error(excinfo) == "channel_not_found"
    assert excinfo.value.response.status_code == 200
    with pytest.raises(ValueError):
        fake.inject("chat.update")


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_channel_errors(client: WebClient, fake: SlackFake, error: str) -> None:
    posted = client.chat_postMessage(channel="C1", text="before")
    fake.set_channel_error("C1", error)
    for call in (
        lambda: client.chat_postMessage(channel="C1", text="x"),
        lambda: client.chat_update(channel="C1", ts=posted["ts"], text="x"),
        lambda: client.chat_postEphemeral(channel="C1", user="U1", text="x"),
    ):
        with pytest.raises(SlackApiError) as excinfo:
            call()
        assert _error(excinfo) == error
    assert client.chat_postMessage(channel="C2", text="elsewhere")["ok"]
    fake.set_channel_error("C1", None)
    assert client.chat_postMessage(channel="C1", text="after")["ok"]


def test_rate_limit_enforcement() -> None:
    with SlackFakeServer(SlackFake(enforce_rate_limits=True)) as limited:
        client = WebClient(token=TOKEN, base_url=limited.api_url)
        outcomes = []
        for i in range(6):
            try:
                client.chat_postMessage(channel="C1", text=str(i))
                outcomes.append("ok")
            except SlackApiError as exc:
                assert exc.response.status_code == 429
                assert int(exc.response.headers["Retry-After"]) >= 1
                outcomes.append("429")
        assert outcomes[:3] == ["ok", "ok", "ok"] and "429" in outcomes[3:]
        assert client.chat_postMessage(channel="C2", text="other channel")["ok"]
        assert limited.fake.rate_limited("C1") == outcomes.count("429")
        assert limited.fake.rate_limited() == outcomes.count("429")

        retrying = WebClient(
            token=TOKEN,
            base_url=limited.api_url,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
        )
        assert retrying.chat_postMessage(channel="C1", text="patient")["ok"]


# --------------------------------------------------------------------------- files


def test_files_download_needs_the_bot_token(fake: SlackFake, client: WebClient) -> None:
    uploaded = fake.add_file(PNG, name="ana smiling.png", user="U7")
    assert uploaded["id"].startswith("F") and uploaded["size"] == len(PNG)
    info = client.files_info(file=uploaded["id"])["file"]
    assert info["url_private"].endswith(f"/files-pri/T0001-{uploaded['id']}/ana%20smiling.png")
    assert info["url_private_download"].endswith(
        f"/files-pri/T0001-{uploaded['id']}/download/ana%20smiling.png"
    )

    for url in (info["url_private"], info["url_private_download"]):
        ok = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.content == PNG
        assert ok.headers["content-type"] == "image/png"

    for headers in ({}, {"Authorization": "Bearer xoxb-wrong"}):
        refused = httpx.get(info["url_private_download"], headers=headers)
        # Slack's tell-tale: status 200, but an HTML sign-in page instead of the image.
        assert refused.status_code == 200
        assert refused.headers["content-type"].startswith("text/html")
        assert refused.content.lstrip().startswith(b"<!DOCTYPE html>")

    assert fake.downloads(uploaded["id"]) == 2
    with pytest.raises(SlackApiError) as excinfo:
        client.files_info(file="F404")
    assert _error(excinfo) == "file_not_found"


# --------------------------------------------------------------------------- views


def test_views_are_recorded(fake: SlackFake, client: WebClient) -> None:
    opened = client.views_open(trigger_id="trig-1", view=_modal("New replica"))["view"]
    assert opened["id"].startswith("V") and opened["root_view_id"] == opened["id"]
    pushed = client.views_push(trigger_id="trig-2", view=_modal("Pick a voice"))["view"]
    assert pushed["previous_view_id"] == opened["id"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=_modal("Submitting"))[
        "view"
    ]
    assert updated["id"] == opened["id"]
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=_modal("Again"))
    assert _error(stale) == "hash_conflict"
    assert [(v["method"], v["view"]["title"]["text"]) for v in fake.views()] == [
        ("views.open", "New replica"),
        ("views.push", "Pick a voice"),
        ("views.update", "Submitting"),
    ]

    home = {"type": "home", "blocks": [_section("Your replicas")]}
    first = client.views_publish(user_id="U7", view=home)["view"]
    second = client.views_publish(user_id="U7", view=home)["view"]
    assert first["id"] == second["id"]
    assert len(fake.home_views("U7")) == 2 and fake.home_views("U8") == []


def test_view_errors(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_trigger:
        client.api_call("views.open", json={"view": _modal("x")})
    assert _error(no_trigger) == "invalid_arguments"
    with pytest.raises(SlackApiError) as long_title:
        client.views_open(trigger_id="t", view=_modal("A title that is far too long"))
    assert _error(long_title) == "invalid_arguments"
    assert "/view/title" in long_title.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError) as unknown:
        client.views_update(view_id="V404", view=_modal("x"))
    assert _error(unknown) == "not_found"


# --------------------------------------------------------------------------- response_url and inspection


def test_response_url_records_posts(fake: SlackFake, server: SlackFakeServer) -> None:
    url = fake.response_url()
    assert url.startswith(server.url + "/response/")
    for i in range(5):
        answer = httpx.post(url, json={"text": f"reply {i}", "response_type": "ephemeral"})
        assert (answer.status_code, answer.text) == (200, "ok")
    assert httpx.post(url, json={"text": "one too many"}).status_code == 404
    posts = fake.response_url_posts()
    assert [p["body"]["text"] for p in posts][:2] == ["reply 0", "reply 1"]
    assert [p["accepted"] for p in posts] == [True] * 5 + [False]
    assert httpx.post(server.url + "/response/unknown", json={}).status_code == 404


def test_http_inspection_endpoints(server: SlackFakeServer, client: WebClient, fake: SlackFake) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/_fake/inject", json={"method": "chat.postMessage", "error": "is_archived"}).json()[
            "ok"
        ]
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C1", text="x")
        client.chat_postMessage(channel="C1", text="hello")
        calls = http.get("/_fake/calls", params={"method": "chat.postMessage"}).json()["calls"]
        assert [c["response"].get("error") for c in calls] == ["is_archived", None]
        assert [m["text"] for m in http.get("/_fake/messages/C1").json()["messages"]] == ["hello"]
        assert http.post("/_fake/inject", json={"status": 429}).status_code == 400
        assert http.post("/_fake/reset").json()["ok"]
    assert fake.calls() == [] and fake.messages("C1") == []
    # The app's database outlives a reset, so timestamps must not start over.
    assert float(client.chat_postMessage(channel="C1", text="after reset")["ts"]) > float(
        calls[1]["response"]["ts"]
    )


def test_wait_for(fake: SlackFake, client: WebClient) -> None:
    threading.Timer(0.2, lambda: client.chat_postMessage(channel="C5", text="later")).start()
    found = fake.wait_for(lambda: fake.messages("C5"), timeout=5)
    assert found[0]["text"] == "later"

    client.chat_postMessage(channel="C5", text="not what we wait for")
    with pytest.raises(AssertionError) as excinfo:
        fake.wait_for(lambda: [m for m in fake.messages("C5") if "ready" in m["text"]], timeout=0.2)
    assert "not what we wait for" in str(excinfo.value) and "chat.postMessage" in str(excinfo.value)


# --------------------------------------------------------------------------- signing and the sender


def test_sign_is_accepted_by_slack_sdk_verifier() -> None:
    body = b"command=%2Freplica&text=help"
    now = int(time.time())
    headers = sign(body, SECRET, now)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert SignatureVerifier(SECRET).is_valid(body, str(now), headers["X-Slack-Signature"])
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    assert not SignatureVerifier(SECRET).is_valid_request(body + b"x", headers)
    stale = sign(body, SECRET, now - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)


class _Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200)


def _sender(recorder: _Recorder) -> SlackSender:
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    return SlackSender("http://127.0.0.1:3000/", SECRET, client=http)


def test_sender_command_is_signed_form() -> None:
    recorder = _Recorder()
    _sender(recorder).command('create https://x.test/a.png voice=anna name="Ana"', response_url="http://r/1")
    (request,) = recorder.requests
    assert str(request.url) == "http://127.0.0.1:3000/slack/events"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid_request(request.content, dict(request.headers))
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form["command"] == "/replica" and form["text"].endswith('name="Ana"')
    assert (form["team_id"], form["user_id"], form["channel_id"]) == ("T0001", "U123", "C123")
    assert (form["response_url"], form["trigger_id"]) == ("http://r/1", "trig-1")


def test_sender_bad_signature_and_old_timestamp() -> None:
    recorder = _Recorder()
    sender = _sender(recorder)
    sender.command("help", signature="v0=" + "0" * 64)
    sender.command("help", timestamp=int(time.time()) - 3600)
    sender.raw(b"{}", {"Content-Type": "application/json"})
    verifier = SignatureVerifier(SECRET)
    assert [verifier.is_valid_request(r.content, dict(r.headers)) for r in recorder.requests] == [False] * 3


def test_sender_event_and_interaction() -> None:
    recorder = _Recorder()
    sender = _sender(recorder)
    mention = {"type": "app_mention", "user": "U7", "text": "<@UBOT> hi", "ts": "1.000100", "channel": "C1"}
    sender.event(mention, event_id="Ev1", retry_num=1, retry_reason="http_timeout")
    sender.event(mention)
    sender.interaction({"type": "message_action", "callback_id": "create_replica", "trigger_id": "t"})

    retried, fresh, action = recorder.requests
    verifier = SignatureVerifier(SECRET)
    assert all(verifier.is_valid_request(r.content, dict(r.headers)) for r in recorder.requests)
    envelope = json.loads(retried.content)
    assert envelope["type"] == "event_callback" and envelope["event"] == mention
    assert (envelope["event_id"], envelope["team_id"], envelope["api_app_id"]) == ("Ev1", "T0001", "A0001")
    assert envelope["authorizations"][0]["user_id"] == "UBOT"
    assert (retried.headers["x-slack-retry-num"], retried.headers["x-slack-retry-reason"]) == (
        "1",
        "http_timeout",
    )
    assert "x-slack-retry-num" not in fresh.headers
    assert json.loads(fresh.content)["event_id"].startswith("Ev")
    payload = json.loads(parse_qs(action.content.decode())["payload"][0])
    assert payload["callback_id"] == "create_replica" and payload["team"]["id"] == "T0001"


def test_bolt_app_against_the_fake(server: SlackFakeServer, fake: SlackFake) -> None:
    """Bolt verifies our signatures, and its WebClient calls land on the fake."""
    app = App(token=TOKEN, signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=server.api_url))
    assert fake.calls("auth.test"), "Bolt checks its token at start-up"

    @app.command("/replica")
    def replica(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_postMessage(channel=command["channel_id"], text=f"got {command['text']}")

    body = (
        "command=%2Freplica&text=help&team_id=T0001&channel_id=C77&user_id=U7"
        "&trigger_id=t&response_url=http%3A%2F%2Fr%2F1"
    )
    good: BoltResponse = app.dispatch(BoltRequest(body=body, headers=_bolt_headers(body, SECRET)))
    assert good.status == 200
    assert fake.wait_for(lambda: fake.messages("C77"))[0]["text"] == "got help"
    bad = app.dispatch(BoltRequest(body=body, headers=_bolt_headers(body, "wrong-secret")))
    assert bad.status == 401


# --------------------------------------------------------------------------- helpers


def _bolt_headers(body: str, secret: str) -> dict[str, str]:
    return {"content-type": "application/x-www-form-urlencoded", **sign(body.encode(), secret)}


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _modal(title: str) -> dict[str, object]:
    return {
        "type": "modal",
        "callback_id": "create_replica_modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Create"},
        "blocks": [_section("Upload a photo")],
    }


def test_tier_limits_are_per_method_with_retry_after(fake: SlackFake, client: WebClient) -> None:
    fake.tier_limits = True
    try:
        fake.set_rate_limit("chat.update", 60, 2)
        posted = client.chat_postMessage(channel="C1", text="card")
        for _ in range(2):
            client.chat_update(channel="C1", ts=posted["ts"], text="edit")
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_update(channel="C1", ts=posted["ts"], text="edit")
        assert excinfo.value.response.status_code == 429
        assert 1 <= int(excinfo.value.response.headers["Retry-After"]) <= 2
        # Another method has its own budget.
        client.chat_postMessage(channel="C1", text="still fine", thread_ts=posted["ts"])
        assert fake.limited_calls("chat.update") == 1
        assert fake.limited_calls() == {"chat.update": 1}
    finally:
        fake.reset()
    assert fake.tier_limits is False


def test_posts_have_a_workspace_ceiling_besides_the_channel_limit(fake: SlackFake, client: WebClient) -> None:
    fake.tier_limits = True
    fake.enforce_rate_limits = True
    try:
        fake.set_rate_limit("chat.postMessage.workspace", 60, 3)
        for channel in ("C1", "C2", "C3"):
            client.chat_postMessage(channel=channel, text="hi")
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C4", text="one too many")
        assert excinfo.value.response.status_code == 429
    finally:
        fake.reset()


def test_reads_can_be_limited_to_fifteen_objects_with_cursors(fake: SlackFake, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="card")
    for i in range(20):
        client.chat_postMessage(channel="C1", text=f"reply {i}", thread_ts=parent["ts"])
    fake.max_read_objects = 15
    try:
        first = client.conversations_replies(channel="C1", ts=parent["ts"], limit=200)
        assert len(first["messages"]) == 15 and first["has_more"]
        cursor = first["response_metadata"]["next_cursor"]
        rest = client.conversations_replies(channel="C1", ts=parent["ts"], limit=200, cursor=cursor)
        assert len(rest["messages"]) == 6 and not rest["has_more"]
        last = first["messages"][-1]["ts"]
        newer = client.conversations_replies(channel="C1", ts=parent["ts"], oldest=last)
        assert len(newer["messages"]) == 6
    finally:
        fake.reset()
        fake.max_read_objects = None


# --- scopes and the app-level token (what `replica-bot doctor` reads) -----------------------------------


def test_every_answer_to_the_bot_token_carries_its_scopes(server: SlackFakeServer, fake: SlackFake) -> None:
    client = WebClient(token=TOKEN, base_url=server.api_url)
    answer = client.auth_test()
    assert answer.headers["x-oauth-scopes"].split(",") == list(MANIFEST_SCOPES)
    fake.scopes = ["chat:write", "commands"]
    # Errors too: the header describes the token, not the call.
    with pytest.raises(SlackApiError) as refused:
        client.api_call("chat.postMessage", params={"channel": "C1"})
    assert refused.value.response.headers["x-oauth-scopes"] == "chat:write,commands"


def test_a_bad_token_gets_invalid_auth_and_no_scopes(server: SlackFakeServer, fake: SlackFake) -> None:
    with pytest.raises(SlackApiError) as refused:
        WebClient(token="xoxb-wrong", base_url=server.api_url).auth_test()
    assert refused.value.response["error"] == "invalid_auth"
    assert "x-oauth-scopes" not in refused.value.response.headers


def test_scopes_can_be_set_over_http(server: SlackFakeServer, fake: SlackFake) -> None:
    assert httpx.post(f"{server.url}/_fake/scopes", json={"scopes": ["chat:write"]}).status_code == 200
    answer = WebClient(token=TOKEN, base_url=server.api_url).auth_test()
    assert answer.headers["x-oauth-scopes"] == "chat:write"


def test_apps_connections_open_takes_only_the_app_token(server: SlackFakeServer, fake: SlackFake) -> None:
    opened = WebClient(token=fake.app_token, base_url=server.api_url).apps_connections_open(
        app_token=fake.app_token
    )
    assert opened["url"].startswith("wss://")
    assert opened.headers["x-oauth-scopes"] == "connections:write"
    errors = {}
    for token, method in ((TOKEN, "apps.connections.open"), ("xapp-wrong", "apps.connections.open"),
                          (fake.app_token, "chat.postMessage")):
        with pytest.raises(SlackApiError) as refused:
            WebClient(token=token, base_url=server.api_url).api_call(method, params={"channel": "C1"})
        errors[(token, method)] = refused.value.response["error"]
    assert errors == {
        (TOKEN, "apps.connections.open"): "not_allowed_token_type",
        ("xapp-wrong", "apps.connections.open"): "invalid_auth",
        (fake.app_token, "chat.postMessage"): "not_allowed_token_type",
    }


def test_the_fakes_scopes_are_the_manifests() -> None:
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text())
    assert sorted(MANIFEST_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])


def test_users_lookup_by_email_as_slack_documents_it(fake: SlackFake, client: WebClient) -> None:
    fake.set_email("Ana@Example.com", "U0ANA")
    found = client.users_lookupByEmail(email="ana@example.com")["user"]
    assert found["id"] == "U0ANA" and found["profile"]["email"] == "ana@example.com"
    assert not found["is_bot"] and not found["deleted"]
    with pytest.raises(SlackApiError) as nobody:
        client.users_lookupByEmail(email="nobody@example.com")
    assert _error(nobody) == "users_not_found"
    # The method needs its own scope, which the manifest asks for.
    assert "users:read.email" in MANIFEST_SCOPES
    fake.scopes = [s for s in MANIFEST_SCOPES if s != "users:read.email"]
    with pytest.raises(SlackApiError) as unscoped:
        client.users_lookupByEmail(email="ana@example.com")
    assert _error(unscoped) == "missing_scope" and unscoped.value.response["needed"] == "users:read.email"
