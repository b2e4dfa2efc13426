"""SQL for idempotency records."""

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.idempotency.models import IdempotencyRecord


async def try_lock(session: AsyncSession, scope: str, key: str) -> bool:
    """Take the (scope, key) pair's transaction-level advisory lock; False if another holds it.

    The lock lives exactly as long as the transaction, so a request that crashes, or whose
    connection dies, frees its key with it.
    """
    # A scope (`user:<id>`) has no space, so "<scope> <key>" names one pair only.
    stmt = select(func.pg_try_advisory_xact_lock(func.hashtextextended(f"{scope} {key}", 0)))
    return bool((await session.execute(stmt)).scalar_one())


async def find(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord | None:
    """The stored response of a key."""
    stmt = select(IdempotencyRecord).where(
        col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def store(session: AsyncSession, record: IdempotencyRecord) -> None:
    """Keep a finished response, in the transaction that made the change it answers."""
    session.add(record)
    await session.flush()


async def forget(session: AsyncSession, record: IdempotencyRecord) -> None:
    """Drop a stored response (past its time to live)."""
    await session.delete(record)
    await session.flush()


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> int:
    """Delete records created before `cutoff`; returns how many."""
    result = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
