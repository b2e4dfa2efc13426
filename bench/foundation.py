"""Foundation workload: token auth + project access on the hottest read paths.

Run: `.venv/bin/python -m bench.foundation` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
"""

import asyncio

import httpx

from bench.harness import HEADER, Result, bench_database, run_workload, server

PROJECTS = 200


async def seed(client: httpx.AsyncClient) -> dict[str, str]:
    """One user who belongs to PROJECTS projects; returns auth headers."""
    await client.post(
        "/api/v1/auth/register",
        json={"email": "bench@example.com", "display_name": "Bench", "password": "bench pass 1"},
    )
    login = await client.post(
        "/api/v1/auth/token", data={"username": "bench@example.com", "password": "bench pass 1"}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for n in range(PROJECTS):
        response = await client.post(
            "/api/v1/projects", json={"key": f"P{n:03d}", "name": f"Project {n}"}, headers=headers
        )
        response.raise_for_status()
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
