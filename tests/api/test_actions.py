"""Action items API: direct and in-retro creation, owners, filters, changes and their history,
to-item and finishing through the item, the open cap, races — on real PostgreSQL."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import resolve_access
from app.domain.projects.models import Role
from app.domain.retros.actions import service as actions_service
from app.domain.retros.actions.schemas import ActionPublic
from app.domain.retros.models import FORMAT_COLUMNS, Retro, RetroFormat, RetroPhase
from app.domain.users import repository as users_repository
from tests.factories import Actor, Factory
from tests.helpers import all_pages, assert_problem, etag_version, get_item, rendezvous, status_ids

PROJECTS = "/api/v1/projects"
ACTIONS = f"{PROJECTS}/WEB/actions"
ITEMS = f"{PROJECTS}/WEB/items"


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def make_retro(
    database: Database,
    key: str = "WEB",
    phase: RetroPhase = RetroPhase.DISCUSSING,
    *,
    title: str = "Retro",
    sprint: int | None = None,
) -> int:
    """A retro of project `key` in `phase` (straight into the table: retros are not ours)."""
    async with database.sessions() as session, session.begin():
        project_id: int = (
            await session.execute(text("SELECT id FROM projects WHERE key = :k"), {"k": key})
        ).scalar_one()
        sprint_id: int | None = None
        if sprint is not None:
            sprint_id = (
                await session.execute(
                    text("SELECT id FROM sprints WHERE project_id = :p AND number = :n"),
                    {"p": project_id, "n": sprint},
                )
            ).scalar_one()
        number = await projects_repository.take_numbers(session, project_id, "retro")
        session.add(
            Retro(
                project_id=project_id,
                number=number,
                sprint_id=sprint_id,
                title=title,
                format=RetroFormat.MAD_SAD_GLAD,
                columns=list(FORMAT_COLUMNS[RetroFormat.MAD_SAD_GLAD]),
                phase=phase,
            )
        )
    return number


async def set_phase(database: Database, number: int, phase: RetroPhase) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(
            text("UPDATE retros SET phase = :phase WHERE number = :n"),
            {"phase": phase.value, "n": number},
        )


async def create(
    client: httpx.AsyncClient, actor: Actor, body: Any, url: str = ACTIONS
) -> httpx.Response:
    return await client.post(url, headers=actor.headers, json=body)


async def created(
    client: httpx.AsyncClient, actor: Actor, body: Any, url: str = ACTIONS
) -> dict[str, Any]:
    response = await create(client, actor, body, url)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def patch(
    client: httpx.AsyncClient, actor: Actor, number: int, body: Any, **headers: str
) -> httpx.Response:
    return await client.patch(
        f"{ACTIONS}/{number}", headers={**actor.headers, **headers}, json=body
    )


async def action_history(
    client: httpx.AsyncClient, actor: Actor, number: int
) -> list[dict[str, Any]]:
    return await all_pages(client, actor, f"{ACTIONS}/{number}/history")


async def count_rows(database: Database, table: str) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


# --- creation ----------------------------------------------------------------------------------


async def test_create_direct_action(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-12-01T10:00:00")
    owner, member, _, _ = await factory.team()

    response = await create(
        client,
        member,
        {
            "title": "  Write the release checklist down ",
            "owner_id": member.id,
            "due_date": "2026-12-18",
            "notes": "  indented\n",
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == "/api/v1/projects/WEB/actions/1"
    assert etag_version(response) == 1
    assert body == {
        "number": 1,
        "title": "Write the release checklist down",
        "notes": "  indented\n",
        "status": "open",
        "owner": {"id": member.id, "display_name": member.email.split("@")[0]},
        "due_date": "2026-12-18",
        "overdue": False,
        "age_days": 0,
        "retro": None,
        "item": None,
        "version": 1,
        "created_at": "2026-12-01T10:00:00Z",
        "updated_at": "2026-12-01T10:00:00Z",
        "done_at": None,
        "closed_at": None,
    }
    read = await client.get(f"{ACTIONS}/1", headers=owner.headers)
    assert read.status_code == 200 and read.json() == body
    events = await action_history(client, owner, 1)
    assert [(e["field"], e["actor"]["id"], e["via"]) for e in events] == [
        ("created", member.id, None)
    ]
    assert events[0]["new_value"] == {
        "title": "Write the release checklist down",
        "owner": member.id,
        "due_date": "2026-12-18",
        "retro": None,
    }


async def test_numbers_are_per_project_and_owner_optional(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    other = await factory.owner("OPS")

    assert (await created(client, owner, {"title": "One"}))["number"] == 1
    assert (await created(client, owner, {"title": "Two"}))["number"] == 2
    ops = await created(client, other, {"title": "Elsewhere"}, f"{PROJECTS}/OPS/actions")
    assert ops["number"] == 1
    assert ops["owner"] is None and ops["due_date"] is None and ops["notes"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.title"),
        ({"title": "   "}, "body.title"),
        ({"title": "x" * 201}, "body.title"),
        ({"title": "Ok", "notes": "x" * 10_001}, "body.notes"),
        ({"title": "Ok", "due_date": "next friday"}, "body.due_date"),
        ({"title": "Ok", "due_date": 20261218}, "body.due_date"),
        ({"title": "Ok", "due_date": "2026-02-30"}, "body.due_date"),
        ({"title": "Ok", "owner_id": "3"}, "body.owner_id"),
        ({"title": "Ok", "owner_id": True}, "body.owner_id"),
        ({"title": "Ok", "status": "done"}, "body.status"),
        ({"title": "Ok", "retro": 1}, "body.retro"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, factory: Factory, database: Database, body: Any, field: str
) -> None:
    owner, _, _, _ = await factory.team()

    assert_problem(await create(client, owner, body), 422, field)

    assert await count_rows(database, "action_items") == 0


async def test_owner_must_be_a_member_who_may_plan(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, viewer, outsider = await factory.team()

    for owner_id in (viewer.id, outsider.id, 987_654_321, 2**63 + 5, 0, -1):
        body = assert_problem(
            await create(client, member, {"title": "Nope", "owner_id": owner_id}),
            422,
            fields={"body.owner_id"},
        )
        assert body["errors"][0]["type"] == "not_member"
    assert await count_rows(database, "action_items") == 0
    assert await count_rows(database, "action_events") == 0

    # The project owner and members may own one.
    assert (await created(client, member, {"title": "Yes", "owner_id": owner.id}))["owner"][
        "id"
    ] == owner.id
    first = await created(client, member, {"title": "Next"})
    # A failed create took no number that shows: numbers stay dense for what was written.
    assert first["number"] == 2
    assert_problem(await patch(client, member, 1, {"owner_id": viewer.id}), 422, "body.owner_id")
    assert (await client.get(f"{ACTIONS}/1", headers=member.headers)).json()["owner"][
        "id"
    ] == owner.id


async def test_viewer_reads_but_does_not_write(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, viewer, _ = await factory.team()
    await created(client, owner, {"title": "Read me"})

    assert_problem(await create(client, viewer, {"title": "Mine"}), 403)
    assert_problem(await patch(client, viewer, 1, {"status": "done"}), 403)
    assert_problem(await client.post(f"{ACTIONS}/1/to-item", headers=viewer.headers), 403)
    assert_problem(await client.delete(f"{ACTIONS}/1", headers=viewer.headers), 403)

    assert (await client.get(f"{ACTIONS}/1", headers=viewer.headers)).json()["status"] == "open"
    assert await count_rows(database, "action_items") == 1
    assert await count_rows(database, "items") == 0


# --- in a retro --------------------------------------------------------------------------------


async def test_actions_are_added_to_a_retro_only_while_discussing(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team()
    retro = await make_retro(database, phase=RetroPhase.VOTING)
    url = f"{PROJECTS}/WEB/retros/{retro}/actions"

    for phase in (RetroPhase.COLLECTING, RetroPhase.GROUPING, RetroPhase.VOTING):
        await set_phase(database, retro, phase)
        assert_problem(await create(client, member, {"title": "Too early"}, url), 409)
    await set_phase(database, retro, RetroPhase.DISCUSSING)
    response = await create(
        client, member, {"title": "Pair on reviews", "owner_id": member.id}, url
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/api/v1/projects/WEB/actions/1"
    assert response.json()["retro"] == retro
    await set_phase(database, retro, RetroPhase.CLOSED)
    assert_problem(await create(client, member, {"title": "Too late"}, url), 409)
    assert await count_rows(database, "action_items") == 1

    # Unknown retros are 404s; the owner rule is the same as for direct creation.
    assert_problem(
        await create(client, member, {"title": "X"}, f"{PROJECTS}/WEB/retros/9/actions"), 404
    )
    await set_phase(database, retro, RetroPhase.DISCUSSING)
    assert_problem(
        await create(client, member, {"title": "X", "owner_id": 424242}, url), 422, "body.owner_id"
    )

    listed = await all_pages(client, owner, url)
    assert [(a["number"], a["title"], a["retro"]) for a in listed] == [
        (1, "Pair on reviews", retro)
    ]
    assert_problem(await client.get(f"{PROJECTS}/WEB/retros/9/actions", headers=owner.headers), 404)
    # Following up works whatever the retro's phase: a closed retro's action can be done.
    await set_phase(database, retro, RetroPhase.CLOSED)
    done = await patch(client, member, 1, {"status": "done"})
    assert done.status_code == 200 and done.json()["status"] == "done"


async def test_a_phase_change_waits_for_an_action_being_added(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The retro row is held FOR SHARE while an action is added: a phase change queues."""
    _, member, _, _ = await factory.team()
    retro = await make_retro(database)
    url = f"{PROJECTS}/WEB/retros/{retro}/actions"
    entered = asyncio.Event()
    release = asyncio.Event()
    take = projects_repository.take_numbers

    async def slow_take(*args: Any, **kwargs: Any) -> int:
        entered.set()
        await release.wait()
        return await take(*args, **kwargs)

    monkeypatch.setattr(projects_repository, "take_numbers", slow_take)
    adding = asyncio.create_task(create(client, member, {"title": "Held"}, url))
    await asyncio.wait_for(entered.wait(), 10)

    async def close() -> None:
        async with database.engine.begin() as connection:
            await connection.execute(text("SET LOCAL lock_timeout = '200ms'"))
            await connection.execute(
                text("UPDATE retros SET phase = 'closed' WHERE number = :n"), {"n": retro}
            )

    try:
        with pytest.raises(Exception, match="lock timeout"):
            await close()
    finally:
        release.set()
    assert (await adding).status_code == 201
    await close()


