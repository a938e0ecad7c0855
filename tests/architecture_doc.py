"""The lifecycle diagrams in docs/architecture.md are drawn from the lifecycles' own transition tables (a
request's, a sample video's, a test call's, a batch's); `make diagram` redraws them, and
tests/unit/test_architecture.py fails when a drawing is out of date."""

from __future__ import annotations

from typing import Any, NamedTuple

from bot.domain.batch import BATCH_TRANSITIONS
from bot.domain.diagram import state_diagram
from bot.domain.transitions import TRANSITIONS, Transition
from bot.domain.try_face import CALL_TRANSITIONS, VIDEO_TRANSITIONS
from tests.paths import DOCS

ARCHITECTURE = DOCS / "architecture.md"


class Diagram(NamedTuple):
    name: str
    source: str
    table: tuple[Transition[Any], ...]
    # How the diagram calls the reply to whoever acted.
    answered: str

    @property
    def begin(self) -> str:
        return f"<!-- {self.name}: drawn by `make diagram` from {self.source}; do not edit -->"

    @property
    def end(self) -> str:
        return f"<!-- end of {self.name} -->"

    def drawn(self) -> str:
        picture = state_diagram(self.table, answered=self.answered)
        return f"{self.begin}\n```mermaid\n{picture}\n```\n{self.end}"

    def committed(self, text: str) -> str:
        start, end = text.index(self.begin), text.index(self.end) + len(self.end)
        return text[start:end]


JOBS = "bot/domain/try_face/lifecycle.py"
DIAGRAMS = (
    Diagram("lifecycle diagram", "bot/domain/lifecycle.py", TRANSITIONS, "reply to the requester"),
    Diagram("sample video diagram", JOBS, VIDEO_TRANSITIONS, "reply to the clicker"),
    Diagram("test call diagram", JOBS, CALL_TRANSITIONS, "reply to the clicker"),
    Diagram("batch diagram", "bot/domain/batch/lifecycle.py", BATCH_TRANSITIONS, "reply to the clicker"),
)


def drawn() -> str:
    return "\n".join(diagram.drawn() for diagram in DIAGRAMS)


def committed() -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    return "\n".join(diagram.committed(text) for diagram in DIAGRAMS)


def write() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    for diagram in DIAGRAMS:
        text = text.replace(diagram.committed(text), diagram.drawn())
    ARCHITECTURE.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write()
