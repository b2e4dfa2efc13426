"""Load-test harness: a real `timebox serve` subprocess, a load generator, and a report.

Each workload is a named request factory; the harness runs it at a given concurrency for a
fixed number of requests and reports median and p95 latency and requests/s.
"""

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
TIMEBOX = str(Path(sys.executable).with_name("timebox"))

Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@dataclass
class Result:
    """Latency figures of one workload at one concurrency."""

    name: str
    concurrency: int
    requests: int
    median_ms: float
    p95_ms: float
    rps: float
    errors: int

    def row(self) -> str:
        """A Markdown table row."""
        return (
            f"| {self.name} | {self.concurrency} | {self.requests} | {self.median_ms:.1f} | "
            f"{self.p95_ms:.1f} | {self.rps:.0f} | {self.errors} |"
        )


HEADER = (
    "| workload | concurrency | requests | median ms | p95 ms | req/s | errors |\n"
    "|---|---|---|---|---|---|---|"
)


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def timed_requests(
    client: httpx.AsyncClient,
    request: Request,
    concurrency: int,
    total: int,
    failed: Callable[[httpx.Response], bool],
) -> tuple[list[float], float, int]:
    """Send `total` requests with `concurrency` in flight: each latency (ms), the wall time (s)
    and how many answers were `failed`."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            start = time.perf_counter()
            response = await request(client, i)
            latencies.append((time.perf_counter() - start) * 1000)
            if failed(response):
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start, errors


async def run_workload(
    client: httpx.AsyncClient, name: str, request: Request, concurrency: int, total: int
) -> Result:
    """Send `total` requests with `concurrency` in flight; time each one."""
    # A short warm-up so connection set-up and first-query planning are not measured.
    for i in range(min(10, total)):
        await request(client, i)
    latencies, elapsed, errors = await timed_requests(
        client, request, concurrency, total, lambda response: response.status_code >= 400
    )
    return Result(
        name=name,
        concurrency=concurrency,
        requests=total,
        median_ms=statistics.median(latencies),
        p95_ms=percentile(latencies, 95),
        rps=total / elapsed,
        errors=errors,
    )


async def _sql(admin_url: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def bench_database() -> Iterator[str]:
    """A throw-away database on TIMEBOX_BENCH_DATABASE_URL's server, or an embedded one."""
    admin_url = os.environ.get("TIMEBOX_BENCH_DATABASE_URL")
    embedded = None
    if not admin_url:
        # The defining module: the package re-exports get_server without declaring it.
        from pgserver.postgres_server import get_server

        embedded = get_server(tempfile.mkdtemp(prefix="timebox-bench-"), "delete")
        admin_url = embedded.get_uri()
    name = f"timebox_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_sql(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if embedded is not None:
            embedded.cleanup()


@contextmanager
def server(database_url: str, port: int = 8765) -> Iterator[str]:
    """A `timebox serve` subprocess on `database_url`; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBOX_")}
    env.update({"TIMEBOX_DATABASE_URL": database_url, "TIMEBOX_LOG_LEVEL": "WARNING"})
    base = f"http://127.0.0.1:{port}"
    log_path = ROOT / "bench" / "results" / "server.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("w+b") as log:
        process = subprocess.Popen(
            [TIMEBOX, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield _wait_ready(process, base, log)
        finally:
            process.terminate()
            process.wait(30)


def _wait_ready(process: "subprocess.Popen[bytes]", base: str, log: typing.IO[bytes]) -> str:
    """Poll /readyz until 200; returns the base URL."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server did not start:\n{log.read().decode()}")
        time.sleep(0.2)
