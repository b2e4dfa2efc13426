"""Every SVG chart, drawn with matplotlib (800 x 400): burndown, burnup, velocity, cumulative
flow, the forecast histogram and the roadmap timeline.

Each chart function takes the public shape of its JSON twin (`BurnChart`, `Velocity`,
`FlowPublic`, `ForecastPublic`) and returns SVG bytes. Services call them one way, through
`render`, which draws off the event loop: `await charts.render(charts.flow_svg, flow, key)`.

Every series carries an SVG id (`series-<name>`) so clients and tests can find it. Text is
kept as SVG `<text>` (escaped by matplotlib's XML writer), never parsed as mathtext, so a `$`
or `<` in a sprint name is shown as typed. Every chart opens with a `<title>` and a `<desc>`
(what it shows and its key figures) for screen readers.
"""

import functools
import io
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ParamSpec
from xml.sax.saxutils import escape

import matplotlib
from anyio import to_thread

matplotlib.use("svg")  # no GUI backend, ever

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.ticker import MaxNLocator

from app.domain.flow.schemas import FlowPublic
from app.domain.forecast.schemas import ForecastPublic, ForecastUnit, PercentileForecast
from app.domain.releases.models import ReleaseKind, ReleaseState
from app.domain.releases.schemas import RoadmapEntry, RoadmapPublic
from app.domain.reports.schemas import BurnChart, BurnDay, Velocity
from app.domain.sprints.models import SprintState

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
MARGINS = {"left": 0.08, "right": 0.98, "top": 0.88, "bottom": 0.13}
PLOT_WIDTH = WIDTH * 72 * (MARGINS["right"] - MARGINS["left"])  # points
COLOURS = {
    "ideal": "#9aa0a6",
    "remaining": "#1a73e8",
    "done": "#188038",
    "scope": "#e37400",
    "committed": "#9aa0a6",
    "completed": "#1a73e8",
    "average": "#e37400",
    "non-working": "#f1f3f4",
    "today": "#feefc3",
}
# matplotlib keeps global state (font cache, rcParams): one drawing at a time.
_lock = threading.Lock()
P = ParamSpec("P")
MAX_NAMED_SPRINTS = 12
STATUS_COLOURS = ("#c6dafc", "#fbbc04", "#f29900", "#34a853", "#a142f4", "#ea4335", "#5f6368")
# The forecast's percentile labels: one row each, from the top of the plot down (axes
# fraction), set off from their line (points).
LABEL_TOP, LABEL_ROW, LABEL_SIZE, LABEL_OFFSET, LABEL_PAD = 0.96, 0.06, 8, 4, 2
TITLE_SIZE = 12  # points: matplotlib's "large" title at a 10 pt font
# The legend's layout, in multiples of its font size: what matplotlib's legend is given, and
# what the header is measured by.
LEGEND = {
    "fontsize": 9,
    "handlelength": 1.6,
    "handletextpad": 0.8,
    "columnspacing": 1.2,
    "borderpad": 0.4,
    "labelspacing": 0.5,
    "borderaxespad": 0.5,
}
LINE_HEIGHT = 1.2  # a row of text, in multiples of its font size
TICK = 0.012  # a burn chart's day tick marks, in plot heights (about 3 points)


async def render(draw: Callable[P, bytes], *args: P.args, **kwargs: P.kwargs) -> bytes:
    """Draw a chart in a worker thread, keeping the event loop free (drawing takes ~50 ms)."""
    return await to_thread.run_sync(lambda: draw(*args, **kwargs))


@dataclass(frozen=True)
class _Box:
    """The size of what sits above the plot's top right corner, in points."""

    width: float
    height: float


def _render(draw: Callable[[Axes], _Box], title: str, description: str) -> bytes:
    """Draw on a fresh figure and return it as SVG bytes, titled and described."""
    with _lock:
        figure = Figure(figsize=(WIDTH, HEIGHT))
        FigureCanvasSVG(figure)
        # Fixed margins: an automatic layout draws every chart twice (measured: 2x slower).
        figure.subplots_adjust(**MARGINS)
        axes = figure.add_subplot()
        _title(figure, axes, title, draw(axes))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
        return _with_title(buffer.getvalue(), title, description)


