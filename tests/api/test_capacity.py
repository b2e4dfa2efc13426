"""Sprint capacity API: proposal, replace and read back, validation, final states, roles,
the suggested commitment from history, and concurrent replacements — on real PostgreSQL."""

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from app.domain.projects import repository as projects_repository
from app.domain.sprints.capacity import service as capacity_service
from tests.contract import checked_client
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, etag_version, pause_after, status_ids

PROJECTS = "/api/v1/projects"
SPRINTS = f"{PROJECTS}/WEB/sprints"
ITEMS = f"{PROJECTS}/WEB/items"
MON_FRI = ["mon", "tue", "wed", "thu", "fri"]
# Mon 30 November to Fri 11 December 2026: two full weeks, 10 working days Mon to Fri.
START, END = "2026-11-30", "2026-12-11"


# --- helpers ---------------------------------------------------------------------------------


def url(number: int) -> str:
    return f"{SPRINTS}/{number}/capacity"


async def get_capacity(client: httpx.AsyncClient, actor: Actor, number: int) -> dict[str, Any]:
    response = await client.get(url(number), headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def put(client: httpx.AsyncClient, actor: Actor, number: int, members: Any) -> httpx.Response:
    return await client.put(url(number), headers=actor.headers, json={"members": members})


async def put_ok(
    client: httpx.AsyncClient, actor: Actor, number: int, members: Any
) -> dict[str, Any]:
    response = await put(client, actor, number, members)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def member(
    actor: Actor, availability: int, days_off: list[str], person_days: float, counted: int
) -> dict[str, Any]:
    """The expected shape of one member's capacity."""
    return {
        "user_id": actor.id,
        "display_name": actor.email.split("@")[0],
        "email": actor.email,
        "availability": availability,
        "days_off": days_off,
        "days_off_counted": counted,
        "person_days": person_days,
    }


async def capacity_rows(database: Database) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT s.number, c.user_id, c.availability, c.days_off FROM sprint_capacity c "
                "JOIN sprints s ON s.id = c.sprint_id ORDER BY s.number, c.user_id"
            )
        )
        return [tuple(row) for row in rows]


async def finished_sprint(
    client: httpx.AsyncClient,
    factory: Factory,
    owner: Actor,
    dates: tuple[str, str],
    members: list[dict[str, Any]],
    done_points: Sequence[float],
    open_points: Sequence[float] = (8,),
) -> int:
    """A sprint with capacity, started and completed with `done_points` done; its number."""
    done = [await factory.item("WEB", owner, points=points) for points in done_points]
    unfinished = [await factory.item("WEB", owner, points=points) for points in open_points]
    number = await factory.sprint(
        "WEB", owner, items=done + unfinished, start_date=dates[0], end_date=dates[1]
    )
    await put_ok(client, owner, number, members)
    await factory.start_sprint("WEB", owner, number)
    done_id = (await status_ids(client, owner))["Done"]
    for item in done:
        patched = await client.patch(
            f"{ITEMS}/{item}", headers=owner.headers, json={"status_id": done_id}
        )
        assert patched.status_code == 200, patched.text
    completed = await client.post(f"{SPRINTS}/{number}/complete", headers=owner.headers)
    assert completed.status_code == 200, completed.text
    assert completed.json()["completed_points"] == sum(done_points)
    return number


# --- proposal, replace, read back ------------------------------------------------------------


async def test_without_capacity_every_planner_is_proposed_at_full_availability(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member_, viewer, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)

    body = await get_capacity(client, viewer, number)

    # The viewer is no planner: only owner and member, each 10 working days at 100 %.
    assert body == {
        "number": number,
        "start_date": START,
        "end_date": END,
        "working_days": 10,
        "recorded": False,
        "members": [member(owner, 100, [], 10, 0), member(member_, 100, [], 10, 0)],
        "total_person_days": 20,
        "suggestion": {
            "points": None,
            "points_per_person_day": None,
            "sprints_used": [],
            "explanation": "A suggestion needs at least 3 completed earlier sprints with "
            "recorded capacity; there are 0.",
        },
        "version": 1,
    }
    assert await capacity_rows(database) == []


