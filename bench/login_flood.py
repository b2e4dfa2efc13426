"""Login flood: does a flood of wrong passwords slow everyone else's `GET /api/v1/me`?

A real `timebox serve --workers 2`; a user with a bearer token reads `/me` from 4 concurrent
clients, on a quiet server and while 30 unauthenticated clients (in a process of their own,
so their client-side work does not delay the measuring loop) post wrong passwords for many
different accounts to `/auth/token` as fast as they are answered. Quiet and flooded rounds
alternate (5 of 2 s each), so whatever else the machine is doing weighs on both alike; the
flood is in full swing before anything is measured. Scenarios:

- `throttled`: the defaults; the flood soon meets the per-address limit and gets 429s.
- `throttled-unpaced`: the same with every refusal answered at once, to show what pacing the
  refusals (`app/http/throttle/limiter.py`) buys.
- `hashing`: throttle limits raised so every flood request really runs argon2: this measures
  the hash bound (one hash at a time per process, 16 waiting, threads at nice 19).
- `hashing-nice-10`, `hashing-not-niced`: the same with the hashing threads at nice 10 and at
  normal priority, to show what their lower priority buys.
- `unbounded`: the old behaviour for comparison: 6 hashes at once per process (the size of
  asyncio's default thread pool here), an unbounded queue, normal priority.

Run: `.venv/bin/python -m bench.login_flood [scenario ...]` (embedded PostgreSQL, or
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create throw-away databases on). Prints a
Markdown table per scenario and the ratio flood p95 / quiet p95: PASS at most 2.0. The exit
code is 1 when `throttled` or `hashing` fails; the others are for comparison only.
"""

import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.domain.users.security import HASH_THREAD_NICENESS
from bench.harness import ROOT, TIMEBOX, _wait_ready, bench_database, percentile

PORT = 8766
WORKERS = 2
READERS = 4
FLOODERS = 30
SECONDS = 10.0  # measured per phase, in ROUNDS alternating quiet and flooded rounds
ROUNDS = 5
RAMP_SECONDS = 1.0  # of flood before each flooded round is measured
ACCOUNTS = 100_000
MAX_RATIO = 2.0
EMAIL, PASSWORD = "reader@example.com", "a long bench passphrase 42"
RAISED = {
    "TIMEBOX_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS": "1000000",
    "TIMEBOX_LOGIN_FAILURES_PER_ACCOUNT": "1000000",
    "TIMEBOX_LOGIN_FAILURES_PER_ADDRESS": "1000000",
}
# Run first by every Python process of the server (its workers too), through a
# sitecustomize module: the server as it was before a part of this change.
NICENESS = "import app.domain.users.security as s; s.HASH_THREAD_NICENESS = {}"
UNPACED = "import app.http.throttle.limiter as t; t.refusals.max_wait = -1.0"


