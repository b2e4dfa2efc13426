"""The budget page with figures worked out by hand: spent at member and default rates, burn
per sprint, the burn rate, the projection and its flag; rates; bad input; owners only."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.budgets import service as budgets
from app.domain.budgets.models import Budget, MemberRate
from app.domain.projects import repository as projects_repository
from app.domain.releases.models import Release, ReleaseState
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, etag_version

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
SPRINTS = f"{PROJECTS}/WEB/sprints"
BUDGET = f"{PROJECTS}/WEB/budget"

PLAN = {
    "hours": 100,
    "amount": "4000.00",
    "currency": "EUR",
    "default_hourly_rate": "50.00",
    "planned_end_date": "2026-12-31",
}


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


@pytest.fixture(autouse=True)
def monday(time_machine: TimeMachineFixture) -> None:
    freeze(time_machine, "2026-11-30T12:00:00")


async def sprint(
    client: httpx.AsyncClient, owner: Actor, start: str, end: str, *, complete: bool = True
) -> int:
    """A sprint over the dates, started, and completed unless told otherwise."""
    made = await client.post(
        SPRINTS, headers=owner.headers, json={"start_date": start, "end_date": end}
    )
    assert made.status_code == 201, made.text
    number: int = made.json()["number"]
    started = await client.post(f"{SPRINTS}/{number}/start", headers=owner.headers)
    assert started.status_code == 200, started.text
    if complete:
        done = await client.post(
            f"{SPRINTS}/{number}/complete", headers=owner.headers, json={"carry_over": "backlog"}
        )
        assert done.status_code == 200, done.text
    return number


async def log(client: httpx.AsyncClient, actor: Actor, number: int, day: str, hours: float) -> None:
    made = await client.post(
        f"{ITEMS}/{number}/worklogs", headers=actor.headers, json={"date": day, "hours": hours}
    )
    assert made.status_code == 201, made.text


async def put_budget(client: httpx.AsyncClient, owner: Actor, **body: Any) -> dict[str, Any]:
    response = await client.put(BUDGET, headers=owner.headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def put_rate(
    client: httpx.AsyncClient, owner: Actor, user_id: int, rate: Any
) -> httpx.Response:
    return await client.put(
        f"{BUDGET}/rates/{user_id}", headers=owner.headers, json={"hourly_rate": rate}
    )


async def get_budget(client: httpx.AsyncClient, owner: Actor) -> dict[str, Any]:
    response = await client.get(BUDGET, headers=owner.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def worked(client: httpx.AsyncClient, factory: Factory) -> tuple[Actor, Actor]:
    """WEB (Mon–Fri): sprint 1 (Nov 2–13) and 2 (Nov 16–27) completed, 3 (Nov 30–Dec 11)
    active; it is Monday Nov 30. The owner logs 8 h (Nov 3), 6 h (Nov 20) and 4 h (Oct 30,
    outside any sprint); the member 6 h (Nov 5), 10 h (Nov 17) and 2 h (today)."""
    owner, member, _, _ = await factory.team()
    await sprint(client, owner, "2026-11-02", "2026-11-13")
    await sprint(client, owner, "2026-11-16", "2026-11-27")
    await sprint(client, owner, "2026-11-30", "2026-12-11", complete=False)
    number = await factory.item("WEB", owner)
    for actor, day, hours in (
        (owner, "2026-11-03", 8),
        (member, "2026-11-05", 6),
        (member, "2026-11-17", 10),
        (owner, "2026-11-20", 6),
        (member, "2026-11-30", 2),
        (owner, "2026-10-30", 4),
    ):
        await log(client, actor, number, day, hours)
    return owner, member


async def test_the_budget_page_worked_out_by_hand(
    client: httpx.AsyncClient, worked: tuple[Actor, Actor]
) -> None:
    owner, member = worked
    await put_budget(client, owner, **PLAN)
    assert (await put_rate(client, owner, member.id, "80.00")).status_code == 201

    page = await get_budget(client, owner)

    assert {name: page[name] for name in PLAN} | {"default_hourly_rate": "50.00"} == PLAN
    assert [(rate["member"]["id"], rate["hourly_rate"]) for rate in page["rates"]] == [
        (member.id, "80.00")
    ]
    # Owner 18 h * 50 + member 18 h * 80 = 900 + 1440.
    assert page["spent"] == {"hours": 36, "amount": "2340.00", "unpriced_hours": 0}
    assert page["remaining"] == {"hours": 64, "amount": "1660.00"}
    # Sprint 1: 8 * 50 + 6 * 80; sprint 2: 10 * 80 + 6 * 50; sprint 3: 2 * 80.
    assert [
        (entry["sprint"]["number"], entry["sprint"]["state"], entry["hours"], entry["amount"])
        for entry in page["burn"]
    ] == [
        (1, "completed", 14, "880.00"),
        (2, "completed", 16, "1100.00"),
        (3, "active", 2, "160.00"),
    ]
    assert page["burn"][0]["sprint"] | {"name": None} == {
        "number": 1,
        "name": None,
        "state": "completed",
        "start_date": "2026-11-02",
        "end_date": "2026-11-13",
    }
    # 30 h and 1980.00 over the 20 working days of sprints 1 and 2.
    assert page["burn_rate"] == {
        "hours_per_day": 1.5,
        "amount_per_day": "99.00",
        "sprints": [1, 2],
        "working_days": 20,
    }
    # 23 working days from Tue Dec 1 to Thu Dec 31: 36 + 1.5 * 23 h; 2340 + 99 * 23.
    assert page["projection"] == {
        "end_date": "2026-12-31",
        "end_date_source": "planned_end_date",
        "working_days_left": 23,
        "hours": 70.5,
        "amount": "4617.00",
    }
    assert page["projection_reason"] is None
    assert page["projected_over_budget"] is True  # 4617.00 passes 4000.00


async def test_the_flag_follows_either_budget(
    client: httpx.AsyncClient, worked: tuple[Actor, Actor]
) -> None:
    owner, member = worked
    await put_budget(client, owner, currency="EUR")
    assert (await put_rate(client, owner, member.id, "80.00")).status_code == 201

    within = await put_budget(client, owner, **{**PLAN, "amount": "5000.00"})
    assert within["projected_over_budget"] is False  # 70.5 h <= 100 h, 4617.00 <= 5000.00
    hours_over = await put_budget(client, owner, **{**PLAN, "amount": None, "hours": 70})
    assert hours_over["projected_over_budget"] is True  # 70.5 h > 70 h
    exactly = await put_budget(client, owner, **{**PLAN, "amount": "4617.00", "hours": 70.5})
    assert exactly["projected_over_budget"] is False
    no_limits = await put_budget(client, owner, currency="EUR", planned_end_date="2026-12-31")
    assert no_limits["projection"]["hours"] == 70.5
    assert no_limits["projected_over_budget"] is None
    assert no_limits["remaining"] == {"hours": None, "amount": None}


async def test_hours_without_a_rate_are_unpriced(
    client: httpx.AsyncClient, worked: tuple[Actor, Actor]
) -> None:
    owner, member = worked
    await put_budget(client, owner, hours=100, currency="EUR", planned_end_date="2026-12-31")
    assert (await put_rate(client, owner, member.id, 80)).status_code == 201

    page = await get_budget(client, owner)

    # Only the member's 18 h have a rate; the owner's 18 h have none.
    assert page["spent"] == {"hours": 36, "amount": "1440.00", "unpriced_hours": 18}
    assert [entry["amount"] for entry in page["burn"]] == ["480.00", "800.00", "160.00"]
    assert page["burn_rate"]["amount_per_day"] == "64.00"  # 1280.00 / 20
    assert page["projection"]["amount"] == "2912.00"  # 1440 + 64 * 23


async def test_hours_only_budget_has_no_money_anywhere(
    client: httpx.AsyncClient, worked: tuple[Actor, Actor]
) -> None:
    owner, _ = worked
    page = await put_budget(client, owner, hours=50, planned_end_date="2026-12-31")

    assert page["spent"] == {"hours": 36, "amount": None, "unpriced_hours": 36}
    assert page["remaining"] == {"hours": 14, "amount": None}
    assert [entry["amount"] for entry in page["burn"]] == [None, None, None]
    assert page["burn_rate"]["amount_per_day"] is None
    assert (page["projection"]["hours"], page["projection"]["amount"]) == (70.5, None)
    assert page["projected_over_budget"] is True


async def test_the_projection_runs_to_the_latest_planned_release(
    client: httpx.AsyncClient, worked: tuple[Actor, Actor], database: Database
) -> None:
    owner, _ = worked
    await put_budget(client, owner, hours=100)
    async with database.sessions() as session, session.begin():
        project_id: int = (
            await session.execute(text("SELECT id FROM projects WHERE key = 'WEB'"))
        ).scalar_one()
        for name, target, state in (
            ("1.0", date(2026, 12, 8), ReleaseState.PLANNED),
            ("1.1", date(2026, 12, 15), ReleaseState.PLANNED),
            ("0.9", date(2027, 1, 31), ReleaseState.RELEASED),
            ("old", date(2027, 3, 1), ReleaseState.ARCHIVED),
        ):
            number = await projects_repository.take_numbers(session, project_id, "release")
            shipped = target if state != ReleaseState.PLANNED else None
            release = Release(
                project_id=project_id, number=number, name=name, target_date=target, state=state
            )
            release.released_on = shipped
            release.released_at = None if shipped is None else datetime(2026, 11, 2, tzinfo=UTC)
            session.add(release)

    page = await get_budget(client, owner)

    # Dec 1-15 holds 11 working days: 36 + 1.5 * 11.
    assert page["projection"] == {
        "end_date": "2026-12-15",
        "end_date_source": "release",
        "working_days_left": 11,
        "hours": 52.5,
        "amount": None,
    }
    assert page["projected_over_budget"] is False
    # The budget's own planned end date wins over the releases.
    dated = await put_budget(client, owner, hours=100, planned_end_date="2026-12-04")
    assert (dated["projection"]["end_date"], dated["projection"]["working_days_left"]) == (
        "2026-12-04",
        4,
    )
    # An end date in the past leaves nothing to add.
    past = await put_budget(client, owner, hours=30, planned_end_date="2026-11-01")
    assert (past["projection"]["working_days_left"], past["projection"]["hours"]) == (0, 36)
    assert past["projected_over_budget"] is True


async def test_without_enough_to_project_the_reason_is_given(
    client: httpx.AsyncClient, factory: Factory, worked: tuple[Actor, Actor]
) -> None:
    owner, _ = worked
    no_end = await put_budget(client, owner, hours=100)
    assert no_end["burn_rate"] is not None
    assert (no_end["projection"], no_end["projection_reason"]) == (None, "no_end_date")
    assert no_end["projected_over_budget"] is None

    fresh = await factory.owner("OPS")
    response = await client.put(
        f"{PROJECTS}/OPS/budget",
        headers=fresh.headers,
        json={"hours": 10, "planned_end_date": "2026-12-31"},
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["burn"], page["burn_rate"], page["projection"]) == ([], None, None)
    assert page["projection_reason"] == "no_completed_sprint"
    assert page["spent"] == {"hours": 0, "amount": None, "unpriced_hours": 0}


async def test_the_burn_rate_comes_from_the_last_three_completed_sprints(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await factory.item("WEB", owner)
    weeks = [("2026-11-02", "2026-11-06"), ("2026-11-09", "2026-11-13")]
    weeks += [("2026-11-16", "2026-11-20"), ("2026-11-23", "2026-11-27")]
    await sprint(client, owner, "2026-10-26", "2026-10-30")  # before anyone logged time
    for (start, end), hours in zip(weeks, (10, 20, 30, 40), strict=True):
        await sprint(client, owner, start, end)
        await log(client, owner, number, start, hours / 2)
        await log(client, owner, number, end, hours / 2)
    await sprint(client, owner, "2026-11-28", "2026-11-28")  # a Saturday: nothing logged

    page = await put_budget(client, owner, hours=200, planned_end_date="2026-12-04")

    # (20 + 30 + 40) h over 15 working days; 4 working days left (Dec 1-4).
    assert page["burn_rate"]["sprints"] == [3, 4, 5]
    assert (page["burn_rate"]["hours_per_day"], page["burn_rate"]["working_days"]) == (6, 15)
    assert page["projection"]["hours"] == 124  # 100 + 6 * 4


async def test_a_weekend_only_history_has_no_working_days(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await sprint(client, owner, "2026-11-28", "2026-11-29")  # a Saturday and a Sunday
    await log(client, owner, await factory.item("WEB", owner), "2026-11-28", 3)

    page = await put_budget(client, owner, hours=10, planned_end_date="2026-12-31")

    assert (page["burn_rate"], page["projection"]) == (None, None)
    assert page["projection_reason"] == "no_working_days"


async def test_versions_etags_and_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()

    unset = await client.get(BUDGET, headers=owner.headers)
    assert unset.json()["version"] == 1 and etag_version(unset) == 1
    assert unset.json()["hours"] is None and unset.json()["rates"] == []
    first = await client.put(
        BUDGET, headers={**owner.headers, "If-Match": '"1"'}, json={"hours": 5}
    )
    assert first.status_code == 200 and etag_version(first) == first.json()["version"] == 2
    same = await client.put(BUDGET, headers=owner.headers, json={"hours": 5})
    assert same.json()["version"] == 2
    stale = await client.put(
        BUDGET, headers={**owner.headers, "If-Match": '"1"'}, json={"hours": 6}
    )
    assert_problem(stale, 412)
    cleared = await put_budget(client, owner)
    assert (cleared["hours"], cleared["version"]) == (None, 3)


async def test_bad_budgets_are_422s_naming_the_field_and_write_nothing(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"hours": -1}, "body.hours"),
        ({"hours": 1.001}, "body.hours"),
        ({"hours": "10"}, "body.hours"),
        ({"amount": "-0.01", "currency": "EUR"}, "body.amount"),
        ({"amount": "12.345", "currency": "EUR"}, "body.amount"),
        ({"amount": "lots", "currency": "EUR"}, "body.amount"),
        ({"amount": True, "currency": "EUR"}, "body.amount"),
        ({"amount": "NaN", "currency": "EUR"}, "body.amount"),
        ({"default_hourly_rate": -5, "currency": "EUR"}, "body.default_hourly_rate"),
        ({"currency": "eur"}, "body.currency"),
        ({"currency": "EURO"}, "body.currency"),
        ({"amount": "100.00"}, "body.currency"),
        ({"default_hourly_rate": "60"}, "body.currency"),
        ({"planned_end_date": "next year"}, "body.planned_end_date"),
        ({"hours": 10, "budget": 5}, "body.budget"),
    ]
    for body, field in cases:
        assert_problem(await client.put(BUDGET, headers=owner.headers, json=body), 422, field)
    async with database.sessions() as session:
        stored = (await session.execute(select(func.count()).select_from(Budget))).scalar_one()
    assert stored == 0


async def test_member_rates_need_a_currency_and_a_member(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, viewer, outsider = await factory.team()

    assert_problem(await put_rate(client, owner, member.id, "70.00"), 409)
    await put_budget(client, owner, currency="GBP")
    for bad in (-1, "70.001", "x", None, False):
        assert_problem(await put_rate(client, owner, member.id, bad), 422, "body.hourly_rate")
    assert_problem(await put_rate(client, owner, outsider.id, "70.00"), 404)
    assert_problem(await put_rate(client, owner, 0, "70.00"), 404)
    created = await put_rate(client, owner, member.id, "70.00")
    assert created.status_code == 201, created.text
    assert etag_version(created) == created.json()["version"] == 1
    assert created.headers["location"] == f"/api/v1/projects/WEB/budget/rates/{member.id}"
    replaced = await put_rate(client, owner, member.id, 72.5)
    assert replaced.status_code == 200
    assert (replaced.json()["hourly_rate"], replaced.json()["version"]) == ("72.50", 2)
    stale = await client.put(
        f"{BUDGET}/rates/{member.id}",
        headers={**owner.headers, "If-Match": '"1"'},
        json={"hourly_rate": 1},
    )
    assert_problem(stale, 412)
    assert (await put_rate(client, owner, viewer.id, "10.00")).status_code == 201
    # Member rates are in the budget's currency: clearing it while they exist is refused.
    refused = await client.put(BUDGET, headers=owner.headers, json={"hours": 10})
    assert_problem(refused, 409, "body.currency")

    deleted = await client.delete(f"{BUDGET}/rates/{member.id}", headers=owner.headers)
    assert deleted.status_code == 204
    assert_problem(await client.delete(f"{BUDGET}/rates/{member.id}", headers=owner.headers), 404)
    page = await get_budget(client, owner)
    assert [rate["member"]["id"] for rate in page["rates"]] == [viewer.id]
    async with database.sessions() as session:
        rates = (await session.execute(select(func.count()).select_from(MemberRate))).scalar_one()
    assert rates == 1


async def test_a_former_member_keeps_pricing_their_logged_hours(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, _, _ = await factory.team()
    number = await factory.item("WEB", owner)
    await log(client, member, number, "2026-11-27", 4)
    await put_budget(client, owner, currency="EUR", default_hourly_rate="50.00")
    left = await client.delete(f"{PROJECTS}/WEB/members/{member.id}", headers=owner.headers)
    assert left.status_code == 204, left.text

    assert (await put_rate(client, owner, member.id, "90.00")).status_code == 201
    page = await get_budget(client, owner)
    assert page["spent"] == {"hours": 4, "amount": "360.00", "unpriced_hours": 0}


async def test_budgets_and_rates_are_for_owners_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, member, viewer, _ = await factory.team()
    for actor in (member, viewer):
        assert_problem(await client.get(BUDGET, headers=actor.headers), 403)
        assert_problem(await client.put(BUDGET, headers=actor.headers, json={"hours": 1}), 403)
        assert_problem(await put_rate(client, actor, member.id, "1.00"), 403)
        assert_problem(
            await client.delete(f"{BUDGET}/rates/{member.id}", headers=actor.headers), 403
        )
    assert (await client.get(BUDGET, headers=owner.headers)).status_code == 200


async def test_spent_vs_planned_for_the_closing_summary(
    client: httpx.AsyncClient, worked: tuple[Actor, Actor], database: Database
) -> None:
    owner, member = worked

    async def totals() -> budgets.BudgetTotals:
        async with database.sessions() as session:
            found = await projects_repository.project_with_role(session, "WEB", owner.id)
            assert found is not None
            return await budgets.spent_vs_planned(session, found[0])

    bare = await totals()
    assert bare == budgets.BudgetTotals(None, Decimal("36.00"), None, None, None)
    await put_budget(client, owner, **PLAN)
    assert (await put_rate(client, owner, member.id, "80.00")).status_code == 201
    planned = await totals()
    assert planned == budgets.BudgetTotals(
        Decimal("100"), Decimal("36"), Decimal("4000"), Decimal("2340"), "EUR"
    )
    assert planned.to_json() == {
        "planned_hours": "100.00",
        "spent_hours": "36.00",
        "planned_amount": "4000.00",
        "spent_amount": "2340.00",
        "currency": "EUR",
    }
