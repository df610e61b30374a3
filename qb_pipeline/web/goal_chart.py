"""The actual-vs-target chart of a goal, as inline SVG built on the server.

No JavaScript: the page's Content-Security-Policy allows no scripts, and a server-drawn
chart needs none. Colours and dash patterns come from classes in static/app.css (inline
`style` attributes would be blocked by the same policy). Every period gets exactly one
point, coloured and titled by its status; a period without data sits on the baseline as a
hollow point. The period in progress also gets its projection: a dotted line from its actual
to a hollow diamond coloured by its pace status. The table under the chart carries the same
figures for screen readers.

Any finite values draw: the axis is worked out in decimal arithmetic (`_Axis`), so values
near the float limits (±1.8e308), tiny ones (5e-324), negative ones and all-equal ones give
a few gridlines and coordinates inside the picture, never an overflow or an endless loop.
A value that is not finite (inf, NaN, which nothing should store) is drawn as no value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from html import escape

from markupsafe import Markup

WIDTH = 720
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 16, 48
MAX_X_LABELS = 12
TICKS = 4  # about this many gridlines


@dataclass(frozen=True)
class ChartPoint:
    label: str  # the period, as people read it ("Aug 2026")
    actual: float | None
    target: float | None
    status: str  # on_track, at_risk, off_track, no_target, no_data
    projected: float | None = None  # the period in progress only
    pace_status: str | None = None


# Amounts this large or this small read better as 1.2e+20 than as 27 digits.
PLAIN_LIMIT = 1e15
SMALLEST_PLAIN = 0.005  # below this (but not 0), .2f would show 0.00


def format_amount(value: float | None) -> str:
    """12,345.60 style (1.23e+20 for huge and tiny amounts); an em dash for no value."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= PLAIN_LIMIT or 0 < abs(value) < SMALLEST_PLAIN:
        return f"{value:.3g}"
    return f"{value:,.2f}"


@dataclass(frozen=True)
class _Axis:
    """The y axis: zero included, its ends on gridlines `step` apart. Decimal, because a
    float span of two huge values overflows and a tiny one underflows."""

    low: Decimal
    high: Decimal
    step: Decimal

    @classmethod
    def over(cls, values: Sequence[float]) -> _Axis:
        exact = [_decimal(v) for v in values]
        low, high = min([Decimal(0), *exact]), max([Decimal(0), *exact])
        if high == low:
            high = low + 1
        step = _nice_step(high - low)
        return cls(
            (low / step).to_integral_value(ROUND_FLOOR) * step,
            (high / step).to_integral_value(ROUND_CEILING) * step,
            step,
        )

    def ticks(self) -> list[Decimal]:
        count = int((self.high - self.low) / self.step)  # at most TICKS + 2
        return [self.low + i * self.step for i in range(count + 1)]

    def fraction(self, value: float | Decimal) -> float:
        """How far down from the top `value` sits: 0.0 at `high`, 1.0 at `low`."""
        return float((self.high - _decimal(value)) / (self.high - self.low))


def _decimal(value: float | Decimal) -> Decimal:
    # The shortest text that reads back as the float: 0.3, not 0.29999999999999998889...
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def _nice_step(span: Decimal) -> Decimal:
    raw = span / TICKS
    magnitude = Decimal(1).scaleb(raw.adjusted())  # 10 ** floor(log10(raw))
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _num(value: float) -> str:
    return f"{value:.1f}"


