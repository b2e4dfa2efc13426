"""The one clock: zones, pinned time, and rows that carry the clock's time."""

from datetime import UTC, date, datetime

import httpx
from time_machine import TimeMachineFixture

from app.domain.kernel import clock
from tests.factories import Factory
from tests.helpers import bearer, status_ids

# 23:30 on a Sunday in Berlin is already Monday in Tokyo and still Sunday in New York.
SUNDAY_NIGHT_BERLIN = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)


def test_today_is_the_date_in_the_given_zone(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(SUNDAY_NIGHT_BERLIN, tick=False)
    assert clock.now() == SUNDAY_NIGHT_BERLIN
    assert clock.today("Europe/Berlin") == date(2026, 12, 6)
    assert clock.today("Asia/Tokyo") == date(2026, 12, 7)
    assert clock.today("America/New_York") == date(2026, 12, 6)
    assert clock.today("UTC") == date(2026, 12, 6)


async def test_rows_carry_the_clock_not_the_database_time(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    leap_day = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    time_machine.move_to(leap_day, tick=False)
    owner = await factory.user()
    await factory.project(owner, "WEB")
    created = await client.post(
        "/api/v1/projects/WEB/items", json={"title": "Leap"}, headers=bearer(owner.token)
    )
    assert created.status_code == 201, created.text
    assert created.json()["created_at"] == "2028-02-29T12:00:00Z"
    history = await client.get("/api/v1/projects/WEB/items/1/history", headers=bearer(owner.token))
    assert {event["occurred_at"] for event in history.json()["data"]} == {"2028-02-29T12:00:00Z"}


async def test_everything_one_request_writes_carries_one_time(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # The clock ticks here: an item created straight into a done status is stamped done, then
    # inserted, then its event written; all of that must read as one moment, never done
    # before it was created.
    owner = await factory.user()
    await factory.project(owner, "WEB")
    done = (await status_ids(client, owner))["Done"]
    created = await client.post(
        "/api/v1/projects/WEB/items",
        json={"title": "Shipped already", "status_id": done},
        headers=bearer(owner.token),
    )
    assert created.status_code == 201, created.text
    item = created.json()
    history = await client.get("/api/v1/projects/WEB/items/1/history", headers=bearer(owner.token))
    moments = {event["occurred_at"] for event in history.json()["data"]}
    assert moments == {item["created_at"]}
    assert item["done_at"] == item["created_at"] == item["updated_at"]


def test_outside_a_transaction_the_clock_moves() -> None:
    with clock.transaction_time() as began:
        assert clock.now() == began
    assert clock.now() >= began
