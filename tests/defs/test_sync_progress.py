"""`qb-pipeline sync` shows a progress bar on a terminal (steps done of all, the running step,
the entity, page and rows the source is at) and plain lines anywhere else (CI logs, pipes),
so that a log reads top to bottom. The display on its own, then the real command in a
pseudo-terminal and in a pipe against the emulator."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qb_pipeline.defs import defs
from qb_pipeline.defs.jobs import QUICKBOOKS_SYNC
from qb_pipeline.sync.progress import ERASE_LINE, Progress, ProgressDisplay
from tests.conftest import TEST_TODAY
from tests.defs.conftest import ORG

QB_PIPELINE = Path(sys.executable).with_name("qb-pipeline")
REPO = Path(__file__).parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

PAGE_NEWS = "qb_pipeline.sources.quickbooks: Invoice: page 2 read, 2000 rows so far"
EVENTS = [
    Progress("step_started", "quickbooks_raw", "started", 0, 4),
    Progress("log", "quickbooks_raw", PAGE_NEWS, 0, 4),
    Progress("waiting", "quickbooks_raw", "waiting for the warehouse", 0, 4),
    Progress("step_succeeded", "quickbooks_raw", "done", 1, 4),
    Progress("step_started", "staging__pnl", "started", 1, 4),
    Progress("step_failed", "staging__pnl", "Binder Error: no such column", 2, 4),
]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def screen(raw: str) -> list[str]:
    """What a terminal shows for `raw`: carriage returns go back to the start of the line,
    ERASE_LINE clears the rest of it."""
    lines: list[str] = []
    current = ""
    for piece in re.split(r"(\r|\n|\x1b\[K)", raw):
        if piece == "\r":
            current = ""  # the next text overwrites from the start (then ERASE_LINE)
        elif piece == "\n":
            lines.append(current)
            current = ""
        elif piece == ERASE_LINE:
            continue
        else:
            current += piece
    if current:
        lines.append(current)
    return lines


# -- the display on its own ------------------------------------------------------------------
def test_without_a_terminal_every_event_is_one_plain_line():
    out, err = io.StringIO(), io.StringIO()
    display = ProgressDisplay(out, err, interactive=False)
    for event in EVENTS:
        display(event)
    display.close()

    assert out.getvalue().splitlines() == [
        "[0/4] quickbooks_raw ...",
        "      Invoice: page 2 read, 2000 rows so far",
        "      quickbooks_raw: waiting for the warehouse",
        "[1/4] quickbooks_raw done",
        "[1/4] staging__pnl ...",
    ]
    assert err.getvalue() == "[2/4] staging__pnl failed: Binder Error: no such column\n"
    assert "\r" not in out.getvalue()
    assert "\x1b" not in out.getvalue()


def test_on_a_terminal_one_bar_is_redrawn_with_the_step_and_the_sources_news():
    out, clock = io.StringIO(), Clock()
    display = ProgressDisplay(out, out, interactive=True, columns=lambda: 100, clock=clock)
    display(EVENTS[0])
    clock.now += 42
    display(EVENTS[1])

    assert out.getvalue().count("\n") == 0  # redrawn in place, nothing scrolled
    assert screen(out.getvalue()) == [
        "[------------------------] 0/4 0:42 quickbooks_raw: Invoice: page 2 read, 2000 rows so far"
    ]


def test_each_ended_step_stays_above_the_bar_and_a_failure_goes_to_stderr():
    out, err, clock = io.StringIO(), io.StringIO(), Clock()
    display = ProgressDisplay(out, err, interactive=True, columns=lambda: 100, clock=clock)
    for event in EVENTS[:5]:
        clock.now += 1
        display(event)
    assert screen(out.getvalue()) == [
        "[1/4] quickbooks_raw done",
        "[######------------------] 1/4 0:05 staging__pnl",
    ]
    clock.now += 61
    display(EVENTS[5])
    display.close()

    assert err.getvalue() == "[2/4] staging__pnl failed: Binder Error: no such column\n"
    assert screen(out.getvalue()) == [
        "[1/4] quickbooks_raw done",
        "[############------------] 2/4 1:06",
    ]
    assert out.getvalue().endswith("\n")  # the shell's prompt starts on its own line


def test_the_bar_line_never_wraps_a_narrow_terminal():
    out = io.StringIO()
    display = ProgressDisplay(out, interactive=True, columns=lambda: 50, clock=Clock())
    display(EVENTS[1])
    (line,) = screen(out.getvalue())
    assert len(line) == 49
    assert line.endswith("...")


def test_close_without_events_writes_nothing():
    out = io.StringIO()
    ProgressDisplay(out, interactive=True).close()
    assert out.getvalue() == ""


# -- the command, against the emulator --------------------------------------------------------
def steps() -> int:
    return len(defs.resolve_job_def(QUICKBOOKS_SYNC).graph.node_dict)


def sync_command() -> list[str]:
    return [str(QB_PIPELINE), "sync", "--org", ORG, "--today", TEST_TODAY.isoformat()]


def command_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TERM")}
    return {**env, **extra}


def run_in_terminal(columns: int) -> tuple[int, str]:
    """Run `qb-pipeline sync` with a pseudo-terminal as stdout and stderr; its exit code
    and everything it wrote to the terminal."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        sync_command(),
        cwd=REPO,
        env=command_env(TERM="xterm", COLUMNS=str(columns)),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    code = process.wait(timeout=300)
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.slow
def test_the_sync_command_draws_a_bar_on_a_terminal(connected):
    code, raw = run_in_terminal(columns=120)
    total = steps()

    assert code == 0, raw
    assert "\r[" in raw  # the bar is redrawn in place
    assert ERASE_LINE in raw
    shown = screen(raw)
    assert shown[0] == f"Syncing {ORG} ..."
    bars = [piece for piece in raw.split("\r") if re.match(r"\[[-#]+\] ", piece)]
    first_step = rf"\[-+\] 0/{total} \d+:\d\d quickbooks_raw: \w+: page 1 read, \d+ rows so far"
    assert any(re.match(first_step, bar) for bar in bars), bars
    assert any(re.fullmatch(rf"\[{total}/{total}\] \w+ done", line) for line in shown)
    assert re.fullmatch(rf"\[#{{24}}\] {total}/{total} \d+:\d\d", shown[-2]), shown[-3:]
    assert shown[-1].startswith(f"Sync of {ORG} succeeded:")
    assert all(len(ANSI.sub("", b.split("\n")[0])) < 120 for b in bars)


@pytest.mark.slow
def test_the_sync_command_writes_plain_lines_into_a_pipe(connected):
    done = subprocess.run(
        sync_command(),
        cwd=REPO,
        env=command_env(TERM="xterm"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Syncing {ORG} ..."
    total = steps()
    assert lines[1] == f"[0/{total}] quickbooks_raw ..."
    indent = " " * len(f"[0/{total}] ")
    assert any(re.fullmatch(rf"{indent}\w+: page 1 read, \d+ rows so far", ln) for ln in lines)
    assert any(re.fullmatch(rf"\[{total}/{total}\] \w+ done", line) for line in lines)
    assert lines[-1].startswith(f"Sync of {ORG} succeeded:")
    assert "\r" not in done.stdout
    assert "\x1b" not in done.stdout
