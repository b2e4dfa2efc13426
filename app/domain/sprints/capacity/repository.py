"""SQL for sprint capacity."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, exists, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.sprints.models import Sprint, SprintCapacity, SprintState


async def capacity_rows(
    session: AsyncSession, project_id: int, sprint_ids: Sequence[int]
) -> list[SprintCapacity]:
    """The capacity rows of some sprints, by sprint and user id."""
    if not sprint_ids:
        return []
    stmt = (
        select(SprintCapacity)
        .where(
            col(SprintCapacity.project_id) == project_id,
            col(SprintCapacity.sprint_id).in_(list(sprint_ids)),
        )
        .order_by(col(SprintCapacity.sprint_id), col(SprintCapacity.user_id))
    )
    return list((await session.execute(stmt)).scalars().all())


async def replace_capacity(
    session: AsyncSession, project_id: int, sprint_id: int, rows: Sequence[SprintCapacity]
) -> None:
    """Delete a sprint's capacity rows and insert these instead."""
    await session.execute(
        delete(SprintCapacity).where(
            col(SprintCapacity.project_id) == project_id,
            col(SprintCapacity.sprint_id) == sprint_id,
        )
    )
    session.add_all(rows)
    await session.flush()


async def history_batch(
    session: AsyncSession,
    project_id: int,
    before: date,
    except_id: int,
    after: tuple[date, int] | None,
    limit: int,
) -> list[Sprint]:
    """Completed sprints with capacity that ended before `before`, latest first, after `after`."""
    # Keyset by (end_date, number) descending, so the caller can read on until it has enough.
    has_capacity = exists().where(
        col(SprintCapacity.sprint_id) == col(Sprint.id),
        col(SprintCapacity.project_id) == project_id,
        # A sprint whose every member was away carries no rate; skip it in SQL already.
        col(SprintCapacity.availability) > 0,
    )
    stmt = select(Sprint).where(
        col(Sprint.project_id) == project_id,
        col(Sprint.state) == SprintState.COMPLETED,
        col(Sprint.id) != except_id,
        col(Sprint.start_date).is_not(None),
        col(Sprint.end_date) < before,
        has_capacity,
    )
    if after is not None:
        stmt = stmt.where(tuple_(col(Sprint.end_date), col(Sprint.number)) < tuple_(*after))
    stmt = stmt.order_by(col(Sprint.end_date).desc(), col(Sprint.number).desc()).limit(limit)
    return list((await session.execute(stmt)).scalars().all())
