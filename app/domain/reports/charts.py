"""Every SVG chart, drawn with matplotlib (800 x 400): burndown, burnup, velocity, cumulative
flow and the forecast histogram.

Each chart function takes the public shape of its JSON twin (`BurnChart`, `Velocity`,
`FlowPublic`, `ForecastPublic`) and returns SVG bytes. Services call them one way, through
`render`, which draws off the event loop: `await charts.render(charts.flow_svg, flow, key)`.

Every series carries an SVG id (`series-<name>`) so clients and tests can find it. Text is
kept as SVG `<text>` (escaped by matplotlib's XML writer), never parsed as mathtext, so a `$`
or `<` in a sprint name is shown as typed.
"""

import io
import threading
from collections.abc import Callable, Sequence
from typing import ParamSpec

import matplotlib
from anyio import to_thread

matplotlib.use("svg")  # no GUI backend, ever

from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from app.domain.flow.schemas import FlowPublic
from app.domain.forecast.schemas import ForecastPublic
from app.domain.reports.schemas import BurnChart, Velocity

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",  # real <text> elements: selectable, searchable, small
        "svg.hashsalt": "timebox",  # stable element ids: the same data gives the same bytes
        "font.family": "sans-serif",
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

# SVG sizes are in points (1/72 in); 600 x 300 pt is 800 x 400 CSS pixels.
WIDTH, HEIGHT = 600 / 72, 300 / 72
COLOURS = {
    "ideal": "#9aa0a6",
    "remaining": "#1a73e8",
    "done": "#188038",
    "scope": "#e37400",
    "committed": "#9aa0a6",
    "completed": "#1a73e8",
    "average": "#e37400",
}
# matplotlib keeps global state (font cache, rcParams): one drawing at a time.
_lock = threading.Lock()
P = ParamSpec("P")
MAX_NAMED_SPRINTS = 12
STATUS_COLOURS = ("#c6dafc", "#fbbc04", "#f29900", "#34a853", "#a142f4", "#ea4335", "#5f6368")


async def render(draw: Callable[P, bytes], *args: P.args, **kwargs: P.kwargs) -> bytes:
    """Draw a chart in a worker thread, keeping the event loop free (drawing takes ~50 ms)."""
    return await to_thread.run_sync(lambda: draw(*args, **kwargs))


def _render(draw: Callable[[Axes], None], title: str) -> bytes:
    """Draw on a fresh figure and return it as SVG bytes."""
    with _lock:
        figure = Figure(figsize=(WIDTH, HEIGHT))
        FigureCanvasSVG(figure)
        # Fixed margins: an automatic layout draws every chart twice (measured: 2x slower).
        figure.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.13)
        axes = figure.add_subplot()
        axes.set_title(title, loc="left", parse_math=False)
        draw(axes)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()


def _positions(chart: BurnChart) -> list[int]:
    """x positions: 0 is the start, i + 1 the end of day i (day i spans i..i + 1)."""
    return list(range(len(chart.days) + 1))


def _shade_non_working(axes: Axes, chart: BurnChart) -> None:
    for position, day in enumerate(chart.days):
        if not day.working_day:
            axes.axvspan(position, position + 1, color="#f1f3f4", linewidth=0, zorder=0)


def _legend(axes: Axes) -> None:
    """The legend above the plot, right-aligned, beside the title: it never hides a line."""
    legend = axes.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=3, frameon=False)
    for text in legend.get_texts():
        text.set_parse_math(False)


