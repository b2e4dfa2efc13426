"""Invitations to join a project: owners list and revoke them, invitees accept or decline."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.projects.invitations import service as invitations
from app.domain.projects.invitations.schemas import InvitationPage, InvitationPublic
from app.domain.projects.models import InvitationState
from app.domain.projects.schemas import MemberPublic
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    CurrentUser,
    Id,
    IfMatch,
    OwnerAccess,
    PageParams,
    SessionDep,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(prefix=API_PREFIX, tags=["invitations"], responses=problem_responses(401))

PROJECT_INVITATIONS = "/projects/{key}/invitations"
MY_INVITATIONS = "/me/invitations"

StateFilter = Annotated[
    InvitationState,
    Query(description="Only invitations in this state (`expired`: pending past expiry)."),
]


def _page(views: list[invitations.InvitationView], cursor: str | None) -> InvitationPage:
    return InvitationPage(
        data=[InvitationPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.get(PROJECT_INVITATIONS, response_model=InvitationPage, responses=problem_responses(403))
async def list_invitations(
    access: OwnerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    state: StateFilter = InvitationState.PENDING,
) -> InvitationPage:
    """The project's invitations, oldest first: pending ones unless `state` says (owners)."""
    views, cursor = await invitations.list_invitations(session, access, state, page)
    link_next(request, response, cursor)
    return _page(views, cursor)


@router.get(
    PROJECT_INVITATIONS + "/{invitation_id}",
    response_model=InvitationPublic,
    responses=problem_responses(403),
)
async def get_invitation(
    invitation_id: Id, access: OwnerAccess, session: SessionDep, response: Response
) -> InvitationPublic:
    """One of the project's invitations, in any state (owners)."""
    view = await invitations.get_invitation(session, access, invitation_id)
    set_etag(response, view.version)
    return InvitationPublic.model_validate(view)


@router.delete(
    PROJECT_INVITATIONS + "/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 409, 412),
)
async def revoke_invitation(
    invitation_id: Id, access: OwnerAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Revoke a pending invitation so it can no longer be accepted (owners).

    Revoking it again is a no-op; an accepted, declined or expired invitation is a 409.
    """
    await invitations.revoke_invitation(session, access, invitation_id, if_match)


@router.get(MY_INVITATIONS, response_model=InvitationPage)
async def list_my_invitations(
    user: CurrentUser, session: SessionDep, page: PageParams, request: Request, response: Response
) -> InvitationPage:
    """The pending invitations sent to your email address, oldest first, with the project's
    key and name, the role offered, who invited you and until when."""
    views, cursor = await invitations.list_my_invitations(session, user, page)
    link_next(request, response, cursor)
    return _page(views, cursor)


@router.post(
    MY_INVITATIONS + "/{invitation_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberPublic,
    responses=problem_responses(404, 409),
)
async def accept_invitation(
    invitation_id: Id, user: CurrentUser, session: SessionDep, response: Response
) -> MemberPublic:
    """Accept an invitation sent to your email address: you join the project with its role.

    404 unless it is pending and addressed to you; 409 if you are a member already.
    """
    view = await invitations.accept_invitation(session, user, invitation_id)
    set_location(response, f"/projects/{view.project_key}/members/{view.user_id}")
    set_etag(response, view.version)
    return MemberPublic.model_validate(view)


@router.post(
    MY_INVITATIONS + "/{invitation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def decline_invitation(invitation_id: Id, user: CurrentUser, session: SessionDep) -> None:
    """Decline an invitation sent to your email address (404 unless pending and yours)."""
    await invitations.decline_invitation(session, user, invitation_id)
