"""Watching items: watch and unwatch (any role, idempotent), the watchers list, automatic
watching by creators, assignees and commenters, and members who leave — over HTTP."""

from typing import Any

import httpx

from app.domain.projects.models import Role
from tests.factories import Factory, Team
from tests.helpers import all_pages, assert_problem, status_ids

ITEMS = "/api/v1/projects/WEB/items"


async def watcher_ids(client: httpx.AsyncClient, team: Team, number: int) -> list[int]:
    watchers = await all_pages(client, team.viewer, f"{ITEMS}/{number}/watchers")
    return [watcher["id"] for watcher in watchers]


async def new_item(client: httpx.AsyncClient, team: Team, **fields: Any) -> int:
    response = await client.post(
        ITEMS, headers=team.owner.headers, json={"title": "Watched", **fields}
    )
    assert response.status_code == 201, response.text
    number: int = response.json()["number"]
    return number


async def test_watch_and_unwatch_are_idempotent_and_open_to_viewers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await new_item(client, team)
    for _ in range(2):
        watched = await client.post(f"{ITEMS}/{number}/watch", headers=team.viewer.headers)
        assert watched.status_code == 200, watched.text
        assert watched.json() == {"item": number, "watching": True}
    assert await watcher_ids(client, team, number) == [team.owner.id, team.viewer.id]
    for _ in range(2):
        gone = await client.delete(f"{ITEMS}/{number}/watch", headers=team.viewer.headers)
        assert gone.status_code == 204, gone.text
    assert await watcher_ids(client, team, number) == [team.owner.id]


async def test_creators_assignees_and_commenters_watch_automatically(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await new_item(client, team)
    assert await watcher_ids(client, team, number) == [team.owner.id]
    commented = await client.post(
        f"{ITEMS}/{number}/comments", headers=team.member.headers, json={"body": "Hi"}
    )
    assert commented.status_code == 201, commented.text
    assignee = await factory.user()
    await factory.member("WEB", team.owner, assignee, Role.MEMBER)
    changed = await client.patch(
        f"{ITEMS}/{number}", headers=team.owner.headers, json={"assignee_id": assignee.id}
    )
    assert changed.status_code == 200, changed.text
    assert await watcher_ids(client, team, number) == [team.owner.id, team.member.id, assignee.id]
    # Assigned at creation: the assignee watches too.
    other = await new_item(client, team, assignee_id=team.member.id)
    assert await watcher_ids(client, team, other) == [team.owner.id, team.member.id]


async def test_a_watcher_who_leaves_the_project_hears_nothing_more(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await new_item(client, team)
    watched = await client.post(f"{ITEMS}/{number}/watch", headers=team.member.headers)
    assert watched.status_code == 200
    removed = await client.delete(
        f"/api/v1/projects/WEB/members/{team.member.id}", headers=team.owner.headers
    )
    assert removed.status_code == 204, removed.text
    assert await watcher_ids(client, team, number) == [team.owner.id]
    statuses = await status_ids(client, team.owner)
    viewer_watch = await client.post(f"{ITEMS}/{number}/watch", headers=team.viewer.headers)
    assert viewer_watch.status_code == 200
    moved = await client.patch(
        f"{ITEMS}/{number}", headers=team.owner.headers, json={"status_id": statuses["Done"]}
    )
    assert moved.status_code == 200, moved.text
    heard = await all_pages(client, team.member, "/api/v1/me/notifications")
    assert heard == []
    viewer_heard = await all_pages(client, team.viewer, "/api/v1/me/notifications")
    assert [n["kind"] for n in viewer_heard] == ["status_changed"]


async def test_outsiders_get_404_and_unknown_items_too(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team(outsider_project="OUT")
    number = await new_item(client, team)
    for method, path in (
        ("POST", f"{ITEMS}/{number}/watch"),
        ("DELETE", f"{ITEMS}/{number}/watch"),
        ("GET", f"{ITEMS}/{number}/watchers"),
    ):
        response = await client.request(method, path, headers=team.outsider.headers)
        assert_problem(response, 404)
        missing = path.replace(f"/{number}/", "/999/")
        assert_problem(await client.request(method, missing, headers=team.member.headers), 404)
        assert (await client.request(method, path)).status_code == 401
    assert await watcher_ids(client, team, number) == [team.owner.id]