# --- reading and filtering ---------------------------------------------------------------------


async def test_filters_status_owner_overdue_retro(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    time_machine: TimeMachineFixture,
) -> None:
    # 11:00 UTC on 9 December is already 10 December in Auckland (UTC+13 in summer).
    freeze(time_machine, "2026-12-09T11:00:00")
    owner, member, viewer, _ = await factory.team(time_zone="Pacific/Auckland")
    retro = await make_retro(database)
    in_retro = f"{PROJECTS}/WEB/retros/{retro}/actions"
    await created(
        client, owner, {"title": "1 late", "owner_id": member.id, "due_date": "2026-12-09"}
    )
    await created(
        client, owner, {"title": "2 due today", "owner_id": member.id, "due_date": "2026-12-10"}
    )
    await created(client, owner, {"title": "3 no date", "owner_id": owner.id}, in_retro)
    await created(client, owner, {"title": "4 late but done", "due_date": "2026-12-01"}, in_retro)
    await created(client, owner, {"title": "5 late dropped", "due_date": "2026-12-01"})
    assert (await patch(client, owner, 4, {"status": "done"})).status_code == 200
    assert (await patch(client, owner, 5, {"status": "dropped"})).status_code == 200

    async def numbers(**params: Any) -> list[int]:
        return [a["number"] for a in await all_pages(client, viewer, ACTIONS, **params)]

    assert await numbers() == [1, 2, 3, 4, 5]
    assert await numbers(status="open") == [1, 2, 3]
    assert await numbers(status=["done", "dropped"]) == [4, 5]
    assert await numbers(owner=member.id) == [1, 2]
    assert await numbers(owner=member.id, status="done") == []
    assert await numbers(overdue="true") == [1]
    assert await numbers(overdue="false") == [2, 3, 4, 5]
    assert await numbers(retro=retro) == [3, 4]
    assert await numbers(retro=retro, status="open") == [3]
    assert await numbers(owner=987654321) == []
    one = (await client.get(f"{ACTIONS}/1", headers=viewer.headers)).json()
    assert one["overdue"] is True
    assert (await client.get(f"{ACTIONS}/2", headers=viewer.headers)).json()["overdue"] is False
    assert (await client.get(f"{ACTIONS}/4", headers=viewer.headers)).json()["overdue"] is False

    page = await client.get(ACTIONS, headers=viewer.headers, params={"limit": 2})
    assert [a["number"] for a in page.json()["data"]] == [1, 2]
    assert page.json()["next_cursor"] and 'rel="next"' in page.headers["Link"]

    bad: list[tuple[dict[str, Any], str]] = [
        ({"status": "closed"}, "query.status.0"),
        ({"overdue": "yes"}, "query.overdue"),
        ({"owner": "me"}, "query.owner"),
        ({"retro": 99}, "query.retro"),
        ({"retro": 0}, "query.retro"),
        ({"cursor": "!!"}, "query.cursor"),
    ]
    for params, field in bad:
        assert_problem(await client.get(ACTIONS, headers=viewer.headers, params=params), 422, field)
    assert_problem(await client.get(f"{ACTIONS}/99", headers=viewer.headers), 404)
    assert_problem(await client.get(f"{ACTIONS}/{2**40}", headers=viewer.headers), 404)


