"""Forecast workload (issue 5): Monte Carlo over 12 completed sprints for a 500-item backlog.

Run: `.venv/bin/python -m bench.forecast` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Prints a Markdown table; bench/README.md keeps the figures and the machine they came from.
"""

import asyncio
import random
from datetime import date, timedelta

import httpx

from bench.backlog import item_payload
from bench.harness import HEADER, Result, bench_database, run_workload, server
from bench.sprints import login

KEY = "FC"
BASE = f"/api/v1/projects/{KEY}"
SPRINTS = 12
BACKLOG = 500
# Two-week sprints back to back, Monday to Friday, all in the past.
FIRST_MONDAY = date(2026, 1, 5)


async def completed_sprint(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    rng: random.Random,
    index: int,
    done: int,
    done_status: int,
) -> None:
    """A sprint of eight items with explicit past dates, started, `done` of them finished."""
    batch = [item_payload(rng, 10_000 + index * 10 + n) | {"points": 3} for n in range(8)]
    created = await client.post(f"{BASE}/items/batch", json={"items": batch}, headers=headers)
    created.raise_for_status()
    numbers = [item["number"] for item in created.json()["data"]]
    start = FIRST_MONDAY + timedelta(days=14 * index)
    sprint = await client.post(
        f"{BASE}/sprints",
        json={
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=11)).isoformat(),
        },
        headers=headers,
    )
    sprint.raise_for_status()
    path = f"{BASE}/sprints/{sprint.json()['number']}"
    (
        await client.post(f"{path}/items", json={"items": numbers}, headers=headers)
    ).raise_for_status()
    (await client.post(f"{path}/start", headers=headers)).raise_for_status()
    for number in numbers[:done]:
        (
            await client.patch(
                f"{BASE}/items/{number}", json={"status_id": done_status}, headers=headers
            )
        ).raise_for_status()
    # Unfinished items go back to the top of the backlog, as teams' leftovers do.
    (await client.post(f"{path}/complete", headers=headers)).raise_for_status()


async def seed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Project FC: 12 completed sprints (3-point items, 4 to 8 done each), 500 backlog items."""
    rng = random.Random(5)
    (
        await client.post(
            "/api/v1/projects", json={"key": KEY, "name": "Forecast"}, headers=headers
        )
    ).raise_for_status()
    statuses = (await client.get(f"{BASE}/statuses", headers=headers)).json()["data"]
    done_status = next(status["id"] for status in statuses if status["category"] == "done")
    for index in range(SPRINTS):
        await completed_sprint(client, headers, rng, index, rng.randint(4, 8), done_status)
    payloads = [item_payload(rng, n) for n in range(BACKLOG)]
    for start in range(0, BACKLOG, 200):
        chunk = payloads[start : start + 200]
        (
            await client.post(f"{BASE}/items/batch", json={"items": chunk}, headers=headers)
        ).raise_for_status()


async def main(base: str) -> list[Result]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        headers = await login(client)
        await seed(client, headers)
        sample = (await client.get(f"{BASE}/forecast?seed=1", headers=headers)).json()
        today = sample["forecast_date"]
        print(
            f"{KEY}: {sample['scope']['count']} counted items, {sample['scope']['total']:g} "
            f"points, {sample['unestimated_left_out']} unestimated; history "
            f"{[s['value'] for s in sample['history']['sprints']]}; percentiles "
            f"{[(p['percentile'], p['sprints']) for p in sample['percentiles']]}; "
            f"{len(sample['histogram'])} histogram bars"
        )
        workloads = {
            "forecast (10,000 trials)": lambda c, i: c.get(
                f"{BASE}/forecast", params={"seed": i}, headers=headers
            ),
            "forecast + sprints=5": lambda c, i: c.get(
                f"{BASE}/forecast", params={"seed": i, "sprints": 5}, headers=headers
            ),
            "forecast, unit=items": lambda c, i: c.get(
                f"{BASE}/forecast", params={"seed": i, "unit": "items"}, headers=headers
            ),
            # Rebuilds the scope from the whole item log on every call.
            "forecast, as_of today": lambda c, i: c.get(
                f"{BASE}/forecast", params={"seed": i, "as_of": today}, headers=headers
            ),
        }
        return [
            await run_workload(client, name, request, 1, 200) for name, request in workloads.items()
        ]


if __name__ == "__main__":
    with bench_database() as url, server(url) as base:
        results = asyncio.run(main(base))
    print(HEADER)
    for result in results:
        print(result.row())
