"""The roadmap over HTTP on PostgreSQL: releases and milestones in date order with progress and
forecast confidence (the figures of each release's own page), archived ones only when asked,
one scope query whatever the number of releases, and the SVG timeline.

Sprints are dated in 2030, as in test_releases: the forecast's calendar then never depends on
the day the tests run.
"""

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from app.db import Database
from tests.api.test_board import counting_statements
from tests.api.test_releases import RELEASES, S1, S2, Team
from tests.factories import Factory
from tests.helpers import assert_problem

ROADMAP = "/api/v1/projects/WEB/roadmap"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def t(client: httpx.AsyncClient, factory: Factory) -> Team:
    return await Team(client, factory).setup()


async def roadmap(t: Team, **params: Any) -> dict[str, Any]:
    response = await t.client.get(ROADMAP, params=params, headers=t.viewer.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_entries_are_in_date_order_with_progress(t: Team) -> None:
    undated = (await t.release("Someday"))["number"]
    late = (await t.release("GA", target_date="2030-06-30"))["number"]
    early = (await t.release("Beta", kind="milestone", target_date="2030-03-01"))["number"]
    # The same target date: by number.
    tied = (await t.release("Docs", target_date="2030-03-01"))["number"]
    archived = (await t.release("Dropped", target_date="2030-01-01"))["number"]
    await t.patch(archived, state="archived")
    epic = await t.item("Epic", type="epic", release=late)
    done = await t.item("Done child", 5, parent=epic)
    await t.item("Open child", 3, parent=epic)
    await t.item("Unestimated", release=late)
    await t.item("Beta work", 8, release=early)
    await t.finish(done)

    body = await roadmap(t)
    assert [e["number"] for e in body["entries"]] == [early, tied, late, undated]
    by_number = {e["number"]: e for e in body["entries"]}
    assert by_number[late]["progress"] == {
        "done_points": 5,
        "points": 8,
        "done_items": 1,
        "items": 3,
        "unestimated_items": 1,
    }
    assert by_number[early]["progress"] == {
        "done_points": 0,
        "points": 8,
        "done_items": 0,
        "items": 1,
        "unestimated_items": 0,
    }
    assert by_number[early]["kind"] == "milestone" and by_number[undated]["target_date"] is None
    # The same counts as each release's page.
    for entry in body["entries"]:
        page = await t.get(entry["number"])
        scope = page["scope"]
        assert entry["progress"] == {
            key: scope[key]
            for key in ("done_points", "points", "done_items", "items", "unestimated_items")
        }
    # No history yet: every confidence is null, and the roadmap says why.
    assert all(e["confidence"] is None for e in body["entries"])
    assert "at least 2 completed sprints" in body["forecast_unavailable"]
    assert body["history_sprints"] == 0

    with_archived = await roadmap(t, archived="true")
    assert [e["number"] for e in with_archived["entries"]] == [archived, early, tied, late, undated]
    assert with_archived["entries"][0]["state"] == "archived"
    assert_problem(
        await t.client.get(ROADMAP, params={"archived": "yes"}, headers=t.viewer.headers),
        422,
        "query.archived",
    )


async def test_confidence_is_each_release_forecast(t: Team) -> None:
    await t.completed(S1, [5])
    await t.completed(S2, [13, 2])
    # Coming sprints end 15 Feb, 1 Mar, 15 Mar 2030.
    first = (await t.release("1.0", target_date="2030-03-01"))["number"]
    second = (await t.release("2.0", target_date="2030-03-15"))["number"]
    undated = (await t.release("Later"))["number"]
    shipped = (await t.release("0.9", target_date="2030-01-31"))["number"]
    for number, points in ((first, (13, 5, 2)), (second, (21, 13, 8)), (undated, (3,))):
        for p in points:
            await t.item(f"Work {p}", p, release=number)
    released = await t.client.post(f"{RELEASES}/{shipped}/release", headers=t.member.headers)
    assert released.status_code == 200, released.text

    body = await roadmap(t, seed=5, trials=4000)
    assert (body["seed"], body["trials"], body["history_sprints"]) == (5, 4000, 2)
    assert body["forecast_unavailable"] is None
    entries = {e["number"]: e for e in body["entries"]}
    assert entries[shipped]["confidence"] is None
    assert entries[shipped]["released_on"] is not None
    for number in (first, second, undated):
        forecast = (await t.get(number, seed=5, trials=4000))["forecast"]
        p85 = next(p for p in forecast["percentiles"] if p["percentile"] == 85)
        assert entries[number]["confidence"] == {
            "target_probability": forecast["target_probability"],
            "date_85": p85["completion_date"],
            "sprints_85": p85["sprints"],
        }
    # 20 points from sprints of 5 or 15: 3/4 of trials are done by the second sprint.
    assert abs(entries[first]["confidence"]["target_probability"] - 0.75) < 0.03
    # 42 points by the third sprint: of three draws of 5 or 15 only 15 + 15 + 15 reaches 42.
    assert abs(entries[second]["confidence"]["target_probability"] - 0.125) < 0.03
    assert entries[undated]["confidence"]["target_probability"] is None
    assert entries[undated]["confidence"]["sprints_85"] == 1
    # The defaults are a fixed seed and 2,000 trials: the same figures every time.
    assert await roadmap(t) == await roadmap(t)
    assert (await roadmap(t))["seed"] == 0
    for bad in ({"trials": 10}, {"seed": -1}, {"history": 1}, {"history": 51}):
        response = await t.client.get(ROADMAP, params=bad, headers=t.viewer.headers)
        assert_problem(response, 422, f"query.{next(iter(bad))}")


async def test_one_scope_query_for_all_releases(t: Team, database: Database) -> None:
    await t.completed(S1, [5])
    await t.completed(S2, [8])

    async def statements() -> int:
        with counting_statements(database) as seen:
            await roadmap(t)
        # Authentication notes a token's use now and then: not the roadmap's.
        return len([statement for statement in seen if "api_tokens" not in statement])

    for n in range(2):
        number = (await t.release(f"R{n}", target_date="2030-03-01"))["number"]
        await t.item(f"Work {n}", 3, release=number)
    few = await statements()
    for n in range(2, 20):
        number = (await t.release(f"R{n}", target_date="2030-03-01"))["number"]
        await t.item(f"Work {n}", 3, release=number)
    many = await statements()
    assert few == many
    assert len((await roadmap(t))["entries"]) == 20


async def test_an_empty_roadmap(t: Team) -> None:
    body = await roadmap(t)
    assert body["entries"] == [] and body["forecast_unavailable"] is not None
    chart = await t.client.get(f"{ROADMAP}.svg", headers=t.viewer.headers)
    assert chart.status_code == 200
    assert "No releases or milestones yet" in chart.text


async def test_the_timeline_is_svg_naming_every_release(t: Team) -> None:
    await t.completed(S1, [5])
    await t.completed(S2, [8])
    names = ["1.0 <beta>", "Pay $5 & more", "Milestone: sign-off", "Someday"]
    first = await t.release(names[0], start_date="2030-01-07", target_date="2030-03-01")
    await t.release(names[1], target_date="2030-03-15")
    await t.release(names[2], kind="milestone", target_date="2030-02-15")
    await t.release(names[3])
    await t.item("Work", 13, release=first["number"])
    archived = await t.release("Archived one")
    await t.patch(archived["number"], state="archived")

    response = await t.client.get(f"{ROADMAP}.svg", headers=t.viewer.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG_NS}svg"
    texts = " ".join("".join(node.itertext()) for node in root.iter(f"{SVG_NS}text"))
    for name in names:
        assert name in texts, name
    assert "Archived one" not in texts
    ids = {node.get("id") for node in root.iter()}
    for series in ("planned", "targets", "milestones", "forecast", "today"):
        assert f"series-{series}" in ids, series
    title = root.find(f"{SVG_NS}title")
    assert title is not None and title.text == "WEB — roadmap"
    description = root.find(f"{SVG_NS}desc")
    assert description is not None and "Pay $5 & more" in (description.text or "")

    with_archived = await t.client.get(
        f"{ROADMAP}.svg", params={"archived": "true"}, headers=t.viewer.headers
    )
    assert "Archived one" in with_archived.text
