"""The demo project's charts read well: titled and described for screen readers, an active
sprint drawn over its whole range with today marked, legends with rounded numbers, and
forecast labels that neither repeat nor overlap. Checked on the SVG's structure."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from time_machine import TimeMachineFixture

from app.db import Database
from app.demo.service import create_demo

# A Friday afternoon in Berlin, the demo's time zone: sprint 7 (20 Nov - 3 Dec) is half-way.
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)
SVG = "{http://www.w3.org/2000/svg}"
CHARTS = (
    "/velocity.svg",
    "/sprints/7/burndown.svg",
    "/sprints/7/burnup.svg",
    "/sprints/6/burndown.svg",
    "/sprints/6/burnup.svg",
    "/flow.svg",
    "/forecast.svg?seed=1",
    "/forecast.svg?seed=1&unit=items",
)
Point = tuple[float, float]


@dataclass(frozen=True)
class Demo:
    """The loaded demo project and a client that reads it."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    project: str

    async def json(self, path: str) -> Any:
        response = await self.client.get(self.project + path, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def svg(self, path: str) -> bytes:
        response = await self.client.get(self.project + path, headers=self.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/svg+xml"
        return response.content


@pytest.fixture
async def demo(
    client: httpx.AsyncClient, database: Database, time_machine: TimeMachineFixture
) -> Demo:
    time_machine.move_to(NOW, tick=False)
    result = await create_demo(database)
    return Demo(
        client,
        {"Authorization": f"Bearer {result.token}"},
        f"/api/v1/projects/{result.project_key}",
    )


def element(root: ElementTree.Element, gid: str) -> ElementTree.Element | None:
    return next((e for e in root.iter() if e.get("id") == gid), None)


def text(node: ElementTree.Element) -> str:
    return "".join(node.itertext())


def texts(node: ElementTree.Element) -> list[str]:
    return [text(e) for e in node.iter(f"{SVG}text")]


def paths(node: ElementTree.Element) -> list[list[Point]]:
    """Each path's vertices, in SVG points (y grows downwards)."""
    return [
        [(float(x), float(y)) for x, y in re.findall(r"[ML] (-?[\d.]+) (-?[\d.]+)", p.get("d", ""))]
        for p in node.iter(f"{SVG}path")
    ]


def legend_texts(root: ElementTree.Element) -> list[str]:
    return [
        entry
        for node in root.iter()
        if node.get("id", "").startswith("legend_")
        for entry in texts(node)
    ]


def day_ticks(root: ElementTree.Element) -> tuple[list[float], float]:
    """The x of each day boundary on a burn chart's axis, and the axis' y."""
    ticks = element(root, "day-ticks")
    assert ticks is not None
    (vertices,) = paths(ticks)
    starts = vertices[::2]  # each tick is a move to the axis and a line down from it
    return [x for x, _ in starts], starts[0][1]


def spans(root: ElementTree.Element, gid: str) -> list[tuple[float, float]]:
    """The x ranges of a collection of full-height bands."""
    bands = element(root, gid)
    return [] if bands is None else [(p[0][0], p[2][0]) for p in paths(bands)]


async def test_every_chart_is_titled_described_and_rounded(demo: Demo) -> None:
    for path in CHARTS:
        await check_chart(demo, path)


async def check_chart(demo: Demo, path: str) -> None:
    """A chart names and describes itself, rounds its legend, and draws the same bytes twice."""
    svg = await demo.svg(path)
    root = ElementTree.fromstring(svg)
    # The accessible name and description come first, and the root says it is one image.
    assert [child.tag for child in root[:2]] == [f"{SVG}title", f"{SVG}desc"]
    title, desc = text(root[0]), text(root[1])
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == root[0].get("id")
    assert root.get("aria-describedby") == root[1].get("id")
    # The title is the one drawn on the chart; the description says much more than it.
    assert title and title in texts(root)
    assert len(desc) > 2 * len(title) and title not in desc
    # Legends show people's numbers: none has more than one decimal.
    for entry in legend_texts(root):
        for number in re.findall(r"\d[\d,]*(?:\.\d+)?", entry):
            assert re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d)?", number), (entry, number)
    # The same data draws the same bytes.
    assert await demo.svg(path) == svg


async def test_an_active_sprints_burn_charts_span_it_with_today_marked(demo: Demo) -> None:
    data = await demo.json("/sprints/7/burndown")
    start, end = date.fromisoformat(data["start_date"]), date.fromisoformat(data["end_date"])
    assert (start, end, data["days"][-1]["date"]) == (
        date(2026, 11, 20),
        date(2026, 12, 3),
        "2026-11-27",
    )
    length = (end - start).days + 1
    today = (TODAY - start).days
    weekend = [
        (offset, offset + 2)
        for offset in range(length)
        if (start + timedelta(days=offset)).weekday() == 5
    ]
    assert weekend == [(1, 3), (8, 10)]  # the second one is still ahead

    for kind, series in (("burndown", "series-remaining"), ("burnup", "series-done")):
        root = ElementTree.fromstring(await demo.svg(f"/sprints/7/{kind}.svg"))
        ticks, _ = day_ticks(root)
        # The axis runs from the sprint's first day to the end of its last, not to today.
        assert len(ticks) == length + 1
        assert spans(root, "non-working") == [(ticks[a], ticks[b]) for a, b in weekend]
        assert spans(root, "today") == [(ticks[today], ticks[today + 1])]
        # Today's date is labelled, under today's band.
        labels = [e for e in root.iter(f"{SVG}text") if text(e) == TODAY.strftime("%d %b")]
        assert [float(e.get("x", 0)) for e in labels] == [
            pytest.approx((ticks[today] + ticks[today + 1]) / 2)
        ]
        # What happened so far ends at the end of today.
        line = element(root, series)
        assert line is not None
        assert paths(line)[0][-1][0] == pytest.approx(ticks[today + 1])
        assert {"non-working day", "today"} <= set(legend_texts(root))
        desc = text(root[1])
        assert "27 Nov 2026 (today)" in desc and "20 Nov 2026 to 3 Dec 2026" in desc

    # The burndown's ideal line falls over the whole sprint to 0 at the end of its last working
    # day, through the JSON's ideal values.
    root = ElementTree.fromstring(await demo.svg("/sprints/7/burndown.svg"))
    ticks, axis = day_ticks(root)
    ideal = element(root, "series-ideal")
    assert ideal is not None
    (vertices,) = paths(ideal)
    assert [x for x, _ in vertices] == pytest.approx(ticks)
    assert vertices[-1][1] == pytest.approx(axis) and vertices[-2][1] < axis - 1
    scale = (axis - vertices[0][1]) / data["committed"]
    drawn = [(axis - y) / scale for _, y in vertices]
    # By hand: 34 points over the 10 weekdays, flat over each weekend, ahead of today too.
    weekdays = [
        sum((start + timedelta(days=d)).weekday() < 5 for d in range(offset + 1))
        for offset in range(length)
    ]
    assert drawn == pytest.approx([34, *(34 * (1 - w / 10) for w in weekdays)], abs=0.01)
    assert drawn[1 : len(data["days"]) + 1] == pytest.approx([d["ideal"] for d in data["days"]])
    desc = text(root[1])
    assert f"{data['days'][-1]['remaining']:g} remaining" in desc
    assert "reaches 0 on 3 Dec 2026, the last working day" in desc


async def test_a_completed_sprint_has_no_today_marker(demo: Demo) -> None:
    data = await demo.json("/sprints/6/burndown")
    root = ElementTree.fromstring(await demo.svg("/sprints/6/burndown.svg"))
    ticks, axis = day_ticks(root)
    assert len(ticks) == len(data["days"]) + 1
    assert element(root, "today") is None and "today" not in legend_texts(root)
    assert "non-working day" in legend_texts(root)
    ideal = element(root, "series-ideal")
    assert ideal is not None
    assert paths(ideal)[0][-1] == pytest.approx((ticks[-1], axis))
    assert ", completed, " in text(root[1]) and "(today)" not in text(root[1])


async def test_velocity_rounds_its_mean_and_describes_each_sprint(demo: Demo) -> None:
    data = await demo.json("/velocity")
    root = ElementTree.fromstring(await demo.svg("/velocity.svg"))
    mean = data["summary"]["mean"]
    assert mean != round(mean, 1)  # the demo's mean has more decimals than a legend shows
    assert f"mean {round(mean, 1):g}" in legend_texts(root)
    desc = text(root[1])
    for sprint in data["sprints"]:
        figures = f"{sprint['committed']:g} committed, {sprint['completed']:g} completed"
        assert f"{sprint['name']}: {figures}" in desc
    assert f"Mean completed: {round(mean, 1):g} points" in desc


async def test_forecast_labels_neither_repeat_nor_overlap(demo: Demo) -> None:
    for query in ("seed=1", "seed=1&unit=items"):
        await check_forecast_labels(demo, query)


async def check_forecast_labels(demo: Demo, query: str) -> None:
    """One label per distinct sprint count; labels apart, inside, and crossed by no line."""
    data = await demo.json(f"/forecast?{query}")
    root = ElementTree.fromstring(await demo.svg(f"/forecast.svg?{query}"))
    needed = {p["percentile"]: p["sprints"] for p in data["percentiles"]}
    # The demo's percentiles share sprint counts: the case where labels used to repeat.
    assert len(set(needed.values())) < len(needed)
    labels = {
        node.get("id", ""): node for node in root.iter() if node.get("id", "").startswith("label-")
    }
    # One label per sprint count, naming every percentile that needs it, each exactly once.
    assert len(labels) == len(set(needed.values()))
    words = [" ".join(texts(node)) for node in labels.values()]
    assert len(set(words)) == len(words)
    for percentile, sprints in needed.items():
        (label,) = [w for w in words if re.search(rf"(^|, ){percentile} %", w)]
        assert f": {sprints} sprints" in label
    # Label boxes are apart, inside the figure, and no percentile line runs through one.
    boxes = []
    for node in labels.values():
        (box,) = paths(node)
        xs, ys = [x for x, _ in box], [y for _, y in box]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    for index, (left, top, right, bottom) in enumerate(boxes):
        assert left >= 0 and right <= 600
        for other in boxes[index + 1 :]:
            assert right <= other[0] or other[2] <= left or bottom <= other[1] or other[3] <= top
        for percentile in needed:
            line = element(root, f"series-p{percentile}")
            assert line is not None
            (vertices,) = paths(line)
            x = vertices[0][0]
            line_top = min(y for _, y in vertices)
            assert not (left < x < right and line_top < bottom), (percentile, boxes[index])
    desc = text(root[1])
    for percentile, sprints in needed.items():
        assert f"{percentile} % finish within {sprints} sprints" in desc


async def test_flow_describes_where_each_status_ended(demo: Demo) -> None:
    data = await demo.json("/flow")
    root = ElementTree.fromstring(await demo.svg("/flow.svg"))
    assert legend_texts(root) == [status["name"] for status in data["statuses"]]
    last = data["cumulative_flow"][-1]
    desc = text(root[1])
    assert "from 29 Oct 2026 to 27 Nov 2026" in desc
    for count in last["statuses"]:
        assert f"{count['name']} {count['count']}" in desc
    assert f"({last['total']} items)" in desc
