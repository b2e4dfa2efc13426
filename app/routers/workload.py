"""Sprint workload: who carries which items and points, against their capacity."""

from fastapi import APIRouter, Response

from app.domain.sprints.workload import service as workload
from app.domain.sprints.workload.schemas import SprintWorkload
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, Number, SessionDep, ViewerAccess, strong_etag

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/sprints/{number}/workload",
    tags=["sprints"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=SprintWorkload, responses=problem_responses(409))
async def get_sprint_workload(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> SprintWorkload:
    """Who carries what in a sprint: per person their items and points, their capacity in
    person-days and in points at the team's recent rate, the load (points / capacity points)
    and an `over_allocated` flag; the items nobody carries; the team's totals.

    Live while the sprint is planned or active; kept as it was at completion for good. 409 for
    a cancelled sprint (its items went back to the backlog).
    """
    view = await workload.get_workload(session, access, number)
    if view.frozen:
        strong_etag(response)
    return SprintWorkload.model_validate(view)