def _title(figure: Figure, axes: Axes, title: str, legend: _Box) -> None:
    """Set the title at the top left: beside the legend where both fit, else above it."""
    gap = TITLE_SIZE  # between the title and the legend
    # A title wider than the plot would run off the chart: cut short (`<title>` keeps it whole).
    title = _fitted(title, TITLE_SIZE, PLOT_WIDTH)
    beside = _text_width(title, TITLE_SIZE) + gap + legend.width <= PLOT_WIDTH
    pad = 6.0 if beside else legend.height + 2
    axes.set_title(title, loc="left", parse_math=False, pad=pad)
    header = pad + TITLE_SIZE * LINE_HEIGHT + 2
    if header > HEIGHT * 72 * (1 - MARGINS["top"]):
        figure.subplots_adjust(top=1 - header / (HEIGHT * 72))


def _fitted(text: str, size: float, width: float) -> str:
    """The text, cut short with an ellipsis where it is wider than `width` points."""
    measured = _text_width(text, size)
    while measured > width and len(text) > 1:
        keep = max(1, int(len(text) * width / measured) - 1)
        text = text[:keep].rstrip() + "…"
        measured = _text_width(text, size)
    return text


@functools.lru_cache(maxsize=1024)  # legend entries and titles repeat: ~1.5 ms each to measure
def _text_width(text: str, size: float) -> float:
    """How wide matplotlib sets a line of text at a font size, in points."""
    width, _, _ = text_to_path.get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False
    )
    return float(width)


def _with_title(svg: bytes, title: str, description: str) -> bytes:
    """The SVG with `<title>` and `<desc>` as the root's first children, naming the image."""
    # matplotlib has no option for these (its `metadata` goes to RDF, which readers ignore).
    start = svg.index(b"<svg ")
    end = svg.index(b">", start)
    accessible = (
        f'<title id="chart-title">{escape(title)}</title>\n'
        f' <desc id="chart-desc">{escape(description)}</desc>\n'
    ).encode()
    return b"".join(
        (
            svg[:end],
            b' role="img" aria-labelledby="chart-title" aria-describedby="chart-desc">\n ',
            accessible,
            svg[end + 1 :].lstrip(b"\n"),
        )
    )


def _number(value: float) -> str:
    """A figure as people read it: at most one decimal, thousands grouped (25.8, 1,234)."""
    rounded = round(value, 1) + 0.0  # + 0.0: never "-0"
    return f"{rounded:,.0f}" if rounded.is_integer() else f"{rounded:,.1f}"


def _day(day: date) -> str:
    """A date spelled out for reading: 3 Dec 2026."""
    return f"{day.day} {day:%b %Y}"


def _positions(count: int) -> list[int]:
    """x positions: 0 is the start, i + 1 the end of day i (day i spans i..i + 1)."""
    return list(range(count + 1))


def _spans(
    axes: Axes, spans: Sequence[tuple[int, int]], colour: str, label: str, gid: str, z: float
) -> None:
    """Full-height bands over x ranges as one collection: `axvspan` costs ~7 ms a band."""
    if not spans:
        return
    collection = PolyCollection(
        [[(start, 0), (start, 1), (end, 1), (end, 0)] for start, end in spans],
        transform=axes.get_xaxis_transform(),  # x in data, y from the plot's bottom to top
        facecolors=colour,
        edgecolors="none",
        label=label,
        gid=gid,
        zorder=z,
    )
    axes.add_collection(collection, autolim=False)


def _non_working(days: Sequence[BurnDay]) -> list[tuple[int, int]]:
    """The runs of non-working days (a weekend is one band) as x ranges."""
    spans: list[tuple[int, int]] = []
    for position, day in enumerate(days):
        if day.working_day:
            continue
        if spans and spans[-1][1] == position:
            spans[-1] = (spans[-1][0], position + 1)
        else:
            spans.append((position, position + 1))
    return spans


