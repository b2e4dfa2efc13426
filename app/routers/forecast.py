"""The Monte Carlo forecast: when will the backlog (or an epic) be done, and what K sprints do."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.domain.forecast import service
from app.domain.forecast.schemas import ForecastPublic, ForecastScope, ForecastUnit
from app.domain.kernel.inputs import ID_MAX, NUMBER_MAX, NUMBER_MIN, IsoDate
from app.domain.reports import service as reports
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, SVG, SessionDep, ViewerAccess, svg

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["reports"],
    responses=problem_responses(401, 404),
)


def forecast_request(
    scope: Annotated[
        ForecastScope | None,
        Query(
            description="`backlog` (default): every unfinished estimated item; `epic`: the "
            "children of `epic` (giving `epic` alone selects this); `release`: the scope of "
            "`release`, its items and its epics' children (giving `release` alone selects this)."
        ),
    ] = None,
    epic: Annotated[
        int | None,
        Query(ge=NUMBER_MIN, le=NUMBER_MAX, description="The epic's item number."),
    ] = None,
    release: Annotated[
        int | None,
        Query(ge=NUMBER_MIN, le=NUMBER_MAX, description="The release's (or milestone's) number."),
    ] = None,
    until: Annotated[
        int | None,
        Query(
            ge=NUMBER_MIN,
            le=NUMBER_MAX,
            description="A cut-off item: count only items ranked at or above it.",
        ),
    ] = None,
    unit: Annotated[
        ForecastUnit,
        Query(description="`points` (default) or `items` (throughput: every item counts 1)."),
    ] = ForecastUnit.POINTS,
    history: Annotated[
        int, Query(ge=2, le=50, description="How many of the latest completed sprints to sample.")
    ] = service.DEFAULT_HISTORY,
    trials: Annotated[
        int, Query(ge=1_000, le=100_000, description="Monte Carlo trials.")
    ] = service.DEFAULT_TRIALS,
    seed: Annotated[
        int | None,
        Query(
            # Any bigint: the same range as ids.
            ge=0,
            le=ID_MAX,
            description="Repeat a run exactly; without it one is picked and returned.",
        ),
    ] = None,
    sprints: Annotated[
        int | None,
        Query(ge=1, le=100, description="Also answer: what will this many sprints get done?"),
    ] = None,
    as_of: Annotated[
        IsoDate | None,
        Query(
            description="Replay the forecast as made at the end of this day (project time "
            "zone): the scope then, and only sprints completed by then."
        ),
    ] = None,
) -> service.ForecastRequest:
    """The forecast's query parameters, shared by the JSON and the SVG route."""
    return service.ForecastRequest(
        scope=scope,
        epic=epic,
        release=release,
        until=until,
        unit=unit,
        history=history,
        trials=trials,
        seed=seed,
        sprints=sprints,
        as_of=as_of,
    )


ForecastQuery = Annotated[service.ForecastRequest, Depends(forecast_request)]


@router.get("/forecast", response_model=ForecastPublic, responses=problem_responses(409, 422))
async def get_forecast(
    access: ViewerAccess, session: SessionDep, request: ForecastQuery
) -> ForecastPublic:
    """Monte Carlo forecast from the team's completed sprints: sprints needed and completion
    dates at 50/70/85/95 %, a histogram, and with `sprints` what they will get done."""
    return ForecastPublic.model_validate(await service.forecast(session, access, request))


@router.get(
    "/forecast.svg", response_class=Response, responses={**SVG, **problem_responses(409, 422)}
)
async def get_forecast_chart(
    access: ViewerAccess, session: SessionDep, request: ForecastQuery
) -> Response:
    """The forecast's histogram of sprints needed, with the 50/70/85/95 % markers."""
    return svg(await reports.forecast_svg(session, access, request))
