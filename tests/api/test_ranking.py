"""Backlog ranking: top/bottom/before/after moves, no-ops, bad moves, If-Match, concurrent moves
and rebalancing — over HTTP on real PostgreSQL."""

import asyncio
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlmodel import col

from app.db import Database
from app.domain.items import ranking
from app.domain.items.models import ItemEvent
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, backlog, etag_version, history

ITEMS = "/api/v1/projects/WEB/items"


async def order(client: httpx.AsyncClient, actor: Actor, key: str = "WEB") -> list[int]:
    """Item numbers in rank order."""
    return [item["number"] for item in await backlog(client, actor, key)]


async def ranks(client: httpx.AsyncClient, actor: Actor) -> dict[int, str]:
    """Item number -> rank key."""
    return {item["number"]: item["rank"] for item in await backlog(client, actor)}


async def move(
    client: httpx.AsyncClient,
    actor: Actor,
    number: int,
    body: dict[str, Any],
    if_match: str | None = None,
) -> httpx.Response:
    headers = dict(actor.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.post(f"{ITEMS}/{number}/move", headers=headers, json=body)


async def moved_events(database: Database) -> list[ItemEvent]:
    """Every `moved` event in the database, in id order."""
    async with database.sessions() as session:
        stmt = select(ItemEvent).where(col(ItemEvent.kind) == "moved").order_by(col(ItemEvent.id))
        return list((await session.execute(stmt)).scalars().all())


def apply_move(numbers: list[int], number: int, body: dict[str, Any]) -> list[int]:
    """What a move does to a backlog, on a plain list."""
    result = [n for n in numbers if n != number]
    if body.get("top"):
        result.insert(0, number)
    elif body.get("bottom"):
        result.append(number)
    elif "before" in body:
        result.insert(result.index(body["before"]), number)
    else:
        result.insert(result.index(body["after"]) + 1, number)
    return result


async def make_items(factory: Factory, owner: Actor, count: int) -> list[int]:
    return [await factory.item("WEB", owner, title=f"Item {n}") for n in range(count)]


# --- placement of new items ----------------------------------------------------------------


async def test_new_items_go_to_the_bottom_and_top_on_request(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    numbers = []
    for title in ("first", "second", "third"):
        response = await client.post(ITEMS, headers=owner.headers, json={"title": title})
        assert response.status_code == 201, response.text
        numbers.append(response.json()["number"])
    assert await order(client, owner) == numbers

    top = await client.post(
        ITEMS, headers=owner.headers, json={"title": "urgent", "position": "top"}
    )
    assert top.status_code == 201, top.text
    bottom = await client.post(
        ITEMS, headers=owner.headers, json={"title": "later", "position": "bottom"}
    )
    assert bottom.status_code == 201, bottom.text
    expected = [top.json()["number"], *numbers, bottom.json()["number"]]
    assert await order(client, owner) == expected
    keys = list((await ranks(client, owner)).values())
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


# --- move semantics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "body", "expected"),
    [
        (4, {"top": True}, [4, 1, 2, 3, 5]),
        (5, {"top": True}, [5, 1, 2, 3, 4]),
        (2, {"bottom": True}, [1, 3, 4, 5, 2]),
        (1, {"bottom": True}, [2, 3, 4, 5, 1]),
        (5, {"before": 2}, [1, 5, 2, 3, 4]),
        (3, {"before": 1}, [3, 1, 2, 4, 5]),
        (1, {"before": 5}, [2, 3, 4, 1, 5]),
        (1, {"after": 4}, [2, 3, 4, 1, 5]),
        (2, {"after": 5}, [1, 3, 4, 5, 2]),
        (5, {"after": 1}, [1, 5, 2, 3, 4]),
        (4, {"after": 2}, [1, 2, 4, 3, 5]),
    ],
    ids=[
        "top-from-middle",
        "top-from-bottom",
        "bottom-from-middle",
        "bottom-from-top",
        "before-upwards",
        "before-the-first",
        "before-downwards",
        "after-downwards",
        "after-the-last",
        "after-upwards",
        "after-skipping-one",
    ],
)
async def test_move_places_the_item_and_logs_one_rank_event(
    client: httpx.AsyncClient,
    factory: Factory,
    number: int,
    body: dict[str, Any],
    expected: list[int],
) -> None:
    owner = await factory.user()
    member = await factory.user()
    await factory.project(owner)
    await factory.member("WEB", owner, member, Role.MEMBER)
    assert await make_items(factory, owner, 5) == [1, 2, 3, 4, 5]
    before_ranks = await ranks(client, owner)
    before = (await client.get(f"{ITEMS}/{number}", headers=owner.headers)).json()

    response = await move(client, member, number, body)

    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["number"] == number
    assert moved["version"] == before["version"] + 1
    assert etag_version(response) == moved["version"]
    assert moved["rank"] != before["rank"]
    assert await order(client, owner) == expected
    after_ranks = await ranks(client, owner)
    assert after_ranks[number] == moved["rank"]
    # Only the moved row was written.
    assert {n: r for n, r in after_ranks.items() if n != number} == {
        n: r for n, r in before_ranks.items() if n != number
    }
    events = await history(client, owner, number)
    assert [e["kind"] for e in events] == ["created", "moved"]
    event = events[-1]
    assert event["field"] == "rank"
    assert event["old_value"] == before["rank"]
    assert event["new_value"] == moved["rank"]
    assert event["actor_id"] == member.id


async def test_a_long_serial_sequence_of_moves_matches_a_list_model(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    numbers = await make_items(factory, owner, 8)
    model = list(numbers)
    rng = random.Random(20240501)
    for _ in range(40):
        number = rng.choice(numbers)
        kind = rng.choice(["top", "bottom", "before", "after"])
        body: dict[str, Any] = (
            {kind: True}
            if kind in ("top", "bottom")
            else {kind: rng.choice([n for n in numbers if n != number])}
        )
        response = await move(client, owner, number, body)
        assert response.status_code == 200, (body, response.text)
        model = apply_move(model, number, body)
        assert await order(client, owner) == model, body
    keys = list((await ranks(client, owner)).values())
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("number", "body"),
    [
        (1, {"top": True}),
        (3, {"bottom": True}),
        (2, {"before": 3}),
        (1, {"before": 2}),
        (2, {"after": 1}),
        (3, {"after": 2}),
    ],
    ids=[
        "top-of-first",
        "bottom-of-last",
        "before-next",
        "first-before-second",
        "after-previous",
        "last-after-previous",
    ],
)
async def test_a_move_to_where_the_item_already_is_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, number: int, body: dict[str, Any]
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    await make_items(factory, owner, 3)
    before = (await client.get(f"{ITEMS}/{number}", headers=owner.headers)).json()
    before_ranks = await ranks(client, owner)

    response = await move(client, owner, number, body)

    assert response.status_code == 200, response.text
    assert response.json() == before
    assert etag_version(response) == before["version"]
    assert await ranks(client, owner) == before_ranks
    assert [e["kind"] for e in await history(client, owner, number)] == ["created"]


# --- bad moves -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"top": True, "bottom": True},
        {"before": 2, "after": 3},
        {"top": True, "before": 2},
        {"bottom": True, "after": 3},
        {"top": False},
        {"bottom": False, "top": False},
        {"before": None},
        {"top": "sideways"},
        {"before": "two"},
        {"first": True},
    ],
    ids=[
        "nothing",
        "top-and-bottom",
        "before-and-after",
        "top-and-before",
        "bottom-and-after",
        "top-false",
        "both-false",
        "before-null",
        "top-not-bool",
        "before-not-int",
        "unknown-field",
    ],
)
async def test_a_move_needs_exactly_one_target(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any]
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    await make_items(factory, owner, 3)
    before = await ranks(client, owner)

    assert_problem(await move(client, owner, 1, body), 422)

    assert await ranks(client, owner) == before
    assert [e["kind"] for e in await history(client, owner, 1)] == ["created"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"before": 2}, "body.before"),
        ({"after": 2}, "body.after"),
        ({"before": 99}, "body.before"),
        ({"after": 99}, "body.after"),
        ({"before": 5}, "body.before"),
        ({"after": 4}, "body.after"),
        ({"before": 3}, "body.before"),
    ],
    ids=[
        "before-itself",
        "after-itself",
        "before-unknown",
        "after-unknown",
        "before-other-projects-item",
        "after-other-projects-item",
        "before-deleted-item",
    ],
)
async def test_a_move_relative_to_itself_or_an_unknown_item_names_the_field(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    await factory.project(owner, "OPS")
    await make_items(factory, owner, 3)
    for _ in range(5):
        await factory.item("OPS", owner)
    deleted = await client.delete(f"{ITEMS}/3", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    before = await ranks(client, owner)

    assert_problem(await move(client, owner, 2, body), 422, fields={field})

    assert await ranks(client, owner) == before
    assert [e["kind"] for e in await history(client, owner, 2)] == ["created"]


async def test_moving_an_unknown_item_is_404_and_viewers_cannot_move(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    viewer = await factory.user()
    stranger = await factory.user()
    await factory.project(owner)
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    await make_items(factory, owner, 2)
    before = await ranks(client, owner)

    assert_problem(await move(client, owner, 42, {"top": True}), 404)
    assert_problem(await move(client, viewer, 2, {"top": True}), 403)
    assert_problem(await move(client, stranger, 2, {"top": True}), 404)
    unauthenticated = await client.post(f"{ITEMS}/2/move", json={"top": True})
    assert_problem(unauthenticated, 401)

    assert await ranks(client, owner) == before


# --- If-Match ------------------------------------------------------------------------------


async def test_move_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner)
    await make_items(factory, owner, 3)
    current = await client.get(f"{ITEMS}/3", headers=owner.headers)
    etag = current.headers["ETag"]
    assert etag_version(current) == 1

    stale = await move(client, owner, 3, {"top": True}, if_match='"7"')
    assert_problem(stale, 412)
    assert await order(client, owner) == [1, 2, 3]

    fresh = await move(client, owner, 3, {"top": True}, if_match=etag)
    assert fresh.status_code == 200, fresh.text
    assert etag_version(fresh) == 2
    assert await order(client, owner) == [3, 1, 2]

    # The old ETag is stale now.
    again = await move(client, owner, 3, {"bottom": True}, if_match=etag)
    assert_problem(again, 412)
    assert await order(client, owner) == [3, 1, 2]

    anything = await move(client, owner, 3, {"bottom": True}, if_match="*")
    assert anything.status_code == 200, anything.text
    assert await order(client, owner) == [1, 2, 3]


# --- concurrency ---------------------------------------------------------------------------


async def test_concurrent_moves_are_consistent_with_one_serial_order(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    # One actor per move, so each `moved` event names the request that wrote it.
    actors = [owner]
    for _ in range(29):
        member = await factory.user()
        await factory.member("WEB", owner, member, Role.MEMBER)
        actors.append(member)
    numbers = await make_items(factory, owner, 20)
    initial = await order(client, owner)
    initial_ranks = await ranks(client, owner)
    assert initial == numbers

    rng = random.Random(31337)
    moves: list[tuple[Actor, int, dict[str, Any]]] = []
    for actor in actors:
        number = rng.choice(numbers)
        kind = rng.choice(["top", "bottom", "before", "after"])
        body: dict[str, Any] = (
            {kind: True}
            if kind in ("top", "bottom")
            else {kind: rng.choice([n for n in numbers if n != number])}
        )
        moves.append((actor, number, body))

    responses = await asyncio.gather(
        *(move(client, actor, number, body) for actor, number, body in moves)
    )

    for response in responses:
        assert response.status_code == 200, response.text
    final_items = await backlog(client, owner)
    final = [item["number"] for item in final_items]
    final_keys = [item["rank"] for item in final_items]
    assert sorted(final) == sorted(numbers)
    assert len(set(final_keys)) == len(final_keys)
    assert final_keys == sorted(final_keys)

    by_actor = {
        actor.id: (number, body, response)
        for (actor, number, body), response in zip(moves, responses, strict=True)
    }
    events = await moved_events(database)
    assert len({event.actor_id for event in events}) == len(events), "one event per request"
    assert len(events) >= 15, "most random moves should change something"
    replayed = list(initial)
    latest = dict(initial_ranks)
    for event in events:
        assert event.actor_id is not None
        number, body, response = by_actor[event.actor_id]
        assert event.item_number == number
        assert event.field == "rank"
        # No lost update: every move starts from the rank the previous one left.
        assert event.old_value == latest[number]
        assert event.new_value == response.json()["rank"]
        latest[number] = event.new_value
        replayed = apply_move(replayed, number, body)
    assert replayed == final
    assert {n: latest[n] for n in final} == dict(zip(final, final_keys, strict=True))
    # A move without an event changed nothing: it answers with a rank its item really had.
    moved_actors = {event.actor_id for event in events}
    for actor, number, _ in moves:
        if actor.id not in moved_actors:
            had = {initial_ranks[number]} | {e.new_value for e in events if e.item_number == number}
            assert by_actor[actor.id][2].json()["rank"] in had


# --- rebalance -----------------------------------------------------------------------------


async def test_long_keys_trigger_a_rebalance_that_keeps_the_order(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ranking, "MAX_KEY_LENGTH", 4)
    owner = await factory.user()
    member = await factory.user()
    await factory.project(owner)
    await factory.member("WEB", owner, member, Role.MEMBER)
    numbers = await make_items(factory, owner, 5)
    model = list(numbers)
    rebalanced_at = None
    for step in range(40):
        # Squeeze the bottom item in right after the first one: the same gap, again and again.
        mover = model[-1]
        before_ranks = await ranks(client, owner)
        events_before = len(await moved_events(database))
        response = await move(client, member, mover, {"after": model[0]})
        assert response.status_code == 200, response.text
        model = apply_move(model, mover, {"after": model[0]})
        after_ranks = await ranks(client, owner)
        assert [n for n, _ in sorted(after_ranks.items(), key=lambda kv: kv[1])] == model
        assert response.json()["rank"] == after_ranks[mover]
        new_events = (await moved_events(database))[events_before:]
        if len(new_events) == 1:
            # An ordinary move rewrites the moved row only.
            assert {n: r for n, r in after_ranks.items() if n != mover} == {
                n: r for n, r in before_ranks.items() if n != mover
            }
            continue
        rebalanced_at = step
        # The move itself, then one event per item of the project for the respread.
        assert new_events[0].item_number == mover
        assert all(len(key) <= 4 for key in before_ranks.values())
        squeezed = {**before_ranks, mover: new_events[0].new_value}
        assert len(squeezed[mover]) > 4
        respread = new_events[1:]
        # One event per item whose key the respread really changed, from the key it had.
        changed = {n for n in numbers if after_ranks[n] != squeezed[n]}
        assert mover in changed
        assert sorted(e.item_number for e in respread) == sorted(changed)
        for event in respread:
            assert event.field == "rank" and event.actor_id == member.id
            assert event.old_value == squeezed[event.item_number]
            assert event.new_value == after_ranks[event.item_number]
        # The key that was too long is in the log as the respread's starting point.
        assert any(len(e.old_value) > 4 for e in respread)
        assert all(len(key) <= 4 for key in after_ranks.values())
        break
    assert rebalanced_at is not None, "squeezing never triggered a rebalance"
    assert rebalanced_at > 3, "a rebalance should be rare, not every move"

    # The history of an item that never moved on its own shows the respread, if it moved it.
    for number in numbers:
        kinds = [e["kind"] for e in await history(client, owner, number)]
        assert kinds.count("moved") == sum(
            1 for e in await moved_events(database) if e.item_number == number
        )

    # Moves keep working after the rebalance.
    response = await move(client, member, model[0], {"bottom": True})
    assert response.status_code == 200, response.text
    model = apply_move(model, model[0], {"bottom": True})
    assert await order(client, owner) == model


async def test_a_create_that_triggers_a_rebalance_answers_with_the_new_ranks(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    await make_items(factory, owner, 3)
    squeezed = await move(client, owner, 3, {"after": 1})
    assert squeezed.status_code == 200, squeezed.text
    assert len(squeezed.json()["rank"]) > 2
    # Every new key is "too long" now, so each create respreads the backlog.
    monkeypatch.setattr(ranking, "MAX_KEY_LENGTH", 1)

    created = await client.post(ITEMS, headers=owner.headers, json={"title": "four"})
    assert created.status_code == 201, created.text
    listing = await backlog(client, owner)
    assert [item["number"] for item in listing] == [1, 3, 2, 4]
    assert all(len(item["rank"]) == 2 for item in listing)
    stored = {item["number"]: item for item in listing}
    assert created.json()["rank"] == stored[4]["rank"]
    fetched = await client.get(f"{ITEMS}/4", headers=owner.headers)
    assert created.json() == fetched.json()

    squeezed = await move(client, owner, 4, {"after": 1})
    assert squeezed.status_code == 200, squeezed.text
    batch = await client.post(
        f"{ITEMS}/batch",
        headers=owner.headers,
        json={"items": [{"title": "five"}, {"title": "six", "position": "top"}]},
    )
    assert batch.status_code == 200, batch.text
    listing = await backlog(client, owner)
    assert [item["number"] for item in listing] == [6, 1, 4, 3, 2, 5]
    stored = {item["number"]: item for item in listing}
    assert {item["number"]: item["rank"] for item in batch.json()["data"]} == {
        5: stored[5]["rank"],
        6: stored[6]["rank"],
    }


async def test_a_rebalance_that_waits_for_a_concurrent_move_keeps_that_move(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = await factory.user()
    await factory.project(owner)
    await make_items(factory, owner, 3)
    monkeypatch.setattr(ranking, "MAX_KEY_LENGTH", 1)
    async with database.engine.connect() as mover:
        # Another process is moving item 3 to the top and has not committed yet.
        await mover.execute(text("UPDATE items SET rank = 'Zz' WHERE number = 3"))
        # This create respreads every key, so it has to wait for item 3's row.
        create = asyncio.create_task(
            client.post(ITEMS, headers=owner.headers, json={"title": "four"})
        )
        for _ in range(200):
            await asyncio.sleep(0.02)
            async with database.engine.connect() as probe:
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            if waiting:
                break
        else:
            pytest.fail("the create never waited for the concurrent move")
        await mover.commit()
    response = await create
    assert response.status_code == 201, response.text
    listing = await backlog(client, owner)
    assert [item["number"] for item in listing] == [3, 1, 2, 4]
    assert all(len(item["rank"]) == 2 for item in listing)


@pytest.mark.parametrize("max_key_length", [48, 2])
async def test_concurrent_creates_and_moves_lose_and_duplicate_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    max_key_length: int,
) -> None:
    # With short keys, respreads run while other requests insert and move items.
    monkeypatch.setattr(ranking, "MAX_KEY_LENGTH", max_key_length)
    owner = await factory.user()
    await factory.project(owner)
    numbers = await make_items(factory, owner, 12)
    rng = random.Random(2718 + max_key_length)
    requests = []
    for n in range(36):
        if n % 3 == 0:
            position = rng.choice(["top", "bottom"])
            requests.append(
                client.post(
                    ITEMS, headers=owner.headers, json={"title": f"new {n}", "position": position}
                )
            )
            continue
        number = rng.choice(numbers)
        kind = rng.choice(["top", "bottom", "before", "after"])
        body: dict[str, Any] = (
            {kind: True}
            if kind in ("top", "bottom")
            else {kind: rng.choice([x for x in numbers if x != number])}
        )
        requests.append(move(client, owner, number, body))

    responses = await asyncio.gather(*requests)

    for response in responses:
        assert response.status_code in (200, 201), response.text
    created = [r.json()["number"] for r in responses if r.status_code == 201]
    assert len(created) == 12
    final = await backlog(client, owner)
    assert sorted(item["number"] for item in final) == sorted(numbers + created)
    keys = [item["rank"] for item in final]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
