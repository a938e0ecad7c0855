"""Every message the bot writes, in one place: text plus Block Kit, built from domain objects.

Anything a person typed is escaped before it is echoed, so a replica named `<!channel>` pings nobody.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.catalogue import DEFAULT_DOCS_BASE_URL, Catalogue, CatalogueEntry, ExplainedError
from bot.photo_check import Finding
from storage.models import ReplicaRequest, RequestStatus, utcnow

Block = dict[str, Any]

TRAINING_HINT = (
    "Training usually takes 3–4 hours, and the progress can sit at one percentage for a long time while "
    "a step runs: that is normal. I'll post here when it finishes."
)
CREDIT_NOTE = (
    "A run that fails costs no credit. Please don't delete this replica straight away: if it is deleted "
    "right after the error, the refund may not register."
)
IMAGE_REQUIREMENTS = (
    "JPG or PNG, at least 512×512 pixels; one person, front-facing, head and shoulders in frame; "
    "no glasses, hats or headphones; hair behind the shoulders; even light."
)
USAGE = (
    '`/replica create <image-url> voice=anna name="Ana Demo"` — request a replica from a headshot\n'
    '`/replica create video=<url> consent=<url> name="Ana"` — request one from a training video\n'
    "`/replica status <replica_id>` — where a request stands\n"
    "`/replica list` — your recent requests\n"
    "`/replica delete <replica_id>` — delete a replica in Tavus (kept an hour after a failure)\n"
    "`/replica explain <ErrorCode>` — what a Tavus error means and what to do\n"
    "`/replica errors` — every error Tavus documents\n"
    "`/replica voices` — the stock voices\n"
    "`/replica help` — this message"
)

_STATUS_LABELS = {
    RequestStatus.RECEIVED: ":mag: Checking the photo",
    RequestStatus.SUBMITTING: ":hourglass_flowing_sand: Submitting to Tavus",
    RequestStatus.TRAINING: ":gear: Training",
    RequestStatus.COMPLETED: ":white_check_mark: Ready",
    RequestStatus.FAILED: ":x: Training failed — see the thread",
    RequestStatus.SUBMIT_FAILED: ":warning: Not submitted",
    RequestStatus.AWAITING_CONFIRMATION: ":raised_hand: Waiting for your confirmation",
    RequestStatus.DELETED: ":wastebasket: Deleted",
}


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block]


def escape(text: str) -> str:
    """Slack mrkdwn escaping; applied to anything a user or Tavus wrote."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _link_button(text: str, url: str, action_id: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "url": url,
        "action_id": action_id,
    }


def link(url: str, label: str) -> str:
    """A mrkdwn link, or plain escaped text when the URL itself could break out of the link syntax."""
    if any(c in url for c in "<>| \n"):
        return escape(label)
    return f"<{url}|{escape(label)}>"


def progress_bar(percent: int | None, width: int = 10) -> str:
    if percent is None:
        return "░" * width + " waiting for Tavus"
    percent = max(0, min(100, percent))
    filled = round(percent * width / 100)
    return "▓" * filled + "░" * (width - filled) + f" {percent}%"