async def test_replace_then_read_back_with_exact_person_days(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member_, viewer, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)

    saved = await put_ok(
        client,
        member_,
        number,
        [
            # Thu 3 Dec counts, Sat 5 Dec is no working day: (10 - 1) x 80 % = 7.2.
            {"user_id": member_.id, "availability": 80, "days_off": ["2026-12-05", "2026-12-03"]},
            # Availability defaults to 100 %; Mon 7 and Tue 1 Dec count: (10 - 2) x 1 = 8.
            {"user_id": owner.id, "days_off": ["2026-12-07", "2026-12-01"]},
            # Any member may be listed, viewers too: 10 x 33 % = 3.3.
            {"user_id": viewer.id, "availability": 33},
        ],
    )

    expected = {
        "number": number,
        "start_date": START,
        "end_date": END,
        "working_days": 10,
        "recorded": True,
        "members": [
            member(owner, 100, ["2026-12-01", "2026-12-07"], 8, 2),
            member(member_, 80, ["2026-12-03", "2026-12-05"], 7.2, 1),
            member(viewer, 33, [], 3.3, 0),
        ],
        # 8 + 7.2 + 3.3
        "total_person_days": 18.5,
        "suggestion": saved["suggestion"],
        "version": 2,  # saving capacity bumped the sprint's version
    }
    assert saved == expected
    assert saved["suggestion"]["points"] is None
    assert await get_capacity(client, viewer, number) == expected
    assert len(await capacity_rows(database)) == 3

    # Replacing drops whoever is not listed.
    again = await put_ok(client, owner, number, [{"user_id": owner.id, "availability": 50}])
    assert again["members"] == [member(owner, 50, [], 5, 0)]
    assert again["total_person_days"] == 5

    # An empty list clears it: the proposal is back.
    cleared = await put_ok(client, owner, number, [])
    assert cleared["recorded"] is False
    assert [m["user_id"] for m in cleared["members"]] == [owner.id, member_.id]
    assert cleared["total_person_days"] == 20
    assert await capacity_rows(database) == []


async def test_an_active_sprint_takes_capacity_and_days_off_on_weekends_do_not_count(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    # Fri 4 to Mon 7 December 2026: Fri and Mon are working days, the weekend is not.
    number = await factory.sprint("WEB", owner, start_date="2026-12-04", end_date="2026-12-07")
    await factory.start_sprint("WEB", owner, number)

    body = await put_ok(
        client, owner, number, [{"user_id": owner.id, "days_off": ["2026-12-05", "2026-12-06"]}]
    )

    assert body["working_days"] == 2
    assert body["members"] == [member(owner, 100, ["2026-12-05", "2026-12-06"], 2, 0)]


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "fields"),
    [
        ([{"user_id": "OUTSIDER", "availability": 50}], {"body.members.0.user_id"}),
        ([{"user_id": 999_999}], {"body.members.0.user_id"}),
        ([{"user_id": 2**63}], {"body.members.0.user_id"}),
        ([{"user_id": 0}], {"body.members.0.user_id"}),
        (
            [{"user_id": "OWNER"}, {"user_id": "OWNER", "availability": 10}],
            {"body.members.1.user_id"},
        ),
        ([{"user_id": "OWNER", "availability": 101}], {"body.members.0.availability"}),
        ([{"user_id": "OWNER", "availability": -1}], {"body.members.0.availability"}),
        ([{"user_id": "OWNER", "availability": 50.5}], {"body.members.0.availability"}),
        ([{"user_id": "OWNER", "availability": "80"}], {"body.members.0.availability"}),
        ([{"user_id": "OWNER", "availability": None}], {"body.members.0.availability"}),
        (
            [{"user_id": "OWNER", "days_off": ["2026-12-01", "2026-12-12"]}],
            {"body.members.0.days_off.1"},
        ),
        (
            [{"user_id": "OWNER", "days_off": ["2026-11-29"]}],
            {"body.members.0.days_off.0"},
        ),
        (
            [{"user_id": "OWNER", "days_off": ["2026-12-01", "2026-12-02", "2026-12-01"]}],
            {"body.members.0.days_off.2"},
        ),
        ([{"user_id": "OWNER", "days_off": ["someday"]}], {"body.members.0.days_off.0"}),
        ([{"user_id": "OWNER", "hours": 3}], {"body.members.0.hours"}),
        ([{"availability": 50}], {"body.members.0.user_id"}),
        ([{"user_id": "OWNER"}] * 201, {"body.members"}),
        (None, {"body.members"}),
        # Every rule broken at once is reported at once.
        (
            [
                {"user_id": "OUTSIDER"},
                {"user_id": "OWNER", "days_off": ["2026-12-24"]},
                {"user_id": "OWNER"},
            ],
            {"body.members.0.user_id", "body.members.1.days_off.0", "body.members.2.user_id"},
        ),
    ],
    ids=[
        "outsider",
        "unknown-user",
        "user-id-too-large",
        "user-id-zero",
        "duplicate-user",
        "availability-above-100",
        "availability-negative",
        "availability-fraction",
        "availability-string",
        "availability-null",
        "day-off-after-end",
        "day-off-before-start",
        "duplicate-day-off",
        "not-a-date",
        "unknown-field",
        "missing-user-id",
        "too-many-members",
        "members-null",
        "several-at-once",
    ],
)
async def test_invalid_capacity_is_refused_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    members: Any,
    fields: set[str],
) -> None:
    owner, member_, _, outsider = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)
    before = await put_ok(client, owner, number, [{"user_id": member_.id, "availability": 70}])
    stored = await capacity_rows(database)
    ids = {"OWNER": owner.id, "OUTSIDER": outsider.id}
    if isinstance(members, list):
        members = [
            {**entry, "user_id": ids.get(entry["user_id"], entry["user_id"])}
            if "user_id" in entry
            else entry
            for entry in members
        ]

    response = await put(client, owner, number, members)

    assert_problem(response, 422, fields=fields)
    assert await capacity_rows(database) == stored
    assert await get_capacity(client, owner, number) == before


