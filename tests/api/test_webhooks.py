"""Webhooks: management, signed deliveries to a real loopback receiver, retries, ordering,
auto-disable, redelivery, Slack messages and the SSRF guard."""

import asyncio
import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook as Verifier

from app.db import Database
from app.domain.webhooks import service as webhooks_service
from app.domain.webhooks import signing
from app.domain.webhooks.schemas import WebhookUpdate
from app.settings import Settings
from app.webhooks_worker import Dispatcher
from tests.factories import Actor, Factory

WAIT_SECONDS = 20
# What every refused target gets, whatever the reason (it must not help map internal names).
REFUSED = "The URL's host is not a public internet address (or does not resolve)."


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    # The sender's port: one port for many requests means they came on one kept-alive connection.
    peer_port: int = 0

    @property
    def event(self) -> dict[str, Any]:
        """The JSON body."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A real HTTP server on loopback, in a thread, answering by `respond`."""

    respond: Callable[[int], int] = lambda n: 200
    delay: float = 0.0
    # HTTP/1.1 with keep-alive and a reply body, as most real receivers answer.
    keep_alive: bool = False
    received: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The URL to subscribe."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> "Receiver":
        """Listen on a free loopback port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(
                        Received(dict(self.headers.items()), body, self.client_address[1])
                    )
                    code = receiver.respond(len(receiver.received))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                reply = b'{"received": true}' if receiver.keep_alive else b""
                self.send_response(code)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                if reply:
                    self.wfile.write(reply)
                with receiver.lock:
                    receiver.answered.append(code)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def snapshot(self) -> list[Received]:
        """What arrived so far."""
        with self.lock:
            return list(self.received)

    async def wait_for(self, count: int, answered: bool = True) -> list[Received]:
        """Wait (bounded) until `count` requests arrived (and were answered)."""
        async with asyncio.timeout(WAIT_SECONDS):
            # Written by the receiver's threads: polled, not awaited.
            while len(self.answered if answered else self.received) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        return self.snapshot()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().start()
    yield found
    found.stop()


def fast(settings: Settings, **changes: Any) -> Settings:
    """Test settings: loopback allowed, short backoff, quick polling."""
    return settings.model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_retry_base_seconds": 0.05,
            "webhook_poll_seconds": 0.05,
            "webhook_timeout_seconds": 2.0,
            **changes,
        }
    )


@asynccontextmanager
async def dispatching(database: Database, settings: Settings) -> AsyncIterator[Dispatcher]:
    """A dispatcher running in this loop until the block ends."""
    dispatcher = Dispatcher(database, settings)
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def create_hook(
    client: httpx.AsyncClient, owner: Actor, url: str, **fields: Any
) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/projects/WEB/webhooks", headers=owner.headers, json={"url": url, **fields}
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def deliveries(client: httpx.AsyncClient, owner: Actor, hook_id: int) -> list[Any]:
    listed = await client.get(
        f"/api/v1/projects/WEB/webhooks/{hook_id}/deliveries", headers=owner.headers
    )
    assert listed.status_code == 200, listed.text
    data: list[Any] = listed.json()["data"]
    return data


async def wait_settled(client: httpx.AsyncClient, owner: Actor, hook_id: int) -> list[Any]:
    """Wait (bounded) until no delivery of the webhook is pending or sending."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            found = await deliveries(client, owner, hook_id)
            if found and all(d["status"] in ("delivered", "failed") for d in found):
                return found
            await asyncio.sleep(0.05)


