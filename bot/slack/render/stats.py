"""The admins' App Home section on the checks before submission: how often the offline photo check and
Tavus' own image check agreed with what training then did."""

from __future__ import annotations

from bot.domain.catalogue import Catalogue
from bot.domain.verdict_stats import Agreement, VerdictStats
from bot.slack.render.blocks import Block, context, escape, section

_MAX_ROWS = 12


def agreement_text(agreement: Agreement) -> str:
    share = agreement.share
    if share is None:
        return "no finished requests yet"
    return f"{agreement.agreed} of {agreement.counted} ({share:.0%})"


def checks_section(stats: VerdictStats, catalogue: Catalogue) -> list[Block]:
    lines = [
        "*Checks before submission vs. training* (finished requests)",
        f"• Offline photo check agreed: {agreement_text(stats.offline)}",
        f"• Tavus' image check agreed: {agreement_text(stats.tavus)}",
    ]
    rows = [("Offline", kind, a) for kind, a in stats.offline_by_check.items()]
    rows += [("Tavus", _name(key, catalogue), a) for key, a in stats.tavus_by_check.items()]
    for source, name, agreement in rows[:_MAX_ROWS]:
        lines.append(f"    {source} · {escape(name)}: {agreement_text(agreement)}")
    return [
        section("\n".join(lines)),
        context("Per check: of the requests where it objected or training failed for its reason, how often "
                "both happened."),
    ]


def _name(key: str, catalogue: Catalogue) -> str:
    entry = catalogue.lookup(key)
    return entry.title if entry is not None else key
