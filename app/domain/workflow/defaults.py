"""The workflow every new project starts with."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.workflow.models import DEFAULT_STATUSES, Status


async def create_default_statuses(session: AsyncSession, project_id: int) -> None:
    """Give a new project the default workflow: To Do, In Progress, In Review, Done."""
    session.add_all(
        Status(project_id=project_id, name=name, category=category, position=position)
        for position, (name, category) in enumerate(DEFAULT_STATUSES)
    )
    await session.flush()
