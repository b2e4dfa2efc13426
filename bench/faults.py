"""Faults (`make faults`): the load of bench.load while, one scenario at a time, PostgreSQL is
killed -9, a uvicorn worker is killed -9, the whole server is killed -9 with an idempotent
create in flight, and the items table is locked. Each scenario prints PASS/FAIL per check
with its figures, and the invariants of bench.load are checked again after it.

Run: `.venv/bin/python -m bench.faults [--clients 10] [--lock-seconds 30]`. PostgreSQL here is a
cluster of this script's own (pgserver's binaries, a temporary directory, 127.0.0.1 on a free
port), never a shared server, since it gets killed; the server is `timebox serve --workers 2`
on 127.0.0.1. Exits 1 when any check fails.
"""

import argparse
import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.settings import Settings
from bench.cluster import Cluster
from bench.harness import Server, free_port
from bench.load import (
    IN_PROGRESS_GRACE_SECONDS,
    PROJECT,
    Check,
    Create,
    Load,
    Sample,
    Session,
    Status,
    Team,
    answer_checks,
    client_for,
    connect,
    counted,
    latency_table,
    print_checks,
    setup_team,
    state_checks,
)

# Recovery after PostgreSQL is back, and a worker's restart by uvicorn's supervisor.
RECOVERY_SECONDS = 5.0
WORKER_RESTART_SECONDS = 15.0
# "Promptly" for /readyz while the items table is locked.
READYZ_PROMPT_SECONDS = 1.0
WARM_UP_SECONDS = 2.0
AFTER_SECONDS = 3.0
# The load's requests that read or write the items table (reports read the event log).
NEEDS_ITEMS = frozenset(
    {
        "board",
        "board If-None-Match",
        "create",
        "create retry (after 201)",
        "create retry (after failure)",
        "edit",
        "item",
        "items page",
        "move",
        "sprint add",
        "sprint remove",
    }
)

DEFAULT_LOCK_TIMEOUT_MS = Settings.model_fields["db_lock_timeout_ms"].default


@dataclass
class Context:
    """What every scenario works with."""

    args: argparse.Namespace
    cluster: Cluster
    served: Server
    database_url: str
    client: httpx.AsyncClient
    team: Team
    load: Load

    def probe_session(self) -> Session:
        """A session of the team's owner outside the load's own sessions."""
        owner = self.team.owner
        return Session(owner, dict(owner.headers), random.Random(99))


Scenario = Callable[[Context], Awaitable[list[Check]]]


async def under_load(
    context: Context, fault: Callable[[], Awaitable[list[Check]]], *, cuts: bool = False
) -> list[Check]:
    """Run the load, warm up, inject the fault, let the load run on, stop it; the fault's checks
    plus what every answer of the scenario must satisfy. `cuts`: the fault cuts requests off,
    and creates among them must succeed when retried with their keys."""
    load = context.load
    since = time.perf_counter()
    running = asyncio.create_task(load.run(context.args.clients, None))
    try:
        await asyncio.sleep(WARM_UP_SECONDS)
        checks = await fault()
        await asyncio.sleep(AFTER_SECONDS)
    finally:
        load.stopping.set()
        await running
    until = time.perf_counter()
    samples = [s for s in load.samples if since <= s.started < until]
    print(latency_table(samples, until - since))
    # Judged once the load has stopped: its own creates retry for a while after a cut.
    checks.append(cut_off_creates(load, since, required=cuts))
    return checks + answer_checks(load, since, until, faults=True)


def window(load: Load, start: float, end: float) -> list[Sample]:
    """Requests that were open at some moment between `start` and `end`."""
    return [s for s in load.samples if s.started < end and s.ended > start]


def no_500(samples: list[Sample], where: str) -> Check:
    """A fault is answered 503 (the database is away) or not at all, never another 5xx."""
    bad: Counter[Status] = Counter(
        s.status for s in samples if isinstance(s.status, int) and s.status >= 500
    )
    del bad[503]
    return Check(f"no 5xx but 503 {where}", not bad, counted(bad) or "none")


