"""SQL for the demo: moving what a simulated moment wrote back to that moment."""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Rows written in the simulation carry the clock's real time (kernel.clock); every timestamp at
# or after the run's real start is moved to the simulated moment it belongs to.
_BACKDATE = (
    "UPDATE item_events SET occurred_at = :at WHERE project_id = :project "
    "AND occurred_at >= :since",
    "UPDATE items SET created_at = :at WHERE project_id = :project AND created_at >= :since",
    "UPDATE items SET updated_at = :at WHERE project_id = :project AND updated_at >= :since",
    "UPDATE items SET done_at = :at WHERE project_id = :project AND done_at >= :since",
    "UPDATE sprints SET created_at = :at WHERE project_id = :project AND created_at >= :since",
    "UPDATE sprints SET updated_at = :at WHERE project_id = :project AND updated_at >= :since",
    "UPDATE sprints SET started_at = :at WHERE project_id = :project AND started_at >= :since",
    "UPDATE sprints SET completed_at = :at WHERE project_id = :project AND completed_at >= :since",
    "UPDATE projects SET created_at = :at, updated_at = :at "
    "WHERE id = :project AND updated_at >= :since",
)


async def backdate(session: AsyncSession, project_id: int, since: datetime, at: datetime) -> None:
    """Move every timestamp the run wrote since `since` in the project to `at`."""
    for statement in _BACKDATE:
        await session.execute(text(statement), {"at": at, "project": project_id, "since": since})
