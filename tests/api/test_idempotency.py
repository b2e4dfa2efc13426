"""Idempotency-Key: the stored response commits with the change; failures and crashes free it."""

import asyncio
import json

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from starlette.types import Message

from app.db import Database
from app.domain.items.models import Item
from app.http.idempotency import repository as idempotency_repository
from app.http.idempotency.models import IdempotencyRecord
from app.main import create_app
from app.settings import Settings
from tests.contract import checked_client
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, terminate_backend_waiting_for_lock


@pytest.fixture
async def owner(factory: Factory) -> Actor:
    return await factory.owner("WEB")


async def item_count(database: Database) -> int:
    async with database.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Item))).scalar_one())


async def records(database: Database) -> list[IdempotencyRecord]:
    async with database.sessions() as session:
        return list((await session.execute(select(IdempotencyRecord))).scalars())


def keyed(actor: Actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


async def test_a_key_held_by_a_running_request_is_409_then_free_when_it_ends(
    client: httpx.AsyncClient, owner: Actor, database: Database
) -> None:
    async with database.sessions() as session, session.begin():
        # What a request still running with this key holds.
        assert await idempotency_repository.try_lock(session, f"user:{owner.id}", "busy")
        busy = await client.post(
            "/api/v1/projects/WEB/items", json={"title": "A"}, headers=keyed(owner, "busy")
        )
        assert_problem(busy, 409)
        assert busy.headers["retry-after"] == "1"
    after = await client.post(
        "/api/v1/projects/WEB/items", json={"title": "A"}, headers=keyed(owner, "busy")
    )
    assert after.status_code == 201
    assert await item_count(database) == 1


async def test_a_request_whose_connection_dies_frees_its_key(
    owner: Actor, database: Database, settings: Settings
) -> None:
    """The probe's kill -9 mid-request: the retry proceeds instead of 409 for 24 hours."""
    # No lock timeout: the request waits until its connection is killed.
    app = create_app(settings.model_copy(update={"db_lock_timeout_ms": 0}))
    async with app.router.lifespan_context(app), checked_client(app) as client:
        blocker = await asyncpg.connect(str(settings.database_url))
        try:
            await blocker.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            first = asyncio.create_task(
                client.post(
                    "/api/v1/projects/WEB/items", json={"title": "A"}, headers=keyed(owner, "k1")
                )
            )
            await terminate_backend_waiting_for_lock(blocker)
            assert_problem(await first, 503)
        finally:
            await blocker.close()
        retry = await client.post(
            "/api/v1/projects/WEB/items", json={"title": "A"}, headers=keyed(owner, "k1")
        )
    assert retry.status_code == 201, retry.text
    assert "idempotency-replayed" not in retry.headers
    assert await item_count(database) == 1


async def test_the_response_is_stored_before_the_client_hears_it(
    app: object, owner: Actor, database: Database
) -> None:
    """A retry sent the moment a 201 arrives must replay it, never find it "in progress"."""
    body = json.dumps({"title": "A"}).encode()
    seen_at_start: list[list[IdempotencyRecord]] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            seen_at_start.append(await records(database))

    headers = [
        (b"authorization", owner.headers["Authorization"].encode()),
        (b"idempotency-key", b"now"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/projects/WEB/items",
        "raw_path": b"/api/v1/projects/WEB/items",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
        "state": {},
    }
    await app(scope, receive, send)  # type: ignore[operator]
    [stored] = seen_at_start[0]
    assert stored.status_code == 201
    assert json.loads(stored.response_body or b"")["title"] == "A"


async def test_immediate_retries_after_a_201_always_replay(
    client: httpx.AsyncClient, owner: Actor, database: Database
) -> None:
    for n in range(10):
        payload = {"title": f"Item {n}"}
        first = await client.post(
            "/api/v1/projects/WEB/items", json=payload, headers=keyed(owner, f"r{n}")
        )
        again = await client.post(
            "/api/v1/projects/WEB/items", json=payload, headers=keyed(owner, f"r{n}")
        )
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotency-replayed"] == "true"
        assert again.json() == first.json()
    assert await item_count(database) == 10


async def test_concurrent_requests_with_one_key_create_one_item(
    client: httpx.AsyncClient, owner: Actor, database: Database
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/projects/WEB/items", json={"title": "Once"}, headers=keyed(owner, "c")
            )
            for _ in range(8)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    numbers = {response.json()["number"] for response in responses if response.status_code == 201}
    assert numbers == {1}
    assert await item_count(database) == 1


async def test_a_request_that_failed_validation_does_not_use_up_its_key(
    client: httpx.AsyncClient, owner: Actor, database: Database
) -> None:
    """docs/api.md: after an error nothing was written, so the corrected retry just runs."""
    bad = await client.post(
        "/api/v1/projects/WEB/items", json={"title": ""}, headers=keyed(owner, "fix")
    )
    assert_problem(bad, 422, "body.title")
    fixed = await client.post(
        "/api/v1/projects/WEB/items", json={"title": "Fixed"}, headers=keyed(owner, "fix")
    )
    assert fixed.status_code == 201, fixed.text
    assert "idempotency-replayed" not in fixed.headers
    assert len(await records(database)) == 1


async def test_a_domain_error_writes_nothing_and_stores_nothing(
    client: httpx.AsyncClient, owner: Actor, database: Database
) -> None:
    missing = await client.post(
        "/api/v1/projects/WEB/items/99/move", json={"to": "top"}, headers=keyed(owner, "m")
    )
    assert missing.status_code in (404, 422)
    assert await records(database) == []
