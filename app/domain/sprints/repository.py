"""SQL for sprints: lookups, scheduling, the calendar, and the completed sprints."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlmodel import col

from app.domain.kernel.inputs import is_number
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.sprints.models import Sprint, SprintState


@dataclass(frozen=True)
class CalendarSprint:
    """A sprint's dates and when it started and completed, for laying out future sprints."""

    number: int
    state: SprintState
    start_date: date
    end_date: date
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


async def get_sprint(
    session: AsyncSession, project_id: int, number: int, *, for_update: bool = False
) -> Sprint | None:
    """A sprint by number."""
    if not is_number(number):
        return None
    stmt = select(Sprint).where(col(Sprint.project_id) == project_id, col(Sprint.number) == number)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_sprint_by_id(session: AsyncSession, project_id: int, sprint_id: int) -> Sprint | None:
    """A sprint by id."""
    stmt = select(Sprint).where(col(Sprint.project_id) == project_id, col(Sprint.id) == sprint_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_end(session: AsyncSession, project_id: int) -> date | None:
    """The last end date of the project's non-cancelled sprints."""
    stmt = select(func.max(col(Sprint.end_date))).where(
        col(Sprint.project_id) == project_id, col(Sprint.state) != SprintState.CANCELLED
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def overlapping(
    session: AsyncSession, project_id: int, start: date, end: date, except_id: int | None
) -> Sprint | None:
    """A non-cancelled sprint whose dates overlap [start, end]."""
    stmt = select(Sprint).where(
        col(Sprint.project_id) == project_id,
        col(Sprint.state) != SprintState.CANCELLED,
        col(Sprint.start_date) <= end,
        col(Sprint.end_date) >= start,
    )
    if except_id is not None:
        stmt = stmt.where(col(Sprint.id) != except_id)
    return (await session.execute(stmt.order_by(col(Sprint.number)).limit(1))).scalar_one_or_none()


async def calendar(session: AsyncSession, project_id: int) -> list[CalendarSprint]:
    """The project's sprints that are not cancelled and have dates, by start date."""
    stmt = (
        select(
            col(Sprint.number),
            col(Sprint.state),
            col(Sprint.start_date),
            col(Sprint.end_date),
            col(Sprint.created_at),
            col(Sprint.started_at),
            col(Sprint.completed_at),
        )
        .where(
            col(Sprint.project_id) == project_id,
            col(Sprint.state) != SprintState.CANCELLED,
            col(Sprint.start_date).is_not(None),
            col(Sprint.end_date).is_not(None),
        )
        .order_by(col(Sprint.start_date), col(Sprint.number))
    )
    return [
        CalendarSprint(
            number=row[0],
            state=row[1],
            start_date=row[2],
            end_date=row[3],
            created_at=row[4],
            started_at=row[5],
            completed_at=row[6],
        )
        for row in (await session.execute(stmt)).all()
        if row[2] is not None and row[3] is not None
    ]


async def list_sprints(
    session: AsyncSession, project_id: int, page: PageRequest
) -> tuple[list[Sprint], str | None]:
    """A project's sprints by number."""
    stmt = select(Sprint).where(col(Sprint.project_id) == project_id)
    rows, cursor = await fetch_page(
        session, stmt, [col(Sprint.number)], page, lambda row: [row[0].number]
    )
    return [row[0] for row in rows], cursor


async def sprint_numbers(
    session: AsyncSession, project_id: int, sprint_ids: Sequence[int]
) -> dict[int, int]:
    """Sprint numbers by id."""
    stmt = select(col(Sprint.id), col(Sprint.number)).where(
        col(Sprint.project_id) == project_id, col(Sprint.id).in_(list(sprint_ids))
    )
    return {row[0]: row[1] for row in (await session.execute(stmt)).all() if row[0] is not None}


async def active_sprint(session: AsyncSession, project_id: int) -> Sprint | None:
    """The project's active sprint, if any."""
    stmt = select(Sprint).where(
        col(Sprint.project_id) == project_id, col(Sprint.state) == SprintState.ACTIVE
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def active_sprint_id(session: AsyncSession, project_id: int) -> int | None:
    """The id of the project's active sprint, if any."""
    stmt = select(col(Sprint.id)).where(
        col(Sprint.project_id) == project_id, col(Sprint.state) == SprintState.ACTIVE
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def sprint_id_by_number(session: AsyncSession, project_id: int, number: int) -> int | None:
    """A sprint's id by its number."""
    if not is_number(number):
        return None
    stmt = select(col(Sprint.id)).where(
        col(Sprint.project_id) == project_id, col(Sprint.number) == number
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def share_lock_state(
    session: AsyncSession, project_id: int, sprint_id: int
) -> tuple[int, SprintState] | None:
    """A sprint's number and state, share-locked so it cannot close under a membership change."""
    stmt = (
        select(col(Sprint.number), col(Sprint.state))
        .where(col(Sprint.project_id) == project_id, col(Sprint.id) == sprint_id)
        .with_for_update(read=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def completed_sprints(
    session: AsyncSession,
    project_id: int,
    *,
    last: int | None = None,
    before: datetime | None = None,
) -> list[Sprint]:
    """The project's latest `last` (or all) completed sprints, completed before `before` if
    given, in the order they completed (the kept report is not loaded)."""
    stmt = (
        select(Sprint)
        # The kept report is large; velocity and the forecast need none of it.
        .options(defer(Sprint.report))  # type: ignore[arg-type]
        .where(
            col(Sprint.project_id) == project_id,
            col(Sprint.state) == SprintState.COMPLETED,
        )
        .order_by(col(Sprint.completed_at).desc(), col(Sprint.number).desc())
        .limit(last)
    )
    if before is not None:
        stmt = stmt.where(col(Sprint.completed_at) < before)
    return list(reversed((await session.execute(stmt)).scalars().all()))


async def dated_sprints(session: AsyncSession, project_id: int) -> list[Sprint]:
    """The sprints that were not cancelled and have dates, by start (the calendar feed's)."""
    stmt = (
        select(Sprint)
        .where(
            col(Sprint.project_id) == project_id,
            col(Sprint.state) != SprintState.CANCELLED,
            col(Sprint.start_date).is_not(None),
            col(Sprint.end_date).is_not(None),
        )
        .order_by(col(Sprint.start_date), col(Sprint.number))
    )
    return list((await session.execute(stmt)).scalars().all())
