"""GET /projects/{key}/flow: today's flow, a back-dated week by hand, bad ranges, access."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import ScalarResult, text

from app.db import Database
from app.domain.kernel import clock
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, status_ids

PROJECT = "/api/v1/projects/WEB"
FLOW = f"{PROJECT}/flow"
NEW_YORK = "America/New_York"


async def setup(client: httpx.AsyncClient, factory: Factory) -> tuple[Actor, dict[str, int]]:
    """Project WEB in New York time with the default workflow; its owner and status ids."""
    owner = await factory.user()
    await factory.project(owner, "WEB", time_zone=NEW_YORK)
    return owner, await status_ids(client, owner)


async def get_flow(client: httpx.AsyncClient, actor: Actor, **params: str) -> dict[str, Any]:
    response = await client.get(FLOW, params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def move(client: httpx.AsyncClient, owner: Actor, number: int, status_id: int) -> None:
    response = await client.patch(
        f"{PROJECT}/items/{number}", json={"status_id": status_id}, headers=owner.headers
    )
    assert response.status_code == 200, response.text


def counts(day: dict[str, Any]) -> tuple[int, ...]:
    """(to do, in progress, in review, done) of one day."""
    return tuple(entry["count"] for entry in day["statuses"])


async def test_today_through_the_api(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, statuses = await setup(client, factory)
    before = clock.today(NEW_YORK)
    a = await factory.item("WEB", owner, title="A")
    b = await factory.item("WEB", owner, title="B", type="bug")
    c = await factory.item("WEB", owner, title="C")
    d = await factory.item("WEB", owner, title="D")
    epic = await factory.item("WEB", owner, title="E", type="epic")
    await factory.item("WEB", owner, title="F")
    await move(client, owner, a, statuses["In Progress"])
    await move(client, owner, a, statuses["Done"])
    await move(client, owner, b, statuses["In Review"])
    await move(client, owner, c, statuses["Done"])
    await move(client, owner, epic, statuses["In Progress"])
    deleted = await client.delete(f"{PROJECT}/items/{d}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text

    body = await get_flow(client, owner)

    today = date.fromisoformat(body["to"])
    assert today in (before, clock.today(NEW_YORK))
    assert date.fromisoformat(body["from"]) == today - timedelta(days=29)
    assert body["time_zone"] == NEW_YORK
    assert [(s["name"], s["category"]) for s in body["statuses"]] == [
        ("To Do", "todo"),
        ("In Progress", "in_progress"),
        ("In Review", "in_progress"),
        ("Done", "done"),
    ]
    assert [s["id"] for s in body["statuses"]] == list(statuses.values())
    days = body["cumulative_flow"]
    assert [d["date"] for d in days] == [str(today - timedelta(days=29 - n)) for n in range(30)]
    assert all(counts(day) == (0, 0, 0, 0) for day in days[:-1])
    last = days[-1]
    # F waits, B is in review, A and C are done; D is deleted and E is an epic.
    assert counts(last) == (1, 0, 1, 2)
    assert [entry["status_id"] for entry in last["statuses"]] == list(statuses.values())
    assert last["categories"] == {"todo": 1, "in_progress": 1, "done": 2}
    assert (last["other"], last["total"]) == (0, 4)
    assert [w["items"] for w in body["wip"]] == [0] * 29 + [1]
    assert body["throughput"][-1]["items"] == 2
    assert sum(w["items"] for w in body["throughput"]) == 2
    assert body["throughput"][0]["week_start"] <= body["from"]
    assert [(i["number"], i["cycle_days"] is None) for i in body["items"]] == [
        (a, False),
        (c, True),
    ]
    assert 0 <= body["items"][0]["cycle_days"] <= body["items"][0]["lead_days"] < 0.01
    assert body["cycle_time"]["count"] == 1
    assert body["cycle_time"]["straight_to_done"] == 1
    assert body["lead_time"]["count"] == 2


async def place(database: Database, number: int, moments: list[str]) -> None:
    """Put an item's logged creation and status moves (in order) at the given UTC times."""
    async with database.engine.begin() as connection:
        ids: ScalarResult[int] = (
            await connection.execute(
                text(
                    "SELECT id FROM item_events WHERE item_number = :number "
                    "AND (kind IN ('created', 'deleted') OR field = 'status') ORDER BY id"
                ),
                {"number": number},
            )
        ).scalars()
        event_ids = list(ids)
        assert len(event_ids) == len(moments)
        for event_id, moment in zip(event_ids, moments, strict=True):
            await connection.execute(
                text("UPDATE item_events SET occurred_at = :at WHERE id = :id"),
                {"at": datetime.fromisoformat(moment).replace(tzinfo=UTC), "id": event_id},
            )


