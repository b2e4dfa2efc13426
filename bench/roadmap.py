"""Roadmap workload (issue 14): 20 releases and milestones over a 600-item backlog, forecast
from 10 completed sprints.

Run: `.venv/bin/python -m bench.roadmap [--workers N]` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Target: the roadmap of 20 releases (its progress and a Monte Carlo forecast each) under 50 ms
p95. Prints a Markdown table with median, p95 and p99 and PASS/FAIL per target, and the same
figures for a plain `GET /projects/{key}` as a reference: the ratio to it shows how much of a
roadmap read is the roadmap, on whatever machine runs this.
"""

import argparse
import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import httpx

from app.domain.kernel import clock
from bench.harness import (
    FIGURES_HEADER,
    Figures,
    bench_database,
    bench_user,
    connect_direct,
    free_port,
    server,
    time_serially,
)

KEY = "RM"
BASE = f"/api/v1/projects/{KEY}"
RELEASES = 20
EPIC_CHILDREN = 8
OWN_ITEMS = 12
LOOSE_ITEMS = 100
SPRINTS = 10
ESTIMATES = (1, 2, 3, 3, 5, 5, 8, 13)
# Two-week sprints back to back, Monday to Friday, all in the past.
FIRST_MONDAY = date(2026, 1, 5)
TARGETS = {"read the roadmap (20 releases)": 50.0}
SAMPLES = 300


async def _batch(
    client: httpx.AsyncClient, headers: dict[str, str], items: list[dict[str, Any]]
) -> list[int]:
    numbers: list[int] = []
    for start in range(0, len(items), 200):
        created = await client.post(
            f"{BASE}/items/batch", json={"items": items[start : start + 200]}, headers=headers
        )
        created.raise_for_status()
        numbers += [item["number"] for item in created.json()["data"]]
    return numbers


async def _completed_sprint(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    rng: random.Random,
    index: int,
    done_status: int,
) -> None:
    """A past sprint of ten items, started, most of them finished, completed."""
    numbers = await _batch(
        client,
        headers,
        [{"title": f"Sprint {index} work {n}", "points": rng.choice(ESTIMATES)} for n in range(10)],
    )
    start = FIRST_MONDAY + timedelta(days=14 * index)
    sprint = await client.post(
        f"{BASE}/sprints",
        json={"start_date": start.isoformat(), "end_date": (start + timedelta(11)).isoformat()},
        headers=headers,
    )
    sprint.raise_for_status()
    path = f"{BASE}/sprints/{sprint.json()['number']}"
    (
        await client.post(f"{path}/items", json={"items": numbers}, headers=headers)
    ).raise_for_status()
    (await client.post(f"{path}/start", headers=headers)).raise_for_status()
    for number in numbers[: rng.randint(6, 10)]:
        (
            await client.patch(
                f"{BASE}/items/{number}", json={"status_id": done_status}, headers=headers
            )
        ).raise_for_status()
    (await client.post(f"{path}/complete", json={}, headers=headers)).raise_for_status()


async def seed(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """Project RM: 10 completed sprints; 20 releases and milestones, each with its own items
    and an epic of children; a tail of loose backlog. Returns the owner's and a viewer's
    headers."""
    rng = random.Random(14)
    owner = await bench_user(client, "owner@example.com")
    (
        await client.post("/api/v1/projects", json={"key": KEY, "name": "Roadmap"}, headers=owner)
    ).raise_for_status()
    statuses = (await client.get(f"{BASE}/statuses", headers=owner)).json()["data"]
    done_status = next(status["id"] for status in statuses if status["category"] == "done")
    for index in range(SPRINTS):
        await _completed_sprint(client, owner, rng, index, done_status)
    today = clock.today("UTC")
    for index in range(RELEASES):
        created = await client.post(
            f"{BASE}/releases",
            json={
                "name": f"Release {index + 1}",
                "kind": "milestone" if index % 5 == 4 else "release",
                "start_date": today.isoformat(),
                "target_date": (today + timedelta(days=21 * (index + 1))).isoformat(),
            },
            headers=owner,
        )
        created.raise_for_status()
        number = created.json()["number"]
        (epic,) = await _batch(
            client, owner, [{"title": f"Epic {index}", "type": "epic", "release": number}]
        )
        children = [
            {"title": f"Child {index}.{n}", "points": rng.choice(ESTIMATES), "parent": epic}
            for n in range(EPIC_CHILDREN)
        ]
        own = [
            {
                "title": f"Work {index}.{n}",
                # One in eight is not estimated yet.
                "points": None if rng.random() < 0.125 else rng.choice(ESTIMATES),
                "release": number,
            }
            for n in range(OWN_ITEMS)
        ]
        numbers = await _batch(client, owner, children + own)
        # A quarter of each release is done already.
        for item in rng.sample(numbers, len(numbers) // 4):
            (
                await client.patch(
                    f"{BASE}/items/{item}", json={"status_id": done_status}, headers=owner
                )
            ).raise_for_status()
    await _batch(
        client,
        owner,
        [{"title": f"Loose {n}", "points": rng.choice(ESTIMATES)} for n in range(LOOSE_ITEMS)],
    )
    viewer = await bench_user(client, "viewer@example.com")
    invited = await client.post(
        f"{BASE}/members", json={"email": "viewer@example.com", "role": "viewer"}, headers=owner
    )
    invited.raise_for_status()
    (
        await client.post(f"/api/v1/me/invitations/{invited.json()['id']}/accept", headers=viewer)
    ).raise_for_status()
    return owner, viewer


async def _timed(name: str, request: Callable[[int], Awaitable[httpx.Response]]) -> Figures:
    return await time_serially(name, request, SAMPLES, TARGETS.get(name))


async def main(base: str, database_url: str) -> list[Figures]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        _, viewer = await seed(client)
        # What autovacuum does a minute after a bulk load: without statistics the planner
        # takes the freshly filled tables for empty ones.
        connection = await connect_direct(database_url)
        try:
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        roadmap = (await client.get(f"{BASE}/roadmap", headers=viewer)).json()
        entries = roadmap["entries"]
        print(
            f"{KEY}: {len(entries)} entries, "
            f"{sum(e['progress']['items'] for e in entries)} items in their scope, history "
            f"{roadmap['history_sprints']} sprints; probabilities "
            f"{[e['confidence']['target_probability'] for e in entries if e['confidence']]}"
        )
        return [
            await _timed(
                "read the project (reference)", lambda i: client.get(BASE, headers=viewer)
            ),
            await _timed(
                "read the roadmap (20 releases)",
                lambda i: client.get(f"{BASE}/roadmap", headers=viewer),
            ),
            await _timed(
                "read one release", lambda i: client.get(f"{BASE}/releases/10", headers=viewer)
            ),
            await _timed(
                "the roadmap timeline (SVG)",
                lambda i: client.get(f"{BASE}/roadmap.svg", headers=viewer),
            ),
        ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the server")
    arguments = parser.parse_args()
    # A free port: another bench may be serving on the default one.
    port = free_port()
    with bench_database() as url, server(url, port=port, workers=arguments.workers) as base:
        figures = asyncio.run(main(base, url))
    print(FIGURES_HEADER)
    for result in figures:
        print(result.row())
    reference = figures[0].median_ms
    print()
    for result in figures[1:]:
        print(f"{result.name}: {result.median_ms / reference:.1f}x the reference median")
