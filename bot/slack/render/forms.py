"""What asks the requester something: the `/replica create` form, the rights and consent questions, and
the offline photo check's advisory with "Submit anyway" / "Use another photo"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.catalogue import Catalogue
from bot.domain.requests import Question
from bot.photos.offline_check import Finding
from bot.slack.ids import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    LIKENESS_BLOCK_PREFIX,
    LIKENESS_COLLEAGUE_ACTION,
    LIKENESS_OUTSIDE_ACTION,
    MODAL_CALLBACK_ID,
)
from bot.slack.render.answers import voice_description
from bot.slack.render.blocks import Block, Message, button, context, escape, link, plain, section, shorten
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
    "depicted": "Pick the colleague in the photo (they are asked before anything is sent).",
}
# The form's answers to "Whose face is it?" (the values `Likeness` takes).
FACE_CHOICES = (
    ("self", "Me"),
    ("colleague", "A colleague (they are asked first)"),
    ("outside", "Someone outside this workspace / synthetic"),
)
TAVUS_PASSED_NOTE = "Tavus' own image check passed this photo, so these are only my doubts; you decide."
SUBMITTING = "Thanks — submitting it to Tavus now."
WITHDRAWN = "Cancelled: nothing was sent to Tavus, and the photo was deleted."
GOING_ON = "Thanks — noted. I'll go on with it and say here what happens next."
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
    faces: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The `/replica create` form. With `file_name`, the photo comes from a message (the shortcut); with
    `retry_of_name`, it retries a failed request: name and voice come prefilled, only the photo is new.
    `faces`: the answers to "Whose face is it?" to offer (none: the question is not asked)."""
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
    options = [voice_option(v, descriptions) for v in list(voices)[:MAX_SELECT_OPTIONS]]
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
            *_face_inputs(faces),
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


def _face_inputs(faces: tuple[str, ...]) -> list[Block]:
    if not faces:
        return []
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": value}
        for value, label in FACE_CHOICES
        if value in faces
    ]
    return [
        {
            "type": "input",
            "block_id": "likeness",
            "label": plain("Whose face is it?"),
            "element": {
                "type": "radio_buttons",
                "action_id": "value",
                "options": options,
                "initial_option": options[0],
            },
        },
        {
            "type": "input",
            "block_id": "depicted",
            "optional": True,
            "label": plain("The colleague in the photo"),
            "hint": plain("They get a DM to allow or decline; nothing reaches Tavus before they allow it."),
            "element": {"type": "users_select", "action_id": "value", "placeholder": plain("Pick a person")},
        },
    ]


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
    if asked == Question.WHOSE_FACE:
        return whose_face_question(request_id, (), None, outside="approve")
    return confirmation(QUESTIONS[asked], request_id)


def finding_lines(findings: Sequence[Finding], catalogue: Catalogue) -> list[Block]:
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
        preface=[intro, *finding_lines(findings, catalogue)],
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
                   blocks=[intro, *finding_lines(findings, catalogue), context(IMAGE_REQUIREMENTS)])


def voice_option(voice: str, descriptions: Mapping[str, str] | None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": {"type": "plain_text", "text": voice[:75]}, "value": voice[:150]}
    described = voice_description(voice, descriptions)
    if described:
        option["description"] = {"type": "plain_text", "text": shorten(described, 75)}
    return option


WHOSE_FACE = (
    "Whose face is this? Before anything goes to Tavus I need to know — and your answer is your word that "
    "you have the rights to use it."
)
COLLEAGUE_HINT = (
    "A colleague is asked in a DM first: nothing of the photo reaches Tavus, not even its image check, "
    "until they allow it."
)
OUTSIDE_NEEDS_APPROVAL = "Someone outside this workspace (or a synthetic character) needs an approver's yes."


def whose_face_question(
    request_id: int, findings: Sequence[Finding], catalogue: Catalogue | None, *, outside: str
) -> Message:
    """The three answers, with the photo check's doubts above them when it had any. `outside` is
    LIKENESS_OUTSIDE: with `deny`, that answer is not offered."""
    value = str(request_id)
    blocks: list[Block] = []
    if findings and catalogue is not None:
        blocks.append(section(
            ":mag: Before spending a training run, I looked at the photo. Tavus may reject it:"
        ))
        blocks += finding_lines(findings, catalogue)
        blocks.append(context("If you go on, these doubts are yours to accept; or send another photo."))
    blocks.append(section(f":raised_hand: {WHOSE_FACE}"))
    elements: list[Block] = [
        # "Yes" to the rights question it replaces, so the answer is the same click.
        button("This is me", CONFIRM_ACTION, value, primary=True),
        {
            "type": "users_select",
            "action_id": LIKENESS_COLLEAGUE_ACTION,
            "placeholder": plain("A colleague…"),
        },
    ]
    if outside != "deny":
        elements.append(button("Someone outside / synthetic", LIKENESS_OUTSIDE_ACTION, value))
    elements.append(button("Cancel", CANCEL_ACTION, value))
    blocks.append({"type": "actions", "block_id": f"{LIKENESS_BLOCK_PREFIX}{value}", "elements": elements})
    hints = [COLLEAGUE_HINT]
    if outside == "approve":
        hints.append(OUTSIDE_NEEDS_APPROVAL)
    blocks.append(context(" ".join(hints)))
    return Message(text=WHOSE_FACE, blocks=blocks)