def elapsed(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return "—"
    minutes = int(((now or utcnow()) - since).total_seconds() // 60)
    hours, minutes = divmod(max(minutes, 0), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def request_card(
    request: ReplicaRequest,
    now: datetime | None = None,
    *,
    retry_of: ReplicaRequest | None = None,
    retry_of_link: str | None = None,
    meant_for: str | None = None,
    meant_for_reason: str | None = None,
) -> Message:
    """The request card, edited in place as training goes.

    `retry_of` is the failed request this one retries and `retry_of_link` its card's permalink. `meant_for`
    is the channel that refused the card for good (`meant_for_reason`): the card lives in the DM instead.
    """
    status = RequestStatus(request.status)
    name = escape(request.replica_name)
    source = request.source_url or request.train_video_url
    fields = [
        f"*Requested by*\n<@{request.requester_id}>",
        f"*Voice*\n{escape(request.voice_name) if request.voice_name else '—'}",
        f"*Status*\n{_STATUS_LABELS[status]}",
        f"*Replica id*\n`{request.replica_id}`" if request.replica_id else "*Replica id*\nnot assigned yet",
    ]
    if status == RequestStatus.TRAINING:
        fields.append(f"*Progress*\n`{progress_bar(request.progress_percent)}`")
        fields.append(
            f"*Elapsed*\n{elapsed(request.submitted_at or request.created_at, now)} (usually 3–4 h in all)"
        )
    elif (
        status in (RequestStatus.COMPLETED, RequestStatus.FAILED)
        and request.submitted_at
        and request.finished_at
    ):
        fields.append(f"*Trained for*\n{elapsed(request.submitted_at, request.finished_at)}")
    title = _section(f":bust_in_silhouette: *Replica request: {name}*")
    thumbnail = _thumbnail_url(request)
    if thumbnail is not None:
        # Slack fetches the image itself; a photo it cannot reach just shows no thumbnail.
        title["accessory"] = {"type": "image", "image_url": thumbnail, "alt_text": "The submitted photo"}
    blocks: list[Block] = []
    if meant_for:
        blocks.append(
            _context(
                f":information_source: This card was meant for {_channel_ref(meant_for)}, but "
                f"{channel_problem(meant_for_reason)}. I'll keep you posted here instead."
            )
        )
    blocks += [title, {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}]
    if request.retry_of is not None:
        blocks.append(_context(_retry_line(retry_of, retry_of_link)))
    if source:
        label = "Training video" if request.train_video_url else "Photo"
        blocks.append(_context(f"{label}: {link(source, _shorten(source))}"))
    if status == RequestStatus.TRAINING:
        blocks.append(_context(TRAINING_HINT))
    elif status == RequestStatus.FAILED:
        reported = f"Tavus reported `{escape(request.error_code)}`. " if request.error_code else ""
        blocks.append(_context(f"{reported}What it means and what to do next are in the thread."))
    elif status == RequestStatus.COMPLETED:
        blocks.append(_context("Ready to use. How to use it is in the thread."))
    text = f"Replica request {name} by <@{request.requester_id}>: {_STATUS_LABELS[status]}"
    if status == RequestStatus.TRAINING and request.progress_percent is not None:
        text += f" ({request.progress_percent}%)"
    return Message(text=text, blocks=blocks)


def failure_post(request: ReplicaRequest, explained: ExplainedError, catalogue: Catalogue) -> Message:
    mention = f"<@{request.requester_id}>"
    name = escape(request.replica_name)
    entry = explained.entry
    if entry is not None:
        text = f"{mention} training for *{name}* failed: {entry.title}."
        blocks = [
            _section(f"{mention} training for *{name}* failed: *{escape(entry.title)}*"),
            _section(f"*What it means*\n{entry.explanation}"),
            _section("*What to do next*\n" + "\n".join(f"• {step}" for step in entry.advice)),
            _context(f"Tavus said: `{escape(explained.code or entry.code)}` — {escape(entry.tavus_message)}"),
        ]
        url, label = entry.guideline_url, entry.guideline_label
    else:
        shown = escape(explained.raw) if explained.raw else "no reason given"
        text = f"{mention} training for *{name}* failed. Tavus said: {shown}"
        blocks = [
            _section(f"{mention} training for *{name}* failed."),
            _section(f"*Tavus said*\n> {shown}"),
            _section(
                "*What to do next*\n• Compare the photo with the Tavus training guidelines and try again "
                f"with a different one.\n• If it keeps failing, write to {catalogue.support_email} with the "
                "replica id below."
            ),
        ]
        url, label = catalogue.general_guideline_url, "Tavus replica FAQ and guidelines"
    # One click toward the fix: a new photo, with the name and voice filled in.
    buttons = [retry_button(request.id)] if request.id is not None else []
    buttons.append(_link_button(label, url, "open_guideline"))
    blocks.append({"type": "actions", "elements": buttons})
    blocks.append(_context(f"Replica id `{request.replica_id}` · {CREDIT_NOTE}"))
    return Message(text=text, blocks=blocks)


def completion_post(request: ReplicaRequest, docs_url: str = DEFAULT_DOCS_BASE_URL) -> Message:
    mention = f"<@{request.requester_id}>"
    name = escape(request.replica_name)
    docs = docs_url.rstrip("/")
    text = f"{mention} *{name}* is ready. Replica id `{request.replica_id}`."
    lines = [
        f":tada: {mention} *{name}* finished training and is ready to use.",
        f"*Replica id:* `{request.replica_id}`",
    ]
    thumbnail = request.thumbnail_video_url
    if thumbnail and len(thumbnail) <= 2000 and thumbnail.startswith(("https://", "http://")):
        lines.append(f":film_frame: {link(thumbnail, 'Watch the preview')}")
    blocks = [
        _section("\n".join(lines)),
        _section(
            "*What you can do with it*\n"
            "• *Talk with it live:* start a conversation (Tavus CVI) with this replica id — "
            f"{link(docs + CVI_GUIDE_PATH, 'how to start one')}\n"
            "• *Make videos:* give it a script and Tavus generates a video of it speaking — "
            f"{link(docs + VIDEO_GUIDE_PATH, 'how to generate one')}"
        ),
    ]
    return Message(text=text, blocks=blocks)


def help_message(
    voices: Sequence[str],
    unknown: str | None = None,
    docs_url: str = DEFAULT_DOCS_BASE_URL,
) -> str:
    intro = f"I don't know `{escape(unknown)}`. Here is what I can do:\n" if unknown else ""
    docs = docs_url.rstrip("/")
    return (
        f"{intro}*replica-bot* turns a headshot into a Tavus replica (an AI avatar of that person) and "
        "keeps you posted in a thread while it trains.\n"
        f"{USAGE}\n"
        "`/replica create` without a link opens a form where you upload the photo. You can also mention me "
        "in a message with the photo attached, send me the photo in a DM, or use the *Create replica* "
        "shortcut on a message that has one.\n\n"
        f"*Photo checklist:* {IMAGE_REQUIREMENTS}\n"
        f"*Voices:* {', '.join(voices)} — `/replica voices` says what each sounds like.\n"
        "*Training time:* usually 3–4 hours. I let you know in the thread when it finishes, and your "
        "requests are on my *Home* tab. If it fails, I say why, with a button to retry.\n"
        f"*More:* {link(docs + IMAGE_GUIDE_PATH, 'Tavus image requirements')} · "
        f"{link(docs + FAQ_PATH, 'Tavus replica FAQ')}"
    )


def voices_message(
    voices: Sequence[str],
    default_voice: str | None,
    descriptions: Mapping[str, str] | None = None,
    docs_url: str = DEFAULT_DOCS_BASE_URL,
) -> str:
    def line(voice: str) -> str:
        described = voice_description(voice, descriptions)
        return (
            f"• `{escape(voice)}`"
            + (" (default)" if voice == default_voice else "")
            + (f" — {escape(described)}" if described else "")
        )

    samples = link(docs_url.rstrip("/") + IMAGE_GUIDE_PATH, "Hear a sample of each in the Tavus docs")
    return (
        "Stock voices for photo-based replicas (a photo has no voice for Tavus to learn, so you pick one):\n"
        + "\n".join(line(v) for v in voices)
        + f"\nPick one with `voice=<name>`, or in the `/replica create` form. {samples}."
    )


def explain_entry(entry: CatalogueEntry) -> str:
    advice = "\n".join(f"• {step}" for step in entry.advice)
    return (
        f"*{entry.code}* — {entry.title}\n{entry.explanation}\n*What to do next*\n{advice}\n"
        f"<{entry.guideline_url}|{entry.guideline_label}>"
    )


def explain_unknown(code: str, catalogue: Catalogue) -> str:
    known = ", ".join(f"`{e.code}`" for e in catalogue.entries())
    return f"`{escape(code)}` is not an error Tavus documents. Known codes: {known}."


def errors_message(catalogue: Catalogue) -> str:
    lines = [f"• `{e.code}` — {e.title}" for e in catalogue.entries()]
    return "Errors Tavus reports for image training (`/replica explain <code>` for details):\n" + "\n".join(
        lines
    )


def status_line(request: ReplicaRequest) -> str:
    status = _STATUS_LABELS[RequestStatus(request.status)]
    parts = [f"*{escape(request.replica_name)}*", status]
    if request.replica_id:
        parts.append(f"`{request.replica_id}`")
    if request.status == RequestStatus.TRAINING:
        parts.append(progress_bar(request.progress_percent))
    if request.error_code:
        parts.append(f"`{escape(request.error_code)}`")
    if request.submit_error:
        parts.append(escape(request.submit_error))
    parts.append(f"<!date^{int(request.created_at.timestamp())}^{{date_short_pretty}} {{time}}|requested>")
    return " · ".join(parts)


def list_message(requests: Sequence[ReplicaRequest]) -> str:
    if not requests:
        return "You have no replica requests yet. Start with `/replica create <image-url> voice=anna`."
    return "Your recent requests:\n" + "\n".join(f"• {status_line(r)}" for r in requests)


def accepted_message(name: str, *, video: bool = False) -> str:
    what = "the video links" if video else "the photo"
    return f"Got it — checking {what} for *{escape(name)}* before sending it to Tavus…"


def refused_message(reason: str) -> str:
    return f":warning: I did not send this to Tavus: {reason}\n*Photo checklist:* {IMAGE_REQUIREMENTS}"


def submit_failed_message(reason: str) -> str:
    return f":warning: I couldn't submit this to Tavus. {reason} Nothing was created; you can try again."


def resume_failed_message(name: str, reference: str) -> str:
    return (
        f":warning: I lost track of your request for *{escape(name)}* during a restart and could not pick "
        f"it up again (reference `{reference}`). Nothing was sent to Tavus; please send it again."
    )


def _shorten(url: str, limit: int = 60) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


# --- uploads, the modal, confirmations --------------------------------------------------------------------

MODAL_CALLBACK_ID = "replica_create_modal"
CONFIRM_ACTION = "confirm_request"
CANCEL_ACTION = "cancel_request"
RIGHTS_TEXT = "I have the rights to use this person's likeness (and they agreed) for a replica."


def upload_modal(
    voices: Sequence[str],
    *,
    private_metadata: str,
    name: str | None = None,
    voice: str | None = None,
    file_name: str | None = None,
    descriptions: Mapping[str, str] | None = None,
    retry_of_name: str | None = None,
) -> dict[str, Any]:
    """The `/replica create` form. With `file_name`, the photo comes from a message (the shortcut); with
    `retry_of_name`, it retries a failed request: name and voice come prefilled, only the photo is new."""
    photo: Block
    if file_name:
        photo = _section(f":frame_with_picture: Photo: *{escape(file_name)}* (from the message)")
    else:
        photo = {
            "type": "input",
            "block_id": "photo",
            "label": {"type": "plain_text", "text": "Headshot (JPG or PNG, at least 512×512)"},
            "element": {
                "type": "file_input",
                "action_id": "file",
                "filetypes": ["jpg", "jpeg", "png"],
                "max_files": 1,
            },
        }
    options = [_voice_option(v, descriptions) for v in list(voices)[:MAX_SELECT_OPTIONS]]
    voice_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": options,
        "placeholder": {"type": "plain_text", "text": "Pick a stock voice"},
    }
    values = [o["value"] for o in options]
    if voice in values:
        voice_select["initial_option"] = options[values.index(voice)]
    name_input: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "max_length": 80}
    if name:
        name_input["initial_value"] = name[:80]
    intro: list[Block] = []
    if retry_of_name is not None:
        intro.append(
            _section(
                f":repeat: Retrying *{escape(retry_of_name)}* with a new photo. The name and voice are "
                "filled in from the request that failed; change them if you like."
            )
        )
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "private_metadata": private_metadata,
        "title": {
            "type": "plain_text",
            "text": "Retry with a new photo" if retry_of_name else "Create a replica",
        },
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            *intro,
            photo,
            _context(IMAGE_REQUIREMENTS),
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Replica name"},
                "element": name_input,
            },
            {
                "type": "input",
                "block_id": "voice",
                "label": {"type": "plain_text", "text": "Voice"},
                "element": voice_select,
                "hint": {
                    "type": "plain_text",
                    "text": "A photo has no voice to learn, so the replica speaks with this one.",
                },
            },
            {
                "type": "input",
                "block_id": "rights",
                "label": {"type": "plain_text", "text": "Rights"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [{"text": {"type": "plain_text", "text": RIGHTS_TEXT}, "value": "affirmed"}],
                },
            },
        ],
    }