async def test_age_days_counts_calendar_days_in_the_project_zone(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    # 23:30 on 1 December in New York (04:30 UTC on the 2nd).
    freeze(time_machine, "2026-12-02T04:30:00")
    owner = await factory.owner("WEB", time_zone="America/New_York")
    await created(client, owner, {"title": "Old one"})
    await created(client, owner, {"title": "Closed one"})
    # 00:30 on 3 December in New York: two calendar days later, though 25 hours passed.
    freeze(time_machine, "2026-12-03T05:30:00")
    assert (await patch(client, owner, 2, {"status": "dropped"})).status_code == 200
    freeze(time_machine, "2026-12-10T15:00:00")

    old = (await client.get(f"{ACTIONS}/1", headers=owner.headers)).json()
    closed = (await client.get(f"{ACTIONS}/2", headers=owner.headers)).json()
    assert old["age_days"] == 9  # 1 → 10 December
    assert closed["age_days"] == 2  # 1 → 3 December, when it was dropped


# --- changes -----------------------------------------------------------------------------------


async def test_patch_fields_and_status_and_history(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-12-01T10:00:00")
    owner, member, _, _ = await factory.team()
    await created(client, member, {"title": "Start", "due_date": "2026-12-10"})

    freeze(time_machine, "2026-12-02T10:00:00")
    response = await patch(
        client,
        member,
        1,
        {"title": "Renamed", "owner_id": owner.id, "due_date": None, "notes": "n"},
        **{"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["owner"]["id"], body["due_date"], body["notes"]) == (
        "Renamed",
        owner.id,
        None,
        "n",
    )
    assert body["version"] == 2 and etag_version(response) == 2

    freeze(time_machine, "2026-12-03T10:00:00")
    done = (await patch(client, owner, 1, {"status": "done"})).json()
    assert (done["status"], done["done_at"], done["closed_at"]) == (
        "done",
        "2026-12-03T10:00:00Z",
        "2026-12-03T10:00:00Z",
    )
    freeze(time_machine, "2026-12-04T10:00:00")
    dropped = (await patch(client, owner, 1, {"status": "dropped"})).json()
    assert (dropped["done_at"], dropped["closed_at"]) == (None, "2026-12-04T10:00:00Z")
    reopened = (await patch(client, member, 1, {"status": "open"})).json()
    assert (reopened["status"], reopened["done_at"], reopened["closed_at"]) == ("open", None, None)
    assert reopened["version"] == 5

    # Sending what is there already changes nothing and logs nothing.
    same = await patch(client, member, 1, {"title": "Renamed", "status": "open"})
    assert same.json()["version"] == 5

    events = await action_history(client, member, 1)
    assert [(e["field"], e["old_value"], e["new_value"], e["actor"]["id"]) for e in events] == [
        (
            "created",
            None,
            {"title": "Start", "owner": None, "due_date": "2026-12-10", "retro": None},
            member.id,
        ),
        ("title", "Start", "Renamed", member.id),
        ("notes", "", "n", member.id),
        ("owner", None, owner.id, member.id),
        ("due_date", "2026-12-10", None, member.id),
        ("status", "open", "done", owner.id),
        ("status", "done", "dropped", owner.id),
        ("status", "dropped", "open", member.id),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "body.title"),
        ({"status": None}, "body.status"),
        ({"notes": None}, "body.notes"),
        ({"status": "finished"}, "body.status"),
        ({"title": ""}, "body.title"),
        ({"due_date": "12/10/2026"}, "body.due_date"),
        ({"owner_id": 1.5}, "body.owner_id"),
        ({"number": 7}, "body.number"),
    ],
)
async def test_bad_patch_is_a_422_and_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, body: Any, field: str
) -> None:
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"title": "Stays"})

    assert_problem(await patch(client, owner, 1, body), 422, field)

    after = (await client.get(f"{ACTIONS}/1", headers=owner.headers)).json()
    assert (after["title"], after["status"], after["version"]) == ("Stays", "open", 1)
    assert len(await action_history(client, owner, 1)) == 1


