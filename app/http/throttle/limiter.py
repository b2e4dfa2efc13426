"""Login and registration limits: GCRA buckets in PostgreSQL, consumed before any hashing.

A limit of N attempts per window W admits one attempt every T = W / N on average and a burst
of N at once: a bucket stores its theoretical arrival time (TAT), and an attempt is admitted
while TAT - now is at most the burst tolerance W - T, moving TAT on by T. The buckets live in
PostgreSQL, the one thing every worker process and replica shares.

Refusals (429s, and 503s when the password checks' queue is full) are answered at a pace per
process (`RefusalPacer`), so a client refused in a loop waits rather than spending the CPU
that signed-in requests need (bench/login_flood.py measures both).
"""

import asyncio
import hashlib
import ipaddress
import json
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.domain.kernel import clock
from app.domain.kernel.errors import ServiceUnavailable, TooManyRequests
from app.domain.users.security import ensure_hashing_room
from app.http.throttle import repository
from app.settings import Settings

UNKNOWN_ADDRESS = "unknown"
# How much older than the attempt admitted before it an attempt's time may be (see Rate).
_CLOCK_SLACK = timedelta(seconds=1)
# Refusals (429, and the hash queue's 503) this process answers per second, after a burst.
REFUSALS_PER_SECOND = 20.0
REFUSAL_BURST = 20
# A refusal never waits longer than this for its turn; past it, it is answered at once.
MAX_REFUSAL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Rate:
    """At most `count` attempts per `window`."""

    count: int
    window: timedelta

    @property
    def emission(self) -> timedelta:
        """GCRA's emission interval T: the window one attempt takes up."""
        return self.window / self.count

    @property
    def tolerance(self) -> timedelta:
        """GCRA's burst tolerance: how far ahead of now a bucket's TAT may be and admit."""
        return self.window - self.emission

    @property
    def admits_within(self) -> timedelta:
        """The tolerance an attempt is checked against: a little more, for skew.

        Concurrent attempts read the time before they queue for a bucket's row, so the one
        admitted later may carry the earlier time (by milliseconds, or a replica's clock by a
        little more). Up to half an emission interval of slack never admits more than N at
        once; Retry-After is still reckoned without it.
        """
        return self.tolerance + min(_CLOCK_SLACK, self.emission / 2)


@dataclass(frozen=True)
class Bucket:
    """One limited key (stored only as a SHA-256) and its rate."""

    key: str
    rate: Rate

    @classmethod
    def of(cls, rate: Rate, *parts: str) -> "Bucket":
        """The bucket of a logical key; the email or address in it is never stored in clear."""
        digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
        return cls(key=digest, rate=rate)

    def wait(self, tat: datetime, now: datetime) -> timedelta:
        """How long until this bucket, at `tat`, admits one more attempt."""
        return max(tat - self.rate.tolerance - now, timedelta(0))


def client_address(host: str | None) -> str:
    """The address a client is limited by: an IPv4 address, or the /64 of an IPv6 one."""
    if not host:
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test client's name): limited as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        # One subscriber usually holds a whole /64: counting addresses in it would let one
        # client rotate through 2^64 of them.
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


async def consume(database: Database, buckets: Sequence[Bucket], detail: str) -> None:
    """Take one attempt from every bucket, or from none and raise TooManyRequests.

    One short transaction of its own, so the attempt counts even when the request's own
    transaction rolls back (a 401). Buckets are taken in the order given, the same order for
    every caller, so two attempts never wait for each other's rows in a cycle.
    """
    # Its own transaction, its own time: not the moment the request's transaction began.
    with clock.transaction_time() as now:
        await _consume(database, buckets, detail, now)


async def _consume(
    database: Database, buckets: Sequence[Bucket], detail: str, now: datetime
) -> None:
    async with database.sessions() as session, session.begin():
        for n, bucket in enumerate(buckets):
            if await repository.consume(
                session, bucket.key, now, bucket.rate.emission, bucket.rate.admits_within
            ):
                continue
            # The buckets before this one admitted the attempt; this one and those after
            # decide when one would be admitted (this transaction has not touched them).
            rest = buckets[n:]
            tats = await repository.arrival_times(session, [b.key for b in rest])
            wait = max(b.wait(tats[b.key], now) for b in rest if b.key in tats)
            seconds = max(1, math.ceil(wait.total_seconds()))
            # Leaving the block rolls back what the earlier buckets took: a refused attempt
            # costs nothing, so hammering while blocked does not extend the block.
            raise TooManyRequests(f"{detail} Retry after {seconds} seconds.", seconds)


