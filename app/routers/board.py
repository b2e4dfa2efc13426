"""The board: every column with its items in one call."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.domain.items import service as items
from app.domain.items.schemas import Board, BoardColumn, StatusRef
from app.domain.workflow.models import StatusCategory
from app.errors import problem_responses
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
    """Columns in workflow order with their items in rank order, counts, points and WIP flags.

    Epics are not on the board (they do not go into sprints). Two queries, whatever the size.
    """
    filters = await items.build_filter(session, access, sprint=sprint)
    filters.exclude_epics = True
    data = await items.board(session, access, filters)
    public = await shape(session, access, data.rows)
    columns = []
    for status in data.statuses:
        assert status.id is not None
        cards = [item for item in public if item.status.id == status.id]
        count = len(cards)
        columns.append(
            BoardColumn(
                status=StatusRef(
                    id=status.id, name=status.name, category=StatusCategory(status.category)
                ),
                position=status.position,
                wip_limit=status.wip_limit,
                over_wip_limit=status.wip_limit is not None and count > status.wip_limit,
                count=count,
                points=sum(card.points or 0.0 for card in cards),
                items=cards,
            )
        )
    return Board(
        scope=sprint,
        columns=columns,
        count=len(public),
        points=sum(card.points or 0.0 for card in public),
    )
