"""Foundation workload: token auth + project access on the hottest read paths.

Run: `.venv/bin/python -m bench.foundation` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
"""

import asyncio

import httpx

from bench.harness import (
    BENCH_PASSWORD,
    HEADER,
    Result,
    bench_database,
    join,
    run_workload,
    server,
)

PROJECTS = 200
# A user may own at most 100 projects (app.domain.projects), so two owners share the 200.
OWNED_EACH = 100


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await client.post(
        "/api/v1/auth/register",
        json={"email": email, "display_name": email.split("@")[0], "password": BENCH_PASSWORD},
    )
    login = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": BENCH_PASSWORD}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def seed(client: httpx.AsyncClient) -> dict[str, str]:
    """One user who belongs to PROJECTS projects; returns auth headers."""
    headers = await _login(client, "bench@example.com")
    other = await _login(client, "owner@example.com")
    bench_id = (await client.get("/api/v1/me", headers=headers)).json()["id"]
    for n in range(PROJECTS):
        owner = headers if n < OWNED_EACH else other
        response = await client.post(
            "/api/v1/projects", json={"key": f"P{n:03d}", "name": f"Project {n}"}, headers=owner
        )
        response.raise_for_status()
        if n == OWNED_EACH:
            # The first time the two meet: an invitation; from then on they share a project.
            await join(client, f"/api/v1/projects/P{n:03d}", other, headers, "bench@example.com")
        elif owner is other:
            added = await client.post(
                f"/api/v1/projects/P{n:03d}/members",
                json={"user_id": bench_id, "role": "member"},
                headers=other,
            )
            added.raise_for_status()
    return headers


async def main(base: str) -> list[Result]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        headers = await seed(client)
        workloads = {
            "GET /me": lambda c, i: c.get("/api/v1/me", headers=headers),
            "GET /projects/{key}": lambda c, i: c.get(
                f"/api/v1/projects/P{i % PROJECTS:03d}", headers=headers
            ),
            "GET /projects?limit=50": lambda c, i: c.get(
                "/api/v1/projects?limit=50", headers=headers
            ),
            "GET /projects/{key}/members": lambda c, i: c.get(
                f"/api/v1/projects/P{i % PROJECTS:03d}/members", headers=headers
            ),
            "GET /healthz": lambda c, i: c.get("/healthz"),
        }
        results = []
        for concurrency, total in ((1, 400), (32, 2000)):
            for name, request in workloads.items():
                results.append(await run_workload(client, name, request, concurrency, total))
        return results


if __name__ == "__main__":
    with bench_database() as url, server(url) as base:
        results = asyncio.run(main(base))
    print(HEADER)
    for result in results:
        print(result.row())
