"""Velocity and burn charts (load plain data, call the pure metrics, return their views), and
every report as an SVG chart: velocity, burndown, burnup, cumulative flow, forecast and the
roadmap."""

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flow import service as flow
from app.domain.flow.schemas import FlowPublic
from app.domain.forecast import service as forecast
from app.domain.forecast.schemas import ForecastPublic
from app.domain.kernel import clock
from app.domain.kernel.calendar import date_at, dates, weekday_numbers
from app.domain.kernel.errors import Conflict
from app.domain.kernel.views import RowView
from app.domain.metrics import burndown, velocity
from app.domain.metrics.burndown import ItemState, Unit
from app.domain.projects.access import ProjectAccess
from app.domain.releases import service as releases
from app.domain.releases.schemas import RoadmapPublic
from app.domain.reports import charts
from app.domain.reports.schemas import BurnChart, BurnDay, Velocity
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints.capacity.service import recorded_person_days
from app.domain.sprints.lookup import sprint_by_number
from app.domain.sprints.models import Sprint, SprintState
from app.domain.sprints.report.service import load_history
from app.domain.workflow import repository as workflow_repository


@dataclass(frozen=True)
class VelocitySprintView(RowView):
    """A sprint's velocity figures, with its name and dates: what `VelocitySprint` shows."""

    ROW = "figures"
    # Name, dates and completion time; the figures' person-days are the ones to show.
    ALSO = ("sprint",)

    figures: velocity.SprintVelocity
    sprint: Sprint


@dataclass(frozen=True)
class VelocityView:
    """Velocity per completed sprint, oldest first, and its summary: what `Velocity` shows."""

    unit: Unit
    sprints: list[VelocitySprintView]
    summary: velocity.VelocitySummary


@dataclass(frozen=True)
class BurnChartView(RowView):
    """A sprint and its burn series, in a unit and time zone: what `BurnChart` shows."""

    ROW = "sprint"
    # The commitment, working days, start and days: the sprint has none of their names.
    ALSO = ("series",)

    sprint: Sprint
    series: burndown.BurnSeries
    unit: Unit
    time_zone: str


async def project_velocity(
    session: AsyncSession, access: ProjectAccess, last: int | None, unit: Unit
) -> VelocityView:
    """Committed and completed work of the latest `last` (or all) completed sprints."""
    sprints = await sprints_repository.completed_sprints(session, access.project_id, last=last)
    person_days = await recorded_person_days(session, access.project, sprints)
    figures = [
        velocity.SprintFigures(
            number=sprint.number,
            committed=float(
                (sprint.committed_points if unit == Unit.POINTS else sprint.committed_items) or 0
            ),
            completed=float(
                (sprint.completed_points if unit == Unit.POINTS else sprint.completed_items) or 0
            ),
            person_days=person_days.get(sprint.id or 0),
        )
        for sprint in sprints
    ]
    rows, summary = velocity.velocity(figures)
    views = [VelocitySprintView(row, sprint) for sprint, row in zip(sprints, rows, strict=True)]
    return VelocityView(unit, views, summary)


def _last_day(access: ProjectAccess, sprint: Sprint, end: date) -> date:
    """An active sprint's series ends today; a completed one's at its end or its close."""
    if sprint.state == SprintState.ACTIVE:
        return clock.today(access.project.time_zone)
    assert sprint.completed_at is not None
    closed = date_at(sprint.completed_at, access.project.time_zone)
    return max(end, closed)


