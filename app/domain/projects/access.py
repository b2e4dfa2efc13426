"""Who may see and change a project: membership and role, resolved in one query."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.errors import Conflict, Forbidden, NotFound
from app.domain.projects import repository
from app.domain.projects.models import Project, Role
from app.domain.users.models import User


@dataclass(frozen=True)
class ProjectAccess:
    """A project the caller may see, with the caller and their role in it."""

    project: Project
    user: User
    role: Role

    @property
    def project_id(self) -> int:
        """The project's id (always set for a stored project)."""
        assert self.project.id is not None
        return self.project.id


def not_found(key: str) -> NotFound:
    """The 404 for a project the caller may not see."""
    # The same answer for unknown projects and projects the caller is not in.
    return NotFound(f"No project with key {key!r}.")


class ProjectClosed(Conflict):
    """A write to a closed project (phase closing or post-mortem): it is read-only."""

    slug = "project-closed"

    def __init__(self, project: Project) -> None:
        super().__init__(
            f"Project {project.key} is closed ({project.phase.value}), so it is read-only; "
            f"an owner can reopen it with POST /api/v1/projects/{project.key}/reopen."
        )


async def resolve_access(
    session: AsyncSession, key: str, user: User, min_role: Role, *, write: bool = False
) -> ProjectAccess:
    """The project and caller's role; 404 for non-members, 403 below `min_role`.

    `write`: the caller is about to change the project, which a closed project refuses (409).
    """
    assert user.id is not None
    if write:
        # Before the project is read: a close committed while this waited is seen below.
        await repository.share_phase_lock(session, key)
    found = await repository.project_with_role(session, key, user.id)
    if found is None:
        raise not_found(key)
    project, role = found
    if role.rank < min_role.rank:
        raise Forbidden(f"This needs the {min_role.value} role; you are a {role.value}.")
    if write and project.phase.is_closed:
        raise ProjectClosed(project)
    return ProjectAccess(project=project, user=user, role=role)
