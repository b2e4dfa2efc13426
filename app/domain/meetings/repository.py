"""SQL for meeting schedules, and the sprints a calendar feed shows."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.meetings.models import MeetingSchedule
from app.domain.projects.models import Project


async def get_schedule(session: AsyncSession, project_id: int) -> MeetingSchedule | None:
    """A project's stored schedule (None: the defaults)."""
    stmt = select(MeetingSchedule).where(col(MeetingSchedule.project_id) == project_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def locked_schedule(session: AsyncSession, project_id: int) -> MeetingSchedule:
    """A project's schedule row, created with the defaults if it has none, locked."""
    # ON CONFLICT DO NOTHING: two first writers both get the one row, never a 500.
    await session.execute(
        insert(MeetingSchedule)
        .values(project_id=project_id)
        .on_conflict_do_nothing(index_elements=[col(MeetingSchedule.project_id)])
    )
    stmt = (
        select(MeetingSchedule)
        .where(col(MeetingSchedule.project_id) == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def project_by_feed_token(
    session: AsyncSession, key: str, token_hash: str
) -> tuple[Project, MeetingSchedule] | None:
    """The project with this key whose feed token has this hash (one indexed lookup)."""
    stmt = (
        select(Project, MeetingSchedule)
        .join(MeetingSchedule, col(MeetingSchedule.project_id) == col(Project.id))
        .where(col(MeetingSchedule.feed_token_hash) == token_hash, col(Project.key) == key)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None
