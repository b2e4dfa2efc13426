"""Project members and their roles."""

from fastapi import APIRouter, Request, Response, status

from app.domain.projects import service as projects
from app.domain.projects.models import ProjectMember, Role
from app.domain.projects.schemas import MemberAdd, MemberPage, MemberPublic, MemberUpdate
from app.domain.users.models import User
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    OwnerAccess,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/members",
    tags=["members"],
    responses=problem_responses(401, 404),
)


def member_public(member: ProjectMember, user: User) -> MemberPublic:
    """Shape a membership for the API."""
    return MemberPublic(
        user_id=member.user_id,
        email=user.email,
        display_name=user.display_name,
        role=Role(member.role),
        created_at=member.created_at,
        version=member.version,
    )


@router.get("")
async def list_members(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> MemberPage:
    """The project's members, by user id."""
    rows, cursor = await projects.list_members(session, access, page)
    link_next(request, response, cursor)
    return MemberPage(data=[member_public(m, u) for m, u in rows], next_cursor=cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(403, 409, 422))
async def add_member(
    data: MemberAdd, access: OwnerAccess, session: SessionDep, response: Response
) -> MemberPublic:
    """Add a user by `user_id` or `email` with a role (owners)."""
    member, user = await projects.add_member(session, access, data)
    set_etag(response, member.version)
    return member_public(member, user)


@router.get("/{user_id}")
async def get_member(
    user_id: int, access: ViewerAccess, session: SessionDep, response: Response
) -> MemberPublic:
    """One member."""
    member, user = await projects.get_member(session, access, user_id)
    set_etag(response, member.version)
    return member_public(member, user)


@router.patch("/{user_id}", responses=problem_responses(403, 409, 412, 422))
async def update_member(
    user_id: int,
    data: MemberUpdate,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> MemberPublic:
    """Change a member's role (owners); the last owner cannot be demoted."""
    member, user = await projects.update_member(session, access, user_id, data, if_match)
    set_etag(response, member.version)
    return member_public(member, user)


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 409, 412)
)
async def remove_member(
    user_id: int, access: OwnerAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Remove a member (owners); the last owner cannot be removed."""
    await projects.remove_member(session, access, user_id, if_match)
