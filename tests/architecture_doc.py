"""The lifecycle diagram in docs/architecture.md is drawn from the lifecycle's own transition table;
`make diagram` redraws it, and tests/unit/test_architecture.py fails when the drawing is out of date."""

from __future__ import annotations

from bot.domain.transitions import state_diagram
from tests.paths import DOCS

ARCHITECTURE = DOCS / "architecture.md"
BEGIN = "<!-- lifecycle diagram: drawn by `make diagram` from bot/domain/lifecycle.py; do not edit -->"
END = "<!-- end of lifecycle diagram -->"


def drawn() -> str:
    return f"{BEGIN}\n```mermaid\n{state_diagram()}\n```\n{END}"


def committed() -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def write() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    ARCHITECTURE.write_text(text.replace(committed(), drawn()), encoding="utf-8")


if __name__ == "__main__":
    write()
