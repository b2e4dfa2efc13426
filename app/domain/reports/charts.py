"""SVG charts drawn with matplotlib: burndown, burnup and velocity (800 x 400).

Every series carries an SVG id (`series-<name>`) so clients and tests can find it. Text is
kept as SVG `<text>` (escaped by matplotlib's XML writer), never parsed as mathtext, so a `$`
or `<` in a sprint name is shown as typed.
"""

import io
import threading
from collections.abc import Callable

import matplotlib

matplotlib.use("svg")  # no GUI backend, ever

from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

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


def _render(draw: Callable[[Axes], None], title: str) -> bytes:
    """Draw on a fresh figure and return it as SVG bytes."""
    with _lock:
        figure = Figure(figsize=(WIDTH, HEIGHT))
        FigureCanvasSVG(figure)
        # Fixed margins: an automatic layout draws every chart twice (measured: 2x slower).
        figure.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.1)
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
    axes.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=3, frameon=False)


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


def burndown_svg(chart: BurnChart) -> bytes:
    """The burndown: remaining work per day against the ideal line."""

    def draw(axes: Axes) -> None:
        days = _positions(chart)
        _shade_non_working(axes, chart)
        axes.plot(
            days,
            [chart.committed, *(d.ideal for d in chart.days)],
            linestyle="--",
            color=COLOURS["ideal"],
            label="ideal",
            gid="series-ideal",
        )
        axes.step(
            days,
            [chart.start.remaining, *(d.remaining for d in chart.days)],
            where="pre",
            color=COLOURS["remaining"],
            linewidth=2,
            label="remaining",
            gid="series-remaining",
        )
        _date_axis(axes, chart)

    return _render(draw, f"{chart.name} — burndown ({chart.unit.value})")


def burnup_svg(chart: BurnChart) -> bytes:
    """The burnup: done work per day climbing towards the total scope."""

    def draw(axes: Axes) -> None:
        days = _positions(chart)
        _shade_non_working(axes, chart)
        axes.step(
            days,
            [chart.start.scope, *(d.scope for d in chart.days)],
            where="pre",
            color=COLOURS["scope"],
            linewidth=2,
            label="scope",
            gid="series-scope",
        )
        axes.step(
            days,
            [chart.start.done, *(d.done for d in chart.days)],
            where="pre",
            color=COLOURS["done"],
            linewidth=2,
            label="done",
            gid="series-done",
        )
        _date_axis(axes, chart)

    return _render(draw, f"{chart.name} — burnup ({chart.unit.value})")


def velocity_svg(velocity: Velocity, project_key: str) -> bytes:
    """Committed and completed per sprint as paired bars, with the mean as a line."""

    def draw(axes: Axes) -> None:
        positions = list(range(len(velocity.sprints)))
        width = 0.4
        axes.bar(
            [p - width / 2 for p in positions],
            [s.committed for s in velocity.sprints],
            width,
            color=COLOURS["committed"],
            label="committed",
            gid="series-committed",
        )
        axes.bar(
            [p + width / 2 for p in positions],
            [s.completed for s in velocity.sprints],
            width,
            color=COLOURS["completed"],
            label="completed",
            gid="series-completed",
        )
        if velocity.summary.mean is not None:
            axes.axhline(
                velocity.summary.mean,
                linestyle="--",
                color=COLOURS["average"],
                label=f"mean {velocity.summary.mean:g}",
                gid="series-mean",
            )
        axes.set_xticks(positions, [s.name for s in velocity.sprints])
        for label in axes.get_xticklabels():
            label.set_parse_math(False)
        axes.set_ylabel(velocity.unit.value)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", color="#e8eaed")
        _legend(axes)

    return _render(draw, f"{project_key} — velocity ({velocity.unit.value})")
