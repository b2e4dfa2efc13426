"""Retro action items: follow-ups numbered per project, open until done or dropped."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.kernel.inputs import ID_MAX, NUMBER_MAX, QueryBool
from app.domain.retros.actions import service as actions
from app.domain.retros.actions.models import ActionStatus
from app.domain.retros.actions.schemas import (
    ActionCreate,
    ActionEventPage,
    ActionEventPublic,
    ActionPage,
    ActionPublic,
    ActionStatsPublic,
    ActionUpdate,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    MemberAccess,
    MemberAccessWhileClosed,
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
    tags=["actions"],
    responses=problem_responses(401, 404),
)


def _page(views: list[actions.ActionView], cursor: str | None) -> ActionPage:
    return ActionPage(
        data=[ActionPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.get("/actions", response_model=ActionPage, responses=problem_responses(422))
async def list_actions(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    status_filter: Annotated[
        list[ActionStatus] | None,
        Query(alias="status", description="`open`, `done` or `dropped`; repeat for several."),
    ] = None,
    owner: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only actions this user id owns.")
    ] = None,
    overdue: Annotated[
        QueryBool | None,
        Query(
            description="`true`: only open actions due before today in the project's time "
            "zone; `false`: every other action."
        ),
    ] = None,
    retro: Annotated[
        int | None,
        Query(ge=1, le=NUMBER_MAX, description="Only the actions of this retro (its number)."),
    ] = None,
) -> ActionPage:
    """The project's action items by number (any role), from retros and created directly.

    Filters combine: `?status=open&owner=3` is what user 3 still has to do; `?overdue=true`
    is what is late. An unknown retro number is a 422 naming `query.retro`.
    """
    views, cursor = await actions.list_actions(
        session,
        access,
        page,
        statuses=status_filter,
        owner_id=owner,
        overdue=overdue,
        retro_number=retro,
    )
    link_next(request, response, cursor)
    return _page(views, cursor)


@router.post(
    "/actions",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionPublic,
    responses=problem_responses(403, 409, 422),
)
async def create_action(
    data: ActionCreate, access: MemberAccess, session: SessionDep, response: Response
) -> ActionPublic:
    """Create an action item directly, not from a retro (members).

    The owner must be a project member with the member or owner role (422 `not_member` on
    `body.owner_id` otherwise). A project holds at most 1000 open action items (409 beyond).
    """
    view = await actions.create_action(session, access, data)
    set_location(response, f"/projects/{access.project.key}/actions/{view.number}")
    set_etag(response, view.version)
    return ActionPublic.model_validate(view)


@router.get("/actions/stats", response_model=ActionStatsPublic)
async def get_action_stats(access: ViewerAccess, session: SessionDep) -> ActionStatsPublic:
    """How well action items are followed up (any role): per retro, for actions created
    directly, and in total — created, done, dropped, still open, the completion rate
    (done / created) and the median days to close (over done actions, date done − date
    created in calendar days, in the project's time zone)."""
    view = await actions.stats(session, access)
    return ActionStatsPublic.model_validate(view)


@router.get("/actions/{number}", response_model=ActionPublic)
async def get_action(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> ActionPublic:
    """One action item (any role); its ETag is the version to send as If-Match."""
    view = await actions.get_action(session, access, number)
    set_etag(response, view.version)
    return ActionPublic.model_validate(view)


@router.patch(
    "/actions/{number}",
    response_model=ActionPublic,
    responses=problem_responses(403, 409, 412, 422),
)
async def update_action(
    number: Number,
    data: ActionUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ActionPublic:
    """Change an action item (members): title, notes, owner, due date, status.

    Status moves freely between `open`, `done` and `dropped`: done stamps `done_at`, done or
    dropped stamps `closed_at`, reopening clears both. Every change is logged in its history.
    Works whatever the phase of its retro, closed included: following up is the point.
    """
    view = await actions.update_action(session, access, number, data, if_match)
    set_etag(response, view.version)
    return ActionPublic.model_validate(view)


@router.delete(
    "/actions/{number}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 412),
)
async def delete_action(
    number: Number, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete an action item and its history (members); a linked backlog item stays."""
    await actions.delete_action(session, access, number, if_match)


@router.get("/actions/{number}/history", response_model=ActionEventPage)
async def list_action_history(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> ActionEventPage:
    """Every recorded change of an action item, oldest first (any role): who, when, which
    field, old and new value. When finishing its backlog item finished it, `via` names the
    item (`item WEB-12`) and the actor is whoever finished the item."""
    events, cursor = await actions.history(session, access, number, page)
    link_next(request, response, cursor)
    return ActionEventPage(
        data=[ActionEventPublic.model_validate(event) for event in events], next_cursor=cursor
    )


@router.post(
    "/actions/{number}/to-item",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionPublic,
    responses=problem_responses(403, 409, 412, 422),
)
async def create_item_from_action(
    number: Number,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ActionPublic:
    """Make a backlog item from an action item and link them (members).

    The item is a task labelled `retro-action`, titled like the action, assigned to its owner
    (unassigned if the owner has left), described by its notes. `Location` points at the item;
    the body is the action with its `item`. Moving the item into a done status later marks the
    action done. 409 if the action is linked to an item already.
    """
    view = await actions.to_item(session, access, number, if_match)
    assert view.item is not None
    set_location(response, f"/projects/{access.project.key}/items/{view.item.number}")
    set_etag(response, view.version)
    return ActionPublic.model_validate(view)


@router.get("/retros/{number}/actions", response_model=ActionPage)
async def list_retro_actions(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> ActionPage:
    """A retro's action items, by number (any role)."""
    views, cursor = await actions.list_retro_actions(session, access, number, page)
    link_next(request, response, cursor)
    return _page(views, cursor)


@router.post(
    "/retros/{number}/actions",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionPublic,
    responses=problem_responses(403, 409, 422),
)
async def create_retro_action(
    number: Number,
    data: ActionCreate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    response: Response,
) -> ActionPublic:
    """Add an action item to a retro (members); only while it is discussing, else 409 (a
    closed retro is read-only). The owner rules and the open cap are those of direct creation.
    Also in a closed project, so its post-mortem can end in action items."""
    view = await actions.create_retro_action(session, access, number, data)
    set_location(response, f"/projects/{access.project.key}/actions/{view.number}")
    set_etag(response, view.version)
    return ActionPublic.model_validate(view)
