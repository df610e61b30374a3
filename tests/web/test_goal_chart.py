"""The actual-vs-target chart draws any finite values: huge, tiny, negative, all equal,
zero, mixed. Every coordinate is a number inside the picture, the axis has a handful of
gridlines with labels in one style, and each period gets its one point."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest

from qb_pipeline.web.goal_chart import (
    HEIGHT,
    TICKS,
    WIDTH,
    ChartPoint,
    HistoryPoint,
    actual_vs_target_svg,
    format_amount,
    history_svg,
)

VALUES = {
    "near-the-float-limit": [1.7e308, -1.7e308, 1e308],
    "largest-goal-amounts": [1e15, -1e15, 999_999_999_999_999.0],
    "tiny": [5e-324, 1e-300, 2e-300],
    "negative": [-5.0, -3.0, -1.0],
    "all-equal": [7.0, 7.0, 7.0],
    "all-zero": [0.0, 0.0, 0.0],
    "huge-beside-small": [1e300, 1.0, -0.5],
    "with-gaps": [1170.0, None, 2170.0],
    "not-finite-as-no-value": [math.inf, math.nan, 12.0],
}
COORDINATE = re.compile(r'\b(?:cx|cy|x1|x2|y1|y2)="([^"]*)"')
TICK_LABEL = re.compile(r'<text class="tick" x="72"[^>]*>([^<]*)</text>')


def chart(values: list[float | None]) -> str:
    points = [
        ChartPoint(f"P{i}", actual=value, target=value, status="on_track")
        for i, value in enumerate(values)
    ]
    return str(actual_vs_target_svg(points, "A goal: actual and target by period"))


def history_chart(values: list[float | None]) -> str:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    points = [
        HistoryPoint(start + timedelta(days=i), actual=value, target=value, status="on_track")
        for i, value in enumerate(values)
    ]
    return str(history_svg(points, "A goal's current period, computation by computation"))


@pytest.mark.parametrize("draw", [chart, history_chart], ids=["by-period", "history"])
@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_any_finite_values_draw_inside_the_picture(values, draw):
    svg = draw(values)

    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert svg.count('<circle class="point') == len(values)
    coordinates = [float(text) for text in COORDINATE.findall(svg)]
    polyline = re.findall(r'points="([^"]*)"', svg)
    coordinates += [float(c) for pts in polyline for pair in pts.split() for c in pair.split(",")]
    assert coordinates
    assert all(math.isfinite(c) for c in coordinates)
    assert all(-1 <= c <= max(WIDTH, HEIGHT) + 1 for c in coordinates)
    labels = TICK_LABEL.findall(svg)
    assert 2 <= len(labels) <= TICKS + 3
    assert len(set(labels)) == len(labels)  # distinct gridlines, distinct labels
    assert "0" in labels or "0.00" in labels  # zero is always on the axis


def test_huge_and_tiny_values_are_labelled_short():
    assert TICK_LABEL.findall(chart([1.7e308, -1.7e308])) == [
        "-2e+308", "-1e+308", "0", "1e+308", "2e+308"
    ]  # fmt: skip
    assert TICK_LABEL.findall(chart([1e-300, 1.5e-300])) == ["0", "5e-301", "1e-300", "1.5e-300"]
    assert TICK_LABEL.findall(chart([1170.0, 2170.0])) == ["0", "1,000", "2,000", "3,000"]
    assert TICK_LABEL.findall(chart([0.0])) == ["0.00", "0.25", "0.50", "0.75", "1.00"]


def test_points_of_a_negative_series_sit_below_zero_and_in_order():
    svg = chart([-5.0, -3.0, -1.0])
    ys = [float(y) for y in re.findall(r'<circle[^>]* cy="([^"]*)"', svg)]
    zero = float(re.search(r'<line class="grid axis"[^>]* y1="([^"]*)"', svg).group(1))

    assert ys[0] > ys[1] > ys[2] > zero  # lower values further down, all under the axis


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12345.6, "12,345.60"),
        (-0.5, "-0.50"),
        (0.0, "0.00"),
        (1e15, "1e+15"),
        (-1.7e308, "-1.7e+308"),
        (1e-300, "1e-300"),
        (None, "—"),
        (math.inf, "—"),
        (math.nan, "—"),
    ],
)
def test_amounts_are_shown_plain_or_short(value, shown):
    assert format_amount(value) == shown
