"""Batch item creation and external-id upserts: atomic, ordered, re-runnable — over HTTP."""

import asyncio
from typing import Any

import httpx
import pytest

from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, backlog, status_ids

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
BATCH = f"{ITEMS}/batch"


async def batch(client: httpx.AsyncClient, actor: Actor, body: Any) -> httpx.Response:
    return await client.post(BATCH, headers=actor.headers, json=body)


async def next_number(client: httpx.AsyncClient, actor: Actor) -> int:
    """The number the next item gets (creates a probe item and deletes it)."""
    response = await client.post(ITEMS, headers=actor.headers, json={"title": "probe"})
    assert response.status_code == 201, response.text
    number: int = response.json()["number"]
    deleted = await client.delete(f"{ITEMS}/{number}", headers=actor.headers)
    assert deleted.status_code == 204
    return number


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [item["title"] for item in items]


# --- creating many ---------------------------------------------------------------------------


async def test_batch_of_500_gets_consecutive_numbers_at_the_bottom_in_input_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    first = await factory.item("WEB", owner, title="Existing first")
    second = await factory.item("WEB", owner, title="Existing second")

    body = {"items": [{"title": f"Bulk {i:03}", "points": [1, 2, 3][i % 3]} for i in range(500)]}
    response = await batch(client, owner, body)

    assert response.status_code == 200, response.text[:500]
    result = response.json()
    assert result["created"] == 500
    assert result["updated"] == 0
    data = result["data"]
    assert titles(data) == [f"Bulk {i:03}" for i in range(500)]
    assert [item["number"] for item in data] == list(range(3, 503))
    assert [item["key"] for item in data[:2]] == ["WEB-3", "WEB-4"]
    assert [item["points"] for item in data[:4]] == [1, 2, 3, 1]
    assert all(item["version"] == 1 and item["status"]["name"] == "To Do" for item in data)
    ranks = [item["rank"] for item in data]
    assert ranks == sorted(ranks) and len(set(ranks)) == 500

    listed = await backlog(client, owner)
    assert [item["number"] for item in listed] == [first, second, *range(3, 503)]
    assert listed[1]["rank"] < ranks[0]
    assert listed[2:] == data
    # Numbering carries on after the batch.
    assert await next_number(client, owner) == 503


async def test_batch_with_every_field(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner(estimation_scale="tshirt")
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.MEMBER)
    epic = await factory.item("WEB", owner, type="epic", title="Epic")
    done = (await status_ids(client, owner))["Done"]

    response = await batch(
        client,
        owner,
        {
            "items": [
                {
                    "type": "bug",
                    "title": "Crash",
                    "description": "Stack trace\n",
                    "points": "L",
                    "priority": "highest",
                    "labels": ["prod"],
                    "assignee_id": dev.id,
                    "parent": epic,
                    "status_id": done,
                    "external_id": "SENTRY-1",
                },
                {"title": "Plain", "points": 3, "parent": epic},
            ]
        },
    )

    assert response.status_code == 200, response.text
    crash, plain = response.json()["data"]
    assert crash["type"] == "bug"
    assert crash["description"] == "Stack trace\n"
    assert (crash["points"], crash["points_label"]) == (5, "L")
    assert crash["priority"] == "highest"
    assert crash["labels"] == ["prod"]
    assert crash["assignee"]["id"] == dev.id
    assert crash["parent"] == epic
    assert crash["status"]["category"] == "done"
    assert crash["done_at"] is not None
    assert crash["external_id"] == "SENTRY-1"
    assert (plain["type"], plain["points_label"], plain["priority"]) == ("story", "M", "medium")
    epic_item = (await client.get(f"{ITEMS}/{epic}", headers=owner.headers)).json()
    assert epic_item["epic"] == {"children": 2, "points_total": 8, "points_done": 5}
    for item in (crash, plain):
        fetched = await client.get(f"{ITEMS}/{item['number']}", headers=owner.headers)
        assert fetched.json() == item


