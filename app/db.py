"""Async engine and the per-request session dependency."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.domain.kernel import clock
from app.settings import Settings


def async_url(url: str) -> str:
    """Rewrite any PostgreSQL URL to use the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@dataclass
class Database:
    """The engine and session factory of one process."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, settings: Settings) -> "Database":
        """Create the engine for the configured database URL (nothing is opened yet)."""
        if not settings.database_url:
            raise RuntimeError("TIMEBOX_DATABASE_URL is not set")
        engine = create_async_engine(
            async_url(settings.database_url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
        )
        sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        return cls(engine=engine, sessions=sessions)

    async def ping(self) -> bool:
        """Whether the database answers a trivial query (any failure counts as no answer)."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed before the response is sent."""
    database: Database = request.app.state.database
    async with database.sessions() as session, session.begin():
        with clock.transaction_time():
            yield session
