"""A failed video training explained in the thread: what Tavus' text means, what to change in the next
recording, the video requirements, and for the two special cases the consent statement to read out (with
the requester's name in it) or the support address Tavus' message names."""

from __future__ import annotations

from bot.domain.catalogue import CatalogueEntry, ExplainedError
from bot.domain.video_catalogue import (
    CONSENT_MISMATCH,
    VIDEO_REQUIREMENTS,
    consent_statement,
    support_address,
    tavus_key,
)
from bot.slack.render.blocks import Block, context, escape, section, shorten

# Tavus' own words are quoted after ours; a runaway message must not crowd them out of the post.
_QUOTED_CHARS = 600


def consent_block(replica_name: str) -> Block:
    statement = consent_statement(escape(replica_name))
    return section(
        "*Open the new recording with this statement*, read aloud word for word while looking at the camera "
        f"(put your own full name in it if it differs):\n> {statement}"
    )


def requirements_block() -> Block:
    return context(f":movie_camera: *Video requirements:* {VIDEO_REQUIREMENTS}")


def video_failure_blocks(
    mention: str, replica_name: str, replica_id: str | None, explained: ExplainedError, entry: CatalogueEntry
) -> list[Block]:
    name = escape(replica_name)
    advice = [f"• {step}" for step in entry.advice]
    if entry.support_email is not None:
        address = support_address(explained.raw, entry.support_email)
        advice.append(f"• Tavus support: {address} (quote replica id `{replica_id}`)")
    blocks = [
        section(f"{mention} training for *{name}* failed: *{escape(entry.title)}*"),
        section(f"*What it means*\n{entry.explanation}"),
        section("*What to do next*\n" + "\n".join(advice)),
    ]
    if entry.code == CONSENT_MISMATCH:
        blocks.append(consent_block(replica_name))
    blocks.append(requirements_block())
    said = escape(shorten(explained.raw or entry.tavus_message, _QUOTED_CHARS))
    blocks.append(context(f"Tavus said (`{tavus_key(entry.code)}`): {said}"))
    return blocks
