"""Load (`make load`): an SPA team's request mix against `timebox serve --workers 2`, then the
invariants the database must satisfy afterwards, read from PostgreSQL directly.

Run: `.venv/bin/python -m bench.load [--clients 50] [--seconds 60]`. The server gets a
throw-away database on the server of TIMEBOX_BENCH_DATABASE_URL or TIMEBOX_DATABASE_URL when
one is set, else on an embedded PostgreSQL; it listens on 127.0.0.1 only. Prints latency per
request kind, the count of each status and PASS/FAIL per invariant; exits 1 on any FAIL.
bench/faults.py runs the same load while it breaks things.
"""

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from app.domain.kernel import clock
from bench.backlog import item_payload
from bench.harness import bench_database, connect_direct, free_port, join, percentile, server

KEY = "LOAD"
PROJECT = f"/api/v1/projects/{KEY}"
PASSWORD = "sturdy lantern orbit 42"
SEEDED_ITEMS = 200
POINTS = [1, 2, 3, 5, 8, 13, None]
PRIORITIES = ["highest", "high", "medium", "low", "lowest"]
LABELS = ["ux", "backend", "frontend", "infra", "security", "perf"]
# How long a create with no definite answer is retried with its key before it counts as lost.
RETRY_FOR_SECONDS = 20.0
# The longest a retried key may keep answering 409 ("in progress") after its first request died.
IN_PROGRESS_GRACE_SECONDS = 5.0
PROBLEM_JSON = "application/problem+json"
CREATED_TITLE = re.compile(r"^Load (load-[0-9a-f]{32})")

Status = int | str


@dataclass
class Actor:
    """A team member as the load signs in: their id and current auth header."""

    email: str
    user_id: int
    headers: dict[str, str]


@dataclass
class Team:
    """What the setup made: the team, its statuses and sprints, and the seeded items."""

    owner: Actor
    members: list[Actor]
    status_ids: list[int]
    completed_sprint: int
    active_sprint: int
    planned_sprint: int
    seeded: dict[int, str]
    # Items that stay in the completed sprint (its record): they may not change sprint.
    frozen: set[int]
    in_active: set[int]


@dataclass
class Sample:
    """One request: what it was, its answer (or what became of the connection) and when."""

    kind: str
    status: Status
    started: float
    ms: float
    problem: str | None = None
    # An HTTP answer (below 500) the request may not get, with the request and the body.
    unexpected: str | None = None

    @property
    def ended(self) -> float:
        """When the answer (or the failure) came."""
        return self.started + self.ms / 1000


@dataclass
class Create:
    """One idempotent create (one key): every answer it got and the number it was given."""

    key: str
    title: str
    body: dict[str, Any]
    answers: list[Status] = field(default_factory=list)
    number: int | None = None
    sent: float = field(default_factory=time.perf_counter)
    first_in_progress: float | None = None
    last_in_progress: float | None = None

    @property
    def definite_error(self) -> bool:
        """Never acknowledged, and every attempt got an HTTP error (so nothing may be written);
        a 409 says another request with the key was still running, so it proves nothing."""
        return self.number is None and all(isinstance(a, int) and a != 409 for a in self.answers)

    @property
    def gave_up(self) -> bool:
        """The last answer was a 4xx other than 409: retrying the same request cannot help."""
        last = self.answers[-1] if self.answers else None
        return isinstance(last, int) and 400 <= last < 500 and last != 409

    @property
    def in_progress_seconds(self) -> float:
        """How long the key answered 409 (a request with this key is in progress)."""
        if self.first_in_progress is None or self.last_in_progress is None:
            return 0.0
        return self.last_in_progress - self.first_in_progress


@dataclass
class Check:
    """One invariant's verdict."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """PASS/FAIL, the name and the figures behind the verdict."""
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def transport_status(exc: httpx.TransportError) -> str:
    """What became of a request that got no HTTP answer."""
    if isinstance(exc, httpx.ConnectError):
        return "refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "dropped"


def error_shape(response: httpx.Response) -> str | None:
    """What is wrong with an error answer's form: not problem+json, or a 503 without Retry-After."""
    if response.status_code < 400:
        return None
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return f"{response.status_code} is {response.headers.get('content-type')!r}"
    if response.status_code in (429, 503):
        retry_after = response.headers.get("retry-after", "")
        if not retry_after.isdigit() or int(retry_after) < 1:
            return f"{response.status_code} without a Retry-After in seconds ({retry_after!r})"
    return None


