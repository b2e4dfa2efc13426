"""The webhook dispatcher: claims due deliveries, sends them, and records what happened.

Every server process runs one (unless `TIMEBOX_WEBHOOK_DISPATCHER=false`). They share nothing
but PostgreSQL: a claim is a committed lease on a row taken with `FOR UPDATE SKIP LOCKED`, so
two dispatchers never send the same attempt, and a process that dies mid-attempt only delays
that delivery until its lease runs out (at-least-once; receivers dedupe by `webhook-id`).
New deliveries wake the dispatchers at once through `LISTEN timebox_webhooks`; retries that
come due are found by polling every `TIMEBOX_WEBHOOK_POLL_SECONDS`.
"""

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app import __version__
from app.db import Database
from app.domain.kernel import clock
from app.domain.webhooks import repository, signing, targets
from app.domain.webhooks import service as webhooks
from app.domain.webhooks.repository import Claimed
from app.settings import Settings

logger = logging.getLogger("timebox.webhooks")

# A lease outlives the receiver's timeout (twice it, and a second) before another process may
# take the delivery over: long enough for the attempt to be recorded, short after a crash.
_LEASE_FACTOR, _LEASE_MARGIN_SECONDS = 2.0, 1.0
# The most of a receiver's reply body read (and thrown away) to keep its connection.
_REPLY_READ_LIMIT = 64 * 1024
# How long to wait before retrying after the database failed us.
_BACKOFF_ON_ERROR_SECONDS = 1.0


