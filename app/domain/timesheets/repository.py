"""SQL for work logs (the owning repository of the table) and the time report's totals."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Subquery, case, cast, delete, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.domain.items.models import Item, ItemType
from app.domain.kernel.inputs import is_id
from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.sprints.models import Sprint, SprintState
from app.domain.timesheets.models import Worklog
from app.domain.timesheets.schemas import TimeGrouping
from app.domain.users.models import User

# Sprints that ran: the time report and the budget's burn count work within their dates.
RAN = (SprintState.ACTIVE, SprintState.COMPLETED)

Epic = aliased(Item, name="epic")


@dataclass(frozen=True)
class WorklogRow:
    """A work log with its member and its item's number and title (None once deleted)."""

    worklog: Worklog
    member: User
    item_number: int | None
    item_title: str | None


@dataclass
class WorklogFilter:
    """What a project's list of work logs is narrowed to (None: not narrowed)."""

    user_id: int | None = None
    item_id: int | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class GroupTotal:
    """The hours of one group of the time report, as SQL added them up."""

    # The group's id: a user, item or sprint id, a week's Monday; None for no sprint or epic.
    ident: Any
    number: int | None
    label: str | None
    hours: Decimal
    logs: int


def _rows(project_id: int) -> AnySelect:
    return (
        select(Worklog, User, col(Item.number), col(Item.title))
        .join(User, col(User.id) == col(Worklog.user_id))
        .outerjoin(Item, col(Item.id) == col(Worklog.item_id))
        .where(col(Worklog.project_id) == project_id)
    )


def _row(row: Any) -> WorklogRow:
    return WorklogRow(row[0], row[1], row[2], row[3])


