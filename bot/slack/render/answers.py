"""Replies to the `/replica` subcommands and to messages that ask for help: quick, read-only, ephemeral."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.catalogue import DEFAULT_DOCS_BASE_URL, Catalogue, CatalogueEntry
from bot.domain.video_catalogue import (
    CONSENT_MISMATCH,
    CONSENT_STATEMENT,
    VIDEO_REQUIREMENTS,
    support_address,
    tavus_key,
)
from bot.slack.render import stages
from bot.slack.render.batch_posts import batch_line
from bot.slack.render.blocks import date, escape, link, shorten
from bot.slack.render.card import progress_bar, reported_code, status_label
from bot.slack.render.photos import IMAGE_REQUIREMENTS
from bot.slack.render.refusals import submit_error_text
from storage.models import ReplicaRequest, RequestStatus
from storage.repository.batches import BatchView

USAGE = (
    '`/replica create <image-url> voice=anna name="Ana Demo"` — request a replica from a headshot\n'
    '`/replica create video=<url> consent=<url> name="Ana"` — request one from a training video\n'
    "`model=phoenix-4.5` (or `phoenix-4`, `phoenix-3` for video) on either picks the Tavus model\n"
    "`for=@ana` says whose face it is (they are asked in a DM before anything reaches Tavus); "
    "`for=me`, or `for=outside` for someone outside this workspace or a synthetic character\n"
    "`/replica batch` — onboard a whole team at once: a CSV or up to 10 photos, checked, then one *Submit*\n"
    "`/replica status <replica_id or batch id>` — where a request (or a batch) stands\n"
    "`/replica list` — your recent requests\n"
    "`/replica delete <replica_id>` — delete a replica in Tavus (kept an hour after a failure)\n"
    "`/replica video <face_id> [script]` — a short sample video of a finished face, in its thread\n"
    "`/replica talk <face_id>` — a short test call with it (the link comes only to you)\n"
    "`/replica explain <ErrorCode, video error type or text>` — what a Tavus error means and what to do\n"
    "`/replica errors` — every error Tavus documents\n"
    "`/replica voices` — the stock voices\n"
    "`/replica audit [@person]` — who asked for whose face, and who allowed or approved it (admins)\n"
    "`/replica forget @person` — (admins) remove a person's photos and details from replica-bot\n"
    "`/replica help` — this message"
)
IMAGE_GUIDE_PATH = "/sections/replica/train-with-an-image"
FAQ_PATH = "/sections/replica/replica-faqs"

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
        "*Training time:* usually 3–4 hours; with `model=phoenix-4.5` a usable, watermarked preview comes "
        "within minutes and tuning then takes a few hours. I let you know in the thread when it finishes, "
        "and your requests are on my *Home* tab. If it fails, I say why, with a button to retry.\n"
        f"*More:* {link(docs + IMAGE_GUIDE_PATH, 'Tavus image requirements')} · "
        f"{link(docs + FAQ_PATH, 'Tavus replica FAQ')}"
    )


def voice_description(voice: str, descriptions: Mapping[str, str] | None = None) -> str | None:
    return (descriptions or {}).get(voice) or STOCK_VOICE_DESCRIPTIONS.get(voice)


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


def explain_entry(entry: CatalogueEntry, raw: str | None = None) -> str:
    """One catalogue entry in full; `raw` is the text someone pasted, which may name another address."""
    steps = list(entry.advice)
    if entry.support_email is not None:
        steps.append(f"Tavus support: {support_address(raw, entry.support_email)}, with the replica id.")
    advice = "\n".join(f"• {step}" for step in steps)
    extra = ""
    if entry.code == CONSENT_MISMATCH:
        extra += f"*The consent statement*, word for word, with your full name:\n> {CONSENT_STATEMENT}\n"
    if entry.video:
        extra += f"*Video requirements:* {VIDEO_REQUIREMENTS}\n"
    if entry.video:
        head = f"Video training error `{tavus_key(entry.code)}` — *{entry.title}*"
    else:
        head = f"*{entry.code}* — {entry.title}"
    return (
        f"{head}\n{entry.explanation}\n*What to do next*\n{advice}\n{extra}"
        f"<{entry.guideline_url}|{entry.guideline_label}>"
    )


def explain_unknown(code: str, catalogue: Catalogue) -> str:
    known = ", ".join(f"`{e.code}`" for e in catalogue.entries())
    video = ", ".join(sorted({f"`{tavus_key(e.code)}`" for e in catalogue.video_entries()}))
    return (
        f"`{escape(shorten(code, 200))}` is not an error Tavus documents. Known image codes: {known}. "
        f"Video error types: {video} (or paste the text Tavus sent)."
    )


def errors_message(catalogue: Catalogue) -> str:
    image = "\n".join(f"• `{e.code}` — {e.title}" for e in catalogue.entries())
    video = "\n".join(f"• `{e.code}` — {e.title}" for e in catalogue.video_entries())
    return (
        "Errors Tavus reports for image training (`/replica explain <code>` for details):\n"
        f"{image}\n\nErrors Tavus reports for video training (`/replica explain <type>`, or paste the "
        f"text Tavus sent):\n{video}"
    )


def status_line(request: ReplicaRequest) -> str:
    parts = [f"*{escape(request.replica_name)}*", status_label(request)]
    if request.replica_id:
        parts.append(f"`{request.replica_id}`")
    if request.status == RequestStatus.TRAINING:
        parts.append(progress_bar(request.progress_percent))
    elif request.status == RequestStatus.PREVIEW_READY:
        parts.append("usable now, with a watermark, while tuning goes on (a few hours)")
    code = reported_code(request)
    if code:
        parts.append(f"`{escape(code)}`")
    if request.submit_error:
        parts.append(escape(submit_error_text(request.submit_error)))
    parts.append(date(request.created_at.timestamp(), "{date_short_pretty} {time}", "requested"))
    return " · ".join(parts)


def list_message(requests: Sequence[ReplicaRequest], batches: Sequence[BatchView] = ()) -> str:
    listed = "\n".join(f"• {batch_line(b)}" for b in batches)
    of_batches = ""
    if batches:
        of_batches = f"\nYour recent batches (`/replica status <batch id>` lists every row):\n{listed}"
    if not requests:
        nothing = "You have no replica requests yet. Start with `/replica create <image-url> voice=anna`."
        return nothing + of_batches
    return "Your recent requests:\n" + "\n".join(f"• {status_line(r)}" for r in requests) + of_batches


def accepted_message(name: str, *, video: bool = False) -> str:
    what = "the video links" if video else "the photo"
    return f"Got it — checking {what} for *{escape(name)}* before sending it to Tavus…"


def looking_at_replica(replica_id: str) -> str:
    return f"Looking at replica `{escape(replica_id)}`…"


def deleted_message(replica_id: str, request: ReplicaRequest | None = None) -> str:
    done = f"Deleted replica `{escape(replica_id)}` in Tavus."
    note = stages.deleted_note(request) if request is not None else None
    return f"{done} {note}" if note else done


def upload_help(voices: Sequence[str]) -> str:
    return (
        "Attach a headshot to your message and I'll request a replica from it, e.g. "
        f'`create voice=anna name="Ana Demo"` with the photo attached.\n*Photo checklist:* '
        f"{IMAGE_REQUIREMENTS}\n*Voices:* {', '.join(voices)}"
    )


def which_one(subcommand: str) -> str:
    """The answer to `status`, `delete` or `explain` without its argument."""
    if subcommand == "explain":
        return (
            "Which error? Try `/replica explain ImageQualityError`, `/replica explain video_fps`, paste "
            "the text Tavus sent, or `/replica errors` for the list."
        )
    if subcommand == "status":
        return "Which replica? Try `/replica status r90bbd427f71`, or `/replica list` for yours."
    if subcommand in ("video", "talk"):
        script = " [script]" if subcommand == "video" else ""
        return f"Which face? Try `/replica {subcommand} r90bbd427f71{script}`, or `/replica list` for yours."
    return f"Which replica? Try `/replica {subcommand} r90bbd427f71`."


def no_photo_in_message() -> str:
    return "That message has no photo. Use the shortcut on a message with a JPG or PNG headshot."
