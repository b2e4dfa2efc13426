"""Sprint workload over HTTP: who carries what against capacity, live while planned or active,
frozen at completion, with hand-worked figures — on real PostgreSQL."""

from typing import Any

import httpx
from sqlalchemy import text

from app.db import Database
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, status_ids

PROJECTS = "/api/v1/projects"
SPRINTS = f"{PROJECTS}/WEB/sprints"
ITEMS = f"{PROJECTS}/WEB/items"
MON_FRI = ["mon", "tue", "wed", "thu", "fri"]
# Mon 30 November to Fri 11 December 2026: 10 working days Mon to Fri.
START, END = "2026-11-30", "2026-12-11"


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def get_workload(client: httpx.AsyncClient, actor: Actor, number: int) -> dict[str, Any]:
    return await ok(await client.get(f"{SPRINTS}/{number}/workload", headers=actor.headers))


async def put_capacity(
    client: httpx.AsyncClient, actor: Actor, number: int, members: list[tuple[Actor, int]]
) -> None:
    body = {"members": [{"user_id": a.id, "availability": share} for a, share in members]}
    await ok(await client.put(f"{SPRINTS}/{number}/capacity", headers=actor.headers, json=body))


def item(number: int, title: str, points: float | None) -> dict[str, Any]:
    return {"number": number, "key": f"WEB-{number}", "title": title, "points": points}


def name(actor: Actor) -> str:
    return actor.email.split("@")[0]


