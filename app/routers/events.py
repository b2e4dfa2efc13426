"""Live streams (Server-Sent Events): a project's events and the caller's notifications."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sse_starlette import EventSourceResponse

from app.db import Database
from app.domain.events.catalogue import EventType
from app.domain.kernel.inputs import ID_MAX
from app.domain.streams import service as streams
from app.domain.streams.schemas import StreamTicketPublic
from app.http.problems import problem_responses
from app.live.hub import Hub
from app.live.streams import project_stream, user_stream
from app.routers.deps import (
    API_PREFIX,
    CurrentToken,
    ProjectKey,
    SessionDep,
    SettingsDep,
    ViewerAccess,
)

router = APIRouter(prefix=API_PREFIX, tags=["events"], responses=problem_responses(401))

# The same scheme as every route's, but optional here: a browser's EventSource sends a ticket.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
Bearer = Annotated[str | None, Depends(_bearer)]


class EventStreamResponse(EventSourceResponse):
    """An SSE response (the class names its media type for the OpenAPI document)."""

    media_type = "text/event-stream"


_STREAM_EXAMPLE = (
    ": connected\r\nretry: 2000\r\n\r\n"
    'id: 43\r\nevent: item.updated\r\ndata: {"id": 981, "seq": 43, "type": "item.updated", ...}'
    "\r\n\r\n: heartbeat\r\n\r\n"
)


def _stream_doc(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"A `text/event-stream` of {what}; a comment line (`: heartbeat`) "
            "comes every 15 seconds.",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "example": _STREAM_EXAMPLE,
                }
            },
        }
    }


Ticket = Annotated[
    str | None,
    Query(
        max_length=200,
        description="A single-use stream ticket from `POST .../events/ticket`, for clients "
        "that cannot send `Authorization` (a browser's EventSource). Bearer tokens are never "
        "taken from the URL.",
    ),
]
LastEventIdHeader = Annotated[
    int | None,
    Header(
        alias="Last-Event-ID",
        ge=0,
        le=ID_MAX,
        description="The `id:` of the last event received; what came after it is replayed. "
        "EventSource sends it itself when it reconnects.",
    ),
]
LastEventIdQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=ID_MAX,
        description="As the `Last-Event-ID` header, for clients that cannot set it.",
    ),
]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


@router.post(
    "/projects/{key}/events/ticket",
    response_model=StreamTicketPublic,
    responses=problem_responses(404),
)
async def create_project_event_ticket(
    access: ViewerAccess, found: CurrentToken, session: SessionDep
) -> StreamTicketPublic:
    """A single-use ticket for opening this project's live stream without a header (any role).

    Pass it as `?ticket=` to `GET .../events` within 60 seconds; it works once. Revoking the
    token that asked for it ends the stream at the next heartbeat.
    """
    issued = await streams.issue_ticket(session, access.user, found[1], access.project_id)
    return StreamTicketPublic.model_validate(issued)


@router.get(
    "/projects/{key}/events",
    response_class=EventStreamResponse,
    response_model=None,
    responses={**_stream_doc("the project's events"), **problem_responses(404, 422)},
)
async def open_project_event_stream(
    key: ProjectKey,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Bearer,
    ticket: Ticket = None,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
    types: Annotated[
        list[EventType] | None,
        Query(alias="type", description="Only events of these types; repeat for several."),
    ] = None,
) -> EventStreamResponse:
    """Watch a project live (any role): each event as it commits, as Server-Sent Events.

    `id:` is the event's `seq`, `event:` its type, `data:` the event as the activity feed
    shows it. Reconnect with `Last-Event-ID` (or `?last_event_id=`) to get what was missed
    from the log, then the live events, with no gap and no duplicate. The stream ends when
    you leave the project or your token stops working. Authenticate with
    `Authorization: Bearer` or `?ticket=`.
    """
    access = await streams.open_project_stream(session, key, bearer, ticket)
    after = last_event_id_header if last_event_id_header is not None else last_event_id
    content = project_stream(
        _hub(request),
        _database(request),
        access,
        after,
        [t.value for t in types] if types else None,
        settings.stream_heartbeat_seconds,
    )
    # Heartbeats come from the stream itself, which checks access with each one.
    return EventStreamResponse(content, ping=0)


@router.post("/me/events/ticket", response_model=StreamTicketPublic)
async def create_my_event_ticket(found: CurrentToken, session: SessionDep) -> StreamTicketPublic:
    """A single-use ticket for opening your own live stream (`GET /me/events`) without a
    header; it works once, within 60 seconds."""
    user, token = found
    issued = await streams.issue_ticket(session, user, token, None)
    return StreamTicketPublic.model_validate(issued)


@router.get(
    "/me/events",
    response_class=EventStreamResponse,
    response_model=None,
    responses={**_stream_doc("your notifications"), **problem_responses(422)},
)
async def open_my_event_stream(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Bearer,
    ticket: Ticket = None,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventStreamResponse:
    """Your notifications live, as Server-Sent Events, as they are created.

    `event:` is `notification`, `id:` the notification's id, `data:` the notification as
    `GET /me/notifications` shows it. Reconnect with `Last-Event-ID` to get what was missed.
    Authenticate with `Authorization: Bearer` or `?ticket=`.
    """
    access = await streams.open_user_stream(session, bearer, ticket)
    after = last_event_id_header if last_event_id_header is not None else last_event_id
    content = user_stream(
        _hub(request), _database(request), access, after, settings.stream_heartbeat_seconds
    )
    return EventStreamResponse(content, ping=0)
