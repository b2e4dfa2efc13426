"""Async engine, the per-request session dependency, and the metadata naming convention."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel

from app.settings import Settings

# Stable constraint names so Alembic autogenerate and downgrades stay predictable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


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

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed before the response is sent."""
    database: Database = request.app.state.database
    async with database.sessions() as session, session.begin():
        yield session
