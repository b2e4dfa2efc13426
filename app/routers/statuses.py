"""Workflow statuses (board columns) with WIP limits."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.domain.workflow import service as workflow
from app.domain.workflow.schemas import StatusCreate, StatusList, StatusPublic, StatusUpdate
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    OwnerAccess,
    SessionDep,
    ViewerAccess,
    set_etag,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/statuses",
    tags=["statuses"],
    responses=problem_responses(401, 404),
)


@router.get("")
async def list_statuses(access: ViewerAccess, session: SessionDep) -> StatusList:
    """The project's workflow, in column order."""
    rows = await workflow.list_statuses(session, access)
    return StatusList(data=[StatusPublic.model_validate(row) for row in rows])


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(403, 409, 422))
async def create_status(
    data: StatusCreate, access: OwnerAccess, session: SessionDep, response: Response
) -> StatusPublic:
    """Add a workflow status (owners); last unless `position` is given."""
    row = await workflow.create_status(session, access, data)
    set_etag(response, row.version)
    return StatusPublic.model_validate(row)


@router.get("/{status_id}")
async def get_status(
    status_id: int, access: ViewerAccess, session: SessionDep, response: Response
) -> StatusPublic:
    """One status."""
    row = await workflow.get_status(session, access, status_id)
    set_etag(response, row.version)
    return StatusPublic.model_validate(row)


@router.patch("/{status_id}", responses=problem_responses(403, 409, 412, 422))
async def update_status(
    status_id: int,
    data: StatusUpdate,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> StatusPublic:
    """Rename, recategorise, move or change the WIP limit of a status (owners)."""
    row = await workflow.update_status(session, access, status_id, data, if_match)
    set_etag(response, row.version)
    return StatusPublic.model_validate(row)


@router.delete(
    "/{status_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 409, 412, 422),
)
async def delete_status(
    status_id: int,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    move_items_to: Annotated[
        int | None, Query(description="Where the status's items go (required if it has any).")
    ] = None,
) -> None:
    """Delete a status (owners); its items move to `move_items_to`, each move recorded."""
    await workflow.delete_status(session, access, status_id, move_items_to, if_match)
