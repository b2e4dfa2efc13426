"""Async engines and the per-request session dependency."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from starlette.types import Scope

# Registers the before-commit flush of public events (and what they set off) on every session.
import app.domain.outbox  # noqa: F401
from app.domain.kernel import clock
from app.settings import Settings

# The key of a session a middleware has opened for the request (app.http.idempotency): the
# request then runs in that transaction, so its stored response commits with its change.
REQUEST_SESSION = "timebox.session"
# The readiness probe's own budget: a probe that takes longer counts as no answer.
_PROBE_TIMEOUT_SECONDS = 2.0


def async_url(url: str) -> str:
    """Rewrite any PostgreSQL URL to use the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _connect_args(settings: Settings) -> dict[str, Any]:
    """asyncpg options: a connect timeout and PostgreSQL's own statement and lock timeouts."""
    server_settings = {
        "application_name": "timebox",
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "lock_timeout": str(settings.db_lock_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
    }
    options: dict[str, Any] = {
        "timeout": settings.db_connect_timeout_seconds,
        "server_settings": server_settings,
    }
    if settings.db_statement_timeout_ms:
        # A server that stops answering altogether (frozen, or the network cut) cannot cancel
        # its own statements: the driver gives up a little after PostgreSQL would have.
        options["command_timeout"] = settings.db_statement_timeout_ms / 1000 + 2
    return options


@dataclass
class Database:
    """The engines and session factory of one process."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # A one-connection pool of its own, so a request pool that is exhausted (or stuck behind a
    # lock) cannot make the readiness probe hang or lie.
    probe_engine: AsyncEngine

    @classmethod
    def connect(cls, settings: Settings) -> "Database":
        """Create the engines for the configured database URL (nothing is opened yet)."""
        if not settings.database_url:
            raise RuntimeError("TIMEBOX_DATABASE_URL is not set")
        url = async_url(settings.database_url)
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,
            # Errors would otherwise quote bound values (password and token hashes) in logs.
            hide_parameters=True,
            connect_args=_connect_args(settings),
        )
        probe_engine = create_async_engine(
            url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=_PROBE_TIMEOUT_SECONDS,
            pool_pre_ping=False,
            connect_args=_connect_args(settings) | {"timeout": _PROBE_TIMEOUT_SECONDS},
        )
        sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        return cls(engine=engine, sessions=sessions, probe_engine=probe_engine)

    async def ping(self) -> bool:
        """Whether the database answers a trivial query within the probe's budget."""
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_SECONDS):
                async with self.probe_engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception:
            # Any failure counts as no answer; a broken connection is not reused.
            await self.probe_engine.dispose()
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        await self.probe_engine.dispose()


def request_session(scope: Scope) -> AsyncSession | None:
    """The session a middleware opened for this request, if one did."""
    session: AsyncSession | None = scope.get(REQUEST_SESSION)
    return session


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed before the response is sent."""
    shared = request_session(request.scope)
    if shared is not None:
        # The middleware that opened it commits it, with what it stores, before responding.
        yield shared
        return
    database: Database = request.app.state.database
    async with database.sessions() as session, session.begin():
        with clock.transaction_time():
            yield session
