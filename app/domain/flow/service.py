"""Rules for flow metrics: the date range, what is read, and the view `FlowPublic` reads."""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flow import repository
from app.domain.kernel import calendar, clock
from app.domain.kernel.errors import InvalidInput
from app.domain.kernel.views import RowView
from app.domain.metrics.flow import FlowDay, FlowReport, FlowStatus, Summary, flow
from app.domain.projects.access import ProjectAccess
from app.domain.workflow import repository as workflow_repository

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Nothing is logged before this; the bound also keeps local midnights inside datetime's range.
EARLIEST = date(1970, 1, 1)


@dataclass(frozen=True)
class StatusCount(RowView):
    """How many items a status held at the end of a day."""

    ROW = "status"

    status: FlowStatus
    count: int


@dataclass(frozen=True)
class FlowDayView(RowView):
    """A day of the cumulative flow, its counts paired with the statuses they count."""

    row: FlowDay
    statuses: list[StatusCount]

    @property
    def total(self) -> int:
        """Every live non-epic item: the statuses' counts plus those in deleted statuses."""
        return sum(self.row.counts) + self.row.other


@dataclass(frozen=True)
class CycleTime(RowView):
    """The cycle times' summary, and how many finished items had none."""

    ROW = "summary"

    summary: Summary
    straight_to_done: int


@dataclass(frozen=True)
class FlowView(RowView):
    """The flow metrics of a range of days, with the statuses: what `FlowPublic` shows."""

    ROW = "report"

    report: FlowReport
    statuses: list[FlowStatus]
    from_: date
    to: date
    time_zone: str

    @property
    def cumulative_flow(self) -> list[FlowDayView]:
        """Each day's counts, status by status in workflow order."""
        return [
            FlowDayView(
                day,
                [
                    StatusCount(status, count)
                    for status, count in zip(self.statuses, day.counts, strict=True)
                ],
            )
            for day in self.report.days
        ]

    @property
    def cycle_time(self) -> CycleTime:
        """The cycle times, with the finished items that never were in progress."""
        return CycleTime(self.report.cycle_time, self.report.straight_to_done)


def resolve_range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The days to measure: `end` (default today, never after it) and `start` (default 30 days).

    A `to` in the future is clamped to today, since days not yet lived have no counts.
    """
    if start is not None and start < EARLIEST:
        raise InvalidInput.for_field("query.from", f"Dates start at {EARLIEST}.", "too_early")
    if end is not None and end < EARLIEST:
        raise InvalidInput.for_field("query.to", f"Dates start at {EARLIEST}.", "too_early")
    last = today if end is None or end > today else end
    first = start if start is not None else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        if first > today:
            message = f"`from` ({first}) is after today ({today}) in the project's time zone."
        else:
            message = f"`from` ({first}) is after `to` ({last})."
        raise InvalidInput.for_field("query.from", message, "range_order")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise InvalidInput.for_field(
            "query.from",
            f"The range {first} to {last} spans {days} days; at most {MAX_DAYS}.",
            "range_too_long",
        )
    return first, last


async def project_flow(
    session: AsyncSession, access: ProjectAccess, start: date | None, end: date | None
) -> FlowView:
    """Cumulative flow, WIP, throughput, cycle and lead time of the project from start to end."""
    project = access.project
    zone = ZoneInfo(project.time_zone)
    first, last = resolve_range(start, end, clock.today(project.time_zone))
    statuses = [
        FlowStatus(status.id, status.name, status.category)
        for status in await workflow_repository.list_statuses(session, access.project_id)
        if status.id is not None
    ]
    # Everything up to the end of the last day: the state on the first day needs all before it.
    before = calendar.end_of_day(last, zone)
    changes = await repository.flow_changes(session, access.project_id, before)
    report = flow(statuses, changes, first, last, zone)
    return FlowView(report, statuses, first, last, project.time_zone)
