"""Async stand-ups: each member's entry per working day of the active sprint, and the team's day."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from app.domain.kernel.inputs import ID_MAX, IsoDate
from app.domain.standups import service as standups
from app.domain.standups.schemas import (
    StandupDayPublic,
    StandupEntryPage,
    StandupEntryPublic,
    StandupEntryReplace,
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
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/standups",
    tags=["standups"],
    responses=problem_responses(401, 404),
)

DayPath = Annotated[IsoDate, Path(description="The day, `YYYY-MM-DD`, in the project's time zone.")]
UserPath = Annotated[int, Path(ge=1, le=ID_MAX, description="The author's user id.")]


@router.get("", response_model=StandupDayPublic, responses=problem_responses(422))
async def get_standup_day(
    access: ViewerAccess,
    session: SessionDep,
    date: Annotated[
        IsoDate | None,
        Query(description="The day, `YYYY-MM-DD`; today in the project's time zone if absent."),
    ] = None,
) -> StandupDayPublic:
    """The team's stand-up for a day (any role): every entry posted for it and, on a working
    day of the active sprint up to today, the members who have not posted yet."""
    return StandupDayPublic.model_validate(await standups.team_day(session, access, date))


@router.get("/history", response_model=StandupEntryPage, responses=problem_responses(422))
async def list_standup_history(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    user: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only this member's entries.")
    ] = None,
) -> StandupEntryPage:
    """Stand-up entries, latest first (any role): the team's, or one member's with `user`."""
    views, cursor = await standups.history(session, access, user, page)
    link_next(request, response, cursor)
    return StandupEntryPage(
        data=[StandupEntryPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.get(
    "/{date}/{user_id}", response_model=StandupEntryPublic, responses=problem_responses(422)
)
async def get_standup(
    date: DayPath, user_id: UserPath, access: ViewerAccess, session: SessionDep, response: Response
) -> StandupEntryPublic:
    """One member's stand-up entry for a day (any role)."""
    view = await standups.get_entry(session, access, date, user_id)
    set_etag(response, view.version)
    return StandupEntryPublic.model_validate(view)


@router.put(
    "/{date}/{user_id}",
    response_model=StandupEntryPublic,
    responses={
        201: {"model": StandupEntryPublic, "description": "The entry was posted."},
        **problem_responses(403, 409, 412, 422),
    },
)
async def replace_standup(
    date: DayPath,
    user_id: UserPath,
    data: StandupEntryReplace,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> StandupEntryPublic:
    """Post (201) or replace (200) your stand-up entry for today (members and owners).

    Only your own user id (403 for another member's), only today in the project's time zone,
    a working day of the active sprint (422 naming `path.date`; 409 without an active sprint).
    Each item number in `blocked_items` must be one of the project's items (422 naming
    `body.blocked_items.N`): it gets a blocker, flagged on the board, until an entry of yours
    no longer names it or a member clears it. Send the ETag as If-Match to refuse (412) a
    replacement based on a stale read.
    """
    view, created = await standups.replace_entry(session, access, date, user_id, data, if_match)
    if created:
        response.status_code = status.HTTP_201_CREATED
        set_location(response, f"/projects/{access.project.key}/standups/{date}/{user_id}")
    set_etag(response, view.version)
    return StandupEntryPublic.model_validate(view)


@router.delete(
    "/{date}/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 409, 412, 422),
)
async def delete_standup(
    date: DayPath, user_id: UserPath, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Withdraw your own stand-up entry for today (409 for an earlier day's); the blockers it
    raised are cleared."""
    await standups.delete_entry(session, access, date, user_id, if_match)
