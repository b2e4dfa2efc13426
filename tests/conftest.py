"""Test fixtures: a real PostgreSQL (TIMEBOX_TEST_DATABASE_URL or embedded), migrated by Alembic.

Every test gets a clean database: all tables are truncated after each test, so tests run in
any order and still exercise real commits, constraints and concurrent transactions. Under
pytest-xdist each worker is its own session, so each has its own database (and its own
embedded server when none is configured).

TIMEBOX_TEST_NOW (an ISO timestamp with offset) moves the clock of the whole run to that
moment, ticking from there: CI runs the date-sensitive modules at awkward moments with it.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import asyncpg
import httpx
import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from app import migrate
from app import models as table_models  # noqa: F401  (every table in SQLModel.metadata)
from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.contract import checked_client
from tests.factories import Factory


def pytest_configure(config: pytest.Config) -> None:
    """Start the run's clock at TIMEBOX_TEST_NOW when it is set."""
    moment = os.environ.get("TIMEBOX_TEST_NOW")
    if moment:
        traveller = time_machine.travel(datetime.fromisoformat(moment), tick=True)
        traveller.start()
        config.stash[_TRAVELLER] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    """Put the clock back."""
    traveller = config.stash.get(_TRAVELLER, None)
    if traveller is not None:
        traveller.stop()


_TRAVELLER = pytest.StashKey[time_machine.travel]()


# The token the suite's app serves /metrics to.
METRICS_TOKEN = "test-metrics-token"


def _plain_url(url: str) -> str:
    """A URL asyncpg understands directly (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _execute(url: str, sql: str) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.query.get("host") or parsed.host,
        port=parsed.port,
        database=parsed.database,
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class PgTestServer:
    """A PostgreSQL server the suite may create throw-away databases on."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = _plain_url(admin_url)
        self.created: list[str] = []

    def create_database(self, prefix: str = "timebox_test") -> str:
        """Create an empty database and return its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        asyncio.run(_execute(self.admin_url, f'CREATE DATABASE "{name}"'))
        # A throw-away database need not wait for its WAL to reach the disk on each commit.
        asyncio.run(
            _execute(self.admin_url, f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        )
        self.created.append(name)
        return _with_database(self.admin_url, name)

    def drop_all(self) -> None:
        """Drop every database this run created."""
        for name in self.created:
            asyncio.run(_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgTestServer]:
    """The machine's PostgreSQL when TIMEBOX_TEST_DATABASE_URL is set, else an embedded one."""
    configured = os.environ.get("TIMEBOX_TEST_DATABASE_URL")
    if configured:
        server = PgTestServer(configured)
        yield server
        server.drop_all()
        return
    # The defining module: the package re-exports get_server without declaring it.
    from pgserver.postgres_server import get_server

    data_dir = tempfile.mkdtemp(prefix="timebox-test-pg-")
    embedded = get_server(data_dir, cleanup_mode="delete")
    try:
        server = PgTestServer(embedded.get_uri())
        yield server
        server.drop_all()
    finally:
        embedded.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server: PgTestServer) -> str:
    """A fresh database with the schema built by the Alembic migrations."""
    url = pg_server.create_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Settings for the app under test."""
    return Settings(
        database_url=database_url,
        db_pool_size=5,
        db_max_overflow=20,
        metrics_token=METRICS_TOKEN,
        # Webhook tests run dispatchers of their own, with test settings (a loopback receiver).
        webhook_dispatcher=False,
        webhook_allow_private=True,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    """The ASGI app with its lifespan running."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def session_database(app: object) -> Database:
    """The app's database handle."""
    db: Database = app.state.database  # type: ignore[attr-defined]
    return db


@pytest.fixture(scope="session")
async def cleanup_sql(session_database: Database) -> str:
    """SQL that empties every application table and restarts its ids.

    DELETE in reverse foreign-key order is several times faster than TRUNCATE on the few
    rows a test writes (TRUNCATE makes new files for every table); ids restart so tests read
    the same ids in any order.
    """
    tables = [table for table in reversed(SQLModel.metadata.sorted_tables)]
    async with session_database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        )
        in_database = {row[0] for row in rows}
    assert in_database == {table.name for table in tables}, "a table is missing from app.models"
    statements = [f'DELETE FROM "{table.name}"' for table in tables]
    statements += [
        f'ALTER TABLE "{table.name}" ALTER COLUMN "{column.name}" RESTART'
        for table in tables
        for column in table.columns
        if column.identity is not None
    ]
    return "; ".join(statements)


@pytest.fixture
async def database(session_database: Database, cleanup_sql: str) -> AsyncIterator[Database]:
    """The app's database, emptied after the test so every test starts clean."""
    yield session_database
    async with session_database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.execute(cleanup_sql)  # one round trip: the simple query protocol


@pytest.fixture
async def client(app: object, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in-process."""
    async with checked_client(app) as http:
        yield http


@pytest.fixture
def factory(database: Database) -> Factory:
    """Builds users, tokens and projects through the real services."""
    return Factory(database)
