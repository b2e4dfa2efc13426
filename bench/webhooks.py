"""Webhook workload (issue 13): deliveries/s to a local receiver, and commit-to-receipt latency.

Run: `.venv/bin/python -m bench.webhooks` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
A real `timebox serve` (one process, its dispatcher on) sends to a threaded HTTP receiver on
loopback in this process. Three workloads:
- fan-out: 10 webhooks on one project, 1,000 events written in batches (10,000 deliveries);
- one webhook: 1,000 events to a single webhook, whose deliveries go one at a time (seq order);
- latency: 200 single writes, 20/s, to one webhook: event time to receipt, median and p95.
Target: at least 200 deliveries/s. Latency is measured from the event's `occurred_at` (its
transaction's start, a little before its commit) to receipt, on the same clock.
"""

import argparse
import asyncio
import json
import statistics
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from bench.harness import BENCH_PASSWORD, bench_database, percentile, server

TARGET_PER_SECOND = 200.0


class Receiver:
    """A keep-alive HTTP/1.1 receiver in threads, counting deliveries per path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.latencies_ms: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                # The server's clock stamped occurred_at: compare on the same wall clock.
                now = time.time()  # noqa: TID251
                event = json.loads(body)
                occurred = datetime.fromisoformat(event["occurred_at"]).timestamp()
                with receiver.lock:
                    receiver.count += 1
                    receiver.latencies_ms.append((now - occurred) * 1000)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        """A URL on this receiver."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def reset(self) -> None:
        """Forget what was counted."""
        with self.lock:
            self.count = 0
            self.latencies_ms = []

    async def wait_for(self, count: int, within: float = 300) -> None:
        """Wait until `count` deliveries arrived."""
        async with asyncio.timeout(within):
            # The count is written by the receiver's threads: polled, not awaited.
            while self.count < count:  # noqa: ASYNC110
                await asyncio.sleep(0.01)


async def _setup(http: httpx.AsyncClient) -> dict[str, str]:
    account = {"email": "bench@example.com", "display_name": "Bench", "password": BENCH_PASSWORD}
    (await http.post("/api/v1/auth/register", json=account)).raise_for_status()
    login = await http.post(
        "/api/v1/auth/token", data={"username": account["email"], "password": BENCH_PASSWORD}
    )
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _project(
    http: httpx.AsyncClient, auth: dict[str, str], key: str, hooks: list[str]
) -> None:
    (
        await http.post("/api/v1/projects", json={"key": key, "name": key}, headers=auth)
    ).raise_for_status()
    for url in hooks:
        made = await http.post(f"/api/v1/projects/{key}/webhooks", json={"url": url}, headers=auth)
        made.raise_for_status()


async def _batches(http: httpx.AsyncClient, auth: dict[str, str], key: str, events: int) -> None:
    for start in range(0, events, 250):
        items = [{"title": f"Item {n}"} for n in range(start, min(events, start + 250))]
        made = await http.post(
            f"/api/v1/projects/{key}/items/batch", json={"items": items}, headers=auth
        )
        made.raise_for_status()


async def _throughput(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    key: str,
    hooks: int,
    events: int,
) -> tuple[int, float]:
    await _project(http, auth, key, [receiver.url(f"{key}/{n}") for n in range(hooks)])
    receiver.reset()
    started = time.perf_counter()
    await _batches(http, auth, key, events)
    await receiver.wait_for(hooks * events)
    return hooks * events, hooks * events / (time.perf_counter() - started)


async def _latency(
    http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver, writes: int, rate: float
) -> tuple[float, float]:
    await _project(http, auth, "LAT", [receiver.url("LAT")])
    receiver.reset()
    for n in range(writes):
        made = await http.post("/api/v1/projects/LAT/items", json={"title": f"L{n}"}, headers=auth)
        made.raise_for_status()
        await asyncio.sleep(1 / rate)
    await receiver.wait_for(writes)
    values = list(receiver.latencies_ms)
    return statistics.median(values), percentile(values, 95)


async def main(base: str, events: int) -> None:
    receiver = Receiver()
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        auth = await _setup(http)
        fan_count, fan_rate = await _throughput(http, auth, receiver, "FAN", 10, events)
        one_count, one_rate = await _throughput(http, auth, receiver, "ONE", 1, events)
        median, p95 = await _latency(http, auth, receiver, 200, 20.0)
    receiver.server.shutdown()
    verdict = "PASS" if fan_rate >= TARGET_PER_SECOND else "FAIL"
    print("| workload | deliveries | deliveries/s | target | |")
    print("|---|---|---|---|---|")
    print(f"| 10 webhooks, batched writes | {fan_count} | {fan_rate:.0f} | >= 200 | {verdict} |")
    print(f"| 1 webhook (serial, seq order) | {one_count} | {one_rate:.0f} | | |")
    print()
    print(f"event to receipt, 20 writes/s, 1 webhook: median {median:.1f} ms, p95 {p95:.1f} ms")


def run() -> None:
    """Parse arguments, start a server on a throw-away database, run the workloads."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000, help="Events per throughput run.")
    args = parser.parse_args()
    env = {"TIMEBOX_WEBHOOK_ALLOW_PRIVATE": "true", "TIMEBOX_LOG_LEVEL": "WARNING"}
    with bench_database() as url, server(url, env=env, log_name="webhooks") as base:
        asyncio.run(main(base, args.events))


if __name__ == "__main__":
    run()
