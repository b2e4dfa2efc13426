"""Velocity and burn charts over HTTP on real PostgreSQL, with back-dated events."""

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import httpx
from sqlalchemy import text
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, status_ids

PROJECT = "/api/v1/projects/WEB"
ITEMS = f"{PROJECT}/items"
SPRINTS = f"{PROJECT}/sprints"
MON_FRI = ["mon", "tue", "wed", "thu", "fri"]


async def setup(client: httpx.AsyncClient, factory: Factory) -> tuple[Actor, dict[str, int]]:
    owner = await factory.user()
    await factory.project(owner, "WEB", working_days=MON_FRI, time_zone="Europe/Berlin")
    return owner, await status_ids(client, owner)


async def ok(response: Any) -> dict[str, Any]:
    result = await response
    assert result.status_code in (200, 201), result.text
    body: dict[str, Any] = result.json()
    return body


async def completed_sprint(
    client: httpx.AsyncClient,
    factory: Factory,
    owner: Actor,
    statuses: dict[str, int],
    dates: tuple[str, str],
    done: list[int | None],
    unfinished: list[int | None],
) -> int:
    """A sprint over `dates` that completed with the `done` estimates finished."""
    finished = [await factory.item("WEB", owner, points=p) for p in done]
    rest = [await factory.item("WEB", owner, points=p) for p in unfinished]
    number = await factory.sprint(
        "WEB", owner, items=finished + rest, start_date=dates[0], end_date=dates[1], start=True
    )
    for item in finished:
        await ok(
            client.patch(
                f"{ITEMS}/{item}", json={"status_id": statuses["Done"]}, headers=owner.headers
            )
        )
    await ok(client.post(f"{SPRINTS}/{number}/complete", headers=owner.headers))
    return number