async def list_worklogs(
    session: AsyncSession, project_id: int, filters: WorklogFilter, page: PageRequest
) -> tuple[list[WorklogRow], str | None]:
    """A project's work logs in the order they were logged, narrowed by `filters`."""
    stmt = _rows(project_id)
    if filters.user_id is not None:
        stmt = stmt.where(col(Worklog.user_id) == filters.user_id)
    if filters.item_id is not None:
        stmt = stmt.where(col(Worklog.item_id) == filters.item_id)
    if filters.start is not None:
        stmt = stmt.where(col(Worklog.work_date) >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(col(Worklog.work_date) <= filters.end)
    rows, cursor = await fetch_page(session, stmt, [col(Worklog.id)], page, lambda row: [row[0].id])
    return [_row(row) for row in rows], cursor


async def get_worklog_row(
    session: AsyncSession, project_id: int, worklog_id: int
) -> WorklogRow | None:
    """One work log with its member and item."""
    if not is_id(worklog_id):
        return None
    stmt = _rows(project_id).where(col(Worklog.id) == worklog_id)
    row = (await session.execute(stmt)).one_or_none()
    return _row(row) if row else None


async def lock_worklog(session: AsyncSession, project_id: int, worklog_id: int) -> Worklog | None:
    """One work log, locked until commit."""
    if not is_id(worklog_id):
        return None
    stmt = (
        select(Worklog)
        .where(col(Worklog.project_id) == project_id, col(Worklog.id) == worklog_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_member_days(session: AsyncSession, project_id: int, user_id: int) -> None:
    """Serialise one member's time logging in a project until the transaction ends."""
    # Two logs for the same day racing would each see the other's hours missing from the day's
    # total; queued here, the check and the write run as one step.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": f"worklog-day {project_id} {user_id}"},
    )


async def day_total(
    session: AsyncSession,
    project_id: int,
    user_id: int,
    day: date,
    except_id: int | None = None,
) -> Decimal:
    """The hours a member logged in the project on one day, over all items."""
    stmt = select(func.coalesce(func.sum(col(Worklog.hours)), 0)).where(
        col(Worklog.project_id) == project_id,
        col(Worklog.user_id) == user_id,
        col(Worklog.work_date) == day,
    )
    if except_id is not None:
        stmt = stmt.where(col(Worklog.id) != except_id)
    return Decimal((await session.execute(stmt)).scalar_one())


async def add(session: AsyncSession, worklog: Worklog) -> None:
    """Insert a work log (its id is set on return)."""
    session.add(worklog)
    await session.flush()


async def delete_worklog(session: AsyncSession, project_id: int, worklog_id: int) -> None:
    """Delete one work log."""
    await session.execute(
        delete(Worklog).where(col(Worklog.project_id) == project_id, col(Worklog.id) == worklog_id)
    )


def _grouped(project_id: int, grouping: TimeGrouping, logs: Subquery) -> AnySelect:
    """Hours and log counts of the day totals in `logs`, grouped (ident, number, label)."""
    stmt: AnySelect
    if grouping is TimeGrouping.MEMBER:
        columns: list[Any] = [col(User.id), col(User.display_name)]
        stmt = select(col(User.id), literal(None), col(User.display_name)).select_from(logs)
        stmt = stmt.join(User, col(User.id) == logs.c.user_id)
    elif grouping is TimeGrouping.ITEM:
        columns = [col(Item.id), col(Item.number), col(Item.title)]
        stmt = select(*columns).select_from(logs)
        stmt = stmt.outerjoin(
            Item, (col(Item.id) == logs.c.item_id) & (col(Item.project_id) == project_id)
        )
    elif grouping is TimeGrouping.EPIC:
        # An epic's own logs count for it; other items' for their parent epic (if any).
        epic_id = case((col(Item.type) == ItemType.EPIC, col(Item.id)), else_=col(Item.parent_id))
        columns = [col(Epic.id), col(Epic.number), col(Epic.title)]
        stmt = select(*columns).select_from(logs)
        stmt = stmt.outerjoin(
            Item, (col(Item.id) == logs.c.item_id) & (col(Item.project_id) == project_id)
        ).outerjoin(Epic, (col(Epic.id) == epic_id) & (col(Epic.project_id) == project_id))
    elif grouping is TimeGrouping.SPRINT:
        # The sprint whose dates hold the day (sprints that ran never overlap).
        columns = [col(Sprint.id), col(Sprint.number), col(Sprint.name)]
        stmt = select(*columns).select_from(logs)
        stmt = stmt.outerjoin(
            Sprint,
            (col(Sprint.project_id) == project_id)
            & col(Sprint.state).in_(RAN)
            & (logs.c.day >= col(Sprint.start_date))
            & (logs.c.day <= col(Sprint.end_date)),
        )
    else:
        monday: Any = cast(func.date_trunc("week", logs.c.day), Date)
        columns = [monday]
        stmt = select(monday, literal(None), literal(None)).select_from(logs)
    return stmt.add_columns(func.sum(logs.c.hours), func.sum(logs.c.logs)).group_by(*columns)


async def time_totals(
    session: AsyncSession,
    project_id: int,
    grouping: TimeGrouping,
    start: date,
    end: date,
    user_id: int | None,
) -> list[GroupTotal]:
    """Hours logged from `start` to `end` (inclusive), added up by `grouping` in one query."""
    # Added up per day (and member or item) first: the joins then meet a few hundred rows, not
    # every log (a year of a team's logs is thousands; a sprint is a date range join).
    keys: list[Any] = [col(Worklog.work_date)]
    if grouping is TimeGrouping.MEMBER:
        keys.append(col(Worklog.user_id))
    elif grouping in (TimeGrouping.ITEM, TimeGrouping.EPIC):
        keys.append(col(Worklog.item_id))
    logs: AnySelect = select(
        col(Worklog.work_date).label("day"),
        *keys[1:],
        func.sum(col(Worklog.hours)).label("hours"),
        func.count().label("logs"),
    ).where(
        col(Worklog.project_id) == project_id,
        col(Worklog.work_date) >= start,
        col(Worklog.work_date) <= end,
    )
    if user_id is not None:
        logs = logs.where(col(Worklog.user_id) == user_id)
    stmt = _grouped(project_id, grouping, logs.group_by(*keys).subquery("logs"))
    totals: list[GroupTotal] = []
    rows: list[Any] = list((await session.execute(stmt)).all())
    for row in rows:
        ident, number, label, hours, count = row
        totals.append(GroupTotal(ident, number, label, Decimal(hours), int(count)))
    return totals


async def logged_users(session: AsyncSession, project_id: int, user_ids: Sequence[int]) -> set[int]:
    """Those of the given users who have logged time in the project."""
    wanted = [user_id for user_id in user_ids if is_id(user_id)]
    if not wanted:
        return set()
    stmt = (
        select(col(Worklog.user_id))
        .where(col(Worklog.project_id) == project_id, col(Worklog.user_id).in_(wanted))
        .distinct()
    )
    return set((await session.execute(stmt)).scalars().all())
