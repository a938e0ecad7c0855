"""What the requester reads when Tavus' own image check failed their photo, before anything was submitted:
every failed check in the catalogue's words (or Tavus' own label where no documented code matches), what
the offline check measured for the same problem folded into the same line, and the three choices."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.catalogue import Catalogue
from bot.domain.image_checks import CheckResult, TavusVerdict
from bot.domain.requests import Question
from bot.photos.offline_check import Finding
from bot.slack.ids import PHOTO_ANOTHER_ACTION, PHOTO_ANYWAY_ACTION, PHOTO_FIX_ACTION
from bot.slack.render.blocks import Block, Message, button, context, escape, link, section, shorten
from bot.slack.render.photos import IMAGE_REQUIREMENTS, finding_detail

_RIGHTS = "If you have the rights to use this person's likeness (it is you, or they agreed),"


def tavus_refused(
    findings: Sequence[Finding],
    verdict: TavusVerdict,
    catalogue: Catalogue,
    request_id: int,
    question: Question | None = None,
) -> Message:
    """One message for both checks: Tavus' failed checks, then anything only the offline check saw."""
    intro = section(
        ":mag: Before spending a training run, I asked Tavus to check the photo. Tavus' own image check "
        "says it won't work, so *nothing was submitted*:"
    )
    lines, titles = _failed_lines(verdict.failed, findings, catalogue)
    confirmed = verdict.failed_codes()
    extra = [f for f in findings if f.code not in confirmed]
    if extra:
        lines.append(section("My own check also noticed:\n" + "\n".join(
            f"• {escape(shorten(finding_detail(f), 300))}" for f in extra
        )))
    fixable = verdict.fixable
    asked = (
        "Let Tavus fix it (its AI Image Fixer adjusts framing, pose, light and sharpness before training), "
        "use another photo, or submit this one anyway?"
        if fixable
        else "Use another photo, or submit this one anyway?"
    )
    if question is not None:
        asked = f"{_RIGHTS} {asked[0].lower()}{asked[1:]}"
    value = str(request_id)
    buttons: list[Block] = []
    if fixable:
        buttons.append(button("Let Tavus fix it", PHOTO_FIX_ACTION, value, primary=True))
    buttons.append(button("Use another photo", PHOTO_ANOTHER_ACTION, value, primary=not fixable))
    buttons.append(button("Submit anyway", PHOTO_ANYWAY_ACTION, value))
    blocks = [
        intro, *lines[:40], section(f":raised_hand: {asked}"), {"type": "actions", "elements": buttons},
        context(f"*Photo checklist:* {IMAGE_REQUIREMENTS}"),
    ]
    summary = "; ".join(titles) or "it did not pass"
    text = f"Tavus' image check failed this photo: {escape(summary)}. Nothing was submitted. {asked}"
    return Message(text=text[:3000], blocks=blocks)


def _failed_lines(
    failed: Sequence[CheckResult], findings: Sequence[Finding], catalogue: Catalogue
) -> tuple[list[Block], list[str]]:
    """A line per problem: checks naming the same documented code are said once, with what the offline
    check measured about it; a check no code matches is shown with Tavus' own label."""
    blocks: list[Block] = []
    titles: list[str] = []
    said: set[str] = set()
    for check in failed:
        entry = catalogue.lookup(check.code) if check.code else None
        if entry is None:
            label = escape(shorten(check.label or check.id, 200))
            titles.append(label)
            blocks.append(section(
                f"• *{label}* — Tavus' check did not pass this. "
                f"{link(catalogue.image_guideline_url, 'Tavus image requirements')}"
            ))
            continue
        if entry.code in said:
            continue
        said.add(entry.code)
        titles.append(entry.title)
        measured = [escape(shorten(finding_detail(f), 300)) for f in findings if f.code == entry.code]
        seen = f" — {' '.join(measured)}" if measured else ""
        blocks.append(section(
            f"• *{escape(entry.title)}*{seen}\n{entry.explanation}\n"
            f"_Try:_ {entry.advice[0]} {link(entry.guideline_url, entry.guideline_label)}"
        ))
    if not failed:
        blocks.append(section(
            "• Tavus' check did not pass the photo, without saying which requirement it missed. "
            f"{link(catalogue.image_guideline_url, 'Tavus image requirements')}"
        ))
    return blocks, titles
