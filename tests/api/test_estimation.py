"""Planning poker over HTTP: rounds, hidden votes, the reveal, re-votes, accepting through the
item write path, estimation sessions, bad input and races — on real PostgreSQL."""

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from app.db import Database
from app.domain.projects.models import Role
from tests.contract import checked_client
from tests.factories import Actor, Factory
from tests.helpers import assert_problem

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
SESSIONS = f"{PROJECTS}/WEB/estimation-sessions"


def rounds_url(number: int) -> str:
    return f"{ITEMS}/{number}/estimation"


def round_url(number: int, round_number: int, action: str = "") -> str:
    return f"{ITEMS}/{number}/estimation/rounds/{round_number}" + (f"/{action}" if action else "")


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def vote(client: httpx.AsyncClient, actor: Actor, number: int, value: Any) -> httpx.Response:
    return await client.put(
        round_url(number, 1, "vote"), headers=actor.headers, json={"value": value}
    )


async def db_rows(database: Database, sql: str) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


def name(actor: Actor) -> str:
    return actor.email.split("@")[0]


# --- a round from open to accepted -----------------------------------------------------------


async def test_votes_stay_hidden_until_the_reveal_then_accept_sets_points_in_history(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    other = await factory.user()
    await factory.member("WEB", owner, other, Role.MEMBER)
    number = await factory.item("WEB", owner, title="Checkout")

    opened = await client.post(rounds_url(number), headers=owner.headers)
    body = await ok(opened, 201)
    assert opened.headers["location"] == f"{ITEMS}/{number}/estimation/rounds/1"
    assert (body["number"], body["state"], body["scale"]) == (1, "voting", "fibonacci")
    assert body["facilitator"]["id"] == owner.id
    assert body["votes"] is None and body["stats"] is None and body["voters"] == []

    await ok(await vote(client, member, number, "8"))
    await ok(await vote(client, member, number, "3"))  # changed: one vote per member
    await ok(await vote(client, owner, number, "5"))
    await ok(await vote(client, other, number, "coffee"))

    # While voting: names, never values; each member sees only their own vote.
    seen = await ok(await client.get(rounds_url(number), headers=viewer.headers))
    (current,) = seen["data"]
    assert [v["display_name"] for v in current["voters"]] == [
        name(member),
        name(owner),
        name(other),
    ]
    assert current["votes"] is None and current["stats"] is None and current["my_vote"] is None
    mine = await ok(await client.get(round_url(number, 1), headers=member.headers))
    assert mine["my_vote"] == "3" and mine["votes"] is None
    assert all(set(voter) == {"id", "display_name"} for voter in current["voters"])

    # Only the facilitator (or an owner) reveals.
    assert_problem(await client.post(round_url(number, 1, "reveal"), headers=member.headers), 403)
    revealed = await ok(await client.post(round_url(number, 1, "reveal"), headers=owner.headers))
    assert revealed["state"] == "revealed"
    assert {(v["user"]["id"], v["value"]) for v in revealed["votes"]} == {
        (member.id, "3"),
        (owner.id, "5"),
        (other.id, "coffee"),
    }
    # Numeric 3 and 5: one step apart; median 4 is 1 from both 3 and 5 → the higher, 5.
    assert revealed["stats"] == {
        "numeric_votes": 2,
        "unsure": 0,
        "coffee": 1,
        "min": "3",
        "max": "5",
        "min_value": 3.0,
        "max_value": 5.0,
        "spread": 2.0,
        "spread_steps": 1,
        "discuss": False,
        "median": "5",
        "median_value": 5.0,
        "mode": ["3", "5"],
    }
    # No more votes once revealed.
    assert_problem(await vote(client, member, number, "8"), 409)

    accepted = await ok(
        await client.post(round_url(number, 1, "accept"), headers=owner.headers, json={})
    )
    assert (accepted["state"], accepted["accepted_value"]) == ("accepted", "5")
    assert accepted["closed_at"] is not None
    item = await ok(await client.get(f"{ITEMS}/{number}", headers=viewer.headers))
    assert item["points"] == 5
    history = await ok(await client.get(f"{ITEMS}/{number}/history", headers=viewer.headers))
    points = [e for e in history["data"] if e["field"] == "points"]
    assert [(e["old_value"], e["new_value"], e["actor_id"]) for e in points] == [
        (None, 5.0, owner.id)
    ]
    # Accepted is final.
    assert_problem(await client.post(round_url(number, 1, "accept"), headers=owner.headers), 409)
    assert_problem(await client.post(round_url(number, 1, "revote"), headers=owner.headers), 409)


async def test_accept_takes_a_value_and_shows_in_the_active_sprints_scope(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    number = await factory.item("WEB", owner, points=3)
    sprint = await factory.sprint("WEB", owner, items=[number], start=True)
    round_number = await factory.estimation_round("WEB", member, number)
    await factory.estimation_vote("WEB", member, number, round_number, "13")
    await factory.estimation_vote("WEB", owner, number, round_number, "2")
    # The member opened it, so the member facilitates: reveal and accept as them.
    await ok(await client.post(round_url(number, 1, "reveal"), headers=member.headers))

    # Off-scale or non-numeric values are refused, naming the field, and change nothing.
    for bad in ("?", "4", "coffee"):
        response = await client.post(
            round_url(number, 1, "accept"), headers=member.headers, json={"value": bad}
        )
        assert_problem(response, 422, "body.value")
    assert_problem(
        await client.post(
            round_url(number, 1, "accept"), headers=member.headers, json={"value": 8}
        ),
        422,
        "body.value",
    )
    assert (await ok(await client.get(f"{ITEMS}/{number}", headers=owner.headers)))["points"] == 3

    accepted = await client.post(
        round_url(number, 1, "accept"), headers=member.headers, json={"value": "8"}
    )
    assert (await ok(accepted))["accepted_value"] == "8"
    scope = await ok(
        await client.get(f"{PROJECTS}/WEB/sprints/{sprint}/scope", headers=owner.headers)
    )
    assert [(c["change"], c["points_before"], c["points_after"]) for c in scope["data"]] == [
        ("re_estimated", 3.0, 8.0)
    ]


async def test_a_median_needs_numeric_votes(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, member, _, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await factory.estimation_round("WEB", owner, number)
    await factory.estimation_vote("WEB", member, number, 1, "?")
    revealed = await ok(await client.post(round_url(number, 1, "reveal"), headers=owner.headers))
    assert revealed["stats"]["median"] is None and revealed["stats"]["unsure"] == 1
    response = await client.post(round_url(number, 1, "accept"), headers=owner.headers)
    assert_problem(response, 422, "body.value")
    assert (await ok(await client.get(f"{ITEMS}/{number}", headers=owner.headers)))[
        "points"
    ] is None


async def test_tshirt_projects_vote_sizes_and_accept_their_numbers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team(estimation_scale="tshirt")
    number = await factory.item("WEB", owner)
    await factory.estimation_round("WEB", owner, number)
    assert_problem(await vote(client, member, number, "5"), 422, "body.value")
    await ok(await vote(client, member, number, "S"))
    await ok(await vote(client, owner, number, "XL"))
    revealed = await ok(await client.post(round_url(number, 1, "reveal"), headers=owner.headers))
    # S = 2 and XL = 8: median 5 is L; S→M→L→XL is three steps, time to talk.
    assert (revealed["stats"]["median"], revealed["stats"]["discuss"]) == ("L", True)
    await ok(await client.post(round_url(number, 1, "accept"), headers=owner.headers))
    item = await ok(await client.get(f"{ITEMS}/{number}", headers=owner.headers))
    assert (item["points"], item["points_label"]) == (5, "L")


# --- rules and bad input ---------------------------------------------------------------------


async def test_bad_votes_are_refused_naming_the_value_and_nothing_is_written(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, viewer, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await factory.estimation_round("WEB", owner, number)
    for bad in ("4", "XL", "Coffee", "", "1234567890123", 5, None, True):
        assert_problem(await vote(client, member, number, bad), 422, "body.value")
    response = await client.put(
        round_url(number, 1, "vote"), headers=member.headers, json={"value": "5", "extra": 1}
    )
    assert_problem(response, 422)
    # Viewers read but do not vote.
    assert_problem(await vote(client, viewer, number, "5"), 403)
    assert await db_rows(database, "SELECT * FROM estimation_votes") == []
    # Unknown rounds and items are 404s.
    assert_problem(
        await client.put(round_url(number, 2, "vote"), headers=member.headers, json={"value": "5"}),
        404,
    )
    assert_problem(await client.post(rounds_url(999), headers=member.headers), 404)


async def test_revealing_a_round_with_no_votes_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await factory.estimation_round("WEB", owner, number)
    await ok(await vote(client, member, number, "5"))
    assert (
        await client.delete(round_url(number, 1, "vote"), headers=member.headers)
    ).status_code == 204
    body = assert_problem(
        await client.post(round_url(number, 1, "reveal"), headers=owner.headers), 409
    )
    assert "no votes" in body["detail"]
    after = await ok(await client.get(round_url(number, 1), headers=owner.headers))
    assert (after["state"], after["revealed_at"], after["voters"]) == ("voting", None, [])


async def test_one_open_round_per_item_and_revotes_keep_the_old_rounds(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await ok(await client.post(rounds_url(number), headers=member.headers), 201)
    assert_problem(await client.post(rounds_url(number), headers=owner.headers), 409)
    # Re-vote and accept need a revealed round.
    assert_problem(await client.post(round_url(number, 1, "revote"), headers=member.headers), 409)
    assert_problem(await client.post(round_url(number, 1, "accept"), headers=member.headers), 409)
    await ok(await vote(client, member, number, "2"))
    await ok(await vote(client, owner, number, "13"))
    await ok(await client.post(round_url(number, 1, "reveal"), headers=member.headers))
    assert_problem(await client.post(round_url(number, 1, "revote"), headers=viewer.headers), 403)

    revoted = await client.post(round_url(number, 1, "revote"), headers=owner.headers)
    second = await ok(revoted, 201)
    assert revoted.headers["location"] == f"{ITEMS}/{number}/estimation/rounds/2"
    assert (second["number"], second["state"], second["voters"]) == (2, "voting", [])
    assert second["facilitator"]["id"] == member.id  # the facilitator carries over
    # The old round is kept with its votes, but is no longer the open one.
    assert_problem(await client.post(round_url(number, 1, "accept"), headers=owner.headers), 409)
    listed = await ok(
        await client.get(rounds_url(number), headers=viewer.headers, params={"limit": 1})
    )
    assert [r["number"] for r in listed["data"]] == [2]
    older = await ok(
        await client.get(
            rounds_url(number), headers=viewer.headers, params={"cursor": listed["next_cursor"]}
        )
    )
    (first,) = older["data"]
    assert (first["number"], first["state"], first["stats"]["median"]) == (1, "revealed", "8")
    assert first["closed_at"] is not None and older["next_cursor"] is None


async def test_concurrent_openers_get_one_round_and_concurrent_votes_all_count(
    app: object,
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
) -> None:
    owner, member, _, _ = await factory.team()
    number = await factory.item("WEB", owner)
    async with checked_client(app) as other:
        responses = await asyncio.gather(
            client.post(rounds_url(number), headers=owner.headers),
            other.post(rounds_url(number), headers=member.headers),
        )
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        assert await db_rows(database, "SELECT number FROM estimation_rounds") == [(1,)]
        # Two votes in flight together (they queue on the round's lock): both land.
        votes = await asyncio.gather(
            vote(client, owner, number, "3"), vote(other, member, number, "5")
        )
    assert [r.status_code for r in votes] == [200, 200], [r.text for r in votes]
    assert sorted(await db_rows(database, "SELECT value FROM estimation_votes")) == [("3",), ("5",)]


# --- estimation sessions ---------------------------------------------------------------------


def states(body: dict[str, Any]) -> list[tuple[int, str, int | None]]:
    return [(item["number"], item["state"], item["round"]) for item in body["items"]]


async def test_a_session_walks_its_items_in_rank_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    first, second, third = [await factory.item("WEB", owner) for _ in range(3)]
    # Rank order, whatever order they are sent in: `third` moves to the top of the backlog.
    moved = await client.post(f"{ITEMS}/{third}/move", headers=owner.headers, json={"top": True})
    assert moved.status_code == 200, moved.text

    created = await client.post(
        SESSIONS, headers=member.headers, json={"items": [first, second, third]}
    )
    body = await ok(created, 201)
    session_id = body["id"]
    assert created.headers["location"] == f"{SESSIONS}/{session_id}"
    assert body["facilitator"]["id"] == member.id
    assert states(body) == [
        (third, "current", 1),
        (first, "pending", None),
        (second, "pending", None),
    ]
    assert body["current"]["number"] == third
    assert body["progress"] == {"total": 3, "estimated": 0, "skipped": 0, "remaining": 3}
    # The round opened with the session, run by its facilitator.
    opened = await ok(await client.get(round_url(third, 1), headers=viewer.headers))
    assert (opened["state"], opened["session_id"]) == ("voting", session_id)

    url = f"{SESSIONS}/{session_id}"
    # Not estimated yet: moving on needs an accepted round or a skip; and the facilitator.
    assert_problem(await client.post(f"{url}/next", headers=member.headers), 409)
    assert_problem(await client.post(f"{url}/next", headers=viewer.headers), 403)
    other = await factory.user()
    await factory.member("WEB", owner, other, Role.MEMBER)
    assert_problem(await client.post(f"{url}/next", headers=other.headers), 403)

    await ok(await vote(client, member, third, "5"))
    await ok(await client.post(round_url(third, 1, "reveal"), headers=member.headers))
    await ok(await client.post(round_url(third, 1, "accept"), headers=member.headers))
    after = await ok(await client.get(url, headers=viewer.headers))
    assert states(after)[0] == (third, "estimated", 1)
    assert after["current"]["number"] == third  # still on the table until the facilitator moves

    moved_on = await ok(await client.post(f"{url}/next", headers=member.headers))
    assert states(moved_on) == [
        (third, "estimated", 1),
        (first, "current", 1),
        (second, "pending", None),
    ]
    # Skipping cancels the round; an owner may move any session on.
    skipped = await ok(await client.post(f"{url}/next", headers=owner.headers, json={"skip": True}))
    assert states(skipped) == [
        (third, "estimated", 1),
        (first, "skipped", 1),
        (second, "current", 1),
    ]
    assert skipped["progress"] == {"total": 3, "estimated": 1, "skipped": 1, "remaining": 1}
    cancelled = await ok(await client.get(round_url(first, 1), headers=viewer.headers))
    assert (cancelled["state"], cancelled["votes"]) == ("cancelled", None)
    # The skipped item can get a round of its own later.
    await ok(await client.post(rounds_url(first), headers=owner.headers), 201)

    closed = await ok(await client.post(f"{url}/close", headers=member.headers))
    assert closed["state"] == "closed" and closed["current"] is None
    assert closed["progress"] == {"total": 3, "estimated": 1, "skipped": 1, "remaining": 1}
    assert (await ok(await client.get(round_url(second, 1), headers=viewer.headers)))[
        "state"
    ] == "cancelled"
    assert_problem(await client.post(f"{url}/next", headers=member.headers), 409)
    assert_problem(await client.post(f"{url}/close", headers=member.headers), 409)

    listed = await ok(await client.get(SESSIONS, headers=viewer.headers))
    assert [s["id"] for s in listed["data"]] == [session_id]


async def test_a_session_over_the_first_unestimated_backlog_items_closes_after_the_last(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    estimated = await factory.item("WEB", owner, points=3)
    wanted = await factory.item("WEB", owner)
    in_sprint = await factory.item("WEB", owner)
    await factory.sprint("WEB", owner, items=[in_sprint])
    await factory.item("WEB", owner, type="epic")
    also = await factory.item("WEB", owner)
    later = await factory.item("WEB", owner)
    assert estimated and later

    body = await ok(
        await client.post(SESSIONS, headers=member.headers, json={"first_unestimated": 2}), 201
    )
    assert states(body) == [(wanted, "current", 1), (also, "pending", None)]
    url = f"{SESSIONS}/{body['id']}"
    await ok(await client.post(f"{url}/next", headers=member.headers, json={"skip": True}))
    last = await ok(await client.post(f"{url}/next", headers=member.headers, json={"skip": True}))
    assert last["state"] == "closed" and last["current"] is None
    assert last["progress"] == {"total": 2, "estimated": 0, "skipped": 2, "remaining": 0}


async def test_bad_session_requests_are_refused_and_write_nothing(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, viewer, _ = await factory.team()
    number = await factory.item("WEB", owner, points=5)
    cases: list[tuple[Any, int, str | None]] = [
        ({}, 422, "body"),
        ({"items": [number], "first_unestimated": 1}, 422, "body"),
        ({"items": []}, 422, "body.items"),
        ({"items": [number, number]}, 422, "body.items.1"),
        ({"items": [number, 999]}, 422, "body.items.1"),
        ({"items": [0]}, 422, "body.items.0"),
        ({"items": ["1"]}, 422, "body.items.0"),
        ({"items": list(range(1, 102))}, 422, "body.items"),
        ({"first_unestimated": 0}, 422, "body.first_unestimated"),
        ({"first_unestimated": 101}, 422, "body.first_unestimated"),
        # The only item is estimated: nothing to walk.
        ({"first_unestimated": 5}, 409, None),
    ]
    for payload, status, field in cases:
        response = await client.post(SESSIONS, headers=member.headers, json=payload)
        assert_problem(response, status, field)
    assert_problem(
        await client.post(SESSIONS, headers=viewer.headers, json={"items": [number]}), 403
    )
    assert await db_rows(database, "SELECT id FROM estimation_sessions") == []
    assert await db_rows(database, "SELECT id FROM estimation_rounds") == []
    assert_problem(await client.get(f"{SESSIONS}/12345", headers=viewer.headers), 404)
