"""The batch form (`/replica batch`, and "Retry the failed rows" with them filled in): one CSV, or up to
ten photos (one row each, named after its file unless renamed, one voice and model for all), or CSV rows
pasted in; and the replies when a batch is sent or cannot be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.batch import MAX_PHOTOS
from bot.domain.batch.problems import (
    BatchGone,
    BatchMovedOn,
    BatchNotYours,
    NotABatchApprover,
    NothingToSubmit,
)
from bot.slack.ids import BATCH_CALLBACK_ID
from bot.slack.render.batch import FORMAT_HINT
from bot.slack.render.blocks import Block, escape, plain, section
from bot.slack.render.forms import MAX_SELECT_OPTIONS, voice_option
from storage.batch_models import BatchStatus

# Slack's plain text inputs take at most 3,000 characters.
ROWS_MAX_CHARS = 3000
IMAGE_MODELS = ("phoenix-4", "phoenix-4.5")
BATCH_FIELD_ERRORS = {
    "file": "Attach one CSV, or up to 10 photos — or paste CSV rows below.",
    "mixed": "Attach one CSV, or up to 10 photos: not both, nor several CSVs.",
}


def batch_modal(
    voices: Sequence[str],
    *,
    private_metadata: str,
    voice: str | None = None,
    descriptions: Mapping[str, str] | None = None,
    rows: str | None = None,
    retry_of: str | None = None,
    max_rows: int = 500,
) -> dict[str, Any]:
    """The form; `rows` fills in the CSV rows (the failed rows of batch `retry_of`)."""
    intro = (
        f":repeat: The rows of batch `{escape(retry_of)}` that did not make it are filled in below: fix "
        "their links (or attach new photos instead) and send them again."
        if retry_of
        else ":package: Onboard a whole team at once: every row is checked first, and nothing is submitted "
        "before you click *Submit* on the batch's card."
    )
    rows_input: dict[str, Any] = {
        "type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": ROWS_MAX_CHARS,
    }
    if rows:
        rows_input["initial_value"] = _fitting(rows)
    options = [voice_option(v, descriptions) for v in list(voices)[:MAX_SELECT_OPTIONS]]
    voice_select: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    values = [o["value"] for o in options]
    if voice in values:
        voice_select["initial_option"] = options[values.index(voice)]
    models = [{"text": plain(m), "value": m} for m in IMAGE_MODELS]
    blocks: list[Block] = [
        section(intro),
        {
            "type": "input",
            "block_id": "file",
            "optional": True,
            "label": plain(f"A CSV, or up to {MAX_PHOTOS} photos"),
            "hint": plain(f"A CSV takes at most {max_rows} rows and 1 MB; each photo becomes one row."),
            "element": {
                "type": "file_input",
                "action_id": "files",
                "filetypes": ["csv", "jpg", "jpeg", "png"],
                "max_files": MAX_PHOTOS,
            },
        },
        {
            "type": "input",
            "block_id": "rows",
            "optional": True,
            "label": plain("Or paste CSV rows"),
            "hint": plain("A header row (name, photo, voice, model, for), then one row per face."),
            "element": rows_input,
        },
        {
            "type": "input",
            "block_id": "names",
            "optional": True,
            "label": plain("Names for the photos"),
            "hint": plain("One a line, in the photos' order; otherwise each is named after its file."),
            "element": {
                "type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 2000,
            },
        },
        {
            "type": "input", "block_id": "voice", "optional": True, "label": plain("Voice"),
            "hint": plain("For photos, and for CSV rows that name none."),
            "element": voice_select,
        },
        {
            "type": "input", "block_id": "model", "optional": True, "label": plain("Model"),
            "hint": plain("For photos, and for CSV rows that name none."),
            "element": {"type": "static_select", "action_id": "value", "options": models},
        },
        section(f"_{FORMAT_HINT}_"),
    ]
    return {
        "type": "modal",
        "callback_id": BATCH_CALLBACK_ID,
        "private_metadata": private_metadata,
        "title": plain("Retry the failed rows" if retry_of else "Onboard a team"),
        "submit": plain("Check them"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def _fitting(rows: str) -> str:
    """As many whole rows as the text input takes."""
    if len(rows) <= ROWS_MAX_CHARS:
        return rows
    kept: list[str] = []
    size = 0
    for line in rows.splitlines(keepends=True):
        if size + len(line) > ROWS_MAX_CHARS:
            break
        kept.append(line)
        size += len(line)
    return "".join(kept)


# --- refusals ----------------------------------------------------------------------------------------------

_MOVED_ON = {
    BatchStatus.CHECKING: "is still being checked",
    BatchStatus.AWAITING_APPROVAL: "was submitted already and waits for an approver",
    BatchStatus.SUBMITTED: "was submitted already",
    BatchStatus.FINISHED: "was submitted already and has ended",
    BatchStatus.CANCELLED: "was cancelled (or not approved)",
    BatchStatus.REFUSED: "could not be read",
}


BatchRefusal = BatchGone | BatchNotYours | BatchMovedOn | NothingToSubmit | NotABatchApprover


def batch_refusal_text(error: BatchRefusal) -> str:
    if isinstance(error, BatchGone):
        named = f" `{escape(error.public_id)}`" if error.public_id else ""
        return f"I can't find batch{named}. `/replica list` shows yours."
    if isinstance(error, BatchNotYours):
        return f"Only <@{error.requester_id}>, who sent this batch, or an admin can do that."
    if isinstance(error, BatchMovedOn):
        now = next((text for status, text in _MOVED_ON.items() if status == error.now), "has moved on")
        return f"This batch {now}: the first click counts, and nothing changed."
    if isinstance(error, NothingToSubmit):
        return "No row of this batch can be submitted: fix the rows that need attention and send them again."
    if error.own:
        return "You can't approve or deny your own batch: another approver has to decide it."
    return "Only an approver can approve or deny this batch."
