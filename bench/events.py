"""Live stream fan-out: 100 SSE clients on a real server, and what they cost the writers.

A real `timebox serve` (one worker) on PostgreSQL. A client process of its own holds 100
streams of one project open (`GET /api/v1/projects/WEB/events`, each on its own connection)
and timestamps every `item.created` it reads; the bench process creates items and
timestamps each POST as it is sent. Both clocks are CLOCK_MONOTONIC (the same on one
machine), so "write to client" is the time from sending the write to each client's receipt:
an upper bound on commit-to-client, since it includes the request's own work before commit.

Phases: item creates one at a time without clients (`quiet`), with the 100 clients
(`live`, also giving the fan-out latency), without clients again; then 8 writers as fast as
they go for a few seconds with the clients connected (events/s written, deliveries/s read).

Run: `.venv/bin/python -m bench.events` (embedded PostgreSQL, or TIMEBOX_BENCH_DATABASE_URL).
Targets on this 2-core machine: fan-out p95 < 100 ms; a create with the clients connected
not slower than without by more than 10 % (p50).
"""

import asyncio
import multiprocessing
import re
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bench.harness import BENCH_PASSWORD, bench_database, free_port, percentile, server

CLIENTS = 100
CREATES = 300
WRITERS = 8
BURST_SECONDS = 5.0
MAX_FANOUT_P95_MS = 100.0
MAX_SLOWDOWN = 1.10
# The item number of an item.created event (the data is compact JSON, `item` after `type`).
_ITEM_CREATED = re.compile(rb'"type":"item\.created".*?"item":(\d+)')
_STREAM_PATH = "/api/v1/projects/WEB/events"


