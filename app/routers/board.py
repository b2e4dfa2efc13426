"""The board: every column with its items in one call."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.domain.items import service as items
from app.domain.items.presenter import board_public
from app.domain.items.schemas import Board
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, SessionDep, ViewerAccess
from app.routers.items import shape

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/board",
    tags=["board"],
    responses=problem_responses(401, 404, 422),
)


@router.get("")
async def get_board(
    access: ViewerAccess,
    session: SessionDep,
    sprint: Annotated[
        str, Query(description="`backlog` (items in no sprint), `active`, or a sprint number.")
    ] = items.SPRINT_BACKLOG,
) -> Board:
    """Columns in order with items by rank, counts, points and WIP flags; epics are left out."""
    data = await items.board(session, access, sprint)
    return board_public(sprint, data.statuses, await shape(session, access, data.rows))
