"""Backlog items: list, create, batch, read, change, move, delete, history."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import service as items
from app.domain.items.models import Item, ItemType
from app.domain.items.presenter import item_public
from app.domain.items.repository import ItemRow
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
from app.domain.projects.access import ProjectAccess
from app.domain.workflow.models import StatusCategory
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
    prefix=API_PREFIX + "/projects/{key}/items",
    tags=["items"],
    responses=problem_responses(401, 404),
)

Sort = Literal[
    "rank",
    "priority",
    "-priority",
    "created",
    "-created",
    "updated",
    "-updated",
    "points",
    "-points",
    "relevance",
]


async def shape(
    session: AsyncSession, access: ProjectAccess, rows: list[ItemRow]
) -> list[ItemPublic]:
    """Public items, with epic progress computed in one query for the whole list."""
    progress = await items.epic_progress(session, access, rows)
    return [item_public(access.project, row, progress) for row in rows]


async def _reply(
    session: AsyncSession, access: ProjectAccess, item: Item, response: Response
) -> ItemPublic:
    rows = await items.rows_for(session, access, [item])
    set_etag(response, item.version)
    return (await shape(session, access, rows))[0]


@router.get("", responses=problem_responses(422))
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
    parent: Annotated[str | None, Query(description="Epic number or `none`.")] = None,
    estimated: Annotated[bool | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search.")] = None,
    sort: Annotated[
        Sort | None,
        Query(description="Default `rank`, or `relevance` with `q`; `-` sorts descending."),
    ] = None,
) -> ItemPage:
    """The backlog in rank order (or sorted); filters combine with AND."""
    filters = await items.build_filter(
        session,
        access,
        types=[t.value for t in item_type or []],
        status_ids=status_id or [],
        categories=[c.value for c in status_category or []],
        assignees=assignee or [],
        labels=label or [],
        sprint=sprint,
        parent=parent,
        estimated=estimated,
        query=q,
    )
    rows, cursor = await items.list_items(session, access, filters, sort, page)
    link_next(request, response, cursor)
    return ItemPage(data=await shape(session, access, rows), next_cursor=cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(403, 409, 422))
async def create_item(
    data: ItemCreate, access: MemberAccess, session: SessionDep, response: Response
) -> ItemPublic:
    """Create an item at the bottom of the backlog (or the top with `position`)."""
    item = await items.create_item(session, access, data)
    response.headers["Location"] = f"{API_PREFIX}/projects/{access.project.key}/items/{item.number}"
    return await _reply(session, access, item, response)


@router.post("/batch", responses=problem_responses(403, 409, 422))
async def batch_items(data: ItemBatch, access: MemberAccess, session: SessionDep) -> BatchResult:
    """Create up to 500 items atomically; with `upsert: "external_id"` re-runs update instead."""
    results, created, updated = await items.batch(session, access, data)
    rows = await items.rows_for(session, access, results)
    return BatchResult(created=created, updated=updated, data=await shape(session, access, rows))


@router.get("/{number}")
async def get_item(
    number: int, access: ViewerAccess, session: SessionDep, response: Response
) -> ItemPublic:
    """One item."""
    row = await items.get_item(session, access, number)
    set_etag(response, row.item.version)
    return (await shape(session, access, [row]))[0]


@router.patch("/{number}", responses=problem_responses(403, 409, 412, 422))
async def update_item(
    number: int,
    data: ItemUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ItemPublic:
    """Change an item; only the fields sent change, and each change is recorded in history."""
    item = await items.update_item(session, access, number, data, if_match)
    return await _reply(session, access, item, response)


@router.post("/{number}/move", responses=problem_responses(403, 409, 412, 422))
async def move_item(
    number: int,
    data: ItemMove,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ItemPublic:
    """Re-rank an item: `{"before": n}`, `{"after": n}`, `{"top": true}` or `{"bottom": true}`."""
    item = await items.move_item(session, access, number, data, if_match)
    return await _reply(session, access, item, response)


@router.delete(
    "/{number}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 412)
)
async def delete_item(
    number: int, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete an item (its history is kept; an epic's children lose their parent)."""
    await items.delete_item(session, access, number, if_match)


@router.get("/{number}/history")
async def item_history(
    number: int,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> ItemEventPage:
    """Every recorded change of an item, oldest first: who, when, field, old and new value."""
    events, cursor = await items.history(session, access, number, page)
    link_next(request, response, cursor)
    return ItemEventPage(
        data=[
            ItemEventPublic(
                id=event.id or 0,
                occurred_at=event.occurred_at,
                actor_id=event.actor_id,
                kind=event.kind,
                field=event.field,
                old_value=event.old_value,
                new_value=event.new_value,
            )
            for event in events
        ],
        next_cursor=cursor,
    )
