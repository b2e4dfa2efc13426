"""SQL for velocity and burn charts."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.sprints.models import Sprint, SprintState


async def completed_sprints(session: AsyncSession, project_id: int) -> list[Sprint]:
    """The project's completed sprints in the order they completed."""
    stmt = (
        select(Sprint)
        .where(
            col(Sprint.project_id) == project_id,
            col(Sprint.state) == SprintState.COMPLETED.value,
        )
        .order_by(col(Sprint.completed_at), col(Sprint.number))
    )
    return list((await session.execute(stmt)).scalars().all())