def _date_axis(axes: Axes, chart: BurnChart) -> None:
    # Each day's label sits where the day starts; at most about 12 labels.
    step = max(1, -(-len(chart.days) // 12))
    positions = list(range(0, len(chart.days), step))
    axes.set_xticks(positions, [chart.days[p].date.strftime("%d %b") for p in positions])
    axes.set_xlim(0, len(chart.days))
    axes.set_ylabel(chart.unit.value)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", color="#e8eaed")
    _legend(axes)


def _burn_svg(chart: BurnChart, kind: str, steps: Sequence[str], ideal: bool) -> bytes:
    """A burn chart: the named BurnTotals fields as step lines from the start, day by day."""

    def draw(axes: Axes) -> None:
        days = _positions(chart)
        _shade_non_working(axes, chart)
        if ideal:
            axes.plot(
                days,
                [chart.committed, *(d.ideal for d in chart.days)],
                linestyle="--",
                color=COLOURS["ideal"],
                label="ideal",
                gid="series-ideal",
            )
        for name in steps:
            axes.step(
                days,
                [getattr(chart.start, name), *(getattr(d, name) for d in chart.days)],
                where="pre",
                color=COLOURS[name],
                linewidth=2,
                label=name,
                gid=f"series-{name}",
            )
        _date_axis(axes, chart)

    return _render(draw, f"{chart.name} — {kind} ({chart.unit.value})")


def burndown_svg(chart: BurnChart) -> bytes:
    """The burndown: remaining work per day against the ideal line."""
    return _burn_svg(chart, "burndown", ["remaining"], ideal=True)


def burnup_svg(chart: BurnChart) -> bytes:
    """The burnup: done work per day climbing towards the total scope."""
    return _burn_svg(chart, "burnup", ["scope", "done"], ideal=False)


def _bars(
    axes: Axes, lefts: Sequence[float], heights: Sequence[float], width: float, name: str
) -> None:
    """A bar series as one collection of rectangles: `Axes.bar` adds a patch per bar and
    re-computes the limits for each (measured: 110 ms for 200 bars)."""
    rectangles = [
        [(left, 0.0), (left, height), (left + width, height), (left + width, 0.0)]
        for left, height in zip(lefts, heights, strict=True)
    ]
    collection = PolyCollection(
        rectangles, facecolors=COLOURS[name], edgecolors="none", label=name, gid=f"series-{name}"
    )
    axes.add_collection(collection)


def velocity_svg(velocity: Velocity, project_key: str) -> bytes:
    """Committed and completed per sprint as paired bars, with the mean as a line."""

    def draw(axes: Axes) -> None:
        positions = list(range(len(velocity.sprints)))
        width = 0.4
        _bars(
            axes,
            [p - width for p in positions],
            [s.committed for s in velocity.sprints],
            width,
            "committed",
        )
        _bars(axes, positions, [s.completed for s in velocity.sprints], width, "completed")
        axes.set_xlim(-0.6, max(len(positions) - 0.4, 0.6))
        top = max((max(s.committed, s.completed) for s in velocity.sprints), default=1)
        axes.set_ylim(0, top * 1.05 or 1)
        if velocity.summary.mean is not None:
            axes.axhline(
                velocity.summary.mean,
                linestyle="--",
                color=COLOURS["average"],
                label=f"mean {velocity.summary.mean:g}",
                gid="series-mean",
            )
        if len(positions) <= MAX_NAMED_SPRINTS:
            axes.set_xticks(positions, [s.name for s in velocity.sprints])
        else:
            # Past a dozen sprints names no longer fit (and laying out 100 labels costs more
            # than the rest of the chart): every n-th sprint by number.
            step = -(-len(positions) // MAX_NAMED_SPRINTS)
            shown = positions[::step]
            axes.set_xticks(shown, [str(velocity.sprints[p].number) for p in shown])
            axes.set_xlabel("sprint")
        for label in axes.get_xticklabels():
            label.set_parse_math(False)
        axes.set_ylabel(velocity.unit.value)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", color="#e8eaed")
        _legend(axes)

    return _render(draw, f"{project_key} — velocity ({velocity.unit.value})")


def flow_svg(flow: FlowPublic, project_key: str) -> bytes:
    """Cumulative flow: items per status per day, stacked in workflow order (done at the bottom)."""

    def draw(axes: Axes) -> None:
        days = list(range(len(flow.cumulative_flow)))
        # Done first, so finished work is the band that grows along the bottom.
        order = list(reversed(flow.statuses))
        counts = {
            status.id: [
                next((c.count for c in day.statuses if c.status_id == status.id), 0)
                for day in flow.cumulative_flow
            ]
            for status in order
        }
        bottom = [0] * len(days)
        bands = []
        for index, status in enumerate(order):
            top = [b + c for b, c in zip(bottom, counts[status.id], strict=True)]
            bands.append(
                axes.fill_between(
                    days,
                    bottom,
                    top,
                    step="mid",
                    color=STATUS_COLOURS[(len(order) - 1 - index) % len(STATUS_COLOURS)],
                    gid=f"series-status-{status.id}",
                    linewidth=0,
                )
            )
            bottom = top
        step = max(1, -(-len(days) // 10))
        ticks = list(range(0, len(days), step))
        axes.set_xticks(ticks, [flow.cumulative_flow[t].date.strftime("%d %b") for t in ticks])
        axes.set_ylabel("items")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0)
        if days:
            axes.set_xlim(0, days[-1])
        # Labels passed explicitly: status names are user text (a leading "_" would hide an
        # automatic entry), shown as typed (never parsed as math), in workflow order.
        legend = axes.legend(
            bands[::-1],
            [status.name for status in flow.statuses],
            loc="lower right",
            bbox_to_anchor=(1, 1),
            ncols=min(len(order), 4),
            frameon=False,
        )
        for text in legend.get_texts():
            text.set_parse_math(False)

    return _render(draw, f"{project_key} — cumulative flow")


def forecast_svg(forecast: ForecastPublic, project_key: str) -> bytes:
    """The Monte Carlo histogram of sprints needed, with a marker per percentile."""

    def draw(axes: Axes) -> None:
        bars = forecast.histogram
        axes.bar(
            [entry.sprints for entry in bars],
            [entry.probability * 100 for entry in bars],
            width=0.8,
            color=COLOURS["completed"],
            label="share of trials",
            gid="series-histogram",
        )
        top = max((entry.probability * 100 for entry in bars), default=1)
        # Head room above the tallest bar for the percentile labels.
        axes.set_ylim(0, top * 1.4)
        for marker in forecast.percentiles:
            if marker.sprints is None:
                continue
            when = marker.completion_date.strftime("%d %b %Y") if marker.completion_date else ""
            axes.axvline(
                marker.sprints,
                color=COLOURS["average"],
                linestyle="--",
                linewidth=1,
                gid=f"series-p{marker.percentile}",
            )
            axes.text(
                marker.sprints,
                top * (1.35 - 0.08 * forecast.percentiles.index(marker)),
                f" {marker.percentile} %: {marker.sprints} ({when})",
                fontsize=8,
                color=COLOURS["average"],
                parse_math=False,
            )
        axes.set_xlabel("sprints needed")
        axes.set_ylabel("% of trials")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", color="#e8eaed")
        _legend(axes)

    unit = forecast.unit.value
    scope = f"{forecast.scope.count} items, {forecast.scope.total:g} {unit}"
    return _render(draw, f"{project_key} — forecast: {scope} ({forecast.trials:,} trials)")