async def test_a_planned_sprint_without_history_shows_points_and_person_days(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team(working_days=MON_FRI)
    a = await factory.item("WEB", owner, title="A", points=5, assignee_id=owner.id)
    b = await factory.item("WEB", owner, title="B", points=3, assignee_id=owner.id)
    c = await factory.item("WEB", owner, title="C", points=2, assignee_id=member.id)
    d = await factory.item("WEB", owner, title="D", points=2, assignee_id=viewer.id)
    e = await factory.item("WEB", owner, title="E", points=1)
    f = await factory.item("WEB", owner, title="F", assignee_id=member.id)
    number = await factory.sprint(
        "WEB", owner, items=[a, b, c, d, e, f], start_date=START, end_date=END
    )
    # Owner 10 working days x 100 % = 10; member x 50 % = 5; the viewer has no capacity.
    await put_capacity(client, owner, number, [(owner, 100), (member, 50)])

    body = await get_workload(client, viewer, number)

    assert (body["number"], body["state"], body["frozen"]) == (number, "planned", False)
    assert (body["recorded_capacity"], body["points_per_person_day"]) == (True, None)
    assert body["members"] == [
        {
            "user_id": owner.id,
            "display_name": name(owner),
            "member": True,
            "items": [item(a, "A", 5), item(b, "B", 3)],
            "assigned_points": 8,
            "person_days": 10,
            "capacity_points": None,
            "load": None,
            "over_allocated": False,
        },
        {
            "user_id": member.id,
            "display_name": name(member),
            "member": True,
            "items": [item(c, "C", 2), item(f, "F", None)],
            "assigned_points": 2,
            "person_days": 5,
            "capacity_points": None,
            "load": None,
            "over_allocated": False,
        },
        {
            # Points with no person-days: over-allocated even without a rate.
            "user_id": viewer.id,
            "display_name": name(viewer),
            "member": True,
            "items": [item(d, "D", 2)],
            "assigned_points": 2,
            "person_days": 0,
            "capacity_points": None,
            "load": None,
            "over_allocated": True,
        },
    ]
    assert body["over_allocated"] == [viewer.id]
    assert body["unassigned"] == {"items": [item(e, "E", 1)], "points": 1, "flagged": True}
    # 5 + 3 + 2 + 2 + 1 = 13 points, 12 of them assigned; 15 person-days.
    assert body["totals"] == {
        "points": 13,
        "assigned_points": 12,
        "unassigned_points": 1,
        "person_days": 15,
        "capacity_points": None,
        "load": None,
    }


async def test_without_recorded_capacity_planners_count_at_full_time(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team(working_days=MON_FRI)
    a = await factory.item("WEB", owner, points=3, assignee_id=member.id)
    number = await factory.sprint("WEB", owner, items=[a], start_date=START, end_date=END)
    body = await get_workload(client, owner, number)
    assert body["recorded_capacity"] is False
    assert [(m["user_id"], m["person_days"], m["assigned_points"]) for m in body["members"]] == [
        (owner.id, 10, 0),
        (member.id, 10, 3),
    ]
    assert body["unassigned"] == {"items": [], "points": 0, "flagged": False}
    # Someone who left the project but still holds an item is shown, marked as no member.
    async with database.engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM project_members WHERE user_id = :id"), {"id": member.id}
        )
    body = await get_workload(client, owner, number)
    gone = [m for m in body["members"] if m["user_id"] == member.id]
    assert [(m["member"], m["person_days"], m["over_allocated"]) for m in gone] == [
        (False, 0, True)
    ]


async def completed_sprint(
    client: httpx.AsyncClient,
    factory: Factory,
    owner: Actor,
    member: Actor,
    dates: tuple[str, str],
    done_points: float,
) -> None:
    """A one-week sprint with owner and member at 100 % that completed `done_points`."""
    done = await factory.item("WEB", owner, points=done_points)
    number = await factory.sprint(
        "WEB", owner, items=[done], start_date=dates[0], end_date=dates[1]
    )
    await put_capacity(client, owner, number, [(owner, 100), (member, 100)])
    await factory.start_sprint("WEB", owner, number)
    done_id = (await status_ids(client, owner))["Done"]
    await ok(
        await client.patch(f"{ITEMS}/{done}", headers=owner.headers, json={"status_id": done_id})
    )
    await ok(await client.post(f"{SPRINTS}/{number}/complete", headers=owner.headers))


async def test_loads_at_the_recent_rate_and_the_workload_freezes_at_completion(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team(working_days=MON_FRI)
    # Three earlier weeks of 2 x 5 = 10 person-days each, completing 5 + 8 + 2 = 15 points:
    # 15 / 30 = 0.5 points per person-day.
    for dates, points in (
        (("2026-11-02", "2026-11-06"), 5),
        (("2026-11-09", "2026-11-13"), 8),
        (("2026-11-16", "2026-11-20"), 2),
    ):
        await completed_sprint(client, factory, owner, member, dates, points)
    a = await factory.item("WEB", owner, title="A", points=5, assignee_id=owner.id)
    b = await factory.item("WEB", owner, title="B", points=1, assignee_id=owner.id)
    c = await factory.item("WEB", owner, title="C", points=2, assignee_id=member.id)
    d = await factory.item("WEB", owner, title="D", points=3)
    number = await factory.sprint("WEB", owner, items=[a, b, c, d], start_date=START, end_date=END)
    # Owner 10 person-days → 5 points of capacity; member 5 → 2.5.
    await put_capacity(client, owner, number, [(owner, 100), (member, 50)])
    await factory.start_sprint("WEB", owner, number)

    live = await get_workload(client, viewer, number)

    assert (live["state"], live["frozen"], live["points_per_person_day"]) == ("active", False, 0.5)
    figures = [
        (m["user_id"], m["assigned_points"], m["person_days"], m["capacity_points"], m["load"])
        for m in live["members"]
    ]
    # Owner 6 / 5 = 1.2 (over); member 2 / 2.5 = 0.8.
    assert figures == [(owner.id, 6, 10, 5, 1.2), (member.id, 2, 5, 2.5, 0.8)]
    assert [m["over_allocated"] for m in live["members"]] == [True, False]
    assert live["over_allocated"] == [owner.id]
    assert live["unassigned"] == {"items": [item(d, "D", 3)], "points": 3, "flagged": True}
    # 11 points against 15 x 0.5 = 7.5: 1.4666… shown as 1.47.
    assert live["totals"] == {
        "points": 11,
        "assigned_points": 8,
        "unassigned_points": 3,
        "person_days": 15,
        "capacity_points": 7.5,
        "load": 1.47,
    }

    done_id = (await status_ids(client, owner))["Done"]
    await ok(await client.patch(f"{ITEMS}/{a}", headers=owner.headers, json={"status_id": done_id}))
    await ok(await client.post(f"{SPRINTS}/{number}/complete", headers=owner.headers))
    frozen = await get_workload(client, viewer, number)
    assert (frozen["state"], frozen["frozen"]) == ("completed", True)
    unfrozen = {k: v for k, v in frozen.items() if k not in ("state", "frozen")}
    assert unfrozen == {k: v for k, v in live.items() if k not in ("state", "frozen")}

    # B, C and D went back to the backlog: changing them later moves nothing in the record.
    await ok(
        await client.patch(
            f"{ITEMS}/{b}", headers=owner.headers, json={"points": 13, "assignee_id": member.id}
        )
    )
    await ok(
        await client.patch(f"{ITEMS}/{d}", headers=owner.headers, json={"assignee_id": owner.id})
    )
    again = await client.get(f"{SPRINTS}/{number}/workload", headers=viewer.headers)
    assert again.json() == frozen
    assert (
        again.headers["etag"]
        == (await client.get(f"{SPRINTS}/{number}/workload", headers=viewer.headers)).headers[
            "etag"
        ]
    )


async def test_a_cancelled_sprint_has_no_workload(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, viewer, _ = await factory.team(working_days=MON_FRI)
    a = await factory.item("WEB", owner, points=3, assignee_id=owner.id)
    number = await factory.sprint("WEB", owner, items=[a], start_date=START, end_date=END)
    await ok(await client.post(f"{SPRINTS}/{number}/cancel", headers=owner.headers))
    body = assert_problem(
        await client.get(f"{SPRINTS}/{number}/workload", headers=viewer.headers), 409
    )
    assert "cancelled" in body["detail"]
    assert_problem(await client.get(f"{SPRINTS}/99/workload", headers=viewer.headers), 404)
