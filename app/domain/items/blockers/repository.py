"""SQL for the item_blockers table."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.items.blockers.models import ItemBlocker
from app.domain.items.models import Item
from app.domain.kernel.inputs import is_number
from app.domain.kernel.pagination import PageRequest, fetch_page


async def item_by_number(
    session: AsyncSession, project_id: int, number: int, *, for_update: bool = False
) -> Item | None:
    """The item a blocker is on, by number (locked if asked)."""
    # Not items.repository.get_item: the items repository reads blockers for the board, so
    # this sub-package does not import it back.
    if not is_number(number):
        return None
    stmt = select(Item).where(col(Item.project_id) == project_id, col(Item.number) == number)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_blockers(
    session: AsyncSession, project_id: int, item_ids: Sequence[int]
) -> dict[int, list[ItemBlocker]]:
    """The open blockers of some items, oldest first, by item id (one query)."""
    if not item_ids:
        return {}
    stmt = (
        select(ItemBlocker)
        .where(
            col(ItemBlocker.project_id) == project_id,
            col(ItemBlocker.item_id).in_(list(item_ids)),
            col(ItemBlocker.cleared_at).is_(None),
        )
        .order_by(col(ItemBlocker.id))
    )
    found: dict[int, list[ItemBlocker]] = defaultdict(list)
    for blocker in (await session.execute(stmt)).scalars().all():
        found[blocker.item_id].append(blocker)
    return dict(found)


async def count_open(session: AsyncSession, project_id: int, item_id: int) -> int:
    """How many open blockers an item has."""
    stmt = select(func.count()).where(
        col(ItemBlocker.project_id) == project_id,
        col(ItemBlocker.item_id) == item_id,
        col(ItemBlocker.cleared_at).is_(None),
    )
    return int((await session.execute(stmt)).scalar_one())


async def list_blockers(
    session: AsyncSession, project_id: int, item_id: int, open_only: bool, page: PageRequest
) -> tuple[list[ItemBlocker], str | None]:
    """An item's blockers, newest first."""
    stmt = select(ItemBlocker).where(
        col(ItemBlocker.project_id) == project_id, col(ItemBlocker.item_id) == item_id
    )
    if open_only:
        stmt = stmt.where(col(ItemBlocker.cleared_at).is_(None))
    rows, cursor = await fetch_page(
        session, stmt, [col(ItemBlocker.id)], page, lambda row: [row[0].id], descending=True
    )
    return [row[0] for row in rows], cursor


async def get_blocker(
    session: AsyncSession,
    project_id: int,
    item_id: int,
    blocker_id: int,
    *,
    for_update: bool = False,
) -> ItemBlocker | None:
    """One blocker of an item (locked for a change if asked)."""
    stmt = select(ItemBlocker).where(
        col(ItemBlocker.project_id) == project_id,
        col(ItemBlocker.item_id) == item_id,
        col(ItemBlocker.id) == blocker_id,
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_standup_blockers(
    session: AsyncSession, project_id: int, user_id: int
) -> list[tuple[ItemBlocker, int]]:
    """A member's open stand-up blockers with their items' numbers, locked for a change."""
    stmt = (
        select(ItemBlocker, col(Item.number))
        .join(Item, col(Item.id) == col(ItemBlocker.item_id))
        .where(
            col(ItemBlocker.project_id) == project_id,
            col(ItemBlocker.raised_by) == user_id,
            col(ItemBlocker.standup_entry_id).is_not(None),
            col(ItemBlocker.cleared_at).is_(None),
        )
        .order_by(col(ItemBlocker.id))
        .with_for_update(of=ItemBlocker)
        .execution_options(populate_existing=True)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def entry_blockers(
    session: AsyncSession, project_id: int, entry_id: int
) -> list[ItemBlocker]:
    """The open blockers a stand-up entry raised, locked for a change."""
    stmt = (
        select(ItemBlocker)
        .where(
            col(ItemBlocker.project_id) == project_id,
            col(ItemBlocker.standup_entry_id) == entry_id,
            col(ItemBlocker.cleared_at).is_(None),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def add(session: AsyncSession, rows: Sequence[ItemBlocker]) -> None:
    """Insert blockers."""
    session.add_all(rows)
    await session.flush()
