"""Sprints: plan, schedule, fill, start."""

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.projects.access import ProjectAccess
from app.domain.sprints import service as sprints
from app.domain.sprints.models import GoalOutcome, Sprint, SprintState
from app.domain.sprints.schemas import (
    ScopeChangePublic,
    ScopeLedger,
    SprintComplete,
    SprintCreate,
    SprintItems,
    SprintPage,
    SprintPublic,
    SprintReport,
    SprintUpdate,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    MemberAccess,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/sprints",
    tags=["sprints"],
    responses=problem_responses(401, 404),
)


async def shape(
    session: AsyncSession, access: ProjectAccess, rows: list[Sprint]
) -> list[SprintPublic]:
    """Public sprints with their current scope (one query for the whole list)."""
    totals = await sprints.scope_totals(session, access, rows)
    return [
        SprintPublic(
            number=sprint.number,
            name=sprint.name,
            goal=sprint.goal,
            start_date=sprint.start_date,
            end_date=sprint.end_date,
            state=SprintState(sprint.state),
            started_at=sprint.started_at,
            committed_items=sprint.committed_items,
            committed_points=sprint.committed_points,
            completed_at=sprint.completed_at,
            completed_items=sprint.completed_items,
            completed_points=sprint.completed_points,
            goal_outcome=GoalOutcome(sprint.goal_outcome) if sprint.goal_outcome else None,
            review_notes=sprint.review_notes,
            carried_over_to=sprint.carried_over_to,
            item_count=totals.get(sprint.id or 0, (0, 0.0))[0],
            points=totals.get(sprint.id or 0, (0, 0.0))[1],
            created_at=sprint.created_at,
            updated_at=sprint.updated_at,
            version=sprint.version,
        )
        for sprint in rows
    ]


async def _reply(
    session: AsyncSession, access: ProjectAccess, sprint: Sprint, response: Response
) -> SprintPublic:
    set_etag(response, sprint.version)
    return (await shape(session, access, [sprint]))[0]


@router.get("")
async def list_sprints(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> SprintPage:
    """The project's sprints, by number."""
    rows, cursor = await sprints.list_sprints(session, access, page)
    link_next(request, response, cursor)
    return SprintPage(data=await shape(session, access, rows), next_cursor=cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(403, 409, 422))
async def create_sprint(
    data: SprintCreate, access: MemberAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """Plan a sprint; without dates it takes the next slot after the latest sprint."""
    sprint = await sprints.create_sprint(session, access, data)
    response.headers["Location"] = (
        f"{API_PREFIX}/projects/{access.project.key}/sprints/{sprint.number}"
    )
    return await _reply(session, access, sprint, response)


@router.get("/{number}")
async def get_sprint(
    number: int, access: ViewerAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """One sprint."""
    sprint = await sprints.get_sprint(session, access, number)
    return await _reply(session, access, sprint, response)


@router.patch("/{number}", responses=problem_responses(403, 409, 412, 422))
async def update_sprint(
    number: int,
    data: SprintUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> SprintPublic:
    """Rename a sprint, change its goal, or re-date it while it is planned or active."""
    sprint = await sprints.update_sprint(session, access, number, data, if_match)
    return await _reply(session, access, sprint, response)


@router.delete(
    "/{number}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 409, 412)
)
async def delete_sprint(
    number: int, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete a planned sprint; its items go back to the backlog."""
    await sprints.delete_sprint(session, access, number, if_match)


@router.post("/{number}/items", responses=problem_responses(403, 409, 422))
async def add_sprint_items(
    number: int, data: SprintItems, access: MemberAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """Put items (by number) into a planned or active sprint, all or none; epics are refused."""
    sprint = await sprints.add_items(session, access, number, data)
    return await _reply(session, access, sprint, response)


@router.delete("/{number}/items", responses=problem_responses(403, 409, 422))
async def remove_sprint_items(
    number: int, data: SprintItems, access: MemberAccess, session: SessionDep, response: Response
) -> SprintPublic:
    """Send items (by number) of a planned or active sprint back to the backlog, all or none."""
    sprint = await sprints.remove_items(session, access, number, data)
    return await _reply(session, access, sprint, response)


@router.post("/{number}/start", responses=problem_responses(403, 409, 412))
async def start_sprint(
    number: int, access: MemberAccess, session: SessionDep, if_match: IfMatch, response: Response
) -> SprintPublic:
    """Start a planned sprint with dates; its items and points at this moment are frozen."""
    sprint = await sprints.start_sprint(session, access, number, if_match)
    return await _reply(session, access, sprint, response)


@router.post("/{number}/cancel", responses=problem_responses(403, 409, 412))
async def cancel_sprint(
    number: int, access: MemberAccess, session: SessionDep, if_match: IfMatch, response: Response
) -> SprintPublic:
    """Cancel a planned or active sprint; its items go back to the backlog."""
    sprint = await sprints.cancel_sprint(session, access, number, if_match)
    return await _reply(session, access, sprint, response)


@router.post("/{number}/complete", responses=problem_responses(403, 409, 412, 422))
async def complete_sprint(
    number: int,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
    data: SprintComplete | None = None,
) -> SprintPublic:
    """Complete the active sprint: its outcome is frozen, unfinished items carry over."""
    sprint = await sprints.complete_sprint(
        session, access, number, data or SprintComplete(), if_match
    )
    return await _reply(session, access, sprint, response)


@router.get("/{number}/scope")
async def sprint_scope(number: int, access: ViewerAccess, session: SessionDep) -> ScopeLedger:
    """Every scope change after the sprint started: items added, removed, re-estimated."""
    changes = await sprints.scope_changes(session, access, number)
    return ScopeLedger(
        data=[
            ScopeChangePublic(
                event_id=change.event_id,
                occurred_at=change.occurred_at,
                actor_id=change.actor_id,
                item_number=change.item_number,
                change=change.kind.value,
                points_before=change.points_before,
                points_after=change.points_after,
            )
            for change in changes
        ]
    )


@router.get("/{number}/report", responses=problem_responses(409))
async def sprint_report(number: int, access: ViewerAccess, session: SessionDep) -> SprintReport:
    """The sprint report: committed, completed, not completed, removed, completed outside.

    Live while the sprint is active; kept as it was at completion from then on.
    """
    sprint, body = await sprints.report(session, access, number)
    return SprintReport(
        **body.model_dump(),
        number=sprint.number,
        name=sprint.name,
        goal=sprint.goal,
        state=SprintState(sprint.state),
        start_date=sprint.start_date,
        end_date=sprint.end_date,
        started_at=sprint.started_at,
        completed_at=sprint.completed_at,
        goal_outcome=GoalOutcome(sprint.goal_outcome) if sprint.goal_outcome else None,
        review_notes=sprint.review_notes,
        frozen=sprint.report is not None,
    )
