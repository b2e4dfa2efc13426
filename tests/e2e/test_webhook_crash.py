"""A `timebox serve` killed mid-delivery: after a restart every event is still delivered."""

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook as Verifier

from tests.api.test_webhooks import Receiver
from tests.conftest import PgTestServer
from tests.e2e.server import ServerProcess

PASSWORD = "webhook crash passphrase 9"
EVENTS = 6


@pytest.fixture
def url(pg_server: PgTestServer) -> str:
    return pg_server.create_database("timebox_webhook_crash")


async def _login(http: httpx.AsyncClient) -> dict[str, str]:
    account = {"email": "ada@example.com", "display_name": "Ada", "password": PASSWORD}
    assert (await http.post("/api/v1/auth/register", json=account)).status_code == 201
    login = await http.post(
        "/api/v1/auth/token", data={"username": account["email"], "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_killing_the_server_mid_delivery_loses_nothing(url: str, tmp_path: Path) -> None:
    receiver = Receiver().start()
    env = {
        "TIMEBOX_DATABASE_URL": url,
        "TIMEBOX_WEBHOOK_ALLOW_PRIVATE": "true",
        # A 1 s timeout makes the lease 3 s: the restarted server takes the claim over soon.
        "TIMEBOX_WEBHOOK_TIMEOUT_SECONDS": "1",
        "TIMEBOX_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
        "TIMEBOX_WEBHOOK_POLL_SECONDS": "0.2",
    }
    first = ServerProcess(env, tmp_path / "first.log")
    second: ServerProcess | None = None
    try:
        first.wait_ready()
        async with httpx.AsyncClient(base_url=first.base, timeout=30) as http:
            auth = await _login(http)
            created = await http.post(
                "/api/v1/projects", json={"key": "WEB", "name": "Web"}, headers=auth
            )
            assert created.is_success, created.text
            hook = await http.post(
                "/api/v1/projects/WEB/webhooks", json={"url": receiver.url}, headers=auth
            )
            assert hook.status_code == 201, hook.text
            secret = hook.json()["secret"]
            # The first request hangs past the kill, so the server dies holding its claim.
            receiver.delay = 5.0
            for index in range(EVENTS):
                made = await http.post(
                    "/api/v1/projects/WEB/items", json={"title": f"Item {index}"}, headers=auth
                )
                assert made.status_code == 201, made.text
        await receiver.wait_for(1, answered=False)
        first.stop(signal.SIGKILL)
        receiver.delay = 0.0
        second = ServerProcess(env, tmp_path / "second.log")
        second.wait_ready()
        async with asyncio.timeout(60):
            while True:
                seqs = {r.event["seq"] for r in receiver.snapshot()}
                if len(seqs) >= EVENTS and len(receiver.answered) > EVENTS:
                    break
                await asyncio.sleep(0.1)
        got = receiver.snapshot()
        for request in got:
            Verifier(secret).verify(request.body, request.headers)
        received = sorted({r.event["seq"] for r in got})
        assert received == list(range(received[0], received[0] + EVENTS))
        # The first event went out twice (at least once): the same webhook-id both times.
        first_id = got[0].headers["webhook-id"]
        assert [r.headers["webhook-id"] for r in got].count(first_id) >= 2
    finally:
        first.stop()
        if second is not None:
            second.stop()
        receiver.stop()
