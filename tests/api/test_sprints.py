"""Sprints API: scheduling, dates, numbering, membership (logged), list and board scopes,
starting with a frozen commitment, delete, roles — HTTP on real PostgreSQL."""

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.sprints import repository as sprint_repository
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, etag_version, get_item, pause_after, status_ids

PROJECTS = "/api/v1/projects"
SPRINTS = f"{PROJECTS}/WEB/sprints"
ITEMS = f"{PROJECTS}/WEB/items"
MON_FRI = ["mon", "tue", "wed", "thu", "fri"]


# --- helpers ---------------------------------------------------------------------------------


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def create(
    client: httpx.AsyncClient, actor: Actor, body: Any, key: str = "WEB"
) -> httpx.Response:
    return await client.post(f"{PROJECTS}/{key}/sprints", headers=actor.headers, json=body)


async def created(
    client: httpx.AsyncClient, actor: Actor, body: Any, key: str = "WEB"
) -> dict[str, Any]:
    response = await create(client, actor, body, key)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def get_sprint(client: httpx.AsyncClient, actor: Actor, number: int) -> dict[str, Any]:
    response = await client.get(f"{SPRINTS}/{number}", headers=actor.headers)
    assert response.status_code == 200, response.text
    assert etag_version(response) == response.json()["version"]
    body: dict[str, Any] = response.json()
    return body


def dates(sprint: dict[str, Any]) -> tuple[str, str]:
    return sprint["start_date"], sprint["end_date"]


async def add(
    client: httpx.AsyncClient, actor: Actor, number: int, items: list[int]
) -> httpx.Response:
    return await client.post(
        f"{SPRINTS}/{number}/items", headers=actor.headers, json={"items": items}
    )


async def remove(
    client: httpx.AsyncClient, actor: Actor, number: int, items: list[int]
) -> httpx.Response:
    return await client.request(
        "DELETE", f"{SPRINTS}/{number}/items", headers=actor.headers, json={"items": items}
    )


async def start(
    client: httpx.AsyncClient, actor: Actor, number: int, **headers: str
) -> httpx.Response:
    return await client.post(f"{SPRINTS}/{number}/start", headers={**actor.headers, **headers})


async def patch_item(
    client: httpx.AsyncClient, actor: Actor, number: int, body: Any
) -> httpx.Response:
    return await client.patch(f"{ITEMS}/{number}", headers=actor.headers, json=body)


async def sprint_of(client: httpx.AsyncClient, actor: Actor, number: int) -> int | None:
    sprint: int | None = (await get_item(client, actor, number))["sprint"]
    return sprint


async def sprint_events(
    client: httpx.AsyncClient, actor: Actor, number: int
) -> list[tuple[Any, Any]]:
    """(old, new) of each `sprint` change in an item's history, oldest first."""
    response = await client.get(
        f"{ITEMS}/{number}/history", headers=actor.headers, params={"limit": 200}
    )
    assert response.status_code == 200, response.text
    return [
        (event["old_value"], event["new_value"])
        for event in response.json()["data"]
        if event["field"] == "sprint"
    ]


async def item_numbers(client: httpx.AsyncClient, actor: Actor, **params: Any) -> list[int]:
    response = await client.get(ITEMS, headers=actor.headers, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [item["number"] for item in response.json()["data"]]


async def board_numbers(client: httpx.AsyncClient, actor: Actor, sprint: str) -> list[int]:
    response = await client.get(
        f"{PROJECTS}/WEB/board", headers=actor.headers, params={"sprint": sprint}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == sprint
    return sorted(item["number"] for column in body["columns"] for item in column["items"])


async def scalar(database: Database, sql: str) -> Any:
    async with database.engine.connect() as connection:
        return (await connection.execute(text(sql))).scalar_one()


async def rows(database: Database, sql: str) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(text(sql))).all()]


async def commitments(database: Database, sprint: int) -> list[tuple[int, float | None]]:
    """(item number, frozen points) of a WEB sprint's commitment rows."""
    found = await rows(
        database,
        "SELECT c.item_number, c.points FROM sprint_commitments c "
        "JOIN sprints s ON s.id = c.sprint_id JOIN projects p ON p.id = s.project_id "
        f"WHERE p.key = 'WEB' AND s.number = {sprint} ORDER BY c.item_number",
    )
    return [(row[0], row[1]) for row in found]


# --- create and automatic scheduling ---------------------------------------------------------


