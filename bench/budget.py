"""Budget workload (issue 14): the budget page of a project with a year of work logs by 5 people.

Run: `.venv/bin/python -m bench.budget [--workers N]` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Target: `GET /projects/{key}/budget` (spent at member and default rates, burn per sprint over 26
sprints, burn rate and projection) under 50 ms p95. Also timed, without a target: the year's
time report by sprint and by member. Prints a Markdown table with median, p95 and p99 and
PASS/FAIL, and the same figures for a plain `GET /projects/{key}` by the same owner: the ratio
to it shows how much of a budget read is the budget, on whatever machine runs this.
"""

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import httpx

from app.domain.kernel import clock
from bench.harness import (
    FIGURES_HEADER,
    Figures,
    bench_database,
    bench_user,
    join,
    server,
    time_serially,
)

PEOPLE = 5
SPRINTS = 26  # two weeks each: a year
ITEMS = 60
SAMPLES = 300
BASE = "/api/v1/projects/BUD"
TARGETS = {"read the budget page": 50.0}


async def _timed(name: str, request: Callable[[int], Awaitable[httpx.Response]]) -> Figures:
    return await time_serially(name, request, SAMPLES, TARGETS.get(name))


def _working_days(start: date, end: date) -> list[date]:
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [day for day in days if day.weekday() < 5]


async def seed(client: httpx.AsyncClient) -> tuple[dict[str, str], int]:
    """26 completed two-week sprints ending last Friday-ish, an active one, 5 people logging
    5-8 h on 1-3 items every working day of the year, a money budget with rates."""
    rng = random.Random(14)
    owner = await bench_user(client, "owner@example.com")
    (
        await client.post("/api/v1/projects", json={"key": "BUD", "name": "Budget"}, headers=owner)
    ).raise_for_status()
    people = [owner]
    ids: list[int] = []
    for n in range(1, PEOPLE):
        headers = await bench_user(client, f"member{n}@example.com")
        await join(client, BASE, owner, headers, f"member{n}@example.com")
        people.append(headers)
    for headers in people:
        ids.append((await client.get("/api/v1/me", headers=headers)).json()["id"])
    items = [
        (await client.post(f"{BASE}/items", json={"title": f"Story {n}"}, headers=owner)).json()[
            "number"
        ]
        for n in range(ITEMS)
    ]
    today = clock.today("UTC")
    active_start = today - timedelta(days=today.weekday())  # this week's Monday
    first = active_start - timedelta(weeks=2 * SPRINTS)
    for n in range(SPRINTS + 1):
        start = first + timedelta(weeks=2 * n)
        dates = {"start_date": str(start), "end_date": str(start + timedelta(days=11))}
        made = await client.post(f"{BASE}/sprints", json=dates, headers=owner)
        made.raise_for_status()
        number = made.json()["number"]
        (await client.post(f"{BASE}/sprints/{number}/start", headers=owner)).raise_for_status()
        if n < SPRINTS:
            done = await client.post(f"{BASE}/sprints/{number}/complete", json={}, headers=owner)
            done.raise_for_status()
    days = _working_days(first, today)
    logged = 0

    async def timesheet(headers: dict[str, str]) -> None:
        nonlocal logged
        for day in days:
            quarters = rng.randint(20, 32)
            pieces = rng.choice((1, 2, 2, 3))
            for index in range(pieces):
                share = quarters // pieces + (quarters % pieces if index == 0 else 0)
                response = await client.post(
                    f"{BASE}/items/{rng.choice(items)}/worklogs",
                    json={"date": str(day), "hours": share / 4},
                    headers=headers,
                )
                response.raise_for_status()
                logged += 1

    await asyncio.gather(*(timesheet(headers) for headers in people))
    plan = {
        "hours": 11000,
        "amount": "900000.00",
        "currency": "EUR",
        "default_hourly_rate": "75.00",
        "planned_end_date": str(today + timedelta(weeks=12)),
    }
    (await client.put(f"{BASE}/budget", json=plan, headers=owner)).raise_for_status()
    for user_id, rate in zip(ids[1:4], ("90.00", "82.50", "68.00"), strict=True):
        put = await client.put(
            f"{BASE}/budget/rates/{user_id}", json={"hourly_rate": rate}, headers=owner
        )
        put.raise_for_status()
    return owner, logged


async def main(base: str) -> list[Figures]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        owner, logged = await seed(client)
        page = (await client.get(f"{BASE}/budget", headers=owner)).json()
        print(
            f"seeded in {time.perf_counter() - started:.0f} s: {logged} work logs, "
            f"{page['spent']['hours']:.0f} h, {page['spent']['amount']} EUR spent, "
            f"{len(page['burn'])} sprints of burn, projected {page['projection']['hours']:.0f} h"
        )
        today = clock.today("UTC")
        year = {"from": str(today - timedelta(days=365)), "to": str(today)}

        def time_report(grouping: str) -> Callable[[int], Awaitable[httpx.Response]]:
            params = {**year, "group_by": grouping}
            return lambda i: client.get(f"{BASE}/time", params=params, headers=owner)

        return [
            await _timed("read the project (reference)", lambda i: client.get(BASE, headers=owner)),
            await _timed(
                "read the budget page", lambda i: client.get(f"{BASE}/budget", headers=owner)
            ),
            await _timed("time report, a year by sprint", time_report("sprint")),
            await _timed("time report, a year by member", time_report("member")),
        ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the server")
    arguments = parser.parse_args()
    with bench_database() as url, server(url, workers=arguments.workers) as base:
        figures = asyncio.run(main(base))
    print(FIGURES_HEADER)
    for result in figures:
        print(result.row())
    reference = figures[0].median_ms
    print()
    for result in figures[1:]:
        print(f"{result.name}: {result.median_ms / reference:.1f}x the reference median")