def actual_vs_target_svg(points: Sequence[ChartPoint], title: str) -> Markup:
    """The chart as an <svg> element, safe to put into a page as it is."""
    points = [_finite(p) for p in points]
    values = [v for p in points for v in (p.actual, p.target, p.projected) if v is not None]
    axis = _Axis.over(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)

    def x(i: int) -> float:
        return LEFT + (i + 0.5) * slot

    def y(value: float | Decimal) -> float:
        return TOP + axis.fraction(value) * plot_h

    first, last = (points[0].label, points[-1].label) if points else ("", "")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">Actual and target for {len(points)} periods, '
        f"{escape(first)} to {escape(last)}.</desc>",
    ]
    for tick in axis.ticks():
        ty = _num(y(tick))
        zero = " axis" if tick == 0 else ""
        parts.append(
            f'<line class="grid{zero}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty}" y2="{ty}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 8}" y="{ty}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_tick_label(tick, axis))}</text>'
        )
    every = math.ceil(len(points) / MAX_X_LABELS) if points else 1
    for i, point in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text class="tick" x="{_num(x(i))}" y="{HEIGHT - BOTTOM + 20}" '
                f'text-anchor="middle">{escape(point.label)}</text>'
            )
    for i, point in enumerate(points):
        if point.target is not None:
            half = min(slot * 0.35, 18)
            ty = _num(y(point.target))
            parts.append(
                f'<line class="target" x1="{_num(x(i) - half)}" x2="{_num(x(i) + half)}" '
                f'y1="{ty}" y2="{ty}"/>'
            )
    for segment in _runs([(i, p.actual) for i, p in enumerate(points)]):
        if len(segment) > 1:
            coords = " ".join(f"{_num(x(i))},{_num(y(v))}" for i, v in segment)
            parts.append(f'<polyline class="actual" points="{coords}"/>')
    baseline = y(max(axis.low, Decimal(0)))
    for i, point in enumerate(points):
        cy = y(point.actual) if point.actual is not None else baseline
        status = point.status if point.actual is not None else "no_data"
        words = status.replace("_", " ")
        tip = (
            f"{point.label}: actual {format_amount(point.actual)}, "
            f"target {format_amount(point.target)}, {words}"
        )
        parts.append(
            f'<circle class="point status-{escape(status)}" cx="{_num(x(i))}" cy="{_num(cy)}" '
            f'r="5"><title>{escape(tip)}</title></circle>'
        )
    parts += _projections(points, x, y)
    parts.append("</svg>")
    # Every value above went through escape(), so the whole is safe markup.
    return Markup("\n".join(parts))


def _projections(
    points: Sequence[ChartPoint],
    x: Callable[[int], float],
    y: Callable[[float | Decimal], float],
) -> list[str]:
    """The period in progress: a dotted line from its actual to its projection, a diamond."""
    parts = []
    for i, point in enumerate(points):
        if point.projected is None or point.actual is None:
            continue
        cx, py = _num(x(i)), y(point.projected)
        pace = point.pace_status or "no_target"
        tip = (
            f"{point.label}: projected {format_amount(point.projected)} by the period end, "
            f"pace {pace.replace('_', ' ')}"
        )
        parts.append(
            f'<line class="projection" x1="{cx}" x2="{cx}" y1="{_num(y(point.actual))}" '
            f'y2="{_num(py)}"/>'
        )
        corners = ((0, -7), (7, 0), (0, 7), (-7, 0))
        diamond = " ".join(f"{_num(x(i) + dx)},{_num(py + dy)}" for dx, dy in corners)
        parts.append(
            f'<polygon class="projected status-{escape(pace)}" points="{diamond}">'
            f"<title>{escape(tip)}</title></polygon>"
        )
    return parts


def _tick_label(value: Decimal, axis: _Axis) -> str:
    """One style for the whole axis: 1e+20 style when it reaches 1e15 or steps below a
    cent, else 12,000 or 0.25."""
    if max(abs(axis.low), abs(axis.high)) >= PLAIN_LIMIT or axis.step < Decimal("0.01"):
        return "0" if value == 0 else f"{value.normalize():.3g}"
    if axis.step >= 1:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _keep_finite(value: float | None) -> float | None:
    """A value that is not a finite number is no value."""
    return value if value is not None and math.isfinite(value) else None


def _finite(point: ChartPoint) -> ChartPoint:
    """The point with any value that is not a finite number taken as no value."""
    return ChartPoint(
        point.label,
        _keep_finite(point.actual),
        _keep_finite(point.target),
        point.status,
        _keep_finite(point.projected),
        point.pace_status,
    )


def _runs(values: Sequence[tuple[int, float | None]]) -> list[list[tuple[int, float]]]:
    """Consecutive periods with an actual: the line breaks where a period has no data."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, value in values:
        if value is None:
            runs.append([])
        else:
            runs[-1].append((i, value))
    return [run for run in runs if run]


# -- how one period's figures moved, computation by computation ------------------------------


@dataclass(frozen=True)
class HistoryPoint:
    """What a period's actual and target were as of one computation."""

    as_of: datetime
    actual: float | None
    target: float | None
    status: str


