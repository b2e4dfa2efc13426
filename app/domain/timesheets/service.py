"""Rules for work logs: who logs time for whom, which days and how much, who may change a log,
and the time report over a date range."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository as items_repository
from app.domain.items.models import Item
from app.domain.kernel import clock
from app.domain.kernel.errors import Forbidden, InvalidInput, NotFound
from app.domain.kernel.inputs import is_id
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Role
from app.domain.timesheets import repository
from app.domain.timesheets.models import DAY_MAX_HOURS, Worklog
from app.domain.timesheets.repository import GroupTotal, WorklogFilter, WorklogRow
from app.domain.timesheets.schemas import TimeGrouping, WorklogCreate, WorklogUpdate
from app.domain.users.models import User

# The longest range the time report adds up, in days (a leap year).
MAX_REPORT_DAYS = 366
# The range the report covers when none is given: the 30 days up to today.
DEFAULT_REPORT_DAYS = 30


@dataclass(frozen=True)
class WorklogItemView:
    """The item a log is on."""

    number: int
    key: str
    title: str


@dataclass(frozen=True)
class WorklogView(RowView):
    """A work log with its member and item."""

    ROW = "worklog"

    worklog: Worklog
    member: User
    item: WorklogItemView | None

    id = FromRow[int]()
    version = FromRow[int]()

    @property
    def date(self) -> date:
        """The day worked."""
        return self.worklog.work_date


@dataclass(frozen=True)
class TimeGroupView:
    """One group of the time report."""

    key: str
    label: str
    hours: Decimal
    logs: int
    user_id: int | None = None
    number: int | None = None
    week_start: date | None = None


@dataclass(frozen=True)
class TimeReportView:
    """Hours logged in a date range, in total and by group."""

    start: date
    end: date
    group_by: TimeGrouping
    member_id: int | None
    groups: list[TimeGroupView]

    @property
    def total_hours(self) -> Decimal:
        """Every hour in the range."""
        return sum((group.hours for group in self.groups), Decimal(0))

    @property
    def logs(self) -> int:
        """Every log in the range."""
        return sum(group.logs for group in self.groups)


def _view(access: ProjectAccess, row: WorklogRow) -> WorklogView:
    item = None
    if row.item_number is not None and row.item_title is not None:
        key = f"{access.project.key}-{row.item_number}"
        item = WorklogItemView(row.item_number, key, row.item_title)
    return WorklogView(row.worklog, row.member, item)


def _hours(value: float) -> Decimal:
    # Quarter hours are exact in binary floating point, so the text is the value.
    return Decimal(str(value))


def _check_day(access: ProjectAccess, day: date, field: str) -> None:
    """422 for a day after today in the project's time zone."""
    today = clock.today(access.project.time_zone)
    if day > today:
        raise InvalidInput.for_field(
            field,
            f"{day} is in the future: time is logged for today ({today}) or earlier.",
            "future_date",
        )


async def _check_day_total(
    session: AsyncSession,
    access: ProjectAccess,
    user_id: int,
    day: date,
    hours: Decimal,
    except_id: int | None,
) -> None:
    """422 on `body.hours` when the member's day would pass 24 hours over all items."""
    await repository.lock_member_days(session, access.project_id, user_id)
    logged = await repository.day_total(session, access.project_id, user_id, day, except_id)
    if logged + hours > DAY_MAX_HOURS:
        raise InvalidInput.for_field(
            "body.hours",
            f"{logged:g} h are logged on {day} already; a day holds at most "
            f"{DAY_MAX_HOURS:g} h over all items, so at most {DAY_MAX_HOURS - logged:g} h more.",
            "day_full",
        )


async def _item(
    session: AsyncSession, access: ProjectAccess, number: int, *, share_lock: bool = False
) -> Item:
    found = await items_repository.get_items_by_numbers(
        session, access.project_id, [number], share_lock=share_lock
    )
    if number not in found:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return found[number]


