"""`/replica …`: parse, answer quick subcommands in the ack, hand `create` to the submission service."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import messages
from bot.commands import CommandError, ParsedCommand, create_args, parse
from bot.runtime import Runtime
from bot.submission import Requester
from handlers.flow import Reply, after_ack, privately, report
from handlers.views import open_modal
from storage import repository
from storage.db import session_scope

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    def replica_command(ack: Ack, command: dict, client: WebClient, respond: Respond) -> None:
        handle_replica_command(runtime, ack, command, client, respond)

    app.command("/replica")(replica_command)


def handle_replica_command(
    runtime: Runtime, ack: Ack, command: dict, client: WebClient, respond: Respond
) -> None:
    requester = Requester(
        user_id=command["user_id"], channel_id=command["channel_id"], team_id=command.get("team_id")
    )
    try:
        parsed = parse(command.get("text", ""))
        if parsed.name in ("create", "delete") and not runtime.access.channel_allowed(requester.channel_id):
            ack(text=runtime.access.where_allowed(), response_type="ephemeral")
            return
        if parsed.name == "delete":
            _delete(runtime, ack, parsed, requester, privately(client, respond, requester.channel_id,
                                                                requester.user_id))
            return
        if parsed.name != "create":
            ack(text=answer(runtime, parsed, requester), response_type="ephemeral")
            return
        args = create_args(parsed)
        if not (args.image_url or args.video_url):
            # No link: the modal takes an uploaded photo instead.
            ack()
            open_modal(
                runtime,
                client,
                command["trigger_id"],
                channel_id=requester.channel_id,
                name=args.name,
                voice=args.voice,
            )
            return
        draft = runtime.submission.draft(requester, args)
    except CommandError as exc:
        ack(text=f":warning: {exc}", response_type="ephemeral")
        return
    # Recorded before the ack: once we say "got it", a crash cannot lose the request.
    draft = runtime.submission.receive(draft)
    # Slack gives us three seconds; the download and Tavus call happen after this.
    ack(
        text=messages.accepted_message(draft.replica_name, video=bool(draft.video_url)),
        response_type="ephemeral",
    )
    reply = privately(client, respond, requester.channel_id, requester.user_id)
    after_ack(
        runtime, reply, lambda: report(runtime, runtime.submission.submit_link(draft), reply), draft=draft
    )


def answer(runtime: Runtime, parsed: ParsedCommand, requester: Requester) -> str:
    """The reply to every subcommand except `create`: quick, read-only, safe to send in the ack."""
    settings, catalogue = runtime.settings, runtime.catalogue
    if parsed.name == "voices":
        return messages.voices_message(
            settings.voices, settings.default_voice, settings.voice_descriptions, str(settings.tavus_docs_url)
        )
    if parsed.name == "errors":
        return messages.errors_message(catalogue)
    if parsed.name == "explain":
        if not parsed.args:
            return "Which error? Try `/replica explain ImageQualityError` or `/replica errors` for the list."
        entry = catalogue.lookup(parsed.args[0])
        return messages.explain_entry(entry) if entry else messages.explain_unknown(parsed.args[0], catalogue)
    if parsed.name == "status":
        return _status(runtime, parsed, requester)
    if parsed.name == "list":
        with session_scope(runtime.engine) as session:
            return messages.list_message(repository.recent_requests_for(session, requester.user_id))
    return messages.help_message(settings.voices, parsed.unknown, str(settings.tavus_docs_url))


def _delete(runtime: Runtime, ack: Ack, parsed: ParsedCommand, requester: Requester, reply: Reply) -> None:
    if not parsed.args:
        ack(text="Which replica? Try `/replica delete r90bbd427f71`.", response_type="ephemeral")
        return
    replica_id = parsed.args[0].strip("`")
    ack(text=f"Looking at replica `{messages.escape(replica_id)}`…", response_type="ephemeral")
    outcome = runtime.deletion.delete(replica_id, requester.user_id, requester.channel_id)
    reply(outcome.message, None)
    if outcome.deleted:
        runtime.deliverer.deliver_due()


def _status(runtime: Runtime, parsed: ParsedCommand, requester: Requester) -> str:
    if not parsed.args:
        return "Which replica? Try `/replica status r90bbd427f71`, or `/replica list` for yours."
    replica_id = parsed.args[0].strip("`")
    with session_scope(runtime.engine) as session:
        request = repository.find_by_replica_id(session, replica_id)
        if request is None or not runtime.access.can_see(request, requester.user_id, requester.channel_id):
            return f"I have no request for replica `{messages.escape(replica_id)}` that you can see here."
        return messages.status_line(request)