def _legend(
    axes: Axes, handles: Sequence[Artist] | None = None, labels: Sequence[str] | None = None
) -> _Box:
    """Put the legend above the plot, right-aligned, in as few rows as fit; return its size."""
    # Above the plot, it never hides a line; the title makes room for its size.
    if handles is None or labels is None:
        handles, labels = axes.get_legend_handles_labels()
    if not labels:
        return _Box(0, 0)
    size = LEGEND["fontsize"]
    # Status names are user text: a long one is cut short rather than pushed off the chart.
    labels = [_fitted(label, size, PLOT_WIDTH / 3) for label in labels]
    entries = [
        (LEGEND["handlelength"] + LEGEND["handletextpad"]) * size + _text_width(label, size)
        for label in labels
    ]
    # The fewest rows that fit, in as few columns as those rows need (matplotlib fills them
    # a column at a time: 7 entries in 2 rows are 4 columns of 2, 2, 2 and 1).
    for rows in range(1, len(entries) + 1):
        columns = -(-len(entries) // rows)
        width = _legend_width(entries, columns)
        if width <= PLOT_WIDTH:
            break
    rows = -(-len(entries) // columns)
    legend = axes.legend(
        handles,
        labels,
        loc="lower right",
        bbox_to_anchor=(1, 1),
        ncols=columns,
        frameon=False,
        **LEGEND,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
    height = (
        rows * LINE_HEIGHT
        + (rows - 1) * LEGEND["labelspacing"]
        + 2 * LEGEND["borderpad"]
        + LEGEND["borderaxespad"]
    ) * size
    return _Box(width, height)


def _legend_width(entries: Sequence[float], columns: int) -> float:
    """The width of a legend with its entries (widths in points) in so many columns."""
    # As numpy's array_split deals them out: the first len % columns columns get one more.
    counts = [
        len(entries) // columns + (index < len(entries) % columns) for index in range(columns)
    ]
    starts = [sum(counts[:index]) for index in range(columns)]
    widths = [
        max(entries[start : start + count])
        for start, count in zip(starts, counts, strict=True)
        if count
    ]
    size = LEGEND["fontsize"]
    spacing = (len(widths) - 1) * LEGEND["columnspacing"] * size
    return sum(widths) + spacing + (2 * LEGEND["borderpad"] + LEGEND["borderaxespad"]) * size


def _today(chart: BurnChart, days: Sequence[BurnDay], today: date | None) -> int | None:
    """Today's position on a burn chart's axis, if today is on it."""
    if today is None or not 0 <= (today - chart.start_date).days < len(days):
        return None
    return (today - chart.start_date).days


def _date_axis(axes: Axes, chart: BurnChart, days: Sequence[BurnDay], today: int | None) -> _Box:
    # Ticks mark where days begin and end; each label sits under its day (at most about 12
    # labels, counted from today so today's date is always shown).
    step = max(1, -(-len(days) // 12))
    shown = range(0 if today is None else today % step, len(days), step)
    axes.set_xticks([p + 0.5 for p in shown], [days[p].date.strftime("%d %b") for p in shown])
    axes.tick_params(axis="x", length=0, labelsize=9)
    # The day boundaries as tick marks, drawn as one line: a tick each costs ~2 ms.
    bounds = range(0, len(days) + 1, 1 if len(days) <= 31 else step)
    axes.plot(
        [x for b in bounds for x in (b, b, math.nan)],
        [y for _ in bounds for y in (0, -TICK, math.nan)],
        transform=axes.get_xaxis_transform(),  # x in data, y in plot heights
        clip_on=False,
        color=COLOURS["ideal"],
        linewidth=0.8,
        gid="day-ticks",
    )
    axes.set_xlim(0, len(days))
    axes.set_ylabel(chart.unit.value)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", color="#e8eaed")
    return _legend(axes)


def _burn_description(
    chart: BurnChart, kind: str, shown: str, days: Sequence[BurnDay], today: date | None
) -> str:
    """What a burn chart shows, its dates and its latest figures, in words."""
    unit = chart.unit.value
    state = "active" if chart.state == SprintState.ACTIVE else str(chart.state)
    parts = [
        f"{kind.capitalize()} of {chart.name}, {state}, from {_day(chart.start_date)} to "
        f"{_day(chart.end_date)} ({chart.working_days} working days), in {unit}: {shown}.",
        f"Committed at the start: {_number(chart.committed)}.",
    ]
    if chart.days:
        last = chart.days[-1]
        when = f"{_day(last.date)} (today)" if last.date == today else _day(last.date)
        parts.append(
            f"At the end of {when}: {_number(last.remaining)} remaining, "
            f"{_number(last.done)} done, scope {_number(last.scope)}, ideal {_number(last.ideal)}."
        )
    working = [d.date for d in days if d.working_day and d.date <= chart.end_date]
    if working:
        parts.append(f"The ideal line reaches 0 on {_day(working[-1])}, the last working day.")
    if not all(d.working_day for d in days):
        parts.append("Shaded bands are non-working days, which repeat the day before.")
    return " ".join(parts)


def _burn_svg(
    chart: BurnChart,
    kind: str,
    steps: Sequence[str],
    ideal: bool,
    ahead: Sequence[BurnDay],
    today: date | None,
) -> bytes:
    """A burn chart: the named BurnTotals fields as step lines, on the whole sprint's axis."""
    # `ahead`: the sprint's days after the series (an active sprint's rest), for the axis, the
    # non-working bands and the ideal line.
    days = [*chart.days, *ahead]
    marked = _today(chart, days, today)

    def draw(axes: Axes) -> _Box:
        spans = _non_working(days)
        _spans(axes, spans, COLOURS["non-working"], "non-working day", "non-working", 0)
        if marked is not None:
            _spans(axes, [(marked, marked + 1)], COLOURS["today"], "today", "today", 0.5)
        if ideal:
            axes.plot(
                _positions(len(days)),
                [chart.committed, *(d.ideal for d in days)],
                linestyle="--",
                color=COLOURS["ideal"],
                label="ideal",
                gid="series-ideal",
            )
        for name in steps:
            axes.step(
                _positions(len(chart.days)),
                [getattr(chart.start, name), *(getattr(d, name) for d in chart.days)],
                where="pre",
                color=COLOURS[name],
                linewidth=2,
                label=name,
                gid=f"series-{name}",
            )
        return _date_axis(axes, chart, days, marked)

    shown = (
        "remaining work at the end of each day against an ideal line"
        if ideal
        else "done work at the end of each day climbing towards the total scope"
    )
    return _render(
        draw,
        f"{chart.name} — {kind} ({chart.unit.value})",
        _burn_description(chart, kind, shown, days, today),
    )


def burndown_svg(
    chart: BurnChart, *, ahead: Sequence[BurnDay] = (), today: date | None = None
) -> bytes:
    """The burndown: remaining work per day against the ideal line, with today marked."""
    return _burn_svg(chart, "burndown", ["remaining"], ideal=True, ahead=ahead, today=today)


def burnup_svg(
    chart: BurnChart, *, ahead: Sequence[BurnDay] = (), today: date | None = None
) -> bytes:
    """The burnup: done work per day climbing towards the total scope, with today marked."""
    return _burn_svg(chart, "burnup", ["scope", "done"], ideal=False, ahead=ahead, today=today)


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


def _velocity_description(velocity: Velocity) -> str:
    """What the velocity chart shows, sprint by sprint (the latest dozen), in words."""
    unit = velocity.unit.value
    count = len(velocity.sprints)
    if not count:
        return f"Velocity in {unit}: no completed sprints yet."
    listed = velocity.sprints[-MAX_NAMED_SPRINTS:]
    which = "oldest first" if count == len(listed) else f"the latest {len(listed)}, oldest first"
    figures = "; ".join(
        f"{s.name}: {_number(s.committed)} committed, {_number(s.completed)} completed"
        for s in listed
    )
    parts = [
        f"Committed and completed {unit} of {count} completed sprint{'s' * (count != 1)}, "
        f"as paired bars ({which}): {figures}."
    ]
    summary = velocity.summary
    if summary.mean is not None:
        parts.append(f"Mean completed: {_number(summary.mean)} {unit} (the dashed line).")
    if summary.median is not None:
        parts.append(f"Median: {_number(summary.median)}.")
    if summary.last_3_average is not None:
        parts.append(f"Average of the latest three: {_number(summary.last_3_average)}.")
    return " ".join(parts)


def velocity_svg(velocity: Velocity, project_key: str) -> bytes:
    """Committed and completed per sprint as paired bars, with the mean as a line."""

    def draw(axes: Axes) -> _Box:
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
        if not positions:
            axes.text(
                0.5,
                0.5,
                "No completed sprints yet",
                transform=axes.transAxes,
                ha="center",
                va="center",
                color=COLOURS["ideal"],
            )
        axes.set_xlim(-0.6, max(len(positions) - 0.4, 0.6))
        top = max((max(s.committed, s.completed) for s in velocity.sprints), default=1)
        axes.set_ylim(0, top * 1.05 or 1)
        if velocity.summary.mean is not None:
            axes.axhline(
                velocity.summary.mean,
                linestyle="--",
                color=COLOURS["average"],
                label=f"mean {_number(velocity.summary.mean)}",
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
        return _legend(axes)

    return _render(
        draw, f"{project_key} — velocity ({velocity.unit.value})", _velocity_description(velocity)
    )


def _flow_description(flow: FlowPublic, project_key: str) -> str:
    """What the cumulative flow shows and where each status ended, in words."""
    parts = [
        f"Cumulative flow of {project_key} from {_day(flow.from_)} to {_day(flow.to)}: items "
        "per status at the end of each day, stacked in workflow order with the last status at "
        "the bottom."
    ]
    if flow.cumulative_flow:
        first, last = flow.cumulative_flow[0], flow.cumulative_flow[-1]
        counts = ", ".join(f"{c.name} {c.count}" for c in last.statuses)
        parts.append(f"On {_day(last.date)}: {counts} ({last.total} items).")
        parts.append(
            f"Done grew from {first.categories.done} on {_day(first.date)} to "
            f"{last.categories.done}."
        )
    return " ".join(parts)


def flow_svg(flow: FlowPublic, project_key: str) -> bytes:
    """Cumulative flow: items per status per day, stacked in workflow order (done at the bottom)."""

    def draw(axes: Axes) -> _Box:
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
        # Day i spans i - 0.5 .. i + 0.5, the first and last in full: each day's counts step
        # in at its left edge and hold to the right edge (the last value is repeated there).
        edges = [day - 0.5 for day in days] + ([days[-1] + 0.5] if days else [])
        bottom = [0] * len(edges)
        bands = []
        for index, status in enumerate(order):
            column = counts[status.id] + counts[status.id][-1:]
            top = [b + c for b, c in zip(bottom, column, strict=True)]
            bands.append(
                axes.fill_between(
                    edges,
                    bottom,
                    top,
                    step="post",
                    color=STATUS_COLOURS[(len(order) - 1 - index) % len(STATUS_COLOURS)],
                    gid=f"series-status-{status.id}",
                    linewidth=0,
                )
            )
            bottom = top
        # Counted back from the last day (usually today), so it is always labelled.
        step = max(1, -(-len(days) // 10))
        ticks = list(range((len(days) - 1) % step, len(days), step)) if days else []
        axes.set_xticks(ticks, [flow.cumulative_flow[t].date.strftime("%d %b") for t in ticks])
        axes.set_ylabel("items")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0)
        if days:
            axes.set_xlim(edges[0], edges[-1])
        # Labels passed explicitly: status names are user text (a leading "_" would hide an
        # automatic entry), shown as typed (never parsed as math), in workflow order.
        return _legend(axes, bands[::-1], [status.name for status in flow.statuses])

    return _render(draw, f"{project_key} — cumulative flow", _flow_description(flow, project_key))


def _percentile_groups(forecast: ForecastPublic) -> list[list[PercentileForecast]]:
    """The percentiles that finished, grouped by sprints needed (50 and 70 % often agree)."""
    groups: dict[int, list[PercentileForecast]] = {}
    for marker in forecast.percentiles:
        if marker.sprints is not None:
            groups.setdefault(marker.sprints, []).append(marker)
    return [groups[sprints] for sprints in sorted(groups)]


def _sprints(group: Sequence[PercentileForecast]) -> int:
    """The sprints a group of percentiles agrees on."""
    assert group[0].sprints is not None
    return group[0].sprints


def _percentile_label(group: Sequence[PercentileForecast]) -> str:
    """One label for the percentiles that need the same sprints: 50 %, 70 %: 15 sprints, …"""
    percents = ", ".join(f"{marker.percentile} %" for marker in group)
    when = group[0].completion_date
    return f"{percents}: {_sprints(group)} sprints" + (f", {_day(when)}" if when else "")


def _forecast_scope(forecast: ForecastPublic) -> str:
    """The forecast's scope in words (66 items, 367 points)."""
    count = f"{forecast.scope.count:,} item{'s' * (forecast.scope.count != 1)}"
    if forecast.unit == ForecastUnit.ITEMS:
        return count
    return f"{count}, {_number(forecast.scope.total)} {forecast.unit.value}"


def _forecast_description(forecast: ForecastPublic, project_key: str) -> str:
    """What the forecast histogram shows and its percentiles, in words."""
    unit = forecast.unit.value
    history = forecast.history
    parts = [
        f"Monte Carlo forecast for {project_key}: {_forecast_scope(forecast)}, from "
        f"{forecast.trials:,} trials drawing on the latest {history.used} completed sprints "
        f"(mean {_number(history.mean)} {unit}), made on {_day(forecast.forecast_date)}. "
        "Bars: the share of trials that needed each number of sprints."
    ]
    if forecast.histogram:
        likeliest = max(forecast.histogram, key=lambda entry: entry.probability)
        parts.append(
            f"Most often {likeliest.sprints} sprints ({_number(likeliest.probability * 100)} % "
            "of trials)."
        )
    levels = []
    for marker in forecast.percentiles:
        if marker.sprints is None:
            levels.append(f"{marker.percentile} % of trials do not finish within the cap")
        else:
            when = f" ({_day(marker.completion_date)})" if marker.completion_date else ""
            levels.append(f"{marker.percentile} % finish within {marker.sprints} sprints{when}")
    if levels:
        parts.append("; ".join(levels) + ".")
    return " ".join(parts)


def forecast_svg(forecast: ForecastPublic, project_key: str) -> bytes:
    """The Monte Carlo histogram of sprints needed, with a marker per percentile."""
    groups = _percentile_groups(forecast)

    def draw(axes: Axes) -> _Box:
        bars = forecast.histogram
        axes.bar(
            [entry.sprints for entry in bars],
            [entry.probability * 100 for entry in bars],
            width=0.8,
            color=COLOURS["completed"],
            label="share of trials",
            gid="series-histogram",
        )
        counts = [entry.sprints for entry in bars] or [1]
        left, right = min(counts) - 0.6, max(counts) + 0.6
        labels = [(group, _percentile_label(group)) for group in groups]
        for group, text in labels:
            # Room on the right for each label, so none runs off the plot.
            share = (LABEL_OFFSET + 2 * LABEL_PAD + _text_width(text, LABEL_SIZE)) / PLOT_WIDTH
            right = max(right, left + (_sprints(group) - left) / (1 - share))
        axes.set_xlim(left, right)
        top = max((entry.probability * 100 for entry in bars), default=1)
        # Head room above the tallest bar: a row per label, so labels never overlap.
        axes.set_ylim(0, top / (LABEL_TOP - LABEL_ROW * (len(groups) + 0.5)))
        # Each label hangs right of its line's top, the fewest sprints highest: a line only
        # reaches the rows above its own, and those belong to lines left of it, so no line
        # crosses a label.
        for row, (group, text) in enumerate(labels):
            height = LABEL_TOP - LABEL_ROW * row
            for marker in group:
                # A line per percentile, even where they coincide: each keeps its series id.
                axes.axvline(
                    _sprints(group),
                    ymax=height,
                    color=COLOURS["average"],
                    linestyle="--",
                    linewidth=1,
                    gid=f"series-p{marker.percentile}",
                )
            axes.annotate(
                text,
                xy=(_sprints(group), height),
                xycoords=("data", "axes fraction"),
                xytext=(LABEL_OFFSET, 0),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=LABEL_SIZE,
                color="#b06000",
                parse_math=False,
                gid=f"label-{'-'.join(f'p{marker.percentile}' for marker in group)}",
                # White behind the text: grid lines pass under a label, not through it.
                bbox={
                    "boxstyle": f"square,pad={LABEL_PAD / LABEL_SIZE}",
                    "facecolor": "white",
                    "edgecolor": "none",
                },
            )
        axes.set_xlabel("sprints needed")
        axes.set_ylabel("% of trials")
        # Whole sprints only, even where one bar is all there is.
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axes.grid(axis="y", color="#e8eaed")
        return _legend(axes)

    return _render(
        draw,
        f"{project_key} — forecast: {_forecast_scope(forecast)} ({forecast.trials:,} trials)",
        _forecast_description(forecast, project_key),
    )


def _roadmap_label(entry: RoadmapEntry) -> str:
    """An entry's row label: its name, and where it stands or its chance of being on time."""
    if entry.state == ReleaseState.RELEASED and entry.released_on is not None:
        done = "reached" if entry.kind == ReleaseKind.MILESTONE else "released"
        return f"{entry.name} · {done} {_day(entry.released_on)}"
    if entry.state == ReleaseState.ARCHIVED:
        return f"{entry.name} · archived"
    chance = entry.confidence.target_probability if entry.confidence is not None else None
    if chance is not None:
        return f"{entry.name} · {_number(chance * 100)} % on time"
    return entry.name


def _roadmap_description(roadmap: RoadmapPublic, project_key: str) -> str:
    """What the roadmap timeline shows, entry by entry, in words."""
    if not roadmap.entries:
        return f"Roadmap of {project_key}: no releases or milestones yet."
    parts = [
        f"Roadmap of {project_key} on {_day(roadmap.forecast_date)}: "
        f"{len(roadmap.entries)} releases and milestones by target date, a row each."
    ]
    for entry in roadmap.entries:
        when = f"due {_day(entry.target_date)}" if entry.target_date else "no target date"
        progress = entry.progress
        line = (
            f"{entry.kind.value} {entry.name} ({entry.state.value}, {when}, "
            f"{_number(progress.done_points)} of {_number(progress.points)} points done"
        )
        confidence = entry.confidence
        if confidence is not None and confidence.date_85 is not None:
            line += f", 85 % forecast {_day(confidence.date_85)}"
        if confidence is not None and confidence.target_probability is not None:
            line += f", {_number(confidence.target_probability * 100)} % likely on time"
        parts.append(line + ").")
    return " ".join(parts)


_EPOCH = date(1970, 1, 1)
# The share of the roadmap's plot width its row labels take, on the left.
ROADMAP_LABELS = 0.34
# A timeline's ticks: every few days or weeks (on Mondays), else every few months (on the 1st),
# the shortest spacing that keeps to about eight labels.
_TICK_DAYS = (1, 7, 14)
_TICK_MONTHS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600)


def _when(day: date) -> float:
    """A date as a position on a timeline: days since 1970-01-01."""
    return float((day - _EPOCH).days)


def _timeline_ticks(axes: Axes, left: float, right: float) -> None:
    """Date ticks on a timeline from `left` to `right` (days since 1970), about eight."""
    start = _EPOCH + timedelta(days=math.ceil(left))
    end = _EPOCH + timedelta(days=math.floor(right))
    span = (end - start).days
    days: list[date] = []
    step = next((n for n in _TICK_DAYS if span / n <= 8), None)
    if step is not None:
        first = start + timedelta(days=(-start.weekday()) % 7 if step > 1 else 0)
        days = [first + timedelta(days=n) for n in range(0, (end - first).days + 1, step)]
        labels = [f"{day.day} {day:%b}" for day in days]
    else:
        months = next((n for n in _TICK_MONTHS if span / 30.4 / n <= 8), _TICK_MONTHS[-1])
        index = start.year * 12 + start.month - 1 + (start.day > 1)
        index = -(-index // months) * months
        while (day := date(index // 12, index % 12 + 1, 1)) <= end:
            days.append(day)
            index += months
        labels = [f"{day:%b}" if day.month != 1 else f"{day:%b %Y}" for day in days]
    if days and str(days[0].year) not in labels[0]:
        labels[0] += f" {days[0].year}"
    axes.set_xticks([_when(day) for day in days], labels)
    axes.tick_params(axis="x", labelsize=9)


def roadmap_svg(roadmap: RoadmapPublic, project_key: str) -> bytes:
    """The roadmap as a timeline: a row per entry from its start to its target date, targets
    and milestones marked, release dates, the 85 % forecast date and today."""
    entries = roadmap.entries
    # Rows from the top: (row, start, target) of spans; (row, day) of the other marks.
    spans = [
        (row, entry.start_date, entry.target_date)
        for row, entry in enumerate(entries)
        if entry.start_date is not None and entry.target_date is not None
    ]
    released = [(row, e.released_on) for row, e in enumerate(entries) if e.released_on]
    forecast = [
        (row, e.confidence.date_85)
        for row, e in enumerate(entries)
        if e.confidence is not None and e.confidence.date_85 is not None
    ]
    today = roadmap.forecast_date

    def draw(axes: Axes) -> _Box:
        # Bars about 8 points thick: a row's height is the plot's divided among the entries.
        half = min(0.25, 0.02 * len(entries) + 0.08)
        axes.add_collection(
            PolyCollection(
                [
                    [
                        (_when(a), r - half),
                        (_when(a), r + half),
                        (_when(b), r + half),
                        (_when(b), r - half),
                    ]
                    for r, a, b in spans
                ],
                facecolors=STATUS_COLOURS[0],
                edgecolors="none",
                label="start to target",
                gid="series-planned",
            )
        )
        for kind, marker, colour, label, name in (
            (ReleaseKind.RELEASE, "|", COLOURS["ideal"], "target date", "targets"),
            (ReleaseKind.MILESTONE, "D", COLOURS["average"], "milestone", "milestones"),
        ):
            marks = [(r, e.target_date) for r, e in enumerate(entries) if e.kind == kind]
            dated = [(r, day) for r, day in marks if day is not None]
            axes.scatter(
                [_when(day) for _, day in dated],
                [r for r, _ in dated],
                marker=marker,
                s=60,
                color=colour,
                label=label,
                gid=f"series-{name}",
                zorder=3,
            )
        # From the target to the 85 % date: how far the forecast runs past the plan.
        slips = [
            (r, target, day)
            for r, day in forecast
            if (target := entries[r].target_date) is not None and day > target
        ]
        axes.plot(
            [v for _, a, b in slips for v in (_when(a), _when(b), math.nan)],
            [v for r, _, _ in slips for v in (r, r, math.nan)],
            linestyle="--",
            linewidth=1,
            color=COLOURS["remaining"],
            gid="series-slip",
        )
        for points, marker, colour, label, name in (
            (released, "o", COLOURS["done"], "released", "released"),
            (forecast, "x", COLOURS["remaining"], "85 % forecast", "forecast"),
        ):
            axes.scatter(
                [_when(day) for _, day in points],
                [r for r, _ in points],
                marker=marker,
                s=40,
                color=colour,
                label=label,
                gid=f"series-{name}",
                zorder=4,
            )
        axes.axvline(
            _when(today), color=COLOURS["average"], linewidth=1, label="today", gid="series-today"
        )
        days = [today, *(day for _, day in released + forecast)]
        days += [day for _, start, target in spans for day in (start, target)]
        days += [e.target_date for e in entries if e.target_date is not None]
        left, right = _when(min(days)), _when(max(days))
        pad = max((right - left) * 0.05, 7.0)
        left, right = left - pad, right + pad
        # The left of the plot is the labels' column, as in a Gantt chart: no bar runs under
        # a name, however many rows there are.
        axes.set_xlim(left - (right - left) * ROADMAP_LABELS / (1 - ROADMAP_LABELS), right)
        axes.set_ylim(max(len(entries), 1) - 0.5, -0.5)
        axes.set_yticks([])
        axes.spines["left"].set_visible(False)
        for row, entry in enumerate(entries):
            axes.text(
                0.005,
                row,
                _fitted(_roadmap_label(entry), LABEL_SIZE, PLOT_WIDTH * (ROADMAP_LABELS - 0.01)),
                transform=axes.get_yaxis_transform(),  # x in plot widths, y in rows
                fontsize=LABEL_SIZE,
                va="center",
                parse_math=False,
                gid=f"label-release-{entry.number}",
            )
        if not entries:
            axes.text(
                0.5,
                0.5,
                "No releases or milestones yet",
                transform=axes.transAxes,
                ha="center",
                va="center",
                color=COLOURS["ideal"],
            )
        _timeline_ticks(axes, left, right)
        axes.grid(axis="x", color="#e8eaed")
        return _legend(axes)

    return _render(draw, f"{project_key} — roadmap", _roadmap_description(roadmap, project_key))
