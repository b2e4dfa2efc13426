"""Failed-login and registration throttling, and the password-hash bound — over HTTP on real
PostgreSQL, with the clock pinned wherever a figure depends on it."""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.kernel import clock
from app.domain.kernel.errors import TooManyRequests
from app.domain.users import security
from app.domain.users.security import configure_password_hashing
from app.http.throttle import limiter
from app.http.throttle import repository as throttle_repository
from app.http.throttle.limiter import Bucket, Rate, RefusalPacer, client_address, consume
from app.http.throttle.models import ThrottleBucket
from app.main import create_app
from app.settings import Settings
from tests.contract import checked_client
from tests.factories import PASSWORD, Factory
from tests.helpers import assert_problem, assert_unauthorized, bearer, login

REGISTER = "/api/v1/auth/register"
ME = "/api/v1/me"
NOW = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)
WRONG = "not the password"


class CountingHasher:
    """Delegates to the real hasher and counts every hash and verify."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def hash(self, password: str) -> str:
        self.calls += 1
        return str(self.inner.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls += 1
        return bool(self.inner.verify(password_hash, password))


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    """Count the argon2 work every request does."""
    counting = CountingHasher(security._hasher)
    monkeypatch.setattr(security, "_hasher", counting)
    return counting


@pytest.fixture
def frozen(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    """The clock stopped at NOW."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