def history_svg(points: Sequence[HistoryPoint], title: str, when: str = "%-d %b %H:%M") -> Markup:
    """The period's actual (and target) by `as_of`, as an <svg>, on a time axis.

    A value holds from its computation until the next one, so both lines are drawn as steps;
    each computation is a point titled with its moment and figures.
    """
    ordered = sorted(
        (
            HistoryPoint(p.as_of, _keep_finite(p.actual), _keep_finite(p.target), p.status)
            for p in points
        ),
        key=lambda p: p.as_of,
    )
    values = [v for p in ordered for v in (p.actual, p.target) if v is not None]
    axis = _Axis.over(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    first = ordered[0].as_of if ordered else datetime.min
    span = (ordered[-1].as_of - first).total_seconds() if len(ordered) > 1 else 0.0

    def x(moment: datetime) -> float:
        if span <= 0:
            return LEFT + plot_w / 2
        return LEFT + (moment - first).total_seconds() / span * plot_w

    def y(value: float | Decimal) -> float:
        return TOP + axis.fraction(value) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart history-chart" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="history-title history-desc">',
        f'<title id="history-title">{escape(title)}</title>',
        f'<desc id="history-desc">{len(ordered)} computations'
        + (
            f", {escape(ordered[0].as_of.strftime(when))} to "
            f"{escape(ordered[-1].as_of.strftime(when))}"
            if ordered
            else ""
        )
        + ".</desc>",
    ]
    for tick in axis.ticks():
        ty = _num(y(tick))
        zero = " axis" if tick == 0 else ""
        parts.append(
            f'<line class="grid{zero}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty}" y2="{ty}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 8}" y="{ty}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_tick_label(tick, axis))}</text>'
        )
    labelled = {0, len(ordered) - 1} if len(ordered) > 1 else {0}
    for i, point in enumerate(ordered):
        if i in labelled:
            anchor = "start" if i == 0 and len(ordered) > 1 else "end" if i else "middle"
            parts.append(
                f'<text class="tick" x="{_num(x(point.as_of))}" y="{HEIGHT - BOTTOM + 20}" '
                f'text-anchor="{anchor}">{escape(point.as_of.strftime(when))}</text>'
            )
    for css, pick in (("target", lambda p: p.target), ("actual", lambda p: p.actual)):
        steps = _steps([(x(p.as_of), pick(p)) for p in ordered], WIDTH - RIGHT)
        for run in steps:
            coords = " ".join(f"{_num(px)},{_num(y(v))}" for px, v in run)
            parts.append(f'<polyline class="{css} step" points="{coords}"/>')
    baseline = y(max(axis.low, Decimal(0)))
    for point in ordered:
        cy = y(point.actual) if point.actual is not None else baseline
        status = point.status if point.actual is not None else "no_data"
        tip = (
            f"{point.as_of.strftime(when)}: actual {format_amount(point.actual)}, "
            f"target {format_amount(point.target)}, {status.replace('_', ' ')}"
        )
        parts.append(
            f'<circle class="point status-{escape(status)}" cx="{_num(x(point.as_of))}" '
            f'cy="{_num(cy)}" r="5"><title>{escape(tip)}</title></circle>'
        )
    parts.append("</svg>")
    # Every value above went through escape(), so the whole is safe markup.
    return Markup("\n".join(parts))


def _steps(
    values: Sequence[tuple[float, float | None]], right: float
) -> list[list[tuple[float, float]]]:
    """Step lines: each value held until the next point (the last one to the right edge);
    a point without a value breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for i, (px, value) in enumerate(values):
        if value is None:
            runs.append([])
            continue
        run = runs[-1]
        if run:
            run.append((px, run[-1][1]))
        run.append((px, value))
        if i == len(values) - 1:
            run.append((max(right, px), value))
    return [run for run in runs if len(run) > 1]


__all__ = ["ChartPoint", "HistoryPoint", "actual_vs_target_svg", "format_amount", "history_svg"]