async def test_a_back_dated_week_by_hand(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, statuses = await setup(client, factory)
    a, b, c, d = [await factory.item("WEB", owner, title=t) for t in "ABCD"]
    epic = await factory.item("WEB", owner, title="E", type="epic")
    for number, path in ((a, ["In Progress", "Done"]), (b, ["In Progress"]), (c, ["Done"])):
        for name in path:
            await move(client, owner, number, statuses[name])
    await move(client, owner, epic, statuses["In Progress"])
    assert (await client.delete(f"{PROJECT}/items/{d}", headers=owner.headers)).status_code == 204
    # Mon 6 to Sun 12 January 2025; New York is at UTC-5, so days end at 05:00 UTC.
    await place(database, a, ["2025-01-06 16:30", "2025-01-07 04:30", "2025-01-09 04:30"])
    await place(database, b, ["2025-01-06 15:00", "2025-01-08 15:00"])
    await place(database, c, ["2025-01-07 15:00", "2025-01-10 15:00"])
    await place(database, d, ["2025-01-06 15:00", "2025-01-11 15:00"])
    await place(database, epic, ["2025-01-06 15:00", "2025-01-07 15:00"])

    body = await get_flow(client, owner, **{"from": "2025-01-06", "to": "2025-01-12"})

    assert (body["from"], body["to"]) == ("2025-01-06", "2025-01-12")
    # A starts at 23:30 on the 6th and finishes at 23:30 on the 8th, local time.
    assert [(day["date"], *counts(day)) for day in body["cumulative_flow"]] == [
        ("2025-01-06", 2, 1, 0, 0),
        ("2025-01-07", 3, 1, 0, 0),
        ("2025-01-08", 2, 1, 0, 1),
        ("2025-01-09", 2, 1, 0, 1),
        ("2025-01-10", 1, 1, 0, 2),
        ("2025-01-11", 0, 1, 0, 2),
        ("2025-01-12", 0, 1, 0, 2),
    ]
    assert [w["items"] for w in body["wip"]] == [1] * 7
    assert body["throughput"] == [{"week_start": "2025-01-06", "days_in_range": 7, "items": 2}]
    assert body["items"] == [
        {
            "number": a,
            "finished_at": "2025-01-09T04:30:00Z",
            "cycle_days": 2.0,
            "lead_days": 2.5,
        },
        {"number": c, "finished_at": "2025-01-10T15:00:00Z", "cycle_days": None, "lead_days": 3.0},
    ]
    assert body["cycle_time"] == {
        "count": 1,
        "p50": 2.0,
        "p85": 2.0,
        "p95": 2.0,
        "mean": 2.0,
        "straight_to_done": 1,
    }
    # Lead [2.5, 3.0]: nearest ranks ⌈1.0⌉ = 1, ⌈1.7⌉ = 2, ⌈1.9⌉ = 2.
    assert body["lead_time"] == {
        "count": 2,
        "p50": 2.5,
        "p85": 3.0,
        "p95": 3.0,
        "mean": 2.75,
    }

    # Up to the 8th: A's finish is in, C's is not; the week is partial.
    early = await get_flow(client, owner, **{"from": "2025-01-07", "to": "2025-01-08"})
    assert early["throughput"] == [{"week_start": "2025-01-06", "days_in_range": 2, "items": 1}]
    assert [i["number"] for i in early["items"]] == [a]
    # Only `to`: the 30 days up to it, empty before anything happened.
    before = await get_flow(client, owner, to="2025-01-05")
    assert (before["from"], len(before["cumulative_flow"])) == ("2024-12-07", 30)
    assert all(day["total"] == 0 for day in before["cumulative_flow"])
    assert before["items"] == [] and before["lead_time"]["p50"] is None


async def test_a_future_to_is_clamped_to_today(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _ = await setup(client, factory)
    today = clock.today(NEW_YORK)
    body = await get_flow(
        client, owner, **{"from": str(today - timedelta(days=2)), "to": "2999-12-31"}
    )
    assert date.fromisoformat(body["to"]) - date.fromisoformat(body["from"]) == timedelta(days=2)
    assert len(body["cumulative_flow"]) == 3


async def test_bad_ranges_are_422s(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _ = await setup(client, factory)

    async def problem(params: dict[str, str], field: str) -> dict[str, Any]:
        response = await client.get(FLOW, params=params, headers=owner.headers)
        return assert_problem(response, 422, fields={field})

    body = await problem({"from": "2025-02-02", "to": "2025-02-01"}, "query.from")
    assert "after `to`" in body["detail"]
    body = await problem({"from": "2024-01-01", "to": "2025-01-01"}, "query.from")
    assert "367 days" in body["detail"]
    await problem({"from": "2999-01-01"}, "query.from")
    await problem({"from": "yesterday"}, "query.from")
    await problem({"to": "2025-13-01"}, "query.to")
    await problem({"to": "1900-01-01"}, "query.to")
    # 366 days is allowed.
    await get_flow(client, owner, **{"from": "2024-01-01", "to": "2024-12-31"})


async def test_viewers_read_and_outsiders_get_404(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _ = await setup(client, factory)
    viewer = await factory.user()
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    body = await get_flow(client, viewer)
    assert len(body["cumulative_flow"]) == 30
    outsider = await factory.user()
    assert_problem(await client.get(FLOW, headers=outsider.headers), 404)
    assert_problem(await client.get("/api/v1/projects/NOPE/flow", headers=owner.headers), 404)
    assert (await client.get(FLOW)).status_code == 401