@asynccontextmanager
async def app_with(settings: Settings, **changes: Any) -> AsyncIterator[FastAPI]:
    """Another app (another worker, as it were) on the same database, with these settings."""
    application = create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def client_at(app: object, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from `address`."""
    async with checked_client(app, client=(address, 50000)) as http:
        yield http


def retry_after(response: httpx.Response) -> int:
    """The whole seconds a 429 or 503 asks to wait."""
    value = response.headers["retry-after"]
    assert value.isdigit(), value
    return int(value)


def assert_throttled(response: httpx.Response) -> dict[str, Any]:
    """A 429 problem with a Retry-After of at least a second."""
    body = assert_problem(response, 429)
    assert body["type"].endswith("/too-many-requests")
    assert retry_after(response) >= 1
    return body


def registration(email: str) -> dict[str, str]:
    return {"email": email, "display_name": "Ada", "password": PASSWORD}


async def buckets(database: Database) -> list[ThrottleBucket]:
    async with database.sessions() as session:
        return list((await session.execute(select(ThrottleBucket))).scalars())


# --- per account and address ----------------------------------------------------------------


async def test_sixth_wrong_password_is_429_and_then_nothing_is_hashed(
    client: httpx.AsyncClient, factory: Factory, hasher: CountingHasher, frozen: object
) -> None:
    user = await factory.user("grace@example.com")
    for _ in range(5):
        assert_unauthorized(await login(client, user.email, WRONG))
    hashed = hasher.calls

    blocked = await login(client, user.email, WRONG)
    body = assert_throttled(blocked)
    # 5 in 15 minutes: one attempt comes back every 3 minutes.
    assert retry_after(blocked) == 180
    assert "www-authenticate" not in blocked.headers
    # While blocked even the right password is refused, and nothing is hashed at all.
    right = await login(client, user.email)
    assert_throttled(right)
    assert right.json()["detail"] == body["detail"]
    assert hasher.calls == hashed


async def test_a_refused_attempt_does_not_extend_the_block(
    client: httpx.AsyncClient, factory: Factory, frozen: TimeMachineFixture
) -> None:
    user = await factory.user()
    for _ in range(5):
        assert_unauthorized(await login(client, user.email, WRONG))
    for _ in range(10):
        assert retry_after(await login(client, user.email, WRONG)) == 180

    frozen.move_to(NOW + timedelta(seconds=170), tick=False)
    assert retry_after(await login(client, user.email, WRONG)) == 10
    frozen.move_to(NOW + timedelta(seconds=180), tick=False)
    assert (await login(client, user.email)).status_code == 200


async def test_unknown_emails_are_throttled_exactly_like_known_ones(
    client: httpx.AsyncClient, factory: Factory, hasher: CountingHasher, frozen: object
) -> None:
    known = await factory.user("known@example.com")
    answers: dict[str, list[httpx.Response]] = {}
    for email in (known.email, "nobody@example.com"):
        answers[email] = [await login(client, email, WRONG) for _ in range(6)]

    known_answers, unknown_answers = answers.values()
    assert [r.status_code for r in known_answers] == [401] * 5 + [429]
    assert [r.status_code for r in unknown_answers] == [401] * 5 + [429]
    assert known_answers[5].json() == unknown_answers[5].json()
    assert known_answers[5].headers["retry-after"] == unknown_answers[5].headers["retry-after"]
    # The account key is the normalised email: case and spaces do not make a new bucket.
    hashed = hasher.calls
    assert_throttled(await login(client, "  NOBODY@Example.com ", WRONG))
    assert hasher.calls == hashed


async def test_other_addresses_are_served_until_the_per_account_limit(
    app: object, client: httpx.AsyncClient, factory: Factory, frozen: object
) -> None:
    victim = await factory.user("victim@example.com")
    bystander = await factory.user("bystander@example.com")
    for n in range(4):
        async with client_at(app, f"203.0.113.{n + 1}") as http:
            for _ in range(5):
                assert_unauthorized(await login(http, victim.email, WRONG))
            # This address has used its 5 on this account; another address has not.
            assert_throttled(await login(http, victim.email, WRONG))

    # 20 failures from all addresses: the account is closed to everyone for now...
    async with client_at(app, "198.51.100.7") as fresh:
        blocked = await login(fresh, victim.email)
        assert_throttled(blocked)
        assert retry_after(blocked) == 45  # 20 in 15 minutes: one every 45 s
        # ...but not the address, nor other accounts.
        assert (await login(fresh, bystander.email)).status_code == 200
    assert (await login(client, bystander.email)).status_code == 200


async def test_the_per_address_limit_spans_accounts(
    settings: Settings, database: Database, frozen: object
) -> None:
    async with app_with(settings, login_failures_per_address=6) as application:
        async with client_at(application, "192.0.2.10") as noisy:
            for n in range(6):
                assert_unauthorized(await login(noisy, f"guess{n}@example.com", WRONG))
            blocked = await login(noisy, "yet-another@example.com", WRONG)
            assert_throttled(blocked)
            assert retry_after(blocked) == 150  # 6 in 15 minutes
        async with client_at(application, "192.0.2.11") as neighbour:
            assert_unauthorized(await login(neighbour, "guess0@example.com", WRONG))


async def test_ipv6_clients_are_limited_by_their_64(
    app: object, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    for n in range(5):
        async with client_at(app, f"2001:db8:aa:bb::{n + 1:x}") as http:
            assert_unauthorized(await login(http, user.email, WRONG))
    async with client_at(app, "2001:db8:aa:bb:ffff:ffff:ffff:ffff") as same_64:
        assert_throttled(await login(same_64, user.email, WRONG))
    async with client_at(app, "2001:db8:aa:bc::1") as next_64:
        assert_unauthorized(await login(next_64, user.email, WRONG))


def test_client_address_groups_ipv6_by_64() -> None:
    assert client_address("203.0.113.9") == "203.0.113.9"
    assert client_address("2001:DB8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_address("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_address(None) == "unknown"
    assert client_address("testclient") == "testclient"


# --- success, time, purge -------------------------------------------------------------------


async def test_a_success_resets_the_account(
    client: httpx.AsyncClient, factory: Factory, frozen: object
) -> None:
    user = await factory.user()
    for _ in range(4):
        assert_unauthorized(await login(client, user.email, WRONG))
    token = (await login(client, user.email)).json()["access_token"]
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    statuses = [(await login(client, user.email, WRONG)).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


async def test_successes_never_count_against_the_address(
    settings: Settings, database: Database, factory: Factory, frozen: object
) -> None:
    users = [await factory.user() for _ in range(3)]
    async with (
        app_with(settings, login_failures_per_address=3) as application,
        client_at(application, "192.0.2.20") as http,
    ):
        assert_unauthorized(await login(http, "someone@example.com", WRONG))
        assert_unauthorized(await login(http, "someone-else@example.com", WRONG))
        for _ in range(4):
            for user in users:
                assert (await login(http, user.email)).status_code == 200
        # Two failures and twelve successes: one failure left for this address.
        assert_unauthorized(await login(http, users[0].email, WRONG))
        assert_throttled(await login(http, users[1].email))


async def test_after_the_window_login_works_again(
    client: httpx.AsyncClient, factory: Factory, frozen: TimeMachineFixture
) -> None:
    user = await factory.user()
    for _ in range(5):
        assert_unauthorized(await login(client, user.email, WRONG))
    assert_throttled(await login(client, user.email))

    frozen.move_to(NOW + timedelta(minutes=15), tick=False)
    # A whole window later the bucket is empty: a full burst of failures again.
    statuses = [(await login(client, user.email, WRONG)).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    frozen.move_to(NOW + timedelta(minutes=30), tick=False)
    assert (await login(client, user.email)).status_code == 200


async def test_buckets_store_no_email_or_address_and_idle_ones_are_purged(
    client: httpx.AsyncClient, database: Database, factory: Factory, frozen: TimeMachineFixture
) -> None:
    user = await factory.user("private@example.com")
    assert_unauthorized(await login(client, user.email, WRONG))
    stored = await buckets(database)
    assert len(stored) == 3  # account and address, account, address
    for bucket in stored:
        assert len(bucket.key) == 64 and set(bucket.key) <= set("0123456789abcdef")
        assert "private" not in bucket.key and "127.0.0.1" not in bucket.key

    async with database.sessions() as session, session.begin():
        assert await throttle_repository.purge_idle(session, clock.now()) == 0
    frozen.move_to(NOW + timedelta(minutes=4), tick=False)  # past the slowest one's 3 min
    async with database.sessions() as session, session.begin():
        assert await throttle_repository.purge_idle(session, clock.now()) == 3


# --- across workers and under concurrency ---------------------------------------------------


async def test_the_limit_holds_across_two_app_instances(
    settings: Settings, client: httpx.AsyncClient, factory: Factory, frozen: object
) -> None:
    user = await factory.user()
    async with app_with(settings) as other, checked_client(other) as second_worker:
        for http in (client, second_worker, client, second_worker, client):
            assert_unauthorized(await login(http, user.email, WRONG))
        assert_throttled(await login(second_worker, user.email))
        assert_throttled(await login(client, user.email))


async def test_concurrent_guesses_never_exceed_the_limit(
    client: httpx.AsyncClient, factory: Factory, hasher: CountingHasher
) -> None:
    user = await factory.user()
    responses = await asyncio.gather(*(login(client, user.email, WRONG) for _ in range(20)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * 5 + [429] * 15, [r.text for r in responses]
    assert hasher.calls == 5
    assert_throttled(await login(client, user.email))


async def test_concurrent_guesses_from_many_addresses_stop_at_the_account_limit(
    settings: Settings, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    async with app_with(settings, login_failures_per_account=3) as application:

        async def guess(n: int) -> httpx.Response:
            async with client_at(application, f"198.51.100.{n + 1}") as http:
                return await login(http, user.email, WRONG)

        responses = await asyncio.gather(*(guess(n) for n in range(12)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * 3 + [429] * 9, [r.text for r in responses]


async def test_an_attempt_that_read_the_time_a_moment_earlier_is_still_admitted(
    database: Database, frozen: TimeMachineFixture
) -> None:
    # Concurrent attempts read the clock before they queue for the bucket's row: the fifth
    # through may carry an earlier time than the four before it.
    bucket = Bucket.of(Rate(5, timedelta(minutes=15)), "test", "skew")
    frozen.move_to(NOW + timedelta(milliseconds=20), tick=False)
    for _ in range(4):
        await consume(database, [bucket], "Too many.")
    frozen.move_to(NOW, tick=False)
    await consume(database, [bucket], "Too many.")
    with pytest.raises(TooManyRequests):
        await consume(database, [bucket], "Too many.")


def test_refusals_are_paced_after_a_burst() -> None:
    pacer = RefusalPacer(per_second=10, burst=3, max_wait=0.5)
    assert [pacer.turn(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [round(pacer.turn(100.0), 3) for _ in range(5)] == [0.1, 0.2, 0.3, 0.4, 0.5]
    # Too far off to wait for: answered at once, and the queue does not grow...
    assert pacer.turn(100.0) == 0.0
    # ...until time frees a turn.
    assert round(pacer.turn(100.1), 3) == 0.5
    # Idle for a while, a whole burst is free again.
    assert [pacer.turn(200.0) for _ in range(3)] == [0.0, 0.0, 0.0]


# --- registration ---------------------------------------------------------------------------


async def test_registration_is_limited_per_address(
    settings: Settings, database: Database, hasher: CountingHasher, frozen: object
) -> None:
    async with app_with(settings, registrations_per_address_per_hour=2) as application:
        async with client_at(application, "192.0.2.30") as http:
            # Invalid input is refused before anything is counted.
            assert_problem(await http.post(REGISTER, json={"email": "x"}), 422)
            for n in range(2):
                created = await http.post(REGISTER, json=registration(f"new{n}@example.com"))
                assert created.status_code == 201, created.text
            hashed = hasher.calls
            blocked = await http.post(REGISTER, json=registration("third@example.com"))
            body = assert_throttled(blocked)
            assert "registrations" in body["detail"]
            assert retry_after(blocked) == 1800  # 2 an hour: one every 30 minutes
            assert hasher.calls == hashed
        async with client_at(application, "192.0.2.31") as elsewhere:
            created = await elsewhere.post(REGISTER, json=registration("third@example.com"))
            assert created.status_code == 201, created.text


# --- the password-hash bound ----------------------------------------------------------------


class HeldHasher:
    """The real hasher, except that the first verify waits until released."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    def hash(self, password: str) -> str:
        return str(self.inner.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(10)
        return bool(self.inner.verify(password_hash, password))


@pytest.mark.parametrize("early", [True, False], ids=["before-counting", "after-counting"])
async def test_a_full_hash_queue_is_503_with_retry_after_and_does_not_count(
    settings: Settings,
    database: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    early: bool,
) -> None:
    user = await factory.user()
    held = HeldHasher(security._hasher)
    monkeypatch.setattr(security, "_hasher", held)
    if not early:
        # The queue filled between the early look and the hash: counted, then given back.
        monkeypatch.setattr(limiter, "ensure_hashing_room", lambda: None)
    try:
        async with (
            app_with(settings, password_hash_concurrency=1, password_hash_queue=0) as application,
            checked_client(application) as http,
        ):
            first = asyncio.create_task(login(http, user.email, WRONG))
            assert await asyncio.to_thread(held.entered.wait, 10)  # the one slot is taken

            busy = await login(http, user.email, WRONG)
            body = assert_problem(busy, 503)
            assert body["type"].endswith("/service-unavailable")
            assert busy.headers["retry-after"] == "1"
            assert_problem(await http.post(REGISTER, json=registration("new@example.com")), 503)

            held.release.set()
            assert_unauthorized(await first)
            # The 503 checked no password, so it does not count: 4 more failures, then 429.
            statuses = [(await login(http, user.email, WRONG)).status_code for _ in range(5)]
            assert statuses == [401] * 4 + [429]
            created = await http.post(REGISTER, json=registration("new@example.com"))
            assert created.status_code == 201, created.text
    finally:
        held.release.set()
        configure_password_hashing(settings.password_hash_concurrency, settings.password_hash_queue)
