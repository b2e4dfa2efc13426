"""SQL for sprints: numbering, scheduling, and the items a sprint holds."""

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlmodel import col

from app.domain.items.models import Item
from app.domain.kernel.inputs import is_number
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.projects.models import Project
from app.domain.sprints.models import Sprint, SprintState
from app.domain.workflow.models import Status, StatusCategory


async def take_sprint_number(session: AsyncSession, project_id: int) -> int:
    """Reserve the next sprint number; locks the project row until commit."""
    stmt = (
        update(Project)
        .where(col(Project.id) == project_id)
        .values(next_sprint_number=col(Project.next_sprint_number) + 1)
        .returning(col(Project.next_sprint_number))
    )
    return int((await session.execute(stmt)).scalar_one())


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


async def list_sprints(
    session: AsyncSession, project_id: int, page: PageRequest
) -> tuple[list[Sprint], str | None]:
    """A project's sprints by number."""
    stmt = select(Sprint).where(col(Sprint.project_id) == project_id)
    rows, cursor = await fetch_page(
        session, stmt, [col(Sprint.number)], page, lambda row: [row[0].number]
    )
    return [row[0] for row in rows], cursor


async def scope_totals(
    session: AsyncSession, project_id: int, sprint_ids: Sequence[int]
) -> dict[int, tuple[int, float]]:
    """Per sprint: how many items it holds now and their points."""
    if not sprint_ids:
        return {}
    stmt = (
        select(col(Item.sprint_id), func.count(), func.coalesce(func.sum(col(Item.points)), 0.0))
        .where(col(Item.project_id) == project_id, col(Item.sprint_id).in_(list(sprint_ids)))
        .group_by(col(Item.sprint_id))
    )
    return {
        row[0]: (int(row[1]), float(row[2] or 0.0))
        for row in (await session.execute(stmt)).all()
        if row[0] is not None
    }


async def items_in_sprint(session: AsyncSession, project_id: int, sprint_id: int) -> list[Item]:
    """A sprint's items, locked in id order."""
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.sprint_id) == sprint_id)
        .order_by(col(Item.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def lock_items_by_numbers(
    session: AsyncSession, project_id: int, numbers: Sequence[int]
) -> dict[int, Item]:
    """Items by number, locked in id order."""
    wanted = [number for number in numbers if is_number(number)]
    if not wanted:
        return {}
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.number).in_(wanted))
        .order_by(col(Item.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {item.number: item for item in (await session.execute(stmt)).scalars().all()}


async def done_status_ids(session: AsyncSession, project_id: int) -> set[int]:
    """The project's statuses in the done category."""
    stmt = select(col(Status.id)).where(
        col(Status.project_id) == project_id, col(Status.category) == StatusCategory.DONE
    )
    return {status_id for status_id in (await session.execute(stmt)).scalars() if status_id}


async def event_position(session: AsyncSession) -> int:
    """A fresh position in the item event log: every event written later has a larger id."""
    stmt = text("SELECT nextval(pg_get_serial_sequence('item_events', 'id'))")
    return int((await session.execute(stmt)).scalar_one())


async def sprint_numbers(
    session: AsyncSession, project_id: int, sprint_ids: Sequence[int]
) -> dict[int, int]:
    """Sprint numbers by id."""
    stmt = select(col(Sprint.id), col(Sprint.number)).where(
        col(Sprint.project_id) == project_id, col(Sprint.id).in_(list(sprint_ids))
    )
    return {row[0]: row[1] for row in (await session.execute(stmt)).all() if row[0] is not None}


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
            col(Sprint.completed_at).is_not(None),
        )
        .order_by(col(Sprint.completed_at).desc(), col(Sprint.number).desc())
        .limit(last)
    )
    if before is not None:
        stmt = stmt.where(col(Sprint.completed_at) < before)
    return list(reversed((await session.execute(stmt)).scalars().all()))
