"""SQL for idempotency records."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.idempotency.models import IdempotencyRecord


async def claim(
    session: AsyncSession, scope: str, key: str, method: str, path: str, request_hash: str
) -> bool:
    """Insert an in-progress record; False if the (scope, key) pair already has one."""
    stmt = (
        insert(IdempotencyRecord)
        .values(scope=scope, key=key, method=method, path=path, request_hash=request_hash)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(col(IdempotencyRecord.id))
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def find(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord | None:
    """The record of a key."""
    stmt = select(IdempotencyRecord).where(
        col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def complete(
    session: AsyncSession,
    scope: str,
    key: str,
    status_code: int,
    headers: list[list[str]],
    body: bytes,
) -> None:
    """Store the finished response of a key."""
    await session.execute(
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key)
        .values(status_code=status_code, response_headers=headers, response_body=body)
    )


async def release(session: AsyncSession, scope: str, key: str) -> None:
    """Forget a key whose request failed, so the client may retry it."""
    await session.execute(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key
        )
    )


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> int:
    """Delete records created before `cutoff`; returns how many."""
    result = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