@dataclass(frozen=True)
class Scenario:
    """A server configuration to flood."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    niceness: int | None = None  # of the hashing threads; None: the server's own
    paced: bool = True  # whether refusals are answered at this process's pace
    lead: float = 2.0  # seconds of flood before measuring, unless a 429 comes first
    settle: float = 0.0  # and then this long (for the hashes queued before the 429s to end)
    gate: bool = True  # whether its ratio decides the exit code


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("throttled", lead=300.0, settle=10.0),
        Scenario("throttled-unpaced", lead=300.0, settle=10.0, paced=False, gate=False),
        Scenario("hashing", RAISED),
        Scenario("hashing-not-niced", RAISED, niceness=0, gate=False),
        Scenario("hashing-nice-10", RAISED, niceness=10, gate=False),
        Scenario(
            "unbounded",
            RAISED
            | {"TIMEBOX_PASSWORD_HASH_CONCURRENCY": "6", "TIMEBOX_PASSWORD_HASH_QUEUE": "100000"},
            niceness=0,
            gate=False,
        ),
    )
}


@dataclass
class Phase:
    """The `/me` latencies of one phase, and what the flood got meanwhile."""

    name: str
    latencies: list[float]
    elapsed: float
    errors: int
    flood: Counter[int] = field(default_factory=Counter)

    def p(self, pct: float) -> float:
        """A percentile of the latencies (ms)."""
        return percentile(self.latencies, pct)

    def row(self) -> str:
        """A Markdown table row."""
        flood = ", ".join(f"{status}: {n}" for status, n in sorted(self.flood.items())) or "-"
        return (
            f"| {self.name} | {len(self.latencies)} | {self.p(50):.1f} | {self.p(95):.1f} | "
            f"{self.p(99):.1f} | {len(self.latencies) / self.elapsed:.0f} | {self.errors} | "
            f"{flood} |"
        )


HEADER = (
    "| phase | /me requests | p50 ms | p95 ms | p99 ms | req/s | /me errors | flood responses |\n"
    "|---|---|---|---|---|---|---|---|"
)


@contextmanager
def flood_server(database_url: str, scenario: Scenario) -> Iterator[str]:
    """`timebox serve --workers 2` on `database_url` with the scenario's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBOX_")}
    env |= {"TIMEBOX_DATABASE_URL": database_url, "TIMEBOX_LOG_LEVEL": "WARNING", **scenario.env}
    base = f"http://127.0.0.1:{PORT}"
    log_path = ROOT / "bench" / "results" / "server.log"
    log_path.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as site, log_path.open("w+b") as log:
        patches = [NICENESS.format(scenario.niceness)] if scenario.niceness is not None else []
        patches += [] if scenario.paced else [UNPACED]
        if patches:
            Path(site, "sitecustomize.py").write_text("\n".join(patches) + "\n")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [site, env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [TIMEBOX, "serve", "--port", str(PORT), "--workers", str(WORKERS)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield _wait_ready(process, base, log)
        finally:
            process.terminate()
            process.wait(30)


async def read_me(client: httpx.AsyncClient, token: str, seconds: float, into: Phase) -> None:
    """`READERS` clients reading `/me` for `seconds`, their figures added to `into`."""
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    deadline = start + seconds

    async def reader() -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            response = await client.get("/api/v1/me", headers=headers)
            into.latencies.append((time.perf_counter() - began) * 1000)
            into.errors += response.status_code != 200

    await asyncio.gather(*(reader() for _ in range(READERS)))
    into.elapsed += time.perf_counter() - start


@dataclass
class FloodControl:
    """Shared by the measuring process and the flood's."""

    lead: float  # the flood is ready after this long, or at its first 429
    flooding: Any  # Event: flood now
    measuring: Any  # Event: count the answers now
    ready: Any  # Event: the flood has got going
    stop: Any  # Event: end the flood
    inflight: Any  # Value: flood requests not yet answered


async def _flood(base: str, control: FloodControl) -> Counter[int]:
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=FLOODERS, max_keepalive_connections=FLOODERS)
    started: float | None = None
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def flooder() -> None:
            nonlocal started
            while not control.stop.is_set():
                if not control.flooding.is_set():
                    await asyncio.sleep(0.02)
                    continue
                started = started or time.perf_counter()
                email = f"victim{random.randrange(ACCOUNTS)}@example.com"
                form = {"username": email, "password": "wrong guess"}
                with control.inflight.get_lock():
                    control.inflight.value += 1
                try:
                    status = (await client.post("/api/v1/auth/token", data=form)).status_code
                except httpx.HTTPError:
                    status = 0  # no answer at all
                finally:
                    with control.inflight.get_lock():
                        control.inflight.value -= 1
                if control.measuring.is_set():
                    statuses[status] += 1
                if status == 429 or time.perf_counter() - started > control.lead:
                    control.ready.set()

        await asyncio.gather(*(flooder() for _ in range(FLOODERS)))
    return statuses


def flood(base: str, control: FloodControl, results: "multiprocessing.Queue[Counter[int]]") -> None:
    """The flood, in a process of its own: puts the counts of the measured answers on
    `results`."""
    results.put(asyncio.run(_flood(base, control)))


async def token(client: httpx.AsyncClient) -> str:
    """Register the reader and log in."""
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": EMAIL, "display_name": "Reader", "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    login = await client.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


async def pause(control: FloodControl) -> None:
    """Stop the flood and wait until the server has answered all of it."""
    control.flooding.clear()
    async with asyncio.timeout(300):
        # Another process's counter: nothing to await but its value.
        while control.inflight.value:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def measure(base: str, scenario: Scenario, control: FloodControl) -> tuple[Phase, Phase]:
    """Quiet and flooded rounds, one after the other, so the machine's other load weighs on
    both alike."""
    quiet, flooded = Phase("quiet", [], 0.0, 0), Phase("flood", [], 0.0, 0)
    limits = httpx.Limits(max_connections=READERS, max_keepalive_connections=READERS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        secret = await token(client)
        await read_me(client, secret, 1.0, Phase("warm-up", [], 0.0, 0))
        # In full swing before anything is measured (for `throttled`: refused, and the
        # hashes admitted before that are done).
        control.flooding.set()
        assert await asyncio.to_thread(control.ready.wait, 300), "the flood never got going"
        await asyncio.sleep(scenario.settle)
        await pause(control)
        for _ in range(ROUNDS):
            await read_me(client, secret, SECONDS / ROUNDS, quiet)
            control.flooding.set()
            await asyncio.sleep(RAMP_SECONDS)
            control.measuring.set()
            await read_me(client, secret, SECONDS / ROUNDS, flooded)
            control.measuring.clear()
            await pause(control)
    return quiet, flooded


def run(scenario: Scenario) -> tuple[Phase, Phase]:
    """Serve the scenario, flood it from another process, and measure."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[Counter[int]] = context.Queue()
    control = FloodControl(
        scenario.lead,
        context.Event(),
        context.Event(),
        context.Event(),
        context.Event(),
        context.Value("i", 0),
    )
    with bench_database() as url, flood_server(url, scenario) as base:
        flooder = context.Process(target=flood, args=(base, control, results))
        flooder.start()
        try:
            quiet, flooded = asyncio.run(measure(base, scenario, control))
        finally:
            control.stop.set()
        flooded.flood = results.get(timeout=300)
        flooder.join(60)
    return quiet, flooded


def main(names: list[str]) -> int:
    """Run the scenarios; 1 if a gating one fails."""
    failed = False
    for name in names:
        scenario = SCENARIOS[name]
        quiet, flooded = run(scenario)
        ratio = flooded.p(95) / quiet.p(95)
        verdict = "PASS" if ratio <= MAX_RATIO else "FAIL"
        failed |= scenario.gate and verdict == "FAIL"
        settings = " ".join(f"{k}={v}" for k, v in scenario.env.items()) or "defaults"
        niceness = HASH_THREAD_NICENESS if scenario.niceness is None else scenario.niceness
        paced = "paced" if scenario.paced else "unpaced"
        print(f"\n### {name} ({settings}; hashing threads at nice {niceness}; {paced} refusals)\n")
        print(HEADER)
        print(quiet.row())
        print(flooded.row())
        gate = "" if scenario.gate else " (comparison only)"
        print(f"\nflood p95 / quiet p95 = {ratio:.2f}: {verdict}{gate}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(sorted(unknown))}; know {', '.join(SCENARIOS)}")
    sys.exit(main(chosen))