async def _member(session: AsyncSession, access: ProjectAccess, data: WorklogCreate) -> User:
    """Whose time a new log is: the caller, or (owners only) another member who may plan."""
    if data.member_id is None or data.member_id == access.user.id:
        return access.user
    if access.role != Role.OWNER:
        raise Forbidden("Only project owners log time for another member.")
    found = (
        await projects_repository.get_member(session, access.project_id, data.member_id)
        if is_id(data.member_id)
        else None
    )
    if found is None or found[0].role == Role.VIEWER:
        raise InvalidInput.for_field(
            "body.member_id",
            "Time is logged for a member of the project with the member or owner role.",
            "not_member",
        )
    return found[1]


async def _reread(session: AsyncSession, access: ProjectAccess, worklog: Worklog) -> WorklogView:
    await session.flush()
    assert worklog.id is not None
    row = await repository.get_worklog_row(session, access.project_id, worklog.id)
    assert row is not None
    return _view(access, row)


async def create_worklog(
    session: AsyncSession, access: ProjectAccess, number: int, data: WorklogCreate
) -> WorklogView:
    """Log time on an item: for yourself, or as an owner for another member."""
    _check_day(access, data.date, "body.date")
    member = await _member(session, access, data)
    assert member.id is not None
    # Share-locked: the item cannot be deleted under the new log.
    item = await _item(session, access, number, share_lock=True)
    hours = _hours(data.hours)
    await _check_day_total(session, access, member.id, data.date, hours, None)
    worklog = Worklog(
        project_id=access.project_id,
        item_id=item.id,
        user_id=member.id,
        work_date=data.date,
        hours=hours,
        note=data.note,
        created_by=access.user.id,
    )
    await repository.add(session, worklog)
    return await _reread(session, access, worklog)


async def list_item_worklogs(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[WorklogView], str | None]:
    """An item's work logs, in the order they were logged."""
    item = await _item(session, access, number)
    filters = WorklogFilter(item_id=item.id)
    rows, cursor = await repository.list_worklogs(session, access.project_id, filters, page)
    return [_view(access, row) for row in rows], cursor


def _check_range(start: date | None, end: date | None, *, bounded: bool) -> None:
    if start is not None and end is not None:
        if end < start:
            raise InvalidInput.for_field("query.to", "`to` is before `from`.", "range")
        if bounded and (end - start).days + 1 > MAX_REPORT_DAYS:
            raise InvalidInput.for_field(
                "query.to",
                f"The range spans {(end - start).days + 1} days; at most {MAX_REPORT_DAYS}.",
                "range",
            )


