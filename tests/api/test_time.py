"""The time report (hours by member, item, sprint, epic and week, worked out by hand) and the
items' hour estimates — on real PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from time_machine import TimeMachineFixture

from tests.factories import Actor, Factory
from tests.helpers import assert_problem, history

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
SPRINTS = f"{PROJECTS}/WEB/sprints"
TIME = f"{PROJECTS}/WEB/time"


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


@pytest.fixture(autouse=True)
def monday(time_machine: TimeMachineFixture) -> None:
    freeze(time_machine, "2026-11-30T12:00:00")


async def sprint(
    client: httpx.AsyncClient, owner: Actor, start: str, end: str, *, state: str
) -> int:
    """A sprint over the dates, started and (for `completed`) completed, or `cancelled`."""
    made = await client.post(
        SPRINTS, headers=owner.headers, json={"start_date": start, "end_date": end}
    )
    assert made.status_code == 201, made.text
    number: int = made.json()["number"]
    if state == "planned":
        return number
    if state == "cancelled":
        cancelled = await client.post(f"{SPRINTS}/{number}/cancel", headers=owner.headers)
        assert cancelled.status_code == 200, cancelled.text
        return number
    started = await client.post(f"{SPRINTS}/{number}/start", headers=owner.headers)
    assert started.status_code == 200, started.text
    if state == "completed":
        done = await client.post(
            f"{SPRINTS}/{number}/complete", headers=owner.headers, json={"carry_over": "backlog"}
        )
        assert done.status_code == 200, done.text
    return number


async def item(client: httpx.AsyncClient, owner: Actor, **body: Any) -> int:
    made = await client.post(ITEMS, headers=owner.headers, json=body)
    assert made.status_code == 201, made.text
    number: int = made.json()["number"]
    return number


async def log(client: httpx.AsyncClient, actor: Actor, number: int, day: str, hours: float) -> None:
    made = await client.post(
        f"{ITEMS}/{number}/worklogs", headers=actor.headers, json={"date": day, "hours": hours}
    )
    assert made.status_code == 201, made.text


async def report(client: httpx.AsyncClient, actor: Actor, **params: Any) -> dict[str, Any]:
    response = await client.get(TIME, headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def groups(body: dict[str, Any]) -> list[tuple[str, str, float, int]]:
    return [(g["key"], g["label"], g["hours"], g["logs"]) for g in body["groups"]]


@pytest.fixture
async def logged(client: httpx.AsyncClient, factory: Factory) -> tuple[Actor, Actor, Actor]:
    """WEB: a cancelled sprint 1 over late October, sprint 2 (Nov 2–13, completed), 3 (Nov
    16–27, completed), 4 (from Nov 30, active); epic WEB-1 with child story WEB-2, story WEB-3
    with no epic. The member logs 2 h on WEB-2 on Nov 3 and 3 h on WEB-3 today; the owner 1 h on the
    epic itself on Nov 17 and 0.5 h on WEB-3 on Oct 30 (outside any sprint that ran)."""
    owner, member, viewer, _ = await factory.team()
    await sprint(client, owner, "2026-10-19", "2026-10-31", state="cancelled")
    await sprint(client, owner, "2026-11-02", "2026-11-13", state="completed")
    await sprint(client, owner, "2026-11-16", "2026-11-27", state="completed")
    await sprint(client, owner, "2026-11-30", "2026-12-11", state="active")
    epic = await item(client, owner, title="Checkout", type="epic")
    child = await item(client, owner, title="Saved cards", parent=epic)
    loose = await item(client, owner, title="Receipts")
    assert (epic, child, loose) == (1, 2, 3)
    await log(client, member, child, "2026-11-03", 2)
    await log(client, owner, epic, "2026-11-17", 1)
    await log(client, member, loose, "2026-11-30", 3)
    await log(client, owner, loose, "2026-10-30", 0.5)
    return owner, member, viewer


RANGE = {"from": "2026-10-01", "to": "2026-11-30"}


async def test_hours_by_member(
    client: httpx.AsyncClient, logged: tuple[Actor, Actor, Actor]
) -> None:
    owner, member, viewer = logged

    body = await report(client, viewer, group_by="member", **RANGE)

    assert (body["from"], body["to"], body["group_by"]) == ("2026-10-01", "2026-11-30", "member")
    assert (body["total_hours"], body["logs"], body["member_id"]) == (6.5, 4, None)
    member_name = member.email.split("@")[0]
    owner_name = owner.email.split("@")[0]
    assert groups(body) == [
        (str(member.id), member_name, 5, 2),
        (str(owner.id), owner_name, 1.5, 2),
    ]
    assert [g["user_id"] for g in body["groups"]] == [member.id, owner.id]


async def test_hours_by_item_most_first(
    client: httpx.AsyncClient, logged: tuple[Actor, Actor, Actor]
) -> None:
    body = await report(client, logged[2], group_by="item", **RANGE)

    assert groups(body) == [
        ("WEB-3", "Receipts", 3.5, 2),
        ("WEB-2", "Saved cards", 2, 1),
        ("WEB-1", "Checkout", 1, 1),
    ]
    assert [g["number"] for g in body["groups"]] == [3, 2, 1]


async def test_hours_by_epic_count_the_epic_and_its_children(
    client: httpx.AsyncClient, logged: tuple[Actor, Actor, Actor]
) -> None:
    body = await report(client, logged[2], group_by="epic", **RANGE)

    assert groups(body) == [("WEB-1", "Checkout", 3, 2), ("none", "No epic", 3.5, 2)]


async def test_hours_by_the_sprint_that_ran_on_the_day(
    client: httpx.AsyncClient, logged: tuple[Actor, Actor, Actor]
) -> None:
    body = await report(client, logged[2], group_by="sprint", **RANGE)

    # Oct 30 lies in the cancelled sprint 1's dates: a cancelled sprint never ran.
    assert groups(body) == [
        ("2", "Sprint 2", 2, 1),
        ("3", "Sprint 3", 1, 1),
        ("4", "Sprint 4", 3, 1),
        ("none", "Outside any sprint", 0.5, 1),
    ]


async def test_hours_by_iso_week(
    client: httpx.AsyncClient, logged: tuple[Actor, Actor, Actor]
) -> None:
    body = await report(client, logged[2], group_by="week", **RANGE)

    assert groups(body) == [
        ("2026-W44", "Week of 2026-10-26", 0.5, 1),
        ("2026-W45", "Week of 2026-11-02", 2, 1),
        ("2026-W47", "Week of 2026-11-16", 1, 1),
        ("2026-W49", "Week of 2026-11-30", 3, 1),
    ]
    assert [g["week_start"] for g in body["groups"]] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-16",
        "2026-11-30",
    ]


async def test_the_range_is_inclusive_and_narrows_to_a_member(
    client: httpx.AsyncClient, logged: tuple[Actor, Actor, Actor]
) -> None:
    _, member, viewer = logged

    one_day = await report(
        client, viewer, group_by="item", **{"from": "2026-11-03", "to": "2026-11-03"}
    )
    assert groups(one_day) == [("WEB-2", "Saved cards", 2, 1)]
    mine = await report(client, viewer, group_by="week", member=member.id, **RANGE)
    assert (mine["total_hours"], mine["member_id"]) == (5, member.id)
    assert [g["key"] for g in mine["groups"]] == ["2026-W45", "2026-W49"]
    # By default: the 30 days up to today (Nov 1 to Nov 30), grouped by member.
    default = await report(client, viewer)
    assert (default["from"], default["to"], default["group_by"]) == (
        "2026-11-01",
        "2026-11-30",
        "member",
    )
    assert default["total_hours"] == 6
    from_only = await report(client, viewer, **{"from": "2026-10-30"})
    assert (from_only["to"], from_only["total_hours"]) == ("2026-11-28", 3.5)
    empty = await report(client, viewer, **{"from": "2025-01-01", "to": "2025-12-31"})
    assert (empty["total_hours"], empty["logs"], empty["groups"]) == (0, 0, [])


async def test_bad_ranges_and_groupings_are_422s_naming_the_parameter(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()

    async def bad(field: str, **params: Any) -> None:
        response = await client.get(TIME, headers=owner.headers, params=params)
        assert_problem(response, 422, field)

    await bad("query.to", **{"from": "2026-11-10", "to": "2026-11-09"})
    await bad("query.to", **{"from": "2025-11-29", "to": "2026-11-30"})
    await bad("query.group_by", group_by="status")
    await bad("query.from", **{"from": "2026-11-31"})
    await bad("query.to", to="0")
    await bad("query.member", member="me")
    # 366 days is the longest range.
    response = await client.get(
        TIME, headers=owner.headers, params={"from": "2025-11-30", "to": "2026-11-30"}
    )
    assert response.status_code == 200, response.text


# --- hour estimates on items ------------------------------------------------------------------


async def test_items_carry_hour_estimates_through_the_write_path(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, viewer, _ = await factory.team()
    number = await item(client, owner, title="Card vault", original_estimate_hours=16)

    shown = await client.get(f"{ITEMS}/{number}", headers=viewer.headers)
    assert (shown.json()["original_estimate_hours"], shown.json()["remaining_hours"]) == (16, None)
    changed = await client.patch(
        f"{ITEMS}/{number}", headers=owner.headers, json={"remaining_hours": 6.5}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["remaining_hours"] == 6.5
    cleared = await client.patch(
        f"{ITEMS}/{number}",
        headers=owner.headers,
        json={"original_estimate_hours": None, "remaining_hours": 0},
    )
    assert (cleared.json()["original_estimate_hours"], cleared.json()["remaining_hours"]) == (
        None,
        0,
    )

    events = await history(client, viewer, number)
    assert events[0]["new_value"]["original_estimate"] == 16
    assert events[0]["new_value"]["remaining_hours"] is None
    changes = [(e["field"], e["old_value"], e["new_value"]) for e in events[1:]]
    assert changes == [
        ("remaining_hours", None, 6.5),
        ("original_estimate", 16, None),
        ("remaining_hours", 6.5, 0),
    ]


async def test_hour_estimates_are_0_to_10000_to_the_hundredth(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await item(client, owner, title="Estimated")

    for field in ("original_estimate_hours", "remaining_hours"):
        for bad in (-0.5, 10000.01, 1.005, "8", True, float("1e6")):
            response = await client.patch(
                f"{ITEMS}/{number}", headers=owner.headers, json={field: bad}
            )
            assert_problem(response, 422, f"body.{field}")
        created = await client.post(ITEMS, headers=owner.headers, json={"title": "X", field: -1})
        assert_problem(created, 422, f"body.{field}")
    batch = await client.post(
        f"{ITEMS}/batch",
        headers=owner.headers,
        json={"items": [{"title": "A"}, {"title": "B", "remaining_hours": 10001}]},
    )
    assert_problem(batch, 422, "body.items.1.remaining_hours")
    top = await client.patch(
        f"{ITEMS}/{number}",
        headers=owner.headers,
        json={"original_estimate_hours": 10000, "remaining_hours": 0.01},
    )
    assert (top.json()["original_estimate_hours"], top.json()["remaining_hours"]) == (10000, 0.01)
