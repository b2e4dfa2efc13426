"""Rules for projects and their members."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import EventType, MemberChanged, MemberRef
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, apply_changes, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Project, ProjectMember, Role
from app.domain.projects.scales import ScaleValue, scale_values
from app.domain.projects.schemas import MemberAdd, MemberUpdate, ProjectCreate, ProjectUpdate
from app.domain.users import repository as users_repository
from app.domain.users.models import User

# Every project a user creates makes them its owner; this bounds what one account can create.
MAX_OWNED_PROJECTS = 100


class ProjectWorkflow(Protocol):
    """What a new project needs from the workflow area: `app.domain.workflow.defaults`.

    Workflow sits above projects (its rules take a `ProjectAccess`), so the caller passes it in.
    """

    async def create_default_statuses(self, session: AsyncSession, project_id: int) -> None:
        """Give a new project its first workflow statuses."""


class ProjectItems(Protocol):
    """What project changes need from the project's items: `app.domain.items.bulk`.

    Items sit above projects (they import this area), so the caller passes them in.
    """

    async def count_estimates_off(
        self, session: AsyncSession, access: ProjectAccess, allowed: Sequence[float]
    ) -> int:
        """How many items carry an estimate that is not one of `allowed`."""

    async def unassign_user(
        self, session: AsyncSession, access: ProjectAccess, user_id: int
    ) -> int:
        """Clear a user as assignee of every item of the project (each change logged)."""


@dataclass(frozen=True)
class ProjectView(RowView):
    """A project with the caller's role in it and the estimates its scale allows."""

    ROW = "project"

    project: Project
    role: Role

    @classmethod
    def of(cls, access: ProjectAccess) -> "ProjectView":
        """The project of an access, seen by its caller."""
        return cls(access.project, access.role)

    @property
    def scale_values(self) -> tuple[ScaleValue, ...]:
        """The estimates the project's scale allows, smallest first."""
        return scale_values(self.project.estimation_scale)


@dataclass(frozen=True)
class MemberView(RowView):
    """A membership with the member's email and display name."""

    ROW = "member"
    ALSO = ("user",)  # email and display_name

    member: ProjectMember
    user: User

    version = FromRow[int]()


async def create_project(
    session: AsyncSession, user: User, data: ProjectCreate, workflow: ProjectWorkflow
) -> ProjectAccess:
    """Create a project with the default workflow, owned by the caller; 409 past the cap."""
    assert user.id is not None
    if await repository.key_exists(session, data.key):
        raise _key_taken(data.key)
    # The caller's row lock queues their concurrent creations, so two cannot both pass the cap.
    await users_repository.get_user(session, user.id, for_update=True)
    owned = await repository.count_owned(session, user.id)
    if owned >= MAX_OWNED_PROJECTS:
        raise Conflict(
            f"You own {owned} projects and an account may own at most {MAX_OWNED_PROJECTS}; "
            "delete one or hand it to another owner first."
        )
    project = Project(
        key=data.key,
        name=data.name,
        description=data.description,
        estimation_scale=data.estimation_scale,
        sprint_length_days=data.sprint_length_days,
        working_days=[day.value for day in data.working_days],
        time_zone=data.time_zone,
        enforce_wip_limits=data.enforce_wip_limits,
        created_by=user.id,
    )
    try:
        async with session.begin_nested():
            await repository.add(session, project)
    except IntegrityError as exc:
        raise _key_taken(data.key) from exc
    assert project.id is not None
    await repository.add(
        session, ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER)
    )
    await workflow.create_default_statuses(session, project.id)
    return ProjectAccess(project=project, user=user, role=Role.OWNER)


def _key_taken(key: str) -> Conflict:
    detail = f"A project with key {key!r} already exists."
    return Conflict(detail, errors=[FieldError(field="body.key", message=detail, type="taken")])


async def list_projects(
    session: AsyncSession, user: User, page: PageRequest
) -> tuple[list[ProjectView], str | None]:
    """The caller's projects, with their role in each."""
    assert user.id is not None
    rows, cursor = await repository.list_for_user(session, user.id, page)
    return [ProjectView(project, role) for project, role in rows], cursor


async def update_project(
    session: AsyncSession,
    access: ProjectAccess,
    data: ProjectUpdate,
    if_match: Versions | None,
    items: ProjectItems,
) -> ProjectView:
    """Change a project's settings; a new estimation scale must fit every item's estimate."""
    project = access.project
    await session.refresh(project, with_for_update=True)
    check_version(project.version, if_match)
    changes = data.model_dump(exclude_unset=True, exclude={"key"})
    if "description" in changes and changes["description"] is None:
        changes["description"] = ""
    if changes.get("working_days") is not None:
        changes["working_days"] = [str(day) for day in changes["working_days"]]
    new_scale = changes.get("estimation_scale")
    if new_scale is not None and new_scale != project.estimation_scale:
        allowed = [value.value for value in scale_values(new_scale)]
        off_scale = await items.count_estimates_off(session, access, allowed)
        if off_scale:
            raise Conflict(
                f"{off_scale} item(s) have estimates that are not on the {new_scale} scale; "
                "re-estimate them first.",
                errors=[
                    FieldError(
                        field="body.estimation_scale",
                        message=f"{off_scale} estimate(s) off the new scale",
                        type="estimates_off_scale",
                    )
                ],
            )
    apply_changes(project, changes)
    await session.flush()
    return ProjectView(project, access.role)


async def delete_project(
    session: AsyncSession, access: ProjectAccess, confirm: str | None, if_match: Versions | None
) -> None:
    """Delete a project and all its data, once the caller confirms with its key."""
    if confirm != access.project.key:
        raise InvalidInput.for_field(
            "query.confirm",
            f"Deleting a project needs ?confirm={access.project.key}.",
            "confirmation",
        )
    await session.refresh(access.project, with_for_update=True)
    check_version(access.project.version, if_match)
    await repository.delete_project(session, access.project_id)


