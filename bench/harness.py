"""Load-test harness: a real `timebox serve` subprocess, a load generator, and a report.

Each workload is a named request factory; the harness runs it at a given concurrency for a
fixed number of requests and reports median and p95 latency and requests/s.
"""

import asyncio
import contextlib
import os
import signal
import socket
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
# The benchmark accounts' password: long and uncommon enough for the password rule.
BENCH_PASSWORD = "timebox bench passphrase 2026"

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


@dataclass
class Figures:
    """Latencies of one workload timed one request at a time, and its p95 target if it has one."""

    name: str
    requests: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    errors: int
    target_ms: float | None = None

    def row(self) -> str:
        """A Markdown table row (under FIGURES_HEADER), with the verdict against the target."""
        target = self.target_ms
        verdict = "" if target is None else ("PASS" if self.p95_ms < target else "FAIL")
        limit = "" if target is None else f"< {target:.0f}"
        return (
            f"| {self.name} | {self.requests} | {self.median_ms:.1f} | {self.p95_ms:.1f} | "
            f"{self.p99_ms:.1f} | {self.rps:.0f} | {self.errors} | {limit} | {verdict} |"
        )


FIGURES_HEADER = (
    "| workload | requests | median ms | p95 ms | p99 ms | req/s | errors | p95 target | |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


async def time_serially(
    name: str,
    request: Callable[[int], Awaitable[httpx.Response]],
    samples: int,
    target_ms: float | None = None,
    *,
    warmup: int = 10,
    prepare: Callable[[int], Awaitable[None]] | None = None,
) -> Figures:
    """Time `request` alone (after an untimed `prepare`), one at a time, after `warmup` runs;
    req/s counts the time spent in the timed requests only."""
    for i in range(warmup):
        if prepare:
            await prepare(-1 - i)
        await request(-1 - i)
    latencies: list[float] = []
    errors = 0
    busy = 0.0
    for i in range(samples):
        if prepare:
            await prepare(i)
        start = time.perf_counter()
        response = await request(i)
        elapsed = time.perf_counter() - start
        busy += elapsed
        latencies.append(elapsed * 1000)
        errors += response.status_code >= 400
    return Figures(
        name,
        samples,
        statistics.median(latencies),
        percentile(latencies, 95),
        percentile(latencies, 99),
        samples / busy,
        errors,
        target_ms,
    )


async def bench_user(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Register an account and log it in; its Authorization header."""
    display_name = email.split("@")[0]
    account = {"email": email, "display_name": display_name, "password": BENCH_PASSWORD}
    (await client.post("/api/v1/auth/register", json=account)).raise_for_status()
    token = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": BENCH_PASSWORD}
    )
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


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
def bench_database(admin_url: str | None = None) -> Iterator[str]:
    """A throw-away database on `admin_url`'s server (default TIMEBOX_BENCH_DATABASE_URL's),
    or on an embedded one."""
    admin_url = admin_url or os.environ.get("TIMEBOX_BENCH_DATABASE_URL")
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


async def join(
    client: httpx.AsyncClient,
    project_path: str,
    owner_headers: dict[str, str],
    member_headers: dict[str, str],
    email: str,
    role: str = "member",
) -> None:
    """Bring a user into a project the way a stranger joins: invited by email, accepted."""
    invited = await client.post(
        f"{project_path}/members", json={"email": email, "role": role}, headers=owner_headers
    )
    invited.raise_for_status()
    accepted = await client.post(
        f"/api/v1/me/invitations/{invited.json()['id']}/accept", headers=member_headers
    )
    accepted.raise_for_status()


async def connect_direct(database_url: str) -> asyncpg.Connection:
    """A plain asyncpg connection to a database named by a (SQLAlchemy-style) URL."""
    parsed = make_url(database_url)
    return await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.query.get("host") or parsed.host,
        port=parsed.port,
        database=parsed.database,
    )


def kill_group(process: "subprocess.Popen[bytes] | None") -> None:
    """kill -9 a child started in its own process group, with everything it started."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def stop_group(process: "subprocess.Popen[bytes] | None", sig: int) -> None:
    """Ask a process-group leader to stop with `sig`, then kill -9 whatever is left of it."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            kill_group(process)
    with contextlib.suppress(ProcessLookupError):
        # Children the leader could not reap (it was killed) must not outlive the run.
        os.killpg(process.pid, signal.SIGKILL)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A `timebox serve` subprocess in its own process group, so that it and its workers can
    be killed together (the fault scenarios) and started again on the same port."""

    def __init__(
        self,
        database_url: str,
        port: int = 8765,
        workers: int = 1,
        env: dict[str, str] | None = None,
        log_name: str = "server",
    ) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBOX_")}
        self.env.update({"TIMEBOX_DATABASE_URL": database_url, "TIMEBOX_LOG_LEVEL": "WARNING"})
        self.env.update(env or {})
        self.port = port
        self.workers = workers
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = ROOT / "bench" / "results" / f"{log_name}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server (appending to its log) and wait until /readyz answers 200."""
        command = [TIMEBOX, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        with self.log_path.open("rb") as log:
            return _wait_ready(self.process, self.base, log)

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor that serve requests)."""
        if self.process is None or self.process.poll() is not None:
            return []
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        workers = []
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            # multiprocessing's spawn children; its resource tracker is a child too.
            if b"spawn_main" in cmdline:
                workers.append(int(child))
        return workers

    def kill(self) -> None:
        """kill -9 the supervisor and every worker at once, as a crash or an OOM kill would."""
        kill_group(self.process)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing the whole group if it takes too long."""
        stop_group(self.process, signal.SIGTERM)


@contextmanager
def server(
    database_url: str,
    port: int = 8765,
    workers: int = 1,
    env: dict[str, str] | None = None,
    log_name: str = "server",
) -> Iterator[str]:
    """A `timebox serve` subprocess on `database_url`; yields its base URL."""
    served = Server(database_url, port, workers, env, log_name)
    # A fresh log per run; Server.start appends, so that a restart keeps what came before.
    served.log_path.write_bytes(b"")
    try:
        yield served.start()
    finally:
        served.stop()


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
