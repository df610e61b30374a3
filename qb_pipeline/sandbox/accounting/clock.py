"""Company time: the emulator's shifted clock and QuickBooks' timestamp formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

MONTH_NAMES: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


def format_timestamp(moment: datetime) -> str:
    """QBO's MetaData time format: seconds precision with the company's offset."""
    return moment.isoformat(timespec="seconds")


def format_time_millis(moment: datetime) -> str:
    """The top-level `time` member: milliseconds with the company's offset."""
    return moment.isoformat(timespec="milliseconds")


class EmulatorClock:
    """Real time shifted so that it starts at noon UTC of the emulator's `today`.

    Noon, not the real time of day: every company's local date (UTC-11 to UTC+11) is then
    `today` at start, whatever the hour the emulator starts (a shift by whole days made a
    US company's date yesterday's when the emulator started before 08:00 UTC)."""

    def __init__(self, today: date | None = None) -> None:
        real = datetime.now(UTC)
        self._shift = timedelta(0)
        if today is not None:
            self._shift = datetime.combine(today, time(12), UTC) - real

    def now(self) -> datetime:
        return datetime.now(UTC) + self._shift
