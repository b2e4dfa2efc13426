"""Project lifecycle over HTTP on real PostgreSQL: phases and moves, gates with approvers and
sign-offs, closing (its checks, summary and post-mortem retro), reopening, handing over, and
the calendar feed of a closed project."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import text
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.projects import repository as projects_repository
from app.domain.projects.models import Role
from tests.api.test_calendar import utc
from tests.factories import Actor, Factory, Team
from tests.helpers import assert_problem, etag_version, status_ids

PROJECT = "/api/v1/projects/WEB"
PHASES = f"{PROJECT}/phases"
ITEMS = f"{PROJECT}/items"
SPRINTS = f"{PROJECT}/sprints"
SUMMARY = f"{PROJECT}/closing-summary"


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    result = await response
    assert result.status_code == status, result.text
    body: dict[str, Any] = result.json()
    return body


async def move(client: httpx.AsyncClient, actor: Actor, phase: str) -> httpx.Response:
    return await client.post(f"{PROJECT}/phase", headers=actor.headers, json={"phase": phase})


async def moved(client: httpx.AsyncClient, actor: Actor, *phases: str) -> dict[str, Any]:
    """Move through `phases` in order (each must pass); the last answer."""
    body: dict[str, Any] = {}
    for phase in phases:
        body = await ok(move(client, actor, phase))
        assert body["phase"] == phase
    return body


async def approvers(
    client: httpx.AsyncClient, actor: Actor, phase: str, user_ids: list[int]
) -> httpx.Response:
    return await client.put(
        f"{PHASES}/{phase}/approvers", headers=actor.headers, json={"user_ids": user_ids}
    )


async def sign(
    client: httpx.AsyncClient, actor: Actor, phase: str, decision: str, comment: str = ""
) -> httpx.Response:
    return await client.post(
        f"{PHASES}/{phase}/signoffs",
        headers=actor.headers,
        json={"decision": decision, "comment": comment},
    )


def gate(body: dict[str, Any], phase: str) -> dict[str, Any]:
    """The gate into `phase` in a `GET .../phases` answer."""
    (step,) = [step for step in body["phases"] if step["phase"] == phase]
    found: dict[str, Any] = step["gate"]
    return found


async def completed_sprint(
    client: httpx.AsyncClient, factory: Factory, owner: Actor, done: list[float], rest: list[float]
) -> int:
    """A sprint that completed with the `done` estimates finished and the `rest` not."""
    statuses = await status_ids(client, owner)
    finished = [await factory.item("WEB", owner, points=p) for p in done]
    others = [await factory.item("WEB", owner, points=p) for p in rest]
    number = await factory.sprint("WEB", owner, items=finished + others, start=True)
    for item in finished:
        await ok(
            client.patch(
                f"{ITEMS}/{item}", json={"status_id": statuses["Done"]}, headers=owner.headers
            )
        )
    await ok(client.post(f"{SPRINTS}/{number}/complete", headers=owner.headers, json={}))
    return number


# --- phases and moves -------------------------------------------------------------------------


async def test_a_new_project_starts_in_kickoff_and_moves_one_phase_at_a_time(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-03-02T09:00:00")
    team = await factory.team()
    body = await ok(client.get(PHASES, headers=team.viewer.headers))
    assert (body["phase"], body["closed"], body["next_phase"], body["previous_phase"]) == (
        "kickoff",
        False,
        "planning",
        None,
    )
    assert [(s["phase"], s["position"], s["state"]) for s in body["phases"]] == [
        ("kickoff", 1, "current"),
        ("planning", 2, "upcoming"),
        ("execution", 3, "upcoming"),
        ("closing", 4, "upcoming"),
        ("post_mortem", 5, "upcoming"),
    ]
    assert body["phases"][0]["gate"] is None
    # No approvers anywhere: the next gate is ready, an owner's move passes it.
    assert gate(body, "planning") == {
        "phase": "planning",
        "accepting_signoffs": True,
        "approvers": [],
        "pending": [],
        "rejected": [],
        "ready": True,
    }
    assert not gate(body, "execution")["accepting_signoffs"]
    assert body["since"] == "2026-03-02T09:00:00Z"
    project = await ok(client.get(PROJECT, headers=team.viewer.headers))
    assert project["phase"] == "kickoff"

    # Only one step forward; the same phase, or two steps, are conflicts.
    assert_problem(await move(client, team.owner, "execution"), 409)
    assert_problem(await move(client, team.owner, "kickoff"), 409)
    freeze(time_machine, "2026-03-03T10:00:00")
    body = await moved(client, team.owner, "planning")
    assert (body["since"], body["previous_phase"], body["next_phase"]) == (
        "2026-03-03T10:00:00Z",
        "kickoff",
        "execution",
    )
    assert [s["state"] for s in body["phases"]][:3] == ["done", "current", "upcoming"]
    # A step back between open phases needs no gate; forward again.
    await moved(client, team.owner, "kickoff", "planning", "execution")
    body = await ok(client.get(PHASES, headers=team.member.headers))
    assert (body["phase"], body["version"]) == ("execution", 5)
    assert etag_version(await client.get(PROJECT, headers=team.owner.headers)) == 5

    # Every move but the step back is the owner's sign-off on that gate, in the log.
    log = await ok(client.get(f"{PHASES}/planning/signoffs", headers=team.viewer.headers))
    assert [(s["user_id"], s["decision"], s["current"]) for s in log["data"]] == [
        (team.owner.id, "approved", False),
        (team.owner.id, "approved", False),
    ]


async def test_only_owners_move_and_if_match_guards_the_move(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    assert_problem(await move(client, team.member, "planning"), 403)
    assert_problem(await move(client, team.viewer, "planning"), 403)
    assert_problem(await move(client, team.outsider, "planning"), 404)
    stale = await client.post(
        f"{PROJECT}/phase",
        headers={**team.owner.headers, "If-Match": '"7"'},
        json={"phase": "planning"},
    )
    assert_problem(stale, 412)
    fresh = await client.post(
        f"{PROJECT}/phase",
        headers={**team.owner.headers, "If-Match": '"1"'},
        json={"phase": "planning"},
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["etag"] == '"2"'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phase": "done"}, "body.phase"),
        ({}, "body.phase"),
        ({"phase": "planning", "extra": 1}, "body.extra"),
    ],
)
async def test_a_bad_move_names_the_field_and_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    team = await factory.team()
    assert_problem(
        await client.post(f"{PROJECT}/phase", headers=team.owner.headers, json=body), 422, field
    )
    assert (await ok(client.get(PHASES, headers=team.owner.headers)))["phase"] == "kickoff"


# --- gates ------------------------------------------------------------------------------------


async def test_approvers_must_be_planning_members_named_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    stranger = await factory.user()
    assert_problem(
        await approvers(client, team.owner, "planning", [team.member.id, stranger.id]),
        422,
        fields={"body.user_ids.1"},
    )
    # Viewers read only: they cannot sign off, so they cannot be approvers.
    assert_problem(
        await approvers(client, team.owner, "planning", [team.viewer.id]), 422, "body.user_ids.0"
    )
    assert_problem(
        await approvers(client, team.owner, "planning", [team.member.id, team.member.id]),
        422,
        "body.user_ids.1",
    )
    assert_problem(
        await approvers(client, team.owner, "kickoff", [team.member.id]), 422, "path.phase"
    )
    assert_problem(
        await approvers(client, team.owner, "nowhere", [team.member.id]), 422, "path.phase"
    )
    assert_problem(await approvers(client, team.member, "planning", [team.member.id]), 403)
    too_many = await client.put(
        f"{PHASES}/planning/approvers",
        headers=team.owner.headers,
        json={"user_ids": list(range(1, 22))},
    )
    assert_problem(too_many, 422, "body.user_ids")
    # Nothing was written by any of these.
    assert (
        gate(await ok(client.get(PHASES, headers=team.owner.headers)), "planning")["approvers"]
        == []
    )

    named = await ok(approvers(client, team.owner, "closing", [team.owner.id, team.member.id]))
    assert named["phase"] == "closing"
    assert [a["user_id"] for a in named["approvers"]] == [team.owner.id, team.member.id]
    assert named["accepting_signoffs"] is False
    assert (named["pending"], named["ready"]) == ([], False)
    cleared = await ok(approvers(client, team.owner, "closing", []))
    assert cleared["approvers"] == []


async def test_a_gate_with_approvers_passes_only_when_all_approve(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    second = await factory.user()
    await factory.member("WEB", team.owner, second, Role.MEMBER)
    await ok(approvers(client, team.owner, "planning", [team.member.id, second.id]))

    refused = assert_problem(await move(client, team.owner, "planning"), 409)
    assert refused["detail"] == (
        f"The gate into planning is not passed: waiting for {display(team.member)}, "
        f"{display(second)}."
    )
    # Only the named approvers sign: the owner and the viewer are not among them.
    assert_problem(await sign(client, team.owner, "planning", "approved"), 403)
    assert_problem(await sign(client, team.viewer, "planning", "approved"), 403)
    assert_problem(await sign(client, team.outsider, "planning", "approved"), 404)
    # A rejection says why.
    assert_problem(await sign(client, team.member, "planning", "rejected"), 422, "body.comment")
    assert_problem(
        await client.post(
            f"{PHASES}/planning/signoffs",
            headers=team.member.headers,
            json={"decision": "maybe"},
        ),
        422,
        "body.decision",
    )
    # Only the next gate takes sign-offs.
    await ok(approvers(client, team.owner, "execution", [team.member.id]))
    assert_problem(await sign(client, team.member, "execution", "approved"), 409)

    rejected = await ok(sign(client, team.member, "planning", "rejected", "No budget yet."), 201)
    assert (rejected["decision"], rejected["comment"], rejected["current"]) == (
        "rejected",
        "No budget yet.",
        True,
    )
    assert rejected["user_id"] == team.member.id
    await ok(sign(client, second, "planning", "approved", "Fine by me."), 201)
    body = await ok(client.get(PHASES, headers=team.viewer.headers))
    planning = gate(body, "planning")
    assert (planning["pending"], planning["rejected"], planning["ready"]) == (
        [],
        [team.member.id],
        False,
    )
    assert [(a["user_id"], a["decision"], a["comment"]) for a in planning["approvers"]] == [
        (team.member.id, "rejected", "No budget yet."),
        (second.id, "approved", "Fine by me."),
    ]
    refused = assert_problem(await move(client, team.owner, "planning"), 409)
    assert refused["detail"] == (
        f"The gate into planning is not passed: rejected by {display(team.member)}."
    )

    # The same approver's approval lifts the block; the last approval does not move anything.
    await ok(sign(client, team.member, "planning", "approved", "Budget agreed."), 201)
    body = await ok(client.get(PHASES, headers=team.viewer.headers))
    assert body["phase"] == "kickoff"
    assert gate(body, "planning")["ready"] is True
    body = await moved(client, team.owner, "planning")
    # The gate into execution is the next one now: its approver has not signed yet.
    assert gate(body, "execution")["pending"] == [team.member.id]

    log = await ok(client.get(f"{PHASES}/planning/signoffs", headers=team.viewer.headers))
    assert [(s["user_id"], s["decision"], s["current"]) for s in log["data"]] == [
        (team.member.id, "rejected", False),
        (second.id, "approved", False),
        (team.member.id, "approved", False),
    ]


def display(actor: Actor) -> str:
    """The display name the factory gives a user."""
    return actor.email.split("@")[0]


async def test_a_passed_gate_needs_new_signoffs_after_a_step_back(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await ok(approvers(client, team.owner, "planning", [team.member.id]))
    await ok(sign(client, team.member, "planning", "approved"), 201)
    await moved(client, team.owner, "planning", "kickoff")
    body = await ok(client.get(PHASES, headers=team.owner.headers))
    assert gate(body, "planning")["pending"] == [team.member.id]
    assert_problem(await move(client, team.owner, "planning"), 409)
    await ok(sign(client, team.member, "planning", "approved"), 201)
    await moved(client, team.owner, "planning")


async def test_an_approver_who_leaves_or_becomes_a_viewer_drops_out(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    second = await factory.user()
    await factory.member("WEB", team.owner, second, Role.MEMBER)
    await ok(approvers(client, team.owner, "planning", [team.member.id, second.id]))
    demoted = await client.patch(
        f"{PROJECT}/members/{second.id}", headers=team.owner.headers, json={"role": "viewer"}
    )
    assert demoted.status_code == 200, demoted.text
    removed = await client.delete(f"{PROJECT}/members/{team.member.id}", headers=team.owner.headers)
    assert removed.status_code == 204, removed.text
    body = await ok(client.get(PHASES, headers=team.owner.headers))
    assert gate(body, "planning")["approvers"] == []
    await moved(client, team.owner, "planning")


# --- closing ----------------------------------------------------------------------------------


async def test_closing_needs_no_active_sprint_and_writes_nothing_when_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await moved(client, team.owner, "planning", "execution")
    sprint = await factory.sprint("WEB", team.owner, start=True)
    refused = assert_problem(await move(client, team.owner, "closing"), 409)
    assert (
        refused["detail"] == f"Sprint {sprint} is active; complete or cancel it before closing WEB."
    )
    body = await ok(client.get(PHASES, headers=team.owner.headers))
    assert (body["phase"], body["version"]) == ("execution", 3)
    assert_problem(await client.get(SUMMARY, headers=team.owner.headers), 404)
    retros = await ok(client.get(f"{PROJECT}/retros", headers=team.owner.headers))
    assert retros["data"] == []

    await ok(client.post(f"{SPRINTS}/{sprint}/cancel", headers=team.owner.headers))
    body = await moved(client, team.owner, "closing")
    assert (body["closed"], body["next_phase"], body["previous_phase"]) == (
        True,
        "post_mortem",
        None,
    )
    # Out of the closed phases there is no step back: owners reopen.
    refused = assert_problem(await move(client, team.owner, "execution"), 409)
    assert "reopen" in refused["detail"]
    await moved(client, team.owner, "post_mortem")
    assert_problem(await move(client, team.owner, "closing"), 409)


async def test_the_closing_summary_is_worked_by_hand_and_kept(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-03-20T12:00:00")
    team = await factory.team()
    owner = team.owner
    await moved(client, owner, "planning", "execution")
    # Sprints: 5 of 8 points done, then 10 of 10; a cancelled one does not count.
    await completed_sprint(client, factory, owner, [5], [3])
    await completed_sprint(client, factory, owner, [8, 2], [])
    cancelled = await factory.sprint("WEB", owner)
    await ok(client.post(f"{SPRINTS}/{cancelled}/cancel", headers=owner.headers))
    # Releases: 1.0 shipped; 1.1 is planned; a reached milestone is not a release.
    for body in (
        {"name": "1.0"},
        {"name": "1.1"},
        {"name": "Beta", "kind": "milestone"},
    ):
        await ok(client.post(f"{PROJECT}/releases", headers=owner.headers, json=body), 201)
    await ok(
        client.post(
            f"{PROJECT}/releases/1/release",
            headers=owner.headers,
            json={"released_on": "2026-03-16"},
        )
    )
    await ok(client.post(f"{PROJECT}/releases/3/release", headers=owner.headers, json={}))
    # Budget: 100 h and 10,000 EUR at 50 EUR an hour; 3 + 1.5 hours logged = 225 EUR.
    await ok(
        client.put(
            f"{PROJECT}/budget",
            headers=owner.headers,
            json={
                "hours": 100,
                "amount": "10000.00",
                "currency": "EUR",
                "default_hourly_rate": "50.00",
            },
        )
    )
    item = await factory.item("WEB", owner)
    for hours in (3, 1.5):
        await ok(
            client.post(
                f"{ITEMS}/{item}/worklogs",
                headers=owner.headers,
                json={"date": "2026-03-19", "hours": hours},
            ),
            201,
        )
    # Risks: two occurred (exposure 20 and 6), one is open.
    first = await factory.risk("WEB", owner, "Supplier late", probability=2, impact=3)
    second = await factory.risk("WEB", owner, "Key person leaves", probability=4, impact=5)
    await factory.risk("WEB", owner, "Scope creep")
    for number in (first, second):
        await ok(
            client.patch(
                f"{PROJECT}/risks/{number}", headers=owner.headers, json={"status": "occurred"}
            )
        )
    # Action items: 2 done, 1 dropped, 1 open of 4.
    actions = [await factory.action("WEB", owner, f"Action {n}") for n in range(4)]
    for number, status in zip(actions, ["done", "done", "dropped"], strict=False):
        await ok(
            client.patch(
                f"{PROJECT}/actions/{number}", headers=owner.headers, json={"status": status}
            )
        )

    freeze(time_machine, "2026-03-20T15:00:00")
    await moved(client, owner, "closing")
    summary = await ok(client.get(SUMMARY, headers=owner.headers))
    expected = {
        "number": 1,
        "closed_at": "2026-03-20T15:00:00Z",
        "closed_by": owner.id,
        "reopened_at": None,
        "reopened_by": None,
        "sprints_completed": 2,
        "velocity": {"mean": 7.5, "last": 10.0},
        "releases_shipped": [{"number": 1, "name": "1.0", "released_on": "2026-03-16"}],
        "budget": {
            "planned_hours": "100.00",
            "spent_hours": "4.50",
            "planned_amount": "10000.00",
            "spent_amount": "225.00",
            "currency": "EUR",
        },
        "risks_occurred": [
            {"number": second, "title": "Key person leaves", "exposure": 20},
            {"number": first, "title": "Supplier late", "exposure": 6},
        ],
        "actions": {"total": 4, "done": 2, "dropped": 1, "open": 1, "completion_rate": 0.5},
    }
    retro = summary.pop("post_mortem_retro")
    assert summary == expected
    # Budgets are the owners' only.
    seen_by_member = await ok(client.get(SUMMARY, headers=team.member.headers))
    assert seen_by_member["budget"] is None
    assert seen_by_member["sprints_completed"] == 2

    # The closing opened the post-mortem retro, the summary (without money) in its notes.
    board = await ok(client.get(f"{PROJECT}/retros/{retro}", headers=team.member.headers))
    assert (board["title"], board["sprint"], board["phase"]) == ("Post-mortem", None, "collecting")
    assert board["columns"] == ["Went well", "Went wrong", "Do differently next time"]
    notes = board["notes"]
    assert "- Sprints completed: 2" in notes
    assert "- Velocity: mean 7.5 points, last sprint 10" in notes
    assert "- Releases shipped: 1.0 (2026-03-16)" in notes
    assert f"- Risks that occurred: #{second} Key person leaves, #{first} Supplier late" in notes
    assert "- Retro action items: 2 of 4 done (50%), 1 dropped, 1 open" in notes
    assert "225" not in notes and "EUR" not in notes

    # Kept as it was: what happens later does not change it.
    await moved(client, owner, "post_mortem")
    assert (await ok(client.get(SUMMARY, headers=owner.headers)))["actions"]["done"] == 2


async def test_reopening_and_closing_again_keeps_both_summaries(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-03-20T12:00:00")
    team = await factory.team()
    owner = team.owner
    assert_problem(await client.post(f"{PROJECT}/reopen", headers=owner.headers), 409)
    await moved(client, owner, "planning", "execution", "closing", "post_mortem")
    assert_problem(await client.post(f"{ITEMS}", headers=owner.headers, json={"title": "x"}), 409)
    assert_problem(await client.post(f"{PROJECT}/reopen", headers=team.member.headers), 403)

    freeze(time_machine, "2026-03-21T08:00:00")
    reopened = await ok(client.post(f"{PROJECT}/reopen", headers=owner.headers))
    assert (reopened["phase"], reopened["closed"], reopened["since"]) == (
        "execution",
        False,
        "2026-03-21T08:00:00Z",
    )
    await ok(client.post(ITEMS, headers=team.member.headers, json={"title": "Again"}), 201)
    await completed_sprint(client, factory, owner, [3], [])
    freeze(time_machine, "2026-03-22T08:00:00")
    await moved(client, owner, "closing")

    latest = await ok(client.get(SUMMARY, headers=team.viewer.headers))
    assert (latest["number"], latest["sprints_completed"], latest["reopened_at"]) == (2, 1, None)
    listed = await ok(client.get(f"{PROJECT}/closing-summaries", headers=team.viewer.headers))
    assert [(c["number"], c["sprints_completed"]) for c in listed["data"]] == [(2, 1), (1, 0)]
    first = listed["data"][1]
    assert (first["reopened_at"], first["reopened_by"]) == ("2026-03-21T08:00:00Z", owner.id)
    retros = await ok(client.get(f"{PROJECT}/retros", headers=team.viewer.headers))
    assert [r["title"] for r in retros["data"]] == ["Post-mortem", "Post-mortem (closing 2)"]
    assert [first["post_mortem_retro"], latest["post_mortem_retro"]] == [
        r["number"] for r in retros["data"]
    ]
    page = await ok(client.get(f"{PROJECT}/closing-summaries?limit=1", headers=team.viewer.headers))
    assert [c["number"] for c in page["data"]] == [2]
    assert page["next_cursor"]


async def test_a_closed_project_reads_and_runs_its_post_mortem_but_takes_no_other_writes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    number = await factory.item("WEB", team.owner, title="Existing")
    await moved(client, team.owner, "planning", "execution", "closing")
    refused = assert_problem(
        await client.patch(f"{ITEMS}/{number}", headers=team.member.headers, json={"points": 3}),
        409,
    )
    assert refused["type"] == "https://timebox.dev/problems/project-closed"
    assert refused["detail"] == (
        "Project WEB is closed (closing), so it is read-only; an owner can reopen it with "
        "POST /api/v1/projects/WEB/reopen."
    )
    assert_problem(
        await client.patch(PROJECT, headers=team.owner.headers, json={"name": "Renamed"}), 409
    )
    # Who may not write at all still hears 403, and outsiders 404, first.
    assert_problem(
        await client.patch(f"{ITEMS}/{number}", headers=team.viewer.headers, json={"points": 3}),
        403,
    )
    assert_problem(
        await client.patch(f"{ITEMS}/{number}", headers=team.outsider.headers, json={"points": 3}),
        404,
    )
    # Reads work, and what a viewer may do (watching) too.
    assert (await client.get(f"{ITEMS}/{number}", headers=team.viewer.headers)).status_code == 200
    watch = await client.post(f"{ITEMS}/{number}/watch", headers=team.viewer.headers)
    assert watch.status_code == 200, watch.text

    # The post-mortem retro runs: cards, phase moves, action items at the end.
    retro = (await ok(client.get(SUMMARY, headers=team.member.headers)))["post_mortem_retro"]
    card = await client.post(
        f"{PROJECT}/retros/{retro}/cards",
        headers=team.member.headers,
        json={"column": "Went well", "text": "We shipped"},
    )
    assert card.status_code == 201, card.text
    for phase in ("grouping", "voting", "discussing"):
        await ok(
            client.post(
                f"{PROJECT}/retros/{retro}/phase", headers=team.owner.headers, json={"phase": phase}
            )
        )
    action = await client.post(
        f"{PROJECT}/retros/{retro}/actions", headers=team.member.headers, json={"title": "Share it"}
    )
    assert action.status_code == 201, action.text
    # The lifecycle too: approvers, sign-offs, handing over.
    await ok(approvers(client, team.owner, "post_mortem", [team.member.id]))
    await ok(sign(client, team.member, "post_mortem", "approved"), 201)
    await moved(client, team.owner, "post_mortem")


async def test_a_write_under_way_finishes_before_the_close_and_one_after_it_is_refused(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    team = await factory.team()
    await moved(client, team.owner, "planning", "execution")
    # A write in progress holds the phase lock shared: the close waits for it to commit.
    async with database.sessions() as session, session.begin():
        await projects_repository.share_phase_lock(session, "WEB")
        closing = asyncio.create_task(move(client, team.owner, "closing"))
        await asyncio.sleep(0.3)
        assert not closing.done()
    assert (await closing).status_code == 200
    await ok(client.post(f"{PROJECT}/reopen", headers=team.owner.headers))

    # A close in progress holds it exclusively: a write arriving meanwhile waits, then sees
    # the project closed.
    async with database.sessions() as session, session.begin():
        await projects_repository.take_phase_lock(session, "WEB")
        writing = asyncio.create_task(
            client.post(ITEMS, headers=team.member.headers, json={"title": "Late"})
        )
        await asyncio.sleep(0.3)
        assert not writing.done()
        await session.execute(text("UPDATE projects SET phase = 'closing' WHERE key = 'WEB'"))
    assert_problem(await writing, 409)
    async with database.sessions() as session:
        count: int = (await session.execute(text("SELECT count(*) FROM items"))).scalar_one()
    assert count == 0


# --- handing over -----------------------------------------------------------------------------


async def members(client: httpx.AsyncClient, team: Team) -> dict[int, str]:
    body = await ok(client.get(f"{PROJECT}/members", headers=team.viewer.headers))
    return {member["user_id"]: member["role"] for member in body["data"]}


async def test_ownership_is_handed_over_even_while_closed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await moved(client, team.owner, "planning", "execution", "closing")
    transfer = f"{PROJECT}/transfer"
    assert_problem(
        await client.post(transfer, headers=team.member.headers, json={"user_id": team.member.id}),
        403,
    )
    assert_problem(
        await client.post(transfer, headers=team.owner.headers, json={"user_id": team.owner.id}),
        422,
        "body.user_id",
    )
    stranger = await factory.user()
    assert_problem(
        await client.post(transfer, headers=team.owner.headers, json={"user_id": stranger.id}),
        422,
        "body.user_id",
    )
    assert_problem(
        await client.post(transfer, headers=team.owner.headers, json={"user_id": "7"}),
        422,
        "body.user_id",
    )
    handed = await ok(
        client.post(transfer, headers=team.owner.headers, json={"user_id": team.viewer.id})
    )
    assert (handed["previous_owner"]["user_id"], handed["previous_owner"]["role"]) == (
        team.owner.id,
        "member",
    )
    assert (handed["new_owner"]["user_id"], handed["new_owner"]["role"]) == (
        team.viewer.id,
        "owner",
    )
    assert await members(client, team) == {
        team.owner.id: "member",
        team.member.id: "member",
        team.viewer.id: "owner",
    }
    # The new owner reopens it; the old one no longer may.
    assert_problem(await client.post(f"{PROJECT}/reopen", headers=team.owner.headers), 403)
    viewer_as_owner = team.viewer
    kept = await ok(
        client.post(
            transfer,
            headers=viewer_as_owner.headers,
            json={"user_id": team.member.id, "stay_owner": True},
        )
    )
    assert kept["previous_owner"]["role"] == "owner"
    assert (await members(client, team))[team.member.id] == "owner"
    activity = await ok(client.get(f"{PROJECT}/activity", headers=team.owner.headers))
    assert "member.role_changed" in {event["type"] for event in activity["data"]}


# --- events and the calendar ------------------------------------------------------------------


async def test_phase_changes_are_public_events(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await factory.team()
    await moved(client, team.owner, "planning", "kickoff")
    await ok(
        client.post(f"{PROJECT}/phase", headers=team.owner.headers, json={"phase": "planning"})
    )
    body = await ok(
        client.get(f"{PROJECT}/activity?type=project.phase_changed", headers=team.viewer.headers)
    )
    name = display(team.owner)
    assert [(e["summary"], e["payload"]) for e in body["data"]] == [
        (f"{name} moved WEB to planning", {"old": "kickoff", "new": "planning", "kind": "advance"}),
        (
            f"{name} moved WEB back to kickoff",
            {"old": "planning", "new": "kickoff", "kind": "back"},
        ),
        (f"{name} moved WEB to planning", {"old": "kickoff", "new": "planning", "kind": "advance"}),
    ]


def _starts(response: httpx.Response) -> list[datetime]:
    assert response.status_code == 200, response.text
    calendar = Calendar.from_ical(response.content)
    return sorted(utc(event) for event in calendar.walk("VEVENT"))


async def test_a_closed_projects_future_meetings_drop_out_of_the_calendar_feed(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    # Wednesday 4 March 2026, noon UTC; the project works Monday to Friday in UTC.
    freeze(time_machine, "2026-03-04T12:00:00")
    team = await factory.team()
    feed = f"{PROJECT}/calendar.ics"
    first = await factory.sprint(
        "WEB", team.owner, start_date="2026-03-02", end_date="2026-03-13", start=True
    )
    await factory.sprint("WEB", team.owner, start_date="2026-03-16", end_date="2026-03-27")
    # Each sprint: planning, 9 stand-ups, review and retro.
    assert len(_starts(await client.get(feed, headers=team.viewer.headers))) == 24
    await ok(client.post(f"{SPRINTS}/{first}/complete", headers=team.owner.headers, json={}))
    await moved(client, team.owner, "planning", "execution", "closing")
    kept = _starts(await client.get(feed, headers=team.viewer.headers))
    # Planning on Monday 10:00, stand-ups on Tuesday and Wednesday 09:30: before the close.
    assert kept == [
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 4, 9, 30, tzinfo=UTC),
    ]
    await ok(client.post(f"{PROJECT}/reopen", headers=team.owner.headers))
    assert len(_starts(await client.get(feed, headers=team.viewer.headers))) == 24
