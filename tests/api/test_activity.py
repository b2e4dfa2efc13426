"""Public events and the activity feed: written with the change, numbered per project in commit
order with no gaps, one readable summary each — on real PostgreSQL."""

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import Database
from app.domain.events import service as events
from app.domain.events.catalogue import EventType, ItemDeleted, ItemRef
from app.domain.events.models import ProjectEvent
from tests.factories import Actor, Factory
from tests.helpers import all_pages, assert_problem, status_ids

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
ACTIVITY = f"{PROJECTS}/WEB/activity"


ITEM_AND_COMMENT = ["item.created", "item.updated", "item.moved", "item.deleted", "comment.created"]


async def _events(client: httpx.AsyncClient, reader: Actor, **params: Any) -> list[Any]:
    return await all_pages(client, reader, ACTIVITY, **params)


async def _last_seq(client: httpx.AsyncClient, reader: Actor) -> int:
    newest = (await client.get(f"{ACTIVITY}?limit=1", headers=reader.headers)).json()["data"]
    return int(newest[0]["seq"]) if newest else 0


async def test_an_items_life_is_in_the_feed_newest_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    # The team's memberships are events too: two members joined the owner's project.
    joined = await _events(client, viewer)
    assert [(e["type"], e["payload"]["member"]["user_id"]) for e in joined] == [
        ("member.added", viewer.id),
        ("member.added", member.id),
    ]
    start = await _last_seq(client, viewer)
    created = await client.post(
        ITEMS, json={"title": "Login page", "points": 3}, headers=member.headers
    )
    number = created.json()["number"]
    statuses = await status_ids(client, owner)
    patched = await client.patch(
        f"{ITEMS}/{number}",
        json={"status_id": statuses["In Progress"], "points": 5, "assignee_id": member.id},
        headers=member.headers,
    )
    assert patched.status_code == 200, patched.text
    await client.post(f"{ITEMS}/{number}/comments", json={"body": "On it"}, headers=owner.headers)
    await client.delete(f"{ITEMS}/{number}", headers=owner.headers)

    feed = await _events(client, viewer, type=ITEM_AND_COMMENT)
    assert [e["type"] for e in feed] == [
        "item.deleted",
        "comment.created",
        "item.updated",
        "item.created",
    ]
    assert [e["seq"] for e in feed] == [start + 4, start + 3, start + 2, start + 1]
    deleted, comment, updated, made = feed
    assert made["payload"]["item"] == {
        "number": number,
        "key": f"WEB-{number}",
        "title": "Login page",
        "type": "story",
        "status_id": statuses["To Do"],
        "status": "To Do",
        "points": 3.0,
        "priority": "medium",
        "labels": [],
        "assignee_id": None,
        "sprint": None,
        "parent": None,
        "release": None,
    }
    assert made["summary"].endswith(f"created WEB-{number} “Login page”")
    assert made["actor"]["id"] == member.id and made["project"] == "WEB"
    assert made["item"] == number and made["version"] == 1
    # One event for the three fields changed by one request.
    assert updated["payload"]["changes"] == {
        "status": {"old": statuses["To Do"], "new": statuses["In Progress"]},
        "points": {"old": 3.0, "new": 5.0},
        "assignee": {"old": None, "new": member.id},
    }
    assert updated["payload"]["status"] == "In Progress"
    assert "moved WEB-" in updated["summary"] and "to In Progress" in updated["summary"]
    assert comment["payload"]["comment"]["body"] == "On it"
    assert comment["actor"]["id"] == owner.id
    assert deleted["payload"]["item"]["number"] == number


async def test_filters_combine_and_bad_filters_name_the_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    first = (await client.post(ITEMS, json={"title": "A"}, headers=owner.headers)).json()
    second = (await client.post(ITEMS, json={"title": "B"}, headers=member.headers)).json()
    await client.patch(f"{ITEMS}/{first['number']}", json={"title": "A2"}, headers=member.headers)

    by_item = await _events(client, owner, item=first["number"])
    assert [e["type"] for e in by_item] == ["item.updated", "item.created"]
    by_actor = (
        await client.get(ACTIVITY, params={"actor": member.id}, headers=owner.headers)
    ).json()["data"]
    # The member joined (their own act), then made the second item and renamed the first.
    assert [(e["type"], e["item"]) for e in by_actor] == [
        ("item.updated", first["number"]),
        ("item.created", second["number"]),
        ("member.added", None),
    ]
    by_type = await _events(client, owner, type=["item.updated", "item.deleted"])
    assert [e["type"] for e in by_type] == ["item.updated"]
    assert await _events(client, owner, since="2999-01-01T00:00:00+00:00") == []

    bad = await client.get(f"{ACTIVITY}?type=item.exploded", headers=owner.headers)
    assert_problem(bad, 422, field="query.type.0")
    naive = await client.get(f"{ACTIVITY}?since=2026-01-01T00:00:00", headers=owner.headers)
    assert_problem(naive, 422, field="query.since")


