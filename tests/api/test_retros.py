"""Retrospectives over HTTP: creation, phases, cards, groups, votes, visibility and export."""

import asyncio
from typing import Any

import httpx
import pytest

from app.domain.retros import repository as retros_repository
from tests.factories import Actor, Factory, Team
from tests.helpers import assert_problem, rendezvous, status_ids

BASE = "/api/v1/projects/WEB"
PHASES = ["collecting", "grouping", "voting", "discussing", "closed"]


async def _team_with_sprint(factory: Factory, *, start: bool = True) -> tuple[Team, int]:
    team = await factory.team()
    first = await factory.item("WEB", team.owner, points=3)
    second = await factory.item("WEB", team.owner, points=5)
    sprint = await factory.sprint("WEB", team.owner, items=[first, second], start=start)
    return team, sprint


async def _retro(client: httpx.AsyncClient, actor: Actor, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{BASE}/retros", headers=actor.headers, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def _move(client: httpx.AsyncClient, actor: Actor, number: int, phase: str) -> dict[str, Any]:
    response = await client.post(
        f"{BASE}/retros/{number}/phase", headers=actor.headers, json={"phase": phase}
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def _walk_to(client: httpx.AsyncClient, actor: Actor, number: int, phase: str) -> None:
    for step in PHASES[1 : PHASES.index(phase) + 1]:
        await _move(client, actor, number, step)


async def _card(
    client: httpx.AsyncClient, actor: Actor, number: int, text: str, column: str = "Start"
) -> int:
    response = await client.post(
        f"{BASE}/retros/{number}/cards",
        headers=actor.headers,
        json={"column": column, "text": text},
    )
    assert response.status_code == 201, response.text
    card_id: int = response.json()["id"]
    return card_id


async def _board(client: httpx.AsyncClient, actor: Actor, number: int) -> dict[str, Any]:
    response = await client.get(f"{BASE}/retros/{number}", headers=actor.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _texts(board: dict[str, Any]) -> dict[str, list[str]]:
    return {column["name"]: [card["text"] for card in column["cards"]] for column in board["board"]}


async def _vote(
    client: httpx.AsyncClient, actor: Actor, number: int, **target: int
) -> httpx.Response:
    return await client.post(f"{BASE}/retros/{number}/votes", headers=actor.headers, json=target)


# --- creation ---------------------------------------------------------------------------------


async def test_a_sprint_retro_opens_with_the_sprint_headline(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team, sprint = await _team_with_sprint(factory)
    response = await client.post(
        f"{BASE}/sprints/{sprint}/retro", headers=team.member.headers, json={}
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/api/v1/projects/WEB/retros/1"
    board = response.json()
    assert board["number"] == 1
    assert board["title"] == f"Sprint {sprint} retrospective"
    assert board["sprint"] == sprint
    assert board["format"] == "start_stop_continue"
    assert board["columns"] == ["Start", "Stop", "Continue"]
    assert board["phase"] == "collecting"
    assert (board["vote_budget"], board["max_votes_per_card"], board["anonymous"]) == (
        5,
        None,
        False,
    )
    assert board["facilitator"]["id"] == team.member.id
    assert board["votes_remaining"] == 5
    assert board["tallies_visible"] is False
    headline = board["context"]["sprint"]
    # Committed at start: the two items of 3 and 5 points; nothing done yet.
    assert headline["committed"] == {"count": 2, "points": 8.0}
    assert headline["completed"] == {"count": 0, "points": 0.0}
    assert headline["say_do"] == 0.0
    assert headline["scope_added"] == {"count": 0, "points": 0.0}
    assert headline["state"] == "active"
    assert headline["frozen"] is False
    assert board["context"]["open_actions"] == []
    assert board["actions"] == []
    alias = await client.get(f"{BASE}/sprints/{sprint}/retro", headers=team.viewer.headers)
    assert alias.status_code == 200
    assert alias.json()["number"] == 1
    assert alias.json()["votes_remaining"] is None  # viewers never vote


async def test_a_completed_sprint_retro_reads_the_frozen_report(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team, sprint = await _team_with_sprint(factory)
    workflow = await status_ids(client, team.owner)
    done = await client.patch(
        f"{BASE}/items/1", headers=team.owner.headers, json={"status_id": workflow["Done"]}
    )
    assert done.status_code == 200, done.text
    completed = await client.post(
        f"{BASE}/sprints/{sprint}/complete",
        headers=team.owner.headers,
        json={"goal_outcome": "partially_met"},
    )
    assert completed.status_code == 200, completed.text
    response = await client.post(
        f"{BASE}/sprints/{sprint}/retro", headers=team.owner.headers, json={}
    )
    assert response.status_code == 201, response.text
    headline = response.json()["context"]["sprint"]
    # Item 1 (3 points) done out of 8 committed: say/do 3/8.
    assert headline["completed"] == {"count": 1, "points": 3.0}
    assert headline["say_do"] == pytest.approx(0.375)
    assert headline["goal_outcome"] == "partially_met"
    assert headline["frozen"] is True


async def test_one_retro_per_started_sprint(client: httpx.AsyncClient, factory: Factory) -> None:
    team, sprint = await _team_with_sprint(factory, start=False)
    planned = await client.post(
        f"{BASE}/sprints/{sprint}/retro", headers=team.owner.headers, json={}
    )
    assert_problem(planned, 409)
    await factory.start_sprint("WEB", team.owner, sprint)
    first = await client.post(f"{BASE}/sprints/{sprint}/retro", headers=team.owner.headers, json={})
    assert first.status_code == 201
    second = await client.post(
        f"{BASE}/sprints/{sprint}/retro", headers=team.owner.headers, json={}
    )
    assert_problem(second, 409)
    missing = await client.post(f"{BASE}/sprints/99/retro", headers=team.owner.headers, json={})
    assert_problem(missing, 404)
    viewer = await client.post(
        f"{BASE}/sprints/{sprint}/retro", headers=team.viewer.headers, json={}
    )
    assert_problem(viewer, 403)
    listed = await client.get(f"{BASE}/retros", headers=team.viewer.headers)
    assert [retro["number"] for retro in listed.json()["data"]] == [1]


async def test_racing_creations_for_one_sprint_give_one_retro(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    team, sprint = await _team_with_sprint(factory)
    # Both pass the "no retro yet" check before either inserts: the unique index decides.
    rendezvous(monkeypatch, retros_repository, "retro_number_for_sprint")
    url = f"{BASE}/sprints/{sprint}/retro"
    answers = await asyncio.gather(
        client.post(url, headers=team.owner.headers, json={}),
        client.post(url, headers=team.member.headers, json={}),
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409)
    listed = await client.get(f"{BASE}/retros", headers=team.owner.headers)
    assert len(listed.json()["data"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "custom"}, "body.columns"),
        ({"format": "custom", "columns": []}, "body.columns"),
        ({"format": "custom", "columns": ["A", "B", "C", "D", "E", "F", "G"]}, "body.columns"),
        ({"format": "custom", "columns": ["Keep", "keep"]}, "body.columns.1"),
        ({"format": "custom", "columns": ["  "]}, "body.columns.0"),
        ({"format": "custom", "columns": ["x" * 61]}, "body.columns.0"),
        ({"format": "mad_sad_glad", "columns": ["A"]}, "body.columns"),
        ({"format": "weekly"}, "body.format"),
        ({"vote_budget": 0}, "body.vote_budget"),
        ({"vote_budget": 101}, "body.vote_budget"),
        ({"vote_budget": "5"}, "body.vote_budget"),
        ({"vote_budget": 3, "max_votes_per_card": 4}, "body.max_votes_per_card"),
        ({"anonymous": "yes"}, "body.anonymous"),
        ({"title": "t" * 121}, "body.title"),
        ({"colour": "red"}, "body.colour"),
    ],
)
async def test_bad_retro_settings_are_refused(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    team = await factory.team()
    response = await client.post(f"{BASE}/retros", headers=team.member.headers, json=body)
    assert_problem(response, 422, field)
    listed = await client.get(f"{BASE}/retros", headers=team.member.headers)
    assert listed.json()["data"] == []


async def test_a_custom_project_retro(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await factory.team()
    board = await _retro(
        client,
        team.owner,
        title="Release 2.0 post-mortem",
        format="custom",
        columns=["Surprised us", "Try next"],
        vote_budget=3,
        max_votes_per_card=2,
    )
    assert board["sprint"] is None
    assert board["context"]["sprint"] is None
    assert [column["name"] for column in board["board"]] == ["Surprised us", "Try next"]
    assert (board["vote_budget"], board["max_votes_per_card"]) == (3, 2)


async def test_listing_retros_by_page_and_phase(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    for _ in range(3):
        await _retro(client, team.owner)
    await _move(client, team.owner, 2, "grouping")
    first = await client.get(f"{BASE}/retros", headers=team.viewer.headers, params={"limit": 2})
    assert [retro["number"] for retro in first.json()["data"]] == [1, 2]
    cursor = first.json()["next_cursor"]
    rest = await client.get(
        f"{BASE}/retros", headers=team.viewer.headers, params={"limit": 2, "cursor": cursor}
    )
    assert [retro["number"] for retro in rest.json()["data"]] == [3]
    grouping = await client.get(
        f"{BASE}/retros", headers=team.viewer.headers, params={"phase": "grouping"}
    )
    assert [retro["number"] for retro in grouping.json()["data"]] == [2]
    bad = await client.get(f"{BASE}/retros", headers=team.viewer.headers, params={"phase": "x"})
    assert_problem(bad, 422, "query.phase")


# --- phases -----------------------------------------------------------------------------------


async def test_phases_move_one_step_by_the_facilitator_or_an_owner(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    other = await factory.user()
    from app.domain.projects.models import Role

    await factory.member("WEB", team.owner, other, Role.MEMBER)
    await _retro(client, team.member)
    url = f"{BASE}/retros/1/phase"
    not_facilitator = await client.post(url, headers=other.headers, json={"phase": "grouping"})
    assert_problem(not_facilitator, 403)
    viewer = await client.post(url, headers=team.viewer.headers, json={"phase": "grouping"})
    assert_problem(viewer, 403)
    skip = await client.post(url, headers=team.member.headers, json={"phase": "voting"})
    assert_problem(skip, 409)
    same = await client.post(url, headers=team.member.headers, json={"phase": "collecting"})
    assert_problem(same, 409)
    unknown = await client.post(url, headers=team.member.headers, json={"phase": "done"})
    assert_problem(unknown, 422, "body.phase")
    stale = await client.post(
        url, headers={**team.member.headers, "If-Match": '"7"'}, json={"phase": "grouping"}
    )
    assert_problem(stale, 412)
    moved = await _move(client, team.member, 1, "grouping")
    assert (moved["phase"], moved["version"]) == ("grouping", 2)
    back = await _move(client, team.owner, 1, "collecting")  # an owner may too
    assert back["phase"] == "collecting"
    await _walk_to(client, team.owner, 1, "closed")
    closed = await _board(client, team.viewer, 1)
    assert closed["phase"] == "closed"
    assert closed["closed_at"] is not None
    reopen = await client.post(url, headers=team.owner.headers, json={"phase": "discussing"})
    assert_problem(reopen, 409)


async def test_a_closed_retro_is_read_only(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await factory.team()
    await _retro(client, team.owner)
    card = await _card(client, team.member, 1, "Keep pairing")
    await _walk_to(client, team.owner, 1, "closed")
    before = await _board(client, team.owner, 1)
    writes = [
        ("POST", f"{BASE}/retros/1/cards", {"column": "Start", "text": "late"}, team.member),
        ("PATCH", f"{BASE}/retros/1/cards/{card}", {"text": "edited"}, team.member),
        ("DELETE", f"{BASE}/retros/1/cards/{card}", None, team.member),
        ("POST", f"{BASE}/retros/1/groups", {"name": "G", "card_ids": [card]}, team.member),
        ("POST", f"{BASE}/retros/1/votes", {"card_id": card}, team.member),
        ("PATCH", f"{BASE}/retros/1", {"notes": "more"}, team.owner),
        ("POST", f"{BASE}/retros/1/phase", {"phase": "discussing"}, team.owner),
    ]
    for method, url, body, actor in writes:
        response = await client.request(method, url, headers=actor.headers, json=body)
        assert_problem(response, 409)
    assert await _board(client, team.owner, 1) == before


# --- cards and visibility ---------------------------------------------------------------------


async def test_while_collecting_each_member_reads_only_their_own_cards(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await _retro(client, team.owner)
    await _card(client, team.member, 1, "Member starts")
    await _card(client, team.member, 1, "Member stops", "Stop")
    await _card(client, team.owner, 1, "Owner starts")
    member = await _board(client, team.member, 1)
    assert _texts(member) == {"Start": ["Member starts"], "Stop": ["Member stops"], "Continue": []}
    assert [column["card_count"] for column in member["board"]] == [2, 1, 0]
    assert all(card["mine"] for column in member["board"] for card in column["cards"])
    owner = await _board(client, team.owner, 1)
    assert _texts(owner) == {"Start": ["Owner starts"], "Stop": [], "Continue": []}
    viewer = await _board(client, team.viewer, 1)
    assert _texts(viewer) == {"Start": [], "Stop": [], "Continue": []}
    assert [column["card_count"] for column in viewer["board"]] == [2, 1, 0]
    await _move(client, team.owner, 1, "grouping")
    viewer = await _board(client, team.viewer, 1)
    assert _texts(viewer) == {
        "Start": ["Member starts", "Owner starts"],
        "Stop": ["Member stops"],
        "Continue": [],
    }
    start = viewer["board"][0]["cards"]
    # Not anonymous: cards name their authors; none is the viewer's.
    assert [card["author"]["id"] for card in start] == [team.member.id, team.owner.id]
    assert not any(card["mine"] for card in start)
    assert all(card["votes"] is None for card in start)


async def test_the_export_respects_collecting_visibility(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await _retro(client, team.owner)
    await _card(client, team.member, 1, "Member secret")
    await _card(client, team.owner, 1, "Owner note")
    response = await client.get(f"{BASE}/retros/1/export", headers=team.owner.headers)
    assert response.status_code == 200
    assert "Owner note" in response.text
    assert "Member secret" not in response.text
    assert "1 more" in response.text
    as_json = await client.get(
        f"{BASE}/retros/1/export", headers=team.viewer.headers, params={"format": "json"}
    )
    assert as_json.json()["columns"][0] == {"name": "Start", "card_count": 2, "cards": []}


async def test_cards_are_changed_by_their_authors_while_collecting(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await _retro(client, team.owner)
    card = await _card(client, team.member, 1, "Typo")
    url = f"{BASE}/retros/1/cards/{card}"
    others = await client.patch(url, headers=team.owner.headers, json={"text": "Hijacked"})
    body = assert_problem(others, 403)
    assert "member" not in body["detail"].lower() or "author" in body["detail"].lower()
    deleting = await client.delete(url, headers=team.owner.headers)
    assert_problem(deleting, 403)
    viewer = await client.patch(url, headers=team.viewer.headers, json={"text": "x"})
    assert_problem(viewer, 403)
    stale = await client.patch(
        url, headers={**team.member.headers, "If-Match": '"5"'}, json={"text": "Fixed"}
    )
    assert_problem(stale, 412)
    wrong_column = await client.patch(url, headers=team.member.headers, json={"column": "Later"})
    assert_problem(wrong_column, 422, "body.column")
    too_long = await client.patch(url, headers=team.member.headers, json={"text": "x" * 2001})
    assert_problem(too_long, 422, "body.text")
    edited = await client.patch(
        url, headers=team.member.headers, json={"text": "Fixed", "column": "Stop"}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["text"], edited.json()["column"], edited.json()["version"]) == (
        "Fixed",
        "Stop",
        2,
    )
    assert _texts(await _board(client, team.member, 1))["Stop"] == ["Fixed"]
    missing = await client.patch(
        f"{BASE}/retros/1/cards/999", headers=team.member.headers, json={"text": "x"}
    )
    assert_problem(missing, 404)
    await _move(client, team.owner, 1, "grouping")
    late = await client.patch(url, headers=team.member.headers, json={"text": "Later"})
    assert_problem(late, 409)
    late_add = await client.post(
        f"{BASE}/retros/1/cards", headers=team.member.headers, json={"column": "Start", "text": "x"}
    )
    assert_problem(late_add, 409)
    await _move(client, team.owner, 1, "collecting")
    deleted = await client.delete(url, headers=team.member.headers)
    assert deleted.status_code == 204
    assert _texts(await _board(client, team.member, 1))["Stop"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"column": "Later", "text": "x"}, "body.column"),
        ({"column": "Start", "text": ""}, "body.text"),
        ({"column": "Start", "text": "   "}, "body.text"),
        ({"column": "Start", "text": "x" * 2001}, "body.text"),
        ({"column": "Start"}, "body.text"),
        ({"column": "Start", "text": 5}, "body.text"),
    ],
)
async def test_bad_cards_are_refused(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    team = await factory.team()
    await _retro(client, team.owner)
    response = await client.post(f"{BASE}/retros/1/cards", headers=team.member.headers, json=body)
    assert_problem(response, 422, field)
    assert [column["card_count"] for column in (await _board(client, team.owner, 1))["board"]] == [
        0,
        0,
        0,
    ]


async def test_cards_per_member_are_capped(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.domain.retros import service

    monkeypatch.setattr(service, "MAX_CARDS_PER_MEMBER", 2)
    team = await factory.team()
    await _retro(client, team.owner)
    await _card(client, team.member, 1, "one")
    await _card(client, team.member, 1, "two")
    third = await client.post(
        f"{BASE}/retros/1/cards", headers=team.member.headers, json={"column": "Start", "text": "3"}
    )
    assert_problem(third, 409)
    await _card(client, team.owner, 1, "the owner's own")  # a cap per member


# --- groups -----------------------------------------------------------------------------------


async def test_grouping_cards(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await factory.team()
    await _retro(client, team.owner)
    a = await _card(client, team.member, 1, "Reviews slow")
    b = await _card(client, team.owner, 1, "Reviews late")
    c = await _card(client, team.owner, 1, "CI flaky", "Stop")
    early = await client.post(
        f"{BASE}/retros/1/groups", headers=team.member.headers, json={"name": "R", "card_ids": [a]}
    )
    assert_problem(early, 409)
    await _move(client, team.owner, 1, "grouping")
    url = f"{BASE}/retros/1/groups"
    unknown = await client.post(
        url, headers=team.member.headers, json={"name": "R", "card_ids": [a, 999]}
    )
    assert_problem(unknown, 422, "body.card_ids.1")
    twice = await client.post(
        url, headers=team.member.headers, json={"name": "R", "card_ids": [a, a]}
    )
    assert_problem(twice, 422, "body.card_ids.1")
    blank = await client.post(url, headers=team.member.headers, json={"name": " ", "card_ids": []})
    assert_problem(blank, 422, "body.name")
    viewer = await client.post(url, headers=team.viewer.headers, json={"name": "R", "card_ids": []})
    assert_problem(viewer, 403)
    assert (await _board(client, team.owner, 1))["groups"] == []
    created = await client.post(
        url, headers=team.member.headers, json={"name": "Reviews", "card_ids": [b, a]}
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert (group["name"], group["card_ids"], group["votes"]) == ("Reviews", [a, b], None)
    other = await client.post(
        url, headers=team.owner.headers, json={"name": "CI", "card_ids": [c, b]}
    )
    assert other.status_code == 201
    board = await _board(client, team.viewer, 1)
    assert [(g["name"], g["card_ids"]) for g in board["groups"]] == [
        ("Reviews", [a]),
        ("CI", [b, c]),
    ]
    start = {card["id"]: card["group_id"] for card in board["board"][0]["cards"]}
    assert start == {a: group["id"], b: other.json()["id"]}
    renamed = await client.patch(
        f"{url}/{group['id']}", headers=team.owner.headers, json={"name": "Code review"}
    )
    assert (renamed.json()["name"], renamed.json()["version"]) == ("Code review", 2)
    regrouped = await client.patch(
        f"{url}/{group['id']}", headers=team.owner.headers, json={"card_ids": [a, b]}
    )
    assert (regrouped.json()["card_ids"], regrouped.json()["version"]) == ([a, b], 3)
    stale = await client.patch(
        f"{url}/{group['id']}",
        headers={**team.owner.headers, "If-Match": '"1"'},
        json={"name": "X"},
    )
    assert_problem(stale, 412)
    null = await client.patch(
        f"{url}/{group['id']}", headers=team.owner.headers, json={"name": None}
    )
    assert_problem(null, 422, "body.name")
    deleted = await client.delete(f"{url}/{group['id']}", headers=team.member.headers)
    assert deleted.status_code == 204
    board = await _board(client, team.viewer, 1)
    assert [g["name"] for g in board["groups"]] == ["CI"]
    assert {card["id"]: card["group_id"] for card in board["board"][0]["cards"]} == {
        a: None,
        b: None,
    }
    missing = await client.delete(f"{url}/{group['id']}", headers=team.member.headers)
    assert_problem(missing, 404)


# --- votes ------------------------------------------------------------------------------------


async def test_votes_within_the_budget_and_the_maximum_per_card(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await _retro(client, team.owner, vote_budget=3, max_votes_per_card=2)
    a = await _card(client, team.member, 1, "A")
    b = await _card(client, team.owner, 1, "B")
    c = await _card(client, team.owner, 1, "C")
    early = await _vote(client, team.member, 1, card_id=a)
    assert_problem(early, 409)
    await _move(client, team.owner, 1, "grouping")
    grouped = await client.post(
        f"{BASE}/retros/1/groups", headers=team.owner.headers, json={"name": "G", "card_ids": [c]}
    )
    group = grouped.json()["id"]
    await _move(client, team.owner, 1, "voting")
    first = await _vote(client, team.member, 1, card_id=a)
    assert first.status_code == 201, first.text
    assert first.json()["votes_remaining"] == 2
    assert first.json()["vote"]["card_id"] == a
    assert first.headers["Location"].endswith(f"/retros/1/votes/{first.json()['vote']['id']}")
    second = await _vote(client, team.member, 1, card_id=a)
    assert second.json()["votes_remaining"] == 1
    over_card = await _vote(client, team.member, 1, card_id=a)
    assert_problem(over_card, 409)
    in_group = await _vote(client, team.member, 1, card_id=c)
    assert_problem(in_group, 422, "body.card_id")
    both = await _vote(client, team.member, 1, card_id=b, group_id=group)
    assert_problem(both, 422)
    neither = await _vote(client, team.member, 1)
    assert_problem(neither, 422)
    unknown = await _vote(client, team.member, 1, card_id=999)
    assert_problem(unknown, 422, "body.card_id")
    unknown_group = await _vote(client, team.member, 1, group_id=999)
    assert_problem(unknown_group, 422, "body.group_id")
    as_text = await client.post(
        f"{BASE}/retros/1/votes", headers=team.member.headers, json={"card_id": str(b)}
    )
    assert_problem(as_text, 422, "body.card_id")
    viewer = await _vote(client, team.viewer, 1, card_id=b)
    assert_problem(viewer, 403)
    third = await _vote(client, team.member, 1, group_id=group)
    assert third.json()["votes_remaining"] == 0
    over_budget = await _vote(client, team.member, 1, card_id=b)
    assert_problem(over_budget, 409)
    board = await _board(client, team.member, 1)
    assert board["votes_remaining"] == 0
    assert len(board["my_votes"]) == 3
    assert all(card["votes"] is None for column in board["board"] for card in column["cards"])
    assert board["groups"][0]["votes"] is None
    # Other members' votes are their own business.
    owner_board = await _board(client, team.owner, 1)
    assert (owner_board["my_votes"], owner_board["votes_remaining"]) == ([], 3)
    others = await client.delete(
        f"{BASE}/retros/1/votes/{first.json()['vote']['id']}", headers=team.owner.headers
    )
    assert_problem(others, 404)
    retracted = await client.delete(
        f"{BASE}/retros/1/votes/{first.json()['vote']['id']}", headers=team.member.headers
    )
    assert retracted.status_code == 204
    assert (await _board(client, team.member, 1))["votes_remaining"] == 1
    await _vote(client, team.owner, 1, card_id=c and b)
    await _vote(client, team.owner, 1, group_id=group)
    await _move(client, team.owner, 1, "discussing")
    late = await _vote(client, team.member, 1, card_id=b)
    assert_problem(late, 409)
    late_retract = await client.delete(
        f"{BASE}/retros/1/votes/{second.json()['vote']['id']}", headers=team.member.headers
    )
    assert_problem(late_retract, 409)
    board = await _board(client, team.viewer, 1)
    assert board["tallies_visible"] is True
    # Card A: the member's 2 votes less the one retracted; B: the owner's one; group G: one
    # vote each from the member and the owner.
    votes = {card["text"]: card["votes"] for card in board["board"][0]["cards"]}
    assert votes == {"A": 1, "B": 1, "C": 0}
    assert board["groups"][0]["votes"] == 2


async def test_vote_settings_change_only_before_voting(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    board = await _retro(client, team.member)
    url = f"{BASE}/retros/1"
    to_viewer = await client.patch(
        url, headers=team.member.headers, json={"facilitator_id": team.viewer.id}
    )
    assert_problem(to_viewer, 422, "body.facilitator_id")
    to_outsider = await client.patch(
        url, headers=team.member.headers, json={"facilitator_id": team.outsider.id}
    )
    assert_problem(to_outsider, 422, "body.facilitator_id")
    not_facilitator = await client.patch(url, headers=team.viewer.headers, json={"notes": "x"})
    assert_problem(not_facilitator, 403)
    too_many = await client.patch(url, headers=team.member.headers, json={"max_votes_per_card": 6})
    assert_problem(too_many, 422, "body.max_votes_per_card")
    null_budget = await client.patch(url, headers=team.member.headers, json={"vote_budget": None})
    assert_problem(null_budget, 422, "body.vote_budget")
    changed = await client.patch(
        url,
        headers={**team.member.headers, "If-Match": f'"{board["version"]}"'},
        json={"vote_budget": 3, "max_votes_per_card": 1, "notes": "45 minutes"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["vote_budget"], changed.json()["max_votes_per_card"]) == (3, 1)
    assert changed.json()["version"] == 2
    stale = await client.patch(
        url, headers={**team.member.headers, "If-Match": '"1"'}, json={"notes": "x"}
    )
    assert_problem(stale, 412)
    handed = await client.patch(
        url, headers=team.member.headers, json={"facilitator_id": team.owner.id}
    )
    assert handed.json()["facilitator"]["id"] == team.owner.id
    gone = await client.patch(url, headers=team.member.headers, json={"notes": "mine again"})
    assert_problem(gone, 403)  # the member handed it over
    await _walk_to(client, team.owner, 1, "voting")
    late = await client.patch(url, headers=team.owner.headers, json={"vote_budget": 5})
    assert_problem(late, 409)
    unchanged = await client.patch(
        url, headers=team.owner.headers, json={"vote_budget": 3, "title": "Renamed"}
    )
    assert unchanged.status_code == 200
    assert (await _board(client, team.owner, 1))["vote_budget"] == 3


# --- export -----------------------------------------------------------------------------------


async def test_the_markdown_export_ranks_groups_and_lists_actions(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team, sprint = await _team_with_sprint(factory)
    created = await client.post(
        f"{BASE}/sprints/{sprint}/retro", headers=team.owner.headers, json={"vote_budget": 5}
    )
    assert created.status_code == 201
    a = await _card(client, team.member, 1, "Reviews took days")
    b = await _card(client, team.owner, 1, "Demo went well", "Continue")
    c = await _card(client, team.owner, 1, "Standups ran long", "Stop")
    await _move(client, team.owner, 1, "grouping")
    groups = f"{BASE}/retros/1/groups"
    review = await client.post(
        groups, headers=team.owner.headers, json={"name": "Reviews", "card_ids": [a]}
    )
    meetings = await client.post(
        groups, headers=team.owner.headers, json={"name": "Meetings", "card_ids": [c]}
    )
    await _move(client, team.owner, 1, "voting")
    for _ in range(2):
        await _vote(client, team.member, 1, group_id=meetings.json()["id"])
    await _vote(client, team.owner, 1, group_id=review.json()["id"])
    await _vote(client, team.owner, 1, card_id=b)
    await _move(client, team.owner, 1, "discussing")
    action = await client.post(
        f"{BASE}/retros/1/actions",
        headers=team.owner.headers,
        json={
            "title": "Timebox standups to 15 minutes",
            "owner_id": team.member.id,
            "due_date": "2031-01-31",
        },
    )
    assert action.status_code == 201, action.text
    response = await client.get(
        f"{BASE}/sprints/{sprint}/retro/export", headers=team.viewer.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    text = response.text
    assert text.startswith(f"# Sprint {sprint} retrospective\n")
    assert "- Committed: 8 points (2 items); completed: 0 points (0 items)" in text
    assert "### Start (1)\n\n- Reviews took days — " in text
    # Meetings (2 votes) rank above Reviews (1).
    assert text.index("1. **Meetings** — 2 votes") < text.index("2. **Reviews** — 1 votes")
    assert "- Demo went well — " in text and "(1 votes)" in text
    member_name = (await _board(client, team.owner, 1))["board"][0]["cards"][0]["author"][
        "display_name"
    ]
    assert f"- [ ] #1 Timebox standups to 15 minutes — owner: {member_name}, due 2031-01-31" in text
    as_json = await client.get(
        f"{BASE}/retros/1/export", headers=team.viewer.headers, params={"format": "json"}
    )
    body = as_json.json()
    assert [(g["name"], g["votes"], g["cards"]) for g in body["groups"]] == [
        ("Meetings", 2, ["Standups ran long"]),
        ("Reviews", 1, ["Reviews took days"]),
    ]
    assert body["actions"][0]["title"] == "Timebox standups to 15 minutes"
    assert body["context"]["sprint"]["committed"] == {"count": 2, "points": 8.0}
    bad = await client.get(
        f"{BASE}/retros/1/export", headers=team.viewer.headers, params={"format": "pdf"}
    )
    assert_problem(bad, 422, "query.format")
    none = await client.get(f"{BASE}/sprints/99/retro/export", headers=team.viewer.headers)
    assert_problem(none, 404)
