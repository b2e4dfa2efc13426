"""Your notifications and which kinds of them you get."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.domain.kernel.inputs import ID_MAX, QueryBool
from app.domain.notifications import service as notifications
from app.domain.notifications.models import NotificationKind
from app.domain.notifications.repository import NotificationFilter
from app.domain.notifications.schemas import (
    NotificationPage,
    NotificationPreferencesPublic,
    NotificationPreferencesReplace,
    NotificationPublic,
    NotificationsMarked,
)
from app.domain.projects.schemas import KEY_PATTERN
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, CurrentUser, PageParams, SessionDep, link_next

router = APIRouter(
    prefix=f"{API_PREFIX}/me", tags=["notifications"], responses=problem_responses(401)
)

ProjectFilter = Annotated[
    str | None,
    Query(pattern=KEY_PATTERN, description="Only this project's (its key, e.g. `WEB`)."),
]


@router.get("/notifications", response_model=NotificationPage, responses=problem_responses(422))
async def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    unread: Annotated[
        QueryBool | None, Query(description="`true`: only unread ones; `false`: only read ones.")
    ] = None,
    project: ProjectFilter = None,
    kind: Annotated[
        list[NotificationKind] | None, Query(description="Only these kinds; repeat for several.")
    ] = None,
) -> NotificationPage:
    """Your notifications, unread first and then newest first, with your unread count.

    `unread_count` counts the unread ones the `project` and `kind` filters keep. Each
    notification links to what it is about by number (`item`, `sprint`, `retro`, `action`).
    """
    filters = NotificationFilter(unread=unread, project_key=project, kinds=kind)
    views, cursor, unread_count = await notifications.list_notifications(
        session, user, page, filters
    )
    link_next(request, response, cursor)
    return NotificationPage(
        data=[NotificationPublic.model_validate(view) for view in views],
        next_cursor=cursor,
        unread_count=unread_count,
    )


@router.post(
    "/notifications/read-all",
    response_model=NotificationsMarked,
    responses=problem_responses(422),
)
async def mark_all_notifications_read(
    user: CurrentUser, session: SessionDep, project: ProjectFilter = None
) -> NotificationsMarked:
    """Mark all your unread notifications read, or those of one project with `?project=`."""
    marked = await notifications.mark_all_read(session, user, project)
    return NotificationsMarked(marked=marked)


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationPublic,
    responses=problem_responses(404, 422),
)
async def mark_notification_read(
    notification_id: Annotated[
        int, Path(le=ID_MAX, description="The notification's id.", examples=[7])
    ],
    user: CurrentUser,
    session: SessionDep,
) -> NotificationPublic:
    """Mark one of your notifications read; marking it again keeps the first `read_at`."""
    view = await notifications.mark_read(session, user, notification_id)
    return NotificationPublic.model_validate(view)


@router.get("/notification-preferences", response_model=NotificationPreferencesPublic)
async def get_notification_preferences(
    user: CurrentUser, session: SessionDep
) -> NotificationPreferencesPublic:
    """Which kinds of notification you get: every kind is on until you switch it off."""
    return NotificationPreferencesPublic.model_validate(
        await notifications.get_preferences(session, user)
    )


@router.put(
    "/notification-preferences",
    response_model=NotificationPreferencesPublic,
    responses=problem_responses(422),
)
async def replace_notification_preferences(
    data: NotificationPreferencesReplace, user: CurrentUser, session: SessionDep
) -> NotificationPreferencesPublic:
    """Set all your notification preferences at once; a kind left out is on.

    A kind switched off is not made at all (nothing is stored to read later).
    """
    return NotificationPreferencesPublic.model_validate(
        await notifications.replace_preferences(session, user, data)
    )
