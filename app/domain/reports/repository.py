"""SQL for velocity and burn charts."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlmodel import col

from app.domain.sprints.models import Sprint, SprintState


async def completed_sprints(
    session: AsyncSession, project_id: int, last: int | None
) -> list[Sprint]:
    """The project's latest `last` (or all) completed sprints, in the order they completed."""
    stmt = (
        select(Sprint)
        # The kept report is large and velocity needs none of it.
        .options(defer(Sprint.report))  # type: ignore[arg-type]
        .where(
            col(Sprint.project_id) == project_id,
            col(Sprint.state) == SprintState.COMPLETED.value,
        )
        .order_by(col(Sprint.completed_at).desc(), col(Sprint.number).desc())
        .limit(last)
    )
    return list(reversed((await session.execute(stmt)).scalars().all()))