async def test_velocity_by_hand(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, statuses = await setup(client, factory)
    first = await completed_sprint(
        client, factory, owner, statuses, ("2026-01-05", "2026-01-16"), [5, 3], [2]
    )
    second = await completed_sprint(
        client, factory, owner, statuses, ("2026-01-19", "2026-01-30"), [8, None], [5, 5]
    )
    third = await completed_sprint(
        client, factory, owner, statuses, ("2026-02-02", "2026-02-13"), [13], []
    )
    cancelled = await factory.sprint("WEB", owner, start_date="2026-02-16", end_date="2026-02-27")
    await ok(client.post(f"{SPRINTS}/{cancelled}/cancel", headers=owner.headers))
    await factory.sprint(
        "WEB", owner, items=[await factory.item("WEB", owner, points=3)], start=True
    )

    body = await ok(client.get(f"{PROJECT}/velocity", headers=owner.headers))

    assert [
        (s["number"], s["committed"], s["completed"], s["say_do"]) for s in body["sprints"]
    ] == [
        (first, 10, 8, 0.8),
        (second, 18, 8, 0.4444),
        (third, 13, 13, 1),
    ]
    summary = body["summary"]
    assert (summary["sprints"], summary["mean"], summary["median"]) == (3, 9.6667, 8)
    assert summary["standard_deviation"] == 2.8868  # sqrt(((8-29/3)^2*2 + (13-29/3)^2) / 2)
    assert summary["last_3_average"] == 9.6667
    assert summary["completed_per_person_day"] is None

    last_two = await ok(client.get(f"{PROJECT}/velocity?last=2", headers=owner.headers))
    assert [s["number"] for s in last_two["sprints"]] == [second, third]
    items = await ok(client.get(f"{PROJECT}/velocity?unit=items", headers=owner.headers))
    assert [(s["committed"], s["completed"]) for s in items["sprints"]] == [(3, 2), (4, 2), (1, 1)]
    for bad in ("last=0", "last=x", "unit=hours"):
        assert_problem(await client.get(f"{PROJECT}/velocity?{bad}", headers=owner.headers), 422)


async def test_velocity_with_capacity(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, statuses = await setup(client, factory)
    finished = [await factory.item("WEB", owner, points=p) for p in (5, 5)]
    number = await factory.sprint(
        "WEB", owner, items=finished, start_date="2026-01-05", end_date="2026-01-16"
    )
    # Ten working days at 50 % less one day off: (10 - 1) x 0.5 = 4.5 person-days.
    await ok(
        client.put(
            f"{SPRINTS}/{number}/capacity",
            json={
                "members": [{"user_id": owner.id, "availability": 50, "days_off": ["2026-01-07"]}]
            },
            headers=owner.headers,
        )
    )
    await factory.start_sprint("WEB", owner, number)
    for item in finished:
        await ok(
            client.patch(
                f"{ITEMS}/{item}", json={"status_id": statuses["Done"]}, headers=owner.headers
            )
        )
    await ok(client.post(f"{SPRINTS}/{number}/complete", headers=owner.headers))

    body = await ok(client.get(f"{PROJECT}/velocity", headers=owner.headers))

    assert body["sprints"][0]["person_days"] == 4.5
    assert body["sprints"][0]["completed_per_person_day"] == 2.2222
    assert body["summary"]["completed_per_person_day"] == 2.2222


async def backdate(database: Database, when: dict[int, str]) -> None:
    """Move the item events with the given ids to the given UTC times."""
    async with database.engine.begin() as connection:
        for event_id, moment in when.items():
            await connection.execute(
                text("UPDATE item_events SET occurred_at = :at WHERE id = :id"),
                {"at": datetime.fromisoformat(moment).replace(tzinfo=UTC), "id": event_id},
            )


async def last_event(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(text("SELECT max(id) FROM item_events"))).scalar_one())


async def test_burndown_and_burnup_by_hand(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, statuses = await setup(client, factory)
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner, points=5)
    c = await factory.item("WEB", owner, points=2)
    late = await factory.item("WEB", owner, points=8)
    await ok(
        client.patch(f"{ITEMS}/{c}", json={"status_id": statuses["Done"]}, headers=owner.headers)
    )
    # Mon 2 March to Fri 6 March 2026, Berlin time.
    sprint = await factory.sprint(
        "WEB", owner, items=[a, b, c], start_date="2026-03-02", end_date="2026-03-06", start=True
    )
    times: dict[int, str] = {}

    async def at(moment: str, call: Any) -> None:
        await ok(call)
        times[await last_event(database)] = moment

    await at(
        "2026-03-02T15:00",
        client.patch(f"{ITEMS}/{a}", json={"status_id": statuses["Done"]}, headers=owner.headers),
    )
    # 23:30 UTC on Monday is Tuesday in Berlin.
    await at(
        "2026-03-02T23:30", client.patch(f"{ITEMS}/{b}", json={"points": 3}, headers=owner.headers)
    )
    await at(
        "2026-03-04T09:00",
        client.post(f"{SPRINTS}/{sprint}/items", json={"items": [late]}, headers=owner.headers),
    )
    await at(
        "2026-03-05T09:00",
        client.patch(
            f"{ITEMS}/{late}", json={"status_id": statuses["Done"]}, headers=owner.headers
        ),
    )
    await backdate(database, times)
    await ok(client.post(f"{SPRINTS}/{sprint}/complete", headers=owner.headers))
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE sprints SET completed_at = '2026-03-06T16:00Z'"))

    down = await ok(client.get(f"{SPRINTS}/{sprint}/burndown", headers=owner.headers))
    up = await ok(client.get(f"{SPRINTS}/{sprint}/burnup", headers=owner.headers))
    report = await ok(client.get(f"{SPRINTS}/{sprint}/report", headers=owner.headers))

    assert down == up
    assert (down["committed"], down["working_days"], down["time_zone"]) == (10, 5, "Europe/Berlin")
    assert down["start"] == {"remaining": 8, "done": 0, "done_outside": 2, "scope": 10}
    assert [
        (
            d["date"],
            d["remaining"],
            d["done"],
            d["done_outside"],
            d["scope"],
            d["ideal"],
            d["completed"],
            d["scope_change"],
        )
        for d in down["days"]
    ] == [
        ("2026-03-02", 5, 3, 2, 10, 8, 3, 0),
        ("2026-03-03", 3, 3, 2, 8, 6, 0, -2),
        ("2026-03-04", 11, 3, 2, 16, 4, 0, 8),
        ("2026-03-05", 3, 11, 2, 16, 2, 8, 0),
        ("2026-03-06", 3, 11, 2, 16, 0, 0, 0),
    ]
    # The last day's done is what the report counts as completed.
    assert down["days"][-1]["done"] == report["completed"]["points"] == 11
    items = await ok(client.get(f"{SPRINTS}/{sprint}/burnup?unit=items", headers=owner.headers))
    assert [(d["remaining"], d["done"], d["scope"]) for d in items["days"]] == [
        (1, 1, 3),
        (1, 1, 3),
        (2, 1, 4),
        (1, 2, 4),
        (1, 2, 4),
    ]


async def test_an_active_sprint_ends_today_and_planned_ones_have_no_chart(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    # Three weeks after the sprint's planned end, and it is still open.
    time_machine.move_to(datetime(2026, 2, 6, 12, tzinfo=UTC), tick=False)
    owner, _ = await setup(client, factory)
    planned = await factory.sprint("WEB", owner)
    assert_problem(await client.get(f"{SPRINTS}/{planned}/burndown", headers=owner.headers), 409)
    active = await factory.sprint(
        "WEB",
        owner,
        items=[await factory.item("WEB", owner, points=5)],
        start_date="2026-01-05",
        end_date="2026-01-16",
        start=True,
    )
    body = await ok(client.get(f"{SPRINTS}/{active}/burndown", headers=owner.headers))
    assert body["days"][0]["date"] == "2026-01-05"
    assert body["days"][-1]["date"] == "2026-02-06"
    assert body["days"][-1]["remaining"] == 5
    assert_problem(
        await client.get(f"{SPRINTS}/{active}/burndown?unit=days", headers=owner.headers), 422
    )
    viewer = await factory.user()
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    assert (
        await client.get(f"{SPRINTS}/{active}/burnup", headers=viewer.headers)
    ).status_code == 200
    outsider = await factory.user()
    assert_problem(await client.get(f"{SPRINTS}/{active}/burnup", headers=outsider.headers), 404)


SVG_NS = "{http://www.w3.org/2000/svg}"


def parse_svg(response: httpx.Response) -> ElementTree.Element:
    """A well-formed SVG document of 800 x 400 pixels."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SVG_NS}svg"
    # 600 x 300 points are 800 x 400 CSS pixels.
    assert (root.get("width"), root.get("height")) == ("600pt", "300pt")
    return root


def series(root: ElementTree.Element) -> set[str]:
    return {
        element.get("id", "")
        for element in root.iter()
        if element.get("id", "").startswith("series-")
    }


def texts(root: ElementTree.Element) -> str:
    return " ".join("".join(element.itertext()) for element in root.iter(f"{SVG_NS}text"))


async def test_charts_are_well_formed_svg_with_their_series(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, statuses = await setup(client, factory)
    await completed_sprint(
        client, factory, owner, statuses, ("2026-01-05", "2026-01-16"), [5, 3], [2]
    )
    await completed_sprint(client, factory, owner, statuses, ("2026-01-19", "2026-01-30"), [8], [5])
    name = 'Sprint <b>&amp; "$x^2$"'
    active = await factory.sprint(
        "WEB",
        owner,
        items=[await factory.item("WEB", owner, points=p) for p in (3, 5, 8)],
        start_date="2026-02-02",
        end_date="2026-02-13",
        start=True,
        name=name,
    )

    velocity = parse_svg(await client.get(f"{PROJECT}/velocity.svg", headers=owner.headers))
    assert series(velocity) >= {"series-committed", "series-completed", "series-mean"}
    assert "WEB — velocity (points)" in texts(velocity)
    down = parse_svg(await client.get(f"{SPRINTS}/{active}/burndown.svg", headers=owner.headers))
    assert series(down) >= {"series-ideal", "series-remaining"}
    # The name is shown as typed: escaped in the XML, never read as markup or math.
    assert f"{name} — burndown (points)" in texts(down)
    up = parse_svg(
        await client.get(f"{SPRINTS}/{active}/burnup.svg?unit=items", headers=owner.headers)
    )
    assert series(up) >= {"series-scope", "series-done"}
    assert "burnup (items)" in texts(up)
    # Status names are user text: shown as typed, never parsed as math, never hidden.
    for name in ("Blocked $\\nope$", "_waiting"):
        made = await client.post(
            f"{PROJECT}/statuses",
            json={"name": name, "category": "in_progress"},
            headers=owner.headers,
        )
        assert made.status_code == 201, made.text
        statuses[name] = made.json()["id"]
    flow = parse_svg(await client.get(f"{PROJECT}/flow.svg", headers=owner.headers))
    assert "Blocked $\\nope$" in texts(flow) and "_waiting" in texts(flow)
    assert series(flow) >= {f"series-status-{status_id}" for status_id in statuses.values()}
    assert all(name in texts(flow) for name in ("To Do", "In Progress", "In Review", "Done"))
    forecast = parse_svg(
        await client.get(f"{PROJECT}/forecast.svg?seed=7&trials=1000", headers=owner.headers)
    )
    assert series(forecast) >= {"series-histogram", "series-p50", "series-p85", "series-p95"}
    assert "WEB — forecast:" in texts(forecast) and "85 %" in texts(forecast)
    assert_problem(await client.get(f"{PROJECT}/forecast.svg?trials=5", headers=owner.headers), 422)
    planned = await factory.sprint("WEB", owner)
    assert_problem(await client.get(f"{SPRINTS}/{planned}/burnup.svg", headers=owner.headers), 409)
    outsider = await factory.user()
    assert_problem(await client.get(f"{PROJECT}/velocity.svg", headers=outsider.headers), 404)


async def test_closed_sprints_keep_their_person_days_and_done_statuses(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, statuses = await setup(client, factory)
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner, points=5)
    number = await factory.sprint(
        "WEB", owner, items=[a, b], start_date="2026-01-05", end_date="2026-01-16"
    )
    await ok(
        client.put(
            f"{SPRINTS}/{number}/capacity",
            json={"members": [{"user_id": owner.id, "availability": 100}]},
            headers=owner.headers,
        )
    )
    await factory.start_sprint("WEB", owner, number)
    await ok(
        client.patch(
            f"{ITEMS}/{a}", json={"status_id": statuses["In Review"]}, headers=owner.headers
        )
    )
    await ok(
        client.patch(f"{ITEMS}/{b}", json={"status_id": statuses["Done"]}, headers=owner.headers)
    )
    await ok(client.post(f"{SPRINTS}/{number}/complete", headers=owner.headers))
    before_velocity = await ok(client.get(f"{PROJECT}/velocity", headers=owner.headers))
    before_burn = await ok(client.get(f"{SPRINTS}/{number}/burnup", headers=owner.headers))
    assert before_velocity["sprints"][0]["person_days"] == 10  # Mon-Fri, two weeks
    assert before_burn["days"][-1]["done"] == 5

    # Later: the team works six days a week, and "In Review" starts counting as done.
    await ok(
        client.patch(
            PROJECT,
            json={"working_days": ["mon", "tue", "wed", "thu", "fri", "sat"]},
            headers=owner.headers,
        )
    )
    await ok(
        client.patch(
            f"{PROJECT}/statuses/{statuses['In Review']}",
            json={"category": "done"},
            headers=owner.headers,
        )
    )

    assert await ok(client.get(f"{PROJECT}/velocity", headers=owner.headers)) == before_velocity
    after_burn = await ok(client.get(f"{SPRINTS}/{number}/burnup", headers=owner.headers))
    assert [d["done"] for d in after_burn["days"]] == [d["done"] for d in before_burn["days"]]
