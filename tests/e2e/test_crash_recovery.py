"""A server killed mid-request: after a restart, the retry with the same Idempotency-Key runs."""

import asyncio
import signal
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import PgTestServer
from tests.e2e.server import ServerProcess

PASSWORD = "crash recovery passphrase 7"


async def _wait_for_a_request_blocked_on(blocker: asyncpg.Connection) -> None:
    for _ in range(500):
        await blocker.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view each time
        waiting = await blocker.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'timebox' AND wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the request never reached the locked table")


@pytest.fixture
def url(pg_server: PgTestServer) -> str:
    return pg_server.create_database("timebox_crash")


async def test_a_key_held_by_a_killed_server_is_free_after_restart(
    url: str, tmp_path: Path
) -> None:
    """The probe's defect: kill -9 mid-request left the key "in progress" (409) for 24 hours."""
    # No lock timeout, so the request is still waiting when the server is killed.
    env = {"TIMEBOX_DATABASE_URL": url, "TIMEBOX_DB_LOCK_TIMEOUT_MS": "0"}
    first = ServerProcess(env, tmp_path / "first.log")
    try:
        first.wait_ready()
        async with httpx.AsyncClient(base_url=first.base, timeout=30) as http:
            account = {"email": "ada@example.com", "display_name": "Ada", "password": PASSWORD}
            assert (await http.post("/api/v1/auth/register", json=account)).status_code == 201
            login = await http.post(
                "/api/v1/auth/token", data={"username": account["email"], "password": PASSWORD}
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            project = {"key": "WEB", "name": "Web"}
            assert (await http.post("/api/v1/projects", json=project, headers=auth)).is_success

            blocker = await asyncpg.connect(url)
            try:
                await blocker.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
                keyed = {**auth, "Idempotency-Key": "k1"}
                create = asyncio.create_task(
                    http.post("/api/v1/projects/WEB/items", json={"title": "A"}, headers=keyed)
                )
                await _wait_for_a_request_blocked_on(blocker)
                first.stop(signal.SIGKILL)
                await blocker.execute("COMMIT")
            finally:
                await blocker.close()
            try:
                await create
                raise AssertionError("the killed server answered")
            except httpx.TransportError:
                pass
    finally:
        first.stop()

    second = ServerProcess(env, tmp_path / "second.log")
    try:
        second.wait_ready()
        async with httpx.AsyncClient(base_url=second.base, timeout=30) as http:
            retry = await http.post(
                "/api/v1/projects/WEB/items", json={"title": "A"}, headers=keyed
            )
            assert retry.status_code == 201, retry.text
            assert "idempotency-replayed" not in retry.headers
            listed = await http.get("/api/v1/projects/WEB/items", headers=auth)
            assert [item["title"] for item in listed.json()["data"]] == ["A"]
    finally:
        second.stop()