async def add_member(session: AsyncSession, access: ProjectAccess, data: MemberAdd) -> MemberView:
    """Add an active user to the project by id with a role (by email is an invitation)."""
    # `invitations.service.add_member_or_invite` sends the email form to an invitation, so no
    # answer here ever says whether an address has an account.
    assert data.user_id is not None, "adding by email goes through an invitation"
    user = await users_repository.get_user(session, data.user_id)
    # Only someone the caller already shares a project with (anyone, for an instance admin):
    # otherwise counting up user ids would list every account's email. Any other id, existing
    # or not, gets the same answer.
    assert access.user.id is not None
    known = user is not None and (
        access.user.is_admin
        or await repository.share_a_project(session, access.user.id, data.user_id)
    )
    if user is None or not user.is_active or not known:
        raise InvalidInput.for_field(
            "body.user_id",
            "No active user you share a project with has this id; invite them by email.",
            "unknown_user",
        )
    return await add_user(session, access.project, user, data.role, by=access.user)


async def add_user(
    session: AsyncSession, project: Project, user: User, role: Role, *, by: User | None = None
) -> MemberView:
    """Make a user a member of a project: the one way a membership is written; 409 if one is.

    `by`: who added them (None: they joined themselves, by creating it or by an invitation).
    """
    assert user.id is not None and project.id is not None
    if await repository.get_member(session, project.id, user.id) is not None:
        raise _already_member(project, user)
    member = ProjectMember(project_id=project.id, user_id=user.id, role=role)
    try:
        async with session.begin_nested():
            await repository.add(session, member)
    except IntegrityError as exc:
        raise _already_member(project, user) from exc
    actor = by or user
    verb = f"added {user.display_name}" if by is not None else "joined"
    _publish(session, project.id, EventType.MEMBER_ADDED, user, role, actor, f"{verb} as {role}")
    return MemberView(member, user)


def _publish(
    session: AsyncSession,
    project_id: int,
    event_type: EventType,
    user: User,
    role: Role | None,
    actor: User,
    what: str,
) -> None:
    """Publish a change of membership (`what` completes the summary after the actor's name)."""
    assert user.id is not None
    ref = MemberRef(user_id=user.id, display_name=user.display_name, role=role)
    events.publish(
        session,
        project_id,
        event_type,
        MemberChanged(member=ref),
        actor_id=actor.id,
        summary=f"{events.actor_name(actor.display_name)} {what}",
    )


def _already_member(project: Project, user: User) -> Conflict:
    return Conflict(f"User {user.id} is already a member of {project.key}.")


async def _member_for_change(
    session: AsyncSession, access: ProjectAccess, user_id: int
) -> tuple[ProjectMember, User, int]:
    """The member row locked for change, and how many owners the project has."""
    # Owner rows are locked before the target row: two owners demoting each other would
    # otherwise each hold one row and wait for the other's (a deadlock, not a 409).
    owners = await repository.lock_owners(session, access.project_id)
    found = await repository.get_member(session, access.project_id, user_id, for_update=True)
    if found is None:
        raise NotFound(f"User {user_id} is not a member of {access.project.key}.")
    return found[0], found[1], owners


def _ensure_another_owner(access: ProjectAccess, owners: int) -> None:
    if owners <= 1:
        raise Conflict(f"{access.project.key} must keep at least one owner.")


async def update_member(
    session: AsyncSession,
    access: ProjectAccess,
    user_id: int,
    data: MemberUpdate,
    if_match: Versions | None,
) -> MemberView:
    """Change a member's role; the last owner cannot be demoted."""
    member, user, owners = await _member_for_change(session, access, user_id)
    check_version(member.version, if_match)
    if member.role == Role.OWNER and data.role != Role.OWNER:
        _ensure_another_owner(access, owners)
    if member.role != data.role:
        old = member.role
        member.role = data.role
        bump(member)
        session.add(member)
        await session.flush()
        what = f"made {user.display_name} {data.role} (was {old})"
        _publish(
            session,
            access.project_id,
            EventType.MEMBER_ROLE_CHANGED,
            user,
            data.role,
            access.user,
            what,
        )
    return MemberView(member, user)


async def remove_member(
    session: AsyncSession,
    access: ProjectAccess,
    user_id: int,
    if_match: Versions | None,
    items: ProjectItems,
) -> None:
    """Remove a member (their items become unassigned); the last owner cannot be removed."""
    member, user, owners = await _member_for_change(session, access, user_id)
    check_version(member.version, if_match)
    if member.role == Role.OWNER:
        _ensure_another_owner(access, owners)
    await repository.delete_member(session, access.project_id, user_id)
    what = "left" if user.id == access.user.id else f"removed {user.display_name}"
    _publish(session, access.project_id, EventType.MEMBER_REMOVED, user, None, access.user, what)
    # Someone who left the project no longer works on its items.
    await items.unassign_user(session, access, user_id)


async def list_members(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> tuple[list[MemberView], str | None]:
    """The project's members."""
    rows, cursor = await repository.list_members(session, access.project_id, page)
    return [MemberView(member, user) for member, user in rows], cursor


async def get_member(session: AsyncSession, access: ProjectAccess, user_id: int) -> MemberView:
    """A member of the project with their role; 404 when the user is not a member."""
    found = await repository.get_member(session, access.project_id, user_id)
    if found is None:
        raise NotFound(f"User {user_id} is not a member of {access.project.key}.")
    return MemberView(*found)
