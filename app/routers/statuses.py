"""Workflow statuses (board columns) with WIP limits."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.domain.items import bulk as items_bulk
from app.domain.workflow import service as workflow
from app.domain.workflow.schemas import StatusCreate, StatusList, StatusPublic, StatusUpdate
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
    IfMatch,
    OwnerAccess,
    SessionDep,
    ViewerAccess,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/statuses",
    tags=["statuses"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=StatusList)
async def list_statuses(access: ViewerAccess, session: SessionDep) -> StatusList:
    """The project's workflow statuses in column order, with WIP limits (any role)."""
    rows = await workflow.list_statuses(session, access)
    return StatusList(data=[StatusPublic.model_validate(row) for row in rows])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusPublic,
    responses=problem_responses(403, 409, 422),
)
async def create_status(
    data: StatusCreate, access: OwnerAccess, session: SessionDep, response: Response
) -> StatusPublic:
    """Add a workflow status (owners), last unless `position` is given; names are unique."""
    row = await workflow.create_status(session, access, data)
    set_location(response, f"/projects/{access.project.key}/statuses/{row.id}")
    set_etag(response, row.version)
    return StatusPublic.model_validate(row)


@router.get("/{status_id}", response_model=StatusPublic)
async def get_status(
    status_id: Id, access: ViewerAccess, session: SessionDep, response: Response
) -> StatusPublic:
    """A workflow status by id: name, category, column position and WIP limit (any role)."""
    row = await workflow.get_status(session, access, status_id)
    set_etag(response, row.version)
    return StatusPublic.model_validate(row)


@router.patch(
    "/{status_id}", response_model=StatusPublic, responses=problem_responses(403, 409, 412, 422)
)
async def update_status(
    status_id: Id,
    data: StatusUpdate,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> StatusPublic:
    """Rename, recategorise, move or change the WIP limit of a status (owners).

    Moving it into or out of the `done` category stamps or clears its items' `done_at`.
    """
    row = await workflow.update_status(session, access, status_id, data, if_match, items_bulk)
    set_etag(response, row.version)
    return StatusPublic.model_validate(row)


@router.delete(
    "/{status_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 409, 412, 422),
)
async def delete_status(
    status_id: Id,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    move_items_to: Annotated[
        int | None, Query(description="Where the status's items go (required if it has any).")
    ] = None,
) -> None:
    """Delete a status (owners); its items move to `move_items_to`, each move recorded.

    409 for a project's last status, or when items are in it and `move_items_to` is missing.
    """
    await workflow.delete_status(session, access, status_id, move_items_to, if_match, items_bulk)