def _plain_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Dispatcher:
    """Sends webhook deliveries from this process until stopped."""

    def __init__(
        self, database: Database, settings: Settings, http: httpx.AsyncClient | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self._http = http
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._listener: asyncpg.Connection | None = None

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        """LISTEN for new deliveries on a connection of its own (polling covers its absence)."""
        if self._listener is not None and not self._listener.is_closed():
            return
        assert self.settings.database_url is not None
        try:
            self._listener = await asyncpg.connect(
                _plain_url(self.settings.database_url),
                timeout=self.settings.db_connect_timeout_seconds,
                server_settings={"application_name": "timebox-webhooks"},
            )
            await self._listener.add_listener(repository.CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            logger.warning("webhook dispatcher: cannot LISTEN, polling only for now")
            self._listener = None

    async def run(self) -> None:
        """Claim and send until cancelled."""
        timeout = httpx.Timeout(self.settings.webhook_timeout_seconds)
        owned = self._http is None
        http = self._http or httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            # No Nagle: a request's headers and body are separate writes, and waiting for the
            # receiver's delayed ACK between them cost ~40 ms per delivery (measured).
            transport=httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=self.settings.webhook_concurrency),
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            ),
            headers={"User-Agent": f"Timebox-Webhooks/{__version__}"},
        )
        try:
            while True:
                await self._listen()
                self._wake.clear()
                try:
                    # Shielded: a stop mid-claim must not cut a query off and leave its pooled
                    # connection in doubt; a claim that is then never sent just lets its lease
                    # run out (at-least-once).
                    await asyncio.shield(self._claim_and_start(http))
                except Exception as exc:
                    logger.warning("webhook dispatcher: claiming failed: %s", type(exc).__name__)
                    await asyncio.sleep(_BACKOFF_ON_ERROR_SECONDS)
                # A notification, a finished delivery (its webhook's next may be due) or the
                # poll interval, whichever comes first.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)
        finally:
            # Let the attempts under way finish and be recorded (each is bounded by the
            # timeout); only what is still running after that is cut off.
            if self._in_flight:
                await asyncio.wait(
                    set(self._in_flight), timeout=self.settings.webhook_timeout_seconds + 1
                )
            for task in list(self._in_flight):
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            if owned:
                await http.aclose()
            if self._listener is not None:
                with contextlib.suppress(Exception):
                    await self._listener.close()

    async def _claim_and_start(self, http: httpx.AsyncClient) -> int:
        free = self.settings.webhook_concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        lease = self.settings.webhook_timeout_seconds * _LEASE_FACTOR + _LEASE_MARGIN_SECONDS
        async with self.database.sessions() as session, session.begin():
            with clock.transaction_time():
                claimed = await webhooks.claim(
                    session,
                    limit=free,
                    lease_seconds=lease,
                    max_attempts=self.settings.webhook_max_attempts,
                    disable_after=self.settings.webhook_disable_after_failures,
                )
        # Committed: these attempts are ours alone now.
        for item in claimed:
            task = asyncio.create_task(self._deliver(http, item))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _deliver(self, http: httpx.AsyncClient, claimed: Claimed) -> None:
        outcome = await self.send(http, claimed)
        try:
            async with self.database.sessions() as session, session.begin():
                with clock.transaction_time():
                    await webhooks.record(
                        session,
                        claimed,
                        outcome,
                        max_attempts=self.settings.webhook_max_attempts,
                        retry_base_seconds=self.settings.webhook_retry_base_seconds,
                        disable_after=self.settings.webhook_disable_after_failures,
                    )
        except Exception as exc:
            # The lease runs out and another attempt follows: at-least-once, never lost.
            logger.warning(
                "webhook delivery %s: recording failed: %s",
                claimed.delivery.id,
                type(exc).__name__,
            )

    async def send(self, http: httpx.AsyncClient, claimed: Claimed) -> webhooks.Outcome:
        """One attempt, bounded as a whole by the timeout; whatever goes wrong is an outcome,
        so every claimed attempt is recorded."""
        started = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        seconds = self.settings.webhook_timeout_seconds
        try:
            # httpx's timeout bounds each read, not the answer: a receiver sending a byte a
            # second would keep the attempt (and a concurrency slot) for ever, and outlive its
            # lease, so that a second attempt of the same delivery would start alongside.
            async with asyncio.timeout(seconds):
                return await self._attempt(http, claimed, took)
        except (TimeoutError, httpx.TimeoutException):
            return webhooks.Outcome(None, took(), f"No answer within {seconds:g} s.")
        except Exception as exc:
            # Only the type: the message may quote the URL, which can hold a credential.
            logger.warning(
                "webhook delivery %s: attempt failed: %s", claimed.delivery.id, type(exc).__name__
            )
            return webhooks.Outcome(
                None, took(), f"The attempt failed in Timebox ({type(exc).__name__})."
            )

    async def _attempt(
        self, http: httpx.AsyncClient, claimed: Claimed, took: Callable[[], int]
    ) -> webhooks.Outcome:
        """Check the target again, sign, POST, never follow a redirect."""
        webhook = claimed.webhook
        try:
            target = await targets.resolve(
                webhook.url, allow_private=self.settings.webhook_allow_private
            )
        except targets.UnsafeTarget as exc:
            return webhooks.Outcome(None, took(), str(exc))
        body = webhooks.body(claimed, self.settings.public_url)
        headers = signing.headers(webhook.secret, webhooks.message_id(claimed), clock.now(), body)
        headers["Content-Type"] = "application/json"
        url = httpx.URL(webhook.url)
        extensions: dict[str, str] = {}
        if target.addresses:
            # Connect to the address just checked, not to whatever a second lookup returns
            # (DNS rebinding); the Host header and TLS name stay the URL's.
            headers["Host"] = url.netloc.decode()
            extensions["sni_hostname"] = target.host
            url = url.copy_with(host=target.addresses[0])
        try:
            async with http.stream(
                "POST", url, content=body.encode(), headers=headers, extensions=extensions
            ) as response:
                code = response.status_code
                await _drain_reply(response)
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            return webhooks.Outcome(None, took(), f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= code < 300:
            return webhooks.Outcome(code, took(), None)
        if 300 <= code < 400:
            location = response.headers.get("location", "")[:200]
            return webhooks.Outcome(code, took(), f"Redirect to {location!r} not followed.")
        return webhooks.Outcome(code, took(), f"HTTP {code}.")


async def _drain_reply(response: httpx.Response) -> None:
    """Read the reply's body (its first `_REPLY_READ_LIMIT` bytes): the connection is kept
    alive for the next delivery only once the whole reply was read, and a new connection per
    delivery cost more than the delivery itself. Bounded, like the rest, by the timeout."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > _REPLY_READ_LIMIT:
            return


async def run(database: Database, settings: Settings) -> None:
    """The dispatcher of a server process (the app's lifespan starts it)."""
    await Dispatcher(database, settings).run()
