"""The Monte Carlo forecast API: a hand-worked scenario, epic and cut-off scopes, items as the
unit, the replay of a past day, too little history, validation and access — on PostgreSQL.

Sprints are dated in 2030 so that the calendar never depends on the day the tests run: new
forecast sprints start after the latest sprint, which is then always later than today.
"""

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from app.db import Database
from app.domain.kernel import clock
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, status_ids

PROJECT = "/api/v1/projects/WEB"
FORECAST = f"{PROJECT}/forecast"
MON_FRI = ["mon", "tue", "wed", "thu", "fri"]
# Two-week sprints, Monday to Friday.
S1 = ("2030-01-07", "2030-01-18")
S2 = ("2030-01-21", "2030-02-01")
S3 = ("2030-02-04", "2030-02-15")
S4 = ("2030-02-18", "2030-03-01")


class Team:
    """An owner working on project WEB (Mon–Fri, 14-day sprints, UTC)."""

    def __init__(self, client: httpx.AsyncClient, factory: Factory, owner: Actor) -> None:
        self.client, self.factory, self.owner = client, factory, owner
        self.done_status = 0

    async def setup(self) -> "Team":
        await self.factory.project(self.owner, "WEB", working_days=MON_FRI)
        self.done_status = (await status_ids(self.client, self.owner))["Done"]
        return self

    async def item(self, title: str, points: float | None = None, **fields: Any) -> int:
        return await self.factory.item("WEB", self.owner, title=title, points=points, **fields)

    async def finish(self, number: int) -> None:
        response = await self.client.patch(
            f"{PROJECT}/items/{number}",
            json={"status_id": self.done_status},
            headers=self.owner.headers,
        )
        assert response.status_code == 200, response.text

    async def sprint(self, dates: tuple[str, str], points: list[float]) -> tuple[int, list[int]]:
        """A started sprint holding one new item per estimate; its number and the items."""
        items = [await self.item(f"Sprint work {p}", p) for p in points]
        number = await self.factory.sprint(
            "WEB", self.owner, items=items, start_date=dates[0], end_date=dates[1]
        )
        await self.factory.start_sprint("WEB", self.owner, number)
        return number, items

    async def complete(self, number: int, expected_points: float) -> None:
        response = await self.client.post(
            f"{PROJECT}/sprints/{number}/complete", headers=self.owner.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["completed_points"] == expected_points

    async def completed(self, dates: tuple[str, str], points: list[float]) -> int:
        """A sprint whose items are all finished in it, completed; its number."""
        number, items = await self.sprint(dates, points)
        for item in items:
            await self.finish(item)
        await self.complete(number, sum(points))
        return number

    async def forecast(self, actor: Actor | None = None, **params: Any) -> dict[str, Any]:
        response = await self.get(actor, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def get(self, actor: Actor | None = None, **params: Any) -> httpx.Response:
        headers = (actor or self.owner).headers
        return await self.client.get(FORECAST, params=params, headers=headers)


async def team(client: httpx.AsyncClient, factory: Factory) -> Team:
    return await Team(client, factory, await factory.user()).setup()


def percentiles(body: dict[str, Any]) -> list[tuple[int, int | None, str | None]]:
    return [(p["percentile"], p["sprints"], p["completion_date"]) for p in body["percentiles"]]


def scope_items(body: dict[str, Any]) -> list[tuple[int, float | None, float]]:
    """(number, points, cumulative) of each counted item, in rank order."""
    return [(i["number"], i["points"], i["cumulative"]) for i in body["scope"]["items"]]


async def backlog(t: Team) -> dict[str, int]:
    """The scenario's backlog, in rank order: 40 points counted, one item unestimated."""
    epic = await t.item("Checkout epic", 21, type="epic")  # epics are never counted
    numbers = {"epic": epic}
    numbers["a"] = await t.item("A", 8)
    numbers["b"] = await t.item("B", 8, parent=epic)
    numbers["c"] = await t.item("C")  # unestimated: left out, and counted as left out
    numbers["d"] = await t.item("D", 5, parent=epic)
    numbers["e"] = await t.item("E", 1)
    numbers["f"] = await t.item("F", 13)
    numbers["g"] = await t.item("G", 5, parent=epic)
    # Finished already: not part of the remaining work, even as the epic's child.
    numbers["z"] = await t.item("Z", 3, parent=epic, status_id=t.done_status)
    return numbers


# --- the hand-worked scenario ------------------------------------------------------------------


async def test_forecast_scenario_by_hand(client: httpx.AsyncClient, factory: Factory) -> None:
    t = await team(client, factory)
    s1 = await t.completed(S1, [5, 5])  # 10 points, 2 items
    s2 = await t.completed(S2, [8, 3])  # 11 points, 2 items
    s3 = await t.completed(S3, [8, 5])  # 13 points, 2 items
    n = await backlog(t)
    # D and E are in the active sprint: unfinished, so still part of the remaining work.
    s4 = await t.factory.sprint(
        "WEB", t.owner, items=[n["d"], n["e"]], start_date=S4[0], end_date=S4[1], start=True
    )

    body = await t.forecast(seed=7, sprints=2)

    assert body["unit"] == "points"
    assert body["trials"] == 10_000 and body["seed"] == 7 and body["as_of"] is None
    # Counted in rank order: A8 B8 D5 E1 F13 G5 = 40 points; C has no estimate.
    assert body["scope"]["kind"] == "backlog"
    assert (body["scope"]["count"], body["scope"]["total"]) == (6, 40)
    assert scope_items(body) == [
        (n["a"], 8, 8),
        (n["b"], 8, 16),
        (n["d"], 5, 21),
        (n["e"], 1, 22),
        (n["f"], 13, 35),
        (n["g"], 5, 40),
    ]
    assert [i["position"] for i in body["scope"]["items"]] == [1, 2, 3, 4, 5, 6]
    assert body["unestimated_left_out"] == 1
    # Most recent first; the planned and active sprints are no history.
    assert body["history"]["requested"] == 10 and body["history"]["used"] == 3
    assert [(s["number"], s["value"]) for s in body["history"]["sprints"]] == [
        (s3, 13),
        (s2, 11),
        (s1, 10),
    ]
    assert body["history"]["mean"] == round(34 / 3, 6)
    # Sprints give 10 to 13 points: 40 points take ceil(40/13) = 4 at best and ceil(40/10) = 4
    # at worst, so every trial needs exactly 4 sprints. Sprint 1 is the active sprint (ends
    # Fri 1 March 2030); then 14-day slots from the Monday after, ending on a Friday: 15 March,
    # 29 March, 12 April.
    assert percentiles(body) == [
        (50, 4, "2030-04-12"),
        (70, 4, "2030-04-12"),
        (85, 4, "2030-04-12"),
        (95, 4, "2030-04-12"),
    ]
    assert body["histogram"] == [
        {"sprints": 4, "trials": 10_000, "probability": 1.0, "cumulative_probability": 1.0}
    ]
    assert body["unfinished_trials"] == 0
    # Two sprints from {10, 11, 13} total 20 (1/9), 21 (2/9), 22 (1/9), 23 (2/9), 24 (2/9)
    # or 26 (1/9). At least 50 % reach 23 (5/9 do, 3/9 reach 24); 85 % reach 21 (8/9 do,
    # 6/9 reach 22); 95 % only 20. The nearest threshold is 8/9 against 85 %: eight standard
    # deviations with 10,000 trials. Items fit in rank order: A B D E = 22, A B D = 21, A B = 16.
    assert body["reverse"] == {
        "sprints": 2,
        "end_date": "2030-03-15",
        "levels": [
            {"confidence": 50, "value": 23, "items": [n["a"], n["b"], n["d"], n["e"]]},
            {"confidence": 85, "value": 21, "items": [n["a"], n["b"], n["d"]]},
            {"confidence": 95, "value": 20, "items": [n["a"], n["b"]]},
        ],
    }
    assert "Bootstrap Monte Carlo with 10000 trials (seed 7)" in body["method"]
    assert "(13, 11, 10)" in body["method"]

    # The same seed repeats the run exactly.
    assert await t.forecast(seed=7, sprints=2) == body
    # Without a seed one is picked and returned; sending it back repeats that run.
    picked = await t.forecast(trials=1000)
    assert isinstance(picked["seed"], int) and 0 <= picked["seed"] < 2**53
    assert await t.forecast(trials=1000, seed=picked["seed"]) == picked

    # A planned one-week sprint (4 to 8 March) is the second sprint: then 22 March, 5 April.
    s5 = await t.factory.sprint("WEB", t.owner, start_date="2030-03-04", end_date="2030-03-08")
    planned = await t.forecast(seed=7)
    assert [p["completion_date"] for p in planned["percentiles"]] == ["2030-04-05"] * 4
    assert planned["reverse"] is None
    # Cancelled, it frees its dates again.
    cancelled = await client.post(f"{PROJECT}/sprints/{s5}/cancel", headers=t.owner.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (await t.forecast(seed=7))["percentiles"][0]["completion_date"] == "2030-04-12"

    # Only the latest two sprints: 13 and 11 still need exactly 4 sprints for 40 points.
    latest = await t.forecast(seed=7, history=2)
    assert latest["history"]["used"] == 2
    assert [s["number"] for s in latest["history"]["sprints"]] == [s3, s2]
    assert [p["sprints"] for p in latest["percentiles"]] == [4, 4, 4, 4]

    # Finishing the active sprint's work leaves A B F G = 34 points.
    await t.finish(n["d"])
    await t.finish(n["e"])
    await t.complete(s4, 6)
    after = await t.forecast(seed=7)
    assert (after["scope"]["count"], after["scope"]["total"]) == (4, 34)
    newest = after["history"]["sprints"][0]
    assert (newest["number"], newest["value"]) == (s4, 6)


async def test_epic_scope_counts_its_unfinished_children(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    t = await team(client, factory)
    await t.completed(S1, [5, 5])
    await t.completed(S2, [8, 3])
    await t.completed(S3, [8, 5])
    n = await backlog(t)

    body = await t.forecast(scope="epic", epic=n["epic"], seed=1, sprints=1)

    # B8 D5 G5 = 18 points (Z is done): ceil(18/13) = ceil(18/10) = 2 sprints. No sprint is
    # active or planned: sprint 1 is the slot after S3 (18 Feb to 1 Mar), sprint 2 ends 15 Mar.
    assert body["scope"] == {**body["scope"], "kind": "epic", "epic": n["epic"], "until": None}
    assert scope_items(body) == [(n["b"], 8, 8), (n["d"], 5, 13), (n["g"], 5, 18)]
    assert body["unestimated_left_out"] == 0
    assert percentiles(body) == [
        (50, 2, "2030-03-15"),
        (70, 2, "2030-03-15"),
        (85, 2, "2030-03-15"),
        (95, 2, "2030-03-15"),
    ]
    # One sprint does 10 to 13 points: B8 fits at every confidence, B + D = 13 only if 13.
    assert body["reverse"]["end_date"] == "2030-03-01"
    assert [(lv["confidence"], lv["value"], lv["items"]) for lv in body["reverse"]["levels"]] == [
        (50, 11, [n["b"]]),
        (85, 10, [n["b"]]),
        (95, 10, [n["b"]]),
    ]
    # `epic=<n>` alone selects the epic scope.
    assert (await t.forecast(epic=n["epic"], seed=1))["percentiles"] == body["percentiles"]


async def test_until_cuts_the_backlog_at_an_item(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    t = await team(client, factory)
    await t.completed(S1, [5, 5])
    await t.completed(S2, [8, 3])
    await t.completed(S3, [8, 5])
    n = await backlog(t)

    # Up to C, C included: A8 B8 = 16 points, C left out; ceil(16/13) = ceil(16/10) = 2.
    body = await t.forecast(until=n["c"], seed=2)
    assert body["scope"]["until"] == n["c"]
    assert scope_items(body) == [(n["a"], 8, 8), (n["b"], 8, 16)]
    assert body["unestimated_left_out"] == 1
    assert [p["sprints"] for p in body["percentiles"]] == [2, 2, 2, 2]
    # Moving F to the top brings it above the cut-off.
    moved = await client.post(
        f"{PROJECT}/items/{n['f']}/move", json={"top": True}, headers=t.owner.headers
    )
    assert moved.status_code == 200, moved.text
    body = await t.forecast(until=n["c"], seed=2)
    assert scope_items(body) == [(n["f"], 13, 13), (n["a"], 8, 21), (n["b"], 8, 29)]
    # With the epic: only its children at or above the cut-off.
    body = await t.forecast(epic=n["epic"], until=n["d"], seed=2)
    assert scope_items(body) == [(n["b"], 8, 8), (n["d"], 5, 13)]


async def test_items_as_the_unit(client: httpx.AsyncClient, factory: Factory) -> None:
    t = await team(client, factory)
    await t.completed(S1, [5, 5])
    await t.completed(S2, [8, 3])
    await t.completed(S3, [8, 5])
    n = await backlog(t)

    body = await t.forecast(unit="items", seed=3, sprints=3)

    # Every sprint completed 2 items; 7 items (C too: estimates do not matter) take 4 sprints.
    assert body["unit"] == "items"
    assert [s["value"] for s in body["history"]["sprints"]] == [2, 2, 2]
    assert (body["scope"]["count"], body["scope"]["total"]) == (7, 7)
    assert body["unestimated_left_out"] == 0
    assert [i["number"] for i in body["scope"]["items"]] == [
        n["a"],
        n["b"],
        n["c"],
        n["d"],
        n["e"],
        n["f"],
        n["g"],
    ]
    assert [i["value"] for i in body["scope"]["items"]] == [1] * 7
    assert [p["sprints"] for p in body["percentiles"]] == [4, 4, 4, 4]
    # Three sprints do exactly 6 items: the first six.
    assert [(lv["value"], len(lv["items"])) for lv in body["reverse"]["levels"]] == [(6, 6)] * 3


# --- replaying a past day -------------------------------------------------------------------------


async def shift_back(database: Database, days: int) -> None:
    """Move everything recorded so far `days` into the past."""
    shift = f"interval '{days} days'"
    async with database.engine.begin() as connection:
        await connection.execute(text(f"UPDATE projects SET created_at = created_at - {shift}"))
        await connection.execute(
            text(f"UPDATE item_events SET occurred_at = occurred_at - {shift}")
        )
        await connection.execute(
            text(
                f"UPDATE sprints SET created_at = created_at - {shift}, "
                f"started_at = started_at - {shift}, completed_at = completed_at - {shift}"
            )
        )


async def test_as_of_replays_the_forecast_of_a_past_day(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    t = await team(client, factory)
    s1 = await t.completed(S1, [5, 5])
    s2 = await t.completed(S2, [8, 3])
    s3, s3_items = await t.sprint(S3, [8, 5])
    for item in s3_items:
        await t.finish(item)
    n = await backlog(t)
    await shift_back(database, 10)
    past = (clock.now() - timedelta(days=5)).date().isoformat()
    # Since then: S3 completed, A re-estimated, B finished, F deleted, H added, E to the top.
    await t.complete(s3, 13)
    patched = await client.patch(
        f"{PROJECT}/items/{n['a']}", json={"points": 13}, headers=t.owner.headers
    )
    assert patched.status_code == 200, patched.text
    await t.finish(n["b"])
    deleted = await client.delete(f"{PROJECT}/items/{n['f']}", headers=t.owner.headers)
    assert deleted.status_code == 204, deleted.text
    h = await t.item("H", 3)
    moved = await client.post(
        f"{PROJECT}/items/{n['e']}/move", json={"top": True}, headers=t.owner.headers
    )
    assert moved.status_code == 200, moved.text

    now = await t.forecast(seed=4)
    # Now: E1 A13 D5 G5 H3 = 27 points from sprints of 13, 11, 10: exactly 3 sprints. No
    # sprint is active: 18 Feb to 1 Mar, then 15 Mar, 29 Mar.
    assert scope_items(now) == [
        (n["e"], 1, 1),
        (n["a"], 13, 14),
        (n["d"], 5, 19),
        (n["g"], 5, 24),
        (h, 3, 27),
    ]
    assert [s["number"] for s in now["history"]["sprints"]] == [s3, s2, s1]
    assert percentiles(now)[0] == (50, 3, "2030-03-29")

    then = await t.forecast(seed=4, as_of=past)
    # Then: the old backlog (A8 B8 D5 E1 F13 G5 = 40, C unestimated) and only S2 and S1
    # (11, 10): ceil(40/11) = ceil(40/10) = 4. S3 was active then: sprint 1 ends 15 Feb,
    # then 1 Mar, 15 Mar, 29 Mar.
    assert then["as_of"] == past and then["forecast_date"] == past
    assert scope_items(then) == [
        (n["a"], 8, 8),
        (n["b"], 8, 16),
        (n["d"], 5, 21),
        (n["e"], 1, 22),
        (n["f"], 13, 35),
        (n["g"], 5, 40),
    ]
    assert then["scope"]["items"][4]["title"] == "F"  # deleted since, rebuilt from the log
    assert then["unestimated_left_out"] == 1
    assert [(s["number"], s["value"]) for s in then["history"]["sprints"]] == [(s2, 11), (s1, 10)]
    assert percentiles(then) == [
        (50, 4, "2030-03-29"),
        (70, 4, "2030-03-29"),
        (85, 4, "2030-03-29"),
        (95, 4, "2030-03-29"),
    ]
    # The cut-off and the epic as they were then: B was above C, and still open.
    cut = await t.forecast(seed=4, as_of=past, until=n["b"])
    assert scope_items(cut) == [(n["a"], 8, 8), (n["b"], 8, 16)]
    epic = await t.forecast(seed=4, as_of=past, epic=n["epic"])
    assert [i["number"] for i in epic["scope"]["items"]] == [n["b"], n["d"], n["g"]]
    # An item created since was no cut-off then.
    assert_problem(await t.get(as_of=past, until=h), 422, "query.until")
    # Eleven days ago the project did not exist yet; tomorrow has not happened.
    long_ago = (clock.now() - timedelta(days=11)).date().isoformat()
    assert_problem(await t.get(as_of=long_ago), 422, "query.as_of")
    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    assert_problem(await t.get(as_of=tomorrow), 422, "query.as_of")
    # Seven days ago only S1 and S2 were complete, too: still enough history.
    week = (clock.now() - timedelta(days=7)).date().isoformat()
    assert (await t.forecast(seed=4, as_of=week))["history"]["used"] == 2


# --- too little history -------------------------------------------------------------------------


async def test_fewer_than_two_completed_sprints_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    t = await team(client, factory)
    await t.item("Work", 5)
    body = assert_problem(await t.get(), 409)
    assert "at least 2 completed sprints" in body["detail"] and "has 0" in body["detail"]
    await t.completed(S1, [5])
    # A cancelled sprint never counts, nor does an active one.
    cancelled = await t.factory.sprint("WEB", t.owner, start_date=S2[0], end_date=S2[1])
    response = await client.post(f"{PROJECT}/sprints/{cancelled}/cancel", headers=t.owner.headers)
    assert response.status_code == 200, response.text
    await t.sprint(S3, [3])
    body = assert_problem(await t.get(), 409)
    assert "has 1" in body["detail"]


async def test_a_team_that_never_completed_anything_gets_no_forecast(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    t = await team(client, factory)
    for dates in (S1, S2):
        number, _ = await t.sprint(dates, [3])
        await t.complete(number, 0)
    await t.item("Work", 5)
    body = assert_problem(await t.get(), 409)
    assert "completed no points" in body["detail"]


async def test_nothing_left_needs_no_sprint(client: httpx.AsyncClient, factory: Factory) -> None:
    t = await team(client, factory)
    await t.completed(S1, [5])
    await t.completed(S2, [3])
    body = await t.forecast(seed=5, sprints=1)
    assert (body["scope"]["count"], body["scope"]["total"]) == (0, 0)
    today = body["forecast_date"]
    assert percentiles(body) == [(p, 0, today) for p in (50, 70, 85, 95)]
    assert body["histogram"] == [
        {"sprints": 0, "trials": 10_000, "probability": 1.0, "cumulative_probability": 1.0}
    ]
    assert [lv["items"] for lv in body["reverse"]["levels"]] == [[], [], []]


# --- validation and access ----------------------------------------------------------------------


async def test_bad_parameters_are_named(client: httpx.AsyncClient, factory: Factory) -> None:
    t = await team(client, factory)
    await t.completed(S1, [5])
    await t.completed(S2, [3])
    epic = await t.item("Epic", type="epic")
    story = await t.item("Story", 3)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"scope": "sprint"}, "query.scope"),
        ({"scope": "release"}, "query.release"),
        ({"scope": "epic"}, "query.epic"),
        ({"scope": "backlog", "epic": epic}, "query.epic"),
        ({"epic": story}, "query.epic"),
        ({"epic": 9_999}, "query.epic"),
        ({"epic": 0}, "query.epic"),
        ({"epic": 2**40}, "query.epic"),
        ({"until": 9_999}, "query.until"),
        ({"until": "first"}, "query.until"),
        ({"unit": "hours"}, "query.unit"),
        ({"history": 1}, "query.history"),
        ({"history": 51}, "query.history"),
        ({"trials": 999}, "query.trials"),
        ({"trials": 100_001}, "query.trials"),
        ({"seed": -1}, "query.seed"),
        ({"seed": 2**63}, "query.seed"),
        ({"sprints": 0}, "query.sprints"),
        ({"sprints": 101}, "query.sprints"),
        ({"as_of": "yesterday"}, "query.as_of"),
        ({"as_of": "2020-01-01"}, "query.as_of"),
        ({"as_of": "2999-01-01"}, "query.as_of"),
    ]
    for params, field in cases:
        assert_problem(await t.get(**params), 422, field)
    # Bounds themselves are fine.
    body = await t.forecast(history=50, trials=1_000, sprints=100, seed=0, epic=epic)
    assert body["history"]["requested"] == 50 and body["reverse"]["sprints"] == 100


async def test_viewers_read_outsiders_learn_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    t = await team(client, factory)
    await t.completed(S1, [5])
    await t.completed(S2, [3])
    viewer, outsider = await factory.user(), await factory.user()
    await factory.member("WEB", t.owner, viewer, Role.VIEWER)
    await factory.project(outsider, "OUT")
    assert (await t.forecast(viewer, seed=1)) == (await t.forecast(seed=1))
    assert_problem(await t.get(outsider), 404)
    assert_problem(await client.get(FORECAST), 401)
