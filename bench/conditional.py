"""Conditional GET (issue 10): a 200-item board read in full against an If-None-Match 304 read,
and `GET /projects/{key}` (authentication and project access, nothing more) as the floor a 304
can get down to.

Run: `.venv/bin/python -m bench.conditional` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Prints a Markdown table and the 304/200 ratios; bench/README.md keeps the figures and the
machine they came from.
"""

import asyncio
import re
import statistics
from dataclasses import dataclass

import httpx

from bench.backlog import seed_project
from bench.harness import Request, bench_database, percentile, server, timed_requests
from bench.sprints import login

ITEMS = 200
ROUNDS = 10
PROJECT = "/api/v1/projects/BRD"
BOARD = PROJECT + "/board"
FULL, CACHED, FLOOR = "board 200 (full read)", "board 304 (If-None-Match)", "project 200 (floor)"


@dataclass
class Timing:
    """Latency figures of one workload at one concurrency, with the p99 this comparison needs."""

    name: str
    concurrency: int
    requests: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    errors: int

    def row(self) -> str:
        """A Markdown table row."""
        return (
            f"| {self.name} | {self.concurrency} | {self.requests} | {self.median_ms:.2f} | "
            f"{self.p95_ms:.2f} | {self.p99_ms:.2f} | {self.rps:.0f} | {self.errors} |"
        )


HEADER = (
    "| workload | concurrency | requests | median ms | p95 ms | p99 ms | req/s | errors |\n"
    "|---|---|---|---|---|---|---|---|"
)


@dataclass
class Sample:
    """One round of one workload: each request's latency, the round's wall time, errors."""

    latencies: list[float]
    elapsed: float
    errors: int


async def measure(
    client: httpx.AsyncClient, request: Request, expected: int, concurrency: int, total: int
) -> Sample:
    """Send `total` requests with `concurrency` in flight; an answer other than `expected`
    (or a 304 with a body) is an error."""

    def failed(response: httpx.Response) -> bool:
        return response.status_code != expected or (expected == 304 and bool(response.content))

    return Sample(*await timed_requests(client, request, concurrency, total, failed))


def timing(name: str, concurrency: int, samples: list[Sample]) -> Timing:
    """The figures of a workload over all its rounds."""
    latencies = [value for sample in samples for value in sample.latencies]
    return Timing(
        name=name,
        concurrency=concurrency,
        requests=len(latencies),
        median_ms=statistics.median(latencies),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        rps=len(latencies) / sum(sample.elapsed for sample in samples),
        errors=sum(sample.errors for sample in samples),
    )


async def main(base: str) -> tuple[list[Timing], int]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        headers = await login(client)
        await seed_project(client, headers, "BRD", ITEMS)
        first = await client.get(BOARD, headers=headers)
        first.raise_for_status()
        assert first.json()["count"] == ITEMS, first.json()["count"]
        # The board's own tag (taken before the board is built), not one hashed from the body.
        assert re.fullmatch(r'W/"[0-9a-f]{32}"', first.headers["etag"]), first.headers["etag"]
        revalidate = {**headers, "If-None-Match": first.headers["etag"]}
        workloads: dict[str, tuple[Request, int]] = {
            FULL: (lambda c, i: c.get(BOARD, headers=headers), 200),
            CACHED: (lambda c, i: c.get(BOARD, headers=revalidate), 304),
            FLOOR: (lambda c, i: c.get(PROJECT, headers=headers), 200),
        }
        results = []
        for concurrency, total in ((1, 500), (32, 2000)):
            samples: dict[str, list[Sample]] = {name: [] for name in workloads}
            # The same warm-up as bench.harness: connections and query plans are not measured.
            for request, _ in workloads.values():
                for i in range(10):
                    await request(client, i)
            # Rounds alternate between the workloads, so whatever else the machine is doing
            # weighs on all alike.
            for _ in range(ROUNDS):
                for name, (request, expected) in workloads.items():
                    samples[name].append(
                        await measure(client, request, expected, concurrency, total // ROUNDS)
                    )
            results += [timing(name, concurrency, samples[name]) for name in workloads]
        return results, len(first.content)


if __name__ == "__main__":
    with bench_database() as url, server(url) as base:
        results, size = asyncio.run(main(base))
    print(f"board: {ITEMS} items, {size:,} bytes of JSON\n")
    print(HEADER)
    for result in results:
        print(result.row())
    print()
    for concurrency in (1, 32):
        by_name = {r.name: r for r in results if r.concurrency == concurrency}
        full, cached, floor = by_name[FULL], by_name[CACHED], by_name[FLOOR]
        print(
            f"304/200 at concurrency {concurrency}: "
            f"median {cached.median_ms / full.median_ms:.2f}, "
            f"p95 {cached.p95_ms / full.p95_ms:.2f}, p99 {cached.p99_ms / full.p99_ms:.2f}, "
            f"req/s {cached.rps / full.rps:.2f}; "
            f"304/floor median {cached.median_ms / floor.median_ms:.2f}"
        )
