"""Stand-ups: one entry per member and working day of the active sprint, posted on the day;
the team's day with who is missing; blocked items flagged on the board until no entry names
them — on real PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

import httpx
from time_machine import TimeMachineFixture

from tests.factories import Factory, Team
from tests.helpers import all_pages, assert_problem

PROJECTS = "/api/v1/projects"
STANDUPS = f"{PROJECTS}/WEB/standups"
# Sprint 1 runs Monday 3 to Friday 14 March 2025; the clock stands on Wednesday the 5th.
WEDNESDAY = "2025-03-05"
THURSDAY = "2025-03-06"


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def active_sprint(
    factory: Factory, time_machine: TimeMachineFixture, items: list[int] | None = None
) -> Team:
    """WEB with sprint 1 (3–14 March 2025) active, on Wednesday 5 March at 10:00 UTC."""
    freeze(time_machine, f"{WEDNESDAY}T10:00:00")
    team = await factory.team()
    await factory.sprint(
        "WEB", team.owner, items, start=True, start_date="2025-03-03", end_date="2025-03-14"
    )
    return team


def entry_url(day: str, user_id: int) -> str:
    return f"{STANDUPS}/{day}/{user_id}"


async def test_post_replace_and_read_the_team_day(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    team = await active_sprint(factory, time_machine)
    body = {"yesterday": "Card form", "today": "3-D Secure", "blockers": ""}
    posted = await client.put(
        entry_url(WEDNESDAY, team.member.id), headers=team.member.headers, json=body
    )
    assert posted.status_code == 201, posted.text
    assert (
        posted.headers["location"] == f"/api/v1/projects/WEB/standups/{WEDNESDAY}/{team.member.id}"
    )
    entry = posted.json()
    assert (entry["date"], entry["sprint"], entry["user"]["id"]) == (WEDNESDAY, 1, team.member.id)
    assert (entry["today"], entry["blocked_items"], entry["version"]) == ("3-D Secure", [], 1)

    day = (await client.get(STANDUPS, headers=team.viewer.headers)).json()
    assert (day["date"], day["sprint"], day["expected"]) == (WEDNESDAY, 1, True)
    assert [e["user"]["id"] for e in day["entries"]] == [team.member.id]
    # Owners and members are expected to post; the viewer is not.
    assert [user["id"] for user in day["missing"]] == [team.owner.id]

    stale = await client.put(
        entry_url(WEDNESDAY, team.member.id),
        headers={**team.member.headers, "If-Match": '"7"'},
        json={**body, "today": "Something else"},
    )
    assert_problem(stale, 412)
    replaced = await client.put(
        entry_url(WEDNESDAY, team.member.id),
        headers={**team.member.headers, "If-Match": '"1"'},
        json={**body, "today": "Mastercard"},
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["today"], replaced.json()["version"]) == ("Mastercard", 2)

    owner = await client.put(
        entry_url(WEDNESDAY, team.owner.id), headers=team.owner.headers, json={"today": "Plan"}
    )
    assert owner.status_code == 201, owner.text
    day = (await client.get(STANDUPS, headers=team.viewer.headers)).json()
    assert [e["user"]["id"] for e in day["entries"]] == [team.owner.id, team.member.id]
    assert day["missing"] == []
    read = await client.get(entry_url(WEDNESDAY, team.member.id), headers=team.viewer.headers)
    assert read.status_code == 200 and read.json()["today"] == "Mastercard"
    # A day outside the sprint has no entries due.
    weekend = (
        await client.get(STANDUPS, headers=team.viewer.headers, params={"date": "2025-03-08"})
    ).json()
    assert (weekend["sprint"], weekend["expected"], weekend["missing"]) == (None, False, [])


async def test_a_standup_for_another_member_is_forbidden_and_writes_nothing(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    team = await active_sprint(factory, time_machine)
    for author, subject in ((team.member, team.owner), (team.owner, team.member)):
        response = await client.put(
            entry_url(WEDNESDAY, subject.id), headers=author.headers, json={"today": "Theirs"}
        )
        body = assert_problem(response, 403)
        assert "another member" in body["detail"]
    viewer = await client.put(
        entry_url(WEDNESDAY, team.viewer.id), headers=team.viewer.headers, json={"today": "Me"}
    )
    assert_problem(viewer, 403)
    assert await all_pages(client, team.owner, f"{STANDUPS}/history") == []


async def test_days_that_take_no_standup_are_refused_naming_the_date(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    team = await active_sprint(factory, time_machine)
    cases = {
        "2025-03-08": "non_working_day",  # a Saturday, inside the sprint
        "2025-03-17": "out_of_range",  # a Monday after the sprint
        "2025-03-04": "not_today",  # yesterday: stand-ups are posted on their day
        "2025-03-07": "not_today",  # a working day to come
    }
    for day, code in cases.items():
        response = await client.put(
            entry_url(day, team.member.id), headers=team.member.headers, json={"today": "x"}
        )
        body = assert_problem(response, 422, "path.date")
        assert body["errors"][0]["type"] == code, (day, body)
    malformed = await client.put(
        entry_url("2025-02-30", team.member.id), headers=team.member.headers, json={"today": "x"}
    )
    assert_problem(malformed, 422, "path.date")
    assert await all_pages(client, team.owner, f"{STANDUPS}/history") == []


async def test_without_an_active_sprint_there_is_no_standup(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, f"{WEDNESDAY}T10:00:00")
    team = await factory.team()
    await factory.sprint("WEB", team.owner, start_date="2025-03-03", end_date="2025-03-14")
    response = await client.put(
        entry_url(WEDNESDAY, team.member.id), headers=team.member.headers, json={"today": "x"}
    )
    assert_problem(response, 409)
    day = (await client.get(STANDUPS, headers=team.viewer.headers)).json()
    assert (day["sprint"], day["expected"], day["entries"], day["missing"]) == (None, False, [], [])


async def test_bad_bodies_are_refused_naming_the_field_and_write_nothing(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    team = await active_sprint(factory, time_machine)
    number = await factory.item("WEB", team.owner)
    url = entry_url(WEDNESDAY, team.member.id)
    cases = [
        ({"today": "x", "blocked_items": [number, 99]}, "body.blocked_items.1"),
        ({"today": "x", "blocked_items": [number, number]}, "body.blocked_items.1"),
        ({"today": "x", "blocked_items": ["1"]}, "body.blocked_items.0"),
        ({"today": "x", "blocked_items": list(range(1, 22))}, "body.blocked_items"),
        ({"today": "x" * 2001}, "body.today"),
        ({"today": "x", "blockers": "x" * 2001}, "body.blockers"),
        ({"yesterday": "only"}, "body.today"),
        ({"today": "x", "mood": "great"}, "body.mood"),
    ]
    for body, field in cases:
        assert_problem(await client.put(url, headers=team.member.headers, json=body), 422, field)
    assert await all_pages(client, team.owner, f"{STANDUPS}/history") == []
    blockers = await client.get(
        f"{PROJECTS}/WEB/items/{number}/blockers", headers=team.owner.headers
    )
    assert blockers.json()["data"] == []


async def board_card(client: httpx.AsyncClient, team: Team, number: int) -> dict[str, Any]:
    board = await client.get(
        f"{PROJECTS}/WEB/board", headers=team.viewer.headers, params={"sprint": "active"}
    )
    assert board.status_code == 200, board.text
    cards = [item for column in board.json()["columns"] for item in column["items"]]
    return next(card for card in cards if card["number"] == number)


async def test_named_items_are_blocked_on_the_board_until_an_entry_no_longer_names_them(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, f"{WEDNESDAY}T10:00:00")
    team = await factory.team()
    first = await factory.item("WEB", team.owner)
    second = await factory.item("WEB", team.owner)
    await factory.sprint(
        "WEB",
        team.owner,
        [first, second],
        start=True,
        start_date="2025-03-03",
        end_date="2025-03-14",
    )
    before = await client.get(
        f"{PROJECTS}/WEB/board", headers=team.viewer.headers, params={"sprint": "active"}
    )
    posted = await client.put(
        entry_url(WEDNESDAY, team.member.id),
        headers=team.member.headers,
        json={"today": "x", "blockers": "No sandbox keys", "blocked_items": [first, second]},
    )
    assert posted.status_code == 201, posted.text
    entry_id = posted.json()["id"]
    # The board's validator moved: a cached copy from before is not confirmed by a 304.
    again = await client.get(
        f"{PROJECTS}/WEB/board",
        headers={**team.viewer.headers, "If-None-Match": before.headers["etag"]},
        params={"sprint": "active"},
    )
    assert again.status_code == 200
    card = await board_card(client, team, first)
    assert card["blocked"] is True
    assert [(b["reason"], b["raised_by"]) for b in card["blockers"]] == [
        ("No sandbox keys", team.member.id)
    ]
    listed = (
        await client.get(f"{PROJECTS}/WEB/items/{first}/blockers", headers=team.viewer.headers)
    ).json()["data"]
    assert [(b["open"], b["standup_entry_id"], b["item"]) for b in listed] == [
        (True, entry_id, first)
    ]
    blocker_id = listed[0]["id"]

    # Replacing today's entry still naming `first` keeps its blocker (and its age).
    kept = await client.put(
        entry_url(WEDNESDAY, team.member.id),
        headers=team.member.headers,
        json={"today": "y", "blocked_items": [first]},
    )
    assert kept.status_code == 200, kept.text
    assert (await board_card(client, team, second))["blocked"] is False
    # The next day's entry no longer names it: cleared by the member.
    freeze(time_machine, f"{THURSDAY}T09:00:00")
    cleared = await client.put(
        entry_url(THURSDAY, team.member.id), headers=team.member.headers, json={"today": "z"}
    )
    assert cleared.status_code == 201, cleared.text
    card = await board_card(client, team, first)
    assert (card["blocked"], card["blockers"]) == (False, [])
    blocker = (
        await client.get(
            f"{PROJECTS}/WEB/items/{first}/blockers/{blocker_id}", headers=team.viewer.headers
        )
    ).json()
    assert (blocker["open"], blocker["cleared_by"]) == (False, team.member.id)
    assert blocker["cleared_at"] == "2025-03-06T09:00:00Z"
    # Wednesday's entry is history now.
    late = await client.put(
        entry_url(WEDNESDAY, team.member.id), headers=team.member.headers, json={"today": "late"}
    )
    assert_problem(late, 422, "path.date")
    withdraw = await client.delete(
        entry_url(WEDNESDAY, team.member.id), headers=team.member.headers
    )
    assert_problem(withdraw, 409)


async def test_withdrawing_todays_entry_clears_its_blockers(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    team = await active_sprint(factory, time_machine)
    number = await factory.item("WEB", team.owner)
    url = entry_url(WEDNESDAY, team.member.id)
    posted = await client.put(
        url, headers=team.member.headers, json={"today": "x", "blocked_items": [number]}
    )
    assert posted.status_code == 201
    stale = await client.delete(url, headers={**team.member.headers, "If-Match": '"3"'})
    assert_problem(stale, 412)
    other = await client.delete(entry_url(WEDNESDAY, team.member.id), headers=team.owner.headers)
    assert_problem(other, 403)
    deleted = await client.delete(url, headers={**team.member.headers, "If-Match": '"1"'})
    assert deleted.status_code == 204
    assert_problem(await client.get(url, headers=team.member.headers), 404)
    blockers = await client.get(
        f"{PROJECTS}/WEB/items/{number}/blockers",
        headers=team.owner.headers,
        params={"open": "true"},
    )
    assert blockers.json()["data"] == []


async def test_history_is_paginated_latest_first_and_filters_by_member(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    team = await active_sprint(factory, time_machine)
    for actor in (team.member, team.owner):
        await client.put(entry_url(WEDNESDAY, actor.id), headers=actor.headers, json={"today": "w"})
    freeze(time_machine, f"{THURSDAY}T09:00:00")
    await client.put(
        entry_url(THURSDAY, team.member.id), headers=team.member.headers, json={"today": "t"}
    )
    first = await client.get(
        f"{STANDUPS}/history", headers=team.viewer.headers, params={"limit": 2}
    )
    assert first.status_code == 200
    assert first.headers["link"].endswith('rel="next"')
    everything = await all_pages(client, team.viewer, f"{STANDUPS}/history", limit=1)
    assert [(e["date"], e["user"]["id"]) for e in everything] == [
        (THURSDAY, team.member.id),
        (WEDNESDAY, team.owner.id),
        (WEDNESDAY, team.member.id),
    ]
    mine = await all_pages(client, team.viewer, f"{STANDUPS}/history", user=team.member.id)
    assert [e["date"] for e in mine] == [THURSDAY, WEDNESDAY]
    day = (
        await client.get(STANDUPS, headers=team.viewer.headers, params={"date": WEDNESDAY})
    ).json()
    assert [e["today"] for e in day["entries"]] == ["w", "w"]
    assert_problem(
        await client.get(STANDUPS, headers=team.viewer.headers, params={"date": "5 March"}),
        422,
        "query.date",
    )