async def test_stale_if_match_is_a_412_and_delete(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team()
    await created(client, member, {"title": "Old"})
    assert (await patch(client, member, 1, {"title": "New"})).status_code == 200

    assert_problem(await patch(client, member, 1, {"title": "Lost"}, **{"If-Match": '"1"'}), 412)
    stale = await client.delete(f"{ACTIONS}/1", headers={**member.headers, "If-Match": '"1"'})
    assert_problem(stale, 412)
    assert (await client.get(f"{ACTIONS}/1", headers=owner.headers)).json()["title"] == "New"

    gone = await client.delete(f"{ACTIONS}/1", headers={**member.headers, "If-Match": '"2"'})
    assert gone.status_code == 204
    assert_problem(await client.get(f"{ACTIONS}/1", headers=owner.headers), 404)
    assert_problem(await client.get(f"{ACTIONS}/1/history", headers=owner.headers), 404)
    assert await count_rows(database, "action_events") == 0
    assert_problem(await client.delete(f"{ACTIONS}/1", headers=member.headers), 404)


async def test_open_actions_are_capped(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(actions_service, "MAX_OPEN_ACTIONS", 2)
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"title": "One"})
    await created(client, owner, {"title": "Two"})

    assert_problem(await create(client, owner, {"title": "Three"}), 409)
    assert await count_rows(database, "action_items") == 2
    # Closing one makes room; reopening it past the cap does not.
    assert (await patch(client, owner, 2, {"status": "done"})).status_code == 200
    await created(client, owner, {"title": "Three"})
    assert_problem(await patch(client, owner, 2, {"status": "open"}), 409)
    assert (await client.get(f"{ACTIONS}/2", headers=owner.headers)).json()["status"] == "done"


