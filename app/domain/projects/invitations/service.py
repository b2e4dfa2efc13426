"""Rules for invitations: owners invite an address, the account with that address answers."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects import service as projects
from app.domain.projects.access import ProjectAccess
from app.domain.projects.invitations import repository
from app.domain.projects.models import InvitationState, Project, ProjectInvitation, Role
from app.domain.projects.schemas import MemberAdd
from app.domain.projects.service import MemberView
from app.domain.users.models import User

INVITATION_TTL = timedelta(days=14)
# Invitations cost nothing to send; this keeps one project from being used to mail the world.
MAX_PENDING_INVITATIONS = 100


@dataclass(frozen=True)
class InvitationView(RowView):
    """An invitation with its project, its inviter and its state as of now."""

    ROW = "invitation"

    invitation: ProjectInvitation
    project: Project
    inviter: User | None
    state: InvitationState

    id = FromRow[int]()
    version = FromRow[int]()

    @property
    def project_key(self) -> str:
        """The key of the project the invitation is to."""
        return self.project.key

    @property
    def project_name(self) -> str:
        """The name of the project the invitation is to."""
        return self.project.name

    @property
    def invited_by_name(self) -> str | None:
        """The inviter's display name (None once their account is gone)."""
        return self.inviter.display_name if self.inviter else None


@dataclass(frozen=True)
class AcceptedView(RowView):
    """The membership an accepted invitation made, and the key of its project."""

    ROW = "member"

    member: MemberView
    project_key: str

    version = FromRow[int]()


def _view(invitation: ProjectInvitation, project: Project, inviter: User | None) -> InvitationView:
    state = invitation.state.at(invitation.expires_at, clock.now())
    return InvitationView(invitation, project, inviter, state)


async def add_member_or_invite(
    session: AsyncSession, access: ProjectAccess, data: MemberAdd
) -> MemberView | InvitationView:
    """Add a user by id at once, or invite an email address (whether or not it has an account)."""
    if data.email is None:
        return await projects.add_member(session, access, data)
    return await invite(session, access, data.email, data.role)


async def invite(
    session: AsyncSession, access: ProjectAccess, email: str, role: Role
) -> InvitationView:
    """Invite an address with a role, or renew its open invitation; 409 past the pending cap."""
    # No account (nor membership) is looked up: the answer, and the work behind it, are the
    # same for every address, so an owner cannot learn from it who has an account.
    email = email.lower()
    # Invitations to one project are made one at a time: the cap count and the one-open-
    # invitation-per-address check then see every invitation committed before.
    await projects_repository.lock_project(session, access.project_id)
    now = clock.now()
    invitation = await repository.open_for_email(session, access.project_id, email)
    if invitation is None or invitation.expires_at <= now:
        # A new invitation, or an expired one coming back to life: either adds a pending one.
        pending = await repository.count_pending(session, access.project_id, now)
        if pending >= MAX_PENDING_INVITATIONS:
            raise Conflict(
                f"{access.project.key} has {pending} pending invitations and a project may "
                f"have at most {MAX_PENDING_INVITATIONS}; revoke some or wait for answers first."
            )
    if invitation is None:
        invitation = ProjectInvitation(
            project_id=access.project_id,
            email=email,
            role=role,
            invited_by=access.user.id,
            expires_at=now + INVITATION_TTL,
        )
        await projects_repository.add(session, invitation)
    else:
        invitation.role = role
        invitation.invited_by = access.user.id
        invitation.expires_at = now + INVITATION_TTL
        bump(invitation)
        await projects_repository.add(session, invitation)
    return InvitationView(invitation, access.project, access.user, InvitationState.PENDING)


async def list_invitations(
    session: AsyncSession, access: ProjectAccess, state: InvitationState, page: PageRequest
) -> tuple[list[InvitationView], str | None]:
    """The project's invitations in one state (as of now), oldest first."""
    rows, cursor = await repository.list_in_project(
        session, access.project_id, state, clock.now(), page
    )
    return [_view(*row) for row in rows], cursor


def _not_in_project(access: ProjectAccess, invitation_id: int) -> NotFound:
    return NotFound(f"No invitation {invitation_id} in {access.project.key}.")


async def get_invitation(
    session: AsyncSession, access: ProjectAccess, invitation_id: int
) -> InvitationView:
    """One of the project's invitations, in any state."""
    found = await repository.get_in_project(session, access.project_id, invitation_id)
    if found is None:
        raise _not_in_project(access, invitation_id)
    return _view(*found)


async def revoke_invitation(
    session: AsyncSession, access: ProjectAccess, invitation_id: int, if_match: Versions | None
) -> None:
    """Withdraw a pending invitation (again is a no-op); 409 once answered or expired."""
    found = await repository.get_in_project(
        session, access.project_id, invitation_id, for_update=True
    )
    if found is None:
        raise _not_in_project(access, invitation_id)
    view = _view(*found)
    check_version(view.version, if_match)
    if view.state is InvitationState.REVOKED:
        return
    if view.state is not InvitationState.PENDING:
        raise Conflict(
            f"Invitation {invitation_id} is {view.state}; only a pending one can be revoked."
        )
    await _close(session, view.invitation, InvitationState.REVOKED)


async def _close(
    session: AsyncSession, invitation: ProjectInvitation, state: InvitationState
) -> None:
    invitation.state = state
    bump(invitation)
    await projects_repository.add(session, invitation)


async def list_my_invitations(
    session: AsyncSession, user: User, page: PageRequest
) -> tuple[list[InvitationView], str | None]:
    """The pending invitations sent to the caller's email address, oldest first."""
    rows, cursor = await repository.list_addressed(session, user.email, clock.now(), page)
    return [_view(*row) for row in rows], cursor


async def _addressed_to(
    session: AsyncSession, user: User, invitation_id: int
) -> tuple[ProjectInvitation, Project]:
    """A pending invitation to the caller's address, locked; 404 for any other."""
    found = await repository.get_addressed(session, invitation_id, user.email)
    # Someone else's invitation, and one that is no longer open, are the same 404: the caller
    # learns nothing about invitations they cannot answer.
    if found is None or _view(*found).state is not InvitationState.PENDING:
        raise NotFound(f"No pending invitation {invitation_id} for {user.email}.")
    return found[0], found[1]


async def accept_invitation(session: AsyncSession, user: User, invitation_id: int) -> AcceptedView:
    """Join the project with the invited role; 409 if the caller is a member already."""
    invitation, project = await _addressed_to(session, user, invitation_id)
    # An invitation speaks for an owner: once its inviter is no longer one (demoted, removed),
    # it cannot let anyone in, so a removed owner cannot come back through one sent earlier.
    inviter = (
        await projects_repository.get_member(session, project.id, invitation.invited_by)
        if invitation.invited_by is not None and project.id is not None
        else None
    )
    if inviter is None or inviter[0].role is not Role.OWNER:
        raise NotFound(
            f"Invitation {invitation_id} no longer stands: whoever sent it is not an owner of "
            f"{project.key} any more; ask an owner for a new one."
        )
    try:
        member = await projects.add_user(session, project, user, invitation.role)
    except Conflict as exc:
        raise Conflict(
            f"You are already a member of {project.key}; decline invitation {invitation_id} "
            "to clear it."
        ) from exc
    await _close(session, invitation, InvitationState.ACCEPTED)
    return AcceptedView(member, project.key)


async def decline_invitation(session: AsyncSession, user: User, invitation_id: int) -> None:
    """Turn a pending invitation down; the project's owners see it declined."""
    invitation, _ = await _addressed_to(session, user, invitation_id)
    await _close(session, invitation, InvitationState.DECLINED)
