"""What the error catalogue knows about one documented Tavus failure, and what it made of a message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    title: str
    tavus_message: str
    explanation: str
    advice: tuple[str, ...]
    guideline_url: str
    guideline_label: str
    # Video entries (`bot.domain.video_catalogue`): the support address the message names, if it names one.
    video: bool = False
    support_email: str | None = None


@dataclass(frozen=True)
class ExplainedError:
    raw: str
    code: str | None
    entry: CatalogueEntry | None

    @property
    def known(self) -> bool:
        return self.entry is not None
