"""What asks the requester something: the `/replica create` form, the rights and consent questions, and
the offline photo check's advisory with "Submit anyway" / "Use another photo"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.catalogue import Catalogue
from bot.domain.requests import Question
from bot.photos.offline_check import Finding
from bot.slack.ids import CANCEL_ACTION, CONFIRM_ACTION, MODAL_CALLBACK_ID
from bot.slack.render.answers import voice_description
from bot.slack.render.blocks import Block, Message, button, context, escape, link, section, shorten
from bot.slack.render.photos import IMAGE_REQUIREMENTS, finding_detail

RIGHTS_TEXT = "I have the rights to use this person's likeness (and they agreed) for a replica."
MAX_SELECT_OPTIONS = 100
QUESTIONS = {
    Question.RIGHTS: (
        "Before I send this to Tavus: do you have the rights to use this person's likeness for a replica "
        "(it is you, or they agreed to it)?"
    ),
    Question.VIDEO_CONSENT: (
        "You gave a training video without a consent video. Tavus then needs the training video itself to "
        "open with the spoken consent statement from the person in it. Does it, and do you have the rights "
        "to use this person's likeness?"
    ),
}
# Form fields the requester must fix, and what to say next to each.
FIELD_ERRORS = {
    "rights": "Please confirm you have the rights to use this likeness.",
    "photo": "Attach one JPG or PNG headshot.",
    "voice": "Pick one of the stock voices.",
}
TAVUS_PASSED_NOTE = "Tavus' own image check passed this photo, so these are only my doubts; you decide."
SUBMITTING = "Thanks — submitting it to Tavus now."
CANCELLED = (
    "Nothing was sent to Tavus. Send another photo whenever you're ready: mention me "
    "with it, DM it to me, or use `/replica create`."
)


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
        photo = section(f":frame_with_picture: Photo: *{escape(file_name)}* (from the message)")
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
            section(
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
            context(IMAGE_REQUIREMENTS),
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
    value = str(request_id)
    return Message(
        text=question,
        blocks=[
            *(preface or []),
            section(f":raised_hand: {question}"),
            {
                "type": "actions",
                "elements": [
                    button(confirm, CONFIRM_ACTION, value, primary=True),
                    button(cancel, CANCEL_ACTION, value),
                ],
            },
        ],
    )


def question(asked: Question, request_id: int) -> Message:
    return confirmation(QUESTIONS[asked], request_id)


def _finding_lines(findings: Sequence[Finding], catalogue: Catalogue) -> list[Block]:
    """Each finding in the words and with the link the error catalogue uses for the matching Tavus code."""
    blocks: list[Block] = []
    for finding in findings:
        detail = escape(shorten(finding_detail(finding), 300))
        entry = catalogue.lookup(finding.code)
        if entry is None:
            blocks.append(section(f"• {detail}"))
            continue
        # The measured detail is ours, but keep it short so the catalogue's words always fit the block.
        blocks.append(section(
            f"• *{escape(entry.title)}* — {detail}\n{entry.explanation}\n"
            f"_Try:_ {entry.advice[0]} {link(entry.guideline_url, entry.guideline_label)}"
        ))
    return blocks[:20]


def _summary(findings: Sequence[Finding]) -> str:
    return escape("; ".join(finding_detail(f).rstrip(".") for f in findings))


def photo_advisory(
    findings: Sequence[Finding],
    catalogue: Catalogue,
    request_id: int,
    rights_question: Question | None = None,
    *,
    tavus_passed: bool = False,
) -> Message:
    intro = section(
        ":mag: Before spending a training run, I looked at the photo. Tavus will probably reject it:"
    )
    asked = "Submit it anyway, or send another photo?"
    if rights_question:
        asked = f"{QUESTIONS[rights_question]} If so, you can submit it anyway — or send another photo."
    message = confirmation(
        asked, request_id, confirm="Submit anyway", cancel="Use another photo",
        preface=[intro, *_finding_lines(findings, catalogue)],
    )
    if tavus_passed:
        # Both checks answer in this one message.
        message.blocks.append(context(TAVUS_PASSED_NOTE))
    text = f"The photo check found: {_summary(findings)}. {asked}"[:3000]
    return Message(text=text, blocks=message.blocks)


def photo_refused(findings: Sequence[Finding], catalogue: Catalogue) -> Message:
    intro = section(":no_entry: I did not send this to Tavus: the photo check found problems Tavus "
                    "rejects photos for. Please send another photo.")
    return Message(text=f"I did not send this to Tavus: {_summary(findings)}."[:3000],
                   blocks=[intro, *_finding_lines(findings, catalogue), context(IMAGE_REQUIREMENTS)])


def _voice_option(voice: str, descriptions: Mapping[str, str] | None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": {"type": "plain_text", "text": voice[:75]}, "value": voice[:150]}
    described = voice_description(voice, descriptions)
    if described:
        option["description"] = {"type": "plain_text", "text": shorten(described, 75)}
    return option
