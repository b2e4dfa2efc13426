"""SQL for throttle buckets: GCRA in one atomic upsert per bucket."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Interval, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.throttle.models import ThrottleBucket


def _at(moment: datetime) -> object:
    return literal(moment, DateTime(timezone=True))


def _span(span: timedelta) -> object:
    return literal(span, Interval())


async def consume(
    session: AsyncSession, key: str, now: datetime, emission: timedelta, tolerance: timedelta
) -> bool:
    """Take one attempt from a bucket if its TAT is at most `tolerance` ahead of `now`; False
    (nothing taken) if it is full.

    The conflicting row is locked and re-read by PostgreSQL, so concurrent attempts on one key
    are admitted one after the other and never past the limit.
    """
    tat = col(ThrottleBucket.tat)
    stmt = (
        insert(ThrottleBucket)
        .values(key=key, tat=now + emission)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={"tat": func.greatest(tat, _at(now)) + _span(emission)},
            where=tat <= _at(now + tolerance),
        )
        .returning(tat)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def arrival_times(session: AsyncSession, keys: Sequence[str]) -> dict[str, datetime]:
    """Key -> theoretical arrival time, for those of `keys` that have a bucket."""
    stmt = select(col(ThrottleBucket.key), col(ThrottleBucket.tat)).where(
        col(ThrottleBucket.key).in_(keys)
    )
    return {key: tat for key, tat in (await session.execute(stmt)).all()}


async def refund(session: AsyncSession, key: str, now: datetime, emission: timedelta) -> None:
    """Give one attempt back to a bucket (never leaving it emptier than empty)."""
    tat = col(ThrottleBucket.tat)
    await session.execute(
        update(ThrottleBucket)
        .where(col(ThrottleBucket.key) == key)
        .values(tat=func.greatest(tat - _span(emission), _at(now)))
    )


async def reset(session: AsyncSession, key: str) -> None:
    """Empty a bucket."""
    await session.execute(delete(ThrottleBucket).where(col(ThrottleBucket.key) == key))


async def purge_idle(session: AsyncSession, now: datetime) -> int:
    """Delete buckets that are empty by `now` (they hold no attempts); returns how many."""
    result = await session.execute(delete(ThrottleBucket).where(col(ThrottleBucket.tat) < now))
    return int(result.rowcount)  # type: ignore[attr-defined]