async def test_first_sprint_without_dates_starts_today(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")  # a Wednesday
    owner, member, _, _ = await factory.team()

    response = await create(client, member, {})

    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{SPRINTS}/1"
    assert etag_version(response) == 1
    body = response.json()
    # Wed 5 March + 13 days = Tue 18 March, a working day.
    assert body == {
        "number": 1,
        "name": "Sprint 1",
        "goal": "",
        "start_date": "2025-03-05",
        "end_date": "2025-03-18",
        "state": "planned",
        "started_at": None,
        "committed_items": None,
        "committed_points": None,
        "completed_at": None,
        "completed_items": None,
        "completed_points": None,
        "goal_outcome": None,
        "review_notes": "",
        "carried_over_to": None,
        "item_count": 0,
        "points": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "version": 1,
    }
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert await get_sprint(client, owner, 1) == body


async def test_next_sprint_starts_the_monday_after_one_ending_on_a_friday(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")
    owner, _, _, _ = await factory.team(sprint_length_days=14, working_days=MON_FRI)
    first = await created(
        client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-14", "goal": "Login"}
    )
    assert dates(first) == ("2025-03-03", "2025-03-14")
    assert first["goal"] == "Login"

    second = await created(client, owner, {"name": "Checkout"})
    third = await created(client, owner, {})

    # Mon 17 March + 13 = Sun 30 March, moved back to Fri 28 March.
    assert (second["number"], second["name"]) == (2, "Checkout")
    assert dates(second) == ("2025-03-17", "2025-03-28")
    assert date.fromisoformat(second["start_date"]).weekday() == 0
    assert date.fromisoformat(second["end_date"]).weekday() == 4
    assert (third["number"], third["name"]) == (3, "Sprint 3")
    assert dates(third) == ("2025-03-31", "2025-04-11")


async def test_a_sprint_planned_on_a_weekend_starts_on_monday(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2025-03-08T12:00:00")  # a Saturday
    owner, _, _, _ = await factory.team()
    body = await created(client, owner, {})
    # Mon 10 March + 13 = Sun 23 March, back to Fri 21 March.
    assert dates(body) == ("2025-03-10", "2025-03-21")


async def test_the_next_slot_follows_the_latest_end_not_the_latest_number(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-04-07", "end_date": "2025-04-18"})
    await created(client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-14"})
    # Latest end is Fri 18 April: Mon 21 April to Fri 2 May.
    assert dates(await created(client, owner, {})) == ("2025-04-21", "2025-05-02")


@pytest.mark.parametrize(
    ("now", "first", "second"),
    [
        # Wednesday: Wed 5 + 6 = Tue 11; then Wed 12 + 6 = Tue 18.
        ("2025-03-05T10:00:00", ("2025-03-05", "2025-03-11"), ("2025-03-12", "2025-03-18")),
        # Monday: Mon 3 + 6 = Sun 9, back to Fri 7; then Mon 10 to Fri 14.
        ("2025-03-03T10:00:00", ("2025-03-03", "2025-03-07"), ("2025-03-10", "2025-03-14")),
        # Sunday: Mon 10 to Fri 14; then Mon 17 to Fri 21.
        ("2025-03-09T10:00:00", ("2025-03-10", "2025-03-14"), ("2025-03-17", "2025-03-21")),
    ],
    ids=["wednesday", "monday", "sunday"],
)
async def test_one_week_sprints(
    client: httpx.AsyncClient,
    factory: Factory,
    time_machine: TimeMachineFixture,
    now: str,
    first: tuple[str, str],
    second: tuple[str, str],
) -> None:
    freeze(time_machine, now)
    owner, _, _, _ = await factory.team(sprint_length_days=7, working_days=MON_FRI)
    assert dates(await created(client, owner, {})) == first
    assert dates(await created(client, owner, {})) == second


async def test_weekend_only_working_days(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")  # a Wednesday
    owner, _, _, _ = await factory.team(sprint_length_days=7, working_days=["sat", "sun"])
    # Sat 8 + 6 = Fri 14, moved back over Thu..Mon to Sun 9.
    assert dates(await created(client, owner, {})) == ("2025-03-08", "2025-03-09")
    # The day after Sun 9 is Mon 10; the first working day is Sat 15.
    assert dates(await created(client, owner, {})) == ("2025-03-15", "2025-03-16")


@pytest.mark.parametrize(
    ("length", "working_days", "expected"),
    [
        # One-day sprints on Wednesdays only: Wed 5, then Wed 12.
        (1, ["wed"], [("2025-03-05", "2025-03-05"), ("2025-03-12", "2025-03-12")]),
        # Three days, Mondays only: Mon 10 + 2 = Wed 12, back to Mon 10.
        (3, ["mon"], [("2025-03-10", "2025-03-10"), ("2025-03-17", "2025-03-17")]),
        # Every day works: no moving at all.
        (
            10,
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            [("2025-03-05", "2025-03-14"), ("2025-03-15", "2025-03-24")],
        ),
    ],
    ids=["one-day-wednesdays", "three-days-mondays", "seven-day-week"],
)
async def test_sparse_and_full_working_weeks(
    client: httpx.AsyncClient,
    factory: Factory,
    time_machine: TimeMachineFixture,
    length: int,
    working_days: list[str],
    expected: list[tuple[str, str]],
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")
    owner, _, _, _ = await factory.team(sprint_length_days=length, working_days=working_days)
    assert [dates(await created(client, owner, {})) for _ in expected] == expected


@pytest.mark.parametrize(
    ("now", "time_zone", "expected"),
    [
        # Fri 7 March 20:00 UTC is already Sat 8 March 09:00 in Auckland: starts Monday.
        ("2025-03-07T20:00:00", "Pacific/Auckland", ("2025-03-10", "2025-03-21")),
        ("2025-03-07T20:00:00", "UTC", ("2025-03-07", "2025-03-20")),
        # Sat 8 March 03:00 UTC is still Fri 7 March 19:00 in Los Angeles.
        ("2025-03-08T03:00:00", "America/Los_Angeles", ("2025-03-07", "2025-03-20")),
        ("2025-03-08T03:00:00", "UTC", ("2025-03-10", "2025-03-21")),
    ],
    ids=["auckland-saturday", "utc-friday", "los-angeles-friday", "utc-saturday"],
)
async def test_today_is_taken_in_the_projects_time_zone(
    client: httpx.AsyncClient,
    factory: Factory,
    time_machine: TimeMachineFixture,
    now: str,
    time_zone: str,
    expected: tuple[str, str],
) -> None:
    freeze(time_machine, now)
    owner, _, _, _ = await factory.team(time_zone=time_zone)
    assert dates(await created(client, owner, {})) == expected


async def test_cancelled_sprints_neither_set_the_next_slot_nor_block_dates(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    time_machine: TimeMachineFixture,
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-14"})
    await created(client, owner, {"start_date": "2025-03-17", "end_date": "2025-03-28"})
    # Cancelling is not in the API yet; put sprint 2 into that state directly.
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE sprints SET state = 'cancelled' WHERE number = 2"))

    third = await created(client, owner, {})
    assert (third["number"], dates(third)) == (3, ("2025-03-17", "2025-03-28"))


async def test_create_with_explicit_fields(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    body = await created(
        client,
        owner,
        {
            "name": "  Payments  ",
            "goal": "Take card payments",
            "start_date": "2024-12-30",
            "end_date": "2025-01-01",
        },
    )
    assert body["name"] == "Payments"
    assert body["goal"] == "Take card payments"
    # Explicit dates are kept as given, weekends and the past included.
    assert dates(body) == ("2024-12-30", "2025-01-01")
    one_day = await created(client, owner, {"start_date": "2025-01-04", "end_date": "2025-01-04"})
    assert dates(one_day) == ("2025-01-04", "2025-01-04")


# --- date validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_date", "end_date"),
    [
        ("2025-03-21", "2025-03-25"),  # starts on the other's last day
        ("2025-03-01", "2025-03-10"),  # ends on the other's first day
        ("2025-03-12", "2025-03-14"),  # inside
        ("2025-03-01", "2025-03-31"),  # around
        ("2025-03-10", "2025-03-21"),  # the same dates
    ],
    ids=["last-day", "first-day", "inside", "around", "same"],
)
async def test_overlapping_dates_are_a_conflict_and_write_nothing(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    start_date: str,
    end_date: str,
) -> None:
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-03-10", "end_date": "2025-03-21"})

    response = await create(client, owner, {"start_date": start_date, "end_date": end_date})

    body = assert_problem(response, 409, fields={"body.start_date"})
    assert "sprint 1" in body["detail"]
    assert await scalar(database, "SELECT count(*) FROM sprints") == 1
    # The refused request did not use up a number either.
    assert (await created(client, owner, {"start_date": "2025-04-01", "end_date": "2025-04-02"}))[
        "number"
    ] == 2


async def test_adjacent_dates_do_not_overlap(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-03-10", "end_date": "2025-03-21"})
    before = await created(client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-09"})
    after = await created(client, owner, {"start_date": "2025-03-22", "end_date": "2025-03-22"})
    assert [before["number"], after["number"]] == [2, 3]


async def test_other_projects_sprints_never_overlap(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.project(owner, "APP")
    same = {"start_date": "2025-03-10", "end_date": "2025-03-21"}
    assert (await created(client, owner, same))["number"] == 1
    assert (await created(client, owner, same, key="APP"))["number"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_date": "2025-03-10", "end_date": "2025-03-09"}, "body.end_date"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "body.end_date"),
        ({"start_date": "1969-12-31", "end_date": "1970-01-09"}, "body.start_date"),
        ({"start_date": "9999-12-01", "end_date": "9999-12-31"}, "body.start_date"),
        ({"start_date": "2025-03-10"}, None),
        ({"end_date": "2025-03-10"}, None),
        ({"start_date": "2025-02-30", "end_date": "2025-03-10"}, "body.start_date"),
        ({"start_date": "2025-03-01", "end_date": "next friday"}, "body.end_date"),
        ({"name": ""}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 121}, "body.name"),
        ({"goal": "x" * 10_001}, "body.goal"),
        ({"state": "active"}, "body.state"),
        ({"number": 7}, "body.number"),
    ],
    ids=[
        "end-before-start",
        "longer-than-366-days",
        "before-1970",
        "year-9999",
        "start-only",
        "end-only",
        "no-such-day",
        "not-a-date",
        "empty-name",
        "blank-name",
        "long-name",
        "long-goal",
        "state-field",
        "number-field",
    ],
)
async def test_invalid_sprints_are_rejected_and_nothing_is_written(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    body: dict[str, Any],
    field: str | None,
) -> None:
    owner, _, _, _ = await factory.team()
    response = await create(client, owner, body)
    assert_problem(response, 422, field)
    assert await scalar(database, "SELECT count(*) FROM sprints") == 0
    assert await scalar(database, "SELECT next_sprint_number FROM projects") == 0


# --- numbering, reading, listing -------------------------------------------------------------


async def test_numbers_are_per_project_and_never_reused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.project(owner, "APP")
    assert [(await created(client, owner, {}))["number"] for _ in range(3)] == [1, 2, 3]
    assert (await created(client, owner, {}, key="APP"))["number"] == 1

    assert (await client.delete(f"{SPRINTS}/3", headers=owner.headers)).status_code == 204
    assert (await created(client, owner, {}))["number"] == 4
    assert (await created(client, owner, {}, key="APP"))["number"] == 2


@pytest.mark.parametrize("number", ["99", "0", "-1", "9223372036854775808"])
async def test_unknown_sprints_are_404(
    client: httpx.AsyncClient, factory: Factory, number: str
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.sprint("WEB", owner)
    assert_problem(await client.get(f"{SPRINTS}/{number}", headers=owner.headers), 404)
    assert_problem(
        await client.patch(f"{SPRINTS}/{number}", headers=owner.headers, json={"goal": "x"}), 404
    )
    assert_problem(await client.delete(f"{SPRINTS}/{number}", headers=owner.headers), 404)
    assert_problem(await start(client, owner, int(number)), 404)
    assert_problem(await add(client, owner, int(number), [1]), 404)


async def test_list_is_paginated_by_number_with_current_scope(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")
    owner, _, viewer, _ = await factory.team()
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner, points=5)
    c = await factory.item("WEB", owner)
    for _ in range(5):
        await factory.sprint("WEB", owner)
    assert (await add(client, owner, 2, [a, b, c])).status_code == 200
    await factory.sprint("WEB", owner, goal="Sixth")
    await factory.project(owner, "APP")
    await factory.sprint("APP", owner)

    seen: list[dict[str, Any]] = []
    url: str | None = f"{SPRINTS}?limit=2"
    pages = 0
    while url:
        response = await client.get(url, headers=viewer.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= 2
        seen.extend(body["data"])
        pages += 1
        if body["next_cursor"]:
            assert 'rel="next"' in response.headers["Link"]
            url = response.headers["Link"].split(">")[0].lstrip("<")
        else:
            assert "Link" not in response.headers
            url = None

    assert pages == 3
    assert [s["number"] for s in seen] == [1, 2, 3, 4, 5, 6]
    assert [(s["item_count"], s["points"]) for s in seen] == [
        (0, 0),
        (3, 8),  # the unestimated item counts 0 points
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
    ]
    assert dates(seen[0]) == ("2025-03-05", "2025-03-18")
    assert dates(seen[1]) == ("2025-03-19", "2025-04-01")
    assert seen[1] == await get_sprint(client, viewer, 2)
    everything = await client.get(SPRINTS, headers=viewer.headers)
    assert everything.json()["data"] == seen
    assert everything.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"cursor": "garbage"}, "query.cursor"),
    ],
)
async def test_list_rejects_bad_paging(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, Any], field: str
) -> None:
    owner, _, _, _ = await factory.team()
    response = await client.get(SPRINTS, headers=owner.headers, params=params)
    assert_problem(response, 422, fields={field})


# --- update ----------------------------------------------------------------------------------


async def test_update_name_goal_and_dates(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, member, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-14"})
    await created(client, owner, {"start_date": "2025-03-17", "end_date": "2025-03-28"})

    response = await client.patch(
        f"{SPRINTS}/1", headers=member.headers, json={"name": "Login", "goal": "Sign in"}
    )
    assert response.status_code == 200, response.text
    assert etag_version(response) == 2
    body = response.json()
    assert (body["name"], body["goal"], body["version"]) == ("Login", "Sign in", 2)

    # Only the end moves; the start stays. Ending the day before sprint 2 is fine.
    moved = await client.patch(
        f"{SPRINTS}/1", headers=member.headers, json={"end_date": "2025-03-16"}
    )
    assert moved.status_code == 200, moved.text
    assert dates(moved.json()) == ("2025-03-03", "2025-03-16")
    assert moved.json()["version"] == 3

    cleared = await client.patch(f"{SPRINTS}/1", headers=member.headers, json={"goal": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["goal"] == ""

    # Nothing changes: no new version.
    same = await client.patch(f"{SPRINTS}/1", headers=member.headers, json={"name": "Login"})
    assert same.status_code == 200
    assert same.json()["version"] == 4
    assert await get_sprint(client, owner, 1) == same.json()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"end_date": "2025-03-17"}, 409, "body.start_date"),  # into sprint 2
        ({"start_date": "2025-03-10", "end_date": "2025-03-20"}, 409, "body.start_date"),
        ({"start_date": "2025-03-15"}, 422, "body.end_date"),  # after the kept end
        ({"end_date": "2025-03-02"}, 422, "body.end_date"),
        ({"start_date": None}, 422, None),
        ({"end_date": None}, 422, None),
        ({"name": None}, 422, "body.name"),
        ({"name": ""}, 422, "body.name"),
        ({"state": "active"}, 422, "body.state"),
    ],
    ids=[
        "end-overlaps",
        "both-overlap",
        "start-after-end",
        "end-before-start",
        "null-start",
        "null-end",
        "null-name",
        "empty-name",
        "state",
    ],
)
async def test_bad_updates_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-14"})
    await created(client, owner, {"start_date": "2025-03-17", "end_date": "2025-03-28"})
    before = await get_sprint(client, owner, 1)

    response = await client.patch(f"{SPRINTS}/1", headers=owner.headers, json=body)

    assert_problem(response, status, field)
    assert await get_sprint(client, owner, 1) == before


async def test_update_and_delete_honour_if_match(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.sprint("WEB", owner)
    url = f"{SPRINTS}/1"

    stale = await client.patch(
        url, headers={**owner.headers, "If-Match": '"2"'}, json={"goal": "a"}
    )
    assert_problem(stale, 412)
    fresh = await client.patch(
        url, headers={**owner.headers, "If-Match": '"1"'}, json={"goal": "a"}
    )
    assert fresh.status_code == 200, fresh.text
    assert etag_version(fresh) == 2
    again = await client.patch(
        url, headers={**owner.headers, "If-Match": '"1"'}, json={"goal": "b"}
    )
    assert_problem(again, 412)
    assert (await get_sprint(client, owner, 1))["goal"] == "a"

    assert_problem(await client.delete(url, headers={**owner.headers, "If-Match": '"1"'}), 412)
    assert (await get_sprint(client, owner, 1))["version"] == 2
    deleted = await client.delete(url, headers={**owner.headers, "If-Match": '"2"'})
    assert deleted.status_code == 204, deleted.text
    assert_problem(await client.get(url, headers=owner.headers), 404)


def slow_overlap_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold every overlap check open a moment, so concurrent requests all check before either
    commits (without the pause, in-process requests rarely interleave at all)."""
    pause_after(monkeypatch, sprint_repository, "overlapping")


async def test_concurrent_re_dates_into_the_same_slot_give_one_200_and_one_409(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, member, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-07"})
    await created(client, owner, {"start_date": "2025-03-10", "end_date": "2025-03-14"})
    slot = {"start_date": "2025-04-07", "end_date": "2025-04-18"}
    slow_overlap_checks(monkeypatch)

    responses = await asyncio.gather(
        client.patch(f"{SPRINTS}/1", headers=owner.headers, json=slot),
        client.patch(f"{SPRINTS}/2", headers=member.headers, json=slot),
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    listed = (await client.get(SPRINTS, headers=owner.headers)).json()["data"]
    assert sum(dates(s) == ("2025-04-07", "2025-04-18") for s in listed) == 1


async def test_concurrent_creates_with_the_same_dates_give_one_201_and_one_409(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner, member, _, _ = await factory.team()
    slot = {"start_date": "2025-04-07", "end_date": "2025-04-18"}
    slow_overlap_checks(monkeypatch)
    responses = await asyncio.gather(create(client, owner, slot), create(client, member, slot))
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert await scalar(database, "SELECT count(*) FROM sprints") == 1


# --- membership ------------------------------------------------------------------------------


async def test_add_and_remove_items_in_bulk_logging_each_move(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner, points=5)
    c = await factory.item("WEB", owner)
    d = await factory.item("WEB", owner, points=8)
    await factory.sprint("WEB", owner)
    await factory.sprint("WEB", owner)

    added = await add(client, member, 1, [a, b, c])
    assert added.status_code == 200, added.text
    assert etag_version(added) == added.json()["version"]
    assert (added.json()["number"], added.json()["item_count"], added.json()["points"]) == (1, 3, 8)
    assert [await sprint_of(client, viewer, n) for n in (a, b, c, d)] == [1, 1, 1, None]
    assert await sprint_events(client, viewer, a) == [(None, 1)]

    # Moving an item from sprint 1 to sprint 2 logs 1 -> 2; adding it again changes nothing.
    moved = await add(client, member, 2, [b, d])
    assert (moved.json()["item_count"], moved.json()["points"]) == (2, 13)
    assert (await get_sprint(client, viewer, 1))[("item_count")] == 2
    assert await sprint_events(client, viewer, b) == [(None, 1), (1, 2)]
    assert await sprint_events(client, viewer, d) == [(None, 2)]
    assert (await add(client, member, 2, [b])).status_code == 200
    assert await sprint_events(client, viewer, b) == [(None, 1), (1, 2)]

    removed = await remove(client, member, 1, [c, a])
    assert removed.status_code == 200, removed.text
    assert (removed.json()["item_count"], removed.json()["points"]) == (0, 0)
    assert await sprint_events(client, viewer, a) == [(None, 1), (1, None)]
    assert await sprint_events(client, viewer, c) == [(None, 1), (1, None)]
    assert [await sprint_of(client, viewer, n) for n in (a, b, c, d)] == [None, 2, None, 2]

    history = await client.get(f"{ITEMS}/{a}/history", headers=viewer.headers)
    sprint_changes = [e for e in history.json()["data"] if e["field"] == "sprint"]
    assert {e["actor_id"] for e in sprint_changes} == {member.id}
    assert {e["kind"] for e in sprint_changes} == {"updated"}


async def test_membership_changes_bump_item_versions(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner)
    before = (await get_item(client, owner, number))["version"]
    await add(client, owner, 1, [number])
    assert (await get_item(client, owner, number))["version"] == before + 1
    await remove(client, owner, 1, [number])
    assert (await get_item(client, owner, number))["version"] == before + 2


async def item_state(client: httpx.AsyncClient, actor: Actor, numbers: list[int]) -> list[Any]:
    return [
        (
            (await get_item(client, actor, n))["sprint"],
            (await get_item(client, actor, n))["version"],
            await sprint_events(client, actor, n),
        )
        for n in numbers
    ]


@pytest.mark.parametrize(
    ("items", "field"),
    [
        (["A", 999], "body.items.1"),
        ([999, "A"], "body.items.0"),
        (["A", "B", 0], "body.items.2"),
        (["A", "EPIC"], "body.items.1"),
        (["EPIC", "A"], "body.items.0"),
    ],
    ids=["unknown-last", "unknown-first", "zero", "epic-last", "epic-first"],
)
async def test_adding_is_all_or_none(
    client: httpx.AsyncClient,
    factory: Factory,
    items: list[Any],
    field: str,
) -> None:
    owner, _, _, _ = await factory.team()
    numbers = {
        "A": await factory.item("WEB", owner, points=3),
        "B": await factory.item("WEB", owner),
        "EPIC": await factory.item("WEB", owner, type="epic"),
    }
    await factory.project(owner, "APP")
    await factory.item("APP", owner)  # APP-1..: numbers of another project are unknown here
    await factory.sprint("WEB", owner)
    wanted = [numbers[n] if isinstance(n, str) else int(n) for n in items]
    before = await item_state(client, owner, list(numbers.values()))

    response = await add(client, owner, 1, wanted)

    assert_problem(response, 422, fields={field})
    assert await item_state(client, owner, list(numbers.values())) == before
    assert (await get_sprint(client, owner, 1))["item_count"] == 0


async def test_items_of_another_project_cannot_be_added(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.project(owner, "APP")
    for _ in range(3):
        await factory.item("APP", owner)
    await factory.sprint("WEB", owner)
    assert_problem(await add(client, owner, 1, [2]), 422, fields={"body.items.0"})
    assert await item_numbers(client, owner, sprint="1") == []


async def test_removing_is_all_or_none(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    a = await factory.item("WEB", owner)
    b = await factory.item("WEB", owner)
    elsewhere = await factory.item("WEB", owner)
    loose = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner, items=[a, b])
    await factory.sprint("WEB", owner, items=[elsewhere])
    before = await item_state(client, owner, [a, b, elsewhere, loose])

    assert_problem(await remove(client, owner, 1, [a, loose]), 422, fields={"body.items.1"})
    assert_problem(await remove(client, owner, 1, [elsewhere, a]), 422, fields={"body.items.0"})
    assert_problem(await remove(client, owner, 1, [a, 999]), 422, fields={"body.items.1"})

    assert await item_state(client, owner, [a, b, elsewhere, loose]) == before
    assert (await get_sprint(client, owner, 1))["item_count"] == 2


@pytest.mark.parametrize(
    "body",
    [{"items": []}, {}, {"items": "1"}, {"items": [1], "extra": True}, {"items": list(range(501))}],
    ids=["empty", "missing", "not-a-list", "extra-field", "too-many"],
)
async def test_bad_item_lists_are_422(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any]
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.item("WEB", owner)
    await factory.sprint("WEB", owner)
    for method in ("POST", "DELETE"):
        response = await client.request(
            method, f"{SPRINTS}/1/items", headers=owner.headers, json=body
        )
        assert_problem(response, 422)


async def test_an_items_sprint_field(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, member, _, _ = await factory.team()
    number = await factory.item("WEB", owner, points=5)
    await factory.sprint("WEB", owner)
    await factory.sprint("WEB", owner)

    response = await patch_item(client, member, number, {"sprint": 2})
    assert response.status_code == 200, response.text
    assert response.json()["sprint"] == 2
    assert ((await get_sprint(client, owner, 2))["item_count"]) == 1
    assert (await get_sprint(client, owner, 2))["points"] == 5

    assert (await patch_item(client, member, number, {"sprint": 1})).json()["sprint"] == 1
    assert (await patch_item(client, member, number, {"sprint": None})).json()["sprint"] is None
    assert await sprint_events(client, owner, number) == [(None, 2), (2, 1), (1, None)]

    # Created straight into a sprint.
    made = await client.post(ITEMS, headers=member.headers, json={"title": "New", "sprint": 2})
    assert made.status_code == 201, made.text
    assert made.json()["sprint"] == 2
    assert await item_numbers(client, owner, sprint="2") == [made.json()["number"]]


@pytest.mark.parametrize(
    ("sprint", "status"),
    [(99, 422), (0, 422), (-3, 422), (2**63, 422), ("two", 422)],
    ids=["unknown", "zero", "negative", "huge", "text"],
)
async def test_an_items_sprint_must_exist(
    client: httpx.AsyncClient, factory: Factory, sprint: Any, status: int
) -> None:
    owner, _, _, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner)
    before = await get_item(client, owner, number)
    assert_problem(
        await patch_item(client, owner, number, {"sprint": sprint}), status, "body.sprint"
    )
    assert await get_item(client, owner, number) == before
    created_item = await client.post(
        ITEMS, headers=owner.headers, json={"title": "x", "sprint": sprint}
    )
    assert_problem(created_item, status, "body.sprint")


async def test_epics_never_join_sprints(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    epic = await factory.item("WEB", owner, type="epic")
    story = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner, items=[story])

    assert_problem(await patch_item(client, owner, epic, {"sprint": 1}), 422, "body.sprint")
    made = await client.post(
        ITEMS, headers=owner.headers, json={"title": "E", "type": "epic", "sprint": 1}
    )
    assert_problem(made, 422, "body.sprint")
    # Turning a sprint item into an epic while naming the sprint is refused as well.
    turned = await patch_item(client, owner, story, {"type": "epic", "sprint": 1})
    assert_problem(turned, 422, "body.sprint")
    assert await sprint_events(client, owner, epic) == []
    assert (await get_sprint(client, owner, 1))["item_count"] == 1


# --- list and board scopes -------------------------------------------------------------------


async def test_item_list_and_board_sprint_scopes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, viewer, _ = await factory.team()
    numbers = [await factory.item("WEB", owner) for _ in range(6)]
    epic = await factory.item("WEB", owner, type="epic")
    await factory.sprint("WEB", owner, items=numbers[0:2])
    await factory.sprint("WEB", owner, items=numbers[2:4])
    await factory.sprint("WEB", owner)

    assert await item_numbers(client, viewer, sprint="active") == []
    assert await board_numbers(client, viewer, "active") == []
    assert await item_numbers(client, viewer, sprint="backlog") == [5, 6, epic]
    assert await board_numbers(client, viewer, "backlog") == [5, 6]  # no epics on a board
    assert await item_numbers(client, viewer, sprint="1") == [1, 2]
    assert await board_numbers(client, viewer, "1") == [1, 2]
    assert await item_numbers(client, viewer, sprint="2") == [3, 4]
    assert await board_numbers(client, viewer, "2") == [3, 4]
    assert await item_numbers(client, viewer, sprint="3") == []
    assert await board_numbers(client, viewer, "3") == []

    assert (await start(client, owner, 2)).status_code == 200
    assert await item_numbers(client, viewer, sprint="active") == [3, 4]
    assert await board_numbers(client, viewer, "active") == [3, 4]
    assert await item_numbers(client, viewer, sprint="1") == [1, 2]

    board = (
        await client.get(f"{PROJECTS}/WEB/board", headers=viewer.headers, params={"sprint": "2"})
    ).json()
    assert board["count"] == 2


@pytest.mark.parametrize("sprint", ["9", "0", "current", "", "-1", "1.5"])
async def test_unknown_sprint_scopes_are_422(
    client: httpx.AsyncClient, factory: Factory, sprint: str
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.sprint("WEB", owner)
    assert_problem(
        await client.get(ITEMS, headers=owner.headers, params={"sprint": sprint}),
        422,
        "query.sprint",
    )
    assert_problem(
        await client.get(f"{PROJECTS}/WEB/board", headers=owner.headers, params={"sprint": sprint}),
        422,
        "query.sprint",
    )


async def test_sprint_scopes_belong_to_the_project(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.project(owner, "APP")
    app_item = await factory.item("APP", owner)
    await factory.sprint("APP", owner, items=[app_item])
    await factory.item("WEB", owner)
    assert_problem(
        await client.get(ITEMS, headers=owner.headers, params={"sprint": "1"}), 422, "query.sprint"
    )
    response = await client.get(
        f"{PROJECTS}/APP/items", headers=owner.headers, params={"sprint": "1"}
    )
    assert [i["number"] for i in response.json()["data"]] == [app_item]


# --- start and the frozen commitment ---------------------------------------------------------


async def test_start_freezes_the_commitment(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    time_machine: TimeMachineFixture,
) -> None:
    freeze(time_machine, "2025-03-05T10:00:00")
    owner, member, _, _ = await factory.team()
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner, points=5)
    c = await factory.item("WEB", owner)  # unestimated: counts 0
    late = await factory.item("WEB", owner, points=8)
    await factory.sprint("WEB", owner, items=[a, b, c])
    before = await get_sprint(client, owner, 1)

    response = await start(client, member, 1)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "active"
    assert datetime.fromisoformat(body["started_at"]) == datetime(2025, 3, 5, 10, tzinfo=UTC)
    assert (body["committed_items"], body["committed_points"]) == (3, 8)
    assert (body["item_count"], body["points"]) == (3, 8)
    assert body["version"] == before["version"] + 1
    assert etag_version(response) == body["version"]
    assert await commitments(database, 1) == [(a, 3), (b, 5), (c, None)]
    assert await get_sprint(client, owner, 1) == body

    # Scope changes after the start move the current totals, never the commitment.
    assert (await patch_item(client, member, a, {"points": 13})).status_code == 200
    assert (await add(client, member, 1, [late])).status_code == 200
    assert (await patch_item(client, member, c, {"points": 2})).status_code == 200
    assert (await remove(client, member, 1, [b])).status_code == 200
    now = await get_sprint(client, owner, 1)
    assert (now["committed_items"], now["committed_points"]) == (3, 8)
    # a 13 + c 2 + late 8
    assert (now["item_count"], now["points"]) == (3, 23)
    assert await commitments(database, 1) == [(a, 3), (b, 5), (c, None)]
    assert await sprint_events(client, owner, late) == [(None, 1)]
    assert await sprint_events(client, owner, b) == [(None, 1), (1, None)]


async def test_an_empty_sprint_starts_with_a_zero_commitment(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.item("WEB", owner, points=5)  # in the backlog, not committed
    await factory.sprint("WEB", owner)
    body = (await start(client, owner, 1)).json()
    assert (body["committed_items"], body["committed_points"]) == (0, 0)
    assert await commitments(database, 1) == []


async def test_only_planned_sprints_start_and_only_one_is_active(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    number = await factory.item("WEB", owner, points=5)
    await factory.sprint("WEB", owner, items=[number])
    await factory.sprint("WEB", owner)
    assert (await start(client, owner, 1)).status_code == 200
    active = await get_sprint(client, owner, 1)

    assert_problem(await start(client, owner, 1), 409)
    assert_problem(await start(client, owner, 2), 409)

    assert await get_sprint(client, owner, 1) == active
    assert (await get_sprint(client, owner, 2))["state"] == "planned"
    assert await scalar(database, "SELECT count(*) FROM sprint_commitments") == 1

    # Other projects have their own active sprint.
    await factory.project(owner, "APP")
    await factory.sprint("APP", owner)
    assert (await client.post(f"{PROJECTS}/APP/sprints/1/start", headers=owner.headers)).json()[
        "state"
    ] == "active"


async def test_start_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    await factory.sprint("WEB", owner)
    assert_problem(await start(client, owner, 1, **{"If-Match": '"7"'}), 412)
    assert (await get_sprint(client, owner, 1))["state"] == "planned"
    response = await start(client, owner, 1, **{"If-Match": '"1"'})
    assert response.status_code == 200, response.text


async def test_a_sprint_without_dates_cannot_start(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.sprint("WEB", owner)
    # The API never leaves a sprint without dates; older rows may have none.
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE sprints SET start_date = NULL, end_date = NULL"))
    assert_problem(await start(client, owner, 1), 409)
    assert (await get_sprint(client, owner, 1))["state"] == "planned"


async def test_concurrent_starts_give_one_200_and_one_409(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner, points=5)
    await factory.sprint("WEB", owner, items=[a])
    await factory.sprint("WEB", owner, items=[b])

    responses = await asyncio.gather(start(client, owner, 1), start(client, member, 2))

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)
    winner = next(r for r in responses if r.status_code == 200).json()["number"]
    loser = 3 - winner
    assert await rows(database, "SELECT number, state FROM sprints ORDER BY number") == sorted(
        [(winner, "active"), (loser, "planned")]
    )
    assert (await get_sprint(client, owner, loser))["committed_items"] is None
    assert await commitments(database, loser) == []
    assert await commitments(database, winner) == [({1: a, 2: b}[winner], {1: 3, 2: 5}[winner])]


async def test_an_active_sprint_can_be_renamed_and_re_dated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"start_date": "2025-03-03", "end_date": "2025-03-14"})
    await start(client, owner, 1)
    response = await client.patch(
        f"{SPRINTS}/1", headers=owner.headers, json={"name": "Go", "end_date": "2025-03-18"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["state"]) == ("Go", "active")
    assert dates(response.json()) == ("2025-03-03", "2025-03-18")


# --- delete ----------------------------------------------------------------------------------


async def test_deleting_a_planned_sprint_sends_its_items_to_the_backlog(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner)
    other = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner)
    await factory.sprint("WEB", owner, items=[a, b])
    await factory.sprint("WEB", owner, items=[other])
    versions = {n: (await get_item(client, owner, n))["version"] for n in (a, b)}

    response = await client.delete(f"{SPRINTS}/2", headers=member.headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_problem(await client.get(f"{SPRINTS}/2", headers=owner.headers), 404)
    assert [
        s["number"] for s in (await client.get(SPRINTS, headers=owner.headers)).json()["data"]
    ] == [1, 3]
    for n in (a, b):
        item = await get_item(client, owner, n)
        assert (item["sprint"], item["version"]) == (None, versions[n] + 1)
        assert await sprint_events(client, owner, n) == [(None, 2), (2, None)]
    assert await sprint_of(client, owner, other) == 3
    assert await item_numbers(client, owner, sprint="backlog") == [a, b]
    assert await scalar(database, "SELECT count(*) FROM sprints") == 2


async def test_an_active_sprint_cannot_be_deleted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner, items=[number])
    await start(client, owner, 1)

    assert_problem(await client.delete(f"{SPRINTS}/1", headers=owner.headers), 409)

    assert (await get_sprint(client, owner, 1))["state"] == "active"
    assert await sprint_of(client, owner, number) == 1
    assert await sprint_events(client, owner, number) == [(None, 1)]


# --- roles -----------------------------------------------------------------------------------


async def test_viewers_read_but_cannot_write(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    owner, _, viewer, _ = await factory.team()
    number = await factory.item("WEB", owner)
    other = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner, items=[number])
    await factory.sprint("WEB", owner)
    before = await get_sprint(client, owner, 1)

    assert (await client.get(SPRINTS, headers=viewer.headers)).status_code == 200
    assert await get_sprint(client, viewer, 1) == before
    writes = [
        await create(client, viewer, {}),
        await client.patch(f"{SPRINTS}/1", headers=viewer.headers, json={"goal": "x"}),
        await client.delete(f"{SPRINTS}/2", headers=viewer.headers),
        await add(client, viewer, 1, [other]),
        await remove(client, viewer, 1, [number]),
        await start(client, viewer, 1),
        await patch_item(client, viewer, other, {"sprint": 1}),
    ]
    for response in writes:
        assert_problem(response, 403)
    assert await get_sprint(client, owner, 1) == before
    assert await scalar(database, "SELECT count(*) FROM sprints") == 2
    assert await sprint_of(client, owner, other) is None


async def test_outsiders_and_anonymous_callers_see_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, outsider = await factory.team()
    number = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner, items=[number])
    requests = [
        ("GET", SPRINTS, None),
        ("POST", SPRINTS, {}),
        ("GET", f"{SPRINTS}/1", None),
        ("PATCH", f"{SPRINTS}/1", {"goal": "x"}),
        ("DELETE", f"{SPRINTS}/1", None),
        ("POST", f"{SPRINTS}/1/items", {"items": [number]}),
        ("DELETE", f"{SPRINTS}/1/items", {"items": [number]}),
        ("POST", f"{SPRINTS}/1/start", None),
    ]
    for method, url, body in requests:
        hidden = await client.request(method, url, headers=outsider.headers, json=body)
        assert_problem(hidden, 404)
        anonymous = await client.request(method, url, json=body)
        assert_problem(anonymous, 401)
    unknown_project = await client.get(f"{PROJECTS}/NOPE/sprints", headers=owner.headers)
    assert_problem(unknown_project, 404)
    assert (await get_sprint(client, owner, 1))["state"] == "planned"
    assert await sprint_of(client, owner, number) == 1


async def test_an_item_created_into_a_sprint_records_it_in_its_created_event(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    sprint = await factory.sprint("WEB", owner)
    created = await client.post(
        "/api/v1/projects/WEB/items",
        json={"title": "Straight in", "sprint": sprint},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["sprint"] == sprint
    history = await client.get(
        f"/api/v1/projects/WEB/items/{created.json()['number']}/history", headers=owner.headers
    )
    assert history.json()["data"][0]["new_value"]["sprint"] == sprint


async def test_cancelling_returns_items_frees_the_dates_and_the_active_slot(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    first, second = await factory.item("WEB", owner), await factory.item("WEB", owner)
    one = await factory.sprint(
        "WEB", owner, items=[first, second], start_date="2026-03-02", end_date="2026-03-13"
    )
    two = await factory.sprint("WEB", owner, start_date="2026-03-16", end_date="2026-03-27")
    base = "/api/v1/projects/WEB/sprints"
    assert (await client.post(f"{base}/{one}/start", headers=owner.headers)).status_code == 200
    assert_problem(await client.post(f"{base}/{two}/start", headers=owner.headers), 409)

    cancelled = await client.post(f"{base}/{one}/cancel", headers=owner.headers)

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["state"], body["item_count"], body["committed_items"]) == ("cancelled", 0, 2)
    for number in (first, second):
        item = await client.get(f"/api/v1/projects/WEB/items/{number}", headers=owner.headers)
        assert item.json()["sprint"] is None
        events = (
            await client.get(f"/api/v1/projects/WEB/items/{number}/history", headers=owner.headers)
        ).json()["data"]
        assert (events[-1]["field"], events[-1]["old_value"], events[-1]["new_value"]) == (
            "sprint",
            one,
            None,
        )
    # The active slot and the dates are free again.
    assert (await client.post(f"{base}/{two}/start", headers=owner.headers)).status_code == 200
    again = await client.post(
        base, json={"start_date": "2026-03-02", "end_date": "2026-03-13"}, headers=owner.headers
    )
    assert again.status_code == 201, again.text
    # A cancelled sprint is final.
    assert_problem(await client.post(f"{base}/{one}/cancel", headers=owner.headers), 409)
    assert_problem(await client.post(f"{base}/{one}/start", headers=owner.headers), 409)
    assert_problem(
        await client.post(f"{base}/{one}/items", json={"items": [first]}, headers=owner.headers),
        409,
    )


async def test_completing_freezes_the_outcome_and_carries_unfinished_items_to_the_top(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    backlog_item = await factory.item("WEB", owner, title="Already in the backlog")
    done_id = (await status_ids(client, owner))["Done"]
    a = await factory.item("WEB", owner, title="A", points=3)
    b = await factory.item("WEB", owner, title="B", points=5)
    c = await factory.item("WEB", owner, title="C")
    d = await factory.item("WEB", owner, title="D", points=2)
    sprint = await factory.sprint("WEB", owner, items=[a, b, c, d], start=True)
    for number in (a, c):
        await client.patch(
            f"/api/v1/projects/WEB/items/{number}",
            json={"status_id": done_id},
            headers=owner.headers,
        )

    completed = await client.post(
        f"/api/v1/projects/WEB/sprints/{sprint}/complete",
        json={"carry_over": "backlog", "goal_outcome": "partially_met", "review_notes": "Ok."},
        headers=owner.headers,
    )

    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert body["state"] == "completed"
    assert (body["committed_items"], body["committed_points"]) == (4, 10)
    assert (body["completed_items"], body["completed_points"]) == (2, 3)
    assert (body["goal_outcome"], body["review_notes"], body["carried_over_to"]) == (
        "partially_met",
        "Ok.",
        None,
    )
    assert body["item_count"] == 2  # the done items stay in the sprint's record
    listed = await client.get("/api/v1/projects/WEB/items?sprint=backlog", headers=owner.headers)
    assert [i["number"] for i in listed.json()["data"]] == [b, d, backlog_item]
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT item_number, points, done, carried_to FROM sprint_outcomes "
                "ORDER BY item_number"
            )
        )
        assert [tuple(row) for row in rows] == [
            (a, 3.0, True, None),
            (b, 5.0, False, None),
            (c, None, True, None),
            (d, 2.0, False, None),
        ]
    # Frozen: later re-estimates and membership changes do not move the outcome.
    await client.patch(f"/api/v1/projects/WEB/items/{a}", json={"points": 8}, headers=owner.headers)
    again = await client.get(f"/api/v1/projects/WEB/sprints/{sprint}", headers=owner.headers)
    assert again.json()["completed_points"] == 3
    assert_problem(
        await client.patch(
            f"/api/v1/projects/WEB/items/{a}", json={"sprint": None}, headers=owner.headers
        ),
        409,
        "body.sprint",
    )
    assert_problem(
        await client.post(
            f"/api/v1/projects/WEB/sprints/{sprint}/items",
            json={"items": [backlog_item]},
            headers=owner.headers,
        ),
        409,
    )


async def test_carry_over_ranks_can_land_on_a_key_another_carried_item_still_holds(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # Ranks a0..a4; with a0 and a3 gone, the carried a1, a2 are re-ranked into a2, a3 below a4:
    # the first write takes the key the second item has not yet left.
    owner = await factory.user()
    await factory.project(owner, "WEB")
    numbers = [await factory.item("WEB", owner, title=f"I{n}", points=1) for n in range(5)]
    for gone in (numbers[0], numbers[3]):
        deleted = await client.delete(f"/api/v1/projects/WEB/items/{gone}", headers=owner.headers)
        assert deleted.status_code == 204, deleted.text
    carried = [numbers[1], numbers[2]]
    sprint = await factory.sprint("WEB", owner, items=carried, start=True)

    completed = await client.post(
        f"/api/v1/projects/WEB/sprints/{sprint}/complete",
        json={"carry_over": "backlog"},
        headers=owner.headers,
    )

    assert completed.status_code == 200, completed.text
    listed = await client.get("/api/v1/projects/WEB/items?sprint=backlog", headers=owner.headers)
    assert [i["number"] for i in listed.json()["data"]] == [*carried, numbers[4]]


async def test_carrying_over_into_a_planned_sprint(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    unfinished = await factory.item("WEB", owner, points=5)
    sprint = await factory.sprint("WEB", owner, items=[unfinished], start=True)
    following = await factory.sprint("WEB", owner)
    completed = await client.post(
        f"/api/v1/projects/WEB/sprints/{sprint}/complete",
        json={"carry_over": following},
        headers=owner.headers,
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["carried_over_to"] == following
    item = await client.get(f"/api/v1/projects/WEB/items/{unfinished}", headers=owner.headers)
    assert item.json()["sprint"] == following
    history = await client.get(
        f"/api/v1/projects/WEB/items/{unfinished}/history", headers=owner.headers
    )
    last = history.json()["data"][-1]
    assert (last["field"], last["old_value"], last["new_value"]) == ("sprint", sprint, following)


async def test_completion_errors_write_nothing(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    item = await factory.item("WEB", owner)
    planned = await factory.sprint("WEB", owner)
    base = "/api/v1/projects/WEB/sprints"
    assert_problem(await client.post(f"{base}/{planned}/complete", headers=owner.headers), 409)
    assert_problem(
        await client.post(f"{base}/{planned}/complete", json={}, headers=owner.headers), 409
    )
    active = await factory.sprint("WEB", owner, items=[item], start=True)
    for carry_over, status, field in (
        (active, 422, "body.carry_over"),
        (999, 422, "body.carry_over"),
        ("nowhere", 422, None),
    ):
        response = await client.post(
            f"{base}/{active}/complete", json={"carry_over": carry_over}, headers=owner.headers
        )
        assert_problem(response, status, field)
    cancelled = await factory.sprint("WEB", owner)
    await client.post(f"{base}/{cancelled}/cancel", headers=owner.headers)
    assert_problem(
        await client.post(
            f"{base}/{active}/complete", json={"carry_over": cancelled}, headers=owner.headers
        ),
        409,
        "body.carry_over",
    )
    still = await client.get(f"{base}/{active}", headers=owner.headers)
    assert still.json()["state"] == "active"
    assert (await client.get(f"/api/v1/projects/WEB/items/{item}", headers=owner.headers)).json()[
        "sprint"
    ] == active


async def test_the_scope_ledger_lists_changes_after_start_and_nothing_after_close(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    a = await factory.item("WEB", owner, points=3)
    b = await factory.item("WEB", owner, points=5)
    late = await factory.item("WEB", owner, points=2)
    sprint = await factory.sprint("WEB", owner, items=[a, b])
    base = f"/api/v1/projects/WEB/sprints/{sprint}"
    assert (await client.get(f"{base}/scope", headers=owner.headers)).json() == {"data": []}
    # Before the start nothing counts: this re-estimate is part of the commitment.
    await client.patch(f"/api/v1/projects/WEB/items/{a}", json={"points": 5}, headers=owner.headers)
    await client.post(f"{base}/start", headers=owner.headers)

    await client.post(f"{base}/items", json={"items": [late]}, headers=owner.headers)
    await client.patch(f"/api/v1/projects/WEB/items/{a}", json={"points": 8}, headers=owner.headers)
    await client.request("DELETE", f"{base}/items", json={"items": [b]}, headers=owner.headers)
    await client.patch(
        f"/api/v1/projects/WEB/items/{b}", json={"points": 13}, headers=owner.headers
    )
    await client.post(f"{base}/complete", headers=owner.headers)
    # After the close: neither the carry-over nor later re-estimates are sprint scope changes.
    await client.patch(
        f"/api/v1/projects/WEB/items/{late}", json={"points": 1}, headers=owner.headers
    )

    ledger = (await client.get(f"{base}/scope", headers=owner.headers)).json()["data"]

    assert [
        (e["item_number"], e["change"], e["points_before"], e["points_after"]) for e in ledger
    ] == [
        (late, "added", None, 2),
        (a, "re_estimated", 5, 8),
        (b, "removed", 5, None),
    ]
    assert all(e["actor_id"] == owner.id for e in ledger)
    assert [e["event_id"] for e in ledger] == sorted(e["event_id"] for e in ledger)
