"""SQL for project invitations: an owner's by project, an invitee's by address."""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.projects.models import InvitationState, Project, ProjectInvitation
from app.domain.users.models import User

InvitationRow = tuple[ProjectInvitation, Project, User | None]


def _state_is(state: InvitationState, now: datetime) -> ColumnElement[bool]:
    """The SQL condition for an invitation's state as of `now` (expired is computed)."""
    stored, expires_at = col(ProjectInvitation.state), col(ProjectInvitation.expires_at)
    if state is InvitationState.PENDING:
        return (stored == InvitationState.PENDING) & (expires_at > now)
    if state is InvitationState.EXPIRED:
        return (stored == InvitationState.PENDING) & (expires_at <= now)
    return stored == state


def _with_project_and_inviter() -> AnySelect:
    return (
        select(ProjectInvitation, Project, User)
        .join(Project, col(Project.id) == col(ProjectInvitation.project_id))
        .outerjoin(User, col(User.id) == col(ProjectInvitation.invited_by))
    )


def _rows(rows: Any) -> list[InvitationRow]:
    return [(row[0], row[1], row[2]) for row in rows]


async def open_for_email(
    session: AsyncSession, project_id: int, email: str
) -> ProjectInvitation | None:
    """The project's stored-pending invitation to this address (expired or not), locked."""
    stmt = (
        select(ProjectInvitation)
        .where(
            col(ProjectInvitation.project_id) == project_id,
            col(ProjectInvitation.email) == email,
            col(ProjectInvitation.state) == InvitationState.PENDING,
        )
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_pending(session: AsyncSession, project_id: int, now: datetime) -> int:
    """How many of the project's invitations are pending (not yet expired) at `now`."""
    stmt = (
        select(func.count())
        .select_from(ProjectInvitation)
        .where(
            col(ProjectInvitation.project_id) == project_id,
            _state_is(InvitationState.PENDING, now),
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def get_in_project(
    session: AsyncSession, project_id: int, invitation_id: int, *, for_update: bool = False
) -> InvitationRow | None:
    """One of the project's invitations with its project and inviter."""
    stmt = _with_project_and_inviter().where(
        col(ProjectInvitation.project_id) == project_id,
        col(ProjectInvitation.id) == invitation_id,
    )
    if for_update:
        stmt = stmt.with_for_update(of=ProjectInvitation).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def list_in_project(
    session: AsyncSession,
    project_id: int,
    state: InvitationState,
    now: datetime,
    page: PageRequest,
) -> tuple[list[InvitationRow], str | None]:
    """The project's invitations in a state as of `now`, oldest first."""
    stmt = _with_project_and_inviter().where(
        col(ProjectInvitation.project_id) == project_id, _state_is(state, now)
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(ProjectInvitation.id)], page, lambda row: [row[0].id]
    )
    return _rows(rows), cursor


# The invitee is not in the project yet, so the two queries below cannot filter by project_id
# (house rule 6): the address the invitation is sent to is what entitles the caller to it.


async def get_addressed(
    session: AsyncSession, invitation_id: int, email: str
) -> InvitationRow | None:
    """An invitation sent to this address, with its project and inviter, locked for change."""
    stmt = (
        _with_project_and_inviter()
        .where(col(ProjectInvitation.id) == invitation_id, col(ProjectInvitation.email) == email)
        .with_for_update(of=ProjectInvitation)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def list_addressed(
    session: AsyncSession, email: str, now: datetime, page: PageRequest
) -> tuple[list[InvitationRow], str | None]:
    """The pending invitations sent to this address, oldest first."""
    stmt = _with_project_and_inviter().where(
        col(ProjectInvitation.email) == email, _state_is(InvitationState.PENDING, now)
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(ProjectInvitation.id)], page, lambda row: [row[0].id]
    )
    return _rows(rows), cursor
