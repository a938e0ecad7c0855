"""The form behind "Retry with a new video": a failed video training needs a new recording (or a fixed
file), so the form asks for its link, says what the last one lacked, and repeats the video requirements;
for a consent mismatch it shows the statement to open the recording with."""

from __future__ import annotations

from typing import Any

from bot.domain.catalogue import CatalogueEntry
from bot.domain.video_catalogue import CONSENT_MISMATCH
from bot.slack.ids import VIDEO_RETRY_CALLBACK_ID
from bot.slack.render.blocks import Block, context, escape, plain, section
from bot.slack.render.video_failure import consent_block, requirements_block

VIDEO_RETRY_TITLE = "Retry with a new video"
VIDEO_RIGHTS_TEXT = "I have the rights to use this person's likeness (and they agreed)."
VIDEO_CONSENT_TEXT = "The video opens with their consent statement, or I give a consent video."
VIDEO_FIELD_ERRORS = {
    "video": "Paste a public http(s) link to the new MP4 recording.",
    "consent": "Paste a public http(s) link, or leave it empty.",
    "rights": "Please confirm you have the rights to use this likeness.",
}
_MAX_URL = 3000


def _url_input(block_id: str, label: str, *, initial: str | None, optional: bool, hint: str) -> Block:
    element: dict[str, Any] = {"type": "url_text_input", "action_id": "value"}
    if initial and len(initial) <= _MAX_URL and initial.startswith(("https://", "http://")):
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
        "hint": plain(hint),
    }


def video_retry_modal(
    *,
    private_metadata: str,
    name: str,
    failure: CatalogueEntry | None,
    consent_url: str | None,
) -> dict[str, Any]:
    why = f" (Tavus said: *{escape(failure.title)}*)" if failure is not None else ""
    intro = section(
        f":repeat: Retrying *{escape(name)}* with a new training video. Tavus could not use the last "
        f"one{why}, so a new recording (or a fixed file) is needed: record it, upload it where Tavus can "
        "download it, and paste the link below."
    )
    blocks: list[Block] = [intro]
    if failure is not None and failure.advice:
        blocks.append(context(f"_Try:_ {failure.advice[0]}"))
    blocks.append(requirements_block())
    if failure is not None and failure.code == CONSENT_MISMATCH:
        blocks.append(consent_block(name))
    name_input: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "max_length": 80}
    if name:
        name_input["initial_value"] = name[:80]
    blocks += [
        _url_input(
            "video",
            "New training video (link to the MP4)",
            initial=None,
            optional=False,
            hint="A direct public link Tavus can download, for example a presigned S3 URL.",
        ),
        _url_input(
            "consent",
            "Consent video (link, optional)",
            initial=consent_url,
            optional=True,
            hint="Leave empty if the training video itself opens with the consent statement.",
        ),
        {"type": "input", "block_id": "name", "label": plain("Replica name"), "element": name_input},
        {
            "type": "input",
            "block_id": "rights",
            "label": plain("Rights and consent"),
            "element": {
                "type": "checkboxes",
                "action_id": "value",
                "options": [
                    {
                        "text": plain(VIDEO_RIGHTS_TEXT),
                        "description": plain(VIDEO_CONSENT_TEXT),
                        "value": "affirmed",
                    }
                ],
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": VIDEO_RETRY_CALLBACK_ID,
        "private_metadata": private_metadata,
        "title": plain(VIDEO_RETRY_TITLE),
        "submit": plain("Submit"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }
