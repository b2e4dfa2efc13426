"""The ceremony calendar: the project's meeting schedule and its iCalendar feed."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import OAuth2PasswordBearer

from app.domain.meetings import service as meetings
from app.domain.meetings.schemas import (
    CalendarTokenPublic,
    MeetingSchedulePublic,
    MeetingScheduleReplace,
)
from app.domain.users import service as users
from app.domain.users.models import User
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    OwnerAccess,
    ProjectKey,
    SessionDep,
    ViewerAccess,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["calendar"],
    responses=problem_responses(401, 404),
)

ICS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An iCalendar (RFC 5545) document: one VEVENT per ceremony.",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    }
}

# The same scheme as every other route: a member may read the feed with their bearer token.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def feed_reader(
    session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> User | None:
    """The caller when a bearer token is sent (401 if it is not valid); None without one."""
    return (await users.resolve_token(session, token))[0] if token else None


@router.get("/meetings", response_model=MeetingSchedulePublic)
async def get_meeting_schedule(
    access: ViewerAccess, session: SessionDep, response: Response
) -> MeetingSchedulePublic:
    """When the project's ceremonies happen (any role): planning on a sprint's first day, the
    daily stand-up on its other working days, review and retro on its last day. Times are
    local to the project's time zone; a project starts with 10:00 planning (120 min), 09:30
    stand-up (15), 14:00 review (60) and 15:30 retro (60)."""
    view = await meetings.get_schedule(session, access)
    set_etag(response, view.version)
    return MeetingSchedulePublic.model_validate(view)


@router.put(
    "/meetings", response_model=MeetingSchedulePublic, responses=problem_responses(403, 412, 422)
)
async def replace_meeting_schedule(
    data: MeetingScheduleReplace,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> MeetingSchedulePublic:
    """Replace the ceremony schedule (owners): each ceremony's local start `HH:MM` and
    length (5–480 minutes, ending by midnight). Send the ETag as If-Match (412 when stale)."""
    view = await meetings.replace_schedule(session, access, data, if_match)
    set_etag(response, view.version)
    return MeetingSchedulePublic.model_validate(view)


@router.post(
    "/calendar/token",
    status_code=status.HTTP_201_CREATED,
    response_model=CalendarTokenPublic,
    responses=problem_responses(403),
)
async def create_calendar_token(
    access: OwnerAccess, session: SessionDep, request: Request, response: Response
) -> CalendarTokenPublic:
    """Make a new calendar feed token (owners) and return it with the feed's URL, once.

    The previous token stops working at once. Only the token's hash is stored: keep the URL,
    or make another. Anyone with the URL can read the project's meeting times and goals.
    """
    view = await meetings.create_feed_token(session, access, str(request.base_url))
    set_location(response, f"/projects/{access.project.key}/calendar.ics")
    return CalendarTokenPublic.model_validate(view)


@router.get("/calendar.ics", response_class=Response, responses=ICS)
async def get_calendar_feed(
    key: ProjectKey,
    session: SessionDep,
    reader: Annotated[User | None, Depends(feed_reader)],
    token: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The project's calendar feed token (from `POST .../calendar/token`).",
        ),
    ] = None,
) -> Response:
    """The project's ceremonies as an iCalendar feed, for Google Calendar, Outlook or Apple
    Calendar to subscribe to: planning, daily stand-ups, review and retro of every planned,
    active and completed sprint with dates (cancelled sprints drop theirs), in the project's
    time zone, with stable UIDs. While the project is closed, the meetings from the moment it
    closed on drop out. Calendar clients send no headers, so the feed takes the
    project's feed token as `?token=`; a member's bearer token works too. Without either, or
    with a wrong token, the answer is 404, as for a project that does not exist."""
    content = await meetings.calendar_feed(session, key, reader, token)
    return Response(content, media_type="text/calendar; charset=utf-8")
