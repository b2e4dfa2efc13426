"""Blockers raised by hand: raise, read, clear once, the open cap, the board's flag and its
validator — on real PostgreSQL."""

import httpx

from tests.factories import Factory
from tests.helpers import all_pages, assert_problem

PROJECTS = "/api/v1/projects"


async def test_raise_read_and_clear_a_blocker_flags_and_unflags_the_board(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await factory.item("WEB", team.owner)
    blockers = f"{PROJECTS}/WEB/items/{number}/blockers"
    before = await client.get(f"{PROJECTS}/WEB/board", headers=team.viewer.headers)
    raised = await client.post(
        blockers, headers=team.member.headers, json={"reason": "Waiting for keys"}
    )
    assert raised.status_code == 201, raised.text
    blocker = raised.json()
    assert raised.headers["location"] == f"/api/v1{blockers[len('/api/v1') :]}/{blocker['id']}"
    assert (blocker["item"], blocker["open"], blocker["raised_by"]) == (
        number,
        True,
        team.member.id,
    )
    assert (blocker["standup_entry_id"], blocker["cleared_at"]) == (None, None)

    stale = await client.get(
        f"{PROJECTS}/WEB/board",
        headers={**team.viewer.headers, "If-None-Match": before.headers["etag"]},
    )
    assert stale.status_code == 200
    card = stale.json()["columns"][0]["items"][0]
    assert card["blocked"] is True
    assert [b["id"] for b in card["blockers"]] == [blocker["id"]]
    flagged_etag = stale.headers["etag"]

    cleared = await client.post(f"{blockers}/{blocker['id']}/clear", headers=team.owner.headers)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["open"], cleared.json()["cleared_by"]) == (False, team.owner.id)
    again = await client.post(f"{blockers}/{blocker['id']}/clear", headers=team.member.headers)
    assert_problem(again, 409)
    board = await client.get(
        f"{PROJECTS}/WEB/board", headers={**team.viewer.headers, "If-None-Match": flagged_etag}
    )
    assert board.status_code == 200
    assert board.json()["columns"][0]["items"][0]["blocked"] is False

    listed = await all_pages(client, team.viewer, blockers)
    assert [(b["id"], b["open"]) for b in listed] == [(blocker["id"], False)]
    assert await all_pages(client, team.viewer, blockers, open="true") == []
    assert_problem(
        await client.get(blockers, headers=team.viewer.headers, params={"open": "yes"}),
        422,
        "query.open",
    )


async def test_bad_blockers_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await factory.item("WEB", team.owner)
    blockers = f"{PROJECTS}/WEB/items/{number}/blockers"
    for body, field in (
        ({"reason": "   "}, "body.reason"),
        ({"reason": "x" * 501}, "body.reason"),
        ({}, "body.reason"),
        ({"reason": 5}, "body.reason"),
    ):
        assert_problem(
            await client.post(blockers, headers=team.member.headers, json=body), 422, field
        )
    assert_problem(
        await client.post(
            f"{PROJECTS}/WEB/items/999/blockers", headers=team.member.headers, json={"reason": "x"}
        ),
        404,
    )
    assert_problem(await client.post(f"{blockers}/12345/clear", headers=team.member.headers), 404)
    assert_problem(
        await client.post(blockers, headers=team.viewer.headers, json={"reason": "x"}), 403
    )
    assert await all_pages(client, team.owner, blockers) == []


async def test_an_item_carries_at_most_twenty_open_blockers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await factory.item("WEB", team.owner)
    blockers = f"{PROJECTS}/WEB/items/{number}/blockers"
    ids = [await factory.blocker("WEB", team.member, number, f"Reason {n}") for n in range(20)]
    over = await client.post(blockers, headers=team.member.headers, json={"reason": "One more"})
    assert_problem(over, 409)
    assert len(await all_pages(client, team.owner, blockers)) == 20
    cleared = await client.post(f"{blockers}/{ids[0]}/clear", headers=team.member.headers)
    assert cleared.status_code == 200
    room = await client.post(blockers, headers=team.member.headers, json={"reason": "One more"})
    assert room.status_code == 201
    # Newest first.
    listed = await all_pages(client, team.owner, blockers, open="true")
    assert [b["reason"] for b in listed][:2] == ["One more", "Reason 19"]
    assert len(listed) == 20