async def test_secret_is_shown_once_and_deliveries_verify(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url, description="CI")
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    shown = await client.get(f"/api/v1/projects/WEB/webhooks/{hook['id']}", headers=owner.headers)
    assert shown.status_code == 200 and "secret" not in shown.json()
    assert shown.headers["etag"].startswith('"1')
    listed = await client.get("/api/v1/projects/WEB/webhooks", headers=owner.headers)
    assert secret not in listed.text
    async with dispatching(database, fast(settings)):
        number = await factory.item("WEB", owner, title="Signed")
        (got,) = await receiver.wait_for(1)
        (delivery,) = await wait_settled(client, owner, hook["id"])
    event = Verifier(secret).verify(got.body, got.headers)
    assert event["type"] == "item.created" and event["item"] == number
    assert got.headers["webhook-id"] == str(event["id"])
    assert secret not in got.body.decode()
    with pytest.raises(Exception, match="signature"):
        Verifier(signing.new_secret()).verify(got.body, got.headers)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["response_code"] == 200 and delivery["latency_ms"] >= 0
    assert delivery["event_id"] == event["id"] and delivery["event_type"] == "item.created"


async def test_a_given_secret_is_used_and_a_malformed_one_refused(
    client: httpx.AsyncClient, factory: Factory, receiver: Receiver
) -> None:
    owner = await factory.owner("WEB")
    mine = signing.new_secret()
    hook = await create_hook(client, owner, receiver.url, secret=mine)
    assert hook["secret"] == mine
    bad = await client.post(
        "/api/v1/projects/WEB/webhooks",
        headers=owner.headers,
        json={"url": receiver.url, "secret": "hunter2"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.secret"
    typo = await client.post(
        "/api/v1/projects/WEB/webhooks",
        headers=owner.headers,
        json={"url": receiver.url, "event_types": ["item.exploded"]},
    )
    assert typo.status_code == 422


async def test_deliveries_follow_the_project_sequence(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    await create_hook(client, owner, receiver.url)
    # Every third attempt fails once, so retries interleave with new events.
    receiver.respond = lambda n: 500 if n % 3 == 0 else 200
    async with dispatching(database, fast(settings)):
        for index in range(12):
            await factory.item("WEB", owner, title=f"Item {index}")
        # 12 successes with every third request failing: 17 requests.
        await receiver.wait_for(17)
        await asyncio.sleep(0.2)
    answers = zip(receiver.snapshot(), receiver.answered, strict=True)
    delivered = [r.event["seq"] for r, code in answers if code == 200]
    assert delivered == sorted(delivered) == list(range(1, 13))
    attempted = [r.event["seq"] for r in receiver.snapshot()]
    assert attempted == sorted(attempted), "a later event went out before an earlier one"


async def test_a_receiver_that_keeps_connections_alive_gets_every_delivery_on_one(
    client: httpx.AsyncClient, factory: Factory, database: Database, settings: Settings
) -> None:
    # The reply's body must be read for the connection to be reused: left unread, every
    # delivery opened a new connection.
    receiver = Receiver(keep_alive=True).start()
    try:
        owner = await factory.owner("WEB")
        await create_hook(client, owner, receiver.url)
        async with dispatching(database, fast(settings)):
            for index in range(5):
                await factory.item("WEB", owner, title=f"Item {index}")
            await receiver.wait_for(5)
        ports = {request.peer_port for request in receiver.snapshot()}
        assert len(ports) == 1, ports
    finally:
        receiver.stop()


async def test_filters_by_event_type(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    await create_hook(client, owner, receiver.url, event_types=["comment.created"])
    async with dispatching(database, fast(settings)):
        number = await factory.item("WEB", owner)
        await factory.comment("WEB", owner, number)
        (got,) = await receiver.wait_for(1)
        await asyncio.sleep(0.2)
    assert got.event["type"] == "comment.created" and len(receiver.snapshot()) == 1


async def test_three_failures_then_exactly_one_success(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    receiver.respond = lambda n: 503 if n <= 3 else 204
    async with dispatching(database, fast(settings)):
        await factory.item("WEB", owner)
        await receiver.wait_for(4)
        (delivery,) = await wait_settled(client, owner, hook["id"])
        await asyncio.sleep(0.3)
    assert receiver.answered == [503, 503, 503, 204]
    assert len({r.headers["webhook-id"] for r in receiver.snapshot()}) == 1
    assert delivery["status"] == "delivered" and delivery["attempts"] == 4
    assert delivery["response_code"] == 204 and delivery["last_error"] is None


async def test_a_webhook_that_keeps_failing_is_disabled_and_reenabled(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    receiver.respond = lambda n: 500
    tuned = fast(settings, webhook_max_attempts=2, webhook_disable_after_failures=2)
    async with dispatching(database, tuned):
        await factory.item("WEB", owner, title="One")
        await factory.item("WEB", owner, title="Two")
        found = await wait_settled(client, owner, hook["id"])
    assert [d["status"] for d in found] == ["failed", "failed"]
    assert all(d["attempts"] == 2 and d["last_error"] == "HTTP 500." for d in found)
    shown = (
        await client.get(f"/api/v1/projects/WEB/webhooks/{hook['id']}", headers=owner.headers)
    ).json()
    assert shown["active"] is False and shown["consecutive_failures"] == 2
    assert "2 deliveries in a row failed" in shown["disabled_reason"]
    # Disabled: new events are not queued for it.
    await factory.item("WEB", owner, title="Three")
    assert len(await deliveries(client, owner, hook["id"])) == 2
    enabled = await client.patch(
        f"/api/v1/projects/WEB/webhooks/{hook['id']}",
        headers={**owner.headers, "If-Match": f'"{shown["version"]}"'},
        json={"active": True},
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["consecutive_failures"] == 0
    assert enabled.json()["disabled_reason"] is None and enabled.json()["active"] is True
    stale = await client.patch(
        f"/api/v1/projects/WEB/webhooks/{hook['id']}",
        headers={**owner.headers, "If-Match": f'"{shown["version"]}"'},
        json={"description": "x"},
    )
    assert stale.status_code == 412


async def test_redeliver_sends_the_same_event_again(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    await factory.item("WEB", owner)
    (pending,) = await deliveries(client, owner, hook["id"])
    assert pending["status"] == "pending"
    base = f"/api/v1/projects/WEB/webhooks/{hook['id']}/deliveries"
    early = await client.post(f"{base}/{pending['id']}/redeliver", headers=owner.headers)
    assert early.status_code == 409
    async with dispatching(database, fast(settings)):
        await receiver.wait_for(1)
        await wait_settled(client, owner, hook["id"])
        again = await client.post(f"{base}/{pending['id']}/redeliver", headers=owner.headers)
        assert again.status_code == 202, again.text
        assert again.json()["id"] != pending["id"] and again.json()["status"] == "pending"
        first, second = await receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    missing = await client.post(f"{base}/999/redeliver", headers=owner.headers)
    assert missing.status_code == 404


async def test_ping_is_sent_even_while_disabled(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url, active=False)
    pinged = await client.post(
        f"/api/v1/projects/WEB/webhooks/{hook['id']}/ping", headers=owner.headers
    )
    assert pinged.status_code == 202, pinged.text
    assert pinged.json()["event_type"] == "webhook.ping" and pinged.json()["event_id"] is None
    async with dispatching(database, fast(settings)):
        (got,) = await receiver.wait_for(1)
    Verifier(hook["secret"]).verify(got.body, got.headers)
    assert got.headers["webhook-id"] == f"ping_{pinged.json()['id']}"
    assert got.event["type"] == "webhook.ping"
    assert got.event["payload"] == {"webhook_id": hook["id"]}


async def test_slack_kind_sends_a_text_line_with_a_link(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    await create_hook(client, owner, receiver.url, kind="slack")
    tuned = fast(settings, public_url="https://timebox.example.com/")
    async with dispatching(database, tuned):
        number = await factory.item("WEB", owner, title="Fix <login> & co")
        (got,) = await receiver.wait_for(1)
    text = got.event["text"]
    assert list(got.event) == ["text"]
    assert text.endswith(
        f" <https://timebox.example.com/api/v1/projects/WEB/items/{number}|WEB-{number}>"
    )
    assert "<login>" not in text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost:8080/hook",
        "http://192.168.0.10/hook",
        "ftp://example.com/hook",
        # 6to4 embeds an IPv4 address (this one 127.0.0.1): refused whatever it embeds.
        "http://[2002:7f00:1::]/hook",
        "http://[2002:5db8:d822::]/hook",
        # NAT64 of 127.0.0.1.
        "http://[64:ff9b::7f00:1]/hook",
    ],
)
async def test_private_targets_are_refused_by_default(
    client: httpx.AsyncClient, factory: Factory, app: Any, url: str
) -> None:
    owner = await factory.owner("WEB")
    allowed = app.state.settings
    app.state.settings = allowed.model_copy(update={"webhook_allow_private": False})
    try:
        refused = await client.post(
            "/api/v1/projects/WEB/webhooks", headers=owner.headers, json={"url": url}
        )
    finally:
        app.state.settings = allowed
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["field"] == "body.url"
    if not url.startswith("ftp:"):
        # One message for every refusal: it must not tell what an internal name resolves to.
        assert error["message"] == REFUSED, error["message"]


async def test_a_public_address_is_accepted_and_a_patch_is_checked_too(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    owner = await factory.owner("WEB")
    allowed = app.state.settings
    app.state.settings = allowed.model_copy(update={"webhook_allow_private": False})
    try:
        hook = await create_hook(client, owner, "https://93.184.215.14/hook")
        moved = await client.patch(
            f"/api/v1/projects/WEB/webhooks/{hook['id']}",
            headers=owner.headers,
            json={"url": "http://10.0.0.1/"},
        )
    finally:
        app.state.settings = allowed
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "body.url"


async def test_the_send_time_check_refuses_what_became_private(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    strict = fast(settings, webhook_allow_private=False, webhook_max_attempts=1)
    async with dispatching(database, strict):
        await factory.item("WEB", owner)
        (delivery,) = await wait_settled(client, owner, hook["id"])
    assert delivery["status"] == "failed" and delivery["last_error"] == REFUSED
    assert receiver.snapshot() == []


async def test_redirects_are_not_followed(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    receiver.respond = lambda n: 307
    async with dispatching(database, fast(settings, webhook_max_attempts=1)):
        await factory.item("WEB", owner)
        (delivery,) = await wait_settled(client, owner, hook["id"])
    assert delivery["status"] == "failed" and delivery["response_code"] == 307
    assert len(receiver.snapshot()) == 1


async def test_two_dispatchers_never_send_the_same_attempt(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hooks = [await create_hook(client, owner, receiver.url) for _ in range(3)]
    receiver.delay = 0.01
    other = Database.connect(settings)
    try:
        async with dispatching(database, fast(settings)), dispatching(other, fast(settings)):
            for index in range(15):
                await factory.item("WEB", owner, title=f"Item {index}")
            got = await receiver.wait_for(45)
            await asyncio.sleep(0.3)
    finally:
        await other.dispose()
    sent = [(r.headers["webhook-id"], r.headers["webhook-signature"]) for r in got]
    assert len(receiver.snapshot()) == 45
    for hook in hooks:
        found = await deliveries(client, owner, hook["id"])
        assert len(found) == 15 and all(d["attempts"] == 1 for d in found)
    assert len(set(sent)) == 45


async def test_deliveries_page_newest_first(
    client: httpx.AsyncClient, factory: Factory, receiver: Receiver
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    for index in range(3):
        await factory.item("WEB", owner, title=f"Item {index}")
    base = f"/api/v1/projects/WEB/webhooks/{hook['id']}/deliveries"
    first = await client.get(base, headers=owner.headers, params={"limit": 2})
    assert [d["seq"] for d in first.json()["data"]] == [3, 2]
    rest = await client.get(
        base, headers=owner.headers, params={"cursor": first.json()["next_cursor"]}
    )
    assert [d["seq"] for d in rest.json()["data"]] == [1]
    pending = await client.get(base, headers=owner.headers, params={"status": "delivered"})
    assert pending.json()["data"] == []
    deleted = await client.delete(
        f"/api/v1/projects/WEB/webhooks/{hook['id']}", headers=owner.headers
    )
    assert deleted.status_code == 204
    assert (await client.get(base, headers=owner.headers)).status_code == 404


def test_the_backoff_lasts_about_a_day() -> None:
    delays = [webhooks_service.retry_delay(n, 80.0) for n in range(1, 8)]
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    total_hours = sum(webhooks_service.retry_delay(n, 80.0) for n in range(1, 8)) / 3600
    assert 18 < total_hours < 31


@dataclass
class Tarpit:
    """A loopback receiver that answers one header byte at a time, for ever: each read is
    quick, the answer never complete. Counts the connections open at once."""

    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    server: asyncio.Server | None = None
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        """The URL to subscribe."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def start(self) -> "Tarpit":
        """Listen on a free loopback port."""
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        """Stop listening and drop the connections still open."""
        assert self.server is not None
        self.server.close()
        for task in list(self.handlers):
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await reader.readuntil(b"\r\n\r\n")
            for byte in itertools.chain(b"HTTP/1.1 200 OK\r\nX-Slow: ", itertools.repeat(97)):
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    # Also how the sender hanging up is noticed (at most 50 ms late).
                    if not await asyncio.wait_for(reader.read(65536), 0.05):
                        break
                except TimeoutError:
                    continue
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open_now -= 1
            self.handlers.discard(task)
            writer.close()


async def test_a_trickling_receiver_times_out_and_is_never_sent_to_twice_at_once(
    client: httpx.AsyncClient, factory: Factory, database: Database, settings: Settings
) -> None:
    owner = await factory.owner("WEB")
    tarpit = await Tarpit().start()
    try:
        hook = await create_hook(client, owner, tarpit.url)
        # Bytes every 50 ms never trip a 0.5 s read timeout; the lease is 2 s. The retry waits
        # 0.375 s or more, well after the tarpit has seen the first connection close.
        tuned = fast(
            settings,
            webhook_timeout_seconds=0.5,
            webhook_max_attempts=2,
            webhook_retry_base_seconds=0.5,
        )
        async with dispatching(database, tuned):
            await factory.item("WEB", owner)
            async with asyncio.timeout(WAIT_SECONDS):
                while True:
                    found = await deliveries(client, owner, hook["id"])
                    if tarpit.most_open > 1 or found[0]["status"] == "failed":
                        break
                    await asyncio.sleep(0.05)
    finally:
        await tarpit.stop()
    assert tarpit.most_open == 1, "the delivery was in flight twice at once"
    (delivery,) = found
    assert delivery["status"] == "failed" and delivery["attempts"] == 2
    assert delivery["last_error"] == "No answer within 0.5 s." and delivery["response_code"] is None
    assert tarpit.connections == 2


async def test_a_delivery_out_of_attempts_is_failed_not_claimed_again(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    await factory.item("WEB", owner)
    # As if the process sending its last attempt died: sending, every attempt made, and its
    # lease run out.
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE webhook_deliveries SET status = 'sending', attempts = 2, "
                "next_attempt_at = now() - interval '1 minute'"
            )
        )
    tuned = fast(settings, webhook_max_attempts=2, webhook_disable_after_failures=1)
    async with dispatching(database, tuned):
        (delivery,) = await wait_settled(client, owner, hook["id"])
    assert receiver.snapshot() == []
    assert delivery["status"] == "failed" and delivery["attempts"] == 2
    assert delivery["next_attempt_at"] is None
    assert "never reported back" in delivery["last_error"], delivery["last_error"]
    shown = await client.get(f"/api/v1/projects/WEB/webhooks/{hook['id']}", headers=owner.headers)
    assert shown.json()["active"] is False and shown.json()["consecutive_failures"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://[2606:4700:4700::1111]x/",
        "http://xn--n3h.net/",
        "http://[zz]/",
        "http://[::1",
        "http://93.184.216.34:0/",
        "http://example.com:99999/",
    ],
)
async def test_a_url_the_sender_cannot_use_is_a_422_on_create_and_patch(
    client: httpx.AsyncClient, factory: Factory, receiver: Receiver, url: str
) -> None:
    owner = await factory.owner("WEB")
    created = await client.post(
        "/api/v1/projects/WEB/webhooks", headers=owner.headers, json={"url": url}
    )
    assert created.status_code == 422, created.text
    assert created.json()["errors"][0]["field"] == "body.url"
    hook = await create_hook(client, owner, receiver.url)
    moved = await client.patch(
        f"/api/v1/projects/WEB/webhooks/{hook['id']}", headers=owner.headers, json={"url": url}
    )
    assert moved.status_code == 422, moved.text
    assert moved.json()["errors"][0]["field"] == "body.url"


async def test_a_stored_url_the_sender_cannot_parse_still_settles(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    # Stored before create-time validation caught it.
    async with database.engine.begin() as connection:
        await connection.execute(
            text("UPDATE webhooks SET url = 'http://[2606:4700:4700::1111]x/'")
        )
    async with dispatching(database, fast(settings, webhook_max_attempts=1)):
        await factory.item("WEB", owner)
        (delivery,) = await wait_settled(client, owner, hook["id"])
    assert delivery["status"] == "failed" and delivery["last_error"]
    assert receiver.snapshot() == []


async def test_an_unexpected_error_while_sending_is_recorded_as_a_failed_attempt(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)

    def broken(*_: object) -> str:
        raise RuntimeError(hook["secret"])

    monkeypatch.setattr(webhooks_service, "body", broken)
    async with dispatching(database, fast(settings, webhook_max_attempts=1)):
        await factory.item("WEB", owner)
        (delivery,) = await wait_settled(client, owner, hook["id"])
    assert delivery["status"] == "failed" and "RuntimeError" in delivery["last_error"]
    assert hook["secret"] not in delivery["last_error"]
    assert "RuntimeError" in caplog.text and hook["secret"] not in caplog.text
    assert receiver.snapshot() == []


async def _blocked_or_done(database: Database, task: "asyncio.Task[Any]") -> bool:
    """Wait (bounded) until `task` is done (False) or a backend waits for a lock (True)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not task.done():
            # A new connection each time: pg_stat_activity is a snapshot per transaction.
            async with database.engine.connect() as probe:
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            if waiting:
                return True
            await asyncio.sleep(0.02)
    return False


async def test_deleting_a_webhook_while_the_project_is_written_to(
    client: httpx.AsyncClient, factory: Factory, database: Database, receiver: Receiver
) -> None:
    owner = await factory.owner("WEB")
    doomed = await create_hook(client, owner, receiver.url)
    kept = await create_hook(client, owner, receiver.url)
    async with database.engine.connect() as deleting:
        await deleting.execute(text("DELETE FROM webhooks WHERE id = :id"), {"id": doomed["id"]})
        created = asyncio.create_task(
            client.post("/api/v1/projects/WEB/items", headers=owner.headers, json={"title": "x"})
        )
        try:
            # The create's delivery fan-out waits for the delete to end.
            assert await _blocked_or_done(database, created)
            await deleting.commit()
        finally:
            made = await asyncio.wait_for(created, WAIT_SECONDS)
    assert made.status_code == 201, made.text
    async with database.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT webhook_id FROM webhook_deliveries"))).all()
    assert [row[0] for row in rows] == [kept["id"]]


async def test_a_webhook_patch_under_way_does_not_hold_up_the_projects_writers(
    client: httpx.AsyncClient, factory: Factory, database: Database, receiver: Receiver
) -> None:
    owner = await factory.owner("WEB")
    hook = await create_hook(client, owner, receiver.url)
    async with database.sessions() as session, session.begin():
        access = await factory._access(session, "WEB", owner)
        await webhooks_service.update_webhook(
            session, access, hook["id"], WebhookUpdate(description="x"), None, allow_private=True
        )
        created = asyncio.create_task(
            client.post("/api/v1/projects/WEB/items", headers=owner.headers, json={"title": "x"})
        )
        try:
            blocked = await _blocked_or_done(database, created)
        finally:
            # Ends the PATCH's transaction, so a blocked create goes on.
            await session.rollback()
            made = await asyncio.wait_for(created, WAIT_SECONDS)
    assert not blocked, "a PATCH of a webhook blocked a write to its project"
    assert made.status_code == 201, made.text