async def list_worklogs(
    session: AsyncSession,
    access: ProjectAccess,
    page: PageRequest,
    *,
    member_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[list[WorklogView], str | None]:
    """The project's work logs in the order they were logged, narrowed by member and days."""
    _check_range(start, end, bounded=False)
    filters = WorklogFilter(user_id=member_id, start=start, end=end)
    rows, cursor = await repository.list_worklogs(session, access.project_id, filters, page)
    return [_view(access, row) for row in rows], cursor


async def get_worklog(session: AsyncSession, access: ProjectAccess, worklog_id: int) -> WorklogView:
    """One work log, or 404."""
    row = await repository.get_worklog_row(session, access.project_id, worklog_id)
    if row is None:
        raise NotFound(f"No work log {worklog_id} in {access.project.key}.")
    return _view(access, row)


async def _own(session: AsyncSession, access: ProjectAccess, worklog_id: int, what: str) -> Worklog:
    """A work log locked for a change: the member's own, or any as a project owner."""
    worklog = await repository.lock_worklog(session, access.project_id, worklog_id)
    if worklog is None:
        raise NotFound(f"No work log {worklog_id} in {access.project.key}.")
    if worklog.user_id != access.user.id and access.role != Role.OWNER:
        raise Forbidden(f"Members {what} only their own work logs; owners {what} any.")
    return worklog


async def update_worklog(
    session: AsyncSession,
    access: ProjectAccess,
    worklog_id: int,
    data: WorklogUpdate,
    if_match: Versions | None,
) -> WorklogView:
    """Change a work log's day, hours or note."""
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise InvalidInput.null(f"body.{name}")
    if "date" in changes:
        _check_day(access, changes["date"], "body.date")
    worklog = await _own(session, access, worklog_id, "change")
    check_version(worklog.version, if_match)
    day = changes.get("date", worklog.work_date)
    hours = _hours(changes["hours"]) if "hours" in changes else worklog.hours
    note = changes.get("note", worklog.note)
    if (day, hours, note) == (worklog.work_date, worklog.hours, worklog.note):
        return await _reread(session, access, worklog)
    if (day, hours) != (worklog.work_date, worklog.hours):
        await _check_day_total(session, access, worklog.user_id, day, hours, worklog.id)
    worklog.work_date, worklog.hours, worklog.note = day, hours, note
    bump(worklog)
    return await _reread(session, access, worklog)


async def delete_worklog(
    session: AsyncSession, access: ProjectAccess, worklog_id: int, if_match: Versions | None
) -> None:
    """Delete a work log."""
    worklog = await _own(session, access, worklog_id, "delete")
    check_version(worklog.version, if_match)
    assert worklog.id is not None
    await repository.delete_worklog(session, access.project_id, worklog.id)


def report_range(access: ProjectAccess, start: date | None, end: date | None) -> tuple[date, date]:
    """The report's days: as given, else the 30 days up to today (or up to `to`, or from
    `from`); 422 naming `query.to` when `to` is before `from` or the span passes 366 days."""
    if end is None:
        today = clock.today(access.project.time_zone)
        end = (
            today
            if start is None or start > today
            else min(today, start + timedelta(days=DEFAULT_REPORT_DAYS - 1))
        )
    if start is None:
        start = end - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    _check_range(start, end, bounded=True)
    return start, end


_ORDERED = (TimeGrouping.SPRINT, TimeGrouping.WEEK)


def _group(access: ProjectAccess, grouping: TimeGrouping, total: GroupTotal) -> TimeGroupView:
    if grouping is TimeGrouping.MEMBER:
        return TimeGroupView(
            str(total.ident), total.label or "", total.hours, total.logs, user_id=total.ident
        )
    if grouping is TimeGrouping.WEEK:
        monday: date = total.ident
        year, week, _ = monday.isocalendar()
        return TimeGroupView(
            f"{year}-W{week:02d}",
            f"Week of {monday.isoformat()}",
            total.hours,
            total.logs,
            week_start=monday,
        )
    if total.ident is None:
        if grouping is TimeGrouping.ITEM:
            return TimeGroupView("deleted", "Deleted items", total.hours, total.logs)
        label = "Outside any sprint" if grouping is TimeGrouping.SPRINT else "No epic"
        return TimeGroupView("none", label, total.hours, total.logs)
    if grouping is TimeGrouping.SPRINT:
        key = str(total.number)
    else:
        key = f"{access.project.key}-{total.number}"
    return TimeGroupView(key, total.label or "", total.hours, total.logs, number=total.number)


def _order(grouping: TimeGrouping, group: TimeGroupView) -> tuple[Any, ...]:
    bucket = group.user_id is None and group.number is None and group.week_start is None
    if grouping is TimeGrouping.WEEK:
        return (group.week_start,)
    if grouping is TimeGrouping.SPRINT:
        return (bucket, group.number or 0)
    return (bucket, -group.hours, group.key)


async def time_report(
    session: AsyncSession,
    access: ProjectAccess,
    grouping: TimeGrouping,
    start: date | None,
    end: date | None,
    member_id: int | None,
) -> TimeReportView:
    """Hours logged in a range of days, in total and grouped by member, item, sprint (the
    sprint that ran on the day), epic or ISO week."""
    start, end = report_range(access, start, end)
    totals = await repository.time_totals(
        session, access.project_id, grouping, start, end, member_id
    )
    groups = sorted(
        (_group(access, grouping, total) for total in totals),
        key=lambda group: _order(grouping, group),
    )
    return TimeReportView(start, end, grouping, member_id, groups)
