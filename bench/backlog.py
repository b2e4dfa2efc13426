"""Backlog workload (issue 3): 10,000 items; list, filter, search, move, board; scale check.

Run: `.venv/bin/python -m bench.backlog` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Prints a Markdown table; bench/README.md keeps the figures and the machine they came from.
"""

import asyncio
import random
import sys
from typing import NotRequired, TypedDict

import httpx

from app.domain.items.ranking import keys_between
from bench.harness import (
    BENCH_PASSWORD,
    HEADER,
    Result,
    bench_database,
    connect_direct,
    run_workload,
    server,
)

ITEMS = 10_000
WORDS = (
    "login",
    "signup",
    "password",
    "reset",
    "invoice",
    "export",
    "report",
    "dashboard",
    "search",
    "filter",
    "sprint",
    "backlog",
    "payment",
    "refund",
    "email",
    "notification",
    "mobile",
    "tablet",
    "onboarding",
    "profile",
    "avatar",
    "settings",
    "audit",
    "billing",
    "coupon",
    "checkout",
    "cart",
    "wishlist",
    "review",
    "rating",
    "upload",
    "download",
    "import",
    "api",
    "webhook",
)
LABELS = ["ux", "backend", "frontend", "infra", "security", "perf"]


class ItemPayload(TypedDict):
    """One item of a batch request body."""

    title: str
    description: str
    type: str
    points: int | None
    priority: str
    labels: list[str]
    sprint: NotRequired[int | None]


def item_payload(rng: random.Random, n: int) -> ItemPayload:
    title = " ".join(rng.choice(WORDS) for _ in range(4)).capitalize()
    return {
        "title": f"{title} #{n}",
        "description": " ".join(rng.choice(WORDS) for _ in range(30)),
        "type": rng.choice(["story", "story", "story", "bug", "task", "spike"]),
        "points": rng.choice([None, 1, 2, 3, 5, 8, 13]),
        "priority": rng.choice(["highest", "high", "medium", "medium", "low", "lowest"]),
        "labels": rng.sample(LABELS, rng.randint(0, 2)),
    }


async def seed_project(
    client: httpx.AsyncClient, headers: dict[str, str], key: str, count: int
) -> None:
    """Create a project and `count` items through the batch API."""
    rng = random.Random(key)
    (
        await client.post("/api/v1/projects", json={"key": key, "name": key}, headers=headers)
    ).raise_for_status()
    for start in range(0, count, 500):
        batch = [item_payload(rng, n) for n in range(start, min(count, start + 500))]
        response = await client.post(
            f"/api/v1/projects/{key}/items/batch", json={"items": batch}, headers=headers
        )
        response.raise_for_status()


async def seed_direct(database_url: str, key: str, count: int) -> None:
    """Insert `count` items straight into PostgreSQL (for the 100,000-item scale check)."""
    connection = await connect_direct(database_url)
    try:
        project_id, status_id = await connection.fetchrow(
            "SELECT p.id, s.id FROM projects p JOIN statuses s ON s.project_id = p.id "
            "WHERE p.key = $1 ORDER BY s.position LIMIT 1",
            key,
        )
        rng = random.Random(key)
        ranks = keys_between(None, None, count)
        rows = []
        for n in range(count):
            payload = item_payload(rng, n)
            rows.append(
                (
                    project_id,
                    n + 1,
                    payload["type"],
                    payload["title"],
                    payload["description"],
                    payload["points"],
                    3,
                    list(payload["labels"]),
                    status_id,
                    ranks[n],
                )
            )
        await connection.copy_records_to_table(
            "items",
            records=rows,
            columns=[
                "project_id",
                "number",
                "type",
                "title",
                "description",
                "points",
                "priority",
                "labels",
                "status_id",
                "rank",
            ],
        )
        await connection.execute(
            "UPDATE projects SET next_item_number = $2 WHERE id = $1", project_id, count
        )
        await connection.execute("ANALYZE items")
    finally:
        await connection.close()


async def main(base: str, database_url: str) -> list[Result]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await client.post(
            "/api/v1/auth/register",
            json={
                "email": "bench@example.com",
                "display_name": "Bench",
                "password": BENCH_PASSWORD,
            },
        )
        login = await client.post(
            "/api/v1/auth/token", data={"username": "bench@example.com", "password": BENCH_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        await seed_project(client, headers, "BIG", ITEMS)
        await seed_project(client, headers, "SPR", 200)
        for key in ("K1", "K100"):
            (
                await client.post(
                    "/api/v1/projects", json={"key": key, "name": key}, headers=headers
                )
            ).raise_for_status()
        await seed_direct(database_url, "K1", 1_000)
        await seed_direct(database_url, "K100", 100_000)

        rng = random.Random(7)
        big = "/api/v1/projects/BIG"
        workloads = {
            "list page (50, rank)": lambda c, i: c.get(f"{big}/items?limit=50", headers=headers),
            "list page 2 via cursor": None,
            "filter (category+label+type)": lambda c, i: c.get(
                f"{big}/items?status_category=todo&label=ux&type=story&limit=50", headers=headers
            ),
            "full-text search": lambda c, i: c.get(
                f"{big}/items?q={rng.choice(WORDS)}&limit=50", headers=headers
            ),
            "move (before random item)": lambda c, i: c.post(
                f"{big}/items/{rng.randint(1, ITEMS)}/move",
                json={"before": rng.randint(1, ITEMS)},
                headers=headers,
            ),
            "board (200 items)": lambda c, i: c.get("/api/v1/projects/SPR/board", headers=headers),
            "page @ 1,000 items": lambda c, i: c.get(
                "/api/v1/projects/K1/items?limit=50", headers=headers
            ),
            "page @ 100,000 items": lambda c, i: c.get(
                "/api/v1/projects/K100/items?limit=50", headers=headers
            ),
        }
        first = await client.get(f"{big}/items?limit=50", headers=headers)
        cursor = first.json()["next_cursor"]
        workloads["list page 2 via cursor"] = lambda c, i: c.get(
            f"{big}/items", params={"limit": 50, "cursor": cursor}, headers=headers
        )
        results = []
        for concurrency, total in ((1, 300), (32, 1500)):
            for name, request in workloads.items():
                assert request is not None
                results.append(await run_workload(client, name, request, concurrency, total))
        return results


if __name__ == "__main__":
    with bench_database() as url, server(url) as base:
        results = asyncio.run(main(base, url))
    print(HEADER)
    for result in results:
        print(result.row())
    by_name = {(r.name, r.concurrency): r for r in results}
    ratio = by_name[("page @ 100,000 items", 1)].p95_ms / by_name[("page @ 1,000 items", 1)].p95_ms
    print(f"\npage p95 ratio 100,000 / 1,000 items at concurrency 1: {ratio:.2f}")
    sys.exit(0)
