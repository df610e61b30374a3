"""Showing a running sync's progress in a shell: a bar on a terminal, plain lines elsewhere.

`runner.sync_org` reports what its run writes (steps started and finished, the progress lines
the source logs) as `Progress` values; `ProgressDisplay` prints them.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Progress:
    """One thing worth telling about a running sync."""

    kind: str  # "step_started", "step_succeeded", "step_failed", "waiting", "log"
    step: str | None
    text: str
    steps_done: int
    steps_total: int


BAR_CELLS = 24
# Erase from the cursor to the end of the line (ANSI; every terminal emulator knows it).
ERASE_LINE = "\x1b[K"


class ProgressDisplay:
    """Shows a running sync's `Progress` in a shell; pass it as `on_progress`, then `close()`.

    On a terminal, one line at the bottom is redrawn in place: a bar of the steps done, the
    count, the time since the start, the running step and its latest news (the entity, page
    and rows the source is at, a retry, a wait for the warehouse). Each step that ends
    leaves a line above the bar, so the screen keeps a short history. Anywhere else (CI
    logs, pipes, files) every event is one plain line and nothing is redrawn, so a log reads
    top to bottom. Failures go to `err` in both cases.
    """

    def __init__(
        self,
        out: TextIO,
        err: TextIO | None = None,
        *,
        interactive: bool = False,
        columns: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`columns`: the terminal's width now (default: asked of the terminal at each
        redraw, so a resized window is followed); `clock`: seconds, for the elapsed time."""
        self._out = out
        self._err = err or out
        self._interactive = interactive
        self._columns = columns or _terminal_columns
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._step: str | None = None
        self._news = ""
        self._bar_shown = False

    @classmethod
    def for_shell(cls) -> ProgressDisplay:
        """On this process's stdout and stderr; a bar only when stdout is a terminal that
        can redraw a line (not `TERM=dumb`)."""
        interactive = _is_terminal(sys.stdout) and os.environ.get("TERM") != "dumb"
        return cls(sys.stdout, sys.stderr, interactive=interactive)

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._done, self._total = progress.steps_done, progress.steps_total
            if self._interactive:
                self._show_on_terminal(progress)
            else:
                self._show_as_line(progress)

    def close(self) -> None:
        """End the bar's line (a terminal keeps the last bar as the sync left it)."""
        with self._lock:
            if self._bar_shown:
                self._step, self._news = None, ""
                self._draw_bar()
                self._out.write("\n")
                self._out.flush()
                self._bar_shown = False

    # -- plain lines --------------------------------------------------------------------------
    def _show_as_line(self, progress: Progress) -> None:
        counter = f"[{progress.steps_done}/{progress.steps_total}]"
        indent = " " * len(counter)
        kind = progress.kind
        if kind == "step_started":
            self._line(f"{counter} {progress.step} ...")
        elif kind == "step_succeeded":
            self._line(f"{counter} {progress.step} done")
        elif kind == "step_failed":
            self._line(f"{counter} {progress.step} failed: {progress.text}", error=True)
        elif kind == "waiting":
            self._line(f"{indent} {progress.step}: {progress.text}")
        elif kind == "log":
            self._line(f"{indent} {news_text(progress.text)}")

    # -- the bar ------------------------------------------------------------------------------
    def _show_on_terminal(self, progress: Progress) -> None:
        kind = progress.kind
        counter = f"[{progress.steps_done}/{progress.steps_total}]"
        if kind == "step_started":
            self._step, self._news = progress.step, ""
        elif kind == "step_succeeded":
            self._above_bar(f"{counter} {progress.step} done")
            self._step, self._news = None, ""
        elif kind == "step_failed":
            self._above_bar(f"{counter} {progress.step} failed: {progress.text}", error=True)
            self._step, self._news = None, ""
        elif kind in ("waiting", "log"):
            self._step = progress.step or self._step
            self._news = news_text(progress.text)
        self._draw_bar()

    def _draw_bar(self) -> None:
        cells = BAR_CELLS * self._done // self._total if self._total else 0
        bar = "[" + "#" * cells + "-" * (BAR_CELLS - cells) + "]"
        elapsed = int(self._clock() - self._started)
        parts = [bar, f"{self._done}/{self._total}", f"{elapsed // 60}:{elapsed % 60:02d}"]
        if self._step:
            parts.append(f"{self._step}: {self._news}" if self._news else self._step)
        # One column short of the width: a full line would make the terminal wrap.
        line = _shorten(" ".join(parts), max(self._columns() - 1, 20))
        self._out.write(f"\r{line}{ERASE_LINE}")
        self._out.flush()
        self._bar_shown = True

    def _above_bar(self, text: str, *, error: bool = False) -> None:
        """A line that stays: the bar is erased, the line written, the bar drawn again."""
        if self._bar_shown:
            self._out.write(f"\r{ERASE_LINE}")
            self._out.flush()
            self._bar_shown = False
        self._line(text, error=error)

    def _line(self, text: str, *, error: bool = False) -> None:
        stream = self._err if error else self._out
        stream.write(text + "\n")
        stream.flush()


def news_text(text: str) -> str:
    """A forwarded log line without its logger's name (`qb_pipeline.sources.quickbooks: `)."""
    if text.startswith("qb_pipeline."):
        return text.split(": ", 1)[-1]
    return text


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _terminal_columns() -> int:
    return shutil.get_terminal_size(fallback=(80, 24)).columns


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
