"""Backlog items API: create, read, change, delete, epics, estimates — HTTP on real PostgreSQL."""

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest

from app.domain.items import repository as items_repository
from app.domain.projects import repository as projects_repository
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import (
    assert_problem,
    backlog,
    etag_version,
    get_item,
    history,
    pause_after,
    rendezvous,
    status_ids,
)

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"


# --- helpers ---------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, actor: Actor, body: Any, key: str = "WEB"
) -> httpx.Response:
    return await client.post(f"{PROJECTS}/{key}/items", headers=actor.headers, json=body)


async def patch(
    client: httpx.AsyncClient, actor: Actor, number: int, body: Any, **headers: str
) -> httpx.Response:
    return await client.patch(f"{ITEMS}/{number}", headers={**actor.headers, **headers}, json=body)


# --- create and read -------------------------------------------------------------------------


async def test_create_item_with_defaults(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    ids = await status_ids(client, owner)

    response = await create(client, owner, {"title": "Log in with e-mail"})

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["Location"] == f"{ITEMS}/1"
    assert etag_version(response) == 1
    body = response.json()
    assert body["number"] == 1
    assert body["key"] == "WEB-1"
    assert body["type"] == "story"
    assert body["title"] == "Log in with e-mail"
    assert body["description"] == ""
    assert body["points"] is None
    assert body["points_label"] is None
    assert body["priority"] == "medium"
    assert body["labels"] == []
    assert body["assignee"] is None
    assert body["parent"] is None
    assert body["status"] == {"id": ids["To Do"], "name": "To Do", "category": "todo"}
    assert body["external_id"] is None
    assert isinstance(body["rank"], str) and body["rank"]
    assert body["done_at"] is None
    assert body["epic"] is None
    assert body["version"] == 1
    assert isinstance(body["id"], int)
    created_at = datetime.fromisoformat(body["created_at"])
    assert created_at.tzinfo is not None
    assert datetime.fromisoformat(body["updated_at"]) >= created_at

    fetched = await client.get(response.headers["Location"], headers=owner.headers)
    assert fetched.status_code == 200
    assert etag_version(fetched) == 1
    assert fetched.json() == body
    assert await backlog(client, owner) == [body]


async def test_create_item_with_every_field(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    dev = await factory.user("dev@example.com")
    await factory.member("WEB", owner, dev, Role.MEMBER)
    epic = await factory.item("WEB", owner, type="epic", title="Accounts")
    ids = await status_ids(client, owner)
    # Markdown keeps its whitespace: indentation makes a code block, newlines end it.
    description = "    $ make reset\n\n## Why\n\nUsers *forget* passwords.\n- [ ] mail\n"

    response = await create(
        client,
        owner,
        {
            "type": "bug",
            "title": "  Reset password  ",
            "description": description,
            "points": 5,
            "priority": "highest",
            "labels": ["auth", " ui ", "auth"],
            "assignee_id": dev.id,
            "parent": epic,
            "status_id": ids["In Progress"],
            "external_id": "JIRA-17",
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["number"] == 2
    assert body["key"] == "WEB-2"
    assert body["type"] == "bug"
    assert body["title"] == "Reset password"
    assert body["description"] == description
    assert body["points"] == 5
    assert body["points_label"] == "5"
    assert body["priority"] == "highest"
    assert body["labels"] == ["auth", "ui"]
    assert body["assignee"] == {"id": dev.id, "display_name": "dev"}
    assert body["parent"] == epic
    assert body["status"] == {
        "id": ids["In Progress"],
        "name": "In Progress",
        "category": "in_progress",
    }
    assert body["external_id"] == "JIRA-17"
    assert body["done_at"] is None
    assert body["epic"] is None
    assert await get_item(client, owner, 2) == body


@pytest.mark.parametrize("item_type", ["story", "bug", "task", "spike", "epic"])
async def test_every_type_round_trips(
    client: httpx.AsyncClient, factory: Factory, item_type: str
) -> None:
    owner = await factory.owner()
    response = await create(client, owner, {"title": "Typed", "type": item_type})
    assert response.status_code == 201, response.text
    fetched = await get_item(client, owner, response.json()["number"])
    assert fetched["type"] == item_type
    if item_type == "epic":
        assert fetched["epic"] == {"children": 0, "points_total": 0, "points_done": 0}
    else:
        assert fetched["epic"] is None


async def test_every_priority_round_trips(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    names = ["highest", "high", "medium", "low", "lowest"]
    for name in names:
        response = await create(client, owner, {"title": name, "priority": name})
        assert response.status_code == 201, response.text
        assert response.json()["priority"] == name
    assert [item["priority"] for item in await backlog(client, owner)] == names


async def test_numbers_are_per_project_consecutive_and_never_reused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await factory.project(owner, "OPS")
    numbers = [(await create(client, owner, {"title": f"W{i}"})).json()["number"] for i in range(3)]
    assert numbers == [1, 2, 3]
    other = await create(client, owner, {"title": "Ops one"}, key="OPS")
    assert other.json()["key"] == "OPS-1"

    deleted = await client.delete(f"{ITEMS}/3", headers=owner.headers)
    assert deleted.status_code == 204
    again = await create(client, owner, {"title": "After delete"})
    assert again.json()["number"] == 4
    assert again.json()["key"] == "WEB-4"
    assert [item["number"] for item in await backlog(client, owner)] == [1, 2, 4]


async def test_new_items_go_to_the_bottom_unless_position_top(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    for title in ["a", "b"]:
        assert (await create(client, owner, {"title": title})).status_code == 201
    top = await create(client, owner, {"title": "urgent", "position": "top"})
    assert top.status_code == 201
    bottom = await create(client, owner, {"title": "c", "position": "bottom"})
    assert bottom.status_code == 201
    listed = await backlog(client, owner)
    assert [item["title"] for item in listed] == ["urgent", "a", "b", "c"]
    ranks = [item["rank"] for item in listed]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4


async def test_unknown_item_and_other_projects_items_are_404(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await factory.project(owner, "OPS")
    await factory.item("OPS", owner, title="Only in OPS")
    assert_problem(await client.get(f"{ITEMS}/1", headers=owner.headers), 404)
    assert_problem(await client.get(f"{ITEMS}/999999", headers=owner.headers), 404)
    assert_problem(await patch(client, owner, 1, {"title": "x"}), 404)
    assert_problem(await client.delete(f"{ITEMS}/1", headers=owner.headers), 404)
    assert_problem(await client.get(f"{ITEMS}/abc", headers=owner.headers), 422)
    ops = await client.get(f"{PROJECTS}/OPS/items/1", headers=owner.headers)
    assert ops.status_code == 200
    assert ops.json()["title"] == "Only in OPS"


async def test_numbers_and_ids_beyond_the_database_range_are_client_errors(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # Numbers are 32-bit and ids 64-bit in the database; larger ones name nothing, never a 500.
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Only")
    for huge in [2**31, 2**40, 2**70]:
        # In the path, a number no item can have names nothing: 404 like any unknown number.
        assert_problem(await client.get(f"{ITEMS}/{huge}", headers=owner.headers), 404)
        assert_problem(await patch(client, owner, huge, {"title": "x"}), 404)
        assert_problem(await client.delete(f"{ITEMS}/{huge}", headers=owner.headers), 404)
        assert_problem(await client.get(f"{ITEMS}/{huge}/history", headers=owner.headers), 404)
        assert_problem(
            await create(client, owner, {"title": "x", "parent": huge}), 422, "body.parent"
        )
        assert_problem(await patch(client, owner, number, {"parent": huge}), 422, "body.parent")
    for huge in [2**63, 2**70]:
        assert_problem(
            await patch(client, owner, number, {"assignee_id": huge}), 422, "body.assignee_id"
        )
        assert_problem(
            await create(client, owner, {"title": "x", "assignee_id": huge}),
            422,
            "body.assignee_id",
        )
        assert_problem(
            await patch(client, owner, number, {"status_id": huge}), 422, "body.status_id"
        )
    listed = await backlog(client, owner)
    assert [(item["number"], item["version"]) for item in listed] == [(number, 1)]


async def test_outsiders_get_404_and_anonymous_401(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Secret")
    stranger = await factory.user()
    for response in [
        await client.get(ITEMS, headers=stranger.headers),
        await client.get(f"{ITEMS}/{number}", headers=stranger.headers),
        await create(client, stranger, {"title": "Sneaky"}),
        await patch(client, stranger, number, {"title": "Sneaky"}),
        await client.delete(f"{ITEMS}/{number}", headers=stranger.headers),
    ]:
        assert_problem(response, 404)
    assert_problem(await client.get(ITEMS), 401)
    assert_problem(await client.post(ITEMS, json={"title": "Anon"}), 401)
    assert [item["title"] for item in await backlog(client, owner)] == ["Secret"]


async def test_viewers_read_but_get_403_on_every_write(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    viewer = await factory.user()
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    number = await factory.item("WEB", owner, title="Read me")

    assert (await get_item(client, viewer, number))["title"] == "Read me"
    assert len(await backlog(client, viewer)) == 1
    assert_problem(await create(client, viewer, {"title": "Nope"}), 403)
    assert_problem(await patch(client, viewer, number, {"title": "Nope"}), 403)
    assert_problem(await client.delete(f"{ITEMS}/{number}", headers=viewer.headers), 403)
    assert_problem(
        await client.post(
            f"{ITEMS}/batch", headers=viewer.headers, json={"items": [{"title": "Nope"}]}
        ),
        403,
    )
    listed = await backlog(client, owner)
    assert [(item["title"], item["version"]) for item in listed] == [("Read me", 1)]


async def test_members_write(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    member = await factory.user()
    await factory.member("WEB", owner, member, Role.MEMBER)
    created = await create(client, member, {"title": "By a member"})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    changed = await patch(client, member, number, {"title": "Changed by a member"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "Changed by a member"
    deleted = await client.delete(f"{ITEMS}/{number}", headers=member.headers)
    assert deleted.status_code == 204
    assert await backlog(client, owner) == []


# --- change ----------------------------------------------------------------------------------


async def test_patch_changes_only_sent_fields_and_bumps_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await factory.item(
        "WEB", owner, title="Before", description="Keep me", points=3, labels=["a"]
    )
    before = await get_item(client, owner, number)

    response = await patch(client, owner, number, {"title": "After", "priority": "low"})

    assert response.status_code == 200, response.text
    assert etag_version(response) == 2
    body = response.json()
    assert body["title"] == "After"
    assert body["priority"] == "low"
    assert body["version"] == 2
    assert body["created_at"] == before["created_at"]
    assert datetime.fromisoformat(body["updated_at"]) > datetime.fromisoformat(before["updated_at"])
    unchanged = {"description", "points", "labels", "rank", "status", "number", "key", "id"}
    assert {name: body[name] for name in unchanged} == {name: before[name] for name in unchanged}
    assert await get_item(client, owner, number) == body


async def test_patch_every_field(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.MEMBER)
    epic = await factory.item("WEB", owner, type="epic", title="Epic")
    number = await factory.item("WEB", owner, title="Plain")
    ids = await status_ids(client, owner)

    response = await patch(
        client,
        owner,
        number,
        {
            "type": "task",
            "title": "Detailed",
            "description": "Now with **words**.",
            "points": 8,
            "priority": "high",
            "labels": ["backend", "db"],
            "assignee_id": dev.id,
            "parent": epic,
            "status_id": ids["In Review"],
            "external_id": "EXT-1",
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "task"
    assert body["title"] == "Detailed"
    assert body["description"] == "Now with **words**."
    assert (body["points"], body["points_label"]) == (8, "8")
    assert body["priority"] == "high"
    assert body["labels"] == ["backend", "db"]
    assert body["assignee"]["id"] == dev.id
    assert body["parent"] == epic
    assert body["status"]["name"] == "In Review"
    assert body["external_id"] == "EXT-1"
    assert body["version"] == 2
    assert await get_item(client, owner, number) == body
    # Every tracked field change is in the item's history.
    fields = {event["field"] for event in await history(client, owner, number)}
    assert {"type", "title", "points", "priority", "labels", "assignee", "parent", "status"} <= (
        fields
    )


async def test_patch_clears_nullable_fields(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.MEMBER)
    epic = await factory.item("WEB", owner, type="epic", title="Epic")
    number = await factory.item(
        "WEB",
        owner,
        title="Full",
        description="text",
        points=2,
        labels=["x"],
        assignee_id=dev.id,
        parent=epic,
        external_id="E-1",
    )

    response = await patch(
        client,
        owner,
        number,
        {
            "description": None,
            "points": None,
            "labels": None,
            "assignee_id": None,
            "parent": None,
            "external_id": None,
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["description"] == ""
    assert body["points"] is None and body["points_label"] is None
    assert body["labels"] == []
    assert body["assignee"] is None
    assert body["parent"] is None
    assert body["external_id"] is None
    assert (await get_item(client, owner, epic))["epic"]["children"] == 0
    # The freed external id can be used again.
    reuse = await create(client, owner, {"title": "Reuses", "external_id": "E-1"})
    assert reuse.status_code == 201, reuse.text


async def test_patch_that_changes_nothing_keeps_the_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Same", points=3, labels=["a", "b"])
    before = await get_item(client, owner, number)
    response = await patch(
        client, owner, number, {"title": "Same", "points": 3, "labels": ["a", "b"]}
    )
    assert response.status_code == 200, response.text
    assert etag_version(response) == 1
    assert response.json() == before
    empty = await patch(client, owner, number, {})
    assert empty.status_code == 200
    assert empty.json()["version"] == 1
    assert [event["kind"] for event in await history(client, owner, number)] == ["created"]


@pytest.mark.parametrize("name", ["type", "title", "priority", "status_id"])
async def test_patch_rejects_null_for_required_fields(
    client: httpx.AsyncClient, factory: Factory, name: str
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Required")
    before = await get_item(client, owner, number)
    assert_problem(await patch(client, owner, number, {name: None}), 422, f"body.{name}")
    assert await get_item(client, owner, number) == before


# --- ETag / If-Match -------------------------------------------------------------------------


async def test_patch_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="v1")

    ok = await patch(client, owner, number, {"title": "v2"}, **{"If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert etag_version(ok) == 2

    stale = await patch(client, owner, number, {"title": "lost update"}, **{"If-Match": '"1"'})
    assert_problem(stale, 412)
    garbage = await patch(client, owner, number, {"title": "lost"}, **{"If-Match": '"abc"'})
    assert_problem(garbage, 412)
    after = await get_item(client, owner, number)
    assert (after["title"], after["version"]) == ("v2", 2)

    # If-Match compares strongly: a weak tag names no version (RFC 9110 13.1.1).
    weak = await patch(client, owner, number, {"title": "v3"}, **{"If-Match": 'W/"2"'})
    assert_problem(weak, 412)
    star = await patch(client, owner, number, {"title": "v4"}, **{"If-Match": "*"})
    assert star.status_code == 200, star.text
    assert star.json()["version"] == 3


async def test_delete_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Delete me")
    assert (await patch(client, owner, number, {"title": "Changed"})).status_code == 200

    stale = await client.delete(f"{ITEMS}/{number}", headers={**owner.headers, "If-Match": '"1"'})
    assert_problem(stale, 412)
    assert (await get_item(client, owner, number))["title"] == "Changed"

    current = await client.delete(f"{ITEMS}/{number}", headers={**owner.headers, "If-Match": '"2"'})
    assert current.status_code == 204
    assert current.content == b""


async def test_delete_item(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    keep = await factory.item("WEB", owner, title="Keep")
    gone = await factory.item("WEB", owner, title="Gone", external_id="X-1")
    response = await client.delete(f"{ITEMS}/{gone}", headers=owner.headers)
    assert response.status_code == 204
    assert_problem(await client.get(f"{ITEMS}/{gone}", headers=owner.headers), 404)
    assert_problem(await client.delete(f"{ITEMS}/{gone}", headers=owner.headers), 404)
    assert [item["number"] for item in await backlog(client, owner)] == [keep]
    # Its external id is free again.
    assert (await create(client, owner, {"title": "New", "external_id": "X-1"})).status_code == 201


# --- status and done_at ----------------------------------------------------------------------


async def test_done_at_follows_the_status_category(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    released = await factory.status("WEB", owner, "Released", "done")
    ids = await status_ids(client, owner)
    number = await factory.item("WEB", owner, title="Ship it")

    moving = await patch(client, owner, number, {"status_id": ids["In Progress"]})
    assert moving.json()["done_at"] is None

    done = await patch(client, owner, number, {"status_id": ids["Done"]})
    assert done.status_code == 200, done.text
    done_at = done.json()["done_at"]
    assert done_at is not None
    assert done.json()["status"]["category"] == "done"
    assert datetime.fromisoformat(done_at) >= datetime.fromisoformat(moving.json()["updated_at"])

    # From one done status to another: it stays done since the first time.
    still_done = await patch(client, owner, number, {"status_id": released})
    assert still_done.json()["done_at"] == done_at

    reopened = await patch(client, owner, number, {"status_id": ids["To Do"]})
    assert reopened.json()["done_at"] is None
    assert (await get_item(client, owner, number))["done_at"] is None

    again = await patch(client, owner, number, {"status_id": ids["Done"]})
    assert again.json()["done_at"] is not None
    assert again.json()["done_at"] != done_at


async def test_item_created_in_a_done_status_has_done_at(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    ids = await status_ids(client, owner)
    response = await create(client, owner, {"title": "Already done", "status_id": ids["Done"]})
    assert response.status_code == 201, response.text
    assert response.json()["done_at"] is not None
    assert response.json()["status"]["name"] == "Done"


async def test_status_of_another_project_is_unknown(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await factory.project(owner, "OPS")
    foreign = (await status_ids(client, owner, "OPS"))["Done"]
    number = await factory.item("WEB", owner, title="Mine")
    assert_problem(
        await patch(client, owner, number, {"status_id": foreign}), 422, "body.status_id"
    )
    assert_problem(
        await create(client, owner, {"title": "x", "status_id": foreign}), 422, "body.status_id"
    )
    item = await get_item(client, owner, number)
    assert (item["status"]["name"], item["version"]) == ("To Do", 1)
    assert len(await backlog(client, owner)) == 1


# --- estimates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "value", "label"),
    [("M", 3, "M"), (3, 3, "M"), ("xl", 8, "XL"), ("XS", 1, "XS"), (13, 13, "XXL"), (5.0, 5, "L")],
)
async def test_tshirt_scale_accepts_label_or_number(
    client: httpx.AsyncClient, factory: Factory, points: Any, value: float, label: str
) -> None:
    owner = await factory.owner(estimation_scale="tshirt")
    response = await create(client, owner, {"title": "Sized", "points": points})
    assert response.status_code == 201, response.text
    assert (response.json()["points"], response.json()["points_label"]) == (value, label)
    fetched = await get_item(client, owner, response.json()["number"])
    assert (fetched["points"], fetched["points_label"]) == (value, label)


@pytest.mark.parametrize("points", [4, "XXXL", "3", 0, "", 2.5, -1])
async def test_tshirt_scale_rejects_values_off_the_scale(
    client: httpx.AsyncClient, factory: Factory, points: Any
) -> None:
    owner = await factory.owner(estimation_scale="tshirt")
    number = await factory.item("WEB", owner, title="Sized", points="S")
    assert_problem(
        await create(client, owner, {"title": "x", "points": points}), 422, "body.points"
    )
    assert_problem(await patch(client, owner, number, {"points": points}), 422, "body.points")
    listed = await backlog(client, owner)
    assert [(item["points"], item["points_label"], item["version"]) for item in listed] == [
        (2, "S", 1)
    ]


async def test_tshirt_patch_by_label_and_epic_totals(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner(estimation_scale="tshirt")
    epic = await factory.item("WEB", owner, type="epic", title="Epic")
    first = await factory.item("WEB", owner, title="one", points="L", parent=epic)
    await factory.item("WEB", owner, title="two", points="XS", parent=epic)
    changed = await patch(client, owner, first, {"points": "XL"})
    assert (changed.json()["points"], changed.json()["points_label"]) == (8, "XL")
    assert (await get_item(client, owner, epic))["epic"] == {
        "children": 2,
        "points_total": 9,
        "points_done": 0,
    }


@pytest.mark.parametrize(
    ("scale", "good", "bad"),
    [
        ("fibonacci", [0, 1, 2, 3, 5, 8, 13, 21, 40, 100], [4, 6, 99, 1.5, "M", "4", -1]),
        ("powers_of_two", [0, 1, 2, 4, 8, 16, 32, 64], [3, 5, 128, "XS"]),
        ("linear", [0, 7, 20], [21, 0.5, -2]),
    ],
)
async def test_numeric_scales(
    client: httpx.AsyncClient, factory: Factory, scale: str, good: list[float], bad: list[Any]
) -> None:
    owner = await factory.owner(estimation_scale=scale)
    for points in good:
        response = await create(client, owner, {"title": f"p{points}", "points": points})
        assert response.status_code == 201, response.text
        assert response.json()["points"] == points
        assert response.json()["points_label"] == str(points)
    for points in bad:
        response = await create(client, owner, {"title": "bad", "points": points})
        problem = assert_problem(response, 422, "body.points")
        assert scale in problem["detail"]
    assert [item["points"] for item in await backlog(client, owner)] == good


async def test_boolean_points_are_rejected(client: httpx.AsyncClient, factory: Factory) -> None:
    # `true` is not an estimate, even though Python would treat it as 1.
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Unestimated")
    assert_problem(await create(client, owner, {"title": "x", "points": True}), 422, "body.points")
    assert_problem(await patch(client, owner, number, {"points": False}), 422, "body.points")
    listed = await backlog(client, owner)
    assert [(item["number"], item["points"]) for item in listed] == [(number, None)]


# --- epics -----------------------------------------------------------------------------------


async def test_epic_reports_children_and_points(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    ids = await status_ids(client, owner)
    epic = await factory.item("WEB", owner, type="epic", title="Checkout", points=40)
    other_epic = await factory.item("WEB", owner, type="epic", title="Other")
    small = await factory.item("WEB", owner, title="Cart", points=3, parent=epic)
    big = await factory.item("WEB", owner, title="Pay", points=5, parent=epic)
    await factory.item("WEB", owner, title="Unestimated", parent=epic)
    await factory.item("WEB", owner, title="Elsewhere", points=8, parent=other_epic)
    await factory.item("WEB", owner, title="No parent", points=13)

    fetched = await get_item(client, owner, epic)
    # The epic's own estimate does not count towards its children's points.
    assert fetched["epic"] == {"children": 3, "points_total": 8, "points_done": 0}
    assert fetched["points"] == 40

    done = await patch(client, owner, big, {"status_id": ids["Done"]})
    assert done.status_code == 200
    assert (await get_item(client, owner, epic))["epic"] == {
        "children": 3,
        "points_total": 8,
        "points_done": 5,
    }
    # In progress is not done.
    await patch(client, owner, small, {"status_id": ids["In Review"]})
    by_number = {item["number"]: item for item in await backlog(client, owner)}
    assert by_number[epic]["epic"] == {"children": 3, "points_total": 8, "points_done": 5}
    assert by_number[other_epic]["epic"] == {"children": 1, "points_total": 8, "points_done": 0}
    assert by_number[small]["epic"] is None
    assert by_number[small]["parent"] == epic

    # Moving a child out of the epic moves its points too.
    await patch(client, owner, big, {"parent": other_epic})
    by_number = {item["number"]: item for item in await backlog(client, owner)}
    assert by_number[epic]["epic"] == {"children": 2, "points_total": 3, "points_done": 0}
    assert by_number[other_epic]["epic"] == {"children": 2, "points_total": 13, "points_done": 5}

    # And back out of done.
    await patch(client, owner, big, {"status_id": ids["To Do"]})
    assert (await get_item(client, owner, other_epic))["epic"]["points_done"] == 0


async def test_deleting_an_epic_detaches_its_children(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    epic = await factory.item("WEB", owner, type="epic", title="Doomed")
    children = [await factory.item("WEB", owner, title=f"child {i}", parent=epic) for i in range(2)]
    bystander = await factory.item("WEB", owner, title="Not a child")

    response = await client.delete(f"{ITEMS}/{epic}", headers=owner.headers)
    assert response.status_code == 204

    listed = await backlog(client, owner)
    assert [item["number"] for item in listed] == [*children, bystander]
    for item in listed[:2]:
        assert item["parent"] is None
        assert item["version"] == 2
    assert listed[2]["version"] == 1
    events = await history(client, owner, children[0])
    assert [(e["kind"], e["field"], e["old_value"], e["new_value"]) for e in events][-1] == (
        "updated",
        "parent",
        epic,
        None,
    )


async def test_epic_type_cannot_change_while_it_has_children(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    epic = await factory.item("WEB", owner, type="epic", title="Parent")
    child = await factory.item("WEB", owner, title="Child", parent=epic)

    assert_problem(await patch(client, owner, epic, {"type": "story"}), 409)
    item = await get_item(client, owner, epic)
    assert (item["type"], item["version"]) == ("epic", 1)
    # Staying an epic is not a change of type.
    assert (await patch(client, owner, epic, {"type": "epic"})).status_code == 200

    assert (await patch(client, owner, child, {"parent": None})).status_code == 200
    changed = await patch(client, owner, epic, {"type": "story"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == "story"
    assert changed.json()["epic"] is None


async def test_parent_must_be_an_epic_of_this_project(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await factory.project(owner, "OPS")
    story = await factory.item("WEB", owner, title="A story")
    ops_epic = await factory.item("OPS", owner, type="epic", title="OPS epic")
    number = await factory.item("WEB", owner, title="Orphan")

    for parent in [story, 999]:
        problem = assert_problem(
            await create(client, owner, {"title": "x", "parent": parent}), 422, "body.parent"
        )
        assert str(parent) in problem["detail"]
        assert_problem(await patch(client, owner, number, {"parent": parent}), 422, "body.parent")
    # OPS's epic 1 is WEB's story 1 here: numbers are per project.
    assert ops_epic == story
    assert_problem(await patch(client, owner, number, {"parent": ops_epic}), 422, "body.parent")

    listed = await backlog(client, owner)
    assert [(item["number"], item["parent"], item["version"]) for item in listed] == [
        (story, None, 1),
        (number, None, 1),
    ]


async def test_parent_cycles_are_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    a = await factory.item("WEB", owner, type="epic", title="A")
    b = await factory.item("WEB", owner, type="epic", title="B")
    c = await factory.item("WEB", owner, type="epic", title="C")

    assert (await patch(client, owner, a, {"parent": b})).status_code == 200
    problem = assert_problem(await patch(client, owner, b, {"parent": a}), 422, "body.parent")
    assert problem["errors"][0]["type"] == "cycle"
    assert_problem(await patch(client, owner, a, {"parent": a}), 422, "body.parent")

    # A longer loop: C under A (which is under B), then B under C.
    assert (await patch(client, owner, c, {"parent": a})).status_code == 200
    assert_problem(await patch(client, owner, b, {"parent": c}), 422, "body.parent")

    by_number = {item["number"]: item for item in await backlog(client, owner)}
    assert (by_number[a]["parent"], by_number[b]["parent"], by_number[c]["parent"]) == (b, None, a)
    assert by_number[b]["version"] == 1
    assert by_number[b]["epic"]["children"] == 1


# --- invalid input: a problem naming the field, and nothing written ----------------------------


BAD_CREATE = [
    ({}, "body.title"),
    ({"title": ""}, "body.title"),
    ({"title": "   "}, "body.title"),
    ({"title": "x" * 256}, "body.title"),
    ({"title": None}, "body.title"),
    ({"title": 42}, "body.title"),
    ({"title": "x", "description": "d" * (64 * 1024 + 1)}, "body.description"),
    ({"title": "x", "type": "feature"}, "body.type"),
    ({"title": "x", "type": None}, "body.type"),
    ({"title": "x", "points": 4}, "body.points"),
    ({"title": "x", "points": "M"}, "body.points"),
    ({"title": "x", "points": -1}, "body.points"),
    ({"title": "x", "priority": "urgent"}, "body.priority"),
    ({"title": "x", "priority": 1}, "body.priority"),
    ({"title": "x", "priority": None}, "body.priority"),
    ({"title": "x", "labels": [""]}, "body.labels"),
    ({"title": "x", "labels": ["x" * 51]}, "body.labels"),
    ({"title": "x", "labels": [f"l{i}" for i in range(21)]}, "body.labels"),
    ({"title": "x", "labels": "one"}, "body.labels"),
    ({"title": "x", "assignee_id": 999_999}, "body.assignee_id"),
    ({"title": "x", "assignee_id": "me"}, "body.assignee_id"),
    ({"title": "x", "status_id": 999_999}, "body.status_id"),
    ({"title": "x", "status_id": None}, "body.status_id"),
    ({"title": "x", "parent": 999}, "body.parent"),
    ({"title": "x", "external_id": ""}, "body.external_id"),
    ({"title": "x", "external_id": "e" * 256}, "body.external_id"),
    ({"title": "x", "position": "middle"}, "body.position"),
    ({"title": "x", "number": 7}, "body.number"),
    ({"title": "x", "parent_id": 1}, "body.parent_id"),
    ({"title": "x", "rank": "a0"}, "body.rank"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATE, ids=[f for _, f in BAD_CREATE])
async def test_create_rejects_invalid_input_and_writes_nothing(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    owner = await factory.owner()
    await factory.item("WEB", owner, title="Existing")
    assert_problem(await create(client, owner, body), 422, field)
    assert [item["title"] for item in await backlog(client, owner)] == ["Existing"]
    # The number was not used up either.
    assert (await create(client, owner, {"title": "Next"})).json()["number"] == 2


BAD_PATCH = [
    ({"title": ""}, "body.title"),
    ({"title": "x" * 256}, "body.title"),
    ({"description": "d" * (64 * 1024 + 1)}, "body.description"),
    ({"type": "feature"}, "body.type"),
    ({"points": 7}, "body.points"),
    ({"priority": "urgent"}, "body.priority"),
    ({"labels": [" "]}, "body.labels"),
    ({"assignee_id": 999_999}, "body.assignee_id"),
    ({"status_id": 999_999}, "body.status_id"),
    ({"parent": 999}, "body.parent"),
    ({"external_id": ""}, "body.external_id"),
    ({"position": "top"}, "body.position"),
    ({"number": 9}, "body.number"),
    # A bad field spoils the good ones sent with it.
    ({"title": "Good", "points": 7}, "body.points"),
]


@pytest.mark.parametrize(("body", "field"), BAD_PATCH, ids=[f for _, f in BAD_PATCH])
async def test_patch_rejects_invalid_input_and_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Original", points=3)
    before = await get_item(client, owner, number)
    assert_problem(await patch(client, owner, number, body), 422, field)
    assert await get_item(client, owner, number) == before
    assert [event["kind"] for event in await history(client, owner, number)] == ["created"]


async def test_limits_are_inclusive(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    response = await create(
        client,
        owner,
        {
            "title": "t" * 255,
            "description": "d" * (64 * 1024),
            "labels": [f"label-{i}" for i in range(20)],
            "external_id": "e" * 255,
        },
    )
    assert response.status_code == 201, response.text
    body = await get_item(client, owner, response.json()["number"])
    assert len(body["title"]) == 255
    assert len(body["description"]) == 64 * 1024
    assert len(body["labels"]) == 20
    assert body["labels"][0] == "label-0"
    assert len(body["external_id"]) == 255
    one_char = await create(client, owner, {"title": "x", "labels": ["y" * 50]})
    assert one_char.status_code == 201, one_char.text


async def test_description_limit_counts_bytes(client: httpx.AsyncClient, factory: Factory) -> None:
    # 64 KiB is a size in bytes: 40,000 two-byte characters are 80,000 bytes.
    owner = await factory.owner()
    number = await factory.item("WEB", owner, title="Text")
    wide = "é" * 40_000
    assert_problem(
        await create(client, owner, {"title": "x", "description": wide}), 422, "body.description"
    )
    assert_problem(
        await patch(client, owner, number, {"description": wide}), 422, "body.description"
    )
    fits = "é" * (32 * 1024)
    response = await patch(client, owner, number, {"description": fits})
    assert response.status_code == 200, response.text
    assert response.json()["description"] == fits
    assert [item["number"] for item in await backlog(client, owner)] == [number]


async def test_malformed_json_is_rejected(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    response = await client.post(
        ITEMS,
        headers={**owner.headers, "Content-Type": "application/json"},
        content=b'{"title": "x"',
    )
    assert_problem(response, 422)
    assert_problem(await create(client, owner, [{"title": "x"}]), 422)
    assert await backlog(client, owner) == []


async def test_assignee_must_be_a_project_member(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    outsider = await factory.user()
    member = await factory.user()
    await factory.member("WEB", owner, member, Role.MEMBER)
    number = await factory.item("WEB", owner, title="Unassigned")

    problem = assert_problem(
        await create(client, owner, {"title": "x", "assignee_id": outsider.id}),
        422,
        "body.assignee_id",
    )
    assert "member" in problem["detail"]
    assert_problem(
        await patch(client, owner, number, {"assignee_id": outsider.id}), 422, "body.assignee_id"
    )
    listed = await backlog(client, owner)
    assert [(item["number"], item["assignee"], item["version"]) for item in listed] == [
        (number, None, 1)
    ]

    assigned = await patch(client, owner, number, {"assignee_id": member.id})
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == {"id": member.id, "display_name": member.email[:-12]}
    mine = await patch(client, owner, number, {"assignee_id": owner.id})
    assert mine.json()["assignee"]["id"] == owner.id


async def test_external_id_is_unique_within_a_project(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await factory.project(owner, "OPS")
    first = await factory.item("WEB", owner, title="First", external_id="GH-1")
    second = await factory.item("WEB", owner, title="Second", external_id="GH-2")

    problem = assert_problem(
        await create(client, owner, {"title": "Copy", "external_id": "GH-1"}),
        409,
        "body.external_id",
    )
    assert "GH-1" in problem["detail"]
    assert_problem(
        await patch(client, owner, second, {"external_id": "GH-1"}), 409, "body.external_id"
    )
    listed = await backlog(client, owner)
    assert [(i["number"], i["external_id"], i["version"]) for i in listed] == [
        (first, "GH-1", 1),
        (second, "GH-2", 1),
    ]
    # Keeping one's own external id is fine, and other projects have their own namespace.
    assert (await patch(client, owner, first, {"external_id": "GH-1"})).status_code == 200
    elsewhere = await create(client, owner, {"title": "Ops", "external_id": "GH-1"}, key="OPS")
    assert elsewhere.status_code == 201, elsewhere.text


async def test_concurrent_writes_of_one_external_id_are_a_409_not_a_500(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await factory.owner()
    existing = await factory.item("WEB", owner, title="Existing")
    # All three requests resolve access before any goes on, then each holds its uniqueness
    # check open a moment: without the project lock they would all pass it and collide.
    rendezvous(monkeypatch, projects_repository, "project_with_role", parties=3)
    pause_after(monkeypatch, items_repository, "external_id_taken")
    responses = await asyncio.gather(
        patch(client, owner, existing, {"external_id": "RACE"}),
        create(client, owner, {"title": "New", "external_id": "RACE"}),
        create(client, owner, {"title": "Other", "external_id": "RACE"}),
    )
    codes = sorted(response.status_code for response in responses)
    assert codes in ([200, 409, 409], [201, 409, 409]), [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "body.external_id")
    holders = [i for i in await backlog(client, owner) if i["external_id"] == "RACE"]
    assert len(holders) == 1


@pytest.mark.parametrize(("sent", "stored"), [("5", 5.0), (" 13 ", 13.0), (8, 8.0)])
async def test_numeric_scales_accept_their_labels_as_strings(
    client: httpx.AsyncClient, factory: Factory, sent: object, stored: float
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    response = await client.post(
        "/api/v1/projects/WEB/items", json={"title": "x", "points": sent}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["points"] == stored
