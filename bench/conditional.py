"""Conditional GET (issue 10): a 200-item board read in full against an If-None-Match 304 read.

Run: `.venv/bin/python -m bench.conditional` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Prints a Markdown table and the 304/200 ratios; bench/README.md keeps the figures and the
machine they came from.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from bench.backlog import seed_project
from bench.harness import Request, bench_database, percentile, server
from bench.sprints import login

ITEMS = 200
ROUNDS = 10
BOARD = "/api/v1/projects/BRD/board"


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
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            start = time.perf_counter()
            response = await request(client, i)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != expected or (expected == 304 and response.content):
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Sample(latencies, time.perf_counter() - start, errors)


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
        revalidate = {**headers, "If-None-Match": first.headers["etag"]}
        workloads: dict[str, tuple[Request, int]] = {
            "board 200 (full read)": (lambda c, i: c.get(BOARD, headers=headers), 200),
            "board 304 (If-None-Match)": (lambda c, i: c.get(BOARD, headers=revalidate), 304),
        }
        results = []
        for concurrency, total in ((1, 500), (32, 2000)):
            samples: dict[str, list[Sample]] = {name: [] for name in workloads}
            # The same warm-up as bench.harness: connections and query plans are not measured.
            for request, _ in workloads.values():
                for i in range(10):
                    await request(client, i)
            # Rounds alternate between the two, so whatever else the machine is doing weighs
            # on both alike.
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
        full, cached = (r for r in results if r.concurrency == concurrency)
        print(
            f"304/200 at concurrency {concurrency}: "
            f"median {cached.median_ms / full.median_ms:.2f}, "
            f"p95 {cached.p95_ms / full.p95_ms:.2f}, p99 {cached.p99_ms / full.p99_ms:.2f}, "
            f"req/s {cached.rps / full.rps:.2f}"
        )
