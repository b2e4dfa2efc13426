"""The board: every column with its items in one call."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.domain.items import service as items
from app.domain.items.filters import BACKLOG
from app.domain.items.schemas import Board
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, SessionDep, ViewerAccess, answer_by_validator

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/board",
    tags=["board"],
    responses=problem_responses(401, 404, 422),
)


@router.get("", response_model=Board)
async def get_board(
    access: ViewerAccess,
    session: SessionDep,
    request: Request,
    response: Response,
    sprint: Annotated[
        str, Query(description="`backlog` (items in no sprint), `active`, or a sprint number.")
    ] = BACKLOG,
) -> Board | Response:
    """Columns in order with items by rank, counts, points and WIP flags; epics are left out.

    One call draws a whole board (any role): the backlog, the active sprint or a sprint by
    number; 422 for a sprint number the project does not have.
    """
    # Two service calls: the 304 is decided between them, from a validator read before the
    # board (see `items.board_validator`), so an unchanged board is never built.
    unchanged = answer_by_validator(
        request, response, await items.board_validator(session, access, sprint)
    )
    if unchanged is not None:
        return unchanged
    view = await items.board(session, access, sprint)
    return Board.model_validate(view)
