"""Watching items: hear when an item's status changes."""

from fastapi import APIRouter, Request, Response, status

from app.domain.items.schemas import UserRef
from app.domain.notifications import service as notifications
from app.domain.notifications.schemas import WatcherPage, WatchPublic
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, Number, PageParams, SessionDep, ViewerAccess, link_next

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["watching"],
    responses=problem_responses(401, 404),
)


@router.post("/items/{number}/watch", response_model=WatchPublic)
async def watch_item(number: Number, access: ViewerAccess, session: SessionDep) -> WatchPublic:
    """Watch an item (any role): you are notified when its status changes.

    Watching again is a no-op. Creating an item, being assigned one or commenting on one
    watches it for you; you stop hearing of it if you leave the project.
    """
    view = await notifications.watch(session, access, number)
    return WatchPublic.model_validate(view)


@router.delete("/items/{number}/watch", status_code=status.HTTP_204_NO_CONTENT)
async def unwatch_item(number: Number, access: ViewerAccess, session: SessionDep) -> None:
    """Stop watching an item (any role); a no-op when you do not watch it."""
    await notifications.unwatch(session, access, number)


@router.get("/items/{number}/watchers", response_model=WatcherPage)
async def list_item_watchers(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> WatcherPage:
    """Who watches an item (any role): current members of the project, by user id."""
    users, cursor = await notifications.list_watchers(session, access, number, page)
    link_next(request, response, cursor)
    return WatcherPage(data=[UserRef.model_validate(user) for user in users], next_cursor=cursor)