async def test_unknown_top_level_fields_and_missing_body_are_refused(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, _, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)
    assert_problem(
        await client.put(url(number), headers=owner.headers, json={"members": [], "note": "x"}),
        422,
        fields={"body.note"},
    )
    assert_problem(await client.put(url(number), headers=owner.headers), 422, "body")
    assert await capacity_rows(database) == []


# --- states ----------------------------------------------------------------------------------


async def test_completed_and_cancelled_sprints_have_final_capacity(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, _, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    completed = await finished_sprint(
        client, factory, owner, (START, END), [{"user_id": owner.id, "availability": 60}], [3]
    )
    cancelled = await factory.sprint("WEB", owner, start_date="2026-12-14", end_date="2026-12-18")
    await put_ok(client, owner, cancelled, [{"user_id": owner.id}])
    assert (await client.post(f"{SPRINTS}/{cancelled}/cancel", headers=owner.headers)).is_success
    stored = await capacity_rows(database)

    for number in (completed, cancelled):
        assert_problem(await put(client, owner, number, []), 409)
        assert_problem(await put(client, owner, number, [{"user_id": owner.id}]), 409)
        # Still readable, as it was.
        assert (await get_capacity(client, owner, number))["recorded"] is True
    assert await capacity_rows(database) == stored
    assert (await get_capacity(client, owner, completed))["total_person_days"] == 6


async def test_a_sprint_without_dates_has_no_capacity(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, _, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)
    # The API never leaves a sprint without dates; older rows may have none.
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE sprints SET start_date = NULL, end_date = NULL"))

    assert_problem(await client.get(url(number), headers=owner.headers), 409)
    assert_problem(await put(client, owner, number, [{"user_id": owner.id}]), 409)
    assert await capacity_rows(database) == []


# --- roles -----------------------------------------------------------------------------------


async def test_viewers_read_but_cannot_replace_and_outsiders_see_nothing(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, viewer, outsider = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)
    body = [{"user_id": viewer.id}]

    assert (await client.get(url(number), headers=viewer.headers)).status_code == 200
    assert_problem(await put(client, viewer, number, body), 403)
    for response in (
        await client.get(url(number), headers=outsider.headers),
        await put(client, outsider, number, body),
        await client.get(url(99), headers=owner.headers),
        await put(client, owner, 99, body),
        await client.get(f"{PROJECTS}/NOPE/sprints/{number}/capacity", headers=owner.headers),
    ):
        assert_problem(response, 404)
    assert_problem(await client.get(url(number)), 401)
    assert_problem(await client.put(url(number), json={"members": body}), 401)
    assert await capacity_rows(database) == []


# --- suggested commitment --------------------------------------------------------------------


async def test_the_suggestion_needs_three_sprints_and_then_gives_exact_numbers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member_, _, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    full = {"user_id": owner.id}
    # Week sprints, Mon to Fri, 5 working days each.
    # Sprint 1: 5 person-days, 5 points done.
    await finished_sprint(client, factory, owner, ("2026-01-05", "2026-01-09"), [full], [5])
    # Sprint 2: 5 + 5 x 40 % = 7 person-days, 3 + 5 = 8 points done.
    await finished_sprint(
        client,
        factory,
        owner,
        ("2026-01-12", "2026-01-16"),
        [full, {"user_id": member_.id, "availability": 40}],
        [3, 5],
    )
    # Not history: a completed sprint without capacity, and a cancelled one with capacity.
    await finished_sprint(client, factory, owner, ("2026-01-19", "2026-01-23"), [], [13])
    cancelled = await factory.sprint("WEB", owner, start_date="2026-01-26", end_date="2026-01-30")
    await put_ok(client, owner, cancelled, [full])
    await client.post(f"{SPRINTS}/{cancelled}/cancel", headers=owner.headers)
    # Planned, 2 to 13 February 2026: owner 100 % with Mon 2 and Fri 13 off -> 8, member 50 %
    # -> 5: 13 person-days.
    current = await factory.sprint("WEB", owner, start_date="2026-02-02", end_date="2026-02-13")
    await put_ok(
        client,
        owner,
        current,
        [
            {"user_id": owner.id, "days_off": ["2026-02-02", "2026-02-13"]},
            {"user_id": member_.id, "availability": 50},
        ],
    )

    two = (await get_capacity(client, owner, current))["suggestion"]
    assert two == {
        "points": None,
        "points_per_person_day": None,
        "sprints_used": [],
        "explanation": "A suggestion needs at least 3 completed earlier sprints with "
        "recorded capacity; there are 2.",
    }

    # Sprint 5 (after the planned one by number, before it by date): 5 x 60 % = 3
    # person-days, 5 points done.
    await finished_sprint(
        client,
        factory,
        owner,
        ("2026-01-26", "2026-01-30"),
        [{"user_id": owner.id, "availability": 60}],
        [5],
    )

    body = await get_capacity(client, owner, current)

    # (5 + 8 + 5) points / (5 + 7 + 3) person-days = 18 / 15 = 1.2; x 13 = 15.6 points.
    assert body["total_person_days"] == 13
    assert body["suggestion"] == {
        "points": 15.6,
        "points_per_person_day": 1.2,
        "sprints_used": [
            {"number": 6, "completed_points": 5, "person_days": 3},
            {"number": 2, "completed_points": 8, "person_days": 7},
            {"number": 1, "completed_points": 5, "person_days": 5},
        ],
        "explanation": "15.6 points: sprints 6, 2, 1 completed 18 points in 15 person-days, "
        "1.2 points per person-day, × this sprint's 13 person-days.",
    }
    # Only sprints that ended before a sprint starts count: none ended before sprint 1.
    first = (await get_capacity(client, owner, 1))["suggestion"]
    assert first["points"] is None and first["explanation"].endswith("there are 0.")


@pytest.mark.parametrize("batch", [2, 10], ids=["read-in-batches-of-2", "read-at-once"])
async def test_the_suggestion_uses_the_five_latest_sprints(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    # Past sprints are read a batch at a time until five count: both paths give one answer.
    monkeypatch.setattr(capacity_service, "_HISTORY_BATCH", batch)
    owner, _, _, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    full = [{"user_id": owner.id}]
    weeks = [
        ("2026-01-05", "2026-01-09"),
        ("2026-01-12", "2026-01-16"),
        ("2026-01-19", "2026-01-23"),
        ("2026-01-26", "2026-01-30"),
        ("2026-02-02", "2026-02-06"),
        ("2026-02-09", "2026-02-13"),
    ]
    # The oldest sprint's 100 points would change the rate five-fold if it were used.
    done = [[100], [5], [3], [2], [8], [2]]
    for week, points in zip(weeks, done, strict=True):
        await finished_sprint(client, factory, owner, week, full, points)
    # Sprints without person-days carry no rate and are not among the five: one where nobody
    # was available, and one where the only member took every working day off.
    await finished_sprint(
        client,
        factory,
        owner,
        ("2026-02-16", "2026-02-20"),
        [{"user_id": owner.id, "availability": 0}],
        [13],
    )
    week_off = ["2026-02-23", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27"]
    await finished_sprint(
        client,
        factory,
        owner,
        ("2026-02-23", "2026-02-27"),
        [{"user_id": owner.id, "days_off": week_off}],
        [21],
    )
    current = await factory.sprint("WEB", owner, start_date="2026-03-02", end_date="2026-03-13")

    body = await get_capacity(client, owner, current)

    # Sprints 6..2: (2 + 8 + 2 + 3 + 5) / (5 x 5) = 20 / 25 = 0.8 points per person-day.
    # The proposal: owner and member, 10 working days each at 100 % -> 20 x 0.8 = 16 points.
    assert body["recorded"] is False
    assert body["total_person_days"] == 20
    suggestion = body["suggestion"]
    assert (suggestion["points"], suggestion["points_per_person_day"]) == (16, 0.8)
    assert suggestion["sprints_used"] == [
        {"number": n, "completed_points": p, "person_days": 5}
        for n, p in ((6, 2), (5, 8), (4, 2), (3, 3), (2, 5))
    ]
    assert suggestion["explanation"] == (
        "16 points: sprints 6, 5, 4, 3, 2 completed 20 points in 25 person-days, "
        "0.8 points per person-day, × this sprint's 20 person-days."
    )


# --- concurrency -----------------------------------------------------------------------------


async def test_concurrent_replacements_end_in_exactly_one_of_the_bodies(
    app: object,
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner, member_, viewer, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)
    first = [
        {"user_id": owner.id, "availability": 10, "days_off": []},
        {"user_id": member_.id, "availability": 20, "days_off": ["2026-12-01"]},
    ]
    second = [
        {"user_id": member_.id, "availability": 30, "days_off": ["2026-12-02"]},
        {"user_id": viewer.id, "availability": 40, "days_off": []},
    ]
    # Hold the check open so both requests are in flight together; without the sprint's
    # lock both would delete nothing and then collide (or mix) on insert.
    pause_after(monkeypatch, projects_repository, "member_ids")
    async with checked_client(app) as other:
        responses = await asyncio.gather(
            put(client, owner, number, first), put(other, member_, number, second)
        )

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    final = [
        {key: m[key] for key in ("user_id", "availability", "days_off")}
        for m in (await get_capacity(client, owner, number))["members"]
    ]
    assert final in (first, second)
    assert len(await capacity_rows(database)) == 2


async def test_replacing_capacity_checks_and_bumps_the_sprints_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team(working_days=MON_FRI, outsider_project="OUT")
    number = await factory.sprint("WEB", owner, start_date=START, end_date=END)
    read = await client.get(f"{SPRINTS}/{number}/capacity", headers=owner.headers)
    version = read.json()["version"]
    assert etag_version(read) == version
    body = {"members": [{"user_id": owner.id, "availability": 50}]}

    saved = await client.put(
        f"{SPRINTS}/{number}/capacity",
        json=body,
        headers={**owner.headers, "If-Match": f'"{version}"'},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == version + 1
    assert etag_version(saved) == version + 1
    stale = await client.put(
        f"{SPRINTS}/{number}/capacity",
        json={"members": []},
        headers={**owner.headers, "If-Match": f'"{version}"'},
    )
    assert_problem(stale, 412)
    kept = await client.get(f"{SPRINTS}/{number}/capacity", headers=owner.headers)
    assert kept.json()["total_person_days"] == 5  # 10 working days at 50 %, not cleared
