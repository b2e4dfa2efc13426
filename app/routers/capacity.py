"""Sprint capacity: members' availability and days off, person-days, suggested commitment."""

from fastapi import APIRouter, Response

from app.domain.sprints.capacity import service as capacity
from app.domain.sprints.capacity.schemas import SprintCapacityPublic, SprintCapacityReplace
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    MemberAccess,
    Number,
    SessionDep,
    ViewerAccess,
    set_etag,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/sprints/{number}/capacity",
    tags=["sprints"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=SprintCapacityPublic, responses=problem_responses(409))
async def get_sprint_capacity(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> SprintCapacityPublic:
    """A sprint's capacity: each member's availability, days off and person-days, the total,
    and a commitment suggested from the team's points per person-day in recent sprints. Until
    capacity is saved, every member who is not a viewer is proposed at 100 %."""
    view = await capacity.get_capacity(session, access, number)
    set_etag(response, view.version)
    return SprintCapacityPublic.model_validate(view)


@router.put(
    "", response_model=SprintCapacityPublic, responses=problem_responses(403, 409, 412, 422)
)
async def replace_sprint_capacity(
    number: Number,
    data: SprintCapacityReplace,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> SprintCapacityPublic:
    """Replace a planned or active sprint's capacity: each member's availability and days off.

    Send the sprint's version as If-Match to refuse (412) a replacement based on a stale read.
    """
    view = await capacity.replace_capacity(session, access, number, data, if_match)
    set_etag(response, view.version)
    return SprintCapacityPublic.model_validate(view)
