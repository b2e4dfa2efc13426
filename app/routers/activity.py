"""The activity feed: a project's public events, newest first."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.domain.events import service as events
from app.domain.events.catalogue import EventType
from app.domain.events.repository import EventFilter
from app.domain.events.schemas import EventPage
from app.domain.kernel.inputs import ID_MAX, NUMBER_MAX, Rfc3339DateTime
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, PageParams, SessionDep, ViewerAccess, link_next

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["activity"],
    responses=problem_responses(401, 404),
)


@router.get("/activity", response_model=EventPage, responses=problem_responses(422))
async def list_activity(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    event_type: Annotated[
        list[EventType] | None,
        Query(alias="type", description="Only events of this type; repeat for several."),
    ] = None,
    actor: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only what this user id did.")
    ] = None,
    item: Annotated[
        int | None, Query(ge=1, le=NUMBER_MAX, description="Only events about this item number.")
    ] = None,
    sprint: Annotated[
        int | None,
        Query(ge=1, le=NUMBER_MAX, description="Only events about this sprint number."),
    ] = None,
    since: Annotated[
        Rfc3339DateTime | None,
        Query(description="Only events at or after this time (RFC 3339, with an offset)."),
    ] = None,
) -> EventPage:
    """The project's activity, newest first (any role): one readable `summary` per event and
    its versioned `payload` (docs/events.md). Filters combine.

    `item` matches events about the item itself (created, updated, moved, deleted, comments);
    `sprint` matches events about the sprint (created, started, completed, scope changes).
    """
    filters = EventFilter(
        types=[t.value for t in event_type] if event_type else None,
        actor_id=actor,
        item_number=item,
        sprint_number=sprint,
        since=since,
    )
    data, cursor = await events.page_of_activity(
        session, access.project_id, access.project.key, filters, page
    )
    link_next(request, response, cursor)
    return EventPage(data=data, next_cursor=cursor)
