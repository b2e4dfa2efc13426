"""The live streams: `GET /projects/{key}/events` and `GET /me/events` (SSE), and their tickets.

Streams are read over a real loopback connection from an in-process uvicorn serving an app of
its own (heartbeat shortened), on the suite's database: the suite's ASGI client cannot deliver
an endless response (see tests/sse.py). Writes go through the suite's checked client, so they
reach the streams the way production writes do: committed, NOTIFYd, fanned out by the hub.
"""

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlmodel import col

from app.db import Database
from app.domain.events import service as events_service
from app.domain.events.catalogue import EventPublic
from app.domain.kernel import clock
from app.domain.projects.models import Project, Role
from app.domain.streams.models import StreamTicket
from app.live import streams as live_streams
from app.live.hub import APPLICATION_NAME, LAGGED, Delivery, Hub, Subscriber
from app.main import create_app
from app.settings import Settings
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, assert_unauthorized, login_token
from tests.sse import Stream, open_stream, refused

HEARTBEAT_SECONDS = 0.3
EVENTS = "/api/v1/projects/WEB/events"


@dataclass
class Live:
    """A real server on loopback, and a client for it."""

    app: FastAPI
    http: httpx.AsyncClient

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    @property
    def database(self) -> Database:
        database: Database = self.app.state.database
        return database


@pytest.fixture
async def live(settings: Settings, database: Database) -> AsyncIterator[Live]:
    app = create_app(settings.model_copy(update={"stream_heartbeat_seconds": HEARTBEAT_SECONDS}))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    async with app.router.lifespan_context(app):
        config = uvicorn.Config(app, lifespan="off", log_config=None, timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        hub: Hub = app.state.hub
        async with asyncio.timeout(10):
            # uvicorn says it has started with a flag, not an event.
            while not server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await hub.connected.wait()
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=httpx.Timeout(10, read=10)
            ) as http:
                yield Live(app, http)
        finally:
            server.should_exit = True
            async with asyncio.timeout(10):
                await serving
            sock.close()


async def _create_item(client: httpx.AsyncClient, actor: Actor, title: str) -> int:
    response = await client.post(
        "/api/v1/projects/WEB/items", headers=actor.headers, json={"title": title}
    )
    assert response.status_code == 201, response.text
    number: int = response.json()["number"]
    return number


