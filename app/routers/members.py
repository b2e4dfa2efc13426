"""Project members and their roles."""

from fastapi import APIRouter, Request, Response, status

from app.domain.items import bulk as items_bulk
from app.domain.projects import service as projects
from app.domain.projects.invitations import service as invitations
from app.domain.projects.invitations.schemas import InvitationPublic
from app.domain.projects.invitations.service import InvitationView
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
    # Two success shapes, one per status: each is declared below with its own model.
    response_model=None,
    responses={
        201: {"model": MemberPublic, "description": "Added by `user_id`: a member now."},
        202: {
            "model": InvitationPublic,
            "description": "Invited by `email`: the invitation, pending until its addressee "
            "accepts. The same answer whether or not the address has an account.",
            "headers": {"Location": {"$ref": "#/components/headers/Location"}},
        },
        **problem_responses(403, 409, 422),
    },
)
async def add_member(
    data: MemberAdd, access: OwnerAccess, session: SessionDep, response: Response
) -> MemberPublic | InvitationPublic:
    """Add an active user by `user_id` (201; 409 if already a member), or invite an `email`
    address (202 with the invitation, renewed if one is open), with a role (owners).

    An invitation never says whether the address has an account: whoever signs in with it
    sees it under `GET /me/invitations` and can accept it within 14 days.
    """
    added = await invitations.add_member_or_invite(session, access, data)
    if isinstance(added, InvitationView):
        response.status_code = status.HTTP_202_ACCEPTED
        set_location(response, f"/projects/{access.project.key}/invitations/{added.id}")
        set_etag(response, added.version)
        return InvitationPublic.model_validate(added)
    set_location(response, f"/projects/{access.project.key}/members/{added.user_id}")
    set_etag(response, added.version)
    return MemberPublic.model_validate(added)


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
