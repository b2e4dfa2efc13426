"""Flow metrics: cumulative flow, work in progress, throughput, cycle and lead time."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.domain.flow import service
from app.domain.flow.schemas import FlowPublic
from app.domain.kernel.inputs import IsoDate
from app.domain.reports import service as reports
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, SVG, SessionDep, ViewerAccess, svg

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["reports"],
    responses=problem_responses(401, 404),
)


FromQuery = Annotated[
    IsoDate | None,
    Query(alias="from", description="First day (project time zone); default 29 days before `to`."),
]
ToQuery = Annotated[
    IsoDate | None, Query(description="Last day (project time zone); default and at most today.")
]


@router.get("/flow", response_model=FlowPublic, responses=problem_responses(422))
async def get_flow(
    access: ViewerAccess, session: SessionDep, start: FromQuery = None, to: ToQuery = None
) -> FlowPublic:
    """Flow metrics over a range of days (default: the last 30, in the project's time zone):
    items per status and work in progress per day, throughput per week, and cycle and lead time
    percentiles of the items finished in the range."""
    return FlowPublic.model_validate(await service.project_flow(session, access, start, to))


@router.get("/flow.svg", response_class=Response, responses={**SVG, **problem_responses(422)})
async def get_flow_chart(
    access: ViewerAccess, session: SessionDep, start: FromQuery = None, to: ToQuery = None
) -> Response:
    """The cumulative flow diagram: items per status per day, stacked in workflow order."""
    return svg(await reports.flow_svg(session, access, start, to))
