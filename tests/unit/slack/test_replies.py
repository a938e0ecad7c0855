"""`bot.slack.replies.only_to`: what only one person may see (a test call's link) goes to them privately in
the channel, or to their DM where an ephemeral cannot be posted; never into the channel itself."""

from __future__ import annotations

from bot.slack.render import Message
from bot.slack.replies import only_to
from tests.unit.handlers.fakes import RecordingClient

SECRET = Message.of("Join: https://rooms.example/secret")


def test_an_ephemeral_to_that_person_in_the_channel() -> None:
    client = RecordingClient()
    only_to(client, "C1", "U1")(SECRET)
    [call] = client.calls
    assert call.method == "chat_postEphemeral"
    assert (call.kwargs["user"], call.kwargs["channel"]) == ("U1", "C1")


def test_their_dm_where_an_ephemeral_cannot_be_posted_or_there_is_no_channel() -> None:
    client = RecordingClient()
    client.errors["chat_postEphemeral"] = "channel_not_found"
    only_to(client, "C1", "U1")(SECRET)
    only_to(client, None, "U1")(SECRET)
    posts = client.called("chat_postMessage")
    assert [p["channel"] for p in posts] == ["U1", "U1"]
    assert all(p["channel"] != "C1" for p in client.called("chat_postMessage"))
