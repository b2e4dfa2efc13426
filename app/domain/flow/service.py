"""Rules for flow metrics: the date range, what is read, and the public shape."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flow import repository
from app.domain.flow.schemas import (
    CategoryCountsPublic,
    CycleTimePublic,
    DurationSummaryPublic,
    FinishedItemPublic,
    FlowDayPublic,
    FlowPublic,
    FlowStatusPublic,
    StatusCountPublic,
    ThroughputWeekPublic,
    WipDayPublic,
)
from app.domain.kernel import calendar, clock
from app.domain.kernel.errors import InvalidInput
from app.domain.metrics.flow import FlowReport, FlowStatus, Summary, flow
from app.domain.projects.access import ProjectAccess
from app.domain.workflow import repository as workflow_repository
from app.domain.workflow.models import StatusCategory

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Nothing is logged before this; the bound also keeps local midnights inside datetime's range.
EARLIEST = date(1970, 1, 1)
_DECIMALS = 4


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
) -> FlowPublic:
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
    return _public(report, statuses, first, last, project.time_zone)


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, _DECIMALS)


def _summary(summary: Summary) -> DurationSummaryPublic:
    return DurationSummaryPublic(
        count=summary.count,
        p50=_days(summary.p50),
        p85=_days(summary.p85),
        p95=_days(summary.p95),
        mean=_days(summary.mean),
    )


def _public(
    report: FlowReport, statuses: list[FlowStatus], first: date, last: date, time_zone: str
) -> FlowPublic:
    """The report in its public shape; durations rounded to 4 decimals of a day (about 9 s)."""
    cumulative = [
        FlowDayPublic(
            date=day.day,
            statuses=[
                StatusCountPublic(status_id=status.id, name=status.name, count=count)
                for status, count in zip(statuses, day.counts, strict=True)
            ],
            categories=CategoryCountsPublic(**day.categories),
            other=day.other,
            total=sum(day.counts) + day.other,
        )
        for day in report.days
    ]
    return FlowPublic(
        from_=first,
        to=last,
        time_zone=time_zone,
        statuses=[
            FlowStatusPublic(
                id=status.id, name=status.name, category=StatusCategory(status.category)
            )
            for status in statuses
        ],
        cumulative_flow=cumulative,
        wip=[WipDayPublic(date=day.day, items=day.wip) for day in report.days],
        throughput=[
            ThroughputWeekPublic(
                week_start=week.week_start, days_in_range=week.days_in_range, items=week.items
            )
            for week in report.weeks
        ],
        cycle_time=CycleTimePublic(
            **_summary(report.cycle_time).model_dump(), straight_to_done=report.straight_to_done
        ),
        lead_time=_summary(report.lead_time),
        items=[
            FinishedItemPublic(
                number=entry.number,
                finished_at=entry.finished_at,
                cycle_days=_days(entry.cycle_days),
                lead_days=round(entry.lead_days, _DECIMALS),
            )
            for entry in report.finished
        ],
    )
