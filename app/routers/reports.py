"""Reports: velocity across sprints, and each sprint's burndown and burnup, as JSON or SVG."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.domain.metrics.burndown import Unit
from app.domain.reports import service as reports
from app.domain.reports.schemas import BurnChart, Velocity
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, SVG, Number, SessionDep, ViewerAccess, svg

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["reports"],
    responses=problem_responses(401, 404),
)

UnitQuery = Annotated[Unit, Query(description="Count story `points` or `items`.")]
LastQuery = Annotated[
    int | None, Query(ge=1, le=1000, description="Only the latest N completed sprints.")
]


@router.get("/velocity", response_model=Velocity, responses=problem_responses(422))
async def get_velocity(
    access: ViewerAccess,
    session: SessionDep,
    last: LastQuery = None,
    unit: UnitQuery = Unit.POINTS,
) -> Velocity:
    """Committed and completed work per completed sprint (frozen at start and close), oldest
    first, with mean, median, standard deviation, the last three's average and the rate per
    person-day. Cancelled sprints never count."""
    return Velocity.model_validate(await reports.project_velocity(session, access, last, unit))


@router.get(
    "/sprints/{number}/burndown", response_model=BurnChart, responses=problem_responses(409, 422)
)
async def get_burndown(
    number: Number, access: ViewerAccess, session: SessionDep, unit: UnitQuery = Unit.POINTS
) -> BurnChart:
    """Remaining work at the end of each day of a started sprint, with the ideal line.

    Computed from the event log in the project's time zone; non-working days repeat the day
    before; scope changes move `scope`, never `done`. An active sprint's series ends today.
    """
    return BurnChart.model_validate(await reports.burn_chart(session, access, number, unit))


@router.get(
    "/sprints/{number}/burnup", response_model=BurnChart, responses=problem_responses(409, 422)
)
async def get_burnup(
    number: Number, access: ViewerAccess, session: SessionDep, unit: UnitQuery = Unit.POINTS
) -> BurnChart:
    """Done work and total scope at the end of each day of a started sprint.

    The same series as the burndown: `done` climbs as items finish in the sprint, `scope` steps
    as items join, leave or are re-estimated. An active sprint's series ends today.
    """
    return BurnChart.model_validate(await reports.burn_chart(session, access, number, unit))


@router.get("/velocity.svg", response_class=Response, responses={**SVG, **problem_responses(422)})
async def get_velocity_chart(
    access: ViewerAccess,
    session: SessionDep,
    last: LastQuery = None,
    unit: UnitQuery = Unit.POINTS,
) -> Response:
    """The velocity chart: committed and completed bars per sprint, and the mean."""
    return svg(await reports.velocity_svg(session, access, last, unit))


@router.get(
    "/sprints/{number}/burndown.svg",
    response_class=Response,
    responses={**SVG, **problem_responses(409, 422)},
)
async def get_burndown_chart(
    number: Number, access: ViewerAccess, session: SessionDep, unit: UnitQuery = Unit.POINTS
) -> Response:
    """The burndown chart over the whole sprint: remaining work per day against the ideal line.

    An active sprint's chart marks today and runs the ideal line on to 0 at the end of its last
    working day; non-working days are shaded.
    """
    return svg(await reports.burn_svg(session, access, number, unit, burnup=False))


@router.get(
    "/sprints/{number}/burnup.svg",
    response_class=Response,
    responses={**SVG, **problem_responses(409, 422)},
)
async def get_burnup_chart(
    number: Number, access: ViewerAccess, session: SessionDep, unit: UnitQuery = Unit.POINTS
) -> Response:
    """The burnup chart over the whole sprint: done work per day climbing towards the scope.

    An active sprint's chart marks today; non-working days are shaded.
    """
    return svg(await reports.burn_svg(session, access, number, unit, burnup=True))
