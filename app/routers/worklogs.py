"""Work logs: time members spent on items, and the project's time report."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.kernel.inputs import ID_MAX, IsoDate
from app.domain.timesheets import service as timesheets
from app.domain.timesheets.schemas import (
    TimeGrouping,
    TimeReportPublic,
    WorklogCreate,
    WorklogPage,
    WorklogPublic,
    WorklogUpdate,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
    IfMatch,
    MemberAccess,
    Number,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["worklogs"],
    responses=problem_responses(401, 404),
)

MemberFilter = Annotated[
    int | None, Query(alias="member", ge=1, le=ID_MAX, description="Only this user id's time.")
]
FromDate = Annotated[
    IsoDate | None, Query(alias="from", description="First day (YYYY-MM-DD), inclusive.")
]
ToDate = Annotated[IsoDate | None, Query(description="Last day (YYYY-MM-DD), inclusive.")]


def _page(views: list[timesheets.WorklogView], cursor: str | None) -> WorklogPage:
    return WorklogPage(
        data=[WorklogPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.get("/items/{number}/worklogs", response_model=WorklogPage)
async def list_item_worklogs(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> WorklogPage:
    """An item's work logs in the order they were logged (any role)."""
    views, cursor = await timesheets.list_item_worklogs(session, access, number, page)
    link_next(request, response, cursor)
    return _page(views, cursor)


@router.post(
    "/items/{number}/worklogs",
    status_code=status.HTTP_201_CREATED,
    response_model=WorklogPublic,
    responses=problem_responses(403, 422),
)
async def create_worklog(
    number: Number,
    data: WorklogCreate,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
) -> WorklogPublic:
    """Log time on an item (members): a day, hours and a note.

    Hours are 0.25 to 24 in quarter hours; the day is today or earlier in the project's time
    zone (422 `future_date` on `body.date` otherwise). One member's logs of one day, over all
    items of the project, hold at most 24 hours (422 `day_full` on `body.hours`). The time is
    the caller's; owners may log it for another member with `member_id`.
    """
    view = await timesheets.create_worklog(session, access, number, data)
    set_location(response, f"/projects/{access.project.key}/worklogs/{view.id}")
    set_etag(response, view.version)
    return WorklogPublic.model_validate(view)


@router.get("/worklogs", response_model=WorklogPage, responses=problem_responses(422))
async def list_worklogs(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    member: MemberFilter = None,
    from_: FromDate = None,
    to: ToDate = None,
) -> WorklogPage:
    """The project's work logs in the order they were logged (any role): a timesheet.

    `?member=3&from=2026-11-23&to=2026-11-29` is user 3's week. `to` before `from` is a 422
    naming `query.to`.
    """
    views, cursor = await timesheets.list_worklogs(
        session, access, page, member_id=member, start=from_, end=to
    )
    link_next(request, response, cursor)
    return _page(views, cursor)


@router.get("/worklogs/{worklog_id}", response_model=WorklogPublic)
async def get_worklog(
    worklog_id: Id, access: ViewerAccess, session: SessionDep, response: Response
) -> WorklogPublic:
    """One work log (any role); its ETag is the version to send as If-Match."""
    view = await timesheets.get_worklog(session, access, worklog_id)
    set_etag(response, view.version)
    return WorklogPublic.model_validate(view)


@router.patch(
    "/worklogs/{worklog_id}",
    response_model=WorklogPublic,
    responses=problem_responses(403, 412, 422),
)
async def update_worklog(
    worklog_id: Id,
    data: WorklogUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> WorklogPublic:
    """Change a work log's day, hours or note: members their own, owners anyone's (403
    otherwise). The rules of logging hold: no future day, at most 24 hours a day."""
    view = await timesheets.update_worklog(session, access, worklog_id, data, if_match)
    set_etag(response, view.version)
    return WorklogPublic.model_validate(view)


@router.delete(
    "/worklogs/{worklog_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 412),
)
async def delete_worklog(
    worklog_id: Id, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete a work log: members their own, owners anyone's (403 otherwise)."""
    await timesheets.delete_worklog(session, access, worklog_id, if_match)


@router.get("/time", response_model=TimeReportPublic, responses=problem_responses(422))
async def get_time_report(
    access: ViewerAccess,
    session: SessionDep,
    group_by: Annotated[
        TimeGrouping, Query(description="`member`, `item`, `sprint`, `epic` or `week`.")
    ] = TimeGrouping.MEMBER,
    from_: FromDate = None,
    to: ToDate = None,
    member: MemberFilter = None,
) -> TimeReportPublic:
    """Hours logged in a range of days, in total and grouped (any role).

    The range is `from` to `to`, both inclusive, at most 366 days (422 naming `query.to`
    beyond, or when `to` is before `from`); by default the 30 days up to today in the
    project's time zone. Groups: `member`; `item`; `sprint`, the active or completed sprint
    whose dates hold the day logged (`none` outside any); `epic`, the item's parent epic, or
    the item itself if it is an epic (`none` otherwise); `week`, ISO weeks from Monday. Logs
    of deleted items count in the `deleted` item group and in `none` epics.
    """
    view = await timesheets.time_report(session, access, group_by, from_, to, member)
    return TimeReportPublic.model_validate(view)
