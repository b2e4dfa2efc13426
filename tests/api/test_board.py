"""The board: columns in workflow order, items in rank order, counts, points, WIP flags, scope,
and a constant number of SQL statements whatever its size — over HTTP on real PostgreSQL."""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.db import Database
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, backlog, status_ids

PROJECTS = "/api/v1/projects"


async def board(
    client: httpx.AsyncClient, actor: Actor, key: str = "WEB", **params: Any
) -> dict[str, Any]:
    response = await client.get(f"{PROJECTS}/{key}/board", headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def statuses(
    client: httpx.AsyncClient, actor: Actor, key: str = "WEB"
) -> list[dict[str, Any]]:
    response = await client.get(f"{PROJECTS}/{key}/statuses", headers=actor.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def column_numbers(body: dict[str, Any]) -> dict[str, list[int]]:
    return {c["status"]["name"]: [i["number"] for i in c["items"]] for c in body["columns"]}


@contextmanager
def counting_statements(database: Database) -> Iterator[list[str]]:
    """Collect every SQL statement sent to the database while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- shape -----------------------------------------------------------------------------------


async def test_an_empty_board_has_every_column(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner)
    body = await board(client, owner)
    assert body["scope"] == "backlog"
    assert body["count"] == 0 and body["points"] == 0
    workflow = await statuses(client, owner)
    assert [c["status"] for c in body["columns"]] == [
        {"id": s["id"], "name": s["name"], "category": s["category"]} for s in workflow
    ]
    for column, status in zip(body["columns"], workflow, strict=True):
        assert column["position"] == status["position"]
        assert column["wip_limit"] is None
        assert column["over_wip_limit"] is False
        assert (column["count"], column["points"], column["items"]) == (0, 0, [])


async def test_columns_follow_the_workflow_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    blocked = await factory.status("WEB", owner, "Blocked", "in_progress")
    done = (await status_ids(client, owner))["Done"]
    for status_id, position in ((done, 0), (blocked, 2)):
        response = await client.patch(
            f"{PROJECTS}/WEB/statuses/{status_id}",
            headers=owner.headers,
            json={"position": position},
        )
        assert response.status_code == 200, response.text
    body = await board(client, owner)
    assert [c["status"]["name"] for c in body["columns"]] == [
        "Done",
        "To Do",
        "Blocked",
        "In Progress",
        "In Review",
    ]
    assert [c["position"] for c in body["columns"]] == [0, 1, 2, 3, 4]


async def test_items_sit_in_their_columns_in_rank_order_with_counts_and_points(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    member = await factory.user()
    await factory.project(owner)
    await factory.member("WEB", owner, member, Role.MEMBER)
    workflow = await status_ids(client, owner)
    rng = random.Random(4242)
    for n in range(24):
        status = rng.choice(list(workflow))
        fields: dict[str, Any] = {"title": f"Card {n}", "status_id": workflow[status]}
        if rng.random() < 0.7:
            fields["points"] = rng.choice([1, 2, 3, 5, 8, 13])
        if rng.random() < 0.3:
            fields["position"] = "top"
        await factory.item("WEB", member, **fields)
    # Reorder a few so rank order is not creation order.
    for number, target in ((24, {"top": True}), (1, {"bottom": True}), (7, {"after": 12})):
        response = await client.post(
            f"{PROJECTS}/WEB/items/{number}/move", headers=member.headers, json=target
        )
        assert response.status_code == 200, response.text

    body = await board(client, member)
    ranked = await backlog(client, member)
    total_points = 0.0
    for column in body["columns"]:
        expected = [
            {**i, "blocked": False, "blockers": []}
            for i in ranked
            if i["status"]["id"] == column["status"]["id"]
        ]
        # The cards are the full items (and their blockers: none here), in backlog order.
        assert column["items"] == expected
        assert column["count"] == len(expected)
        points = sum(i["points"] or 0 for i in expected)
        assert column["points"] == pytest.approx(points)
        total_points += points
    assert body["count"] == 24
    assert body["points"] == pytest.approx(total_points)
    assert sum(c["count"] for c in body["columns"]) == 24


async def test_epics_are_not_on_the_board(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner)
    workflow = await status_ids(client, owner)
    epic = await factory.item(
        "WEB", owner, type="epic", points=40, status_id=workflow["In Progress"]
    )
    story = await factory.item(
        "WEB", owner, points=3, parent=epic, status_id=workflow["In Progress"]
    )
    bug = await factory.item("WEB", owner, type="bug", points=2, status_id=workflow["In Progress"])
    body = await board(client, owner)
    column = body["columns"][1]
    assert column["status"]["name"] == "In Progress"
    assert [i["number"] for i in column["items"]] == [story, bug]
    assert (column["count"], column["points"]) == (2, 5)
    assert (body["count"], body["points"]) == (2, 5)
    assert all(i["type"] != "epic" for c in body["columns"] for i in c["items"])


async def test_over_wip_limit_flags(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner)
    workflow = await status_ids(client, owner)
    limits = {"To Do": 3, "In Progress": 2, "In Review": 1}
    for name, limit in limits.items():
        response = await client.patch(
            f"{PROJECTS}/WEB/statuses/{workflow[name]}",
            headers=owner.headers,
            json={"wip_limit": limit},
        )
        assert response.status_code == 200, response.text
    placed = {"To Do": 3, "In Progress": 3, "In Review": 0, "Done": 9}
    for name, count in placed.items():
        for _ in range(count):
            await factory.item("WEB", owner, status_id=workflow[name])
    # Epics do not count against a limit.
    await factory.item("WEB", owner, type="epic", status_id=workflow["In Review"])
    await factory.item("WEB", owner, type="epic", status_id=workflow["In Review"])

    body = await board(client, owner)
    flags = {
        c["status"]["name"]: (c["count"], c["wip_limit"], c["over_wip_limit"])
        for c in body["columns"]
    }
    assert flags == {
        "To Do": (3, 3, False),
        "In Progress": (3, 2, True),
        "In Review": (0, 1, False),
        "Done": (9, None, False),
    }


# --- scope -----------------------------------------------------------------------------------


async def test_the_active_sprint_board_is_empty_until_sprints_exist(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    await factory.item("WEB", owner, points=5)
    body = await board(client, owner, sprint="active")
    assert body["scope"] == "active"
    assert [c["status"]["name"] for c in body["columns"]] == [
        "To Do",
        "In Progress",
        "In Review",
        "Done",
    ]
    assert all((c["count"], c["points"], c["items"]) == (0, 0, []) for c in body["columns"])
    assert (body["count"], body["points"]) == (0, 0)
    explicit = await board(client, owner, sprint="backlog")
    assert explicit["scope"] == "backlog"
    assert explicit["count"] == 1
    assert explicit == await board(client, owner)


@pytest.mark.parametrize("sprint", ["7", "0", "current", ""])
async def test_unknown_sprint_scopes_are_rejected(
    client: httpx.AsyncClient, factory: Factory, sprint: str
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    response = await client.get(
        f"{PROJECTS}/WEB/board", headers=owner.headers, params={"sprint": sprint}
    )
    assert_problem(response, 422, "query.sprint")


async def test_board_access(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    viewer = await factory.user()
    stranger = await factory.user()
    await factory.project(owner)
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    await factory.item("WEB", owner)
    assert (await board(client, viewer))["count"] == 1
    assert_problem(await client.get(f"{PROJECTS}/WEB/board", headers=stranger.headers), 404)
    assert_problem(await client.get(f"{PROJECTS}/NOPE/board", headers=owner.headers), 404)
    assert_problem(await client.get(f"{PROJECTS}/WEB/board"), 401)


# --- a constant number of queries ------------------------------------------------------------


async def test_the_board_costs_the_same_queries_whatever_its_size(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.user()
    await factory.project(owner, "SMALL")
    await factory.project(owner, "BIG")
    small = [s["id"] for s in await statuses(client, owner, "SMALL")]
    for n in range(3):
        await factory.item("SMALL", owner, title=f"small {n}", status_id=small[n], points=1)
    for name in ("Blocked", "Testing", "Staging", "Released"):
        await factory.status("BIG", owner, name, "in_progress")
    big = [s["id"] for s in await statuses(client, owner, "BIG")]
    assert len(big) == 8
    epic = await factory.item("BIG", owner, type="epic")
    members = [owner]
    for _ in range(3):
        member = await factory.user()
        await factory.member("BIG", owner, member, Role.MEMBER)
        members.append(member)
    for n in range(60):
        await factory.item(
            "BIG",
            owner,
            title=f"big {n}",
            status_id=big[n % len(big)],
            points=[1, 2, 3, 5][n % 4],
            assignee_id=members[n % len(members)].id,
            parent=epic if n % 3 == 0 else None,
            labels=["x", f"l{n % 5}"],
        )
    # Warm up: the first request of a token may also record its use.
    await board(client, owner, "SMALL")
    await board(client, owner, "BIG")

    with counting_statements(database) as small_statements:
        small_board = await board(client, owner, "SMALL")
    with counting_statements(database) as big_statements:
        big_board = await board(client, owner, "BIG")

    assert small_board["count"] == 3
    assert big_board["count"] == 60
    assert all(c["count"] for c in big_board["columns"])
    assert len(small_statements) > 0
    assert len(big_statements) == len(small_statements), "\n".join(big_statements)
