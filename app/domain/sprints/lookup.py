"""Finding a project's sprint by number: 404 when there is none, and the lock for changes.

Everything that changes a sprint (its lifecycle, its capacity) takes it with `locked_sprint`:
the row lock serialises concurrent changes, and the If-Match check runs under it.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.errors import NotFound
from app.domain.kernel.versioning import Versions, check_version
from app.domain.projects.access import ProjectAccess
from app.domain.sprints import repository
from app.domain.sprints.models import Sprint


async def sprint_by_number(
    session: AsyncSession, access: ProjectAccess, number: int, *, for_update: bool = False
) -> Sprint:
    """A sprint of the project, or 404."""
    sprint = await repository.get_sprint(session, access.project_id, number, for_update=for_update)
    if sprint is None:
        raise NotFound(f"No sprint {number} in {access.project.key}.")
    return sprint


async def locked_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> Sprint:
    """A sprint locked for a change, after the If-Match check (412 when it is stale)."""
    sprint = await sprint_by_number(session, access, number, for_update=True)
    check_version(sprint.version, if_match)
    return sprint
