"""Projects: create, list, read, change settings, delete."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.projects import service as projects
from app.domain.projects.models import EstimationScale, Project, Role
from app.domain.projects.scales import scale_values
from app.domain.projects.schemas import (
    ProjectCreate,
    ProjectPage,
    ProjectPublic,
    ProjectUpdate,
    ScaleValuePublic,
    Weekday,
)
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
)

router = APIRouter(
    prefix=f"{API_PREFIX}/projects", tags=["projects"], responses=problem_responses(401, 404)
)


def project_public(project: Project, role: Role) -> ProjectPublic:
    """Shape a project for the API."""
    assert project.id is not None
    return ProjectPublic(
        id=project.id,
        key=project.key,
        name=project.name,
        description=project.description,
        estimation_scale=EstimationScale(project.estimation_scale),
        scale_values=[
            ScaleValuePublic(label=v.label, value=v.value)
            for v in scale_values(project.estimation_scale)
        ],
        sprint_length_days=project.sprint_length_days,
        working_days=[Weekday(day) for day in project.working_days],
        time_zone=project.time_zone,
        enforce_wip_limits=project.enforce_wip_limits,
        role=role,
        created_at=project.created_at,
        updated_at=project.updated_at,
        version=project.version,
    )


@router.get("")
async def list_projects(
    user: CurrentUser, session: SessionDep, page: PageParams, request: Request, response: Response
) -> ProjectPage:
    """The projects you are a member of, by key."""
    rows, cursor = await projects.list_projects(session, user, page)
    link_next(request, response, cursor)
    return ProjectPage(
        data=[project_public(access.project, access.role) for access in rows], next_cursor=cursor
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 422))
async def create_project(
    data: ProjectCreate, user: CurrentUser, session: SessionDep, response: Response
) -> ProjectPublic:
    """Create a project; you become its owner."""
    access = await projects.create_project(session, user, data)
    set_etag(response, access.project.version)
    response.headers["Location"] = f"/api/v1/projects/{access.project.key}"
    return project_public(access.project, access.role)


@router.get("/{key}")
async def get_project(access: ViewerAccess, response: Response) -> ProjectPublic:
    """One project and your role in it."""
    set_etag(response, access.project.version)
    return project_public(access.project, access.role)


@router.patch("/{key}", responses=problem_responses(403, 412, 422))
async def update_project(
    data: ProjectUpdate,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ProjectPublic:
    """Change a project's settings (owners); the key is immutable."""
    project = await projects.update_project(session, access, data, if_match)
    set_etag(response, project.version)
    return project_public(project, access.role)


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
