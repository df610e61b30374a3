"""The imports run one way (README, "Layout"): a room of the house never reaches back up.

    web, cli -> defs, sync -> sources -> quickbooks
    goals and warehouse read the databases only; nothing imports web; connections knows no
    Dagster definitions; the emulator and the pipeline never import each other.

Every import counts, at the top of a module or inside a function: a lazy import is still an
arrow. The few that the layout allows on purpose are listed with the reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "qb_pipeline"

# room -> rooms (and third-party top-level packages) it must not import.
FORBIDDEN: dict[str, set[str]] = {
    "quickbooks": {"connections", "sources", "sync", "defs", "goals", "warehouse", "web", "cli"},
    "sources": {"connections", "sync", "defs", "goals", "warehouse", "web", "cli", "dagster"},
    "connections": {"sources", "sync", "defs", "goals", "warehouse", "web", "cli"},
    "goals": {"quickbooks", "sources", "sync", "defs", "web", "cli", "dagster", "dlt"},
    "warehouse": {"quickbooks", "sources", "sync", "defs", "goals", "web", "cli", "dagster"},
    "sync": {"web", "cli", "goals"},
    "defs": {"web", "cli", "sandbox"},
    "web": {"defs", "cli", "sandbox", "dagster"},
    "alerts": {"quickbooks", "sources", "sync", "defs", "web", "cli", "dagster", "dlt"},
    "config": {"connections", "sources", "sync", "defs", "goals", "warehouse", "web", "cli"},
}
PIPELINE_ROOMS = {
    "alerts",
    "config",
    "quickbooks",
    "connections",
    "sources",
    "sync",
    "warehouse",
    "goals",
    "defs",
    "web",
    "cli",
    "demo",
    "file_locks",
    "sql_placeholders",
}
# Who may start the emulator: the demo and the command line's `sandbox serve`.
EMULATOR_USERS = {"demo", "cli"}
# (module, imported room): why the arrow is allowed.
ALLOWED = {
    # Reading a Dagster run's tags and events for the sync log, inside those functions only:
    # the web app imports this module and never loads Dagster.
    ("connections/sync_log.py", "dagster"),
    # `qb-pipeline sync` in a shell runs the job in process, and `dagster dev` for the demo.
    ("sync/runner.py", "defs"),
    ("sync/runner.py", "dagster"),
    ("sync/dagster_dev.py", "defs"),
}


@dataclass(frozen=True)
class Arrow:
    module: str  # path under qb_pipeline/
    target: str  # a room of qb_pipeline, or a third-party top-level package
    line: int
    at_top: bool


def room_of(module: str) -> str:
    return module.split("/")[0].removesuffix(".py")


def arrows(path: Path) -> Iterator[Arrow]:
    module = str(path.relative_to(PACKAGE))
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            target = parts[1] if parts[0] == "qb_pipeline" and len(parts) > 1 else parts[0]
            if parts[0] == "qb_pipeline" and target == room_of(module):
                continue
            yield Arrow(module, target, node.lineno, id(node) in top_level)


@cache
def all_arrows() -> tuple[Arrow, ...]:
    return tuple(arrow for path in sorted(PACKAGE.rglob("*.py")) for arrow in arrows(path))


def test_the_rooms_it_checks_exist() -> None:
    rooms = {room_of(str(p.relative_to(PACKAGE))) for p in PACKAGE.rglob("*.py")}
    assert set(FORBIDDEN) <= rooms
    assert rooms >= PIPELINE_ROOMS
    assert "sandbox" in rooms


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_no_import_runs_back_up(room: str) -> None:
    wrong = [
        f"{arrow.module}:{arrow.line} imports {arrow.target}"
        for arrow in all_arrows()
        if room_of(arrow.module) == room
        and arrow.target in FORBIDDEN[room]
        and (arrow.module, arrow.target) not in ALLOWED
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_web_app_but_the_command_line_and_the_demo() -> None:
    wrong = [
        f"{arrow.module}:{arrow.line}"
        for arrow in all_arrows()
        if arrow.target == "web" and room_of(arrow.module) not in {"cli", "demo"}
    ]
    assert not wrong, wrong


def test_the_emulator_and_the_pipeline_never_import_each_other() -> None:
    emulator_imports_pipeline = [
        f"{arrow.module}:{arrow.line} imports {arrow.target}"
        for arrow in all_arrows()
        if room_of(arrow.module) == "sandbox" and arrow.target in PIPELINE_ROOMS
    ]
    pipeline_imports_emulator = [
        f"{arrow.module}:{arrow.line}"
        for arrow in all_arrows()
        if arrow.target == "sandbox" and room_of(arrow.module) not in EMULATOR_USERS | {"sandbox"}
    ]
    assert not emulator_imports_pipeline, emulator_imports_pipeline
    assert not pipeline_imports_emulator, pipeline_imports_emulator


def test_the_allowed_lazy_dagster_import_stays_lazy() -> None:
    """connections/sync_log.py may read Dagster runs, but only from inside its functions."""
    at_top = [
        arrow.line
        for arrow in all_arrows()
        if arrow.module == "connections/sync_log.py" and arrow.target == "dagster" and arrow.at_top
    ]
    assert not at_top, f"connections/sync_log.py imports dagster at the top (line {at_top})"


def test_every_allowance_is_still_needed() -> None:
    used = {(arrow.module, arrow.target) for arrow in all_arrows()}
    assert not ALLOWED - used, f"allowed but no longer used: {sorted(ALLOWED - used)}"