async def burn_chart(
    session: AsyncSession, access: ProjectAccess, number: int, unit: Unit
) -> BurnChartView:
    """A started sprint's remaining, done and total scope at the end of each day."""
    sprint = await sprint_by_number(session, access, number)
    if sprint.state not in (SprintState.ACTIVE, SprintState.COMPLETED):
        raise Conflict(f"Sprint {number} is {sprint.state}; burn charts exist once it starts.")
    assert sprint.start_date is not None and sprint.end_date is not None
    if sprint.done_status_ids is not None:
        # A closed sprint reads done-ness as it was at its close.
        done = set(sprint.done_status_ids)
    else:
        done = await workflow_repository.done_status_ids(session, access.project_id)
    history = await load_history(session, access.project_id, sprint, None)
    at_start = {
        item: ItemState(
            points=history.start_points.get(item), status=history.start_status.get(item)
        )
        for item in set(history.start_points) | set(history.start_status)
    }
    last = max(_last_day(access, sprint, sprint.end_date), sprint.start_date)
    committed = (sprint.committed_points if unit == Unit.POINTS else sprint.committed_items) or 0
    series = burndown.burn_series(
        sprint_number=sprint.number,
        days=dates(sprint.start_date, last),
        working_weekdays=weekday_numbers(access.project.working_days),
        sprint_start=sprint.start_date,
        sprint_end=sprint.end_date,
        time_zone=ZoneInfo(access.project.time_zone),
        committed=history.committed,
        at_start=at_start,
        changes=history.changes,
        done_statuses=done,
        unit=unit,
        committed_value=float(committed),
    )
    return BurnChartView(sprint, series, unit, access.project.time_zone)


async def velocity_svg(
    session: AsyncSession, access: ProjectAccess, last: int | None, unit: Unit
) -> bytes:
    """The velocity chart as SVG (drawn off the event loop)."""
    data = Velocity.model_validate(await project_velocity(session, access, last, unit))
    return await charts.render(charts.velocity_svg, data, access.project.key)


def _days_ahead(access: ProjectAccess, chart: BurnChart) -> list[BurnDay]:
    """The sprint's days after the series (an active sprint's rest): their ideal and calendar."""
    # The same metric as the series, so the ideal line carries on exactly as it would; no
    # history is replayed, so their totals are empty and the charts draw none of them.
    plan = burndown.burn_series(
        sprint_number=chart.number,
        days=dates(chart.start_date, chart.end_date),
        working_weekdays=weekday_numbers(access.project.working_days),
        sprint_start=chart.start_date,
        sprint_end=chart.end_date,
        time_zone=ZoneInfo(chart.time_zone),
        committed=(),
        at_start={},
        changes=(),
        done_statuses=set(),
        unit=chart.unit,
        committed_value=chart.committed,
    )
    return [BurnDay.model_validate(day) for day in plan.days[len(chart.days) :]]


async def burn_svg(
    session: AsyncSession, access: ProjectAccess, number: int, unit: Unit, *, burnup: bool
) -> bytes:
    """A sprint's burndown or burnup chart as SVG (drawn off the event loop), today marked."""
    # An active sprint's series ends today; its chart still spans the whole sprint.
    data = BurnChart.model_validate(await burn_chart(session, access, number, unit))
    active = data.state == SprintState.ACTIVE
    today = clock.today(access.project.time_zone) if active else None
    ahead = _days_ahead(access, data) if active else []
    draw = charts.burnup_svg if burnup else charts.burndown_svg
    return await charts.render(draw, data, ahead=ahead, today=today)


async def flow_svg(
    session: AsyncSession, access: ProjectAccess, start: date | None, end: date | None
) -> bytes:
    """The cumulative flow diagram as SVG (drawn off the event loop)."""
    data = FlowPublic.model_validate(await flow.project_flow(session, access, start, end))
    return await charts.render(charts.flow_svg, data, access.project.key)


async def forecast_svg(
    session: AsyncSession, access: ProjectAccess, request: forecast.ForecastRequest
) -> bytes:
    """The forecast's histogram as SVG (drawn off the event loop)."""
    data = ForecastPublic.model_validate(await forecast.forecast(session, access, request))
    return await charts.render(charts.forecast_svg, data, access.project.key)


async def roadmap_svg(
    session: AsyncSession,
    access: ProjectAccess,
    *,
    archived: bool,
    options: releases.ForecastOptions,
) -> bytes:
    """The roadmap as an SVG timeline (drawn off the event loop)."""
    data = RoadmapPublic.model_validate(
        await releases.roadmap(session, access, archived=archived, options=options)
    )
    return await charts.render(charts.roadmap_svg, data, access.project.key)
