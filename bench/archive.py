"""Project archives (issue 14): export and import of the demo project.

Run: `.venv/bin/python -m bench.archive [--samples N]` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Target: exporting the demo project (`GET /projects/DEMO/export`, the whole archive read) and
importing that archive (`POST /projects/import`) each under 2 s. Prints a Markdown table with
median, p95 and p99 and PASS/FAIL per target, and the same figures for a plain
`GET /projects/DEMO` by the same owner: the ratio to it says what the archive costs on
whatever machine runs this.
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable

import httpx

from app import migrate
from app.db import Database
from app.demo.service import create_demo
from app.settings import Settings
from bench.harness import FIGURES_HEADER, Figures, bench_database, server, time_serially

BASE = "/api/v1/projects"
TARGETS = {"export the demo project": 2000.0, "import the demo project": 2000.0}


async def _timed(
    name: str, samples: int, request: Callable[[int], Awaitable[httpx.Response]]
) -> Figures:
    return await time_serially(name, request, samples, TARGETS.get(name), warmup=2)


async def seed(url: str) -> str:
    """The demo project (a team of five, seven sprints, ceremonies...); its owner's token."""
    database = Database.connect(Settings(database_url=url))
    try:
        return (await create_demo(database)).token
    finally:
        await database.dispose()


async def main(base: str, token: str, samples: int) -> list[Figures]:
    owner = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        exported = await client.get(f"{BASE}/DEMO/export", headers=owner)
        exported.raise_for_status()
        archive = exported.content
        tables = exported.json()["tables"]
        rows = sum(len(entries) for entries in tables.values())
        print(f"archive: {len(archive) / 1024:.0f} KiB, {len(tables)} tables, {rows} rows")

        async def export(i: int) -> httpx.Response:
            response = await client.get(f"{BASE}/DEMO/export", headers=owner)
            # The whole body is read: streamed, it is not done at the first byte.
            await response.aread()
            return response

        async def import_(i: int) -> httpx.Response:
            return await client.post(
                f"{BASE}/import",
                params={"key": f"COPY{i + 3}"},
                content=archive,
                headers={**owner, "Content-Type": "application/json"},
            )

        return [
            await _timed(
                "read the project (reference)",
                samples * 5,
                lambda i: client.get(f"{BASE}/DEMO", headers=owner),
            ),
            await _timed("export the demo project", samples, export),
            await _timed("import the demo project", samples, import_),
        ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20, help="timed exports and imports")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the server")
    arguments = parser.parse_args()
    # Every sample imports a new project: lift the hourly limit on imports for the run.
    env = {"TIMEBOX_IMPORTS_PER_USER_PER_HOUR": "10000"}
    with bench_database() as url:
        migrate.upgrade(url)
        token = asyncio.run(seed(url))
        with server(url, workers=arguments.workers, env=env, log_name="archive") as base:
            figures = asyncio.run(main(base, token, arguments.samples))
    print(FIGURES_HEADER)
    for result in figures:
        print(result.row())
    reference = figures[0].median_ms
    print()
    for result in figures[1:]:
        print(f"{result.name}: {result.median_ms / reference:.1f}x the reference median")