class RefusalPacer:
    """Spaces out the refusals one process answers (GCRA again, in memory).

    A refusal is cheap, but not free: a client hammering in a loop is answered as fast as
    the server can, and spends the CPU everyone else needs. Held back, such a client waits
    instead, and a flood of them costs a fixed few refusals a second.
    """

    def __init__(self, per_second: float, burst: int, max_wait: float) -> None:
        self.interval = 1.0 / per_second
        self.tolerance = (burst - 1) * self.interval
        self.max_wait = max_wait
        self.tat = 0.0

    def turn(self, now: float) -> float:
        """Take the next turn at monotonic time `now`: the seconds to wait for it (none within
        the burst; none, and no turn taken, when it is further off than `max_wait`)."""
        tat = max(self.tat, now)
        wait = tat - self.tolerance - now
        if wait > self.max_wait:
            return 0.0
        self.tat = tat + self.interval
        return max(wait, 0.0)

    async def pace(self) -> None:
        """Wait for this refusal's turn."""
        # A duration, not a time of day: the monotonic clock, which tests never move.
        wait = self.turn(time.monotonic())
        if wait:
            await asyncio.sleep(wait)


refusals = RefusalPacer(REFUSALS_PER_SECOND, REFUSAL_BURST, MAX_REFUSAL_WAIT_SECONDS)


class Throttle:
    """The login and registration limits of one client address."""

    def __init__(self, database: Database, settings: Settings, address: str) -> None:
        self.database = database
        self.address = address
        window = timedelta(minutes=settings.login_throttle_window_minutes)
        self.per_account_address = Rate(settings.login_failures_per_account_address, window)
        self.per_account = Rate(settings.login_failures_per_account, window)
        self.per_address = Rate(settings.login_failures_per_address, window)
        self.registrations = Rate(settings.registrations_per_address_per_hour, timedelta(hours=1))

    def login_buckets(self, email: str) -> tuple[Bucket, Bucket, Bucket]:
        """Address, account, account and address: the busiest first, so a flood from one
        address is refused by the first statement, writing nothing.

        The account is the normalised email whether or not such an account exists, so a 429
        says nothing about which emails are registered.
        """
        account = email.strip().lower()
        return (
            Bucket.of(self.per_address, "login:address", self.address),
            Bucket.of(self.per_account, "login:account", account),
            Bucket.of(self.per_account_address, "login:account+address", account, self.address),
        )

    @asynccontextmanager
    async def login(self, session: AsyncSession, email: str) -> AsyncIterator[None]:
        """Around a password check: counted before it (429 at a limit, nothing hashed).

        A success then forgives the account; a 503 (the check never ran) gives the attempt
        back; a 401 keeps it counted.
        """
        buckets = self.login_buckets(email)
        detail = "Too many failed logins for this account or from this address."
        async with _counted(self.database, buckets, detail):
            yield
        await self._forgive(session, buckets)

    async def _forgive(self, session: AsyncSession, buckets: Sequence[Bucket]) -> None:
        """Empty the account's buckets, and give the address back this attempt only.

        In the request's own transaction, so it holds exactly when the login does. The address
        bucket is refunded rather than emptied: emptying it would let a guesser with one
        account of their own wipe their address's count by logging in to it now and then.
        Every attempt consumes it first (so concurrent guesses cannot race past the limit);
        the refund makes a success cost nothing, so only failures add up, and a client that
        logs in often (a test suite, a script) is never limited for succeeding.
        """
        address, account, account_address = buckets
        # Rows in the order `consume` takes them, so this never deadlocks with an attempt.
        await repository.refund(session, address.key, clock.now(), address.rate.emission)
        await repository.reset(session, account.key)
        await repository.reset(session, account_address.key)

    @asynccontextmanager
    async def registration(self) -> AsyncIterator[None]:
        """Around a registration: counted before its password is hashed (429 at the limit).

        A 503 (nothing was hashed) gives the attempt back; any other outcome counts.
        """
        buckets = [Bucket.of(self.registrations, "register:address", self.address)]
        async with _counted(self.database, buckets, "Too many registrations from this address."):
            yield


@asynccontextmanager
async def _counted(
    database: Database, buckets: Sequence[Bucket], detail: str
) -> AsyncIterator[None]:
    """Around a password hash: one attempt taken from every bucket first, or a 429; given back
    if the hash never ran (a 503 from a full hashing line)."""
    await _room_to_hash()
    await _consume_or_refuse(database, buckets, detail)
    try:
        yield
    except ServiceUnavailable:
        await give_back(database, buckets)
        await refusals.pace()
        raise


async def give_back(database: Database, buckets: Sequence[Bucket]) -> None:
    """Refund one attempt to each bucket, in a transaction of its own."""
    now = clock.now()
    async with database.sessions() as session, session.begin():
        for bucket in buckets:
            await repository.refund(session, bucket.key, now, bucket.rate.emission)


async def _consume_or_refuse(database: Database, buckets: Sequence[Bucket], detail: str) -> None:
    """`consume`, with its 429 answered at the pace of this process's refusals."""
    try:
        await consume(database, buckets, detail)
    except TooManyRequests:
        await refusals.pace()
        raise


async def _room_to_hash() -> None:
    """A 503 before anything is counted when the password checks' queue is already full.

    It saves a flood the two transactions of counting an attempt and giving it back.
    """
    try:
        ensure_hashing_room()
    except ServiceUnavailable:
        await refusals.pace()
        raise