async def test_concurrent_creations_get_distinct_numbers_and_respect_the_cap(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions_service, "MAX_OPEN_ACTIONS", 3)
    owner, member, _, _ = await factory.team()
    # Every request is past its owner check before any takes a number.
    rendezvous(monkeypatch, actions_service, "_check_owner", parties=5)

    responses = await asyncio.gather(
        *(create(client, member, {"title": f"A{n}", "owner_id": member.id}) for n in range(5))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 201, 201, 409, 409]
    numbers = sorted(r.json()["number"] for r in responses if r.status_code == 201)
    assert len(set(numbers)) == 3
    assert len(await all_pages(client, owner, ACTIONS)) == 3


# --- to-item, and the item finishing the action ------------------------------------------------


async def test_to_item_makes_a_linked_task(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, viewer, _ = await factory.team()
    await created(
        client,
        owner,
        {"title": "Automate the smoke test", "owner_id": member.id, "notes": "see wiki"},
    )

    response = await client.post(f"{ACTIONS}/1/to-item", headers=owner.headers)

    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/api/v1/projects/WEB/items/1"
    body = response.json()
    assert body["item"] == {"number": 1, "key": "WEB-1"} and body["version"] == 2
    item = await get_item(client, viewer, 1)
    assert (item["type"], item["title"], item["labels"], item["assignee"]["id"]) == (
        "task",
        "Automate the smoke test",
        ["retro-action"],
        member.id,
    )
    assert item["description"] == "see wiki"
    events = await action_history(client, viewer, 1)
    assert [(e["field"], e["new_value"], e["actor"]["id"]) for e in events][-1] == (
        "item",
        "WEB-1",
        owner.id,
    )
    assert (await client.get(ACTIONS, headers=viewer.headers)).json()["data"][0]["item"][
        "key"
    ] == "WEB-1"

    again = await client.post(f"{ACTIONS}/1/to-item", headers=owner.headers)
    assert_problem(again, 409)
    assert await count_rows(database, "items") == 1
    assert_problem(await client.post(f"{ACTIONS}/2/to-item", headers=owner.headers), 404)
    stale = await client.post(f"{ACTIONS}/1/to-item", headers={**owner.headers, "If-Match": '"1"'})
    assert_problem(stale, 412)


async def test_to_item_without_an_owner_and_after_the_owner_left(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team()
    await created(client, owner, {"title": "Nobody's"})
    await created(client, owner, {"title": "Left", "owner_id": member.id})
    async with database.engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM project_members WHERE user_id = :u"), {"u": member.id}
        )

    for number in (1, 2):
        response = await client.post(f"{ACTIONS}/{number}/to-item", headers=owner.headers)
        assert response.status_code == 201, response.text
    assert [(await get_item(client, owner, n))["assignee"] for n in (1, 2)] == [None, None]


async def test_concurrent_to_item_links_one_item(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team()
    await created(client, owner, {"title": "Once"})

    responses = await asyncio.gather(
        *(client.post(f"{ACTIONS}/1/to-item", headers=actor.headers) for actor in (owner, member))
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert await count_rows(database, "items") == 1


async def test_finishing_the_item_finishes_the_action(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-12-01T10:00:00")
    owner, member, viewer, _ = await factory.team()
    statuses = await status_ids(client, owner)
    await created(client, owner, {"title": "Fix flaky test"})
    await created(client, owner, {"title": "Dropped before"})
    for number in (1, 2):
        assert (
            await client.post(f"{ACTIONS}/{number}/to-item", headers=owner.headers)
        ).status_code == 201
    assert (await patch(client, owner, 2, {"status": "dropped"})).status_code == 200

    freeze(time_machine, "2026-12-04T09:00:00")
    moved = await client.patch(
        f"{ITEMS}/1", headers=member.headers, json={"status_id": statuses["In Progress"]}
    )
    assert moved.status_code == 200
    assert (await client.get(f"{ACTIONS}/1", headers=viewer.headers)).json()["status"] == "open"
    finished = await client.patch(
        f"{ITEMS}/1", headers=member.headers, json={"status_id": statuses["Done"]}
    )
    assert finished.status_code == 200, finished.text
    await client.patch(f"{ITEMS}/2", headers=member.headers, json={"status_id": statuses["Done"]})

    action = (await client.get(f"{ACTIONS}/1", headers=viewer.headers)).json()
    assert (action["status"], action["done_at"], action["closed_at"], action["version"]) == (
        "done",
        "2026-12-04T09:00:00Z",
        "2026-12-04T09:00:00Z",
        3,
    )
    last = (await action_history(client, viewer, 1))[-1]
    assert (last["field"], last["old_value"], last["new_value"], last["via"]) == (
        "status",
        "open",
        "done",
        "item WEB-1",
    )
    assert last["actor"]["id"] == member.id
    # A dropped action stays dropped when its item is finished.
    assert (await client.get(f"{ACTIONS}/2", headers=viewer.headers)).json()["status"] == "dropped"

    # Reopening the item does not reopen the action.
    await client.patch(f"{ITEMS}/1", headers=member.headers, json={"status_id": statuses["To Do"]})
    assert (await client.get(f"{ACTIONS}/1", headers=viewer.headers)).json()["status"] == "done"
    assert len(await action_history(client, viewer, 1)) == 3


async def test_a_status_turning_done_finishes_the_actions_of_its_items(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    qa = await factory.status("WEB", owner, "QA", "in_progress")
    await created(client, owner, {"title": "In QA"})
    await created(client, owner, {"title": "Elsewhere"})
    for number in (1, 2):
        assert (
            await client.post(f"{ACTIONS}/{number}/to-item", headers=member.headers)
        ).status_code == 201
    assert (
        await client.patch(f"{ITEMS}/1", headers=member.headers, json={"status_id": qa})
    ).status_code == 200

    recategorised = await client.patch(
        f"{PROJECTS}/WEB/statuses/{qa}", headers=owner.headers, json={"category": "done"}
    )
    assert recategorised.status_code == 200, recategorised.text

    one, two = [(await client.get(f"{ACTIONS}/{n}", headers=owner.headers)).json() for n in (1, 2)]
    assert (one["status"], two["status"]) == ("done", "open")
    last = (await action_history(client, owner, 1))[-1]
    assert (last["via"], last["actor"]["id"]) == ("item WEB-1", owner.id)


async def test_deleting_the_item_unlinks_the_action(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    await created(client, owner, {"title": "Linked"})
    assert (await client.post(f"{ACTIONS}/1/to-item", headers=owner.headers)).status_code == 201

    assert (await client.delete(f"{ITEMS}/1", headers=owner.headers)).status_code == 204

    assert (await client.get(f"{ACTIONS}/1", headers=owner.headers)).json()["item"] is None
    # Unlinked, it can be made into an item again.
    assert (await client.post(f"{ACTIONS}/1/to-item", headers=owner.headers)).status_code == 201


# --- the functions the retro board reads -------------------------------------------------------


async def test_open_actions_before_and_retro_actions(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    time_machine: TimeMachineFixture,
) -> None:
    freeze(time_machine, "2026-11-02T10:00:00")
    owner, member, _, _ = await factory.team()
    first = await make_retro(database, title="First")
    await created(client, owner, {"title": "F1 open"}, f"{PROJECTS}/WEB/retros/{first}/actions")
    freeze(time_machine, "2026-11-03T10:00:00")
    await created(client, owner, {"title": "F2 done"}, f"{PROJECTS}/WEB/retros/{first}/actions")
    await created(client, owner, {"title": "F3 open"}, f"{PROJECTS}/WEB/retros/{first}/actions")
    await patch(client, owner, 2, {"status": "done"})
    await created(client, owner, {"title": "Direct"})
    freeze(time_machine, "2026-11-16T10:00:00")
    second = await make_retro(database, title="Second")
    await created(client, owner, {"title": "S1"}, f"{PROJECTS}/WEB/retros/{second}/actions")
    freeze(time_machine, "2026-11-30T10:00:00")
    third = await make_retro(database, title="Third")

    async with database.sessions() as session, session.begin():
        user = await users_repository.get_user(session, member.id)
        assert user is not None
        access = await resolve_access(session, "WEB", user, Role.VIEWER)
        rows: dict[int, Retro] = {
            retro.number: retro for retro in (await session.execute(select(Retro))).scalars()
        }
        before_second = await actions_service.open_actions_before(session, access, rows[second])
        before_third = await actions_service.open_actions_before(session, access, rows[third])
        before_first = await actions_service.open_actions_before(session, access, rows[first])
        of_first = await actions_service.retro_actions(session, access, rows[first])
        shown = [ActionPublic.model_validate(v) for v in before_third]

    assert [(v.number, v.age_days) for v in before_second] == [(1, 28), (3, 27)]
    assert [(a.number, a.title, a.age_days, a.retro) for a in shown] == [
        (1, "F1 open", 28, first),
        (3, "F3 open", 27, first),
        (5, "S1", 14, second),
    ]
    assert before_first == []
    assert [v.number for v in of_first] == [1, 2, 3]


# --- stats -------------------------------------------------------------------------------------


async def test_stats_per_retro_direct_and_total(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    time_machine: TimeMachineFixture,
) -> None:
    # Days are counted in New York: 15:00 UTC is 10:00 there, 03:00 UTC is 22:00 the day before.
    freeze(time_machine, "2026-12-01T15:00:00")
    owner = await factory.owner("WEB", time_zone="America/New_York")
    sprint = await factory.sprint("WEB", owner)
    await factory.start_sprint("WEB", owner, sprint)
    sprint_retro = await make_retro(database, title="Sprint 1 retro", sprint=sprint)
    project_retro = await make_retro(database, title="Release post-mortem")
    url = f"{PROJECTS}/WEB/retros/{sprint_retro}/actions"
    for title in ("A1", "A2", "A3", "A4"):
        await created(client, owner, {"title": title}, url)  # 1-4, created 1 December
    freeze(time_machine, "2026-12-02T15:00:00")
    await created(client, owner, {"title": "D1"})  # 5, created 2 December
    await created(client, owner, {"title": "D2"})  # 6, stays open
    freeze(time_machine, "2026-12-03T15:00:00")
    await patch(client, owner, 5, {"status": "done"})  # 1 day
    freeze(time_machine, "2026-12-04T03:00:00")  # 3 December, 22:00 in New York
    await patch(client, owner, 1, {"status": "done"})  # 2 days, not 3 as in UTC
    freeze(time_machine, "2026-12-11T15:00:00")
    await patch(client, owner, 2, {"status": "done"})  # 10 days
    await patch(client, owner, 3, {"status": "dropped"})

    response = await client.get(f"{ACTIONS}/stats", headers=owner.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "retros": [
            {
                "retro": {"number": sprint_retro, "title": "Sprint 1 retro", "sprint": sprint},
                "created": 4,
                "done": 2,
                "dropped": 1,
                "open": 1,
                "completion_rate": 0.5,
                "median_days_to_close": 6.0,  # median of 2 and 10
            },
            {
                "retro": {"number": project_retro, "title": "Release post-mortem", "sprint": None},
                "created": 0,
                "done": 0,
                "dropped": 0,
                "open": 0,
                "completion_rate": None,
                "median_days_to_close": None,
            },
        ],
        "direct": {
            "created": 2,
            "done": 1,
            "dropped": 0,
            "open": 1,
            "completion_rate": 0.5,
            "median_days_to_close": 1.0,
        },
        "total": {
            "created": 6,
            "done": 3,
            "dropped": 1,
            "open": 2,
            "completion_rate": 0.5,
            "median_days_to_close": 2.0,  # median of 1, 2 and 10
        },
    }


async def test_stats_of_a_project_without_actions(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, _, viewer, _ = await factory.team()

    body = (await client.get(f"{ACTIONS}/stats", headers=viewer.headers)).json()

    empty = {
        "created": 0,
        "done": 0,
        "dropped": 0,
        "open": 0,
        "completion_rate": None,
        "median_days_to_close": None,
    }
    assert body == {"retros": [], "direct": empty, "total": empty}
