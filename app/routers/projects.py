"""Projects: create, list, read, change settings, delete."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.items import bulk as items_bulk
from app.domain.projects import service as projects
from app.domain.projects.schemas import (
    ProjectCreate,
    ProjectPage,
    ProjectPublic,
    ProjectUpdate,
)
from app.domain.projects.service import ProjectView
from app.domain.workflow import defaults as workflow_defaults
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    CurrentUser,
    IfMatch,
    OwnerAccess,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=f"{API_PREFIX}/projects", tags=["projects"], responses=problem_responses(401, 404)
)


@router.get("", response_model=ProjectPage)
async def list_projects(
    user: CurrentUser, session: SessionDep, page: PageParams, request: Request, response: Response
) -> ProjectPage:
    """The projects you are a member of, by key, each with your role in it."""
    views, cursor = await projects.list_projects(session, user, page)
    link_next(request, response, cursor)
    return ProjectPage(
        data=[ProjectPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectPublic,
    responses=problem_responses(409, 422),
)
async def create_project(
    data: ProjectCreate, user: CurrentUser, session: SessionDep, response: Response
) -> ProjectPublic:
    """Create a project with the default workflow (To Do, In Progress, In Review, Done).

    You become its owner; 409 when the key is taken or you own 100 projects already.
    """
    access = await projects.create_project(session, user, data, workflow_defaults)
    set_etag(response, access.project.version)
    set_location(response, f"/projects/{access.project.key}")
    return ProjectPublic.model_validate(ProjectView.of(access))


@router.get("/{key}", response_model=ProjectPublic)
async def get_project(access: ViewerAccess, response: Response) -> ProjectPublic:
    """A project's settings, the estimates its scale allows and your role in it (any role)."""
    set_etag(response, access.project.version)
    return ProjectPublic.model_validate(ProjectView.of(access))


@router.patch(
    "/{key}", response_model=ProjectPublic, responses=problem_responses(403, 409, 412, 422)
)
async def update_project(
    data: ProjectUpdate,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ProjectPublic:
    """Change a project's settings (owners); the key is immutable.

    A new estimation scale is refused with 409 while items carry estimates not on it.
    """
    view = await projects.update_project(session, access, data, if_match, items_bulk)
    set_etag(response, view.project.version)
    return ProjectPublic.model_validate(view)


@router.delete(
    "/{key}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 412, 422)
)
async def delete_project(
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    confirm: Annotated[
        str | None, Query(description="Must repeat the project key to confirm.")
    ] = None,
) -> None:
    """Delete a project and everything in it (owners; needs `?confirm=KEY`)."""
    await projects.delete_project(session, access, confirm, if_match)