async def _ticket(client: httpx.AsyncClient, actor: Actor, path: str = EVENTS) -> str:
    response = await client.post(f"{path}/ticket", headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket"].startswith("tbxs_")
    ticket: str = body["ticket"]
    return ticket


async def _seqs(stream: Stream, count: int) -> list[int]:
    messages = await stream.events(count)
    for message in messages:
        event = EventPublic.model_validate(message.json)
        assert message.id == str(event.seq) and message.event == event.type.value
    return [int(message.id or 0) for message in messages]


async def test_a_new_event_arrives_live_as_the_catalogue_shapes_it(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    async with open_stream(live.http, EVENTS, headers=team.viewer.headers) as stream:
        first = await stream.message()
        assert first is not None and first.comments == ["connected"] and first.retry == 2000
        number = await _create_item(client, team.member, "Live")
        message = await stream.event()
    event = EventPublic.model_validate(message.json)
    assert (message.event, event.type.value, event.project, event.item) == (
        "item.created",
        "item.created",
        "WEB",
        number,
    )
    assert message.id == str(event.seq)
    assert event.actor is not None and event.actor.id == team.member.id


async def test_replay_from_last_event_id_has_no_gap_and_no_duplicate_while_writes_go_on(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    for n in range(5):
        await _create_item(client, owner, f"Before {n}")  # seqs 1..5
    total = 5 + 40

    async def write() -> None:
        for n in range(40):
            await _create_item(client, owner, f"During {n}")

    writer = asyncio.create_task(write())
    try:
        # Connected after seq 2, while the writer commits: the replay and the live events
        # must join up. Then a reconnect from the last id received, mid-stream.
        received: list[int] = []
        async with open_stream(
            live.http, EVENTS, headers={**owner.headers, "Last-Event-ID": "2"}
        ) as stream:
            received += await _seqs(stream, 15)
        async with open_stream(
            live.http, EVENTS, headers=owner.headers, params={"last_event_id": received[-1]}
        ) as stream:
            received += await _seqs(stream, total - 2 - len(received))
        await writer
    finally:
        writer.cancel()
    assert received == list(range(3, total + 1))


async def test_events_committed_during_the_replay_are_sent_once(
    live: Live, client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await factory.owner()
    for n in range(2):
        await _create_item(client, owner, f"Before {n}")  # seqs 1, 2
    async with live.database.sessions() as session:
        found = await session.execute(select(col(Project.id)).where(col(Project.key) == "WEB"))
        project_id = found.scalar_one()
        assert project_id is not None
    real = events_service.events_after
    calls = 0

    async def replay_after_three_more(*args: Any, **kwargs: Any) -> Any:
        # The stream is subscribed; before its replay reads the log, three more events
        # commit and reach its queue: they are in both, and must be sent once.
        nonlocal calls
        calls += 1
        if calls == 1:
            for n in range(3):
                await _create_item(client, owner, f"During {n}")  # seqs 3..5
            async with asyncio.timeout(10):
                while live.hub.fanned_out(project_id) != 5:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        return await real(*args, **kwargs)

    monkeypatch.setattr(
        live_streams,
        "events",
        SimpleNamespace(events_after=replay_after_three_more, last_seq=events_service.last_seq),
    )
    async with open_stream(
        live.http, EVENTS, headers={**owner.headers, "Last-Event-ID": "1"}
    ) as stream:
        received = await _seqs(stream, 4)
        await _create_item(client, owner, "After")
        received += await _seqs(stream, 1)
    assert received == [2, 3, 4, 5, 6]


async def test_without_last_event_id_the_stream_starts_from_now(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await _create_item(client, owner, "Old")
    async with open_stream(live.http, EVENTS, headers=owner.headers) as stream:
        await stream.message()  # connected: subscribed from here on
        await _create_item(client, owner, "New")
        assert await _seqs(stream, 1) == [2]


async def test_type_filters_select_live_and_replayed_events(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    number = await _create_item(client, owner, "A")  # 1 item.created
    changed = await client.patch(
        f"/api/v1/projects/WEB/items/{number}", headers=owner.headers, json={"points": 3}
    )
    assert changed.status_code == 200, changed.text  # 2 item.updated
    params = {"type": ["item.updated", "comment.created"], "last_event_id": "0"}
    async with open_stream(live.http, EVENTS, headers=owner.headers, params=params) as stream:
        assert [m.event for m in await stream.events(1)] == ["item.updated"]  # replayed
        await _create_item(client, owner, "B")  # filtered out
        commented = await client.post(
            f"/api/v1/projects/WEB/items/{number}/comments",
            headers=owner.headers,
            json={"body": "Live comment"},
        )
        assert commented.status_code == 201, commented.text
        message = await stream.event()
    assert message.event == "comment.created"
    assert message.json["payload"]["comment"]["body"] == "Live comment"


async def test_an_unknown_type_is_a_422_naming_it(live: Live, factory: Factory) -> None:
    owner = await factory.owner()
    response = await refused(live.http, EVENTS, headers=owner.headers, params={"type": "nope"})
    assert_problem(response, 422, "query.type.0")


async def test_a_ticket_opens_the_stream_once(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    ticket = await _ticket(client, team.viewer)
    async with open_stream(live.http, EVENTS, params={"ticket": ticket}) as stream:
        await _create_item(client, team.member, "Seen through a ticket")
        assert (await stream.event()).event == "item.created"
    again = await refused(live.http, EVENTS, params={"ticket": ticket})
    assert "already used" in assert_unauthorized(again)["detail"]


async def test_only_one_of_two_racing_connections_redeems_a_ticket(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    ticket = await _ticket(client, owner)

    async def attempt() -> int:
        async with live.http.stream("GET", EVENTS, params={"ticket": ticket}) as response:
            return response.status_code

    statuses = sorted(await asyncio.gather(attempt(), attempt(), attempt()))
    assert statuses == [200, 401, 401]


async def test_an_expired_ticket_is_refused(
    live: Live, client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    ticket = await _ticket(client, owner)
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(StreamTicket).values(expires_at=clock.now() - timedelta(seconds=1))
        )
    assert_unauthorized(await refused(live.http, EVENTS, params={"ticket": ticket}))


async def test_a_ticket_lives_about_a_minute(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    response = await client.post(f"{EVENTS}/ticket", headers=owner.headers)
    assert response.status_code == 200, response.text
    left = datetime.fromisoformat(response.json()["expires_at"]) - clock.now()
    assert timedelta(seconds=50) < left <= timedelta(seconds=60)


async def test_a_ticket_works_only_for_the_stream_it_was_issued_for(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team(outsider_project="OUT")
    await factory.project(team.owner, "OPS")
    # For WEB, presented at OPS (where the owner is too): another stream's ticket.
    ticket = await _ticket(client, team.owner)
    wrong = await refused(live.http, "/api/v1/projects/OPS/events", params={"ticket": ticket})
    assert "another stream" in assert_unauthorized(wrong)["detail"]
    # Presented at a project its holder is not in: like any project route, 404.
    ticket = await _ticket(client, team.owner)
    hidden = await refused(live.http, "/api/v1/projects/OUT/events", params={"ticket": ticket})
    assert_problem(hidden, 404)
    # The caller's own stream's ticket does not open a project's, nor the other way round.
    mine = await _ticket(client, team.owner, "/api/v1/me/events")
    assert_unauthorized(await refused(live.http, EVENTS, params={"ticket": mine}))
    ticket = await _ticket(client, team.owner)
    assert_unauthorized(await refused(live.http, "/api/v1/me/events", params={"ticket": ticket}))


async def test_a_ticket_dies_with_the_token_that_asked_for_it(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    login = await login_token(client, owner.email)
    ticket = await _ticket(client, Actor(owner.id, owner.email, login))
    logout = await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {login}"})
    assert logout.status_code == 204, logout.text
    assert_unauthorized(await refused(live.http, EVENTS, params={"ticket": ticket}))


async def test_a_bearer_token_in_the_query_is_not_taken(live: Live, factory: Factory) -> None:
    owner = await factory.owner()
    for params in ({"ticket": owner.token}, {"access_token": owner.token}):
        assert_unauthorized(await refused(live.http, EVENTS, params=params))


async def test_outsiders_get_404_and_anonymous_callers_401(live: Live, factory: Factory) -> None:
    team = await factory.team()
    hidden = await refused(live.http, EVENTS, headers=team.outsider.headers)
    ghost = await refused(live.http, "/api/v1/projects/GHOST/events", headers=team.outsider.headers)
    assert assert_problem(hidden, 404)["detail"] == assert_problem(ghost, 404)["detail"].replace(
        "GHOST", "WEB"
    )
    assert_unauthorized(await refused(live.http, EVENTS))
    assert_unauthorized(await refused(live.http, "/api/v1/me/events"))


async def test_a_removed_members_stream_ends_with_their_removal(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    async with open_stream(live.http, EVENTS, headers=team.member.headers) as stream:
        await stream.message()
        removed = await client.delete(
            f"/api/v1/projects/WEB/members/{team.member.id}", headers=team.owner.headers
        )
        assert removed.status_code == 204, removed.text
        events = [m for m in await stream.ended() if m.event is not None]
    assert [m.event for m in events] == ["member.removed"]
    assert events[0].json["payload"]["member"]["user_id"] == team.member.id


async def test_a_stream_filtered_to_other_types_still_ends_at_removal(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    params = {"type": "item.created"}
    async with open_stream(live.http, EVENTS, headers=team.viewer.headers, params=params) as stream:
        await stream.message()
        removed = await client.delete(
            f"/api/v1/projects/WEB/members/{team.viewer.id}", headers=team.owner.headers
        )
        assert removed.status_code == 204, removed.text
        assert [m.event for m in await stream.ended() if m.event] == []


async def test_heartbeats_arrive_and_the_stream_holds_no_database_connection(
    live: Live, factory: Factory
) -> None:
    owner = await factory.owner()
    async with open_stream(live.http, EVENTS, headers=owner.headers) as stream:
        beats = 0
        while beats < 2:
            message = await stream.message(seconds=5)
            assert message is not None
            beats += message.comments == ["heartbeat"]
        # Between heartbeats the stream waits on its queue only: no pooled connection is out.
        assert live.database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_revoked_token_ends_the_stream_at_the_next_heartbeat(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    async with open_stream(live.http, EVENTS, headers=owner.headers) as stream:
        await stream.message()
        tokens = await client.get("/api/v1/me/tokens", headers=owner.headers)
        token_id = tokens.json()["data"][0]["id"]
        revoked = await client.delete(f"/api/v1/me/tokens/{token_id}", headers=owner.headers)
        assert revoked.status_code == 204, revoked.text
        await stream.ended(seconds=5)


async def test_the_hub_reconnects_and_catches_up_after_losing_its_connection(
    live: Live, client: httpx.AsyncClient, factory: Factory, database_url: str
) -> None:
    owner = await factory.owner()
    await _create_item(client, owner, "Before")
    async with open_stream(live.http, EVENTS, headers=owner.headers) as stream:
        await stream.message()
        reconnects = live.hub.reconnects
        pid = live.hub.listener_pid
        admin = await asyncpg.connect(database_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        # Written while the hub may still be away: it reads it back once it is listening.
        await _create_item(client, owner, "During the outage")
        assert await _seqs(stream, 1) == [2]
        async with asyncio.timeout(10):
            await live.hub.connected.wait()
        assert live.hub.reconnects > reconnects and live.hub.listener_pid != pid
        await _create_item(client, owner, "After")
        assert await _seqs(stream, 1) == [3]


async def test_one_listening_connection_per_process_whatever_the_streams(
    live: Live, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()

    async def listeners() -> int:
        async with database.sessions() as session:
            found = await session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                    "AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
            return int(found.scalar_one())

    before = await listeners()
    async with (
        open_stream(live.http, EVENTS, headers=owner.headers) as one,
        open_stream(live.http, EVENTS, headers=owner.headers) as two,
        open_stream(live.http, "/api/v1/me/events", headers=owner.headers) as three,
    ):
        for stream in (one, two, three):
            await stream.message()
        assert await listeners() == before >= 1


async def test_a_subscriber_too_far_behind_is_told_to_disconnect() -> None:
    subscriber = Subscriber(asyncio.Queue(maxsize=2))
    for n in range(1, 4):
        subscriber.offer(Delivery(n, "item.created", "{}"))
    assert subscriber.queue.qsize() == 1 and subscriber.queue.get_nowait() is LAGGED


async def test_the_ticket_routes_never_store_a_replayable_answer(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    keyed = {**owner.headers, "Idempotency-Key": "same"}
    first = await client.post(f"{EVENTS}/ticket", headers=keyed)
    second = await client.post(f"{EVENTS}/ticket", headers=keyed)
    assert first.json()["ticket"] != second.json()["ticket"]


# The caller's own stream: notifications (built by the notifications area).


async def _assign(client: httpx.AsyncClient, owner: Actor, number: int, user: Actor) -> None:
    response = await client.patch(
        f"/api/v1/projects/WEB/items/{number}", headers=owner.headers, json={"assignee_id": user.id}
    )
    assert response.status_code == 200, response.text


async def test_my_stream_carries_my_notifications_live_and_replays_them(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    member = await factory.user()
    await factory.member("WEB", owner, member, Role.MEMBER)
    numbers = [await _create_item(client, owner, t) for t in ("One", "Two", "Three")]
    async with open_stream(live.http, "/api/v1/me/events", headers=member.headers) as stream:
        await stream.message()
        await _assign(client, owner, numbers[0], member)
        live_one = await stream.event()
    assert live_one.event == "notification"
    assert live_one.json["id"] == int(live_one.id or 0)
    # Two more while away; a reconnect from the last id gets exactly those.
    await _assign(client, owner, numbers[1], member)
    await _assign(client, owner, numbers[2], member)
    ticket = await _ticket(client, member, "/api/v1/me/events")
    async with open_stream(
        live.http,
        "/api/v1/me/events",
        params={"ticket": ticket},
        headers={"Last-Event-ID": live_one.id or ""},
    ) as stream:
        replayed = await stream.events(2)
    ids = [int(m.id or 0) for m in replayed]
    assert ids == sorted(ids) and ids[0] > int(live_one.id or 0) and len(set(ids)) == 2
    mine = await client.get("/api/v1/me/notifications", headers=member.headers)
    assert {n["id"] for n in mine.json()["data"]} == {int(live_one.id or 0), *ids}


async def test_my_stream_opened_without_last_event_id_catches_up_after_the_hub_reconnects(
    live: Live, client: httpx.AsyncClient, factory: Factory, database_url: str
) -> None:
    owner = await factory.owner()
    member = await factory.user()
    await factory.member("WEB", owner, member, Role.MEMBER)
    first = await _create_item(client, owner, "Before")
    await _assign(client, owner, first, member)  # an older notification: not replayed
    second = await _create_item(client, owner, "During the outage")
    async with open_stream(live.http, "/api/v1/me/events", headers=member.headers) as stream:
        await stream.message()
        pid = live.hub.listener_pid
        admin = await asyncpg.connect(database_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        # Made while the hub may be away, before the stream has seen any notification: the
        # stream's position is the newest notification at connect, so it is replayed.
        await _assign(client, owner, second, member)
        during = await stream.event()
    assert during.event == "notification" and during.json["item"] == second


async def test_an_id_from_the_future_resumes_from_now_and_an_impossible_one_is_a_422(
    live: Live, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    await _create_item(client, owner, "Before")
    headers = {**owner.headers, "Last-Event-ID": str(2**63 - 1)}
    async with open_stream(live.http, EVENTS, headers=headers) as stream:
        await stream.message()
        await _create_item(client, owner, "After")
        # Seq 1 is the project's only earlier event: the next one is delivered, not hidden.
        assert await _seqs(stream, 1) == [2]
    for bad in ({"Last-Event-ID": str(2**63)}, {"Last-Event-ID": "-1"}):
        answer = await live.http.get(EVENTS, headers={**owner.headers, **bad})
        assert_problem(answer, 422, field="header.Last-Event-ID")
    answer = await live.http.get(EVENTS, params={"last_event_id": 2**64}, headers=owner.headers)
    assert_problem(answer, 422, field="query.last_event_id")


async def test_live_sends_are_paced_a_batch_per_loop_turn() -> None:
    # An event wakes every stream at once; sends are let through in batches, with a turn of
    # the loop (an I/O poll, where requests go on) between batches.
    pacer = live_streams._Pacer(per_turn=16)
    turn = 0

    async def count_turns() -> None:
        nonlocal turn
        while True:
            await asyncio.sleep(0)
            turn += 1

    ticker = asyncio.create_task(count_turns())
    passed_at: list[int] = []

    async def stream() -> None:
        await pacer.turn()
        passed_at.append(turn)

    await asyncio.gather(*(stream() for _ in range(100)))
    ticker.cancel()
    per_turn = [passed_at.count(t) for t in sorted(set(passed_at))]
    assert max(per_turn) <= 16 and sum(per_turn) == 100, per_turn
    assert len(per_turn) >= 7, per_turn