async def _open_stream(
    base: str, headers: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """GET the project's stream on a raw connection, read past the response headers (keep the
    writer: a writer collected closes its connection)."""
    url = httpx.URL(base)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    lines = [f"GET {_STREAM_PATH} HTTP/1.1", f"Host: {url.host}:{url.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return reader, writer


async def _hold_streams(base: str, headers: dict[str, str], pipe: Connection) -> None:
    """Open CLIENTS streams, say so, record each item.created's arrival until told to stop."""
    arrivals: list[tuple[int, float]] = []
    connected = 0
    all_connected = asyncio.Event()

    async def read(stream: asyncio.StreamReader) -> None:
        nonlocal connected
        # Raw bytes and a regular expression, not an HTTP client and json.loads: the clients
        # share the server's two cores, and what they spend is taken from the writes measured.
        # (The chunked framing is left in: a chunk-size line never looks like an event.)
        seen = b""
        while chunk := await stream.read(65536):
            at = time.perf_counter()
            if connected < CLIENTS and b": connected" in chunk:
                connected += 1
                if connected == CLIENTS:
                    all_connected.set()
            # A frame can straddle two reads: keep the unfinished tail for the next one.
            seen += chunk
            done, _, seen = seen.rpartition(b"\r\n\r\n")
            arrivals.extend((int(n), at) for n in _ITEM_CREATED.findall(done))

    streams = [await _open_stream(base, headers) for _ in range(CLIENTS)]
    readers = [asyncio.create_task(read(stream)) for stream, _ in streams]
    async with asyncio.timeout(60):
        await all_connected.wait()
    pipe.send("ready")
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "report":
            pipe.send(arrivals)
            arrivals = []
        else:
            break
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


def _client_process(base: str, headers: dict[str, str], pipe: Connection) -> None:
    asyncio.run(_hold_streams(base, headers, pipe))


async def _setup(http: httpx.AsyncClient) -> dict[str, str]:
    account = {"email": "bench@example.com", "display_name": "Bench", "password": BENCH_PASSWORD}
    (await http.post("/api/v1/auth/register", json=account)).raise_for_status()
    login = await http.post(
        "/api/v1/auth/token", data={"username": account["email"], "password": BENCH_PASSWORD}
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    (
        await http.post("/api/v1/projects", json={"key": "WEB", "name": "Web"}, headers=headers)
    ).raise_for_status()
    return headers


async def _creates(
    http: httpx.AsyncClient, headers: dict[str, str], count: int
) -> tuple[list[float], dict[int, float]]:
    """`count` creates one after the other: each one's latency (ms) and send time by number."""
    latencies, sent = [], {}
    for i in range(count):
        start = time.perf_counter()
        response = await http.post(
            "/api/v1/projects/WEB/items", json={"title": f"Item {i}"}, headers=headers
        )
        latencies.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        sent[response.json()["number"]] = start
    return latencies, sent


async def _burst(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[int, float, dict[int, float]]:
    """WRITERS concurrent creators for BURST_SECONDS: items made, seconds, send times."""
    sent: dict[int, float] = {}
    deadline = time.perf_counter() + BURST_SECONDS

    async def writer() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = await http.post(
                "/api/v1/projects/WEB/items", json={"title": "Burst"}, headers=headers
            )
            response.raise_for_status()
            sent[response.json()["number"]] = start

    began = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return len(sent), time.perf_counter() - began, sent


def _fanout(sent: dict[int, float], arrivals: list[tuple[int, float]]) -> list[float]:
    """Write-to-client latencies (ms) of every delivery of the items in `sent`."""
    return [(at - sent[number]) * 1000 for number, at in arrivals if number in sent]


def _summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
        f"p99 {percentile(values, 99):.1f} ms"
    )


async def _report(pipe: Connection) -> list[tuple[int, float]]:
    pipe.send("report")
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[int, float]] = await loop.run_in_executor(None, pipe.recv)
    return arrivals


async def run(base: str) -> dict[str, Any]:
    """Every phase; the figures."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        headers = await _setup(http)
        await _creates(http, headers, 30)  # warm-up
        quiet_before, _ = await _creates(http, headers, CREATES)

        ours, theirs = multiprocessing.Pipe()
        clients = multiprocessing.get_context("spawn").Process(
            target=_client_process, args=(base, headers, theirs)
        )
        clients.start()
        try:
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, ours.recv) == "ready"
            live, sent = await _creates(http, headers, CREATES)
            await asyncio.sleep(1)  # the last deliveries
            arrivals = await _report(ours)
            made, seconds, burst_sent = await _burst(http, headers)
            await asyncio.sleep(1)
            burst_arrivals = await _report(ours)
            ours.send("stop")
        finally:
            clients.join(30)
            if clients.is_alive():
                clients.kill()
        await asyncio.sleep(1)
        quiet_after, _ = await _creates(http, headers, CREATES)

    fanout = _fanout(sent, arrivals)
    burst_fanout = _fanout(burst_sent, burst_arrivals)
    quiet = quiet_before + quiet_after
    return {
        "quiet": quiet,
        "live": live,
        "fanout": fanout,
        "deliveries": len(fanout),
        "expected": CREATES * CLIENTS,
        "burst_made": made,
        "burst_seconds": seconds,
        "burst_fanout": burst_fanout,
        "burst_expected": made * CLIENTS,
    }


def main() -> None:
    """Run the bench and print its figures; exit 1 when a target is missed."""
    with bench_database() as url, server(url, port=free_port(), log_name="events") as base:
        figures = asyncio.run(run(base))
    quiet_p50 = statistics.median(figures["quiet"])
    live_p50 = statistics.median(figures["live"])
    fanout_p95 = percentile(figures["fanout"], 95)
    ratio = live_p50 / quiet_p50
    print(f"## Live stream fan-out ({CLIENTS} SSE clients, one worker)\n")
    print(f"- item create, no clients:   {_summary(figures['quiet'])}")
    print(f"- item create, {CLIENTS} clients: {_summary(figures['live'])}")
    print(f"- create p50 with / without clients: {ratio:.2f}")
    print(
        f"- write to client, one write at a time: {_summary(figures['fanout'])} "
        f"({figures['deliveries']} of {figures['expected']} deliveries)"
    )
    made, seconds = figures["burst_made"], figures["burst_seconds"]
    burst = figures["burst_fanout"]
    print(
        f"- burst, {WRITERS} writers: {made / seconds:.0f} events/s written, "
        f"{len(burst) / seconds:.0f} deliveries/s read ({len(burst)} of "
        f"{figures['burst_expected']}); write to client {_summary(burst)}"
    )
    fanout_ok = fanout_p95 < MAX_FANOUT_P95_MS and figures["deliveries"] == figures["expected"]
    slowdown_ok = ratio <= MAX_SLOWDOWN
    print(
        f"\nfan-out p95 < {MAX_FANOUT_P95_MS:.0f} ms, none lost: {'PASS' if fanout_ok else 'FAIL'}"
    )
    print(f"create not slower by > 10 %: {'PASS' if slowdown_ok else 'FAIL'}")
    raise SystemExit(0 if fanout_ok and slowdown_ok else 1)


if __name__ == "__main__":
    main()
