"""Calendar feed workload (issue 12): the iCalendar feed of a year of two-week sprints.

26 sprints (25 completed or planned, one active) in Europe/Berlin: about 260 stand-ups plus
planning, review and retro each, read with the project's feed token. Target: p95 < 50 ms.

Run: `.venv/bin/python -m bench.calendar` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Prints median, p95 and p99 and PASS/FAIL against the target.
"""

import asyncio
import statistics
from datetime import timedelta

import httpx

from app.domain.kernel import clock
from bench.harness import bench_database, percentile, server, timed_requests
from bench.sprints import login

SPRINTS = 26
REQUESTS = 300
TARGET_P95_MS = 50.0


async def seed(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """A Berlin project with a year of two-week sprints ending now; the feed's URL."""
    base = "/api/v1/projects/CAL"
    project = {"key": "CAL", "name": "Calendar", "time_zone": "Europe/Berlin"}
    (await client.post("/api/v1/projects", json=project, headers=headers)).raise_for_status()
    today = clock.today("Europe/Berlin")
    # Mondays, so each sprint has 10 working days: planning, 9 stand-ups, review and retro.
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=2 * (SPRINTS - 1))
    for n in range(SPRINTS):
        start = first + timedelta(weeks=2 * n)
        body = {
            "start_date": str(start),
            "end_date": str(start + timedelta(days=11)),
            "goal": f"Goal of sprint {n + 1}: ship the next slice of checkout",
        }
        created = await client.post(f"{base}/sprints", json=body, headers=headers)
        created.raise_for_status()
        number = created.json()["number"]
        if n < SPRINTS - 1:
            # Completed sprints are in the feed like planned ones; complete all but the last.
            (
                await client.post(f"{base}/sprints/{number}/start", headers=headers)
            ).raise_for_status()
            (
                await client.post(f"{base}/sprints/{number}/complete", json={}, headers=headers)
            ).raise_for_status()
    made = await client.post(f"{base}/calendar/token", headers=headers)
    made.raise_for_status()
    url: str = made.json()["url"]
    return url


async def main(base: str) -> bool:
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        headers = await login(client)
        feed = await seed(client, headers)
        first = await client.get(feed)
        first.raise_for_status()
        events = first.text.count("BEGIN:VEVENT")
        print(f"{SPRINTS} sprints, {events} events, {len(first.content)} bytes")
        for _ in range(10):
            await client.get(feed)
        latencies, elapsed, errors = await timed_requests(
            client, lambda c, i: c.get(feed), 1, REQUESTS, lambda r: r.status_code != 200
        )
    p95 = percentile(latencies, 95)
    print(
        f"calendar feed: {REQUESTS} requests, median {statistics.median(latencies):.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"{REQUESTS / elapsed:.0f} req/s, {errors} errors"
    )
    ok = p95 < TARGET_P95_MS and errors == 0
    print(f"{'PASS' if ok else 'FAIL'}  calendar feed p95 < {TARGET_P95_MS:.0f} ms")
    return ok


if __name__ == "__main__":
    with bench_database() as url, server(url) as base:
        passed = asyncio.run(main(base))
    raise SystemExit(0 if passed else 1)
