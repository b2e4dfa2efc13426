"""Blockers on items: raised by stand-ups or by hand, flagged on the board until cleared."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.items.blockers import service as blockers
from app.domain.items.blockers.schemas import BlockerCreate, BlockerPage, BlockerPublic
from app.domain.kernel.inputs import QueryBool
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
    MemberAccess,
    Number,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/items/{number}/blockers",
    tags=["items"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=BlockerPage, responses=problem_responses(422))
async def list_blockers(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    open: Annotated[
        QueryBool | None, Query(description="`true`: only open blockers; `false` or absent: all.")
    ] = None,
) -> BlockerPage:
    """An item's blockers, newest first (any role): open ones flag the item on the board."""
    views, cursor = await blockers.list_blockers(session, access, number, bool(open), page)
    link_next(request, response, cursor)
    return BlockerPage(
        data=[BlockerPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BlockerPublic,
    responses=problem_responses(403, 409, 422),
)
async def add_blocker(
    number: Number,
    data: BlockerCreate,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
) -> BlockerPublic:
    """Raise a blocker on an item by hand (members); 409 past 20 open blockers on one item.

    Stand-up entries raise blockers too, for the items they name in `blocked_items`.
    """
    view = await blockers.add_blocker(session, access, number, data.reason)
    set_location(
        response, f"/projects/{access.project.key}/items/{number}/blockers/{view.blocker.id}"
    )
    return BlockerPublic.model_validate(view)


@router.get("/{blocker_id}", response_model=BlockerPublic)
async def get_blocker(
    number: Number, blocker_id: Id, access: ViewerAccess, session: SessionDep
) -> BlockerPublic:
    """One blocker of an item (any role)."""
    return BlockerPublic.model_validate(
        await blockers.get_blocker(session, access, number, blocker_id)
    )


@router.post(
    "/{blocker_id}/clear", response_model=BlockerPublic, responses=problem_responses(403, 409)
)
async def clear_blocker(
    number: Number, blocker_id: Id, access: MemberAccess, session: SessionDep
) -> BlockerPublic:
    """Clear an open blocker (any member): the item is no longer flagged for it on the board.

    409 when it is cleared already. A stand-up blocker is also cleared by its author's next
    entry that no longer names the item.
    """
    view = await blockers.clear_blocker(session, access, number, blocker_id)
    return BlockerPublic.model_validate(view)
