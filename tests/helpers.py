"""Assertions and small request helpers shared by the API tests."""

import asyncio
import re
from datetime import datetime
from http import HTTPStatus
from typing import Any

import httpx
import pytest
from sqlalchemy import CursorResult, func, select, update
from sqlmodel import col

from app.db import Database
from app.domain.users.models import ApiToken, User
from app.domain.users.security import hash_token
from tests.factories import PASSWORD, Actor

PROBLEM = "application/problem+json"
PROJECTS = "/api/v1/projects"


def assert_problem(
    response: httpx.Response,
    status: int,
    field: str | None = None,
    *,
    fields: set[str] | None = None,
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status.

    `field`: one of the errors names it; `fields`: the errors name exactly these.
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] == HTTPStatus(status).phrase
    assert isinstance(body["type"], str) and body["type"].startswith("https://")
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    named = [error["field"] for error in body.get("errors") or []]
    if field is not None:
        assert field in named, named
    if fields is not None:
        assert set(named) == fields, named
    for error in body.get("errors") or []:
        assert error["message"] and error["type"]
    return body


def assert_unauthorized(response: httpx.Response) -> dict[str, Any]:
    """A 401 problem that asks for a bearer token."""
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    return body


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a raw token."""
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """POST /auth/token with the OAuth2 password form."""
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def login_token(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """A login token for this account (the login must succeed)."""
    response = await login(client, email, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def all_pages(
    client: httpx.AsyncClient, actor: Actor, url: str, **params: Any
) -> list[dict[str, Any]]:
    """Every row of a cursor-paginated listing, following `next_cursor` (200 a page)."""
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 200, **params}
    while True:
        response = await client.get(url, headers=actor.headers, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found.extend(body["data"])
        if body["next_cursor"] is None:
            return found
        query["cursor"] = body["next_cursor"]


async def backlog(
    client: httpx.AsyncClient, actor: Actor, key: str = "WEB", **params: Any
) -> list[dict[str, Any]]:
    """Every item of a project in backlog order (all pages)."""
    return await all_pages(client, actor, f"{PROJECTS}/{key}/items", **params)


_VERSION_ETAG = re.compile(r'"([0-9]+)(\.[0-9a-f]{32})?"')


def etag_version(response: httpx.Response) -> int:
    """The resource version a response's ETag names: `"3"`, or `"3.<digest>"` on a GET."""
    matched = _VERSION_ETAG.fullmatch(response.headers["ETag"])
    assert matched is not None, response.headers["ETag"]
    # A GET's tag also covers the bytes it was sent with; a change's names the version only.
    assert (matched.group(2) is not None) == (response.request.method == "GET"), matched.group(0)
    return int(matched.group(1))


async def get_item(
    client: httpx.AsyncClient, actor: Actor, number: int, key: str = "WEB"
) -> dict[str, Any]:
    """An item as `actor` reads it; its ETag names its version."""
    response = await client.get(f"{PROJECTS}/{key}/items/{number}", headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert etag_version(response) == body["version"]
    return body


async def history(
    client: httpx.AsyncClient, actor: Actor, number: int, key: str = "WEB", **params: Any
) -> list[dict[str, Any]]:
    """An item's whole history, oldest first (all pages)."""
    return await all_pages(client, actor, f"{PROJECTS}/{key}/items/{number}/history", **params)


async def status_ids(client: httpx.AsyncClient, actor: Actor, key: str = "WEB") -> dict[str, int]:
    """Status name -> id of a project's workflow, in workflow order."""
    response = await client.get(f"{PROJECTS}/{key}/statuses", headers=actor.headers)
    assert response.status_code == 200, response.text
    return {status["name"]: status["id"] for status in response.json()["data"]}


def pause_after(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, seconds: float = 0.2
) -> None:
    """Make every call of `target.name` wait `seconds` once it has returned.

    For a race whose requests queue on a lock: each holds what it read open a moment, so the
    others get as far as the lock before it commits.
    """
    call = getattr(target, name)

    async def slow(*args: Any, **kwargs: Any) -> Any:
        result = await call(*args, **kwargs)
        await asyncio.sleep(seconds)
        return result

    monkeypatch.setattr(target, name, slow)


def rendezvous(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, parties: int = 2
) -> None:
    """Hold the next `parties` calls of `target.name`, once each has returned, until all have.

    Concurrent requests are then all past that point before any goes on: the interleaving a
    race test needs happens every time, not only when the event loop happens to allow it.
    """
    call = getattr(target, name)
    barrier = asyncio.Barrier(parties)
    arrived = 0

    async def together(*args: Any, **kwargs: Any) -> Any:
        nonlocal arrived
        result = await call(*args, **kwargs)
        if arrived < parties:
            arrived += 1
            async with asyncio.timeout(10):  # a party that never comes fails, never hangs
                await barrier.wait()
        return result

    monkeypatch.setattr(target, name, together)


# --- straight from the database --------------------------------------------------------------


async def count_users(database: Database) -> int:
    """How many accounts exist."""
    async with database.sessions() as session:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()


async def stored_user(database: Database, user_id: int) -> User:
    """The account's row as stored."""
    async with database.sessions() as session:
        user = (await session.execute(select(User).where(col(User.id) == user_id))).scalar_one()
    return user


async def set_expires_at(database: Database, token: str, expires_at: datetime) -> None:
    """Move a token's expiry directly in the database."""
    async with database.sessions() as session, session.begin():
        result = await session.execute(
            update(ApiToken)
            .where(col(ApiToken.token_hash) == hash_token(token))
            .values(expires_at=expires_at)
        )
        assert isinstance(result, CursorResult)
        assert result.rowcount == 1


async def terminate_backend_waiting_for_lock(blocker: Any) -> None:
    """Kill the PostgreSQL process of the one Timebox request waiting for `blocker`'s lock.

    `blocker` is an asyncpg connection on the test's database; this is how a test makes a
    request's connection die in the middle of its transaction.
    """
    # Generous: a first request on a new app, under a parallel suite with coverage, is slow.
    async with asyncio.timeout(20):
        while True:
            # The blocker is inside its transaction, which would see one snapshot of the
            # activity view for good: take a fresh one each time.
            await blocker.execute("SELECT pg_stat_clear_snapshot()")
            killed = await blocker.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'timebox' AND wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if killed:
                return
            await asyncio.sleep(0.02)
