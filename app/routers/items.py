"""Backlog items: list, create, batch, read, change, move, delete, history."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.items import service as items
from app.domain.items.filters import ItemQuery, ItemSort
from app.domain.items.models import ItemType
from app.domain.items.schemas import (
    BatchResult,
    ItemBatch,
    ItemCreate,
    ItemEventPage,
    ItemEventPublic,
    ItemMove,
    ItemPage,
    ItemPublic,
    ItemUpdate,
)
from app.domain.kernel.inputs import QueryBool
from app.domain.workflow.models import StatusCategory
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
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/items",
    tags=["items"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=ItemPage, responses=problem_responses(422))
async def list_items(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    item_type: Annotated[
        list[ItemType] | None, Query(alias="type", description="Repeat to allow several.")
    ] = None,
    status_id: Annotated[list[int] | None, Query(alias="status", description="Status ids.")] = None,
    status_category: Annotated[list[StatusCategory] | None, Query()] = None,
    assignee: Annotated[list[str] | None, Query(description="User id, `me` or `none`.")] = None,
    label: Annotated[list[str] | None, Query(description="Items carrying all of these.")] = None,
    sprint: Annotated[str | None, Query(description="`backlog`, `active` or a number.")] = None,
    release: Annotated[
        str | None,
        Query(description="A release number (items whose own release it is) or `none`."),
    ] = None,
    parent: Annotated[str | None, Query(description="Epic number or `none`.")] = None,
    estimated: Annotated[
        QueryBool | None,
        Query(description="`true`: only items with an estimate; `false`: only those without."),
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search.")] = None,
    sort: Annotated[
        ItemSort | None,
        Query(description="Default `rank`, or `relevance` with `q`; `-` sorts descending."),
    ] = None,
) -> ItemPage:
    """A page of the backlog, in rank order unless `sort` says otherwise (any role).

    Filters combine with AND; a repeated filter matches any of its values (labels: all of them).
    """
    query = ItemQuery(
        types=item_type or [],
        status_ids=status_id or [],
        categories=status_category or [],
        assignees=assignee or [],
        labels=label or [],
        sprint=sprint,
        release=release,
        parent=parent,
        estimated=estimated,
        text=q,
    )
    views, cursor = await items.list_items(session, access, query, sort, page)
    link_next(request, response, cursor)
    return ItemPage(data=[ItemPublic.model_validate(view) for view in views], next_cursor=cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemPublic,
    responses=problem_responses(403, 409, 422),
)
async def create_item(
    data: ItemCreate, access: MemberAccess, session: SessionDep, response: Response
) -> ItemPublic:
    """Create an item at the bottom of the backlog, or the top with `position` (members).

    It starts in the first `todo` status unless `status_id` names another; 409 when that
    status is at an enforced WIP limit or `external_id` is taken.
    """
    view = await items.create_item(session, access, data)
    set_location(response, f"/projects/{access.project.key}/items/{view.number}")
    set_etag(response, view.version)
    return ItemPublic.model_validate(view)


@router.post("/batch", response_model=BatchResult, responses=problem_responses(403, 409, 422))
async def batch_items(data: ItemBatch, access: MemberAccess, session: SessionDep) -> BatchResult:
    """Create up to 500 items atomically; with `upsert: "external_id"` re-runs update instead.

    All or nothing: an invalid entry fails the whole batch, and its error names the entry
    (`body.items.3.title`). The response lists every item in input order (members).
    """
    view = await items.batch(session, access, data)
    return BatchResult.model_validate(view)


@router.get("/{number}", response_model=ItemPublic)
async def get_item(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> ItemPublic:
    """An item by its number, with its status, assignee, sprint and (for epics) progress.

    Any role; the `ETag` carries its version for a later `If-Match`.
    """
    view = await items.get_item(session, access, number)
    set_etag(response, view.version)
    return ItemPublic.model_validate(view)


@router.patch(
    "/{number}", response_model=ItemPublic, responses=problem_responses(403, 409, 412, 422)
)
async def update_item(
    number: Number,
    data: ItemUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ItemPublic:
    """Change an item; only the fields sent change, and each change is recorded in history.

    Members; 409 when the item's sprint is closed or a WIP limit is reached, 412 on a stale
    `If-Match`.
    """
    view = await items.update_item(session, access, number, data, if_match)
    set_etag(response, view.version)
    return ItemPublic.model_validate(view)


@router.post(
    "/{number}/move", response_model=ItemPublic, responses=problem_responses(403, 409, 412, 422)
)
async def move_item(
    number: Number,
    data: ItemMove,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ItemPublic:
    """Re-rank an item: `{"before": n}`, `{"after": n}`, `{"top": true}` or `{"bottom": true}`.

    Members; 422 when the other item does not exist, 412 on a stale `If-Match`.
    """
    view = await items.move_item(session, access, number, data, if_match)
    set_etag(response, view.version)
    return ItemPublic.model_validate(view)


@router.delete(
    "/{number}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 412)
)
async def delete_item(
    number: Number, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete an item (members); its history is kept and an epic's children lose their parent."""
    await items.delete_item(session, access, number, if_match)


@router.get("/{number}/history", response_model=ItemEventPage)
async def get_item_history(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> ItemEventPage:
    """Every recorded change of an item, oldest first: who, when, field, old and new value.

    Any role. Parent, sprint and release are logged by number, priorities by name.
    """
    events, cursor = await items.history(session, access, number, page)
    link_next(request, response, cursor)
    return ItemEventPage(
        data=[ItemEventPublic.model_validate(event) for event in events], next_cursor=cursor
    )
