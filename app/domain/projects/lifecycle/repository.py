"""SQL for the lifecycle: phase changes, gate approvers, sign-offs and closings."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.projects.lifecycle.models import (
    GateApprover,
    PhaseChange,
    PhaseSignoff,
    ProjectClosing,
)
from app.domain.projects.models import ProjectMember, ProjectPhase, Role
from app.domain.users.models import User

# --- phase changes ----------------------------------------------------------------------------


async def latest_change(session: AsyncSession, project_id: int) -> PhaseChange | None:
    """The project's last phase change, if it ever changed phase."""
    stmt = (
        select(PhaseChange)
        .where(col(PhaseChange.project_id) == project_id)
        .order_by(col(PhaseChange.id).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def add(session: AsyncSession, row: PhaseChange | PhaseSignoff | ProjectClosing) -> None:
    """Insert a row and flush."""
    session.add(row)
    await session.flush()


# --- gates ------------------------------------------------------------------------------------


async def gate_approvers(
    session: AsyncSession, project_id: int, phase: ProjectPhase | None = None
) -> list[tuple[GateApprover, User]]:
    """The approvers named for one gate (or every gate) who can still sign off, by phase and
    user id: members with the member or owner role (one who left or became a viewer drops out)."""
    stmt = (
        select(GateApprover, User)
        .join(User, col(User.id) == col(GateApprover.user_id))
        .join(
            ProjectMember,
            (col(ProjectMember.project_id) == col(GateApprover.project_id))
            & (col(ProjectMember.user_id) == col(GateApprover.user_id)),
        )
        .where(
            col(GateApprover.project_id) == project_id,
            col(ProjectMember.role).in_([Role.MEMBER, Role.OWNER]),
        )
        .order_by(col(GateApprover.phase), col(GateApprover.user_id))
    )
    if phase is not None:
        stmt = stmt.where(col(GateApprover.phase) == phase)
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def planning_roles(
    session: AsyncSession, project_id: int, user_ids: Sequence[int]
) -> set[int]:
    """Those of the users who are members of the project with the member or owner role."""
    stmt = select(col(ProjectMember.user_id)).where(
        col(ProjectMember.project_id) == project_id,
        col(ProjectMember.user_id).in_(list(user_ids)),
        col(ProjectMember.role).in_([Role.MEMBER, Role.OWNER]),
    )
    return set((await session.execute(stmt)).scalars().all())


async def replace_approvers(
    session: AsyncSession, project_id: int, phase: ProjectPhase, user_ids: Sequence[int]
) -> None:
    """Make these users the whole list of approvers of a gate."""
    await session.execute(
        delete(GateApprover).where(
            col(GateApprover.project_id) == project_id, col(GateApprover.phase) == phase
        )
    )
    if user_ids:
        await session.execute(
            insert(GateApprover),
            [
                {"project_id": project_id, "phase": phase, "user_id": user_id}
                for user_id in user_ids
            ],
        )


async def latest_decisions(
    session: AsyncSession, project_id: int, phase: ProjectPhase, round_: int
) -> dict[int, PhaseSignoff]:
    """Each approver's latest sign-off on a gate in one round, by user id."""
    stmt = (
        select(PhaseSignoff)
        .where(
            col(PhaseSignoff.project_id) == project_id,
            col(PhaseSignoff.phase) == phase,
            col(PhaseSignoff.round) == round_,
            col(PhaseSignoff.user_id).is_not(None),
        )
        .order_by(col(PhaseSignoff.user_id), col(PhaseSignoff.id).desc())
        .ext(distinct_on(col(PhaseSignoff.user_id)))
    )
    found = (await session.execute(stmt)).scalars().all()
    return {signoff.user_id: signoff for signoff in found if signoff.user_id is not None}


async def get_signoff(
    session: AsyncSession, project_id: int, phase: ProjectPhase, signoff_id: int
) -> tuple[PhaseSignoff, User | None] | None:
    """One sign-off on a gate with its approver."""
    stmt = (
        select(PhaseSignoff, User)
        .outerjoin(User, col(User.id) == col(PhaseSignoff.user_id))
        .where(
            col(PhaseSignoff.project_id) == project_id,
            col(PhaseSignoff.phase) == phase,
            col(PhaseSignoff.id) == signoff_id,
        )
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def list_signoffs(
    session: AsyncSession, project_id: int, phase: ProjectPhase, page: PageRequest
) -> tuple[list[tuple[PhaseSignoff, User | None]], str | None]:
    """Every sign-off on a gate with its approver, oldest first."""
    stmt = (
        select(PhaseSignoff, User)
        .outerjoin(User, col(User.id) == col(PhaseSignoff.user_id))
        .where(col(PhaseSignoff.project_id) == project_id, col(PhaseSignoff.phase) == phase)
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(PhaseSignoff.id)], page, lambda row: [row[0].id]
    )
    return [(row[0], row[1]) for row in rows], cursor


# --- closings ---------------------------------------------------------------------------------


def _closings(project_id: int) -> AnySelect:
    return select(ProjectClosing).where(col(ProjectClosing.project_id) == project_id)


async def latest_closing(session: AsyncSession, project_id: int) -> ProjectClosing | None:
    """The project's last closing."""
    stmt = _closings(project_id).order_by(col(ProjectClosing.number).desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_closings(
    session: AsyncSession, project_id: int, page: PageRequest
) -> tuple[list[ProjectClosing], str | None]:
    """The project's closings, newest first."""
    rows, cursor = await fetch_page(
        session,
        _closings(project_id),
        [col(ProjectClosing.number)],
        page,
        lambda row: [row[0].number],
        descending=True,
    )
    return [row[0] for row in rows], cursor


async def next_closing_number(session: AsyncSession, project_id: int) -> int:
    """The number the project's next closing takes (call with the project row locked)."""
    stmt = select(func.coalesce(func.max(col(ProjectClosing.number)), 0)).where(
        col(ProjectClosing.project_id) == project_id
    )
    return int((await session.execute(stmt)).scalar_one()) + 1


async def mark_reopened(
    session: AsyncSession, project_id: int, user_id: int | None, at: datetime
) -> None:
    """Stamp the project's open closing (the last, not reopened yet) as reopened."""
    last = (
        select(func.max(col(ProjectClosing.number)))
        .where(col(ProjectClosing.project_id) == project_id)
        .scalar_subquery()
    )
    await session.execute(
        update(ProjectClosing)
        .where(
            col(ProjectClosing.project_id) == project_id,
            col(ProjectClosing.number) == last,
            col(ProjectClosing.reopened_at).is_(None),
        )
        .values(reopened_at=at, reopened_by=user_id)
    )


async def closed_since(session: AsyncSession, project_id: int) -> datetime | None:
    """When the project was closed, while it is (None when its last closing was reopened)."""
    stmt = (
        select(col(ProjectClosing.closed_at), col(ProjectClosing.reopened_at))
        .where(col(ProjectClosing.project_id) == project_id)
        .order_by(col(ProjectClosing.number).desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).one_or_none()
    return row[0] if row is not None and row[1] is None else None