async def test_pages_are_keyset_and_outsiders_get_404(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, outsider = await factory.team()
    for n in range(5):
        await client.post(ITEMS, json={"title": f"Item {n}"}, headers=owner.headers)
    first = await client.get(f"{ACTIVITY}?limit=2", headers=owner.headers)
    assert [e["seq"] for e in first.json()["data"]] == [7, 6]
    assert 'rel="next"' in first.headers["link"]
    second = await client.get(
        ACTIVITY, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=owner.headers
    )
    assert [e["seq"] for e in second.json()["data"]] == [5, 4]
    everything = await _events(client, owner)
    assert [e["seq"] for e in everything] == [7, 6, 5, 4, 3, 2, 1]
    assert_problem(await client.get(ACTIVITY, headers=outsider.headers), 404)


async def test_a_failed_request_publishes_nothing(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, _, _ = await factory.team()
    before = await _last_seq(client, owner)
    bad = await client.post(ITEMS, json={"title": "x", "points": -1}, headers=owner.headers)
    assert bad.status_code == 422
    async with database.sessions() as session:
        rows = (await session.execute(select(col(ProjectEvent.seq)))).scalars().all()
    assert max(rows) == before


async def test_concurrent_writes_number_events_without_gaps_in_commit_order(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team()
    await asyncio.gather(
        *(
            client.post(ITEMS, json={"title": f"Item {n}"}, headers=(owner, member)[n % 2].headers)
            for n in range(20)
        )
    )
    async with database.sessions() as session:
        rows = (await session.execute(text("SELECT seq FROM project_events ORDER BY seq"))).all()
    # Two memberships, then twenty items: every number taken once, none skipped.
    assert [row[0] for row in rows] == list(range(1, 23))


async def _types_after(client: httpx.AsyncClient, reader: Actor, seq: int) -> list[Any]:
    """Events after `seq`, oldest first."""
    return [e for e in reversed(await _events(client, reader)) if e["seq"] > seq]


async def test_a_sprints_life_and_its_scope_changes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    first = await factory.item("WEB", owner, title="First", points=3)
    second = await factory.item("WEB", owner, title="Second", points=2)
    start = await _last_seq(client, owner)
    sprint = (
        await client.post(f"{PROJECTS}/WEB/sprints", json={"goal": "Ship"}, headers=member.headers)
    ).json()["number"]
    sprint_url = f"{PROJECTS}/WEB/sprints/{sprint}"
    await client.post(f"{sprint_url}/items", json={"items": [first]}, headers=member.headers)
    await client.patch(sprint_url, json={"goal": "Ship it"}, headers=member.headers)
    started = await client.post(f"{sprint_url}/start", headers=member.headers)
    assert started.status_code == 200, started.text
    await client.post(f"{sprint_url}/items", json={"items": [second]}, headers=member.headers)
    await client.request(
        "DELETE", f"{sprint_url}/items", json={"items": [first]}, headers=member.headers
    )
    completed = await client.post(f"{sprint_url}/complete", json={}, headers=member.headers)
    assert completed.status_code == 200, completed.text

    sprint_events = [
        e for e in await _types_after(client, owner, start) if e["type"].startswith("sprint.")
    ]
    assert [e["type"] for e in sprint_events] == [
        "sprint.created",
        "sprint.updated",
        "sprint.started",
        "sprint.scope_changed",
        "sprint.scope_changed",
        "sprint.completed",
    ]
    created, updated, began, added, removed, done = sprint_events
    assert created["sprint"] == sprint and created["payload"]["sprint"]["goal"] == "Ship"
    assert updated["payload"]["changes"] == {"goal": {"old": "Ship", "new": "Ship it"}}
    assert began["payload"]["committed_points"] == 3.0
    assert began["payload"]["committed_items"] == 1
    assert (added["payload"]["added"], added["payload"]["removed"]) == ([second], [])
    assert (removed["payload"]["added"], removed["payload"]["removed"]) == ([], [first])
    assert done["payload"]["sprint"]["state"] == "completed"
    assert done["payload"]["completed_points"] == 0.0
    # Joining the sprint before it started is an item change, not a change of scope.
    first_moves = [
        e for e in await _events(client, owner, item=first) if e["type"] == "item.updated"
    ]
    assert [e["payload"]["changes"]["sprint"] for e in reversed(first_moves)] == [
        {"old": None, "new": sprint},
        {"old": sprint, "new": None},
    ]
    by_sprint = await _events(client, owner, sprint=sprint)
    assert len(by_sprint) == 6


async def test_retro_action_and_membership_events(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    start = await _last_seq(client, owner)
    retro = (
        await client.post(
            f"{PROJECTS}/WEB/retros", json={"title": "Release"}, headers=member.headers
        )
    ).json()["number"]
    retro_url = f"{PROJECTS}/WEB/retros/{retro}"
    for phase in ("grouping", "voting", "discussing"):
        moved = await client.post(
            f"{retro_url}/phase", json={"phase": phase}, headers=member.headers
        )
        assert moved.status_code == 200, moved.text
    action = (
        await client.post(
            f"{retro_url}/actions", json={"title": "Add alerts"}, headers=member.headers
        )
    ).json()["number"]
    item = (
        await client.post(f"{PROJECTS}/WEB/actions/{action}/to-item", headers=member.headers)
    ).json()
    statuses = await status_ids(client, owner)
    await client.patch(
        f"{ITEMS}/{item['item']['number']}",
        json={"status_id": statuses["Done"]},
        headers=member.headers,
    )
    dropped = await factory.action("WEB", owner, "Maybe later")
    await client.patch(
        f"{PROJECTS}/WEB/actions/{dropped}", json={"status": "dropped"}, headers=owner.headers
    )
    await client.patch(
        f"{PROJECTS}/WEB/members/{viewer.id}", json={"role": "member"}, headers=owner.headers
    )
    await client.delete(f"{PROJECTS}/WEB/members/{viewer.id}", headers=owner.headers)

    seen = [
        e
        for e in await _types_after(client, owner, start)
        if not e["type"].startswith(("item.", "comment."))
    ]
    assert [e["type"] for e in seen] == [
        "retro.created",
        "retro.phase_changed",
        "retro.phase_changed",
        "retro.phase_changed",
        "action.created",
        "action.completed",
        "action.created",
        "action.dropped",
        "member.role_changed",
        "member.removed",
    ]
    assert seen[0]["payload"]["retro"] == {"number": retro, "title": "Release", "sprint": None}
    assert (seen[3]["payload"]["old"], seen[3]["payload"]["new"]) == ("voting", "discussing")
    assert seen[4]["payload"]["action"]["retro"] == retro
    completed = seen[5]
    assert completed["payload"]["action"]["status"] == "done"
    assert completed["actor"]["id"] == member.id
    assert f"via WEB-{item['item']['number']}" in completed["summary"]
    assert seen[7]["payload"]["action"]["status"] == "dropped"
    assert seen[8]["payload"]["member"] == {
        "user_id": viewer.id,
        "display_name": viewer.email.split("@")[0],
        "role": "member",
    }
    assert seen[9]["payload"]["member"]["role"] is None
    assert "removed" in seen[9]["summary"]


async def test_events_are_written_at_the_real_commit_only(
    database: Database, factory: Factory
) -> None:
    owner = await factory.owner()
    async with database.sessions() as session:
        project_id: int = (await session.execute(text("SELECT id FROM projects"))).scalar_one()

    def publish(session: AsyncSession, title: str) -> None:
        events.publish(
            session,
            project_id,
            EventType.ITEM_DELETED,
            ItemDeleted(item=ItemRef(number=1, key="WEB-1", title=title)),
            actor_id=owner.id,
            summary=title,
        )

    async def summaries() -> list[str]:
        async with database.sessions() as session:
            stmt = select(col(ProjectEvent.summary)).order_by(col(ProjectEvent.seq))
            return list((await session.execute(stmt)).scalars())

    async with database.sessions() as session, session.begin():
        publish(session, "kept")
        async with session.begin_nested():
            pass
        # Releasing a savepoint is no commit: nothing is numbered or written yet.
        assert (await session.execute(select(ProjectEvent))).first() is None
    async with database.sessions() as session:
        async with session.begin():
            publish(session, "rolled back")
            await session.rollback()
        async with session.begin():
            pass
    assert await summaries() == ["kept"]


async def test_a_transaction_can_publish_more_events_than_one_statement_can_carry(
    database: Database, factory: Factory
) -> None:
    # About ten bind parameters an event: past 3,276 events one INSERT passes PostgreSQL's
    # limit of 32,767 parameters (a large Jira import got a 500 from it).
    owner = await factory.owner()
    async with database.sessions() as session, session.begin():
        project_id: int = (await session.execute(text("SELECT id FROM projects"))).scalar_one()
        for number in range(1, 5001):
            events.publish(
                session,
                project_id,
                EventType.ITEM_DELETED,
                ItemDeleted(item=ItemRef(number=number, key=f"WEB-{number}", title="Gone")),
                actor_id=owner.id,
                summary=f"Item {number} gone",
            )
    async with database.sessions() as session:
        stmt = select(
            func.count(), func.min(col(ProjectEvent.seq)), func.max(col(ProjectEvent.seq))
        )
        assert tuple((await session.execute(stmt)).one()) == (5000, 1, 5000)
