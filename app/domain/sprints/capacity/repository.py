"""SQL for sprint capacity."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, exists, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.kernel.inputs import is_id
from app.domain.projects.models import ProjectMember, Role
from app.domain.sprints.models import Sprint, SprintCapacity, SprintState
from app.domain.users.models import User


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


async def users_by_id(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, User]:
    """Users by id (for names and emails)."""
    if not user_ids:
        return {}
    stmt = select(User).where(col(User.id).in_(list(user_ids)))
    return {user.id: user for user in (await session.execute(stmt)).scalars() if user.id}


async def planning_members(session: AsyncSession, project_id: int) -> list[User]:
    """The project's members who may plan (every role but viewer), by user id."""
    stmt = (
        select(User)
        .join(ProjectMember, col(ProjectMember.user_id) == col(User.id))
        .where(
            col(ProjectMember.project_id) == project_id,
            col(ProjectMember.role) != Role.VIEWER,
        )
        .order_by(col(User.id))
    )
    return list((await session.execute(stmt)).scalars().all())


async def member_ids(session: AsyncSession, project_id: int, user_ids: Sequence[int]) -> set[int]:
    """Those of the given users who are members of the project (any role)."""
    # No row has an id outside the bigint range; filtering keeps asyncpg from refusing one.
    wanted = [user_id for user_id in user_ids if is_id(user_id)]
    if not wanted:
        return set()
    stmt = select(col(ProjectMember.user_id)).where(
        col(ProjectMember.project_id) == project_id, col(ProjectMember.user_id).in_(wanted)
    )
    return set((await session.execute(stmt)).scalars().all())


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
