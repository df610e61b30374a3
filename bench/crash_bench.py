"""Crash safety: `kill -9` a real `qb-pipeline sync` at random moments, sync again, compare.

    bench/run crash [--trials N] [--seed S] [--moments a,b,...] [--refresh-trials M]
                    [--refresh-window K] [--no-full-disk] [--keep]

Harness in tests/crash/harness.py (its docstring says what is compared and what is ignored).
On a private emulator (small company, limits off):

1. a clean sync of a new QBP_HOME: the reference, table by table (warehouse and serving copy);
2. N trials, the moments taken in turn from --moments (default: all of them), each with a random
   extra delay from the seed; odd trials kill the first sync of a new home, even ones a sync of
   a copy of the clean home (the nightly case). After each kill the abandoned-runs and schedule
   sensors are evaluated as the daemon would (the run must end failed, no entry stay running,
   the schedule must request the organization's sync), then a normal `qb-pipeline sync` must
   succeed and the warehouse and serving copy must equal the clean ones;
3. a full disk: a sync with an 8 MB file size limit (RLIMIT_FSIZE) must fail with one line and
   store that line, and the next sync must recover exactly;
4. M kills of a process refreshing its tokens in a loop under strict rotation (a second
   emulator, `--strict-rotation`): lost connections out of M; and the time between the token
   endpoint's answer and the durable COMMIT over K refreshes (median, p95, max).

Exit status 1 when any trial failed. Takes about a minute per trial on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from tests.crash.harness import (  # noqa: E402
    MOMENTS,
    contents,
    crash_trial,
    differences,
    full_disk_trial,
    lab,
    other_writer,
    refresh_kill_trials,
    refresh_windows,
    run_sync,
)

FULL_DISK_LIMIT = 8 * 1024 * 1024


def sync_trials(
    args: argparse.Namespace, names: list[str], rng: random.Random, folder: Path
) -> int:
    """The kill -9 trials and the full disk; returns the number that failed."""
    failures = 0
    with lab(folder / "sync") as syncs:
        clean_home = syncs.new_home("clean")
        started = time.monotonic()
        clean_sync = run_sync(clean_home)
        if clean_sync.returncode != 0:
            print("\n".join(clean_sync.output[-20:]))
            raise SystemExit("the clean sync failed")
        clean = contents(clean_home.warehouse)
        rows = sum(len(r) for r in clean.values())
        print(f"clean sync: {clean_sync.seconds:.1f} s, {len(clean)} tables, {rows:,} rows")
        assert not differences(clean, contents(clean_home.serving)), "serving != warehouse"
        print(
            f"\n{'#':>3} {'mode':<6} {'moment':<15} {'killed at':>9} {'run before':<11} "
            f"{'after':<8} {'entry':<9} {'next':>6}  result"
        )
        for number in range(1, args.trials + 1):
            moment = MOMENTS[names[(number - 1) % len(names)]]
            mode = "first" if number % 2 else "later"
            home = (
                syncs.new_home(f"trial-{number}")
                if mode == "first"
                else clean_home.copy_to(folder / "sync" / f"trial-{number}")
            )
            trial = crash_trial(home, moment, clean, rng, mode)
            failures += not trial.passed
            after = trial.after_kill
            killed_at = f"{trial.killed.seconds:.1f} s" if trial.killed.killed else "ended"
            print(
                f"{number:>3} {mode:<6} {moment.name:<15} {killed_at:>9} "
                f"{after.status_before or '-':<11} {after.killed_run_status or '-':<8} "
                f"{after.killed_entry_status or '-':<9} {trial.next_sync.seconds:>5.1f}s  "
                + ("ok" if trial.passed else "FAILED: " + "; ".join(trial.problems)),
                flush=True,
            )
            if trial.passed and not args.keep:
                shutil.rmtree(home.path, ignore_errors=True)
        print(
            f"\nkill -9 trials: {args.trials - failures}/{args.trials} recovered exactly "
            f"({time.monotonic() - started:.0f} s in all)"
        )
        if not args.no_full_disk:
            disk = full_disk_trial(syncs.new_home("full-disk"), clean, FULL_DISK_LIMIT)
            failures += bool(disk.problems)
            print(
                f"full disk (file size limit {FULL_DISK_LIMIT // 2**20} MB): exit "
                f"{disk.limited.returncode}, {len(disk.limited.stderr_lines)} stderr "
                f"line(s), stored message {len(disk.stored_message or '')} characters; "
                f"next sync exit {disk.next_sync.returncode}: "
                + ("ok" if not disk.problems else "FAILED: " + "; ".join(disk.problems))
            )
            for line in disk.limited.stderr_lines:
                print(f"  stderr: {line}")
    return failures


def refresh_figures(args: argparse.Namespace, rng: random.Random, folder: Path) -> None:
    """The refresh window and the kills inside a refresh loop, with the control DB quiet and
    with another process writing it all along."""
    with lab(folder / "refresh", strict_rotation=True) as strict:
        home = strict.new_home("refresh")
        for busy in (False, True):
            label = "another writer busy" if busy else "control DB quiet"
            with other_writer(home, busy):
                if args.refresh_window:
                    windows = sorted(refresh_windows(home, args.refresh_window))
                    p95 = windows[min(len(windows) - 1, int(len(windows) * 0.95))]
                    print(
                        f"[{label}] answer -> durable COMMIT over {len(windows)} refreshes: "
                        f"median {statistics.median(windows):.2f} ms, mean "
                        f"{statistics.mean(windows):.2f} ms, p95 {p95:.2f} ms, "
                        f"max {windows[-1]:.2f} ms"
                    )
                if args.refresh_trials:
                    kills = refresh_kill_trials(strict, home, args.refresh_trials, rng)
                    print(
                        f"[{label}] kill -9 inside a refresh loop (strict rotation): "
                        f"{kills.lost}/{kills.trials} connections lost "
                        f"({100 * kills.lost / kills.trials:.0f}%)",
                        flush=True,
                    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--moments", default=",".join(MOMENTS), help="comma-separated names")
    parser.add_argument("--refresh-trials", type=int, default=30)
    parser.add_argument("--refresh-window", type=int, default=300, help="refreshes timed")
    parser.add_argument("--no-full-disk", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    names = [name.strip() for name in args.moments.split(",") if name.strip()]
    unknown = [name for name in names if name not in MOMENTS]
    if unknown:
        parser.error(f"unknown moment(s) {', '.join(unknown)}; known: {', '.join(MOMENTS)}")
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="qbp-crash-"))
    failures = 0
    try:
        if args.trials or not args.no_full_disk:
            failures += sync_trials(args, names, rng, folder)
        if args.refresh_trials or args.refresh_window:
            refresh_figures(args, rng, folder)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
