"""The structure the code promises, checked: one owner for every status change, user wording only in the
rendering layer, small modules, a lifecycle picture that matches the lifecycle, and import contracts that
really fail when broken."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from bot.domain.batch import BATCH_TRANSITIONS
from bot.domain.transitions import TRANSITIONS, Transition
from bot.domain.try_face import CALL_TRANSITIONS, VIDEO_TRANSITIONS
from storage.batch_models import BatchStatus
from storage.job_models import CallStatus, VideoStatus
from storage.models import RequestStatus
from tests import architecture_doc
from tests.paths import REPO

APP_PACKAGES = ("bot", "handlers", "storage")
# The stand-ins are test doubles, not the app; migrations are generated.
NOT_THE_APP = (REPO / "bot" / "sandbox", REPO / "storage" / "migrations")
MAX_MODULE_LINES = 400


def modules(*, include_sandbox: bool = False) -> Iterator[Path]:
    for package in APP_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if include_sandbox or not any(part in path.parents for part in NOT_THE_APP):
                yield path


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# --- the lifecycles own every status change -------------------------------------------------------------

# The statements that write a status, by repository, and the one lifecycle that may call them: a request's,
# a sample video's or test call's, and a batch's.
STATUS_WRITERS = {
    "replica_requests": (
        {"transition", "insert", "insert_for_row", "remove", "group_inserter"}, "bot/domain/lifecycle.py"
    ),
    "face_jobs": ({"transition", "insert"}, "bot/domain/try_face/lifecycle.py"),
    "batches": ({"transition", "insert"}, "bot/domain/batch/lifecycle.py"),
}
# Every lifecycle's transition table, with the statuses it must reach; drawn in docs/architecture.md.
TABLES: list[tuple[tuple[Transition[Any], ...], type[StrEnum]]] = [
    (TRANSITIONS, RequestStatus),
    (VIDEO_TRANSITIONS, VideoStatus),
    (CALL_TRANSITIONS, CallStatus),
    (BATCH_TRANSITIONS, BatchStatus),
]


def _calls_to(module: str, names: set[str]) -> list[str]:
    return sorted(
        f"{relative(path)}:{node.lineno}"
        for path in modules()
        for node in ast.walk(tree(path))
        if isinstance(node, ast.Attribute)
        and node.attr in names
        and isinstance(node.value, ast.Name)
        and node.value.id == module
    )


@pytest.mark.parametrize("repository", sorted(STATUS_WRITERS))
def test_only_the_lifecycle_moves_a_request_or_a_job(repository: str) -> None:
    writers, lifecycle = STATUS_WRITERS[repository]
    callers = _calls_to(repository, writers)
    assert callers and all(c.startswith(f"{lifecycle}:") for c in callers), callers


def test_only_the_repositories_call_the_one_status_statement() -> None:
    callers = _calls_to("moves", {"compare_and_set"})
    owners = (
        "storage/repository/replica_requests.py:",
        "storage/repository/face_jobs.py:",
        "storage/repository/batches.py:",
    )
    assert callers and all(c.startswith(owners) for c in callers), callers


def _status_writes(path: Path) -> list[str]:
    """`x.status = …` assignments, and "status" keys or keywords outside a query (`where`, a filter)."""
    found: list[int] = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
                found.append(node.lineno)
        if isinstance(node, ast.Dict) and any(_is_status(k) for k in node.keys):
            found.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            found += [node.lineno for k in node.keywords if k.arg == "status"]
    return [f"{relative(path)}:{line}" for line in found]


def _is_status(key: ast.AST | None) -> bool:
    return isinstance(key, ast.Constant) and key.value == "status"


def test_no_status_is_written_outside_the_lifecycles_and_their_statement() -> None:
    # The lifecycles name the target of each move (and the first status of a new row); the one
    # compare-and-set in `storage.repository.moves` writes it. Outbox rows have a status of their own,
    # which only the outbox repository writes.
    owners = {
        "bot/domain/lifecycle.py",
        "bot/domain/try_face/lifecycle.py",
        "bot/domain/batch/lifecycle.py",
        "storage/repository/moves.py",
        "storage/repository/outbox.py",
    }
    assert [w for path in modules() if relative(path) not in owners for w in _status_writes(path)] == []
    # Within the statements' module, only the one statement sets it.
    statement = tree(REPO / "storage/repository/moves.py")
    writers = {
        function.name
        for function in ast.walk(statement)
        if isinstance(function, ast.FunctionDef)
        and any(_is_status(k) for d in ast.walk(function) if isinstance(d, ast.Dict) for k in d.keys)
    }
    assert writers == {"compare_and_set"}


@pytest.mark.parametrize(("table", "statuses"), TABLES, ids=lambda t: getattr(t, "__name__", ""))
def test_every_status_is_reachable_in_its_transition_table(
    table: tuple[Transition[Any], ...], statuses: type[StrEnum]
) -> None:
    targets = {t.target for t in table if t.target is not None}
    assert targets == set(statuses)
    names = [t.name for t in table]
    assert len(names) == len(set(names))


def test_the_lifecycle_pictures_are_drawn_from_the_tables() -> None:
    assert architecture_doc.committed() == architecture_doc.drawn(), (
        "docs/architecture.md no longer matches the transition tables: run `make diagram`"
    )
    names = [t.name for table, _ in TABLES for t in table]
    assert len(names) == len(set(names)), "a move's name must say which lifecycle it belongs to"
    for table, _ in TABLES:
        for transition in table:
            assert f": {transition.name} (" in architecture_doc.committed()


# --- words for people live in the rendering layer --------------------------------------------------------

# Where user wording may appear: the rendering layer, and the catalogue's plain-language explanations of
# Tavus' codes (its knowledge, which every renderer shares).
WORDING_HOMES = (
    REPO / "bot" / "slack" / "render",
    REPO / "bot" / "domain" / "catalogue.py",
    REPO / "bot" / "domain" / "video_catalogue.py",
    REPO / "bot" / "domain" / "video_specs.py",
)
# Text only a message to a person has: Slack emoji and mentions, or asking them to do something.
ADDRESSES_A_PERSON = re.compile(r":[a-z_]+:|<[@#!]|\bPlease\b|\bplease\b|\byou\b|\bYou\b|\byour\b")


def _is_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if not isinstance(parent, ast.Expr):
        return False
    return isinstance(parents.get(parent), ast.Module | ast.ClassDef | ast.FunctionDef)


# Calls whose text is not for a person in Slack: logs, the operator's configuration errors, patterns.
NOT_FOR_PEOPLE = {"debug", "info", "warning", "error", "exception", "SettingsError", "ValueError", "compile"}


def _not_for_people(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while (node := parents.get(node)) is not None:
        if isinstance(node, ast.Call):
            func = node.func
            if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) in NOT_FOR_PEOPLE:
                return True
    return False


def test_user_wording_is_only_in_the_rendering_layer() -> None:
    offenders = []
    for path in modules():
        if any(home == path or home in path.parents for home in WORDING_HOMES):
            continue
        module = tree(path)
        parents = {child: parent for parent in ast.walk(module) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ADDRESSES_A_PERSON.search(node.value)
                and not _is_docstring(node, parents)
                and not _not_for_people(node, parents)
            ):
                offenders.append(f"{relative(path)}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


# --- small modules ---------------------------------------------------------------------------------------


def test_no_module_outside_the_sandbox_is_over_400_lines() -> None:
    long = {
        relative(path): n
        for path in modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


# --- the import contracts bite ---------------------------------------------------------------------------

VIOLATIONS = {
    # file to append to: (the import that breaks a contract, the contract's name as lint-imports prints it)
    "handlers/commands/replica.py": ("from storage.repository import replica_requests", "Listeners reach"),
    "bot/domain/access.py": ("import slack_sdk", "The domain, the photo checks"),
    "storage/models.py": ("import bot.domain.lifecycle", "Layers"),
    "bot/slack/render/blocks.py": ("import bot.sandbox.slack_fake", "Nothing outside the sandbox"),
    "bot/slack/delivery.py": ("import sqlalchemy", "Every SQL statement"),
    "bot/photos/download.py": ("import bot.tavus", "Layers"),
}


def test_the_import_contracts_hold() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_import_contract_fails_when_broken(tmp_path: Path) -> None:
    for package in APP_PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for file, (line, _) in VIOLATIONS.items():
        with (tmp_path / file).open("a", encoding="utf-8") as handle:
            handle.write(f"\n{line}  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    report = " ".join(result.stdout.split())
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    names = [contract["name"] for contract in config["tool"]["importlinter"]["contracts"]]
    verdicts = {name: re.search(rf"{re.escape(name)} (KEPT|BROKEN)", report) for name in names}
    for file, (line, contract) in VIOLATIONS.items():
        (name,) = [n for n in names if n.startswith(contract)]
        verdict = verdicts[name]
        assert verdict is not None and verdict.group(1) == "BROKEN", (name, result.stdout)
        importer = file.removesuffix(".py").replace("/", ".")
        assert f"{importer} -> {line.split()[1]}" in report, (importer, result.stdout)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("lint-imports")
    if not executable.exists():
        pytest.fail(f"import-linter is not installed next to {sys.executable} (make test installs it)")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(executable), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