def cut_off_creates(load: Load, since: float, *, required: bool) -> Check:
    """Creates whose request got no answer (the fault cut it off) must succeed when retried with
    their key: a replayed or a fresh 201, and 409 ("in progress") for a few seconds at most."""
    cut = [
        c
        for c in load.creates.values()
        if c.sent >= since and any(isinstance(a, str) for a in c.answers)
    ]
    lost = [c for c in cut if c.number is None]
    stuck = [c for c in cut if c.in_progress_seconds > IN_PROGRESS_GRACE_SECONDS]
    longest = max((c.in_progress_seconds for c in cut), default=0.0)
    detail = (
        f"{len(cut)} cut off, {len(cut) - len(lost)} succeeded on retry; "
        f"longest 409 streak {longest:.1f} s"
    )
    if lost:
        detail += "; never acknowledged: " + "; ".join(
            f"{c.key} answers {c.answers[-6:]}" for c in lost[:3]
        )
    if not cut:
        detail = "no create was cut off" + (", so nothing was tested" if required else "")
    return Check(
        "a create cut off by the fault succeeds when retried with its key",
        (bool(cut) or not required) and not lost and not stuck,
        detail,
    )


async def first_200(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float | None:
    """Seconds until `url` first answers 200 (polled every 0.1 s), None after 30 s."""
    started = time.perf_counter()
    while time.perf_counter() - started < 30:
        try:
            response = await client.get(url, headers=headers, timeout=5)
            if response.status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    return None


def within(name: str, seconds: float | None, limit: float) -> Check:
    """`seconds` was measured and is at most `limit`."""
    shown = "never (30 s)" if seconds is None else f"{seconds:.2f} s"
    return Check(name, seconds is not None and seconds <= limit, f"{shown} (limit {limit:g} s)")


class TableLock:
    """`LOCK TABLE items IN ACCESS EXCLUSIVE MODE`, held in a connection of its own."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.connection: asyncpg.Connection | None = None

    async def take(self) -> float:
        """Take the lock; when it was granted."""
        self.connection = await connect(self.database_url)
        await self.connection.execute("BEGIN")
        await self.connection.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        return time.perf_counter()

    async def release(self) -> float:
        """Roll back (the lock goes with the transaction); when it was released."""
        if self.connection is not None:
            await self.connection.execute("ROLLBACK")
            await self.connection.close()
            self.connection = None
        return time.perf_counter()


async def hanging_creates(
    context: Context, count: int
) -> tuple[list[Create], list[asyncio.Task[Any]]]:
    """`count` idempotent creates sent while the items table is locked, so they hang; each on
    a new connection, so that the workers share them out."""
    session = context.probe_session()
    creates = [context.load.new_create(session) for _ in range(count)]

    async def send(create: Create) -> None:
        async with httpx.AsyncClient(base_url=context.served.base, timeout=30) as client:
            await context.load.send_create(session, create, "probe create", client)

    tasks = [asyncio.create_task(send(create)) for create in creates]
    await asyncio.sleep(0.5)
    return creates, tasks


async def pg_kill(context: Context) -> list[Check]:
    """kill -9 PostgreSQL, restart it after a few seconds."""
    load, cluster, client = context.load, context.cluster, context.client
    headers = context.team.owner.headers

    async def fault() -> list[Check]:
        killed = time.perf_counter()
        cluster.kill()
        print(f"  killed PostgreSQL (pid group {cluster.process.pid if cluster.process else '?'})")
        await asyncio.sleep(context.args.outage_seconds)
        restarted = time.perf_counter()
        took = await cluster.start()
        back = time.perf_counter()
        print(f"  PostgreSQL restarted, accepting connections after {took:.2f} s")
        readyz, request = await asyncio.gather(
            first_200(client, "/readyz", {}),
            first_200(client, f"{PROJECT}/board", headers),
        )
        during = window(load, killed + 0.2, restarted)
        statuses = Counter(s.status for s in during)
        errors = [s for s in during if isinstance(s.status, int) and s.status >= 500]
        print(f"  during the outage ({back - killed:.1f} s): {counted(statuses)}")
        dropped: Counter[Status] = Counter(s.status for s in during if isinstance(s.status, str))
        return [
            Check(
                "during the outage, requests get 503 problem+json with Retry-After",
                bool(errors) and all(s.status == 503 and not s.problem for s in errors),
                f"{sum(1 for s in errors if s.status == 503)} × 503 of {len(errors)} 5xx",
            ),
            no_500(window(load, killed, back + RECOVERY_SECONDS), "during the outage"),
            Check(
                "no dropped connections (the server stays up)",
                not dropped,
                counted(dropped) or "0 dropped",
            ),
            within("/readyz 200 after PostgreSQL is back", readyz, RECOVERY_SECONDS),
            within("a board request 200 after PostgreSQL is back", request, RECOVERY_SECONDS),
            no_500(
                [s for s in load.samples if s.started > back + RECOVERY_SECONDS],
                "once recovered",
            ),
        ]

    return await under_load(context, fault)


async def worker_kill(context: Context) -> list[Check]:
    """kill -9 one uvicorn worker while idempotent creates are in flight on it."""
    load, served = context.load, context.served

    async def kill_one() -> tuple[int, float | None]:
        """Kill a worker while 8 creates hang; how many were cut off, when it was replaced."""
        workers = served.worker_pids()
        lock = TableLock(context.database_url)
        await lock.take()
        creates, tasks = await hanging_creates(context, 8)
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.perf_counter()
        await asyncio.sleep(0.3)
        await lock.release()
        await asyncio.gather(*tasks)
        cut = [c for c in creates if c.number is None]
        print(
            f"  killed worker {victim} of {workers}; {len(cut)} of {len(creates)} hanging "
            "creates were cut off; retrying them with their keys"
        )
        session = context.probe_session()
        await asyncio.gather(*(load.retry_create(session, c) for c in cut))
        while time.perf_counter() - killed < WORKER_RESTART_SECONDS:
            now = served.worker_pids()
            if len(now) == len(workers) and victim not in now:
                return len(cut), time.perf_counter() - killed
            await asyncio.sleep(0.1)
        return len(cut), None

    async def fault() -> list[Check]:
        since = time.perf_counter()
        workers = served.worker_pids()
        if len(workers) < 2:
            return [Check("two uvicorn workers to kill one of", False, f"found {workers}")]
        restarts: list[float | None] = []
        # The kernel hands new connections to whichever worker accepts first, so all eight may
        # land on the survivor: then kill again, up to three times.
        for _ in range(3):
            cut, restarted = await kill_one()
            restarts.append(restarted)
            if cut or restarted is None:
                break
        slowest = None if None in restarts else max(r for r in restarts if r is not None)
        return [
            within(
                f"the supervisor starts a new worker ({len(restarts)} killed)",
                slowest,
                WORKER_RESTART_SECONDS,
            ),
            no_500(window(load, since, time.perf_counter()), "around the kill"),
        ]

    return await under_load(context, fault, cuts=True)


async def server_kill(context: Context) -> list[Check]:
    """kill -9 the whole server while a create with an Idempotency-Key hangs, restart it, retry."""
    load, served = context.load, context.served

    async def fault() -> list[Check]:
        since = time.perf_counter()
        lock = TableLock(context.database_url)
        await lock.take()
        (probe,), tasks = await hanging_creates(context, 1)
        served.kill()
        await lock.release()
        await asyncio.gather(*tasks)
        print(f"  killed the server and its workers; the hanging create got {probe.answers}")
        down = time.perf_counter()
        await asyncio.to_thread(served.start)
        print(f"  server restarted, ready after {time.perf_counter() - down:.1f} s")
        first = await load.send_create(context.probe_session(), probe, "probe create retry")
        first_status = first.status_code if first is not None else load.samples[-1].status
        if probe.number is None:
            await load.retry_create(context.probe_session(), probe)
        return [
            Check(
                "the retry of the in-flight key after the restart proceeds (201, never 409)",
                first_status == 201,
                f"first retry answered {first_status}; all answers {probe.answers}"
                + (
                    f"; 409 for {probe.in_progress_seconds:.1f} s"
                    if probe.first_in_progress
                    else ""
                ),
            ),
            no_500(window(load, since, time.perf_counter()), "around the restart"),
        ]

    return await under_load(context, fault, cuts=True)


async def table_lock(context: Context) -> list[Check]:
    """Hold `LOCK TABLE items` for --lock-seconds: 503s within the lock timeouts, /readyz fine."""
    load, client, args = context.load, context.client, context.args
    # lock_timeout bounds each wait for a lock, not a request: an item write queues for the
    # project row behind a writer that itself waits for items, then waits for items. Two waits.
    bound = 2 * (args.lock_timeout_ms / 1000) + args.margin

    async def readyz_during(until: float) -> list[tuple[Status, float]]:
        answers: list[tuple[Status, float]] = []
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                status: Status = (await client.get("/readyz", timeout=10)).status_code
            except httpx.TransportError as exc:
                status = type(exc).__name__
            answers.append((status, time.perf_counter() - started))
            await asyncio.sleep(0.5)
        return answers

    async def fault() -> list[Check]:
        lock = TableLock(context.database_url)
        locked = await lock.take()
        print(f"  LOCK TABLE items held for {args.lock_seconds:g} s")
        readyz = await readyz_during(locked + args.lock_seconds)
        released = await lock.release()
        session = context.probe_session()
        works = await first_200(client, f"{PROJECT}/board", session.headers)
        create = load.new_create(session)
        await load.send_create(session, create, "probe create")
        if create.number is None:
            await load.retry_create(session, create)
        during = window(load, locked, released)
        longest = max((s.ms for s in during), default=0.0) / 1000
        statuses = Counter(s.status for s in during)
        slow = [s for s in during if s.ms / 1000 > bound]
        # Requests that need the items table and were sent while the lock still had two whole
        # lock timeouts to run (the two waits above): they cannot be answered but with a 503.
        blocked = [
            s
            for s in during
            if s.kind in NEEDS_ITEMS
            and locked <= s.started <= released - 2 * args.lock_timeout_ms / 1000
        ]
        refused = [s for s in blocked if s.status == 503 and not s.problem]
        others: Counter[Status] = Counter(
            f"{s.kind} {s.status} in {s.ms / 1000:.2f} s" for s in blocked if s not in refused
        )
        slowest = max(during, key=lambda s: s.ms, default=None)
        ready_statuses = Counter(status for status, _ in readyz)
        slowest_ready = max((seconds for _, seconds in readyz), default=0.0)
        print(f"  requests open during the lock: {counted(statuses)}; longest {longest:.2f} s")
        return [
            Check(
                "no request waits out the lock: each answers within 2 lock timeouts + margin",
                bool(during) and not slow,
                f"longest {longest:.2f} s (limit {bound:g} s"
                + (f", {slowest.kind} → {slowest.status}" if slowest else "")
                + f"); {len(slow)} slower",
            ),
            Check(
                "requests that need items answer 503 with Retry-After",
                bool(blocked) and not others,
                f"{len(refused)} × 503 of {len(blocked)} sent while the lock had the whole "
                "timeout to run" + (f"; others: {counted(others)}" if others else ""),
            ),
            Check(
                "none hangs for the whole lock",
                longest < args.lock_seconds,
                f"longest {longest:.2f} s of a {args.lock_seconds:g} s lock",
            ),
            Check(
                "/readyz answers 200 promptly during the lock",
                set(ready_statuses) == {200} and slowest_ready <= READYZ_PROMPT_SECONDS,
                f"{counted(ready_statuses)}; slowest {slowest_ready:.2f} s "
                f"(limit {READYZ_PROMPT_SECONDS:g} s)",
            ),
            within("after the lock, a board request 200", works, 2.0),
            Check(
                "after the lock, an idempotent create 201",
                create.number is not None,
                f"answers {create.answers}",
            ),
            no_500(window(load, locked, released + bound), "during the lock"),
        ]

    return await under_load(context, fault)


SCENARIOS: dict[str, Scenario] = {
    "pg-kill": pg_kill,
    "worker-kill": worker_kill,
    "server-kill": server_kill,
    "lock": table_lock,
}


async def scenarios(args: argparse.Namespace, cluster: Cluster, served: Server, url: str) -> bool:
    """Every chosen scenario in turn, each followed by the invariants; True if all passed."""
    async with client_for(served.base, args.clients) as client:
        # Long enough to see a request that hangs for the whole lock, not to cut it off.
        client.timeout = httpx.Timeout(args.lock_seconds + 20, connect=5)
        team = await setup_team(client)
        load = Load(client, team, args.seed)
        context = Context(args, cluster, served, url, client, team, load)
        passed = True
        summary: list[str] = []
        for name in args.scenario or list(SCENARIOS):
            print(f"\n=== {name}: {SCENARIOS[name].__doc__}")
            started = time.perf_counter()
            checks = await SCENARIOS[name](context)
            checks += await state_checks(url, client, load)
            ok = print_checks(checks)
            took = time.perf_counter() - started
            summary.append(f"{'PASS' if ok else 'FAIL'}  {name} ({took:.0f} s)")
            passed = passed and ok
        print("\n" + "\n".join(summary))
        return passed


async def create_database(cluster: Cluster) -> str:
    """The database the server runs on, in the scenarios' own cluster."""
    connection = await asyncpg.connect(cluster.url)
    try:
        await connection.execute('CREATE DATABASE "timebox_faults"')
    finally:
        await connection.close()
    return make_url(cluster.url).set(database="timebox_faults").render_as_string(False)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients (10)")
    parser.add_argument("--lock-seconds", type=float, default=30, help="LOCK TABLE items (30)")
    parser.add_argument(
        "--outage-seconds", type=float, default=5, help="PostgreSQL stays down this long (5)"
    )
    parser.add_argument(
        "--lock-timeout-ms",
        type=int,
        default=DEFAULT_LOCK_TIMEOUT_MS,
        help=f"the server's TIMEBOX_DB_LOCK_TIMEOUT_MS ({DEFAULT_LOCK_TIMEOUT_MS}, its default)",
    )
    parser.add_argument(
        "--margin", type=float, default=2.0, help="seconds allowed past the lock timeout (2)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix (1)")
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="run only these (repeat)"
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="give up (and clean up) after this long (900)"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> bool:
    cluster = Cluster()
    served: Server | None = None
    try:
        cluster.init()
        asyncio.run(cluster.start())
        url = asyncio.run(create_database(cluster))
        env = {"TIMEBOX_DB_LOCK_TIMEOUT_MS": str(args.lock_timeout_ms)}
        served = Server(url, free_port(), workers=2, env=env, log_name="faults")
        served.log_path.write_bytes(b"")
        served.start()
        try:
            return asyncio.run(
                asyncio.wait_for(scenarios(args, cluster, served, url), timeout=args.timeout)
            )
        except TimeoutError:
            print(f"\nfaults: gave up after {args.timeout:g} s (--timeout)")
            return False
    finally:
        if served is not None:
            served.stop()
        cluster.cleanup()


if __name__ == "__main__":
    passed = run(parse(sys.argv[1:]))
    print("\nfaults: PASS" if passed else "\nfaults: FAIL")
    sys.exit(0 if passed else 1)
