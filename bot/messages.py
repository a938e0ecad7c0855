"""Every message the bot writes, in one place: text plus Block Kit, built from domain objects.

Anything a person typed is escaped before it is echoed, so a replica named `<!channel>` pings nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.catalogue import Catalogue, CatalogueEntry, ExplainedError
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
    "`/replica explain <ErrorCode>` — what a Tavus error means and what to do\n"
    "`/replica errors` — every error Tavus documents\n"
    "`/replica voices` — the stock voices\n"
    "`/replica help` — this message"
)

_STATUS_LABELS = {
    RequestStatus.SUBMITTING: ":hourglass_flowing_sand: Submitting to Tavus",
    RequestStatus.TRAINING: ":gear: Training",
    RequestStatus.COMPLETED: ":white_check_mark: Ready",
    RequestStatus.FAILED: ":x: Training failed — see the thread",
    RequestStatus.SUBMIT_FAILED: ":warning: Not submitted",
    RequestStatus.AWAITING_CONFIRMATION: ":raised_hand: Waiting for your confirmation",
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


def request_card(request: ReplicaRequest, now: datetime | None = None) -> Message:
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
        fields.append(f"*Elapsed*\n{elapsed(request.submitted_at or request.created_at, now)}")
    blocks: list[Block] = [
        _section(f":bust_in_silhouette: *Replica request: {name}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if source:
        label = "Training video" if request.train_video_url else "Photo"
        blocks.append(_context(f"{label}: {link(source, _shorten(source))}"))
    if status == RequestStatus.TRAINING:
        blocks.append(_context(TRAINING_HINT))
    elif status == RequestStatus.FAILED and request.error_code:
        blocks.append(_context(f"Tavus reported `{escape(request.error_code)}`. Details in the thread."))
    text = f"Replica request {name} by <@{request.requester_id}>: {_STATUS_LABELS[status]}"
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
    blocks.append({"type": "actions", "elements": [_link_button(label, url, "open_guideline")]})
    blocks.append(_context(f"Replica id `{request.replica_id}` · {CREDIT_NOTE}"))
    return Message(text=text, blocks=blocks)


def completion_post(request: ReplicaRequest) -> Message:
    mention = f"<@{request.requester_id}>"
    name = escape(request.replica_name)
    text = f"{mention} *{name}* is ready. Replica id `{request.replica_id}`."
    lines = [
        f":tada: {mention} *{name}* finished training and is ready to use.",
        f"Replica id: `{request.replica_id}` — use it to start a conversation (CVI) or to generate videos.",
    ]
    if request.thumbnail_video_url:
        lines.append(f"<{request.thumbnail_video_url}|Watch the preview>")
    return Message(text=text, blocks=[_section("\n".join(lines))])


def help_message(voices: Sequence[str], unknown: str | None = None) -> str:
    intro = f"I don't know `{escape(unknown)}`. Here is what I can do:\n" if unknown else ""
    return (
        f"{intro}*replica-bot* requests Tavus replicas and tells you in the thread how training went.\n"
        f"{USAGE}\n\n*Photo checklist:* {IMAGE_REQUIREMENTS}\n"
        f"*Voices:* {', '.join(voices)}\n*Training time:* usually 3–4 hours."
    )


def voices_message(voices: Sequence[str], default_voice: str | None) -> str:
    listed = "\n".join(f"• `{v}`" + (" (default)" if v == default_voice else "") for v in voices)
    return (
        "Stock voices for image-based replicas (Tavus does not clone a voice from a photo):\n"
        f"{listed}\nPick one with `voice=<name>`."
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


def accepted_message(name: str) -> str:
    return f"Got it — checking the photo for *{escape(name)}* before sending it to Tavus…"


def refused_message(reason: str) -> str:
    return f":warning: I did not send this to Tavus: {reason}\n*Photo checklist:* {IMAGE_REQUIREMENTS}"


def submit_failed_message(reason: str) -> str:
    return f":warning: I couldn't submit this to Tavus. {reason} Nothing was created; you can try again."


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
) -> dict[str, Any]:
    """The `/replica create` form. With `file_name`, the photo comes from a message (shortcut, retry)."""
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
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in voices]
    voice_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": options,
        "placeholder": {"type": "plain_text", "text": "Pick a stock voice"},
    }
    if voice in voices:
        voice_select["initial_option"] = options[list(voices).index(voice)]
    name_input: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "max_length": 80}
    if name:
        name_input["initial_value"] = name[:80]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Create a replica"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
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


def confirmation(question: str, request_id: int) -> Message:
    return Message(
        text=question,
        blocks=[
            _section(f":raised_hand: {question}"),
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "style": "primary",
                        "action_id": CONFIRM_ACTION,
                        "value": str(request_id),
                        "text": {"type": "plain_text", "text": "Yes — submit it"},
                    },
                    {
                        "type": "button",
                        "action_id": CANCEL_ACTION,
                        "value": str(request_id),
                        "text": {"type": "plain_text", "text": "Cancel"},
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
