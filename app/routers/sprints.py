"""Sprints: plan, schedule, fill, start, cancel and complete them; their scope ledger and report.

Capacity is in `routers.capacity`; burn charts and velocity in `routers.reports`.
"""

from fastapi import APIRouter, Request, Response, status

from app.domain.sprints import service as sprints
from app.domain.sprints.report import service as sprint_reports
from app.domain.sprints.report.schemas import ScopeChangePublic, ScopeLedger, SprintReport
from app.domain.sprints.schemas import (
    SprintComplete,
    SprintCreate,
    SprintItems,
    SprintPage,
    SprintPublic,
    SprintUpdate,
)
from app.domain.sprints.service import SprintView
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    MemberAccess,
    Number,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
    set_location,
    strong_etag,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/sprints",
    tags=["sprints"],
    responses=problem_responses(401, 404),
)


def _reply(view: SprintView, response: Response) -> SprintPublic:
    """The sprint as the API shows it, with its version as the ETag."""
    set_etag(response, view.version)
    return SprintPublic.model_validate(view)


@router.get("", response_model=SprintPage)
async def list_sprints(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> SprintPage:
    """The project's sprints in every state, by number, each with the items and points it
    holds now."""
    views, cursor = await sprints.list_sprints(session, access, page)
    link_next(request, response, cursor)
    return SprintPage(
        data=[SprintPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.post(
    "",
    response_model=SprintPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
async def create_sprint(
    data: SprintCreate, access: MemberAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """Plan a sprint. Without dates it takes the next free slot: the project's sprint length,
    from the first working day after the latest sprint ends (from today when there is none),
    ending on a working day. Dates that overlap a sprint that is not cancelled are a 409."""
    view = await sprints.create_sprint(session, access, data)
    set_location(response, f"/projects/{access.project.key}/sprints/{view.number}")
    return _reply(view, response)


@router.get("/{number}", response_model=SprintPublic)
async def get_sprint(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """A sprint: its dates, state, goal, frozen commitment and outcome, and the items and
    points it holds now. The ETag is its version, for If-Match on changes."""
    view = await sprints.get_sprint(session, access, number)
    return _reply(view, response)


@router.patch(
    "/{number}", response_model=SprintPublic, responses=problem_responses(403, 409, 412, 422)
)
async def update_sprint(
    number: Number,
    data: SprintUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> SprintPublic:
    """Rename a sprint, change its goal, or re-date it while it is planned or active; new dates
    may not overlap another sprint (409)."""
    view = await sprints.update_sprint(session, access, number, data, if_match)
    return _reply(view, response)


@router.delete(
    "/{number}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 409, 412)
)
async def delete_sprint(
    number: Number, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete a planned sprint; its items go back to the backlog."""
    await sprints.delete_sprint(session, access, number, if_match)


@router.post(
    "/{number}/items", response_model=SprintPublic, responses=problem_responses(403, 409, 422)
)
async def add_sprint_items(
    number: Number, data: SprintItems, access: MemberAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """Put items (by number) into a planned or active sprint, all or none; epics are refused."""
    view = await sprints.add_items(session, access, number, data)
    return _reply(view, response)


@router.delete(
    "/{number}/items", response_model=SprintPublic, responses=problem_responses(403, 409, 422)
)
async def remove_sprint_items(
    number: Number, data: SprintItems, access: MemberAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """Send items (by number) of a planned or active sprint back to the backlog, all or none."""
    view = await sprints.remove_items(session, access, number, data)
    return _reply(view, response)


@router.post(
    "/{number}/start", response_model=SprintPublic, responses=problem_responses(403, 409, 412)
)
async def start_sprint(
    number: Number, access: MemberAccess, session: SessionDep, if_match: IfMatch, response: Response
) -> SprintPublic:
    """Start a planned sprint with dates; its items and points at this moment are frozen as its
    commitment. A project has at most one active sprint: starting a second is a 409."""
    view = await sprints.start_sprint(session, access, number, if_match)
    return _reply(view, response)


@router.post(
    "/{number}/cancel", response_model=SprintPublic, responses=problem_responses(403, 409, 412)
)
async def cancel_sprint(
    number: Number, access: MemberAccess, session: SessionDep, if_match: IfMatch, response: Response
) -> SprintPublic:
    """Cancel a planned or active sprint; its items go back to the backlog."""
    view = await sprints.cancel_sprint(session, access, number, if_match)
    return _reply(view, response)


@router.post(
    "/{number}/complete",
    response_model=SprintPublic,
    responses=problem_responses(403, 409, 412, 422),
)
async def complete_sprint(
    number: Number,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
    data: SprintComplete | None = None,
) -> SprintPublic:
    """Complete the active sprint: what was done and its report are frozen for good, and
    unfinished items carry over to the top of the backlog or into a planned sprint."""
    view = await sprints.complete_sprint(
        session, access, number, data or SprintComplete(), if_match
    )
    return _reply(view, response)


@router.get("/{number}/scope", response_model=ScopeLedger)
async def get_sprint_scope(
    number: Number, access: ViewerAccess, session: SessionDep
) -> ScopeLedger:
    """Every scope change after the sprint started: items added, removed, re-estimated."""
    changes = await sprint_reports.scope_changes(session, access, number)
    return ScopeLedger(data=[ScopeChangePublic.model_validate(change) for change in changes])


@router.get("/{number}/report", response_model=SprintReport, responses=problem_responses(409))
async def get_sprint_report(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> SprintReport:
    """The sprint report: committed, completed, not completed, removed, completed outside.

    Live while the sprint is active; kept as it was at completion from then on.
    """
    view = await sprint_reports.report(session, access, number)
    if view.frozen:
        strong_etag(response)
    return SprintReport.model_validate(view)
