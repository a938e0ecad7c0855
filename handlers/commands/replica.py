"""`/replica …`: quick subcommands are answered in the ack; `create` is recorded before the ack and
checked after it; `delete` is acked at once and answered when Tavus has."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.batch import batch_number
from bot.domain.errors import Refusal
from bot.slack import render
from bot.slack.command_text import (
    CommandError,
    ParsedCommand,
    audited_person,
    create_args,
    forget_args,
    parse,
)
from bot.slack.errors import user_message
from bot.slack.replies import privately
from handlers.commands import try_face
from handlers.payloads import Payload, SlashCommand
from handlers.services import Services
from handlers.views.batch_form import open_batch_form
from handlers.views.create_form import FormPlace, open_form


def on_command(ack: Ack, command: Payload, client: WebClient, respond: Respond, services: Services) -> None:
    slash = SlashCommand.read(command)
    requester = slash.requester
    try:
        parsed = parse(slash.text)
        if parsed.name in ("create", "delete"):
            services.access.require_channel(requester.channel_id)
        if parsed.name == "delete":
            _delete(ack, parsed, slash, client, respond, services)
            return
        if parsed.name in ("video", "talk"):
            try_face.on_try(ack, parsed, slash, client, services)
            return
        if parsed.name == "forget":
            _forget(ack, parsed, slash, client, respond, services)
            return
        if parsed.name == "batch":
            services.access.require_channel(requester.channel_id)
            ack()
            open_batch_form(services, client, slash.trigger_id, requester.channel_id)
            return
        if parsed.name != "create":
            ack(text=answer(services, parsed, slash), response_type="ephemeral")
            return
        args = create_args(parsed)
        if not (args.image_url or args.video_url):
            # No link: the form takes an uploaded photo instead.
            ack()
            place = FormPlace(requester.channel_id)
            open_form(services, client, slash.trigger_id, place, name=args.name, voice=args.voice)
            return
        draft = services.submission.draft(requester, args)
    except (CommandError, Refusal) as refused:
        ack(text=user_message(refused, services.catalogue).text, response_type="ephemeral")
        return
    # Recorded before the ack: once we say "got it", a crash cannot lose the request.
    draft = services.submission.receive(draft)
    # Slack gives us three seconds; the download and the Tavus call happen after this.
    accepted = render.accepted_message(draft.replica_name, video=bool(draft.video_url))
    ack(text=accepted, response_type="ephemeral")
    reply = privately(client, respond, requester.channel_id, requester.user_id)
    services.intake.after_ack(reply, services.intake.link(draft), draft=draft)


def answer(services: Services, parsed: ParsedCommand, slash: SlashCommand) -> str:
    """The reply to every subcommand except `create` and `delete`: quick, read-only, safe in the ack."""
    voices, catalogue, docs = services.voices, services.catalogue, services.docs_url
    if parsed.name == "voices":
        return render.voices_message(voices.names, voices.default, voices.descriptions, docs)
    if parsed.name == "errors":
        return render.errors_message(catalogue)
    if parsed.name in ("explain", "status") and not parsed.args:
        return render.which_one(parsed.name)
    if parsed.name == "explain":
        # A code or video error type first, else a message someone pasted.
        asked = parsed.args[0]
        entry = catalogue.lookup(asked) or catalogue.explain(asked).entry
        return render.explain_entry(entry, asked) if entry else render.explain_unknown(asked, catalogue)
    if parsed.name == "status":
        user, channel = slash.requester.user_id, slash.requester.channel_id
        asked = parsed.args[0].strip("`")
        try:
            if batch_number(asked) is not None and services.batches is not None:
                return render.batch_status(services.batches.visible(asked, user, channel), catalogue)
            return render.status_line(services.requests.visible(asked, user, channel))
        except Refusal as refused:
            return user_message(refused, catalogue).text
    if parsed.name == "list":
        user = slash.requester.user_id
        batches = services.batches.recent_for(user) if services.batches is not None else []
        return render.list_message(services.requests.recent_for(user), batches)
    if parsed.name == "audit":
        return _audit(services, parsed, slash)
    return render.help_message(voices.names, parsed.unknown, docs)


def _audit(services: Services, parsed: ParsedCommand, slash: SlashCommand) -> str:
    """`/replica audit [@user]`: the latest requests with whose face and who decided what (admins)."""
    try:
        about = audited_person(parsed.args)
        if services.audit is None:
            raise RuntimeError("the audit is not wired in this runtime")
        entries = services.audit.latest(slash.requester.user_id, about=about)
    except (CommandError, Refusal) as refused:
        return user_message(refused, services.catalogue).text
    return render.audit_message(entries, about)


def _delete(
    ack: Ack,
    parsed: ParsedCommand,
    slash: SlashCommand,
    client: WebClient,
    respond: Respond,
    services: Services,
) -> None:
    if not parsed.args:
        ack(text=render.which_one("delete"), response_type="ephemeral")
        return
    replica_id = parsed.args[0].strip("`")
    ack(text=render.looking_at_replica(replica_id), response_type="ephemeral")
    requester = slash.requester
    reply = privately(client, respond, requester.channel_id, requester.user_id)
    try:
        deleted = services.deletion.delete(replica_id, requester.user_id, requester.channel_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))
        return
    reply(render.Message.of(render.deleted_message(replica_id, deleted)))


def _forget(
    ack: Ack,
    parsed: ParsedCommand,
    slash: SlashCommand,
    client: WebClient,
    respond: Respond,
    services: Services,
) -> None:
    """Admins only: acked at once, answered when the person is forgotten (Tavus may be asked first)."""
    requester = slash.requester
    if services.erasure is None or not services.access.is_admin(requester.user_id):
        ack(text=render.NOT_AN_ADMIN, response_type="ephemeral")
        return
    args = forget_args(parsed)
    ack(text=render.forgetting(args.user_id), response_type="ephemeral")
    report = services.erasure.forget(args.user_id, include_active=args.include_active, by=requester.user_id)
    reply = privately(client, respond, requester.channel_id, requester.user_id)
    reply(render.Message.of(render.forgotten_message(report)))
