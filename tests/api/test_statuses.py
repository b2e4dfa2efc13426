"""Workflow statuses API: defaults, create, rename, recategorise, reorder, delete with
move_items_to, roles, If-Match and WIP limits — over HTTP on real PostgreSQL."""

import asyncio
from typing import Any

import httpx
import pytest

from app.domain.workflow import repository as workflow_repository
from app.domain.workflow import service as workflow_service
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, etag_version, get_item, history, pause_after

PROJECT = "/api/v1/projects/WEB"
STATUSES = f"{PROJECT}/statuses"
ITEMS = f"{PROJECT}/items"
DEFAULTS = [
    ("To Do", "todo"),
    ("In Progress", "in_progress"),
    ("In Review", "in_progress"),
    ("Done", "done"),
]


async def workflow(client: httpx.AsyncClient, actor: Actor) -> list[dict[str, Any]]:
    """The project's statuses in workflow order, checking positions are 0..n-1."""
    response = await client.get(STATUSES, headers=actor.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    assert [status["position"] for status in data] == list(range(len(data)))
    return data


async def names(client: httpx.AsyncClient, actor: Actor) -> list[str]:
    return [status["name"] for status in await workflow(client, actor)]


async def ids(client: httpx.AsyncClient, actor: Actor) -> dict[str, int]:
    return {status["name"]: status["id"] for status in await workflow(client, actor)}


async def board_column(client: httpx.AsyncClient, actor: Actor, status_id: int) -> dict[str, Any]:
    response = await client.get(f"{PROJECT}/board", headers=actor.headers)
    assert response.status_code == 200, response.text
    column: dict[str, Any] = next(
        c for c in response.json()["columns"] if c["status"]["id"] == status_id
    )
    return column


async def enforce_wip(client: httpx.AsyncClient, owner: Actor, on: bool = True) -> None:
    response = await client.patch(PROJECT, headers=owner.headers, json={"enforce_wip_limits": on})
    assert response.status_code == 200, response.text
    assert response.json()["enforce_wip_limits"] is on


async def set_limit(
    client: httpx.AsyncClient, owner: Actor, status_id: int, limit: int | None
) -> None:
    response = await client.patch(
        f"{STATUSES}/{status_id}", headers=owner.headers, json={"wip_limit": limit}
    )
    assert response.status_code == 200, response.text
    assert response.json()["wip_limit"] == limit


# --- reading -------------------------------------------------------------------------------


async def test_a_new_project_has_the_default_workflow(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    for actor in (owner, member, viewer):
        data = await workflow(client, actor)
        assert [(s["name"], s["category"]) for s in data] == DEFAULTS
        assert all(s["wip_limit"] is None and s["version"] == 1 for s in data)
        assert len({s["id"] for s in data}) == 4

    first = data[0]
    response = await client.get(f"{STATUSES}/{first['id']}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    assert response.json() == first
    assert etag_version(response) == 1


async def test_statuses_are_per_project(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    other_owner = await factory.user()
    await factory.project(other_owner, "OPS")
    response = await client.get("/api/v1/projects/OPS/statuses", headers=other_owner.headers)
    theirs = response.json()["data"]
    mine = await ids(client, owner)
    assert not {s["id"] for s in theirs} & set(mine.values())
    # Another project's status is not found through this one.
    assert_problem(await client.get(f"{STATUSES}/{theirs[0]['id']}", headers=owner.headers), 404)
    assert_problem(await client.get(f"{STATUSES}/999999", headers=owner.headers), 404)
    # Nor may an item be put into it.
    number = await factory.item("WEB", owner)
    bad = await client.patch(
        f"{ITEMS}/{number}", headers=owner.headers, json={"status_id": theirs[0]["id"]}
    )
    assert_problem(bad, 422, "body.status_id")


# --- create ----------------------------------------------------------------------------------


async def test_create_appends_a_status_by_default(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, viewer, _ = await factory.team()
    response = await client.post(
        STATUSES,
        headers=owner.headers,
        json={"name": "  Blocked ", "category": "in_progress", "wip_limit": 3},
    )
    assert response.status_code == 201, response.text
    assert etag_version(response) == 1
    created = response.json()
    assert created["name"] == "Blocked"
    assert created["category"] == "in_progress"
    assert created["wip_limit"] == 3
    assert created["position"] == 4
    assert created["version"] == 1
    assert await names(client, viewer) == [name for name, _ in DEFAULTS] + ["Blocked"]


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (0, ["New", "To Do", "In Progress", "In Review", "Done"]),
        (2, ["To Do", "In Progress", "New", "In Review", "Done"]),
        (4, ["To Do", "In Progress", "In Review", "Done", "New"]),
        (99, ["To Do", "In Progress", "In Review", "Done", "New"]),
    ],
)
async def test_create_at_a_position_shifts_the_others(
    client: httpx.AsyncClient, factory: Factory, position: int, expected: list[str]
) -> None:
    owner, _, _, _ = await factory.team()
    response = await client.post(
        STATUSES,
        headers=owner.headers,
        json={"name": "New", "category": "todo", "position": position},
    )
    assert response.status_code == 201, response.text
    assert response.json()["position"] == expected.index("New")
    assert await names(client, owner) == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "todo"}, "body.name"),
        ({"name": "", "category": "todo"}, "body.name"),
        ({"name": "   ", "category": "todo"}, "body.name"),
        ({"name": "x" * 61, "category": "todo"}, "body.name"),
        ({"name": "Blocked"}, "body.category"),
        ({"name": "Blocked", "category": "waiting"}, "body.category"),
        ({"name": "Blocked", "category": "todo", "wip_limit": 0}, "body.wip_limit"),
        ({"name": "Blocked", "category": "todo", "wip_limit": -1}, "body.wip_limit"),
        ({"name": "Blocked", "category": "todo", "position": -1}, "body.position"),
        ({"name": "Blocked", "category": "todo", "wip_limit": True}, "body.wip_limit"),
        ({"name": "Blocked", "category": "todo", "wip_limit": "3"}, "body.wip_limit"),
        ({"name": "Blocked", "category": "todo", "position": True}, "body.position"),
        ({"name": "Blocked", "category": "todo", "position": 1.0}, "body.position"),
        ({"name": "Blocked", "category": "todo", "colour": "red"}, "body.colour"),
    ],
    ids=[
        "no-name",
        "empty-name",
        "blank-name",
        "long-name",
        "no-category",
        "unknown-category",
        "zero-wip",
        "negative-wip",
        "negative-position",
        "boolean-wip",
        "string-wip",
        "boolean-position",
        "float-position",
        "unknown-field",
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    owner, _, _, _ = await factory.team()
    assert_problem(await client.post(STATUSES, headers=owner.headers, json=body), 422, field)
    assert len(await workflow(client, owner)) == 4


@pytest.mark.parametrize("name", ["Done", "done", "DONE", " in review "])
async def test_status_names_are_unique_ignoring_case(
    client: httpx.AsyncClient, factory: Factory, name: str
) -> None:
    owner, _, _, _ = await factory.team()
    response = await client.post(
        STATUSES, headers=owner.headers, json={"name": name, "category": "done"}
    )
    assert_problem(response, 409, "body.name")

    todo = (await ids(client, owner))["To Do"]
    rename = await client.patch(f"{STATUSES}/{todo}", headers=owner.headers, json={"name": name})
    assert_problem(rename, 409, "body.name")
    assert await names(client, owner) == [n for n, _ in DEFAULTS]


# --- change ----------------------------------------------------------------------------------


async def test_rename_recategorise_and_limit(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    review = (await ids(client, owner))["In Review"]
    url = f"{STATUSES}/{review}"

    renamed = await client.patch(url, headers=owner.headers, json={"name": "QA"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "QA"
    assert renamed.json()["version"] == 2
    assert etag_version(renamed) == 2

    # Changing only the case of its own name is allowed.
    recased = await client.patch(url, headers=owner.headers, json={"name": "qa"})
    assert recased.status_code == 200, recased.text
    assert recased.json()["name"] == "qa"

    recategorised = await client.patch(url, headers=owner.headers, json={"category": "done"})
    assert recategorised.status_code == 200, recategorised.text
    assert recategorised.json()["category"] == "done"

    limited = await client.patch(url, headers=owner.headers, json={"wip_limit": 4})
    assert limited.json()["wip_limit"] == 4
    unlimited = await client.patch(url, headers=owner.headers, json={"wip_limit": None})
    assert unlimited.status_code == 200, unlimited.text
    assert unlimited.json()["wip_limit"] is None
    assert unlimited.json()["version"] == 6

    # Sending what is already there changes nothing.
    same = await client.patch(
        url, headers=owner.headers, json={"name": "qa", "category": "done", "wip_limit": None}
    )
    assert same.status_code == 200, same.text
    assert same.json()["version"] == 6

    data = await workflow(client, owner)
    assert [(s["name"], s["category"]) for s in data] == [
        ("To Do", "todo"),
        ("In Progress", "in_progress"),
        ("qa", "done"),
        ("Done", "done"),
    ]
    # Items report the status by its new name and category.
    number = await factory.item("WEB", owner, status_id=review)
    shown = (await get_item(client, owner, number))["status"]
    assert shown == {"id": review, "name": "qa", "category": "done"}


@pytest.mark.parametrize(
    ("name", "position", "expected"),
    [
        ("Done", 0, ["Done", "To Do", "In Progress", "In Review"]),
        ("To Do", 3, ["In Progress", "In Review", "Done", "To Do"]),
        ("To Do", 99, ["In Progress", "In Review", "Done", "To Do"]),
        ("In Review", 1, ["To Do", "In Review", "In Progress", "Done"]),
        ("In Progress", 2, ["To Do", "In Review", "In Progress", "Done"]),
    ],
)
async def test_reorder_keeps_positions_dense(
    client: httpx.AsyncClient, factory: Factory, name: str, position: int, expected: list[str]
) -> None:
    owner, _, _, _ = await factory.team()
    before = {s["name"]: s for s in await workflow(client, owner)}
    response = await client.patch(
        f"{STATUSES}/{before[name]['id']}", headers=owner.headers, json={"position": position}
    )
    assert response.status_code == 200, response.text
    assert response.json()["position"] == expected.index(name)
    after = {s["name"]: s for s in await workflow(client, owner)}
    assert [s for s in expected] == sorted(after, key=lambda n: after[n]["position"])
    # Every status whose position changed has a new version; the others keep theirs.
    for other, status in after.items():
        moved = status["position"] != before[other]["position"]
        assert status["version"] == before[other]["version"] + (1 if moved else 0), other


@pytest.mark.parametrize("field", ["name", "category", "position"])
async def test_required_status_fields_may_not_be_null(
    client: httpx.AsyncClient, factory: Factory, field: str
) -> None:
    owner, _, _, _ = await factory.team()
    todo = (await ids(client, owner))["To Do"]
    response = await client.patch(f"{STATUSES}/{todo}", headers=owner.headers, json={field: None})
    assert_problem(response, 422, f"body.{field}")


async def test_status_writes_honour_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, _, _ = await factory.team()
    review = (await ids(client, owner))["In Review"]
    url = f"{STATUSES}/{review}"
    stale = await client.patch(
        url, headers={**owner.headers, "If-Match": '"5"'}, json={"name": "QA"}
    )
    assert_problem(stale, 412)
    fresh = await client.patch(
        url, headers={**owner.headers, "If-Match": '"1"'}, json={"name": "QA"}
    )
    assert fresh.status_code == 200, fresh.text
    assert_problem(await client.delete(url, headers={**owner.headers, "If-Match": '"1"'}), 412)
    assert "QA" in await names(client, owner)
    deleted = await client.delete(url, headers={**owner.headers, "If-Match": '"2"'})
    assert deleted.status_code == 204, deleted.text
    assert "QA" not in await names(client, owner)


# --- roles -----------------------------------------------------------------------------------


async def test_only_owners_change_the_workflow(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, member, viewer, _ = await factory.team()
    stranger = await factory.user()
    todo = (await ids(client, owner))["To Do"]
    url = f"{STATUSES}/{todo}"
    new = {"name": "Blocked", "category": "todo"}
    for actor, code in ((member, 403), (viewer, 403), (stranger, 404)):
        assert_problem(await client.post(STATUSES, headers=actor.headers, json=new), code)
        assert_problem(await client.patch(url, headers=actor.headers, json={"name": "X"}), code)
        assert_problem(await client.delete(url, headers=actor.headers), code)
    assert_problem(await client.get(STATUSES, headers=stranger.headers), 404)
    assert_problem(await client.get(url, headers=stranger.headers), 404)
    assert_problem(await client.get(STATUSES), 401)
    assert_problem(await client.post(STATUSES, json=new), 401)
    assert await names(client, owner) == [n for n, _ in DEFAULTS]


# --- delete ----------------------------------------------------------------------------------


async def test_delete_an_unused_status_renumbers_the_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    progress = (await ids(client, owner))["In Progress"]
    response = await client.delete(f"{STATUSES}/{progress}", headers=owner.headers)
    assert response.status_code == 204, response.text
    assert await names(client, owner) == ["To Do", "In Review", "Done"]
    # Statuses that moved up a place have a new version (their ETags changed).
    versions = {s["name"]: s["version"] for s in await workflow(client, owner)}
    assert versions == {"To Do": 1, "In Review": 2, "Done": 2}
    assert_problem(await client.get(f"{STATUSES}/{progress}", headers=owner.headers), 404)
    assert_problem(await client.delete(f"{STATUSES}/{progress}", headers=owner.headers), 404)


async def test_a_status_in_use_needs_move_items_to(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    statuses = await ids(client, owner)
    number = await factory.item("WEB", owner, status_id=statuses["In Review"])
    response = await client.delete(f"{STATUSES}/{statuses['In Review']}", headers=owner.headers)
    problem = assert_problem(response, 409, fields={"query.move_items_to"})
    assert "In Review" in problem["detail"]
    assert await names(client, owner) == [n for n, _ in DEFAULTS]
    assert (await get_item(client, owner, number))["status"]["id"] == statuses["In Review"]


async def test_delete_moves_items_and_logs_each_move(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    statuses = await ids(client, owner)
    review, done = statuses["In Review"], statuses["Done"]
    moving = [await factory.item("WEB", member, status_id=review) for _ in range(3)]
    staying = await factory.item("WEB", member, status_id=statuses["In Progress"])
    versions = {n: (await get_item(client, owner, n))["version"] for n in moving}

    response = await client.delete(
        f"{STATUSES}/{review}", headers=owner.headers, params={"move_items_to": done}
    )

    assert response.status_code == 204, response.text
    assert await names(client, owner) == ["To Do", "In Progress", "Done"]
    for number in moving:
        moved = await get_item(client, owner, number)
        assert moved["status"] == {"id": done, "name": "Done", "category": "done"}
        assert moved["done_at"] is not None
        assert moved["version"] == versions[number] + 1
        events = await history(client, owner, number)
        assert [
            (e["kind"], e["field"], e["old_value"], e["new_value"], e["actor_id"])
            for e in events[1:]
        ] == [("updated", "status", review, done, owner.id)]
    untouched = await get_item(client, owner, staying)
    assert untouched["status"]["id"] == statuses["In Progress"]
    assert len(await history(client, owner, staying)) == 1


@pytest.mark.parametrize("target", ["self", "unknown", "other-project"])
async def test_move_items_to_must_be_another_status_of_the_project(
    client: httpx.AsyncClient, factory: Factory, target: str
) -> None:
    owner, _, _, _ = await factory.team()
    await factory.project(owner, "OPS")
    theirs = (await client.get("/api/v1/projects/OPS/statuses", headers=owner.headers)).json()
    review = (await ids(client, owner))["In Review"]
    number = await factory.item("WEB", owner, status_id=review)
    move_to = {"self": review, "unknown": 987654, "other-project": theirs["data"][0]["id"]}[target]
    response = await client.delete(
        f"{STATUSES}/{review}", headers=owner.headers, params={"move_items_to": move_to}
    )
    assert_problem(response, 422, fields={"query.move_items_to"})
    assert "In Review" in await names(client, owner)
    assert (await get_item(client, owner, number))["status"]["id"] == review
    assert_problem(
        await client.delete(
            f"{STATUSES}/{review}", headers=owner.headers, params={"move_items_to": "soon"}
        ),
        422,
        "query.move_items_to",
    )


async def test_the_last_status_cannot_be_deleted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    statuses = await ids(client, owner)
    for name in ("To Do", "In Progress", "In Review"):
        response = await client.delete(f"{STATUSES}/{statuses[name]}", headers=owner.headers)
        assert response.status_code == 204, response.text
    assert_problem(
        await client.delete(f"{STATUSES}/{statuses['Done']}", headers=owner.headers), 409
    )
    assert await names(client, owner) == ["Done"]
    # New items land in the only status there is.
    created = await client.post(ITEMS, headers=owner.headers, json={"title": "Late"})
    assert created.status_code == 201, created.text
    assert created.json()["status"]["id"] == statuses["Done"]


async def test_new_items_start_in_the_first_todo_status(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    statuses = await ids(client, owner)
    backlog = await client.post(
        STATUSES, headers=owner.headers, json={"name": "Backlog", "category": "todo", "position": 0}
    )
    assert backlog.status_code == 201, backlog.text
    created = await client.post(ITEMS, headers=owner.headers, json={"title": "New"})
    assert created.json()["status"]["id"] == backlog.json()["id"]
    moved = await client.patch(
        f"{STATUSES}/{statuses['Done']}", headers=owner.headers, json={"position": 0}
    )
    assert moved.status_code == 200, moved.text
    created = await client.post(ITEMS, headers=owner.headers, json={"title": "Newer"})
    assert created.json()["status"]["id"] == backlog.json()["id"]
    assert created.json()["done_at"] is None


# --- WIP limits ------------------------------------------------------------------------------


async def test_without_enforcement_a_full_column_accepts_items_and_is_flagged(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    progress = (await ids(client, owner))["In Progress"]
    await set_limit(client, owner, progress, 2)
    numbers = [await factory.item("WEB", member) for _ in range(3)]
    for number in numbers[:2]:
        response = await client.patch(
            f"{ITEMS}/{number}", headers=member.headers, json={"status_id": progress}
        )
        assert response.status_code == 200, response.text
    column = await board_column(client, member, progress)
    assert (column["count"], column["wip_limit"], column["over_wip_limit"]) == (2, 2, False)

    over = await client.patch(
        f"{ITEMS}/{numbers[2]}", headers=member.headers, json={"status_id": progress}
    )
    assert over.status_code == 200, over.text
    created = await client.post(
        ITEMS, headers=member.headers, json={"title": "One more", "status_id": progress}
    )
    assert created.status_code == 201, created.text
    column = await board_column(client, member, progress)
    assert (column["count"], column["over_wip_limit"]) == (4, True)


async def test_enforced_limits_refuse_moves_and_creates_into_a_full_column(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    statuses = await ids(client, owner)
    progress = statuses["In Progress"]
    await set_limit(client, owner, progress, 2)
    await enforce_wip(client, owner)
    numbers = [await factory.item("WEB", member) for _ in range(4)]
    for number in numbers[:2]:
        response = await client.patch(
            f"{ITEMS}/{number}", headers=member.headers, json={"status_id": progress}
        )
        assert response.status_code == 200, response.text

    refused = await client.patch(
        f"{ITEMS}/{numbers[2]}", headers=member.headers, json={"status_id": progress}
    )
    problem = assert_problem(refused, 409, fields={"body.status_id"})
    assert "In Progress" in problem["detail"] and "2" in problem["detail"]
    assert problem["errors"][0]["type"] == "wip_limit"
    assert "2" in problem["errors"][0]["message"]
    assert (await get_item(client, owner, numbers[2]))["status"]["id"] == statuses["To Do"]
    assert len(await history(client, owner, numbers[2])) == 1

    created = await client.post(
        ITEMS, headers=member.headers, json={"title": "Too many", "status_id": progress}
    )
    assert_problem(created, 409, fields={"body.status_id"})

    # Changing other fields of an item already in the full column is fine.
    inside = await client.patch(
        f"{ITEMS}/{numbers[0]}",
        headers=member.headers,
        json={"title": "Renamed", "status_id": progress},
    )
    assert inside.status_code == 200, inside.text

    # Once a slot frees up, the move goes through.
    out = await client.patch(
        f"{ITEMS}/{numbers[0]}", headers=member.headers, json={"status_id": statuses["Done"]}
    )
    assert out.status_code == 200, out.text
    again = await client.patch(
        f"{ITEMS}/{numbers[2]}", headers=member.headers, json={"status_id": progress}
    )
    assert again.status_code == 200, again.text
    column = await board_column(client, member, progress)
    assert (column["count"], column["over_wip_limit"]) == (2, False)

    # Columns without a limit take anything; turning enforcement off lifts the limit.
    for number in numbers:
        response = await client.patch(
            f"{ITEMS}/{number}", headers=member.headers, json={"status_id": statuses["In Review"]}
        )
        assert response.status_code == 200, response.text
    await enforce_wip(client, owner, on=False)
    for number in numbers[:3]:
        response = await client.patch(
            f"{ITEMS}/{number}", headers=member.headers, json={"status_id": progress}
        )
        assert response.status_code == 200, response.text
    assert (await board_column(client, member, progress))["over_wip_limit"] is True


async def test_a_batch_cannot_overfill_an_enforced_column(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    progress = (await ids(client, owner))["In Progress"]
    await set_limit(client, owner, progress, 2)
    await enforce_wip(client, owner)
    await factory.item("WEB", member, status_id=progress)

    batch = await client.post(
        f"{ITEMS}/batch",
        headers=member.headers,
        json={
            "items": [
                {"title": "fits"},
                {"title": "fits too", "status_id": progress},
                {"title": "one too many", "status_id": progress},
            ]
        },
    )
    assert_problem(batch, 409, fields={"body.items.2.status_id"})
    column = await board_column(client, member, progress)
    assert column["count"] == 1

    # Upserts that move existing items in count as well.
    for ext in ("A", "B"):
        await factory.item("WEB", member, external_id=ext)
    upsert = await client.post(
        f"{ITEMS}/batch",
        headers=member.headers,
        json={
            "upsert": "external_id",
            "items": [
                {"external_id": "A", "title": "A", "status_id": progress},
                {"external_id": "B", "title": "B", "status_id": progress},
            ],
        },
    )
    assert_problem(upsert, 409, fields={"body.items.1.status_id"})
    assert (await board_column(client, member, progress))["count"] == 1

    fits = await client.post(
        f"{ITEMS}/batch",
        headers=member.headers,
        json={
            "upsert": "external_id",
            "items": [{"external_id": "A", "title": "A", "status_id": progress}],
        },
    )
    assert fits.status_code == 200, fits.text
    column = await board_column(client, member, progress)
    assert (column["count"], column["over_wip_limit"]) == (2, False)


async def test_lowering_a_limit_below_the_count_flags_the_column(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    progress = (await ids(client, owner))["In Progress"]
    for _ in range(3):
        await factory.item("WEB", owner, status_id=progress)
    await enforce_wip(client, owner)
    await set_limit(client, owner, progress, 2)
    column = await board_column(client, owner, progress)
    assert (column["count"], column["wip_limit"], column["over_wip_limit"]) == (3, 2, True)


@pytest.mark.parametrize("how", ["move", "create"])
async def test_concurrent_entries_into_the_last_free_slot_let_exactly_one_in(
    client: httpx.AsyncClient, factory: Factory, how: str
) -> None:
    owner, member, _, _ = await factory.team()
    progress = (await ids(client, owner))["In Progress"]
    await set_limit(client, owner, progress, 3)
    await enforce_wip(client, owner)
    for _ in range(2):
        await factory.item("WEB", owner, status_id=progress)
    waiting = [await factory.item("WEB", owner) for _ in range(8)]

    if how == "move":
        requests = [
            client.patch(f"{ITEMS}/{n}", headers=member.headers, json={"status_id": progress})
            for n in waiting
        ]
    else:
        requests = [
            client.post(
                ITEMS, headers=member.headers, json={"title": f"new {n}", "status_id": progress}
            )
            for n in range(8)
        ]
    responses = await asyncio.gather(*requests)

    codes = sorted(response.status_code for response in responses)
    assert codes.count(200 if how == "move" else 201) == 1, codes
    assert codes.count(409) == 7, codes
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "body.status_id")
    column = await board_column(client, owner, progress)
    assert (column["count"], column["over_wip_limit"]) == (3, False)


async def test_moves_into_a_status_being_deleted_never_fail_with_a_server_error(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    statuses = await ids(client, owner)
    review, done = statuses["In Review"], statuses["Done"]
    await factory.item("WEB", owner, status_id=review)
    numbers = [await factory.item("WEB", owner) for _ in range(6)]

    delete = client.delete(
        f"{STATUSES}/{review}", headers=owner.headers, params={"move_items_to": done}
    )
    moves = [
        client.patch(f"{ITEMS}/{n}", headers=member.headers, json={"status_id": review})
        for n in numbers
    ]
    creates = [
        client.post(ITEMS, headers=member.headers, json={"title": f"new {n}", "status_id": review})
        for n in range(3)
    ]
    # The deletion starts amid the writes: some land before it, some wait for it.
    results = await asyncio.gather(*moves[:3], *creates[:2], delete, *moves[3:], *creates[2:])
    deleted = results[5]
    responses = results[:5] + results[6:]

    assert deleted.status_code == 204, deleted.text
    for response in responses:
        # Each write landed before the deletion, which then moved its item on, or after it.
        if response.status_code >= 300:
            assert_problem(response, 422, "body.status_id")
            continue
        number = response.json()["number"]
        assert (await get_item(client, owner, number))["status"]["id"] == done
        entered = [e for e in await history(client, owner, number) if e["field"] == "status"]
        assert [(e["new_value"], e["actor_id"]) for e in entered][-1] == (done, owner.id)
    assert "In Review" not in await names(client, owner)
    listed = await client.get(ITEMS, headers=owner.headers, params={"limit": 200})
    assert all(i["status"]["id"] != review for i in listed.json()["data"])


async def test_recategorising_a_status_keeps_its_items_done_at_in_step(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    statuses = await ids(client, owner)
    review = statuses["In Review"]
    numbers = [await factory.item("WEB", owner, status_id=review) for _ in range(2)]
    elsewhere = await factory.item("WEB", owner, status_id=statuses["In Progress"])
    for number in numbers:
        assert (await get_item(client, owner, number))["done_at"] is None

    response = await client.patch(
        f"{STATUSES}/{review}", headers=owner.headers, json={"category": "done"}
    )
    assert response.status_code == 200, response.text
    for number in numbers:
        done = await get_item(client, owner, number)
        assert done["status"]["category"] == "done"
        assert done["done_at"] is not None
        assert done["version"] == 2
    assert (await get_item(client, owner, elsewhere))["done_at"] is None
    # Moving from one done status to another keeps the item done.
    moved = await client.patch(
        f"{ITEMS}/{numbers[0]}", headers=owner.headers, json={"status_id": statuses["Done"]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["done_at"] is not None

    response = await client.patch(
        f"{STATUSES}/{review}", headers=owner.headers, json={"category": "in_progress"}
    )
    assert response.status_code == 200, response.text
    reopened = await get_item(client, owner, numbers[1])
    assert reopened["done_at"] is None
    assert reopened["version"] == 3
    assert (await get_item(client, owner, numbers[0]))["done_at"] is not None


# --- at most 50 statuses a project ----------------------------------------------------------


async def add_statuses(factory: Factory, owner: Actor, count: int) -> None:
    for n in range(count):
        await factory.status("WEB", owner, f"Extra {n}")


async def test_a_workflow_has_at_most_50_statuses(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    assert workflow_service.MAX_STATUSES == 50  # docs/api.md, "Limits"
    owner, _, _, _ = await factory.team()
    await factory.owner("APP")  # another project, with room of its own
    await add_statuses(factory, owner, 45)  # 49 with the four defaults
    fiftieth = await client.post(
        STATUSES, headers=owner.headers, json={"name": "Fiftieth", "category": "todo"}
    )
    assert fiftieth.status_code == 201, fiftieth.text

    refused = await client.post(
        STATUSES, headers=owner.headers, json={"name": "One too many", "category": "todo"}
    )
    problem = assert_problem(refused, 409)
    assert "50 statuses" in problem["detail"]
    assert "move_items_to" in problem["detail"]
    assert len(await workflow(client, owner)) == 50

    deleted = await client.delete(f"{STATUSES}/{fiftieth.json()['id']}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    again = await client.post(
        STATUSES, headers=owner.headers, json={"name": "One too many", "category": "todo"}
    )
    assert again.status_code == 201, again.text


async def test_concurrent_creates_cannot_pass_the_status_limit_together(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, _, _, _ = await factory.team()
    await add_statuses(factory, owner, 44)  # 48: room for two more
    # Each request holds a moment after reading the workflow, so without the project's
    # workflow lock every one would read 48 statuses (the status rows it locks do not include
    # the ones the others are adding) and insert.
    pause_after(monkeypatch, workflow_repository, "list_statuses")

    responses = await asyncio.gather(
        *(
            client.post(
                STATUSES,
                headers=owner.headers,
                json={"name": f"Racer {n}", "category": "in_progress", "position": 0},
            )
            for n in range(4)
        )
    )

    codes = sorted(response.status_code for response in responses)
    assert codes == [201, 201, 409, 409], [response.text for response in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
    # `workflow` checks the positions are still 0..49, each status in a place of its own.
    assert len(await workflow(client, owner)) == 50
