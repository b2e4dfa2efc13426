"""Reports workload (issue 5): velocity over 100 sprints, burndown of a 300-item sprint with
3,000+ events, and every SVG chart.

Run: `.venv/bin/python -m bench.reports` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Prints a Markdown table; bench/README.md keeps the figures and the machine they came from.
"""

import asyncio
import random
from datetime import date, timedelta
from functools import partial

import httpx

from bench.harness import HEADER, Result, bench_database, run_workload, server
from bench.sprints import login
from bench.sprints import seed as seed_busy_sprint

SPRINTS = 100


async def seed_history(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Project VEL: 100 completed two-week sprints of 3-6 items each, most of them done."""
    rng = random.Random(100)
    base = "/api/v1/projects/VEL"
    (
        await client.post(
            "/api/v1/projects", json={"key": "VEL", "name": "Velocity"}, headers=headers
        )
    ).raise_for_status()
    statuses = (await client.get(f"{base}/statuses", headers=headers)).json()["data"]
    done = next(s["id"] for s in statuses if s["category"] == "done")
    start = date(2022, 1, 3)
    for number in range(1, SPRINTS + 1):
        batch = [
            {"title": f"Work {number}.{n}", "points": rng.choice([1, 2, 3, 5, 8])}
            for n in range(rng.randint(3, 6))
        ]
        created = await client.post(f"{base}/items/batch", json={"items": batch}, headers=headers)
        created.raise_for_status()
        numbers = [item["number"] for item in created.json()["data"]]
        sprint = {"start_date": str(start), "end_date": str(start + timedelta(days=11))}
        (await client.post(f"{base}/sprints", json=sprint, headers=headers)).raise_for_status()
        path = f"{base}/sprints/{number}"
        add = await client.post(f"{path}/items", json={"items": numbers}, headers=headers)
        add.raise_for_status()
        (await client.post(f"{path}/start", headers=headers)).raise_for_status()
        for item in numbers[: max(1, len(numbers) - rng.randint(0, 2))]:
            patched = await client.patch(
                f"{base}/items/{item}", json={"status_id": done}, headers=headers
            )
            patched.raise_for_status()
        (await client.post(f"{path}/complete", headers=headers)).raise_for_status()
        start += timedelta(days=14)


async def main(base: str, database_url: str) -> list[Result]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        headers = await login(client)
        await seed_history(client, headers)
        busy = await seed_busy_sprint(client, headers, database_url)
        vel = "/api/v1/projects/VEL"
        spr = f"/api/v1/projects/SPR/sprints/{busy}"
        workloads = {
            "velocity (100 sprints)": f"{vel}/velocity",
            "burndown (300 items, 3,000+ events)": f"{spr}/burndown",
            "burnup (same sprint)": f"{spr}/burnup",
            "velocity.svg (100 sprints)": f"{vel}/velocity.svg",
            "burndown.svg": f"{spr}/burndown.svg",
            "burnup.svg": f"{spr}/burnup.svg",
            "flow.svg (30 days)": "/api/v1/projects/SPR/flow.svg",
            "forecast.svg (10,000 trials)": f"{vel}/forecast.svg?seed=1",
        }
        results = []
        for name, path in workloads.items():
            request = partial(_get, path=path, headers=headers)
            results.append(await run_workload(client, name, request, 1, 100))
        return results


async def _get(
    client: httpx.AsyncClient, index: int, *, path: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.get(path, headers=headers)


if __name__ == "__main__":
    with bench_database() as url, server(url) as base:
        results = asyncio.run(main(base, url))
    print(HEADER)
    for result in results:
        print(result.row())