def confirmation(
    question: str, request_id: int, *, confirm: str = "Yes — submit it", cancel: str = "Cancel",
    preface: list[Block] | None = None,
) -> Message:
    return Message(
        text=question,
        blocks=[
            *(preface or []),
            _section(f":raised_hand: {question}"),
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "style": "primary",
                        "action_id": CONFIRM_ACTION,
                        "value": str(request_id),
                        "text": {"type": "plain_text", "text": confirm},
                    },
                    {
                        "type": "button",
                        "action_id": CANCEL_ACTION,
                        "value": str(request_id),
                        "text": {"type": "plain_text", "text": cancel},
                    },
                ],
            },
        ],
    )

def upload_help(voices: Sequence[str]) -> str:
    return (
        "Attach a headshot to your message and I'll request a replica from it, e.g. "
        f'`create voice=anna name="Ana Demo"` with the photo attached.\n*Photo checklist:* '
        f"{IMAGE_REQUIREMENTS}\n*Voices:* {', '.join(voices)}"
    )


# --- issue 4: stalls, consent, deletion ---------------------------------------------------------------------


def stuck_notice(request: ReplicaRequest, support_email: str) -> Message:
    since = request.progress_changed_at or request.submitted_at or request.created_at
    hours = max(1, int((utcnow() - since).total_seconds() // 3600))
    at = f" at {request.progress_percent}%" if request.progress_percent is not None else ""
    text = (
        f"<@{request.requester_id}> *{escape(request.replica_name)}* is still training: progress has "
        f"stayed{at} for about {hours} h. That is usually fine — a training step can hold one percentage "
        "for a long time, and the whole run typically takes 3–4 hours. If there is still no change after "
        f"24 hours, write to {support_email} with replica id `{request.replica_id}`."
    )
    return Message(text=text, blocks=[_section(f":hourglass_flowing_sand: {text}")])


# --- App Home and notifications ---------------------------------------------------------------------------

RETRY_ACTION = "retry_request"
HOME_FILTER_ACTION_PREFIX = "home_filter_"
# Filter name → (button label, statuses shown; None for all).
HOME_FILTERS: dict[str, tuple[str, tuple[RequestStatus, ...] | None]] = {
    "all": ("All", None),
    "in_flight": (
        "In flight",
        (
            RequestStatus.RECEIVED,
            RequestStatus.AWAITING_CONFIRMATION,
            RequestStatus.SUBMITTING,
            RequestStatus.TRAINING,
        ),
    ),
    "failed": ("Failed", (RequestStatus.FAILED, RequestStatus.SUBMIT_FAILED)),
    "done": ("Done", (RequestStatus.COMPLETED,)),
}
HOME_LIMIT = 25
RETRYABLE = (RequestStatus.FAILED, RequestStatus.SUBMIT_FAILED)
MAX_SELECT_OPTIONS = 100

IMAGE_GUIDE_PATH = "/sections/replica/train-with-an-image"
FAQ_PATH = "/sections/replica/replica-faqs"
CVI_GUIDE_PATH = "/sections/conversational-video-interface/quickstart/build-first-app"
VIDEO_GUIDE_PATH = "/sections/video/quickstart"

# Each image-training voice is the voice of the Tavus stock replica of that name (Tavus docs, "How
# voice_name works"). VOICE_DESCRIPTIONS overrides or extends these.
STOCK_VOICE_DESCRIPTIONS: dict[str, str] = {
    "anna": "feminine voice, from Tavus' stock replica Anna",
    "benjamin": "masculine voice, from Tavus' stock replica Benjamin",
    "ivy": "feminine voice, from Tavus' stock replica Ivy",
    "james": "masculine voice, from Tavus' stock replica James",
    "julia": "feminine voice, from Tavus' stock replica Julia",
    "liam": "masculine voice, from Tavus' stock replica Liam",
}

# What a channel error means for the person reading the DM; the raw code goes to the logs only.
_CHANNEL_PROBLEMS = {
    "channel_not_found": "I can't find that channel (it may have been deleted, or it's private and I'm "
    "not in it)",
    "not_in_channel": "I'm not a member of it (invite me with `/invite @replica-bot` to post there again)",
    "is_archived": "it has been archived",
    "restricted_action": "posting there is restricted for me",
    "cant_update_message": "I can no longer edit my message there",
    "message_not_found": "my message there has been deleted",
}
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def voice_description(voice: str, descriptions: Mapping[str, str] | None = None) -> str | None:
    return (descriptions or {}).get(voice) or STOCK_VOICE_DESCRIPTIONS.get(voice)


def _voice_option(voice: str, descriptions: Mapping[str, str] | None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": {"type": "plain_text", "text": voice[:75]}, "value": voice[:150]}
    described = voice_description(voice, descriptions)
    if described:
        option["description"] = {"type": "plain_text", "text": _clip(described, 75)}
    return option


def retry_button(request_id: int) -> Block:
    return {
        "type": "button",
        "style": "primary",
        "action_id": RETRY_ACTION,
        "value": str(request_id),
        "text": {"type": "plain_text", "text": "Retry with a new photo"},
    }


def channel_problem(error: str | None) -> str:
    return _CHANNEL_PROBLEMS.get(error or "", "Slack won't let me post there")


def _channel_ref(channel_id: str) -> str:
    return f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else "the channel it was meant for"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _thumbnail_url(request: ReplicaRequest) -> str | None:
    """The submitted photo, if it is a web address Slack can fetch and Block Kit accepts."""
    if request.train_video_url:
        return None
    for url in (request.source_url, request.train_image_url):
        if (
            url
            and url.startswith(("https://", "http://"))
            and len(url) <= 3000
            and not any(c in url for c in "<>|\"' \n\t")
        ):
            return url
    return None


def _retry_line(original: ReplicaRequest | None, permalink: str | None) -> str:
    if original is None:
        return ":repeat: Retry of an earlier request that failed."
    label = _clip(original.replica_name, 80)
    named = link(permalink, label) if permalink else f"*{escape(label)}*"
    replica = f" (`{original.replica_id}`)" if original.replica_id else ""
    return f":repeat: Retry of {named}{replica}, which failed."


def fallback_notice(message: Message, *, meant_for: str, reason: str | None) -> Message:
    """A notification the channel refused for good, delivered to the requester's DM instead."""
    where = _channel_ref(meant_for)
    note = _context(
        f":information_source: This was meant for {where}, but {channel_problem(reason)}. Here it is."
    )
    return Message(text=f"(Meant for {where}) {message.text}", blocks=[note, *message.blocks][:50])


def requester_dm(request: ReplicaRequest, *, permalink: str | None, catalogue: Catalogue) -> Message:
    """The short DM that follows a failure or completion post, pointing at it."""
    name = escape(request.replica_name)
    where = (
        link(permalink, "See the post in the thread")
        if permalink
        else f"`/replica status {request.replica_id}` has the details"
    )
    if request.status == RequestStatus.COMPLETED:
        text = f":tada: Your replica *{name}* is ready (replica id `{request.replica_id}`). {where}."
        return Message(text=text, blocks=[_section(text)])
    entry = catalogue.lookup(request.error_code) if request.error_code else None
    reason = f": {escape(entry.title)}" if entry else ""
    text = f":x: Training for your replica *{name}* failed{reason}. {where} for what to do next."
    blocks = [_section(text)]
    if request.id is not None:
        blocks.append({"type": "actions", "elements": [retry_button(request.id)]})
    return Message(text=text, blocks=blocks)


def home_view(
    requests: Sequence[ReplicaRequest],
    *,
    is_admin: bool,
    catalogue: Catalogue,
    active_filter: str = "all",
    viewer: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The App Home tab: the viewer's requests, or everyone's with filters for an admin."""
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": "Replica requests"}}]
    if is_admin:
        blocks.append(_context("You're an admin, so you see everyone's requests, newest first."))
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_filters",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"{HOME_FILTER_ACTION_PREFIX}{key}",
                        "value": key,
                        "text": {"type": "plain_text", "text": label},
                        **({"style": "primary"} if key == active_filter else {}),
                    }
                    for key, (label, _) in HOME_FILTERS.items()
                ],
            }
        )
    else:
        blocks.append(
            _context("Your replica requests, newest first. Start one with `/replica create` in a channel.")
        )
    blocks.append({"type": "divider"})
    if not requests:
        empty = (
            "Nothing here yet. `/replica create` in a channel starts a request."
            if active_filter == "all"
            else f"No requests are *{HOME_FILTERS.get(active_filter, ('this', None))[0].lower()}* right now."
        )
        blocks.append(_section(empty))
    for request in list(requests)[:HOME_LIMIT]:
        can_retry = is_admin or request.requester_id == viewer
        blocks.extend(
            _home_entry(request, catalogue=catalogue, show_requester=is_admin, can_retry=can_retry, now=now)
        )
    if len(requests) > HOME_LIMIT:
        blocks.append(
            _context(f"Showing the newest {HOME_LIMIT}. `/replica status <replica_id>` finds any other.")
        )
    blocks.append({"type": "divider"})
    blocks.append(_context(f"*Photo checklist:* {IMAGE_REQUIREMENTS} · `/replica help` for everything else"))
    return {
        "type": "home",
        "callback_id": "replica_home",
        "private_metadata": active_filter if active_filter in HOME_FILTERS else "all",
        "blocks": blocks[:100],
    }


def _home_entry(
    request: ReplicaRequest,
    *,
    catalogue: Catalogue,
    show_requester: bool,
    can_retry: bool,
    now: datetime | None,
) -> list[Block]:
    status = RequestStatus(request.status)
    head = f"*{escape(_clip(request.replica_name, 200))}* · {_STATUS_LABELS[status]}"
    if show_requester:
        head += f" · by <@{request.requester_id}>"
    lines = [head]
    if status == RequestStatus.TRAINING:
        lines.append(
            f"`{progress_bar(request.progress_percent)}` · "
            f"{elapsed(request.submitted_at or request.created_at, now)} so far (usually 3–4 h)"
        )
    elif status == RequestStatus.FAILED:
        entry = catalogue.lookup(request.error_code) if request.error_code else None
        if entry is not None:
            lines.append(f"*{escape(entry.title)}* — `/replica explain {entry.code}` says what to do")
        elif request.error_message:
            lines.append(f"Tavus said: {escape(_clip(request.error_message, 300))}")
    elif status == RequestStatus.SUBMIT_FAILED and request.submit_error:
        lines.append(escape(_clip(request.submit_error, 300)))
    section = _section("\n".join(lines))
    if can_retry and status in RETRYABLE and request.id is not None:
        section["accessory"] = retry_button(request.id)
    details = []
    if request.replica_id:
        details.append(f"`{request.replica_id}`")
    details.append(
        f"<!date^{int(request.created_at.timestamp())}^requested {{date_short_pretty}} {{time}}|requested>"
    )
    if request.channel_id.startswith(("C", "G")) and _CHANNEL_ID.match(request.channel_id):
        details.append(f"in <#{request.channel_id}>")
    return [section, _context(" · ".join(details))]


# --- issue 7: the offline photo check ----------------------------------------------------------------------


def _finding_lines(findings: Sequence[Finding], catalogue: Catalogue) -> list[Block]:
    """Each finding in the words and with the link the error catalogue uses for the matching Tavus code."""
    blocks: list[Block] = []
    for finding in findings:
        entry = catalogue.lookup(finding.code)
        if entry is None:
            blocks.append(_section(f"• {escape(_shorten(finding.detail, 300))}"))
            continue
        # The measured detail is ours, but keep it short so the catalogue's words always fit the block.
        blocks.append(_section(
            f"• *{escape(entry.title)}* — {escape(_shorten(finding.detail, 300))}\n{entry.explanation}\n"
            f"_Try:_ {entry.advice[0]} {link(entry.guideline_url, entry.guideline_label)}"
        ))
    return blocks[:20]


def photo_advisory(
    findings: Sequence[Finding], catalogue: Catalogue, request_id: int, rights_question: str | None
) -> Message:
    intro = _section(
        ":mag: Before spending a training run, I looked at the photo. Tavus will probably reject it:"
    )
    question = "Submit it anyway, or send another photo?"
    if rights_question:
        question = f"{rights_question} If so, you can submit it anyway — or send another photo."
    message = confirmation(
        question, request_id, confirm="Submit anyway", cancel="Use another photo",
        preface=[intro, *_finding_lines(findings, catalogue)],
    )
    summary = escape("; ".join(f.detail.rstrip(".") for f in findings))
    return Message(text=f"The photo check found: {summary}. {question}"[:3000], blocks=message.blocks)


def photo_refused(findings: Sequence[Finding], catalogue: Catalogue) -> Message:
    intro = _section(":no_entry: I did not send this to Tavus: the photo check found problems Tavus "
                     "rejects photos for. Please send another photo.")
    summary = escape("; ".join(f.detail.rstrip(".") for f in findings))
    return Message(text=f"I did not send this to Tavus: {summary}."[:3000],
                   blocks=[intro, *_finding_lines(findings, catalogue), _context(IMAGE_REQUIREMENTS)])
