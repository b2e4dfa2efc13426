"""Sprint workload (issue 4): the report of a 300-item sprint with 3,000 events after its start.

Run: `.venv/bin/python -m bench.sprints` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Prints a Markdown table; bench/README.md keeps the figures and the machine they came from.
"""

import asyncio
import itertools
import random
from datetime import timedelta

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.domain.kernel import clock
from bench.backlog import item_payload
from bench.harness import BENCH_PASSWORD, HEADER, Result, bench_database, run_workload, server

IN_SPRINT = 300
SPARE = 100
EVENTS = 3_000


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    """Register the bench user and return its auth headers."""
    await client.post(
        "/api/v1/auth/register",
        json={"email": "bench@example.com", "display_name": "Bench", "password": BENCH_PASSWORD},
    )
    token = await client.post(
        "/api/v1/auth/token", data={"username": "bench@example.com", "password": BENCH_PASSWORD}
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def seed(client: httpx.AsyncClient, headers: dict[str, str], database_url: str) -> int:
    """A started 300-item sprint that then sees at least 3,000 logged changes; its number."""
    rng = random.Random(4)
    base = "/api/v1/projects/SPR"
    (
        await client.post(
            "/api/v1/projects", json={"key": "SPR", "name": "Sprint"}, headers=headers
        )
    ).raise_for_status()
    # Two weeks ending today: a burn chart of it has a full series of days.
    today = clock.today("UTC")
    dates = {"start_date": str(today - timedelta(days=13)), "end_date": str(today)}
    sprint = (await client.post(f"{base}/sprints", json=dates, headers=headers)).json()["number"]
    payloads = [item_payload(rng, n) for n in range(IN_SPRINT + SPARE)]
    for n, payload in enumerate(payloads):
        payload["sprint"] = sprint if n < IN_SPRINT else None
    for start in range(0, len(payloads), 200):
        chunk = payloads[start : start + 200]
        (
            await client.post(f"{base}/items/batch", json={"items": chunk}, headers=headers)
        ).raise_for_status()
    (await client.post(f"{base}/sprints/{sprint}/start", headers=headers)).raise_for_status()
    statuses = (await client.get(f"{base}/statuses", headers=headers)).json()["data"]
    status_ids = [status["id"] for status in statuses]
    members = set(range(1, IN_SPRINT + 1))
    outside = set(range(IN_SPRINT + 1, IN_SPRINT + SPARE + 1))
    # Re-estimating to the same value or re-setting a status logs nothing: count in the log.
    for step in itertools.count():
        if step % 250 == 0 and await logged_after_start(database_url) >= EVENTS:
            break
        roll = rng.random()
        if roll < 0.15 and outside:
            number = rng.choice(sorted(outside))
            request = client.post(
                f"{base}/sprints/{sprint}/items", json={"items": [number]}, headers=headers
            )
            outside.discard(number)
            members.add(number)
        elif roll < 0.30 and members:
            number = rng.choice(sorted(members))
            request = client.request(
                "DELETE",
                f"{base}/sprints/{sprint}/items",
                json={"items": [number]},
                headers=headers,
            )
            members.discard(number)
            outside.add(number)
        elif roll < 0.60:
            number = rng.randint(1, IN_SPRINT + SPARE)
            request = client.patch(
                f"{base}/items/{number}",
                json={"points": rng.choice([1, 2, 3, 5, 8, 13])},
                headers=headers,
            )
        else:
            number = rng.randint(1, IN_SPRINT + SPARE)
            request = client.patch(
                f"{base}/items/{number}",
                json={"status_id": rng.choice(status_ids)},
                headers=headers,
            )
        (await request).raise_for_status()
    return int(sprint)


async def logged_after_start(database_url: str) -> int:
    """How many events the item log holds after the sprint's start."""
    connection = await asyncpg.connect(
        make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM item_events e JOIN sprints s ON s.project_id = e.project_id "
            "WHERE e.id > s.start_event_id"
        )
        return int(count)
    finally:
        await connection.close()


async def main(base: str, database_url: str) -> list[Result]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        headers = await login(client)
        sprint = await seed(client, headers, database_url)
        path = f"/api/v1/projects/SPR/sprints/{sprint}"
        changes = len((await client.get(f"{path}/scope", headers=headers)).json()["data"])
        events = await logged_after_start(database_url)
        print(
            f"sprint {sprint}: {IN_SPRINT} items at start; {events} events logged after the "
            f"start, {changes} of them scope changes"
        )
        results = []
        live = {
            "report (active, live)": lambda c, i: c.get(f"{path}/report", headers=headers),
            "scope ledger (active)": lambda c, i: c.get(f"{path}/scope", headers=headers),
        }
        for name, request in live.items():
            results.append(await run_workload(client, name, request, 1, 200))
        (await client.post(f"{path}/complete", headers=headers)).raise_for_status()
        frozen = {
            "report (completed, kept)": lambda c, i: c.get(f"{path}/report", headers=headers),
            "scope ledger (completed)": lambda c, i: c.get(f"{path}/scope", headers=headers),
        }
        for name, request in frozen.items():
            results.append(await run_workload(client, name, request, 1, 200))
        return results


if __name__ == "__main__":
    with bench_database() as url, server(url) as base:
        results = asyncio.run(main(base, url))
    print(HEADER)
    for result in results:
        print(result.row())
