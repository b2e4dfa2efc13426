"""The demo project: a realistic history that every report can read."""

from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import text
from time_machine import TimeMachineFixture

from app.db import Database
from app.demo.service import DemoExists, create_demo

# A Friday afternoon in Berlin, the demo's time zone: the demo reads "today" from the clock.
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


async def test_the_demo_has_a_team_a_backlog_seven_sprints_and_their_ceremonies(
    client: httpx.AsyncClient, database: Database, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(NOW, tick=False)
    result = await create_demo(database)
    headers = {"Authorization": f"Bearer {result.token}"}
    project = f"/api/v1/projects/{result.project_key}"

    members = await client.get(f"{project}/members", headers=headers)
    assert len(members.json()["data"]) == 5
    sprints = (await client.get(f"{project}/sprints", headers=headers)).json()["data"]
    assert [s["state"] for s in sprints] == ["completed"] * 6 + ["active"]
    # Half-way: the active sprint started five working days before today.
    assert (sprints[-1]["start_date"], sprints[-1]["end_date"]) == ("2026-11-20", "2026-12-03")
    assert all(s["carried_over_to"] == s["number"] + 1 for s in sprints[:-1])
    async with database.engine.connect() as connection:
        count: int = (await connection.execute(text("SELECT count(*) FROM items"))).scalar_one()
        first_event: date = (
            await connection.execute(text("SELECT min(occurred_at)::date FROM item_events"))
        ).scalar_one()
    assert 110 <= count <= 130
    assert first_event < date(2026, 9, 1)  # back-dated, not written "now"

    velocity = (await client.get(f"{project}/velocity", headers=headers)).json()
    assert velocity["summary"]["sprints"] == 6
    assert all(s["completed"] > 0 and s["person_days"] for s in velocity["sprints"])
    for number in range(1, 7):
        report = (await client.get(f"{project}/sprints/{number}/report", headers=headers)).json()
        change = report["scope_change"]
        assert report["frozen"] is True
        assert change["added"]["count"] >= 1 and change["removed"]["count"] >= 1
        assert change["re_estimated"]["count"] >= 1
    burndown = (await client.get(f"{project}/sprints/7/burndown", headers=headers)).json()
    assert burndown["days"][-1]["date"] == "2026-11-27"
    assert burndown["days"][-1]["done"] > 0
    # Everything is back-dated, the project itself included: past forecasts can be replayed.
    replay = await client.get(f"{project}/forecast?as_of=2026-10-15&seed=1", headers=headers)
    assert replay.status_code == 200, replay.text
    assert replay.json()["history"]["used"] == 3  # sprints 1-3 had completed by then
    for path in ("/forecast", "/flow", "/velocity.svg", "/sprints/7/burnup.svg"):
        assert (await client.get(f"{project}{path}", headers=headers)).status_code == 200, path

    await _check_ceremonies(client, database, headers, project)
    # Time and budget: about a month of work logs (sprints 5, 6 and 7 so far) and a budget
    # whose projection keeps to the hours but not to the money.
    budget = (await client.get(f"{project}/budget", headers=headers)).json()
    assert [entry["sprint"]["number"] for entry in budget["burn"] if entry["hours"]] == [5, 6, 7]
    assert (budget["burn_rate"]["sprints"], budget["currency"], len(budget["rates"])) == (
        [5, 6],
        "EUR",
        2,
    )
    assert budget["projection"]["hours"] < budget["hours"]
    assert budget["projected_over_budget"] is True
    time_report = (await client.get(f"{project}/time", headers=headers)).json()
    assert len(time_report["groups"]) == 5 and time_report["total_hours"] > 500
    # The lifecycle: through a gated planning into execution; the closing gate waits for two.
    phases = (await client.get(f"{project}/phases", headers=headers)).json()
    assert (phases["phase"], phases["since"][:10]) == ("execution", "2026-08-28")
    closing = phases["phases"][3]["gate"]
    assert (len(closing["pending"]), closing["ready"]) == (2, False)
    planning = await client.get(f"{project}/phases/planning/signoffs", headers=headers)
    assert [s["decision"] for s in planning.json()["data"]] == ["approved", "rejected", "approved"]
    # The roadmap: the soft launch shipped; the relaunch has a forecast from the six sprints.
    roadmap = (await client.get(f"{project}/roadmap", headers=headers)).json()
    assert [(e["kind"], e["state"]) for e in roadmap["entries"]] == [
        ("release", "released"),
        ("milestone", "planned"),
        ("release", "planned"),
    ]
    relaunch = (await client.get(f"{project}/releases/3", headers=headers)).json()
    assert relaunch["forecast"]["history_sprints"] == 6
    assert relaunch["scope"]["remaining_points"] > 0 and relaunch["scope"]["done_points"] > 0
    assert 0 < relaunch["forecast"]["target_probability"] < 1

    with pytest.raises(DemoExists):
        await create_demo(database)
    again = await create_demo(database, reset=True)
    assert again.password != result.password
    listed = await client.get(
        f"{project}/sprints", headers={"Authorization": f"Bearer {again.token}"}
    )
    assert len(listed.json()["data"]) == 7


async def _check_ceremonies(
    client: httpx.AsyncClient, database: Database, headers: dict[str, str], project: str
) -> None:
    """Two retros (one anonymous) with their action items, planning poker, a week of
    stand-ups."""
    retros = (await client.get(f"{project}/retros", headers=headers)).json()["data"]
    assert [(r["sprint"], r["phase"], r["anonymous"]) for r in retros] == [
        (5, "closed", False),
        (6, "closed", True),
    ]
    anonymous = (await client.get(f"{project}/sprints/6/retro", headers=headers)).json()
    # The second retro opens with the first one's action that is still open (and overdue).
    open_before = anonymous["context"]["open_actions"]
    assert [a["number"] for a in open_before] == [2]
    assert open_before[0]["overdue"] is True
    cards = [card for column in anonymous["board"] for card in column["cards"]]
    assert cards and all(card.get("author") is None for card in cards)

    actions = (await client.get(f"{project}/actions", headers=headers)).json()["data"]
    assert [(a["number"], a["status"]) for a in actions] == [
        (1, "done"),
        (2, "open"),
        (3, "dropped"),
        (4, "open"),
        (5, "open"),
        (6, "open"),
    ]
    assert actions[3]["item"] is not None  # taken to the backlog as a task
    overdue = await client.get(f"{project}/actions?overdue=true", headers=headers)
    assert [a["number"] for a in overdue.json()["data"]] == [2]

    # Planning poker: a split round and a re-vote, a round agreed at once, one still open.
    async with database.engine.connect() as connection:
        estimated: list[int] = list(
            (
                await connection.execute(
                    text(
                        "SELECT i.number FROM estimation_rounds r JOIN items i ON i.id = r.item_id "
                        "GROUP BY i.number ORDER BY min(r.id)"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(estimated) == 3
    states = []
    for number in estimated:
        rounds = await client.get(f"{project}/items/{number}/estimation", headers=headers)
        states.append([r["state"] for r in rounds.json()["data"]])
    assert states == [["accepted", "revealed"], ["accepted"], ["voting"]]

    # A week of stand-ups: every working day of the active sprint before today (Nov 20-26).
    for day in ("2026-11-20", "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"):
        entries = await client.get(f"{project}/standups?date={day}", headers=headers)
        assert entries.status_code == 200, entries.text
        assert len(entries.json()["entries"]) == 5, day
    board = (await client.get(f"{project}/board?sprint=7", headers=headers)).json()
    assert any(card["blocked"] for column in board["columns"] for card in column["items"])
