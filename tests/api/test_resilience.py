"""The database away, slow or locked: 503 with Retry-After, never a 500 or a hang."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.db import Database
from app.http.problems import problem_for_exception
from app.main import create_app
from app.routers.deps import SessionDep
from app.settings import Settings
from tests.conftest import METRICS_TOKEN
from tests.contract import checked_client
from tests.e2e.server import free_port
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, terminate_backend_waiting_for_lock

UNAVAILABLE = "https://timebox.dev/problems/service-unavailable"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """A second app (another worker, as it were) with its own settings and lifespan."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503)
    assert body["type"] == UNAVAILABLE
    assert int(response.headers["retry-after"]) >= 1


async def raw(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


async def test_database_down_is_503_with_retry_after(settings: Settings) -> None:
    down = settings.model_copy(
        update={
            "database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/none",
            "retry_after_seconds": 7,
        }
    )
    async with running(down) as app, checked_client(app) as http:
        token = {"Authorization": "Bearer tbx_whatever"}
        assert_unavailable(await http.get("/api/v1/me", headers=token))
        created = await http.post(
            "/api/v1/projects",
            json={"key": "WEB", "name": "Web"},
            headers={**token, "Idempotency-Key": "k"},
        )
        assert_unavailable(created)
        assert created.headers["retry-after"] == "7"
        login = await http.post(
            "/api/v1/auth/token", data={"username": "a@example.com", "password": "x" * 12}
        )
        assert_unavailable(login)
        ready = await http.get("/readyz")
        assert_problem(ready, 503)
        assert ready.headers["retry-after"] == "7"
        assert (await http.get("/healthz")).status_code == 200


async def test_a_locked_table_is_503_within_the_lock_timeout(
    settings: Settings, database: Database, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    await factory.item("WEB", owner)
    quick = settings.model_copy(update={"db_lock_timeout_ms": 200, "db_pool_size": 2})
    async with running(quick) as app, checked_client(app) as http:
        blocker = await raw(str(settings.database_url))
        try:
            await blocker.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            response = await http.get("/api/v1/projects/WEB/items", headers=owner.headers)
            assert_unavailable(response)
            # The readiness probe is not stuck behind the lock: the database does answer.
            assert (await http.get("/readyz")).status_code == 200
        finally:
            await blocker.close()
        assert (await http.get("/api/v1/projects/WEB/items", headers=owner.headers)).is_success


async def test_a_statement_past_the_statement_timeout_is_503(
    settings: Settings, database: Database, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    slow = settings.model_copy(update={"db_lock_timeout_ms": 0, "db_statement_timeout_ms": 200})
    async with running(slow) as app, checked_client(app) as http:
        blocker = await raw(str(settings.database_url))
        try:
            await blocker.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            response = await http.get("/api/v1/projects/WEB/items", headers=owner.headers)
            assert_unavailable(response)
        finally:
            await blocker.close()


async def test_an_exhausted_pool_is_503_and_readiness_still_answers(
    settings: Settings, database: Database, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    tiny = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.2}
    )
    async with running(tiny) as app, checked_client(app) as http:
        held: Database = app.state.database
        async with held.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            assert_unavailable(await http.get("/api/v1/projects/WEB", headers=owner.headers))
            assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/api/v1/projects/WEB", headers=owner.headers)).is_success


async def test_a_connection_lost_mid_request_is_503_and_nothing_is_written(
    settings: Settings, database: Database, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    # No lock timeout: the request waits until its connection is killed.
    patient = settings.model_copy(update={"db_lock_timeout_ms": 0})
    async with running(patient) as app, checked_client(app) as http:
        blocker = await raw(str(settings.database_url))
        try:
            await blocker.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            create = asyncio.create_task(
                http.post(
                    "/api/v1/projects/WEB/items",
                    json={"title": "Lost"},
                    headers=owner.headers,
                )
            )
            await terminate_backend_waiting_for_lock(blocker)
            assert_unavailable(await create)
        finally:
            await blocker.close()
        listed = await http.get("/api/v1/projects/WEB/items", headers=owner.headers)
        assert listed.json()["data"] == []


@pytest.fixture
async def failing_sql_app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(settings) as app:

        async def bad_sql(session: SessionDep) -> None:
            await session.execute(
                text("SELECT no_such_column FROM projects WHERE key = :key"),
                {"key": "tbx_secret_parameter"},
            )

        app.add_api_route("/bad-sql", bad_sql, methods=["GET"])
        yield app


async def test_an_unexpected_database_error_is_the_one_internal_error_type(
    failing_sql_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=failing_sql_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/bad-sql")
    body = assert_problem(response, 500)
    assert body["type"] == "https://timebox.dev/problems/internal-error"
    assert "no_such_column" not in response.text
    # Logged with its trace, but never with the statement's bound values (hashes, emails).
    assert "no_such_column" in caplog.text
    assert "tbx_secret_parameter" not in caplog.text


async def test_every_response_says_nosniff_and_has_a_content_security_policy(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    for response in (
        await client.get("/api/v1/projects/WEB", headers=owner.headers),
        await client.get("/api/v1/nope"),
        await client.get("/healthz"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src" not in policy


async def test_the_docs_pages_admit_their_own_scripts_only(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = await client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-eval" not in policy
        assert "cdn" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    swagger = (await client.get("/docs")).headers["content-security-policy"]
    assert "'sha256-" in swagger  # its one inline start-up script, by hash


async def test_metrics_are_off_without_a_token(settings: Settings) -> None:
    off = settings.model_copy(update={"metrics_token": None})
    async with running(off) as app, checked_client(app) as http:
        assert_problem(await http.get("/metrics"), 404)


async def test_metrics_need_the_metrics_token(client: httpx.AsyncClient, ada: Actor) -> None:
    assert_problem(await client.get("/metrics"), 401)
    assert_problem(await client.get("/metrics", headers=ada.headers), 401)
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401)
    right = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert right.status_code == 200
    assert "timebox_http_requests_total" in right.text


async def test_metrics_may_be_public_on_a_private_network(settings: Settings) -> None:
    public = settings.model_copy(update={"metrics_token": None, "metrics_public": True})
    async with running(public) as app, checked_client(app) as http:
        assert (await http.get("/metrics")).status_code == 200


@pytest.fixture
async def ada(factory: Factory) -> Actor:
    return await factory.user("ada@example.com")


async def test_an_empty_metrics_token_keeps_metrics_off(settings: Settings) -> None:
    """Found in review: TIMEBOX_METRICS_TOKEN= (empty) opened /metrics to `Bearer `."""
    empty = Settings(database_url=settings.database_url, metrics_token="")
    assert empty.metrics_token is None
    async with running(empty) as app, checked_client(app) as http:
        assert_problem(await http.get("/metrics", headers={"Authorization": "Bearer "}), 404)


async def test_a_non_ascii_metrics_token_is_401_not_500(client: httpx.AsyncClient) -> None:
    token = "Bearer \xe9t\xe9".encode("latin-1")
    response = await client.get("/metrics", headers={b"Authorization": token})
    assert_problem(response, 401)


def test_our_own_os_errors_are_500s_not_database_outages() -> None:
    """Found in review: a FileNotFoundError (or one raised while handling another) read as 503."""
    for exc in (_raised(FileNotFoundError("no such font")), _raised_while_handling_os_error()):
        response = problem_for_exception(exc, method="GET", path="/x", retry_after=5)
        assert response.status_code == 500


def _raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:
        return caught


def _raised_while_handling_os_error() -> Exception:
    try:
        try:
            raise ConnectionResetError("peer")
        except OSError:
            raise KeyError("ours")  # noqa: B904 - implicit chaining is the point
    except KeyError as caught:
        return caught
