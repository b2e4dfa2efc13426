"""Sprint capacity: members' availability and days off, person-days, suggested commitment."""

from fastapi import APIRouter, Response

from app.domain.sprints import capacity
from app.domain.sprints.capacity_schemas import SprintCapacityPublic, SprintCapacityReplace
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, IfMatch, MemberAccess, SessionDep, ViewerAccess, set_etag

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/sprints/{number}/capacity",
    tags=["sprints"],
    responses=problem_responses(401, 404),
)


@router.get("", responses=problem_responses(409))
async def get_sprint_capacity(
    number: int, access: ViewerAccess, session: SessionDep, response: Response
) -> SprintCapacityPublic:
    """Person-days per member and in total, and a commitment suggested from recent sprints."""
    result = await capacity.get_capacity(session, access, number)
    set_etag(response, result.version)
    return result


@router.put("", responses=problem_responses(403, 409, 412, 422))
async def replace_sprint_capacity(
    number: int,
    data: SprintCapacityReplace,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> SprintCapacityPublic:
    """Replace a planned or active sprint's capacity: each member's availability and days off.

    Send the sprint's version as If-Match to refuse (412) a replacement based on a stale read.
    """
    result = await capacity.replace_capacity(session, access, number, data, if_match)
    set_etag(response, result.version)
    return result
