"""Vote settings changed after a move back to an earlier phase must still hold the votes cast."""

from typing import Any

import httpx

from tests.factories import Actor, Factory

BASE = "/api/v1/projects/WEB"


async def _move(client: httpx.AsyncClient, actor: Actor, number: int, phase: str) -> dict[str, Any]:
    response = await client.post(
        f"{BASE}/retros/{number}/phase", headers=actor.headers, json={"phase": phase}
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_the_budget_cannot_drop_below_the_votes_a_member_holds(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await factory.retro("WEB", team.owner, vote_budget=5)
    card = await factory.retro_card("WEB", team.member, number, "Pair more")
    await _move(client, team.owner, number, "grouping")
    await _move(client, team.owner, number, "voting")
    for _ in range(5):
        cast = await client.post(
            f"{BASE}/retros/{number}/votes", headers=team.member.headers, json={"card_id": card}
        )
        assert cast.status_code == 201, cast.text
    # Back to grouping (allowed until closed), where vote settings may change again.
    await _move(client, team.owner, number, "grouping")
    lowered = await client.patch(
        f"{BASE}/retros/{number}", headers=team.owner.headers, json={"vote_budget": 1}
    )
    board = (await client.get(f"{BASE}/retros/{number}", headers=team.member.headers)).json()
    # The member holds 5 votes: a budget of 1 would be exceeded, so nothing changes.
    assert lowered.status_code == 409, (lowered.status_code, board["votes_remaining"])
    assert (board["vote_budget"], board["votes_remaining"]) == (5, 0)
    raised = await client.patch(
        f"{BASE}/retros/{number}", headers=team.owner.headers, json={"vote_budget": 6}
    )
    assert raised.status_code == 200, raised.text


async def test_the_per_card_maximum_cannot_drop_below_the_votes_on_one_card(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await factory.retro("WEB", team.owner, vote_budget=5, max_votes_per_card=3)
    card = await factory.retro_card("WEB", team.member, number, "Pair more")
    await _move(client, team.owner, number, "grouping")
    await _move(client, team.owner, number, "voting")
    for _ in range(3):
        cast = await client.post(
            f"{BASE}/retros/{number}/votes", headers=team.member.headers, json={"card_id": card}
        )
        assert cast.status_code == 201, cast.text
    await _move(client, team.owner, number, "grouping")
    lowered = await client.patch(
        f"{BASE}/retros/{number}", headers=team.owner.headers, json={"max_votes_per_card": 1}
    )
    # The member holds 3 votes on one card: a maximum of 1 would be exceeded.
    assert lowered.status_code == 409, lowered.text
    board = (await client.get(f"{BASE}/retros/{number}", headers=team.member.headers)).json()
    assert board["max_votes_per_card"] == 3
    same = await client.patch(
        f"{BASE}/retros/{number}", headers=team.owner.headers, json={"max_votes_per_card": 3}
    )
    assert same.status_code == 200, same.text
