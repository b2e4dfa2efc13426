"""SQL for the standup_entries table."""

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.standups.models import StandupEntry
from app.domain.users.models import User


async def get_entry(
    session: AsyncSession, project_id: int, user_id: int, day: date, *, for_update: bool = False
) -> tuple[StandupEntry, User | None] | None:
    """One member's entry for a day, with its author."""
    stmt = (
        select(StandupEntry, User)
        .outerjoin(User, col(User.id) == col(StandupEntry.user_id))
        .where(
            col(StandupEntry.project_id) == project_id,
            col(StandupEntry.user_id) == user_id,
            col(StandupEntry.day) == day,
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=StandupEntry).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def day_entries(
    session: AsyncSession, project_id: int, day: date
) -> list[tuple[StandupEntry, User | None]]:
    """Every entry of a day with its author, by user id."""
    stmt = (
        select(StandupEntry, User)
        .outerjoin(User, col(User.id) == col(StandupEntry.user_id))
        .where(col(StandupEntry.project_id) == project_id, col(StandupEntry.day) == day)
        .order_by(col(StandupEntry.user_id))
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def history(
    session: AsyncSession, project_id: int, user_id: int | None, page: PageRequest
) -> tuple[list[tuple[StandupEntry, User | None]], str | None]:
    """Entries, latest day first (one member's if asked)."""
    stmt = (
        select(StandupEntry, User)
        .outerjoin(User, col(User.id) == col(StandupEntry.user_id))
        .where(col(StandupEntry.project_id) == project_id)
    )
    if user_id is not None:
        stmt = stmt.where(col(StandupEntry.user_id) == user_id)
    # Entries are only ever posted on their own day, so newer ids are never for earlier days:
    # id order is day order.
    rows, cursor = await fetch_page(
        session, stmt, [col(StandupEntry.id)], page, lambda row: [row[0].id], descending=True
    )
    return [(row[0], row[1]) for row in rows], cursor


async def add(session: AsyncSession, entry: StandupEntry) -> None:
    """Insert an entry."""
    session.add(entry)
    await session.flush()


async def delete_entry(session: AsyncSession, project_id: int, entry_id: int) -> None:
    """Delete an entry."""
    await session.execute(
        delete(StandupEntry).where(
            col(StandupEntry.project_id) == project_id, col(StandupEntry.id) == entry_id
        )
    )
