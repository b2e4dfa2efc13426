"""The item event log: history contents, pagination, a replay of a long random session that
rebuilds every item from its events alone, and the guard that refuses unlogged changes."""

import random
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlmodel import col

from app.db import Database
from app.domain.items import ranking
from app.domain.items.events import UnloggedChangeError
from app.domain.items.models import EventKind, Item, ItemEvent
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, history, status_ids

PROJECT = "/api/v1/projects/WEB"
ITEMS = f"{PROJECT}/items"
TRACKED = [
    "type",
    "title",
    "points",
    "original_estimate",
    "remaining_hours",
    "priority",
    "labels",
    "assignee",
    "parent",
    "status",
    "rank",
    "sprint",
    "release",
]
FIBONACCI = [0, 1, 2, 3, 5, 8, 13, 21, 40, 100]
PRIORITIES = ["highest", "high", "medium", "low", "lowest"]


async def create(client: httpx.AsyncClient, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(ITEMS, headers=actor.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def patch(
    client: httpx.AsyncClient, actor: Actor, number: int, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.patch(f"{ITEMS}/{number}", headers=actor.headers, json=body)
    assert response.status_code == 200, response.text
    patched: dict[str, Any] = response.json()
    return patched


async def stored_events(database: Database, **where: Any) -> list[ItemEvent]:
    """Events straight from the table (they outlive their items), in id order."""
    async with database.sessions() as session:
        stmt = select(ItemEvent).order_by(col(ItemEvent.id))
        for name, value in where.items():
            stmt = stmt.where(getattr(ItemEvent, name) == value)
        return list((await session.execute(stmt)).scalars().all())


def snapshot_of(item: dict[str, Any]) -> dict[str, Any]:
    """The tracked fields of an API item, as the log records them."""
    return {
        "type": item["type"],
        "title": item["title"],
        "points": item["points"],
        "original_estimate": item["original_estimate_hours"],
        "remaining_hours": item["remaining_hours"],
        "priority": item["priority"],
        "labels": item["labels"],
        "assignee": item["assignee"]["id"] if item["assignee"] else None,
        "parent": item["parent"],
        "status": item["status"]["id"],
        "rank": item["rank"],
        "sprint": item["sprint"],
        "release": item["release"],
    }


# --- what each write logs ------------------------------------------------------------------


async def test_create_logs_one_event_with_a_snapshot_of_every_tracked_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    statuses = await status_ids(client, owner)
    epic = await create(client, owner, {"title": "Checkout", "type": "epic"})
    item = await create(
        client,
        member,
        {
            "title": "Pay by card",
            "type": "bug",
            "description": "Not tracked in the log.",
            "points": 5,
            "original_estimate_hours": 12.5,
            "remaining_hours": 8,
            "priority": "high",
            "labels": ["payments", "ui"],
            "assignee_id": owner.id,
            "parent": epic["number"],
            "status_id": statuses["In Progress"],
        },
    )

    events = await history(client, viewer, item["number"])

    assert len(events) == 1
    event = events[0]
    assert event["kind"] == "created"
    assert event["field"] is None
    assert event["old_value"] is None
    assert event["actor_id"] == member.id
    assert event["new_value"] == {
        "type": "bug",
        "title": "Pay by card",
        "points": 5,
        "original_estimate": 12.5,
        "remaining_hours": 8,
        "priority": "high",
        "labels": ["payments", "ui"],
        "assignee": owner.id,
        "parent": epic["number"],
        "status": statuses["In Progress"],
        "rank": item["rank"],
        "sprint": None,
        "release": None,
    }
    assert event["new_value"] == snapshot_of(item)
    assert event["occurred_at"].endswith(("Z", "+00:00"))


async def test_update_logs_one_event_per_changed_tracked_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    statuses = await status_ids(client, owner)
    epic = await create(client, owner, {"title": "Checkout", "type": "epic"})
    item = await create(client, owner, {"title": "Pay", "points": 3, "labels": ["a"]})

    updated = await patch(
        client,
        member,
        item["number"],
        {
            "type": "task",
            "title": "Pay by card",
            "points": 8,
            "priority": "lowest",
            "labels": ["a", "b"],
            "assignee_id": member.id,
            "parent": epic["number"],
            "status_id": statuses["Done"],
            "description": "untracked",
            "external_id": "EXT-1",
        },
    )

    assert updated["version"] == item["version"] + 1
    events = await history(client, owner, item["number"])
    assert [e["kind"] for e in events] == ["created"] + ["updated"] * 8
    changes = {e["field"]: (e["old_value"], e["new_value"]) for e in events[1:]}
    assert changes == {
        "type": ("story", "task"),
        "title": ("Pay", "Pay by card"),
        "points": (3, 8),
        "priority": ("medium", "lowest"),
        "labels": (["a"], ["a", "b"]),
        "assignee": (None, member.id),
        "parent": (None, epic["number"]),
        "status": (statuses["To Do"], statuses["Done"]),
    }
    assert all(e["actor_id"] == member.id for e in events[1:])
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)

    # Clearing nullable fields logs the old value and null.
    await patch(
        client, owner, item["number"], {"points": None, "assignee_id": None, "parent": None}
    )
    events = await history(client, owner, item["number"])
    cleared = {e["field"]: (e["old_value"], e["new_value"]) for e in events[9:]}
    assert cleared == {
        "points": (8, None),
        "assignee": (member.id, None),
        "parent": (epic["number"], None),
    }
    assert all(e["actor_id"] == owner.id for e in events[9:])


async def test_an_update_that_changes_nothing_logs_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    item = await create(
        client, owner, {"title": "Same", "points": 2, "labels": ["x"], "priority": "high"}
    )
    same = await patch(
        client,
        owner,
        item["number"],
        {"title": "Same", "points": 2, "labels": ["x"], "priority": "high", "type": "story"},
    )
    assert same["version"] == item["version"]
    description_only = await patch(client, owner, item["number"], {"description": "words"})
    assert description_only["version"] == item["version"] + 1
    assert [e["kind"] for e in await history(client, owner, item["number"])] == ["created"]


async def test_a_rejected_update_logs_nothing(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, viewer, _ = await factory.team()
    story = await create(client, owner, {"title": "Story"})
    item = await create(client, owner, {"title": "Item"})
    bad = await client.patch(
        f"{ITEMS}/{item['number']}",
        headers=owner.headers,
        json={"title": "New title", "parent": story["number"]},
    )
    assert_problem(bad, 422, "body.parent")
    forbidden = await client.patch(
        f"{ITEMS}/{item['number']}", headers=viewer.headers, json={"title": "New title"}
    )
    assert_problem(forbidden, 403)
    stale = await client.patch(
        f"{ITEMS}/{item['number']}",
        headers={**owner.headers, "If-Match": '"9"'},
        json={"title": "New title"},
    )
    assert_problem(stale, 412)
    assert [e["kind"] for e in await history(client, owner, item["number"])] == ["created"]


async def test_move_logs_the_old_and_new_rank(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, member, _, _ = await factory.team()
    first = await create(client, owner, {"title": "First"})
    second = await create(client, owner, {"title": "Second"})
    response = await client.post(
        f"{ITEMS}/{second['number']}/move", headers=member.headers, json={"before": 1}
    )
    assert response.status_code == 200, response.text
    events = await history(client, owner, second["number"])
    assert [(e["kind"], e["field"]) for e in events] == [("created", None), ("moved", "rank")]
    assert events[1]["old_value"] == second["rank"]
    assert events[1]["new_value"] == response.json()["rank"]
    assert events[1]["new_value"] < first["rank"]
    assert events[1]["actor_id"] == member.id
    assert [e["kind"] for e in await history(client, owner, first["number"])] == ["created"]


async def test_status_changes_are_logged_and_keep_done_at(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, _ = await factory.team()
    statuses = await status_ids(client, owner)
    item = await create(client, owner, {"title": "Ship"})
    assert item["done_at"] is None
    done = await patch(client, owner, item["number"], {"status_id": statuses["Done"]})
    assert done["done_at"] is not None
    reopened = await patch(client, owner, item["number"], {"status_id": statuses["In Review"]})
    assert reopened["done_at"] is None
    events = await history(client, owner, item["number"])
    assert [(e["field"], e["old_value"], e["new_value"]) for e in events[1:]] == [
        ("status", statuses["To Do"], statuses["Done"]),
        ("status", statuses["Done"], statuses["In Review"]),
    ]


async def test_delete_logs_a_final_snapshot_and_the_history_outlives_the_item(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, _, _ = await factory.team()
    item = await create(client, owner, {"title": "Doomed", "points": 1, "labels": ["x"]})
    changed = await patch(client, owner, item["number"], {"title": "Still doomed"})

    response = await client.delete(f"{ITEMS}/{item['number']}", headers=member.headers)
    assert response.status_code == 204, response.text

    assert_problem(
        await client.get(f"{ITEMS}/{item['number']}/history", headers=owner.headers), 404
    )
    events = await stored_events(database, item_id=item["id"])
    assert [(e.kind, e.field) for e in events] == [
        ("created", None),
        ("updated", "title"),
        ("deleted", None),
    ]
    deleted = events[-1]
    assert deleted.item_number == item["number"]
    assert deleted.actor_id == member.id
    assert deleted.old_value == snapshot_of(changed)
    assert deleted.new_value is None


async def test_deleting_an_epic_logs_each_child_losing_its_parent(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, _, _ = await factory.team()
    epic = await create(client, owner, {"title": "Epic", "type": "epic"})
    children = [
        await create(client, owner, {"title": f"Child {n}", "parent": epic["number"]})
        for n in range(2)
    ]
    response = await client.delete(f"{ITEMS}/{epic['number']}", headers=owner.headers)
    assert response.status_code == 204, response.text
    for child in children:
        events = await history(client, owner, child["number"])
        assert [(e["kind"], e["field"], e["old_value"], e["new_value"]) for e in events[1:]] == [
            ("updated", "parent", epic["number"], None)
        ]
    kinds = [e.kind for e in await stored_events(database)]
    assert kinds[-3:] == ["updated", "updated", "deleted"]


async def test_history_is_paginated_oldest_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, viewer, _ = await factory.team()
    item = await create(client, owner, {"title": "v0"})
    for n in range(1, 7):
        await patch(client, owner, item["number"], {"title": f"v{n}"})
    everything = await history(client, owner, item["number"])
    assert len(everything) == 7
    assert [e["new_value"] for e in everything[1:]] == [f"v{n}" for n in range(1, 7)]

    pages: list[list[int]] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        response = await client.get(
            f"{ITEMS}/{item['number']}/history", headers=viewer.headers, params=params
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([e["id"] for e in body["data"]])
        if body["next_cursor"] is None:
            assert "Link" not in response.headers
            break
        assert response.headers["Link"].endswith('; rel="next"')
        assert body["next_cursor"] in response.headers["Link"]
        params["cursor"] = body["next_cursor"]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [event_id for page in pages for event_id in page] == [e["id"] for e in everything]

    # Other items' events never leak into this history.
    other = await create(client, owner, {"title": "other"})
    await patch(client, owner, other["number"], {"title": "other 2"})
    assert await history(client, owner, item["number"]) == everything


async def test_history_access(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, _, viewer, _ = await factory.team()
    stranger = await factory.user()
    item = await create(client, owner, {"title": "Secret"})
    url = f"{ITEMS}/{item['number']}/history"
    assert (await client.get(url, headers=viewer.headers)).status_code == 200
    assert_problem(await client.get(url, headers=stranger.headers), 404)
    assert_problem(await client.get(url), 401)
    assert_problem(await client.get(f"{ITEMS}/999/history", headers=owner.headers), 404)
    assert_problem(
        await client.get(url, headers=owner.headers, params={"cursor": "garbage!"}),
        422,
        "query.cursor",
    )


# --- replay: the log alone rebuilds every item ---------------------------------------------


async def actual_items(database: Database) -> dict[int, dict[str, Any]]:
    """Every item's tracked fields, read from the items table."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT i.id, i.type, i.title, i.points, i.priority, i.labels, i.assignee_id, "
                "p.number, i.status_id, i.rank, s.number, i.original_estimate_hours, "
                "i.remaining_hours, r.number "
                "FROM items i LEFT JOIN items p ON p.id = i.parent_id "
                "LEFT JOIN sprints s ON s.id = i.sprint_id "
                "LEFT JOIN releases r ON r.id = i.release_id"
            )
        )
        return {
            row[0]: {
                "type": row[1],
                "title": row[2],
                "points": row[3],
                "priority": PRIORITIES[row[4] - 1],
                "labels": list(row[5]),
                "assignee": row[6],
                "parent": row[7],
                "status": row[8],
                "rank": row[9],
                "sprint": row[10],
                "original_estimate": None if row[11] is None else float(row[11]),
                "remaining_hours": None if row[12] is None else float(row[12]),
                "release": row[13],
            }
            for row in rows
        }


def rebuild(events: list[ItemEvent]) -> dict[int, dict[str, Any]]:
    """Items as the event log alone describes them; checks each event against the state."""
    state: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.kind == EventKind.CREATED:
            assert event.item_id not in state
            assert event.field is None and event.old_value is None
            assert sorted(event.new_value) == sorted(TRACKED)
            state[event.item_id] = dict(event.new_value)
        elif event.kind in (EventKind.UPDATED, EventKind.MOVED):
            assert event.field in TRACKED
            assert (event.field == "rank") == (event.kind == EventKind.MOVED)
            current = state[event.item_id]
            # Each change starts from the value the log says the field had.
            assert current[event.field] == event.old_value, event
            assert event.old_value != event.new_value, event
            current[event.field] = event.new_value
        else:
            assert event.kind == EventKind.DELETED
            assert event.old_value == state[event.item_id], event
            del state[event.item_id]
    return state


async def test_replaying_the_log_rebuilds_every_item(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Short keys make moves into crowded gaps trigger the occasional respread as well.
    monkeypatch.setattr(ranking, "MAX_KEY_LENGTH", 2)
    respreads = 0
    needs_rebalance = ranking.needs_rebalance

    def counting(key: str) -> bool:
        nonlocal respreads
        due = needs_rebalance(key)
        respreads += due
        return due

    monkeypatch.setattr(ranking, "needs_rebalance", counting)
    owner, member, _, _ = await factory.team()
    people = [owner.id, member.id]
    rng = random.Random(8675309)
    live: dict[int, str] = {}  # number -> type
    counts: dict[str, int] = {}
    external = 0
    extra_status: int | None = None
    releases = [await factory.release("WEB", owner, name) for name in ("1.0", "2.0", "3.0")]

    def note(name: str, response: httpx.Response, *ok: int) -> httpx.Response:
        assert response.status_code in ok, (name, response.text)
        if response.status_code < 300:
            counts[name] = counts.get(name, 0) + 1
        return response

    def some_fields(statuses: list[int]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if rng.random() < 0.4:
            fields["points"] = rng.choice([*FIBONACCI, None])
        if rng.random() < 0.4:
            fields["priority"] = rng.choice(PRIORITIES)
        if rng.random() < 0.4:
            fields["labels"] = rng.sample(["ui", "api", "db", "ops"], rng.randint(0, 3))
        if rng.random() < 0.3:
            fields["assignee_id"] = rng.choice([*people, None])
        if rng.random() < 0.3:
            fields["status_id"] = rng.choice(statuses)
        if rng.random() < 0.2:
            fields["description"] = f"text {rng.random()}"
        if rng.random() < 0.2:
            fields["original_estimate_hours"] = rng.choice([0, 2.5, 8, 13.25, None])
        if rng.random() < 0.2:
            fields["remaining_hours"] = rng.choice([0, 1.75, 6, None])
        if rng.random() < 0.2:
            fields["release"] = rng.choice([*releases, None])
        return fields

    for step in range(220):
        statuses = list((await status_ids(client, owner)).values())
        epics = [n for n, kind in live.items() if kind == "epic"]
        actor = rng.choice([owner, member])
        roll = rng.random()
        if roll < 0.22 or len(live) < 4:
            body = {"title": f"Item {step}", **some_fields(statuses)}
            body["type"] = rng.choice(["story", "story", "bug", "task", "spike", "epic"])
            if epics and body["type"] != "epic" and rng.random() < 0.5:
                body["parent"] = rng.choice(epics)
            if rng.random() < 0.3:
                body["position"] = "top"
            response = note(
                "create", await client.post(ITEMS, headers=actor.headers, json=body), 201
            )
            live[response.json()["number"]] = body["type"]
        elif roll < 0.50:
            number = rng.choice(list(live))
            body = some_fields(statuses)
            if rng.random() < 0.4:
                body["title"] = f"Renamed {step}"
            if rng.random() < 0.2:
                body["type"] = rng.choice(["story", "bug", "task", "spike", "epic"])
            if rng.random() < 0.25:
                body["parent"] = rng.choice([*epics, None])
            response = note(
                "update",
                await client.patch(f"{ITEMS}/{number}", headers=actor.headers, json=body),
                200,
                409,  # an epic with children cannot stop being an epic
                422,  # parent: itself, a cycle, or not an epic
            )
            if response.status_code == 200:
                live[number] = response.json()["type"]
        elif roll < 0.72:
            number = rng.choice(list(live))
            others = [n for n in live if n != number]
            kind = rng.choice(["top", "bottom", "before", "after", "before", "after"])
            body = {kind: True} if kind in ("top", "bottom") else {kind: rng.choice(others)}
            note(
                "move",
                await client.post(f"{ITEMS}/{number}/move", headers=actor.headers, json=body),
                200,
            )
        elif roll < 0.80:
            number = rng.choice(list(live))
            note(
                "delete",
                await client.delete(f"{ITEMS}/{number}", headers=actor.headers),
                204,
            )
            del live[number]
        elif roll < 0.90:
            entries: list[dict[str, Any]] = []
            for _ in range(rng.randint(1, 4)):
                if external and rng.random() < 0.6:
                    ext = f"EXT-{rng.randint(1, external)}"
                else:
                    external += 1
                    ext = f"EXT-{external}"
                if any(entry["external_id"] == ext for entry in entries):
                    continue
                entry = {"external_id": ext, **some_fields(statuses)}
                entry["title"] = f"{ext} at {step}"
                entries.append(entry)
            response = note(
                "batch",
                await client.post(
                    f"{ITEMS}/batch",
                    headers=actor.headers,
                    json={"items": entries, "upsert": "external_id"},
                ),
                200,
            )
            for item in response.json()["data"]:
                live.setdefault(item["number"], item["type"])
        elif extra_status is None:
            created = await client.post(
                f"{PROJECT}/statuses",
                headers=owner.headers,
                json={"name": f"Blocked {step}", "category": rng.choice(["todo", "in_progress"])},
            )
            assert created.status_code == 201, created.text
            extra_status = created.json()["id"]
        else:
            # Fill the extra status, then delete it, moving its items somewhere else.
            for number in rng.sample(list(live), min(3, len(live))):
                note(
                    "update",
                    await client.patch(
                        f"{ITEMS}/{number}", headers=actor.headers, json={"status_id": extra_status}
                    ),
                    200,
                )
            target = rng.choice([s for s in statuses if s != extra_status])
            response = await client.delete(
                f"{PROJECT}/statuses/{extra_status}",
                headers=owner.headers,
                params={"move_items_to": target},
            )
            note("delete status", response, 204)
            extra_status = None

    # Deleting a release takes its items out through the write path too.
    deleted = await client.delete(f"{PROJECT}/releases/{releases[0]}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    events = await stored_events(database)
    rebuilt = rebuild(events)
    actual = await actual_items(database)
    assert set(rebuilt) == set(actual)
    for item_id, fields in actual.items():
        assert rebuilt[item_id] == fields, item_id
    # The random session really did all of it.
    assert {"create", "update", "move", "delete", "batch", "delete status"} <= set(counts)
    assert counts["move"] > 30 and counts["update"] > 30
    assert respreads >= 5, "some writes should have respread the backlog"
    assert {e.actor_id for e in events} == {owner.id, member.id}


# --- the guard -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("type", "bug"),
        ("title", "Sneaky"),
        ("points", 13.0),
        ("priority", 1),
        ("labels", ["sneaky"]),
        ("assignee_id", 424242),
        ("parent_id", 424242),
        ("status_id", 424242),
        ("rank", "zzz"),
    ],
)
async def test_a_tracked_change_without_an_event_cannot_be_flushed(
    client: httpx.AsyncClient, factory: Factory, database: Database, column: str, value: Any
) -> None:
    owner, _, _, _ = await factory.team()
    number = await factory.item("WEB", owner, title="Original")
    before = (await client.get(f"{ITEMS}/{number}", headers=owner.headers)).json()

    async with database.sessions() as session:
        item = (await session.execute(select(Item).where(col(Item.number) == number))).scalar_one()
        setattr(item, column, value)
        with pytest.raises(UnloggedChangeError, match=column):
            await session.flush()
        await session.rollback()

    after = (await client.get(f"{ITEMS}/{number}", headers=owner.headers)).json()
    assert after == before


async def test_the_guard_lets_logged_and_untracked_changes_through(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, _, _ = await factory.team()
    number = await factory.item("WEB", owner, title="Original")

    async with database.sessions() as session, session.begin():
        item = (await session.execute(select(Item).where(col(Item.number) == number))).scalar_one()
        # Untracked fields need no event.
        item.description = "edited directly"
        await session.flush()
        # A tracked change with its event beside it is fine.
        assert item.id is not None and item.project_id is not None
        item.title = "Logged"
        session.add(
            ItemEvent(
                project_id=item.project_id,
                item_id=item.id,
                item_number=item.number,
                actor_id=owner.id,
                kind=EventKind.UPDATED,
                field="title",
                old_value="Original",
                new_value="Logged",
            )
        )
        await session.flush()
        # An event for another field does not cover this one.
        item.points = 8.0
        unrelated = ItemEvent(
            project_id=item.project_id,
            item_id=item.id,
            item_number=item.number,
            kind=EventKind.UPDATED,
            field="title",
            old_value="Logged",
            new_value="Logged",
        )
        session.add(unrelated)
        with pytest.raises(UnloggedChangeError, match="points"):
            await session.flush()
        session.expunge(unrelated)
        item.points = None

    fetched = (await client.get(f"{ITEMS}/{number}", headers=owner.headers)).json()
    assert fetched["title"] == "Logged"
    assert fetched["description"] == "edited directly"
    assert fetched["points"] is None
    assert [e["field"] for e in await history(client, owner, number)] == [None, "title"]
