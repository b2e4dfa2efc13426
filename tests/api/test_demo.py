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


async def test_the_demo_has_a_team_a_backlog_and_seven_sprints(
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

    with pytest.raises(DemoExists):
        await create_demo(database)
    again = await create_demo(database, reset=True)
    assert again.password != result.password
    listed = await client.get(
        f"{project}/sprints", headers={"Authorization": f"Bearer {again.token}"}
    )
    assert len(listed.json()["data"]) == 7
