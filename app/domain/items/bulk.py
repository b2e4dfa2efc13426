"""Changes to many items at once that other areas ask for, each item's change logged.

Projects and workflow sit below items (items import them, never the reverse), so their
services take this module as a parameter where a change of theirs reaches the items: a member
leaves (`unassign_user`), a scale changes (`count_estimates_off`), a status is recategorised
or deleted. Sprints, above items, import it.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import ranking, repository
from app.domain.items.models import Item
from app.domain.items.writer import Writer
from app.domain.kernel import clock
from app.domain.projects.access import ProjectAccess
from app.domain.retros.actions import repository as actions_repository


async def _write_each(
    session: AsyncSession, access: ProjectAccess, items: Sequence[Item], changes: dict[str, Any]
) -> int:
    """Make the same change to each of some locked items (logged per item); returns how many."""
    writer = Writer(session, access)
    for item in items:
        await writer.write(item, changes)
    await session.flush()
    return len(items)


async def unassign_user(session: AsyncSession, access: ProjectAccess, user_id: int) -> int:
    """Clear `user_id` as assignee of every item in the project (logged); returns how many."""
    assigned = await repository.items_assigned_to(session, access.project_id, user_id)
    return await _write_each(session, access, assigned, {"assignee_id": None})


async def count_estimates_off(
    session: AsyncSession, access: ProjectAccess, allowed: Sequence[float]
) -> int:
    """How many of the project's items carry an estimate that is not one of `allowed`."""
    return await repository.count_estimates_off(session, access.project_id, allowed)


async def count_in_status(session: AsyncSession, access: ProjectAccess, status_id: int) -> int:
    """How many of the project's items are in a status."""
    return await repository.count_in_status(session, access.project_id, status_id)


async def move_out_of_status(
    session: AsyncSession, access: ProjectAccess, status_id: int, target_id: int
) -> int:
    """Move every item of one status to another (logged per item); returns how many."""
    items = await repository.items_in_status(session, access.project_id, status_id)
    return await _write_each(session, access, items, {"status_id": target_id})


async def follow_status_category(
    session: AsyncSession, access: ProjectAccess, status_id: int, *, done: bool
) -> None:
    """A status started (or stopped) counting as done: stamp (or clear) its items' done_at."""
    await repository.set_done_for_status(session, access.project_id, status_id, done=done)
    if done:
        # Its items just finished: so did the retro actions made from them.
        await actions_repository.complete_for_status(
            session, access.project_id, access.project.key, status_id, access.user.id, clock.now()
        )


async def to_top_of_backlog(
    session: AsyncSession, access: ProjectAccess, items: Sequence[Item]
) -> None:
    """Take items out of their sprint and rank them at the top, keeping their order (logged)."""
    if not items:
        return
    writer = Writer(session, access)
    await repository.lock_ranks(session, access.project_id)
    ordered = sorted(items, key=lambda item: item.rank)
    moved_ids = {item.id for item in ordered}

    async def place() -> None:
        first = await repository.first_rank_excluding(session, access.project_id, moved_ids)
        keys = ranking.keys_between(None, first, len(ordered))
        async with repository.ranks_checked_together(session):
            for item, key in zip(ordered, keys, strict=True):
                await writer.write(item, {"sprint_id": None, "rank": key})

    async def reload() -> None:
        for item in ordered:
            await session.refresh(item)

    await ranking.with_rank_retry(session, place, reload)
    await ranking.maybe_rebalance(writer, max((item.rank for item in ordered), key=len))
