"""Project members and their roles."""

from fastapi import APIRouter, Request, Response, status

from app.domain.items import bulk as items_bulk
from app.domain.projects import service as projects
from app.domain.projects.schemas import MemberAdd, MemberPage, MemberPublic, MemberUpdate
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
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
    prefix=API_PREFIX + "/projects/{key}/members",
    tags=["members"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=MemberPage)
async def list_members(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> MemberPage:
    """The project's members with their roles, by user id (any role)."""
    views, cursor = await projects.list_members(session, access, page)
    link_next(request, response, cursor)
    return MemberPage(
        data=[MemberPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberPublic,
    responses=problem_responses(403, 409, 422),
)
async def add_member(
    data: MemberAdd, access: OwnerAccess, session: SessionDep, response: Response
) -> MemberPublic:
    """Add an active user by `user_id` or `email` with a role (owners); 409 if already a member."""
    view = await projects.add_member(session, access, data)
    set_location(response, f"/projects/{access.project.key}/members/{view.user_id}")
    set_etag(response, view.version)
    return MemberPublic.model_validate(view)


@router.get("/{user_id}", response_model=MemberPublic)
async def get_member(
    user_id: Id, access: ViewerAccess, session: SessionDep, response: Response
) -> MemberPublic:
    """A member's role and name, by user id (any role); 404 for users outside the project."""
    view = await projects.get_member(session, access, user_id)
    set_etag(response, view.version)
    return MemberPublic.model_validate(view)


@router.patch(
    "/{user_id}", response_model=MemberPublic, responses=problem_responses(403, 409, 412, 422)
)
async def update_member(
    user_id: Id,
    data: MemberUpdate,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> MemberPublic:
    """Change a member's role (owners); the last owner cannot be demoted."""
    view = await projects.update_member(session, access, user_id, data, if_match)
    set_etag(response, view.version)
    return MemberPublic.model_validate(view)


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 409, 412)
)
async def remove_member(
    user_id: Id, access: OwnerAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Remove a member (owners); their items become unassigned. The last owner cannot go."""
    await projects.remove_member(session, access, user_id, if_match, items_bulk)