async def register(client: httpx.AsyncClient, email: str, name: str) -> Actor:
    """Register an account and sign it in."""
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "display_name": name, "password": PASSWORD},
    )
    response.raise_for_status()
    user_id = int(response.json()["id"])
    return Actor(email, user_id, await sign_in(client, email))


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """A fresh login token's auth header."""
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def setup_team(client: httpx.AsyncClient, members: int = 4) -> Team:
    """A project with an owner and members, one extra status, 200 items, a completed, an
    active and a planned sprint."""
    rng = random.Random(7)
    tag = uuid.uuid4().hex[:6]
    owner = await register(client, f"owner-{tag}@example.com", "Owner")
    team = [
        await register(client, f"member{n}-{tag}@example.com", f"Member {n}")
        for n in range(members)
    ]
    headers = owner.headers

    async def call(method: str, url: str, **kwargs: Any) -> Any:
        response = await client.request(method, url, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"setup: {method} {url}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    await call("POST", "/api/v1/projects", json={"key": KEY, "name": "Load"})
    for member in team:
        await join(client, PROJECT, headers, member.headers, member.email)
    await call("POST", f"{PROJECT}/statuses", json={"name": "Blocked", "category": "in_progress"})
    statuses = (await call("GET", f"{PROJECT}/statuses"))["data"]
    status_ids = [int(status["id"]) for status in statuses]
    done = [int(s["id"]) for s in statuses if s["category"] == "done"]
    user_ids = [owner.user_id] + [member.user_id for member in team]
    payloads: list[dict[str, Any]] = []
    for n in range(SEEDED_ITEMS):
        payload: dict[str, Any] = dict(item_payload(rng, n))
        payload["assignee_id"] = rng.choice([None, *user_ids])
        payloads.append(payload)
    created = await call("POST", f"{PROJECT}/items/batch", json={"items": payloads})
    seeded = {int(item["number"]): str(item["title"]) for item in created["data"]}

    today = clock.today("UTC")

    def dates(first: int, last: int) -> dict[str, str]:
        return {
            "start_date": str(today + timedelta(days=first)),
            "end_date": str(today + timedelta(days=last)),
        }

    completed = (await call("POST", f"{PROJECT}/sprints", json=dates(-20, -7)))["number"]
    await call("POST", f"{PROJECT}/sprints/{completed}/items", json={"items": list(range(1, 21))})
    await call("POST", f"{PROJECT}/sprints/{completed}/start")
    frozen = set(range(1, 13))
    for number in frozen:
        await call("PATCH", f"{PROJECT}/items/{number}", json={"status_id": done[0]})
    await call("POST", f"{PROJECT}/sprints/{completed}/complete", json={"carry_over": "backlog"})
    active = (await call("POST", f"{PROJECT}/sprints", json=dates(-6, 7)))["number"]
    in_active = set(range(21, 61))
    await call("POST", f"{PROJECT}/sprints/{active}/items", json={"items": sorted(in_active)})
    await call("POST", f"{PROJECT}/sprints/{active}/start")
    planned = (await call("POST", f"{PROJECT}/sprints", json=dates(8, 21)))["number"]
    await call("POST", f"{PROJECT}/sprints/{planned}/items", json={"items": list(range(61, 81))})
    return Team(
        owner=owner,
        members=team,
        status_ids=status_ids,
        completed_sprint=int(completed),
        active_sprint=int(active),
        planned_sprint=int(planned),
        seeded=seeded,
        frozen=frozen,
        in_active=in_active,
    )


@dataclass
class Session:
    """One simulated SPA tab: who it is signed in as and the board tags it has seen."""

    actor: Actor
    headers: dict[str, str]
    rng: random.Random
    etags: dict[str, str] = field(default_factory=dict)


class Load:
    """The request mix of a team's SPA, with every answer recorded for the checks."""

    def __init__(self, client: httpx.AsyncClient, team: Team, seed: int = 1) -> None:
        self.client = client
        self.team = team
        self.seed = seed
        self.samples: list[Sample] = []
        self.creates: dict[str, Create] = {}
        self.acked_versions: dict[int, int] = {}
        # When each retry after a 201 was sent, and (when, what) for those not replayed.
        self.replays: list[float] = []
        self.replay_failures: list[tuple[float, str]] = []
        self.known_max = max(team.seeded)
        self.in_active = set(team.in_active)
        self.stopping = asyncio.Event()
        self.elapsed = 0.0
        self._clients = 0
        self._weights: list[tuple[Callable[[Session], Awaitable[None]], int]] = [
            (self.board, 28),
            (self.create, 12),
            (self.edit, 20),
            (self.move, 10),
            (self.scope, 8),
            (self.report, 8),
            (self.page, 12),
            (self.login, 2),
        ]

    async def request(
        self,
        kind: str,
        method: str,
        url: str,
        session: Session,
        allowed: tuple[int, ...],
        client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """Send one request (through `client`, default the load's) and record it; None when no
        HTTP answer came back."""
        headers = {**session.headers, **kwargs.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = await (client or self.client).request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            status = transport_status(exc)
            self.samples.append(Sample(kind, status, started, _ms(started)))
            if status == "refused":
                # The server is down (a fault scenario): do not spin while it comes back.
                await asyncio.sleep(0.2)
            return None
        status_code = response.status_code
        unexpected = None
        if status_code not in allowed and status_code < 500:
            unexpected = f"{method} {url}: {response.text[:300]}"
        self.samples.append(
            Sample(kind, status_code, started, _ms(started), error_shape(response), unexpected)
        )
        return response

    def number(self, session: Session) -> int:
        """Any item number the team knows of."""
        return session.rng.randint(1, self.known_max)

    async def board(self, session: Session) -> None:
        """A board refresh; half of them revalidate with the tag seen last."""
        scope = session.rng.choice(["active", "backlog"])
        etag = session.etags.get(scope)
        if etag and session.rng.random() < 0.5:
            response = await self.request(
                "board If-None-Match",
                "GET",
                f"{PROJECT}/board",
                session,
                (200, 304),
                params={"sprint": scope},
                headers={"If-None-Match": etag},
            )
        else:
            response = await self.request(
                "board", "GET", f"{PROJECT}/board", session, (200,), params={"sprint": scope}
            )
        if response is not None and "etag" in response.headers:
            session.etags[scope] = response.headers["etag"]

    def new_create(self, session: Session) -> Create:
        """A new item's body under a new Idempotency-Key, which its title carries."""
        key = f"load-{uuid.uuid4().hex}"
        body: dict[str, Any] = dict(item_payload(session.rng, 0))
        body["title"] = f"Load {key}"
        if session.rng.random() < 0.3:
            body["assignee_id"] = session.actor.user_id
        attempt = Create(key, body["title"], body)
        self.creates[key] = attempt
        return attempt

    async def create(self, session: Session) -> None:
        """An idempotent create; some are retried at once and must be replayed."""
        attempt = self.new_create(session)
        await self.send_create(session, attempt, "create")
        if attempt.number is not None and session.rng.random() < 0.25:
            await self.retry_at_once(session, attempt)
        elif attempt.number is None and not attempt.gave_up:
            await self.retry_create(session, attempt)

    async def send_create(
        self,
        session: Session,
        attempt: Create,
        kind: str,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response | None:
        """POST the create with its key; records the answer on the attempt."""
        # A retry may meet the first request still running (409, judged by the fault scenarios).
        allowed = (201,) if kind == "create" else (201, 409)
        response = await self.request(
            kind,
            "POST",
            f"{PROJECT}/items",
            session,
            allowed,
            client,
            json=attempt.body,
            headers={"Idempotency-Key": attempt.key},
        )
        if response is None:
            attempt.answers.append(self.samples[-1].status)
            return None
        attempt.answers.append(response.status_code)
        if response.status_code == 409:
            now = time.perf_counter()
            attempt.first_in_progress = attempt.first_in_progress or now
            attempt.last_in_progress = now
        if response.status_code == 201:
            number = int(response.json()["number"])
            if attempt.number is None:
                attempt.number = number
                self.known_max = max(self.known_max, number)
            elif attempt.number != number:
                self.replay_failures.append(
                    (
                        time.perf_counter(),
                        f"{attempt.key}: replayed number {number}, first answer {attempt.number}",
                    )
                )
        return response

    async def retry_at_once(self, session: Session, attempt: Create) -> None:
        """The same key and body again right after the 201: the 201 must be replayed."""
        self.replays.append(time.perf_counter())
        deadline = time.perf_counter() + RETRY_FOR_SECONDS
        while True:
            # A different number in the replay is recorded by send_create.
            response = await self.send_create(session, attempt, "create retry (after 201)")
            unanswered = response is None or response.status_code == 503
            if not unanswered or time.perf_counter() > deadline:
                break
            # No answer, or the database is away (a fault scenario): ask again, as an SDK would.
            await asyncio.sleep(_pause(response))
        if response is None:
            self.replay_failures.append((time.perf_counter(), f"{attempt.key}: no answer"))
        elif response.status_code != 201:
            self.replay_failures.append(
                (
                    time.perf_counter(),
                    f"{attempt.key}: retry after 201 answered {response.status_code} "
                    f"{response.text[:200]}",
                )
            )
        elif response.headers.get("idempotency-replayed") != "true":
            self.replay_failures.append(
                (time.perf_counter(), f"{attempt.key}: retry after 201 was not a replay")
            )

    async def retry_create(self, session: Session, attempt: Create) -> None:
        """No definite answer (or a 409/5xx): retry with the same key and body, as an SDK would."""
        deadline = time.perf_counter() + RETRY_FOR_SECONDS
        pause = 0.25
        while attempt.number is None and time.perf_counter() < deadline:
            await asyncio.sleep(pause)
            response = await self.send_create(session, attempt, "create retry (after failure)")
            if response is not None and response.status_code < 500 and response.status_code != 409:
                return
            pause = _pause(response)

    async def edit(self, session: Session) -> None:
        """Open an item and change a field or two with If-Match (412 when someone was faster)."""
        number = self.number(session)
        response = await self.request("item", "GET", f"{PROJECT}/items/{number}", session, (200,))
        if response is None or response.status_code != 200:
            return
        rng = session.rng
        choices: dict[str, Callable[[], Any]] = {
            "title": lambda: f"{response.json()['title'][:200]} ✎",
            "points": lambda: rng.choice(POINTS),
            "priority": lambda: rng.choice(PRIORITIES),
            "labels": lambda: rng.sample(LABELS, rng.randint(0, 2)),
            "status_id": lambda: rng.choice(self.team.status_ids),
            "assignee_id": lambda: rng.choice(
                [None, self.team.owner.user_id, *(m.user_id for m in self.team.members)]
            ),
        }
        fields = rng.sample(sorted(choices), rng.randint(1, 2))
        changes = {name: choices[name]() for name in fields}
        patched = await self.request(
            "edit",
            "PATCH",
            f"{PROJECT}/items/{number}",
            session,
            (200, 409, 412),
            json=changes,
            headers={"If-Match": response.headers["etag"]},
        )
        self.acknowledge(patched)

    def acknowledge(self, response: httpx.Response | None) -> None:
        """Remember the version an acknowledged item change answered with."""
        if response is not None and response.status_code == 200:
            body = response.json()
            number = int(body["number"])
            self.acked_versions[number] = max(self.acked_versions.get(number, 0), body["version"])

    async def move(self, session: Session) -> None:
        """Drag an item on the backlog: before or after another, or to the top or bottom."""
        number = self.number(session)
        roll = session.rng.random()
        other = self.number(session)
        if roll < 0.1:
            target: dict[str, Any] = {"top": True}
        elif roll < 0.2:
            target = {"bottom": True}
        elif other == number:
            target = {"top": True}
        else:
            target = {"before" if roll < 0.6 else "after": other}
        response = await self.request(
            "move", "POST", f"{PROJECT}/items/{number}/move", session, (200, 409), json=target
        )
        self.acknowledge(response)

    async def scope(self, session: Session) -> None:
        """Add an item to the active sprint or take one out."""
        path = f"{PROJECT}/sprints/{self.team.active_sprint}/items"
        if session.rng.random() < 0.5 or not self.in_active:
            number = self.number(session)
            if number in self.team.frozen:
                return
            response = await self.request(
                "sprint add", "POST", path, session, (200, 409), json={"items": [number]}
            )
            if response is not None and response.status_code == 200:
                self.in_active.add(number)
        else:
            number = session.rng.choice(sorted(self.in_active))
            # 422 "not in the sprint": someone else took it out first.
            response = await self.request(
                "sprint remove", "DELETE", path, session, (200, 409, 422), json={"items": [number]}
            )
            if response is not None and response.status_code in (200, 422):
                self.in_active.discard(number)

    async def report(self, session: Session) -> None:
        """A sprint report, the active sprint's burndown, or the velocity chart's data."""
        team = self.team
        roll = session.rng.random()
        if roll < 0.4:
            number = session.rng.choice([team.active_sprint, team.completed_sprint])
            url = f"{PROJECT}/sprints/{number}/report"
            kind = "sprint report"
        elif roll < 0.7:
            url, kind = f"{PROJECT}/sprints/{team.active_sprint}/burndown", "burndown"
        else:
            url, kind = f"{PROJECT}/velocity", "velocity"
        await self.request(kind, "GET", url, session, (200,))

    async def page(self, session: Session) -> None:
        """The backlog list, first page or a filtered one."""
        params: dict[str, Any] = {"limit": 50}
        if session.rng.random() < 0.3:
            params["sprint"] = "backlog"
        await self.request("items page", "GET", f"{PROJECT}/items", session, (200,), params=params)

    async def login(self, session: Session) -> None:
        """Sign in again (a new tab): later requests of this session use the new token."""
        started = len(self.samples)
        response = await self.request(
            "login",
            "POST",
            "/api/v1/auth/token",
            session,
            (200,),
            data={"username": session.actor.email, "password": PASSWORD},
        )
        if response is not None and response.status_code == 200 and len(self.samples) > started:
            session.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def client_loop(self, index: int, deadline: float | None) -> None:
        """One SPA user, acting until the deadline or until told to stop."""
        team = self.team
        people = [team.owner, *team.members]
        actor = people[index % len(people)]
        session = Session(actor, dict(actor.headers), random.Random(self.seed * 1000 + index))
        actions = [action for action, _ in self._weights]
        weights = [weight for _, weight in self._weights]
        while not self.stopping.is_set():
            if deadline is not None and time.perf_counter() >= deadline:
                return
            action = session.rng.choices(actions, weights)[0]
            await action(session)

    async def run(self, clients: int, seconds: float | None) -> None:
        """Run `clients` sessions for `seconds` (or until `stopping` is set)."""
        self.stopping = asyncio.Event()
        started = time.perf_counter()
        deadline = None if seconds is None else started + seconds
        await asyncio.gather(*(self.client_loop(i, deadline) for i in range(clients)))
        self.elapsed += time.perf_counter() - started


def _pause(response: httpx.Response | None) -> float:
    """How long to wait before a retry: Retry-After as an SDK honours it, capped at 2 s (the
    checks want recovery within 5 s), else a quarter of a second."""
    retry_after = response.headers.get("retry-after", "") if response is not None else ""
    return min(float(retry_after), 2.0) if retry_after.isdigit() else 0.25


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def latency_table(samples: list[Sample], elapsed: float) -> str:
    """p50/p95/p99/max per request kind and overall, requests/s and the statuses seen."""
    lines = [
        "| request | count | p50 ms | p95 ms | p99 ms | max ms | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    kinds = sorted({sample.kind for sample in samples})
    for kind in [*kinds, "all"]:
        chosen = [s for s in samples if kind in ("all", s.kind)]
        if not chosen:
            continue
        ms = [s.ms for s in chosen]
        statuses = Counter(str(s.status) for s in chosen)
        shown = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
        name = "**all**" if kind == "all" else kind
        lines.append(
            f"| {name} | {len(chosen)} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | "
            f"{percentile(ms, 99):.1f} | {max(ms):.1f} | {shown} |"
        )
    rps = len(samples) / elapsed if elapsed else 0.0
    lines.append(f"\n{len(samples)} requests in {elapsed:.1f} s: {rps:.0f} requests/s")
    return "\n".join(lines)


def counted(statuses: Counter[Status]) -> str:
    """`503 ×4, dropped ×1`."""
    return ", ".join(f"{status} ×{n}" for status, n in sorted(statuses.items(), key=str))


def answer_checks(
    load: Load, since: float = 0.0, until: float = float("inf"), *, faults: bool = False
) -> list[Check]:
    """What the answers of requests sent between `since` and `until` must satisfy: no 5xx and
    no dropped connection (a fault scenario judges those itself), only the statuses each
    request may get, well-formed problems, and retries after a 201 replayed."""
    samples = [s for s in load.samples if since <= s.started < until]
    five: Counter[Status] = Counter(
        s.status for s in samples if isinstance(s.status, int) and s.status >= 500
    )
    shapes = Counter(s.problem for s in samples if s.problem)
    transport: Counter[Status] = Counter(s.status for s in samples if isinstance(s.status, str))
    unexpected: Counter[tuple[str, Status]] = Counter()
    examples: dict[tuple[str, Status], str] = {}
    for sample in samples:
        if sample.unexpected:
            unexpected[sample.kind, sample.status] += 1
            examples.setdefault((sample.kind, sample.status), sample.unexpected)
    replays = [t for t in load.replays if since <= t < until]
    failures = [text for t, text in load.replay_failures if since <= t < until]
    checks = [
        Check(
            "only expected answers",
            not unexpected,
            "; ".join(
                f"{kind} → {status} ×{count} (e.g. {examples[kind, status]})"
                for (kind, status), count in sorted(unexpected.items(), key=str)
            )
            or "none unexpected",
        ),
        Check(
            "errors are problem+json (503/429 with Retry-After)",
            not shapes,
            "; ".join(f"{p} ×{n}" for p, n in shapes.items()) or "all well-formed",
        ),
        Check(
            "idempotent retries replay the first 201",
            not failures,
            f"{len(replays)} retries after a 201"
            + (
                f"; {len(failures)} failed: " + "; ".join(failures[:5])
                if failures
                else ", all replayed with the same number"
            ),
        ),
    ]
    if not faults:
        checks.insert(0, Check("no 5xx", not five, counted(five) or "0 5xx"))
        checks.append(
            Check("no dropped connections", not transport, counted(transport) or "0 dropped")
        )
    return checks


async def connect(database_url: str) -> asyncpg.Connection:
    """A direct connection to the bench database, with JSON decoded."""
    connection = await connect_direct(database_url)
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    return connection


PRIORITY_NAMES = {1: "highest", 2: "high", 3: "medium", 4: "low", 5: "lowest"}


def _same(left: Any, right: Any) -> bool:
    """Log values against column values: numbers compare as numbers (3 == 3.0)."""
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) and not isinstance(left, bool):
        return float(left) == float(right)
    return bool(left == right)


async def state_checks(database_url: str, client: httpx.AsyncClient, load: Load) -> list[Check]:
    """The invariants read from the database once the load has stopped."""
    connection = await connect(database_url)
    try:
        project_id = await connection.fetchval("SELECT id FROM projects WHERE key = $1", KEY)
        rows = await connection.fetch(
            "SELECT i.id, i.number, i.title, i.type, i.points, i.priority, i.labels, "
            "i.assignee_id, parent.number AS parent, i.status_id, i.rank, s.number AS sprint, "
            "i.version FROM items i LEFT JOIN items parent ON parent.id = i.parent_id "
            "LEFT JOIN sprints s ON s.id = i.sprint_id WHERE i.project_id = $1",
            project_id,
        )
        events = await connection.fetch(
            "SELECT item_id, item_number, kind, field, old_value, new_value FROM item_events "
            "WHERE project_id = $1 ORDER BY id",
            project_id,
        )
        by_rank = [
            row["number"]
            for row in await connection.fetch(
                "SELECT number FROM items WHERE project_id = $1 ORDER BY rank", project_id
            )
        ]
    finally:
        await connection.close()
    checks = [
        _creates_check(rows, load),
        _numbers_check(rows),
        _ranks_check(rows),
        _events_check(rows, events),
        _durable_check(rows, load),
        await _paging_check(client, load, by_rank),
    ]
    return checks


def _create_key(title: str) -> str | None:
    """The Idempotency-Key a load-created item's title carries (edits only append to it)."""
    match = CREATED_TITLE.match(title)
    return match.group(1) if match else None


def _creates_check(rows: list[asyncpg.Record], load: Load) -> Check:
    problems: list[str] = []
    written: Counter[str] = Counter()
    for row in rows:
        key = _create_key(row["title"])
        if key is not None:
            written[key] += 1
    acked = set(load.team.seeded)
    unknown = landed = 0
    for attempt in load.creates.values():
        if written[attempt.key] > 1:
            problems.append(f"{attempt.key} was created {written[attempt.key]} times")
        if attempt.number is not None:
            acked.add(attempt.number)
        elif attempt.definite_error:
            if written[attempt.key]:
                problems.append(f"{attempt.key} answered {attempt.answers} yet was written")
        else:
            unknown += 1
            landed += written[attempt.key] > 0
    by_number = {row["number"]: row for row in rows}
    for attempt in load.creates.values():
        if attempt.number is None:
            continue
        row = by_number.get(attempt.number)
        if row is None:
            problems.append(f"acknowledged {KEY}-{attempt.number} is missing")
        elif _create_key(row["title"]) != attempt.key:
            problems.append(f"{KEY}-{attempt.number} is {row['title']!r}, not {attempt.key}'s")
    problems += [
        f"acknowledged {KEY}-{n} is missing" for n in load.team.seeded if n not in by_number
    ]
    phantoms = [
        row["number"]
        for row in rows
        if row["number"] not in acked and _create_key(row["title"]) not in load.creates
    ]
    if phantoms:
        problems.append(f"rows nobody asked for: {phantoms[:10]}")
    if len(rows) != len(acked) + landed:
        problems.append(f"{len(rows)} rows, expected {len(acked) + landed}")
    detail = (
        f"{len(acked)} acknowledged ({len(load.team.seeded)} seeded + "
        f"{len(acked) - len(load.team.seeded)} by the load), {len(rows)} rows"
    )
    if unknown:
        detail += f", {unknown} creates without a definite answer ({landed} of them written)"
    return Check(
        "acknowledged creates = item rows", not problems, "; ".join([detail, *problems[:5]])
    )


def _numbers_check(rows: list[asyncpg.Record]) -> Check:
    numbers = sorted(row["number"] for row in rows)
    missing = sorted(set(range(1, len(numbers) + 1)) - set(numbers))
    ok = numbers == list(range(1, len(numbers) + 1))
    return Check(
        "item numbers gap-free 1..N",
        ok,
        f"1..{len(numbers)}" if ok else f"missing {missing[:10]}, max {numbers[-1]}",
    )


def _ranks_check(rows: list[asyncpg.Record]) -> Check:
    ranks = Counter(row["rank"] for row in rows)
    duplicates = [rank for rank, count in ranks.items() if count > 1]
    return Check(
        "ranks unique",
        not duplicates,
        f"{len(ranks)} distinct ranks" if not duplicates else f"duplicated: {duplicates[:5]}",
    )


def _current(row: asyncpg.Record) -> dict[str, Any]:
    """An item's tracked fields as the event log spells them."""
    return {
        "type": row["type"],
        "title": row["title"],
        "points": row["points"],
        "priority": PRIORITY_NAMES[row["priority"]],
        "labels": list(row["labels"]),
        "assignee": row["assignee_id"],
        "parent": row["parent"],
        "status": row["status_id"],
        "rank": row["rank"],
        "sprint": row["sprint"],
    }


def _events_check(rows: list[asyncpg.Record], events: list[asyncpg.Record]) -> Check:
    states: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    for event in events:
        item_id, number = event["item_id"], event["item_number"]
        if event["kind"] == "created":
            if item_id in states:
                problems.append(f"{KEY}-{number}: created twice")
            states[item_id] = dict(event["new_value"])
            continue
        if event["kind"] == "deleted":
            states.pop(item_id, None)
            continue
        state = states.get(item_id)
        if state is None:
            problems.append(f"{KEY}-{number}: {event['kind']} {event['field']} before created")
            continue
        name = event["field"]
        if not _same(event["old_value"], state.get(name)):
            problems.append(
                f"{KEY}-{number}.{name}: old {event['old_value']!r} but the previous event "
                f"left {state.get(name)!r}"
            )
        state[name] = event["new_value"]
    changed = 0
    for row in rows:
        state = states.get(row["id"])
        if state is None:
            problems.append(f"{KEY}-{row['number']}: no created event")
            continue
        for name, value in _current(row).items():
            if not _same(state.get(name), value):
                problems.append(
                    f"{KEY}-{row['number']}.{name} is {value!r}, the log ends at "
                    f"{state.get(name)!r}"
                )
        changed += 1
    return Check(
        "event log chains old → new and ends at the current state",
        not problems,
        f"{len(events)} events of {changed} items"
        + (f"; {len(problems)} breaks: " + "; ".join(problems[:5]) if problems else ""),
    )


def _durable_check(rows: list[asyncpg.Record], load: Load) -> Check:
    versions = {row["number"]: row["version"] for row in rows}
    lost = [
        f"{KEY}-{number} at v{versions.get(number)}, acknowledged v{version}"
        for number, version in load.acked_versions.items()
        if versions.get(number, 0) < version
    ]
    return Check(
        "acknowledged edits and moves are durable",
        not lost,
        f"{len(load.acked_versions)} items changed" + (f"; lost: {lost[:5]}" if lost else ""),
    )


async def _paging_check(client: httpx.AsyncClient, load: Load, by_rank: list[int]) -> Check:
    paged: list[int] = []
    cursor: str | None = None
    pages = 0
    headers = load.team.owner.headers
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(f"{PROJECT}/items", params=params, headers=headers)
        if response.status_code != 200:
            return Check("paging = rank order", False, f"page {pages + 1}: {response.status_code}")
        body = response.json()
        paged += [int(item["number"]) for item in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor or pages > 1000:
            break
    ok = paged == by_rank
    detail = f"{len(paged)} items in {pages} pages"
    if not ok:
        first = next(
            (i for i, (a, b) in enumerate(zip(paged, by_rank, strict=False)) if a != b),
            min(len(paged), len(by_rank)),
        )
        detail += f"; differs from the database's {len(by_rank)} rows at position {first}"
    return Check("paging = rank order", ok, detail)


def print_checks(checks: list[Check]) -> bool:
    """Print every verdict; True when all passed."""
    for check in checks:
        print(check.line())
    return all(check.ok for check in checks)


def client_for(base: str, clients: int) -> httpx.AsyncClient:
    """An HTTP client with a connection per simulated user and bounded timeouts."""
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(60, connect=5))


async def main(base: str, database_url: str, clients: int, seconds: float, seed: int) -> bool:
    async with client_for(base, clients) as client:
        started = time.perf_counter()
        team = await setup_team(client)
        print(
            f"setup: {KEY} with {1 + len(team.members)} people, {len(team.status_ids)} statuses, "
            f"{len(team.seeded)} items, sprints {team.completed_sprint} (completed), "
            f"{team.active_sprint} (active), {team.planned_sprint} (planned) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        load = Load(client, team, seed)
        print(f"load: {clients} clients for {seconds:g} s on 2 workers ...")
        await load.run(clients, seconds)
        print(latency_table(load.samples, load.elapsed))
        print()
        checks = answer_checks(load) + await state_checks(database_url, client, load)
        return print_checks(checks)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs (60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix (1)")
    return parser.parse_args(argv)


def admin_url() -> str | None:
    """The PostgreSQL server to make the throw-away database on, if one is configured."""
    return os.environ.get("TIMEBOX_BENCH_DATABASE_URL") or os.environ.get("TIMEBOX_DATABASE_URL")


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    with (
        bench_database(admin_url()) as url,
        server(url, port=free_port(), workers=2, log_name="load") as base,
    ):
        passed = asyncio.run(main(base, url, args.clients, args.seconds, args.seed))
    print("\nload: PASS" if passed else "\nload: FAIL")
    sys.exit(0 if passed else 1)
