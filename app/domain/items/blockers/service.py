"""Rules for blockers: raised by stand-ups or by hand, open until a member clears them."""

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items.blockers import repository
from app.domain.items.blockers.models import ItemBlocker
from app.domain.items.blockers.schemas import MAX_OPEN_PER_ITEM, MAX_REASON
from app.domain.items.models import Item
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.views import RowView
from app.domain.projects.access import ProjectAccess


@dataclass(frozen=True)
class BlockerView(RowView):
    """A blocker with its item's number."""

    ROW = "blocker"

    blocker: ItemBlocker
    item: int

    @property
    def open(self) -> bool:
        """Whether it still blocks the item."""
        return self.blocker.cleared_at is None


async def _item(
    session: AsyncSession, access: ProjectAccess, number: int, *, for_update: bool = False
) -> Item:
    item = await repository.item_by_number(
        session, access.project_id, number, for_update=for_update
    )
    if item is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return item


async def list_blockers(
    session: AsyncSession, access: ProjectAccess, number: int, open_only: bool, page: PageRequest
) -> tuple[list[BlockerView], str | None]:
    """An item's blockers, newest first (only the open ones if asked)."""
    item = await _item(session, access, number)
    assert item.id is not None
    rows, cursor = await repository.list_blockers(
        session, access.project_id, item.id, open_only, page
    )
    return [BlockerView(row, number) for row in rows], cursor


async def add_blocker(
    session: AsyncSession, access: ProjectAccess, number: int, reason: str
) -> BlockerView:
    """Raise a blocker on an item by hand."""
    # The item's row lock makes concurrent raises on one item count one after another.
    item = await _item(session, access, number, for_update=True)
    assert item.id is not None
    if await repository.count_open(session, access.project_id, item.id) >= MAX_OPEN_PER_ITEM:
        raise Conflict(
            f"{access.project.key}-{number} has {MAX_OPEN_PER_ITEM} open blockers already; "
            "clear some first."
        )
    blocker = ItemBlocker(
        project_id=access.project_id, item_id=item.id, reason=reason, raised_by=access.user.id
    )
    await repository.add(session, [blocker])
    return BlockerView(blocker, number)


async def _blocker(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    blocker_id: int,
    *,
    for_update: bool = False,
) -> ItemBlocker:
    item = await _item(session, access, number)
    assert item.id is not None
    blocker = await repository.get_blocker(
        session, access.project_id, item.id, blocker_id, for_update=for_update
    )
    if blocker is None:
        raise NotFound(f"No blocker {blocker_id} on {access.project.key}-{number}.")
    return blocker


async def get_blocker(
    session: AsyncSession, access: ProjectAccess, number: int, blocker_id: int
) -> BlockerView:
    """One blocker of an item."""
    return BlockerView(await _blocker(session, access, number, blocker_id), number)


async def clear_blocker(
    session: AsyncSession, access: ProjectAccess, number: int, blocker_id: int
) -> BlockerView:
    """Clear an open blocker (any member); 409 when it is cleared already."""
    # The row lock makes a second concurrent clear wait, then see it cleared (409).
    blocker = await _blocker(session, access, number, blocker_id, for_update=True)
    if blocker.cleared_at is not None:
        raise Conflict(f"Blocker {blocker_id} on {access.project.key}-{number} is cleared already.")
    blocker.cleared_at = clock.now()
    blocker.cleared_by = access.user.id
    await session.flush()
    return BlockerView(blocker, number)


def standup_reason(text: str, author: str, day: str) -> str:
    """A stand-up blocker's reason: the entry's blockers text, or where it came from."""
    reason = text.strip() or f"Named as blocked in {author}'s stand-up of {day}."
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


async def sync_standup_blockers(
    session: AsyncSession,
    project_id: int,
    user_id: int,
    entry_id: int,
    named: Mapping[int, Item],
    reason: str,
) -> None:
    """Make a member's open stand-up blockers match the items their latest entry names.

    Items no longer named are cleared (by the member); items named that already carry an open
    stand-up blocker of this member keep it (and its age); the others get a new one.
    """
    now = clock.now()
    kept: set[int] = set()
    for blocker, number in await repository.open_standup_blockers(session, project_id, user_id):
        if number in named:
            kept.add(number)
        else:
            blocker.cleared_at = now
            blocker.cleared_by = user_id
    await repository.add(
        session,
        [
            ItemBlocker(
                project_id=project_id,
                item_id=item.id,
                reason=reason,
                raised_by=user_id,
                standup_entry_id=entry_id,
            )
            for number, item in named.items()
            if number not in kept and item.id is not None
        ],
    )


async def clear_entry_blockers(
    session: AsyncSession, project_id: int, entry_id: int, user_id: int
) -> None:
    """Clear the open blockers a stand-up entry raised (it is being deleted)."""
    now = clock.now()
    for blocker in await repository.entry_blockers(session, project_id, entry_id):
        blocker.cleared_at = now
        blocker.cleared_by = user_id
    await session.flush()