async def test_position_top_items_go_to_the_top_in_input_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await factory.item("WEB", owner, title="X")
    await factory.item("WEB", owner, title="Y")
    response = await batch(
        client,
        owner,
        {
            "items": [
                {"title": "T1", "position": "top"},
                {"title": "B1"},
                {"title": "T2", "position": "top"},
                {"title": "B2", "position": "bottom"},
                {"title": "T3", "position": "top"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    # The response keeps input order; numbers follow input order too.
    assert titles(response.json()["data"]) == ["T1", "B1", "T2", "B2", "T3"]
    assert [item["number"] for item in response.json()["data"]] == [3, 4, 5, 6, 7]
    assert titles(await backlog(client, owner)) == ["T1", "T2", "T3", "X", "Y", "B1", "B2"]

    again = await batch(client, owner, {"items": [{"title": "T0", "position": "top"}]})
    assert again.status_code == 200
    assert titles(await backlog(client, owner))[:2] == ["T0", "T1"]


async def test_batch_into_an_empty_project(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    response = await batch(
        client, owner, {"items": [{"title": "top", "position": "top"}, {"title": "bottom"}]}
    )
    assert response.status_code == 200, response.text
    assert titles(await backlog(client, owner)) == ["top", "bottom"]


@pytest.mark.parametrize("count", [0, 501])
async def test_batch_size_is_1_to_500(
    client: httpx.AsyncClient, factory: Factory, count: int
) -> None:
    owner = await factory.owner()
    response = await batch(client, owner, {"items": [{"title": f"t{i}"} for i in range(count)]})
    assert_problem(response, 422, "body.items")
    assert await backlog(client, owner) == []
    assert await next_number(client, owner) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.items"),
        ({"items": "many"}, "body.items"),
        ({"items": [{"title": "x"}], "upsert": "title"}, "body.upsert"),
        ({"items": [{"title": "x"}], "atomic": False}, "body.atomic"),
    ],
)
async def test_malformed_batch_is_422(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    owner = await factory.owner()
    assert_problem(await batch(client, owner, body), 422, field)
    assert await backlog(client, owner) == []


async def test_batch_needs_member_role(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    viewer = await factory.user()
    stranger = await factory.user()
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    body = {"items": [{"title": "x", "external_id": "E"}], "upsert": "external_id"}
    assert_problem(await batch(client, viewer, body), 403)
    assert_problem(await batch(client, stranger, body), 404)
    assert_problem(await client.post(BATCH, json=body), 401)
    assert await backlog(client, owner) == []


# --- one bad item spoils the batch -----------------------------------------------------------


def _many(bad_index: int, bad: dict[str, Any], size: int = 10) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"title": f"Good {i}", "points": 2, "external_id": f"G-{i}"} for i in range(size)
    ]
    items[bad_index] = {**items[bad_index], **bad}
    return {"items": items}


@pytest.mark.parametrize(
    ("bad_index", "bad", "field"),
    [
        (3, {"points": 4}, "body.items.3.points"),
        (0, {"points": "XL"}, "body.items.0.points"),
        (9, {"points": True}, "body.items.9.points"),
        (7, {"title": ""}, "body.items.7.title"),
        (5, {"title": "x" * 256}, "body.items.5.title"),
        (2, {"assignee_id": 999_999}, "body.items.2.assignee_id"),
        (4, {"parent": 1}, "body.items.4.parent"),
        (6, {"parent": 999}, "body.items.6.parent"),
        (1, {"status_id": 999_999}, "body.items.1.status_id"),
        (8, {"priority": "urgent"}, "body.items.8.priority"),
        (8, {"type": "feature"}, "body.items.8.type"),
        (3, {"labels": [""]}, "body.items.3.labels"),
        (2, {"external_id": ""}, "body.items.2.external_id"),
        (5, {"colour": "red"}, "body.items.5.colour"),
    ],
)
async def test_one_bad_item_rejects_the_whole_batch(
    client: httpx.AsyncClient,
    factory: Factory,
    bad_index: int,
    bad: dict[str, Any],
    field: str,
) -> None:
    owner = await factory.owner()
    story = await factory.item("WEB", owner, title="A story, not an epic")
    assert story == 1

    problem = assert_problem(await batch(client, owner, _many(bad_index, bad)), 422, field)

    assert [error["field"] for error in problem["errors"]] == [field]
    assert titles(await backlog(client, owner)) == ["A story, not an epic"]
    # Not even item numbers were used up.
    assert await next_number(client, owner) == 2


async def test_non_member_assignee_rejects_the_batch(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    outsider = await factory.user()
    member = await factory.user()
    await factory.member("WEB", owner, member, Role.MEMBER)
    body = {
        "items": [
            {"title": "ok", "assignee_id": member.id},
            {"title": "ok too", "assignee_id": owner.id},
            {"title": "bad", "assignee_id": outsider.id},
        ]
    }
    assert_problem(await batch(client, owner, body), 422, fields={"body.items.2.assignee_id"})
    assert await backlog(client, owner) == []


# --- external ids and upserts ----------------------------------------------------------------


@pytest.mark.parametrize("upsert", [None, "external_id"])
async def test_duplicate_external_id_inside_a_batch_names_the_second(
    client: httpx.AsyncClient, factory: Factory, upsert: str | None
) -> None:
    owner = await factory.owner()
    items = [
        {"title": "a", "external_id": "GH-1"},
        {"title": "b", "external_id": "GH-2"},
        {"title": "c"},
        {"title": "d", "external_id": "GH-1"},
        {"title": "e", "external_id": "GH-2"},
    ]
    body: dict[str, Any] = {"items": items, **({"upsert": upsert} if upsert else {})}
    problem = assert_problem(
        await batch(client, owner, body), 422, fields={"body.items.3.external_id"}
    )
    assert "items.0" in problem["detail"]
    assert await backlog(client, owner) == []


async def test_existing_external_id_without_upsert_is_409_naming_the_index(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await factory.item("WEB", owner, title="Imported", external_id="JIRA-7")
    await factory.item("WEB", owner, title="Imported too", external_id="JIRA-9")
    before = await backlog(client, owner)

    body = {
        "items": [
            {"title": "new", "external_id": "JIRA-8"},
            {"title": "no id"},
            {"title": "again", "external_id": "JIRA-9"},
            {"title": "again too", "external_id": "JIRA-7"},
        ]
    }
    problem = assert_problem(
        await batch(client, owner, body), 409, fields={"body.items.2.external_id"}
    )
    assert "upsert" in problem["detail"]
    assert await backlog(client, owner) == before
    assert await next_number(client, owner) == 3


async def test_upsert_twice_ends_in_the_same_state(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.MEMBER)
    epic = await factory.item("WEB", owner, type="epic", title="Imports")
    script = {
        "upsert": "external_id",
        "items": [
            {
                "external_id": f"CSV-{i}",
                "title": f"Row {i}",
                "type": ["story", "bug", "task"][i % 3],
                "points": [1, 2, 3, 5, 8][i % 5],
                "priority": "high",
                "labels": ["import", f"batch-{i % 2}"],
                "assignee_id": dev.id if i % 2 else None,
                "parent": epic if i % 3 == 0 else None,
                "description": f"Imported row {i}.\n",
            }
            for i in range(30)
        ],
    }

    first = await batch(client, owner, script)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["updated"]) == (30, 0)
    state = await backlog(client, owner)

    second = await batch(client, owner, script)
    assert second.status_code == 200, second.text
    assert (second.json()["created"], second.json()["updated"]) == (0, 0)
    assert second.json()["data"] == first.json()["data"]
    assert await backlog(client, owner) == state
    assert len(state) == 31
    assert (await client.get(f"{ITEMS}/{epic}", headers=owner.headers)).json()["epic"] == {
        "children": 10,
        "points_total": sum([1, 2, 3, 5, 8][i % 5] for i in range(0, 30, 3)),
        "points_done": 0,
    }
    # Nothing was logged by the no-op re-run.
    history = await client.get(f"{ITEMS}/2/history", headers=owner.headers)
    assert [event["kind"] for event in history.json()["data"]] == ["created"]


async def test_upsert_updates_changed_items_and_creates_new_ones(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    first = await batch(
        client,
        owner,
        {
            "upsert": "external_id",
            "items": [
                {"external_id": f"E{i}", "title": f"Title {i}", "points": 3} for i in range(5)
            ],
        },
    )
    assert first.status_code == 200, first.text
    original = {item["external_id"]: item for item in first.json()["data"]}

    rerun = await batch(
        client,
        owner,
        {
            "upsert": "external_id",
            "items": [
                {"external_id": "E0", "title": "Title 0", "points": 3},
                {"external_id": "NEW-1", "title": "Brand new", "position": "top"},
                {"external_id": "E1", "title": "Renamed 1", "points": 3},
                {"external_id": "E2", "title": "Title 2", "points": 8, "position": "top"},
                {"title": "No external id"},
                {"external_id": "E4", "title": "Title 4", "points": 3},
            ],
        },
    )

    assert rerun.status_code == 200, rerun.text
    result = rerun.json()
    assert (result["created"], result["updated"]) == (2, 2)
    data = result["data"]
    # Results come back in input order, updated and created alike.
    assert titles(data) == [
        "Title 0",
        "Brand new",
        "Renamed 1",
        "Title 2",
        "No external id",
        "Title 4",
    ]
    assert [item["number"] for item in data] == [1, 6, 2, 3, 7, 5]
    assert [item["version"] for item in data] == [1, 1, 2, 2, 1, 1]
    assert data[3]["points"] == 8
    # An updated item keeps its place in the backlog: `position` only places new items.
    assert data[3]["rank"] == original["E2"]["rank"]
    assert data[0] == original["E0"]

    listed = await backlog(client, owner)
    assert titles(listed) == [
        "Brand new",
        "Title 0",
        "Renamed 1",
        "Title 2",
        "Title 3",
        "Title 4",
        "No external id",
    ]
    # Items the rerun left out are untouched.
    assert listed[4] == original["E3"]


async def test_upsert_leaves_unsent_fields_alone(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.MEMBER)
    number = await factory.item(
        "WEB",
        owner,
        title="Rich",
        type="bug",
        points=5,
        labels=["keep"],
        assignee_id=dev.id,
        priority="highest",
        external_id="R-1",
    )
    response = await batch(
        client,
        owner,
        {"upsert": "external_id", "items": [{"external_id": "R-1", "title": "Rich, renamed"}]},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["updated"]) == (0, 1)
    item = (await client.get(f"{ITEMS}/{number}", headers=owner.headers)).json()
    assert item["title"] == "Rich, renamed"
    assert (item["type"], item["points"], item["labels"], item["priority"]) == (
        "bug",
        5,
        ["keep"],
        "highest",
    )
    assert item["assignee"]["id"] == dev.id
    assert item["version"] == 2


async def test_upsert_of_500_twice(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    script = {
        "upsert": "external_id",
        "items": [{"external_id": f"ROW-{i}", "title": f"Row {i}"} for i in range(500)],
    }
    first = await batch(client, owner, script)
    assert first.status_code == 200, first.text[:300]
    assert (first.json()["created"], first.json()["updated"]) == (500, 0)
    script["items"][499]["title"] = "Row 499, edited"  # type: ignore[index]
    second = await batch(client, owner, script)
    assert second.status_code == 200, second.text[:300]
    assert (second.json()["created"], second.json()["updated"]) == (0, 1)
    listed = await backlog(client, owner)
    assert len(listed) == 500
    assert [item["number"] for item in listed] == list(range(1, 501))
    assert listed[-1]["title"] == "Row 499, edited"


async def test_bad_item_in_an_upsert_rolls_back_the_updates_too(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    created = await batch(
        client,
        owner,
        {
            "upsert": "external_id",
            "items": [{"external_id": f"E{i}", "title": f"Title {i}"} for i in range(3)],
        },
    )
    assert created.status_code == 200
    before = await backlog(client, owner)

    response = await batch(
        client,
        owner,
        {
            "upsert": "external_id",
            "items": [
                {"external_id": "E0", "title": "Changed 0", "points": 5},
                {"external_id": "E-new", "title": "New"},
                {"external_id": "E2", "title": "Changed 2", "points": 7},
            ],
        },
    )

    assert_problem(response, 422, fields={"body.items.2.points"})
    assert await backlog(client, owner) == before
    assert await next_number(client, owner) == 4


async def test_upsert_refuses_a_parent_cycle(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    outer = await factory.item("WEB", owner, type="epic", title="Outer", external_id="EPIC-A")
    inner = await factory.item(
        "WEB", owner, type="epic", title="Inner", external_id="EPIC-B", parent=outer
    )
    before = await backlog(client, owner)
    response = await batch(
        client,
        owner,
        {
            "upsert": "external_id",
            "items": [
                {"external_id": "EPIC-B", "title": "Inner"},
                {"external_id": "EPIC-A", "title": "Outer", "parent": inner},
            ],
        },
    )
    assert_problem(response, 422, fields={"body.items.1.parent"})
    assert await backlog(client, owner) == before


async def test_upsert_cannot_change_the_type_of_an_epic_with_children(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    epic = await factory.item("WEB", owner, type="epic", title="Epic", external_id="EPIC")
    await factory.item("WEB", owner, title="Child", parent=epic)
    before = await backlog(client, owner)
    response = await batch(
        client,
        owner,
        {
            "upsert": "external_id",
            "items": [
                {"title": "Would be new"},
                {"external_id": "EPIC", "title": "Epic", "type": "story"},
            ],
        },
    )
    assert_problem(response, 409)
    assert await backlog(client, owner) == before


async def test_concurrent_runs_of_one_upsert_script_end_in_the_same_state(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    script = {
        "upsert": "external_id",
        "items": [{"external_id": f"ROW-{i}", "title": f"Row {i}"} for i in range(25)],
    }
    responses = await asyncio.gather(*[batch(client, owner, script) for _ in range(4)])
    assert [response.status_code for response in responses] == [200] * 4, [
        response.text[:200] for response in responses
    ]
    assert sorted(response.json()["created"] for response in responses) == [0, 0, 0, 25]
    listed = await backlog(client, owner)
    assert [item["external_id"] for item in listed] == [f"ROW-{i}" for i in range(25)]
    assert [item["number"] for item in listed] == list(range(1, 26))
