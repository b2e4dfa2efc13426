"""Work logs: logging time on items, the rules on days and hours, who may change which log,
lists and races — on real PostgreSQL."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.projects.models import Role
from app.domain.timesheets.models import Worklog
from tests.factories import Actor, Factory
from tests.helpers import all_pages, assert_problem, etag_version

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
WORKLOGS = f"{PROJECTS}/WEB/worklogs"


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def log(client: httpx.AsyncClient, actor: Actor, number: int, **body: Any) -> httpx.Response:
    return await client.post(f"{ITEMS}/{number}/worklogs", headers=actor.headers, json=body)


async def logged(
    client: httpx.AsyncClient, actor: Actor, number: int, **body: Any
) -> dict[str, Any]:
    response = await log(client, actor, number, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def count_worklogs(database: Database) -> int:
    async with database.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Worklog))).scalar_one())


@pytest.fixture(autouse=True)
def monday(time_machine: TimeMachineFixture) -> None:
    freeze(time_machine, "2026-11-30T12:00:00")


async def test_a_member_logs_time_and_everyone_reads_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    number = await factory.item("WEB", owner, title="Card vault")

    response = await log(
        client, member, number, date="2026-11-27", hours=2.75, note="Happy path and declines."
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/projects/WEB/worklogs/{body['id']}"
    assert etag_version(response) == body["version"] == 1
    assert body["item"] == {"number": number, "key": f"WEB-{number}", "title": "Card vault"}
    assert body["member"]["id"] == member.id
    assert (body["date"], body["hours"], body["note"]) == (
        "2026-11-27",
        2.75,
        "Happy path and declines.",
    )
    one = await client.get(f"{WORKLOGS}/{body['id']}", headers=viewer.headers)
    assert one.status_code == 200 and one.json() == body
    listed = await client.get(f"{ITEMS}/{number}/worklogs", headers=viewer.headers)
    assert listed.status_code == 200
    assert listed.json() == {"data": [body], "next_cursor": None}


async def test_hours_come_in_quarter_hours_from_a_quarter_to_a_whole_day(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner)

    for bad in (0, 0.2, 0.3, 1.1, 24.25, 25, -1, "2", True, None):
        response = await log(client, owner, number, date="2026-11-30", hours=bad)
        assert_problem(response, 422, "body.hours")
    assert_problem(await log(client, owner, number, date="2026-11-30"), 422, "body.hours")
    assert await count_worklogs(database) == 0

    for good in (0.25, 0.5, 0.75, 1, 7.5):
        await logged(client, owner, number, date="2026-11-01", hours=good)
    assert (await logged(client, owner, number, date="2026-11-02", hours=24))["hours"] == 24


async def test_the_day_is_today_or_earlier_in_the_project_time_zone(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    owner = await factory.owner("WEB", time_zone="Pacific/Auckland")
    number = await factory.item("WEB", owner)
    # 2026-11-30 20:00 UTC is already 2026-12-01 in Auckland (UTC+13 in summer).
    freeze(time_machine, "2026-11-30T20:00:00")

    assert (await logged(client, owner, number, date="2026-12-01", hours=1))["date"] == "2026-12-01"
    body = assert_problem(
        await log(client, owner, number, date="2026-12-02", hours=1), 422, "body.date"
    )
    assert body["errors"][0]["type"] == "future_date"
    for bad in ("2026-13-01", "01/12/2026", 20261201, "", None):
        assert_problem(await log(client, owner, number, date=bad, hours=1), 422, "body.date")


async def test_a_member_day_holds_at_most_24_hours_over_all_items(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team()
    first, second = await factory.item("WEB", owner), await factory.item("WEB", owner)
    await logged(client, member, first, date="2026-11-27", hours=16)
    await logged(client, member, second, date="2026-11-27", hours=7.75)

    body = assert_problem(
        await log(client, member, second, date="2026-11-27", hours=0.5), 422, "body.hours"
    )
    assert body["errors"][0]["type"] == "day_full"
    assert "23.75 h" in body["detail"] and "0.25 h more" in body["detail"]
    assert await count_worklogs(database) == 2
    # Other days, other people and other projects have their own 24 hours.
    await logged(client, member, second, date="2026-11-27", hours=0.25)
    await logged(client, member, second, date="2026-11-26", hours=24)
    await logged(client, owner, second, date="2026-11-27", hours=24)


async def test_concurrent_logs_cannot_overfill_a_day(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    numbers = [await factory.item("WEB", owner) for _ in range(4)]

    responses = await asyncio.gather(
        *(log(client, owner, number, date="2026-11-27", hours=10) for number in numbers)
    )

    assert sorted(response.status_code for response in responses) == [201, 201, 422, 422]
    assert await count_worklogs(database) == 2


async def test_owners_log_for_other_members_and_members_only_for_themselves(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, outsider = await factory.team()
    number = await factory.item("WEB", owner)

    body = await logged(client, owner, number, date="2026-11-27", hours=3, member_id=member.id)
    assert body["member"]["id"] == member.id
    own = await logged(client, member, number, date="2026-11-27", hours=1, member_id=member.id)
    assert own["member"]["id"] == member.id
    assert_problem(
        await log(client, member, number, date="2026-11-27", hours=1, member_id=owner.id), 403
    )
    for someone in (viewer.id, outsider.id, 0, 2**63):
        response = await log(client, owner, number, date="2026-11-27", hours=1, member_id=someone)
        assert_problem(response, 422, "body.member_id")
    assert_problem(await log(client, viewer, number, date="2026-11-27", hours=1), 403)


async def test_members_change_their_own_logs_and_owners_anyone_s(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    other = await factory.user()
    await factory.member("WEB", owner, other, Role.MEMBER)
    number = await factory.item("WEB", owner)
    mine = await logged(client, member, number, date="2026-11-27", hours=2)
    url = f"{WORKLOGS}/{mine['id']}"

    changed = await client.patch(
        url, headers={**member.headers, "If-Match": '"1"'}, json={"hours": 3.5, "note": "More"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["hours"], changed.json()["note"], changed.json()["version"]) == (
        3.5,
        "More",
        2,
    )
    assert etag_version(changed) == 2
    assert_problem(await client.patch(url, headers=other.headers, json={"hours": 1}), 403)
    assert_problem(await client.delete(url, headers=other.headers), 403)
    assert_problem(await client.patch(url, headers=viewer.headers, json={"hours": 1}), 403)
    stale = await client.patch(url, headers={**owner.headers, "If-Match": '"1"'}, json={"hours": 1})
    assert_problem(stale, 412)
    by_owner = await client.patch(url, headers=owner.headers, json={"date": "2026-11-26"})
    assert by_owner.status_code == 200 and by_owner.json()["date"] == "2026-11-26"
    assert by_owner.json()["member"]["id"] == member.id  # still the member's time
    assert_problem(await client.delete(url, headers={**member.headers, "If-Match": '"2"'}), 412)
    assert (await client.delete(url, headers=member.headers)).status_code == 204
    assert_problem(await client.get(url, headers=member.headers), 404)
    theirs = await logged(client, member, number, date="2026-11-27", hours=1)
    assert (
        await client.delete(f"{WORKLOGS}/{theirs['id']}", headers=owner.headers)
    ).status_code == 204


async def test_a_change_keeps_to_the_rules_of_logging(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner)
    full = await logged(client, owner, number, date="2026-11-26", hours=20)
    other = await logged(client, owner, number, date="2026-11-27", hours=8)
    url = f"{WORKLOGS}/{other['id']}"

    assert_problem(
        await client.patch(url, headers=owner.headers, json={"hours": 0.1}), 422, "body.hours"
    )
    assert_problem(
        await client.patch(url, headers=owner.headers, json={"hours": None}), 422, "body.hours"
    )
    assert_problem(
        await client.patch(url, headers=owner.headers, json={"date": "2026-12-01"}),
        422,
        "body.date",
    )
    # Moving 8 h onto the day with 20 h passes 24; the log's own hours do not count twice.
    body = assert_problem(
        await client.patch(url, headers=owner.headers, json={"date": "2026-11-26"}),
        422,
        "body.hours",
    )
    assert body["errors"][0]["type"] == "day_full"
    assert (await client.patch(url, headers=owner.headers, json={"hours": 24})).status_code == 200
    moved = await client.patch(
        f"{WORKLOGS}/{full['id']}", headers=owner.headers, json={"hours": 24, "note": "Crunch"}
    )
    assert moved.status_code == 200, moved.text
    assert_problem(await client.patch(url, headers=owner.headers, json={"member_id": 1}), 422)
    unchanged = await client.patch(url, headers=owner.headers, json={"hours": 24})
    assert unchanged.json()["version"] == 2  # nothing changed: no new version


async def test_project_worklogs_filter_by_member_and_days(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    first, second = await factory.item("WEB", owner), await factory.item("WEB", owner)
    ids = [
        (await logged(client, member, first, date="2026-11-23", hours=1))["id"],
        (await logged(client, owner, second, date="2026-11-24", hours=2))["id"],
        (await logged(client, member, second, date="2026-11-29", hours=3))["id"],
        (await logged(client, member, first, date="2026-11-30", hours=4))["id"],
    ]

    every = await all_pages(client, viewer, WORKLOGS, limit=1)
    assert [entry["id"] for entry in every] == ids
    week = await client.get(
        WORKLOGS,
        headers=viewer.headers,
        params={"member": member.id, "from": "2026-11-23", "to": "2026-11-29"},
    )
    assert [entry["id"] for entry in week.json()["data"]] == [ids[0], ids[2]]
    assert_problem(
        await client.get(
            WORKLOGS, headers=viewer.headers, params={"from": "2026-11-29", "to": "2026-11-23"}
        ),
        422,
        "query.to",
    )
    assert_problem(
        await client.get(WORKLOGS, headers=viewer.headers, params={"from": "yesterday"}),
        422,
        "query.from",
    )
    item_logs = await all_pages(client, viewer, f"{ITEMS}/{second}/worklogs", limit=1)
    assert [entry["id"] for entry in item_logs] == [ids[1], ids[2]]


async def test_unknown_items_and_logs_are_404_and_other_projects_logs_stay_hidden(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    other = await factory.owner("OPS")
    number = await factory.item("WEB", owner)
    theirs = await factory.item("OPS", other)
    url = f"{PROJECTS}/OPS/items/{theirs}/worklogs"
    created = await client.post(url, headers=other.headers, json={"date": "2026-11-27", "hours": 1})
    assert created.status_code == 201, created.text
    hidden = created.json()

    assert_problem(await log(client, owner, 999, date="2026-11-27", hours=1), 404)
    assert_problem(await client.get(f"{ITEMS}/999/worklogs", headers=owner.headers), 404)
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, f"{WORKLOGS}/{hidden['id']}", headers=owner.headers, json={"hours": 1}
        )
        assert_problem(response, 404)
    assert_problem(await client.get(url, headers=owner.headers), 404)
    assert_problem(await client.get(f"{WORKLOGS}/{2**63}", headers=owner.headers), 422)
    assert number


async def test_time_stays_logged_when_its_item_is_deleted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner)
    entry = await logged(client, owner, number, date="2026-11-27", hours=5)

    assert (await client.delete(f"{ITEMS}/{number}", headers=owner.headers)).status_code == 204

    kept = await client.get(f"{WORKLOGS}/{entry['id']}", headers=owner.headers)
    assert kept.status_code == 200
    assert kept.json()["item"] is None and kept.json()["hours"] == 5
    report = await client.get(
        f"{PROJECTS}/WEB/time",
        headers=owner.headers,
        params={"group_by": "item", "from": "2026-11-01", "to": "2026-11-30"},
    )
    assert [(g["key"], g["hours"]) for g in report.json()["groups"]] == [("deleted", 5)]


async def test_notes_are_bounded_and_unknown_fields_refused(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner)

    assert_problem(
        await log(client, owner, number, date="2026-11-27", hours=1, note="x" * 2001),
        422,
        "body.note",
    )
    assert_problem(
        await log(client, owner, number, date="2026-11-27", hours=1, minutes=30),
        422,
        "body.minutes",
    )
    assert await count_worklogs(database) == 0
    body = await logged(client, owner, number, date="2026-11-27", hours=1, note="  Reviews  ")
    assert body["note"] == "Reviews"
